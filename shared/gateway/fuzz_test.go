package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/mock"
)

// counted wraps a provider and counts the calls that reach it.
type counted struct {
	llm.Provider
	calls *atomic.Int64
}

func (c counted) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	c.calls.Add(1)
	return c.Provider.Chat(ctx, req)
}

func (c counted) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	c.calls.Add(1)
	return c.Provider.Stream(ctx, req)
}

const fuzzKey = "sk-router-fuzz-GOOD-key-0123456789"

func fuzzConfig() string {
	return fmt.Sprintf(`
providers:
  - {name: sim, type: mock, compliance: [hipaa]}
  - {name: open, type: mock}
models:
  - {id: m-sim, provider: sim, price: {input: 1, output: 2}}
  - {id: m-open, provider: open}
routes:
  - name: r
    targets: [{model: m-open}, {model: m-sim}]
  - name: closed
    targets: [{model: m-open}]
data_classes:
  phi: [hipaa]
  public: []
keys:
  - {id: good, hash: %q, routes: [r, closed], tags: {team: t}}
  - {id: gone, hash: %q, routes: ["*"], disabled: true}
  - {id: old, hash: %q, routes: ["*"], expires: 2020-01-01T00:00:00Z}
limits:
  max_body_bytes: 65536
`, hashOf(fuzzKey), hashOf("sk-router-fuzz-revoked"), hashOf("sk-router-fuzz-expired"))
}

// authMessages are every message a 401 may carry: nothing a caller sent is
// ever echoed.
var authMessages = map[string]bool{
	"missing API key: send Authorization: Bearer <key>": true,
	"invalid API key":               true,
	"this API key has been revoked": true,
	"this API key has expired":      true,
}

// FuzzAuth drives the edge of the router (headers, authentication, body
// parsing, classification, tags) with arbitrary input. It checks that the
// router never panics, answers only the API's statuses in OpenAI's
// error shape, accepts exactly the one valid key (constant-time compare,
// prefix and whitespace rules included), never calls a provider for an
// unauthenticated request, and never echoes the presented credential.
func FuzzAuth(f *testing.F) {
	f.Add("Bearer "+fuzzKey, "", "", "", []byte(`{"model":"r","messages":[{"role":"user","content":"hi"}]}`))
	f.Add("bearer  "+fuzzKey+" ", "phi", "team=a,feature=b", "", []byte(`{"model":"closed","messages":[{"role":"user","content":"hi"}]}`))
	f.Add("Bearer sk-router-fuzz-revoked", "", "", "r", []byte(`{"model":"x","messages":[]}`))
	f.Add("Basic "+fuzzKey, "", "", "", []byte(`{}`))
	f.Add("Bearer "+fuzzKey[:len(fuzzKey)-1], "", "", "", []byte(`{"model":"r","messages":[{"role":"user","content":"hi"}]}`))
	f.Add("Bearer "+fuzzKey, "phi,,public", "a=b,=c", "closed", []byte(`{"model":"r","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	f.Add("", "", "", "", []byte(``))

	cfg, err := config.Parse([]byte(fuzzConfig()))
	if err != nil {
		f.Fatal(err)
	}
	var calls atomic.Int64
	var logs bytes.Buffer
	gw := &gateway.Gateway{
		Source: gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{config.TypeMock: func(p *config.Provider, d llm.Deps) (llm.Provider, error) {
			inner, err := mock.New(p, d)
			return counted{inner, &calls}, err
		}},
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	allowed := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 413: true, 431: true, 502: true}

	f.Fuzz(func(t *testing.T, authz, class, tags, routeHdr string, body []byte) {
		logs.Reset()
		before := calls.Load()
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		req.Header["Authorization"] = []string{authz}
		if class != "" {
			req.Header["X-Router-Data-Class"] = []string{class}
		}
		if tags != "" {
			req.Header["X-Router-Tags"] = []string{tags}
		}
		if routeHdr != "" {
			req.Header["X-Router-Route"] = []string{routeHdr}
		}
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		resp := w.Result()
		out, _ := io.ReadAll(resp.Body)
		if !allowed[resp.StatusCode] {
			t.Fatalf("status %d: %s", resp.StatusCode, out)
		}

		token, bearer := strings.CutPrefix(authz, "Bearer ")
		if !bearer {
			token, bearer = strings.CutPrefix(authz, "bearer ")
		}
		valid := bearer && strings.TrimSpace(token) == fuzzKey
		headersOK := len(authz)+len(class)+len(tags)+len(routeHdr) < 30<<10
		switch {
		case !headersOK:
		case !valid && resp.StatusCode != http.StatusUnauthorized:
			t.Fatalf("credential %q was not refused: status %d %s", authz, resp.StatusCode, out)
		case valid && resp.StatusCode == http.StatusUnauthorized:
			t.Fatalf("the valid key was refused: %s", out)
		}
		if resp.StatusCode != http.StatusOK {
			var e struct {
				Error *struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Code    string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(out, &e); err != nil || e.Error == nil || e.Error.Type == "" || e.Error.Code == "" {
				t.Fatalf("status %d without an OpenAI error body: %s", resp.StatusCode, out)
			}
			if resp.StatusCode == http.StatusUnauthorized && !authMessages[e.Error.Message] {
				t.Fatalf("a 401 carries an unexpected message: %q", e.Error.Message)
			}
		}
		if !valid && calls.Load() != before {
			t.Fatalf("a provider was called for an unauthenticated request")
		}
		if secret := strings.TrimSpace(token); len(secret) >= 8 && bytes.Contains(logs.Bytes(), []byte(secret)) {
			t.Fatalf("the presented credential appears in the logs")
		}
	})
}
