package anthropic_test

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/llm-router/router/shared/provider/anthropic"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/provider/providertest"
	"github.com/llm-router/router/shared/secret"
)

// modelTimeout is the Anthropic model's timeout in these tests: the time an
// attempt has until it commits, never a bound on a stream that has begun.
const modelTimeout = 600 * time.Millisecond

// engineConfig serves route "assistant" (Claude, then the mock backup) and
// route "solo" (Claude alone).
const engineConfig = `
providers:
  - {name: claude-direct, type: anthropic, base_url: %s, key: env:ANTHROPIC_API_KEY}
  - {name: backup, type: mock, mock: {reply: "` + backupReply + `"}}
models:
  - {id: claude, provider: claude-direct, upstream: claude-sonnet-4-5, timeout: %s, price: {input: 3, output: 15}}
  - {id: backup, provider: backup, price: {input: 0.15, output: 0.60}}
routes:
  - {name: assistant, targets: [{model: claude}, {model: backup}]}
  - {name: solo, targets: [{model: claude}]}
`

// engineRouter is the router in front of the fake, with the official OpenAI
// client whose raw reads tee keeps.
type engineRouter struct {
	fake    *anthropictest.Server
	client  openai.Client
	tee     *providertest.Tee
	records sink
}

func newEngineRouter(t *testing.T) *engineRouter {
	t.Helper()
	fake := anthropictest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetAPIKey(upstreamKey)
	cfg, err := config.Parse(fmt.Appendf(nil, engineConfig, fake.URL, modelTimeout))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	records := make(sink, 16)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"anthropic": anthropic.New, "mock": mock.New},
		Deps: llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return upstreamKey, k == "ANTHROPIC_API_KEY"
		}}},
		Sink: records,
		Log:  slog.New(slog.DiscardHandler),
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	tee := &providertest.Tee{}
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: tee}))
	return &engineRouter{fake: fake, client: client, tee: tee, records: records}
}

func (r *engineRouter) record(t *testing.T) audit.Record {
	t.Helper()
	select {
	case rec := <-r.records:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record")
		return audit.Record{}
	}
}

// stream asks route for a stream and returns its text and error.
func (r *engineRouter) stream(route string) (string, error) {
	s := r.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: route,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	defer s.Close()
	var text strings.Builder
	for s.Next() {
		for _, c := range s.Current().Choices {
			text.WriteString(c.Delta.Content)
		}
	}
	return text.String(), s.Err()
}

type outcome struct {
	model, outcome string
	status         int
}

func outcomes(rec audit.Record) []outcome {
	var out []outcome
	for _, a := range rec.Attempts {
		out = append(out, outcome{a.Model, a.Outcome, a.Status})
	}
	return out
}

func sameOutcomes(a, b []outcome) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// An overloaded model accepts the stream (message_start, a ping) and then
// sends an error event before any content: the router falls back, and the
// client sees one clean stream, the backup's, as if Claude had never been
// asked.
func TestRouterOverloadedBeforeContentFallsBack(t *testing.T) {
	r := newEngineRouter(t)
	r.fake.Enqueue(anthropictest.Reply{StreamError: "overloaded_error"})
	text, err := r.stream("assistant")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if text != backupReply {
		t.Errorf("content = %q, want exactly the backup's %q", text, backupReply)
	}
	if got, want := providertest.ReadSSE(r.tee.String()), (providertest.SSE{Roles: 1, Done: true}); got != want {
		t.Errorf("stream = %+v, want %+v: one role chunk, [DONE], no error event", got, want)
	}
	rec := r.record(t)
	want := []outcome{{"claude", audit.OutcomeError, 529}, {"backup", audit.OutcomeOK, 200}}
	if got := outcomes(rec); !sameOutcomes(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
	if rec.Status != 200 || rec.Incomplete || rec.Provider != "backup" {
		t.Errorf("record status %d incomplete %v provider %q, want 200, complete, backup", rec.Status, rec.Incomplete, rec.Provider)
	}
	if n := len(r.fake.Requests()); n != 1 {
		t.Errorf("Claude was asked %d times, want 1", n)
	}
}

// A healthy stream that takes three times the model's timeout completes:
// the timeout bounds the attempt until its first content, the idle timeout
// (30s by default) each gap after it.
func TestRouterStreamOutlivesModelTimeout(t *testing.T) {
	r := newEngineRouter(t)
	const words = "one two three four five six seven eight nine ten"
	gap := 210 * time.Millisecond // 9 gaps: 1890ms, over 3 × 600ms
	r.fake.Enqueue(anthropictest.Reply{Text: words, Gap: gap})
	text, err := r.stream("assistant")
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if text != words {
		t.Errorf("content = %q, want %q", text, words)
	}
	if got := providertest.ReadSSE(r.tee.String()); !got.Done || got.HasError {
		t.Errorf("stream = %+v, want a clean end", got)
	}
	rec := r.record(t)
	if got, want := outcomes(rec), []outcome{{"claude", audit.OutcomeOK, 200}}; !sameOutcomes(got, want) {
		t.Errorf("attempts = %v, want %v", got, want)
	}
	// The fake's gaps make it so; checked so the test cannot pass by
	// streaming faster than it claims.
	if rec.LatencyMs < float64(3*modelTimeout/time.Millisecond) {
		t.Errorf("the stream took %.0f ms, not over three model timeouts", rec.LatencyMs)
	}
}

// Anthropic refusing the router's key (revoked, rotated) is the router's
// problem, not the caller's: another target serves, and with none the
// answer is 502 upstream_auth_failed, never a 401 that would blame the
// caller's key.
func TestRouterRevokedUpstreamKey(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			r := newEngineRouter(t)
			r.fake.SetAPIKey("sk-ant-rotated")
			params := openai.ChatCompletionNewParams{Model: "assistant",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
			var text string
			var err error
			if stream {
				text, err = r.stream("assistant")
			} else {
				var resp *openai.ChatCompletion
				if resp, err = r.client.Chat.Completions.New(context.Background(), params); err == nil {
					text = resp.Choices[0].Message.Content
				}
			}
			if err != nil || text != backupReply {
				t.Errorf("with a backup: %q, %v; want the backup's answer", text, err)
			}
			rec := r.record(t)
			want := []outcome{{"claude", audit.OutcomeAuthFailed, 401}, {"backup", audit.OutcomeOK, 200}}
			if got := outcomes(rec); !sameOutcomes(got, want) {
				t.Errorf("attempts = %v, want %v", got, want)
			}

			params.Model = "solo"
			if stream {
				_, err = r.stream("solo")
			} else {
				_, err = r.client.Chat.Completions.New(context.Background(), params)
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "upstream_auth_failed" {
				t.Fatalf("alone: %v, want 502 upstream_auth_failed", err)
			}
			if strings.Contains(apiErr.Message, "invalid x-api-key") {
				t.Errorf("message %q relays Anthropic's words", apiErr.Message)
			}
			rec = r.record(t)
			if got, want := outcomes(rec), []outcome{{"claude", audit.OutcomeAuthFailed, 401}}; !sameOutcomes(got, want) || rec.Status != 502 {
				t.Errorf("attempts = %v status %d, want %v 502", got, rec.Status, want)
			}
		})
	}
}
