package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

func hashOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// compliance is a route mixing hipaa and non-hipaa providers, and a route with
// no hipaa target at all.
func compliance(hipaa1, open1, hipaa2, open2 string) string {
	return fmt.Sprintf(`
providers:
  - {name: h1, type: openai, base_url: %q, compliance: [hipaa]}
  - {name: o1, type: openai, base_url: %q}
  - {name: h2, type: openai, base_url: %q, compliance: [hipaa, soc2]}
  - {name: o2, type: openai, base_url: %q, compliance: [soc2]}
models:
  - {id: hipaa-a, provider: h1, price: {input: 1, output: 2}}
  - {id: open-a, provider: o1, price: {input: 1, output: 2}}
  - {id: hipaa-b, provider: h2, price: {input: 1, output: 2}}
  - {id: open-b, provider: o2, price: {input: 1, output: 2}}
routes:
  - name: triage
    targets: [{model: open-a}, {model: hipaa-a, first_byte_timeout: 50ms, timeout: 150ms}, {model: open-b}, {model: hipaa-b, timeout: 100ms}]
  - name: cheap
    targets: [{model: open-a}, {model: open-b}]
data_classes:
  phi: [hipaa]
  internal: []
`, hipaa1, open1, hipaa2, open2)
}

// A request that needs hipaa never reaches a provider without it, whatever
// fails, including when every compliant target is down.
func TestPHINeverReachesANonCompliantProvider(t *testing.T) {
	failures := map[string]openaitest.Reply{
		"ok":                {},
		"503":               {Status: 503},
		"429":               {Status: 429},
		"529":               {Status: 529},
		"500":               {Status: 500},
		"first byte stalls": {Hang: true},
		"body stalls":       {HangBody: true},
	}
	for name, failure := range failures {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", name, stream), func(t *testing.T) {
				fail := func(openaitest.Received) openaitest.Reply { return failure }
				h1 := openaitest.NewServer("h1", fail)
				defer h1.Close()
				h2 := openaitest.NewServer("h2", fail)
				defer h2.Close()
				o1 := openaitest.NewServer("o1", nil)
				defer o1.Close()
				o2 := openaitest.NewServer("o2", nil)
				defer o2.Close()
				h := newHarness(t, compliance(h1.BaseURL(), o1.BaseURL(), h2.BaseURL(), o2.BaseURL()), nil)
				body := fmt.Sprintf(`{"model":"triage","stream":%v,"messages":[{"role":"user","content":"patient note"}]}`, stream)
				resp := h.post(t, "/v1/chat/completions", body, map[string]string{"x-router-data-class": "phi"})
				data, _ := io.ReadAll(resp.Body)
				if o1.Calls()+o2.Calls() != 0 {
					t.Fatalf("PHI reached a non-hipaa provider: o1 %d, o2 %d calls", o1.Calls(), o2.Calls())
				}
				rec := h.audit.next(t)
				for _, a := range rec.Attempts {
					if a.Provider != "h1" && a.Provider != "h2" {
						t.Errorf("attempt on %s recorded", a.Provider)
					}
				}
				if strings.Join(rec.Require, ",") != "hipaa" || rec.DataClass != "phi" {
					t.Errorf("audit require %v class %q", rec.Require, rec.DataClass)
				}
				if name == "ok" {
					if resp.StatusCode != 200 || rec.Provider != "h1" {
						t.Errorf("status %d provider %q: %s", resp.StatusCode, rec.Provider, data)
					}
					return
				}
				// Every compliant target rate limited is a 429 with
				// Retry-After; any other outage a 502.
				wantStatus, wantCode := 502, "all_targets_failed"
				if name == "429" {
					wantStatus, wantCode = 429, "rate_limit_exceeded"
				}
				if resp.StatusCode != wantStatus || !strings.Contains(string(data), wantCode) {
					t.Errorf("with every compliant target down: status %d body %s; want %d %s", resp.StatusCode, data, wantStatus, wantCode)
				}
			})
		}
	}
}

