package openai_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/provider/providertest"
	"github.com/llm-router/router/shared/secret"
)

// modelTimeout is the model's timeout in these tests: the time an attempt
// has until it commits, never a bound on a stream that has begun.
const modelTimeout = 600 * time.Millisecond

// newFallbackRouter serves route "r" (the fake, then a mock backup) and
// route "solo" (the fake alone), with the official OpenAI client whose raw
// reads tee keeps.
func newFallbackRouter(t *testing.T, fake *openaitest.Server) (*router, *providertest.Tee) {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, `
providers:
  - {name: up, type: openai, base_url: %q, key: "env:UP_KEY"}
  - {name: sim, type: mock, mock: {reply: "Fallback answer."}}
models:
  - {id: m, provider: up, upstream: up-model, timeout: %s, price: {input: 1, output: 2}}
  - {id: backup, provider: sim, price: {input: 1, output: 1}}
routes:
  - {name: r, targets: [{model: m}, {model: backup}]}
  - {name: solo, targets: [{model: m}]}
`, fake.BaseURL(), modelTimeout))
	if err != nil {
		t.Fatal(err)
	}
	rec := make(records, 16)
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-up", k == "UP_KEY"
		}}},
		Sink: rec,
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	tee := &providertest.Tee{}
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: tee}))
	return &router{client: client, records: rec}, tee
}

func ask(r *router, route string, stream bool) (string, error) {
	params := openai.ChatCompletionNewParams{Model: route, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
	if !stream {
		resp, err := r.client.Chat.Completions.New(context.Background(), params)
		if err != nil {
			return "", err
		}
		return resp.Choices[0].Message.Content, nil
	}
	s := r.client.Chat.Completions.NewStreaming(context.Background(), params)
	defer s.Close()
	var text strings.Builder
	for s.Next() {
		for _, c := range s.Current().Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	return text.String(), s.Err()
}

func attempts(rec audit.Record) string {
	var out []string
	for _, a := range rec.Attempts {
		out = append(out, fmt.Sprintf("%s %s %d", a.Model, a.Outcome, a.Status))
	}
	return strings.Join(out, ", ")
}

// A healthy stream that takes three times the model's timeout completes:
// the timeout bounds the attempt until its first content, the idle timeout
// (30s by default) each gap after it.
func TestRouterStreamOutlivesModelTimeout(t *testing.T) {
	const words = "one two three four five six seven eight nine ten"
	fake := openaitest.NewServer("up", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: words, Gap: 210 * time.Millisecond} // 10 gaps: 2.1s, over 3 × 600ms
	})
	defer fake.Close()
	r, tee := newFallbackRouter(t, fake)
	if text, err := ask(r, "r", true); err != nil || text != words {
		t.Fatalf("stream: %q, %v; want %q", text, err, words)
	}
	if got := providertest.ReadSSE(tee.String()); !got.Done || got.HasError || got.Roles != 1 {
		t.Errorf("stream = %+v, want one clean stream", got)
	}
	rec := r.records.next(t)
	if got := attempts(rec); got != "m ok 200" {
		t.Errorf("attempts = %s, want m ok 200", got)
	}
	// The fake's gaps make it so; checked so the test cannot pass by
	// streaming faster than it claims.
	if rec.LatencyMs < float64(3*modelTimeout/time.Millisecond) {
		t.Errorf("the stream took %.0f ms, not over three model timeouts", rec.LatencyMs)
	}
}

// The provider refusing the router's key (revoked, rotated) is the router's
// problem: another target serves, and with none the answer is 502
// upstream_auth_failed, never a 401 that would blame the caller's key.
func TestRouterRevokedUpstreamKey(t *testing.T) {
	fake := openaitest.NewServer("up", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Status: http.StatusUnauthorized, ErrType: "invalid_request_error", ErrCode: "invalid_api_key",
			ErrMessage: "Incorrect API key provided: sk-up. You can find your API key at https://platform.openai.com/account/api-keys."}
	})
	defer fake.Close()
	r, _ := newFallbackRouter(t, fake)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			if text, err := ask(r, "r", stream); err != nil || text != "Fallback answer." {
				t.Errorf("with a backup: %q, %v; want the backup's answer", text, err)
			}
			if got := attempts(r.records.next(t)); got != "m auth_failed 401, backup ok 200" {
				t.Errorf("attempts = %s, want m auth_failed 401, backup ok 200", got)
			}
			_, err := ask(r, "solo", stream)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "upstream_auth_failed" {
				t.Fatalf("alone: %v, want 502 upstream_auth_failed", err)
			}
			if strings.Contains(apiErr.Message, "Incorrect API key") {
				t.Errorf("message %q relays the provider's words", apiErr.Message)
			}
			if rec := r.records.next(t); rec.Status != 502 || attempts(rec) != "m auth_failed 401" {
				t.Errorf("record status %d attempts %s, want 502 after m auth_failed 401", rec.Status, attempts(rec))
			}
		})
	}
}
