package bedrock_test

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
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/provider/providertest"
	"github.com/llm-router/router/shared/secret"
)

// modelTimeout is the Bedrock model's timeout in these tests: the time an
// attempt has until it commits, never a bound on a stream that has begun.
const modelTimeout = 600 * time.Millisecond

// engineConfig serves route "chat" (Bedrock, then the mock) and route "solo"
// (Bedrock alone).
const engineConfig = `
providers:
  - {name: bedrock-us, type: bedrock, base_url: %s, region: us-east-1}
  - {name: sim, type: mock, mock: {reply: "Fallback answer."}}
models:
  - {id: claude-sonnet, provider: bedrock-us, upstream: "anthropic.claude-3-5-sonnet-20240620-v1:0", timeout: %s, price: {input: 3, output: 15}}
  - {id: backup, provider: sim, price: {input: 1, output: 1}}
routes:
  - {name: chat, targets: [{model: claude-sonnet}, {model: backup}]}
  - {name: solo, targets: [{model: claude-sonnet}]}
`

// engineRouter is the router in front of the fake, with the official OpenAI
// client whose raw reads tee keeps.
type engineRouter struct {
	fake   *bedrocktest.Server
	client openai.Client
	tee    *providertest.Tee
	audit  records
}

func newEngineRouter(t *testing.T) *engineRouter {
	t.Helper()
	awsEnv(t)
	fake := bedrocktest.New(t)
	cfg, err := config.Parse(fmt.Appendf(nil, engineConfig, fake.URL, modelTimeout))
	if err != nil {
		t.Fatal(err)
	}
	recs := make(records, 16)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"bedrock": bedrock.New, "mock": mock.New},
		Deps:      llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink:      recs,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	tee := &providertest.Tee{}
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0),
		option.WithHTTPClient(&http.Client{Transport: tee}))
	return &engineRouter{fake: fake, client: client, tee: tee, audit: recs}
}

func (r *engineRouter) ask(route string, stream bool) (string, error) {
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

type outcome struct {
	model, outcome string
	status         int
}

func outcomes(rec audit.Record) string {
	var out []outcome
	for _, a := range rec.Attempts {
		out = append(out, outcome{a.Model, a.Outcome, a.Status})
	}
	return fmt.Sprint(out)
}

// Bedrock accepts the stream (messageStart) and then throws before any
// content: the router falls back, and the client sees one clean stream, the
// backup's.
func TestRouterExceptionBeforeContentFallsBack(t *testing.T) {
	tests := []struct {
		exception string
		want      []outcome
	}{
		{"ThrottlingException", []outcome{{"claude-sonnet", audit.OutcomeRateLimited, 429}, {"backup", audit.OutcomeOK, 200}}},
		{"ServiceUnavailableException", []outcome{{"claude-sonnet", audit.OutcomeError, 503}, {"backup", audit.OutcomeOK, 200}}},
		{"InternalServerException", []outcome{{"claude-sonnet", audit.OutcomeError, 500}, {"backup", audit.OutcomeOK, 200}}},
	}
	for _, tt := range tests {
		t.Run(tt.exception, func(t *testing.T) {
			r := newEngineRouter(t)
			r.fake.Push(bedrocktest.Reply{StreamError: &bedrocktest.Exception{Name: tt.exception, Message: "simulated"}})
			text, err := r.ask("chat", true)
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if text != "Fallback answer." {
				t.Errorf("content = %q, want exactly the backup's", text)
			}
			if got, want := providertest.ReadSSE(r.tee.String()), (providertest.SSE{Roles: 1, Done: true}); got != want {
				t.Errorf("stream = %+v, want %+v: one role chunk, [DONE], no error event", got, want)
			}
			rec := r.audit.next(t)
			if got, want := outcomes(rec), fmt.Sprint(tt.want); got != want {
				t.Errorf("attempts = %s, want %s", got, want)
			}
			if rec.Status != 200 || rec.Incomplete {
				t.Errorf("record status %d incomplete %v, want a complete 200", rec.Status, rec.Incomplete)
			}
			if n := len(r.fake.Requests()); n != 1 {
				t.Errorf("Bedrock was asked %d times, want 1", n)
			}
		})
	}
}

// A healthy stream that takes three times the model's timeout completes.
func TestRouterStreamOutlivesModelTimeout(t *testing.T) {
	r := newEngineRouter(t)
	const words = "one two three four five six seven eight nine ten"
	r.fake.Push(bedrocktest.Reply{Text: words, Gap: 210 * time.Millisecond, Usage: bedrocktest.Usage{Input: 5, Output: 10}})
	text, err := r.ask("chat", true)
	if err != nil || text != words {
		t.Fatalf("stream: %q, %v; want %q", text, err, words)
	}
	if got := providertest.ReadSSE(r.tee.String()); !got.Done || got.HasError {
		t.Errorf("stream = %+v, want a clean end", got)
	}
	rec := r.audit.next(t)
	if got, want := outcomes(rec), fmt.Sprint([]outcome{{"claude-sonnet", audit.OutcomeOK, 200}}); got != want {
		t.Errorf("attempts = %s, want %s", got, want)
	}
	// The fake's nine 210ms gaps make it so; checked so the test cannot
	// pass by streaming faster than it claims.
	if rec.LatencyMs < float64(3*modelTimeout/time.Millisecond) {
		t.Errorf("the stream took %.0f ms, not over three model timeouts", rec.LatencyMs)
	}
}

// Bedrock refusing the router's AWS credentials (a revoked key, an expired
// token) is the router's problem: another target serves, and with none the
// answer is 502 upstream_auth_failed, never the caller's 401.
func TestRouterRevokedCredentials(t *testing.T) {
	for _, exception := range []string{"UnrecognizedClientException", "ExpiredTokenException"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", exception, stream), func(t *testing.T) {
				r := newEngineRouter(t)
				refused := bedrocktest.Reply{Error: &bedrocktest.Exception{Name: exception, Status: http.StatusForbidden,
					Message: "The security token included in the request is invalid."}}
				r.fake.Push(refused, refused)
				if text, err := r.ask("chat", stream); err != nil || text != "Fallback answer." {
					t.Errorf("with a backup: %q, %v; want the backup's answer", text, err)
				}
				rec := r.audit.next(t)
				want := []outcome{{"claude-sonnet", audit.OutcomeAuthFailed, 403}, {"backup", audit.OutcomeOK, 200}}
				if got := outcomes(rec); got != fmt.Sprint(want) {
					t.Errorf("attempts = %s, want %v", got, want)
				}

				_, err := r.ask("solo", stream)
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadGateway || apiErr.Code != "upstream_auth_failed" {
					t.Fatalf("alone: %v, want 502 upstream_auth_failed", err)
				}
				if strings.Contains(apiErr.Message, "security token") {
					t.Errorf("message %q relays Bedrock's words", apiErr.Message)
				}
				if rec := r.audit.next(t); rec.Status != 502 || len(rec.Attempts) != 1 {
					t.Errorf("record status %d attempts %+v, want 502 after one attempt", rec.Status, rec.Attempts)
				}
			})
		}
	}
}