func TestNoCompliantTargetIs403(t *testing.T) {
	o := openaitest.NewServer("o", nil)
	defer o.Close()
	h := newHarness(t, compliance(o.BaseURL(), o.BaseURL(), o.BaseURL(), o.BaseURL()), nil)
	resp := h.post(t, "/v1/chat/completions", `{"model":"cheap","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"x-router-data-class": "phi"})
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(data), `"code":"no_compliant_target"`) || !strings.Contains(string(data), `"type":"permission_error"`) {
		t.Fatalf("status %d body %s", resp.StatusCode, data)
	}
	if o.Calls() != 0 {
		t.Errorf("a provider was called")
	}
}

// A key's default class cannot be loosened by the request.
func TestKeyDataClassCannotBeLoosened(t *testing.T) {
	h1 := openaitest.NewServer("h1", nil)
	defer h1.Close()
	o1 := openaitest.NewServer("o1", nil)
	defer o1.Close()
	cfg := compliance(h1.BaseURL(), o1.BaseURL(), h1.BaseURL(), o1.BaseURL()) + fmt.Sprintf(`
keys:
  - {id: clinic, hash: %q, routes: ["*"], data_class: phi}
`, hashOf("sk-clinic"))
	h := newHarness(t, cfg, nil)
	resp := h.post(t, "/v1/chat/completions", `{"model":"triage","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"Authorization": "Bearer sk-clinic", "x-router-data-class": "internal"})
	if resp.StatusCode != 200 || o1.Calls() != 0 || h1.Calls() != 1 {
		t.Fatalf("status %d; calls: open %d, hipaa %d", resp.StatusCode, o1.Calls(), h1.Calls())
	}
	if rec := h.audit.next(t); rec.DataClass != "phi,internal" || strings.Join(rec.Require, ",") != "hipaa" {
		t.Errorf("audit class %q require %v", rec.DataClass, rec.Require)
	}
}

func keyedConfig(upstream string) string {
	return fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
models:
  - {id: m1, provider: up, price: {input: 1, output: 2}}
  - {id: m2, provider: up, price: {input: 1, output: 2}}
routes:
  - name: allowed
    targets: [{model: m1}]
  - name: other
    targets: [{model: m2}]
keys:
  - {id: app, hash: %q, routes: [allowed], models: [m2], tags: {team: triage}}
  - {id: old, hash: %q, routes: ["*"], expires: 2020-01-01T00:00:00Z}
  - {id: gone, hash: %q, routes: ["*"], disabled: true}
limits:
  max_body_bytes: 4096
data_classes:
  phi: [hipaa]
`, upstream, hashOf("sk-app-key"), hashOf("sk-old-key"), hashOf("sk-gone-key"))
}

// Bad input gets the API's status and code, and changes nothing: no
// provider is called.
func TestBadInputs(t *testing.T) {
	up := openaitest.NewServer("up", nil)
	defer up.Close()
	h := newHarness(t, keyedConfig(up.BaseURL()), nil)
	good := `{"model":"allowed","messages":[{"role":"user","content":"hi"}]}`
	auth := map[string]string{"Authorization": "Bearer sk-app-key"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{"Authorization": "Bearer sk-app-key"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		headers    map[string]string
		wantStatus int
		wantType   string
		wantCode   string
		wantParam  string
	}{
		{"malformed JSON", "", "", `{"model":`, auth, 400, "invalid_request_error", "invalid_json", ""},
		{"not an object", "", "", `[1,2]`, auth, 400, "invalid_request_error", "invalid_json", ""},
		{"missing model", "", "", `{"messages":[{"role":"user","content":"hi"}]}`, auth, 400, "invalid_request_error", "missing_required_parameter", "model"},
		{"missing messages", "", "", `{"model":"allowed"}`, auth, 400, "invalid_request_error", "missing_required_parameter", "messages"},
		{"empty messages", "", "", `{"model":"allowed","messages":[]}`, auth, 400, "invalid_request_error", "missing_required_parameter", "messages"},
		{"messages of the wrong type", "", "", `{"model":"allowed","messages":"hi"}`, auth, 400, "invalid_request_error", "invalid_type", "messages"},
		{"stream of the wrong type", "", "", `{"model":"allowed","stream":"yes","messages":[{"role":"user","content":"hi"}]}`, auth, 400, "invalid_request_error", "invalid_type", "stream"},
		{"bad role", "", "", `{"model":"allowed","messages":[{"role":"wizard","content":"hi"}]}`, auth, 400, "invalid_request_error", "invalid_role", "messages[0].role"},
		{"tool message without id", "", "", `{"model":"allowed","messages":[{"role":"tool","content":"42"}]}`, auth, 400, "invalid_request_error", "missing_required_parameter", "messages[0].tool_call_id"},
		{"temperature out of range", "", "", `{"model":"allowed","temperature":3,"messages":[{"role":"user","content":"hi"}]}`, auth, 400, "invalid_request_error", "invalid_value", "temperature"},
		{"stream_options without stream", "", "", `{"model":"allowed","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, auth, 400, "invalid_request_error", "invalid_value", "stream_options"},
		{"unknown data class", "", "", good, with(map[string]string{"x-router-data-class": "secret-stuff"}), 400, "invalid_request_error", "invalid_data_class", "x-router-data-class"},
		{"bad tags", "", "", good, with(map[string]string{"x-router-tags": "team"}), 400, "invalid_request_error", "invalid_tags", "x-router-tags"},
		{"missing key", "", "", good, nil, 401, "authentication_error", "invalid_api_key", ""},
		{"unknown key", "", "", good, map[string]string{"Authorization": "Bearer sk-nope"}, 401, "authentication_error", "invalid_api_key", ""},
		{"expired key", "", "", good, map[string]string{"Authorization": "Bearer sk-old-key"}, 401, "authentication_error", "invalid_api_key", ""},
		{"revoked key", "", "", good, map[string]string{"Authorization": "Bearer sk-gone-key"}, 401, "authentication_error", "invalid_api_key", ""},
		{"route not allowed", "", "", `{"model":"other","messages":[{"role":"user","content":"hi"}]}`, auth, 403, "permission_error", "route_not_allowed", ""},
		{"route not allowed by header", "", "", good, with(map[string]string{"x-router-route": "other"}), 403, "permission_error", "route_not_allowed", ""},
		{"model not found", "", "", `{"model":"gpt-7","messages":[{"role":"user","content":"hi"}]}`, auth, 404, "invalid_request_error", "model_not_found", "model"},
		{"too large", "", "", `{"model":"allowed","messages":[{"role":"user","content":"` + strings.Repeat("a", 5000) + `"}]}`, auth, 413, "invalid_request_error", "request_too_large", ""},
		{"wrong method", http.MethodGet, "/v1/chat/completions", "", auth, 405, "invalid_request_error", "method_not_allowed", ""},
		{"unknown path", "", "/v1/completions/legacy", good, auth, 404, "invalid_request_error", "unknown_url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, path := tt.method, tt.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/v1/chat/completions"
			}
			req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(tt.body))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &body); err != nil || body.Error == nil {
				t.Fatalf("body is not an OpenAI error: %s", raw)
			}
			e := body.Error
			param := ""
			if e.Param != nil {
				param = *e.Param
			}
			if resp.StatusCode != tt.wantStatus || e.Type != tt.wantType || e.Code == nil || *e.Code != tt.wantCode || param != tt.wantParam || e.Message == "" {
				t.Errorf("got %d %s", resp.StatusCode, raw)
			}
			if resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("headers = %v", resp.Header)
			}
			if up.Calls() != 0 {
				t.Fatalf("a provider was called for a bad request")
			}
		})
	}
	// Bad requests to the completion endpoint are audited with their status.
	for i := 0; i < h.audit.pending(); i++ {
		if rec := h.audit.next(t); rec.Status < 400 || rec.Attempts != nil {
			t.Errorf("audit of a bad request = %+v", rec)
		}
	}
}

