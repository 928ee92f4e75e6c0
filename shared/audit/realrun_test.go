package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

const (
	routerKey = "sk-router-audit-test"
	// secretPrompt must never appear in an audit or metrics line.
	secretPrompt = "Patient Jane Roe, born 1970-01-01, reports chest pain"
)

func runConfig() string {
	sum := sha256.Sum256([]byte(routerKey))
	return `
providers:
  - {name: steady, type: mock, compliance: [hipaa], mock: {reply: "All good."}}
  - {name: down, type: mock, mock: {fail_rate: 1, fail_status: 503}}
models:
  - {id: fast, provider: steady, price: {input: 0.15, output: 0.60}}
  - {id: broken, provider: down, price: {input: 1, output: 1}}
routes:
  - {name: triage, targets: [{model: fast}]}
  - {name: fallback, targets: [{model: broken}, {model: fast}]}
  - {name: doomed, targets: [{model: broken}]}
keys:
  - {id: app, hash: "sha256:` + hex.EncodeToString(sum[:]) + `", routes: ["*"], models: ["*"], tags: {team: from-key}}
metrics:
  tag_dimensions: [team, feature]
  tag_values: {team: [triage], feature: [intake]}
`
}

// lockedBuffer stands in for stdout.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// doneSink tells the test a request's lines have been emitted.
type doneSink chan struct{}

func (d doneSink) Emit(*audit.Record) { d <- struct{}{} }

// TestEMFLinesOfARealRun drives every kind of answer through the router with
// the official OpenAI client (success, fallback, stream, embeddings, errors
// of the caller and of the providers) and validates every metrics line the
// router wrote against the EMF specification.
func TestEMFLinesOfARealRun(t *testing.T) {
	cfg, err := config.Parse([]byte(runConfig()))
	if err != nil {
		t.Fatal(err)
	}
	stdout := &lockedBuffer{}
	lines := audit.NewWriter(stdout)
	done := make(doneSink, 32)
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps:      llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink:      audit.Sinks{lines, done},
		Namespace: "LLMRouterTest",
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(routerKey), option.WithMaxRetries(0))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage(secretPrompt)}
	wait := func() {
		t.Helper()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("no audit record")
		}
	}

	type want struct {
		route, model, provider, team, feature string
		status                                int
		errors, fallbacks                     float64
	}
	var wants []want

	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "triage", Messages: msgs},
		option.WithHeader("x-router-tags", "team=triage,feature=intake"))
	if err != nil {
		t.Fatal(err)
	}
	wait()
	wants = append(wants, want{"triage", "fast", "steady", "triage", "intake", 200, 0, 0})

	if _, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "fallback", Messages: msgs}); err != nil {
		t.Fatal(err)
	}
	wait()
	wants = append(wants, want{"fallback", "fast", "steady", "from-key", "untagged", 200, 0, 1})

	s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "triage", Messages: msgs},
		option.WithHeader("x-router-tags", "team=équipe"))
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	wait()
	// A value the configuration does not list is "other": callers cannot
	// create metrics (the audit line keeps the value as sent).
	wants = append(wants, want{"triage", "fast", "steady", "other", "untagged", 200, 0, 0})

	if _, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "fast",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(secretPrompt)}}); err != nil {
		t.Fatal(err)
	}
	wait()
	wants = append(wants, want{"fast", "fast", "steady", "from-key", "untagged", 200, 0, 0})

	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "doomed", Messages: msgs}); err == nil {
		t.Fatal("a route whose only target fails answered")
	}
	wait()
	wants = append(wants, want{"doomed", "none", "none", "from-key", "untagged", 502, 1, 0})

	if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "no-such-model", Messages: msgs}); err == nil {
		t.Fatal("an unknown model answered")
	}
	wait()
	wants = append(wants, want{"none", "none", "none", "untagged", "untagged", 404, 0, 0}) // refused before its tags were read

	bad := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("sk-wrong"), option.WithMaxRetries(0))
	if _, err := bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "triage", Messages: msgs}); err == nil {
		t.Fatal("a wrong key was accepted")
	}
	wait()
	wants = append(wants, want{"none", "none", "none", "untagged", "untagged", 401, 0, 0})

	if err := lines.Flush(); err != nil {
		t.Fatal(err)
	}
	out := stdout.b.String()
	if strings.Contains(out, "chest pain") || strings.Contains(out, routerKey) {
		t.Fatal("prompt text or the router key reached stdout")
	}
	var emf, auditLines, attemptLines []map[string]any
	now := time.Now()
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		if _, ok := m["_aws"]; !ok {
			auditLines = append(auditLines, m)
			continue
		}
		if err := audit.ValidateEMF([]byte(line), now); err != nil {
			t.Errorf("invalid EMF line %s:\n%v", line, err)
		}
		doc, _ := decodeLine(t, []byte(line))
		d := doc.AWS.CloudWatchMetrics[0]
		if _, ok := m[audit.MetricFailedAttempts]; ok {
			// A failed attempt's own line, under the target that failed.
			if d.Namespace != "LLMRouterTest" || len(d.Dimensions) != 1 || len(d.Metrics) != 1 {
				t.Errorf("failed attempt directive %+v", d)
			}
			attemptLines = append(attemptLines, m)
			continue
		}
		if d.Namespace != "LLMRouterTest" || len(d.Dimensions) != 4 || len(d.Metrics) != len(audit.RequestMetrics()) {
			t.Errorf("directive %+v", d)
		}
		emf = append(emf, m)
	}
	if len(emf) != len(wants) || len(auditLines) != len(wants) {
		t.Fatalf("%d metrics lines and %d audit lines for %d requests:\n%s", len(emf), len(auditLines), len(wants), out)
	}
	for i, w := range wants {
		m := emf[i]
		got := want{m["Route"].(string), m["Model"].(string), m["Provider"].(string), m["team"].(string), m["feature"].(string),
			int(m["status"].(float64)), m["Errors"].(float64), m["Fallbacks"].(float64)}
		if got != w {
			t.Errorf("request %d: metrics %+v, want %+v", i, got, w)
		}
		if m["request_id"] != auditLines[i]["request_id"] || m["Requests"] != 1.0 {
			t.Errorf("request %d: metrics line %v does not match audit line %v", i, m, auditLines[i])
		}
		if w.status == 200 && (m["CostUSD"].(float64) <= 0 || m["PromptTokens"].(float64) <= 0 || m["LatencyMs"].(float64) <= 0) {
			t.Errorf("request %d: a served request with no cost, tokens or latency: %v", i, m)
		}
	}
	// The fallback and the doomed route each failed once on "broken".
	if len(attemptLines) != 2 {
		t.Fatalf("%d failed attempt lines, want 2", len(attemptLines))
	}
	for i, m := range attemptLines {
		if m["Model"] != "broken" || m["Provider"] != "down" || m[audit.MetricFailedAttempts] != 1.0 || m["outcome"] != "error" {
			t.Errorf("failed attempt line %d: %v", i, m)
		}
	}
	// The audit line keeps the tag as sent; only the dimension is made ASCII.
	if tags := auditLines[2]["tags"].(map[string]any); tags["team"] != "équipe" {
		t.Errorf("audit tags %v", tags)
	}
	if _, err := http.Get(srv.URL + "/healthz"); err != nil {
		t.Fatal(err)
	}
}