func TestKeysAndModelsList(t *testing.T) {
	up := openaitest.NewServer("up", nil)
	defer up.Close()
	h := newHarness(t, keyedConfig(up.BaseURL()), nil)
	client := h.client("sk-app-key")
	page, err := client.Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if strings.Join(ids, ",") != "allowed,m2" {
		t.Errorf("models = %v, want the key's route and model", ids)
	}
	// The key may call m2 directly, and its default tags are merged under the request's.
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "m2",
		Messages: userMessage("hi")}, option.WithHeader("x-router-tags", "feature=refill")); err != nil {
		t.Fatal(err)
	}
	rec := h.audit.next(t)
	if rec.KeyID != "app" || rec.Tags["team"] != "triage" || rec.Tags["feature"] != "refill" {
		t.Errorf("audit key %q tags %v", rec.KeyID, rec.Tags)
	}
	_, err = h.client("sk-wrong").Models.List(context.Background())
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("models with a wrong key: %v", err)
	}
}

// No prompt text, completion text or key, the router's or a provider's,
// appears in anything the router writes to stdout or stderr, on success or
// failure.
func TestNoSecretsOrTextInOutput(t *testing.T) {
	const prompt = "PATIENT-JANE-DOE-DOB-1970"
	const answer = "COMPLETION-TEXT-XYZZY"
	step := 0
	up := openaitest.NewServer("up", func(openaitest.Received) openaitest.Reply {
		step++
		switch step % 3 {
		case 1:
			// Providers sometimes quote the request back in errors.
			return openaitest.Reply{Status: 400, ErrType: "invalid_request_error", ErrMessage: "bad input near " + prompt}
		case 2:
			return openaitest.Reply{Status: 503, ErrMessage: "overloaded while reading " + prompt}
		}
		return openaitest.Reply{Text: answer}
	})
	defer up.Close()
	cfg := strings.Replace(keyedConfig(up.BaseURL()), `base_url: "`+up.BaseURL()+`"}`, `base_url: "`+up.BaseURL()+`", key: "env:UP_KEY"}`, 1)
	cfg = strings.Replace(cfg, "  - name: other\n    targets: [{model: m2}]", "  - name: other\n    targets: [{model: m2}, {model: m1}]", 1)
	h := newHarness(t, cfg, map[string]string{"UP_KEY": "sk-provider-SECRET-123"})
	for _, stream := range []bool{false, true} {
		for _, route := range []string{"allowed", "m2", "allowed"} {
			body := fmt.Sprintf(`{"model":%q,"stream":%v,"messages":[{"role":"user","content":%q}]}`, route, stream, prompt)
			resp := h.post(t, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer sk-app-key"})
			_, _ = io.ReadAll(resp.Body)
			h.audit.next(t)
		}
	}
	// A wrong key is not echoed either.
	resp := h.post(t, "/v1/chat/completions", `{"model":"allowed","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"Authorization": "Bearer sk-guess-SECRET-456"})
	_, _ = io.ReadAll(resp.Body)
	h.audit.next(t)
	if err := h.audit.lines.Flush(); err != nil {
		t.Fatal(err)
	}
	out := h.stdout.String() + h.stderr.String()
	if !strings.Contains(h.stdout.String(), `"type":"audit"`) || !strings.Contains(h.stderr.String(), "attempt failed") {
		t.Fatalf("the test saw no output to check: stdout %d bytes, stderr %d bytes", len(h.stdout.String()), len(h.stderr.String()))
	}
	for _, secret := range []string{prompt, answer, "sk-provider-SECRET-123", "sk-app-key", "sk-guess-SECRET-456"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q appears in the router's output", secret)
		}
	}
}

func explainConfig(a, b, c string) string {
	return fmt.Sprintf(`
providers:
  - {name: pa, type: openai, base_url: %q}
  - {name: pb, type: openai, base_url: %q, compliance: [hipaa]}
  - {name: pc, type: openai, base_url: %q}
models:
  - {id: ma, provider: pa, price: {input: 5, output: 15}}
  - {id: mb, provider: pb, price: {input: 1, output: 2}}
  - {id: mc, provider: pc, price: {input: 20, output: 60}}
routes:
  - name: spread
    strategy: weighted
    targets: [{model: ma, weight: 1}, {model: mb, weight: 1}, {model: mc, weight: 1}]
  - name: cheapest
    strategy: cost
    targets: [{model: mc}, {model: ma}, {model: mb}]
data_classes:
  phi: [hipaa]
`, a, b, c)
}

// The explain endpoint answers the decision the real request makes.
func TestExplainMatchesTheRealRequest(t *testing.T) {
	servers := map[string]*openaitest.Server{}
	for _, n := range []string{"pa", "pb", "pc"} {
		servers[n] = openaitest.NewServer(n, nil)
		defer servers[n].Close()
	}
	h := newHarness(t, explainConfig(servers["pa"].BaseURL(), servers["pb"].BaseURL(), servers["pc"].BaseURL()), nil)
	firsts := map[string]int{}
	for i := 0; i < 30; i++ {
		hdr := map[string]string{"X-Client-Request-Id": fmt.Sprintf("client-%d", i)}
		body := `{"model":"spread","messages":[{"role":"user","content":"hi"}]}`
		resp := h.post(t, "/v1/router/explain", body, hdr)
		var ex struct {
			Candidates []struct{ Model string } `json:"candidates"`
			Status     int                      `json:"status"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil || ex.Status != 200 || len(ex.Candidates) != 3 {
			t.Fatalf("explain: %v %+v", err, ex)
		}
		real := h.post(t, "/v1/chat/completions", body, hdr)
		if got := real.Header.Get("X-Router-Model"); got != ex.Candidates[0].Model {
			t.Fatalf("request %d: explain said %s first, the request was served by %s", i, ex.Candidates[0].Model, got)
		}
		firsts[ex.Candidates[0].Model]++
		h.audit.next(t)
	}
	if len(firsts) < 2 {
		t.Errorf("weighted routing always chose the same first target over 30 requests: %v", firsts)
	}
	if n := h.audit.pending(); n != 0 {
		t.Errorf("explain left %d audit records; it calls no provider and should leave none", n)
	}

	// Compliance exclusions and cost order, with a reason for every excluded target.
	resp := h.post(t, "/v1/router/explain", `{"model":"cheapest","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`,
		map[string]string{"x-router-data-class": "phi"})
	var ex struct {
		Require    []string `json:"require"`
		Candidates []struct{ Model string }
		Excluded   []struct{ Model, Provider, Reason string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&ex)
	if len(ex.Candidates) != 1 || ex.Candidates[0].Model != "mb" || len(ex.Excluded) != 2 {
		t.Fatalf("explain = %+v", ex)
	}
	for _, e := range ex.Excluded {
		if !strings.HasPrefix(e.Reason, "compliance: provider "+e.Provider+" lacks hipaa") {
			t.Errorf("exclusion reason = %q", e.Reason)
		}
	}
	resp = h.post(t, "/v1/router/explain", `{"model":"cheapest","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, nil)
	var order struct {
		Candidates []struct{ Model string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&order)
	if len(order.Candidates) != 3 || order.Candidates[0].Model != "mb" || order.Candidates[1].Model != "ma" || order.Candidates[2].Model != "mc" {
		t.Errorf("cost order = %+v, want mb (cheapest), ma, then mc (dearest)", order.Candidates)
	}
}
