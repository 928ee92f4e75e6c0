package benchmark

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

const upstreamKey = "sk-bench-upstream-0001"

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// good answers every prompt right; bad answers the schema prompt with JSON
// missing a required member, and fails every third request with 503.
func good(r openaitest.Received) openaitest.Reply {
	switch body := string(r.Body); {
	case strings.Contains(body, `"response_format"`):
		return openaitest.Reply{Text: `{"name":"Ada","city":"Paris"}`}
	case strings.Contains(body, "2+2"):
		return openaitest.Reply{Text: "4"}
	}
	return openaitest.Reply{Text: "The printer needs toner."}
}

func badEveryThird() func(openaitest.Received) openaitest.Reply {
	var n atomic.Int64
	return func(r openaitest.Received) openaitest.Reply {
		if n.Add(1)%3 == 0 {
			return openaitest.Reply{Status: http.StatusServiceUnavailable, ErrType: "server_error", ErrMessage: "overloaded; key sk-bench-upstream-0001 quoted"}
		}
		if strings.Contains(string(r.Body), `"response_format"`) {
			return openaitest.Reply{Text: "Sure! ```json\n{\"name\":\"Ada\"}\n```"}
		}
		return openaitest.Reply{Text: "four"}
	}
}

type fixture struct {
	cfg        *config.Config
	a, b, c, d *openaitest.Server
	logs       *syncBuffer
	metrics    *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{a: openaitest.NewServer("a", good), b: openaitest.NewServer("b", badEveryThird()),
		c: openaitest.NewServer("c", good), d: openaitest.NewServer("d", good), logs: &syncBuffer{}, metrics: &syncBuffer{}}
	for _, s := range []*openaitest.Server{f.a, f.b, f.c, f.d} {
		t.Cleanup(s.Close)
	}
	yaml := `
providers:
  - {name: pa, type: openai, base_url: "` + f.a.BaseURL() + `", key: "env:UP_KEY", compliance: [zdr]}
  - {name: pb, type: openai, base_url: "` + f.b.BaseURL() + `", key: "env:UP_KEY", compliance: [zdr, hipaa]}
  - {name: pc, type: openai, base_url: "` + f.c.BaseURL() + `", key: "env:UP_KEY"}
  - {name: pd, type: openai, base_url: "` + f.d.BaseURL() + `", key: "env:UP_KEY", compliance: [zdr]}
models:
  - {id: fast, provider: pa, price: {input: 1, output: 2}}
  - {id: flaky, provider: pb, price: {input: 3, output: 4}}
  - {id: open, provider: pc, price: {input: 1, output: 1}}
  - {id: unrouted, provider: pd}
routes:
  - name: chat
    strategy: latency
    targets: [{model: flaky}, {model: fast}]
  - name: other
    targets: [{model: open}, {model: fast}]
data_classes:
  phi: [hipaa]
  bench: [zdr]
schemas:
  contact:
    type: object
    properties: {name: {type: string}, city: {type: string}}
    required: [name, city]
benchmarks:
  data_class: bench
  runs: 2
  prompts:
    - {name: triage-short, messages: [{role: user, content: "Summarise: the printer is out of toner."}], max_tokens: 64}
    - {name: json-extract, messages: [{role: user, content: "Ada lives in Paris. Give her name and city."}], schema: contact}
    - {name: exact, messages: [{role: user, content: "What is 2+2? Answer with the number only."}], expect: "4"}
`
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = cfg
	return f
}

func (f *fixture) runner() *Runner {
	deps := llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
		return upstreamKey, k == "UP_KEY"
	}}}
	factories := provider.Builtin()
	return &Runner{Source: gateway.Static{C: f.cfg}, Log: slog.New(slog.NewJSONHandler(f.logs, nil)), Metrics: f.metrics,
		Adapter: func(p *config.Provider) (llm.Provider, error) { return factories[p.Type](p, deps) }}
}

// Every model of the routes is measured once, under the benchmark class's
// compliance tags: its calls, errors, checks and cost come out as they
// were, a provider without the class's tags receives nothing, and no text
// of a prompt or an answer reaches a log or a metric.
func TestRunMeasuresEveryRoutedModel(t *testing.T) {
	f := newFixture(t)
	rep, err := f.runner().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Model != "flaky" || rep.Results[1].Model != "fast" {
		t.Fatalf("results %+v, want flaky then fast (the routes' order)", rep.Results)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0] != (Skipped{Provider: "pc", Model: "open", Reason: "compliance: provider pc lacks zdr (data class bench)"}) {
		t.Errorf("skipped %+v", rep.Skipped)
	}
	if f.c.Calls() != 0 || f.d.Calls() != 0 {
		t.Errorf("the skipped provider got %d calls, the unrouted model %d", f.c.Calls(), f.d.Calls())
	}
	if rep.NotRun != 0 || rep.RunID == "" || rep.DataClass != "bench" {
		t.Errorf("report %+v", rep)
	}

	flaky, fast := rep.Results[0], rep.Results[1]
	// fast: 2 runs of 3 prompts, all answered and right; 6 × 10 prompt
	// and 5 completion tokens at 1 and 2 USD per million.
	if fast.Requests != 6 || fast.ErrorRate != 0 || fast.Checked != 4 || fast.PassRate != 1 ||
		fast.PromptTokens != 60 || fast.CompletionTokens != 30 || !fast.Priced || math.Abs(fast.CostUSD-0.00012) > 1e-12 {
		t.Errorf("fast = %+v", fast)
	}
	// flaky: its 3rd and 6th calls (the exact prompt, both runs) failed;
	// the schema answers lack a member. 4 answered calls at 3 and 4 USD.
	if flaky.Requests != 6 || math.Abs(flaky.ErrorRate-2.0/6) > 1e-12 || flaky.Checked != 4 || flaky.PassRate != 0 ||
		flaky.PromptTokens != 40 || math.Abs(flaky.CostUSD-0.0002) > 1e-12 {
		t.Errorf("flaky = %+v", flaky)
	}
	for _, r := range rep.Results {
		if r.TTFTMs <= 0 || r.TTFTMs > r.P50Ms || r.P50Ms > r.P90Ms || !r.RunAt.Equal(rep.RunAt) || r.RunID != rep.RunID || r.DataClass != "bench" {
			t.Errorf("%s figures %+v", r.Model, r)
		}
	}

	// The calls are streams with the prompt's limit and, for a schema, the
	// response format a route's schema would send; the key reached them.
	var schemaCalls int
	for _, r := range f.a.Received() {
		var body struct {
			Stream         bool `json:"stream"`
			Max            int  `json:"max_completion_tokens"`
			ResponseFormat *struct {
				Type       string `json:"type"`
				JSONSchema struct {
					Name string `json:"name"`
				} `json:"json_schema"`
			} `json:"response_format"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil || !body.Stream || r.Header.Get("Authorization") != "Bearer "+upstreamKey {
			t.Errorf("call %s: %+v %v", r.Body, body, err)
		}
		if body.ResponseFormat != nil {
			schemaCalls++
			if body.ResponseFormat.Type != "json_schema" || body.ResponseFormat.JSONSchema.Name != "contact" || body.Max != 256 {
				t.Errorf("schema call %s", r.Body)
			}
		}
	}
	if len(f.a.Received()) != 6 || schemaCalls != 2 {
		t.Errorf("fast got %d calls, %d with a schema", len(f.a.Received()), schemaCalls)
	}

	logs := f.logs.String()
	for _, want := range []string{`"msg":"benchmark target skipped","run_id":"` + rep.RunID + `","provider":"pc","model":"open"`,
		`"model":"flaky","prompt":"exact","problem":"status 503 (overloaded)","count":2`,
		`"model":"flaky","prompt":"json-extract","problem":"the answer's JSON does not match the schema","count":2`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	out := logs + f.metrics.String()
	for _, secret := range []string{"printer", "Paris", "2+2", "toner", "four", upstreamKey} {
		if strings.Contains(out, secret) {
			t.Errorf("%q reached the logs or metrics", secret)
		}
	}

	// One EMF line per measured model, each one CloudWatch accepts.
	lines := strings.Split(strings.TrimSpace(f.metrics.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("metrics lines:\n%s", f.metrics.String())
	}
	for _, l := range lines {
		if err := audit.ValidateEMF([]byte(l), time.Now()); err != nil {
			t.Errorf("%v: %s", err, l)
		}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	if m["Model"] != "flaky" || m["Provider"] != "pb" || m[MetricPassRate] != 0.0 || math.Abs(m[MetricErrorRate].(float64)-100.0/3) > 1e-9 ||
		m[MetricTTFTMs] != flaky.TTFTMs || m[MetricCostUSD] != flaky.CostUSD {
		t.Errorf("flaky's line %s", lines[0])
	}
}

// A call is started only if its timeout ends before the deadline less the
// write margin: with no room, nothing is sent and the run says so.
func TestRunKeepsWithinTheDeadline(t *testing.T) {
	f := newFixture(t)
	f.cfg.Benchmarks.Timeout = config.Duration(30 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := f.runner().Run(ctx)
	if err == nil || !strings.Contains(err.Error(), "no call fitted") {
		t.Errorf("Run = %v", err)
	}
	if rep == nil || rep.NotRun != 12 || len(rep.Results) != 0 {
		t.Errorf("report %+v, want 12 calls not run", rep)
	}
	if f.a.Calls()+f.b.Calls() != 0 {
		t.Errorf("%d calls were made", f.a.Calls()+f.b.Calls())
	}
}

// A call that outlives its timeout is a failure of the model, named as such.
func TestCallTimeout(t *testing.T) {
	f := newFixture(t)
	f.a.SetScript(func(r openaitest.Received) openaitest.Reply {
		if strings.Contains(string(r.Body), "2+2") {
			return openaitest.Reply{Hang: true}
		}
		return good(r)
	})
	f.cfg.Benchmarks.Timeout = config.Duration(300 * time.Millisecond)
	f.cfg.Benchmarks.Runs = 1
	rep, err := f.runner().Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fast := rep.Results[1]
	if fast.Model != "fast" || fast.Requests != 3 || math.Abs(fast.ErrorRate-1.0/3) > 1e-12 || fast.Checked != 2 || fast.PassRate != 0.5 {
		t.Errorf("fast = %+v", fast)
	}
	if !strings.Contains(f.logs.String(), `"model":"fast","prompt":"exact","problem":"no answer within 300ms","count":1`) {
		t.Errorf("logs:\n%s", f.logs.String())
	}
}

func TestNoBenchmarksSection(t *testing.T) {
	f := newFixture(t)
	f.cfg.Benchmarks = nil
	if _, err := f.runner().Run(context.Background()); !errors.Is(err, ErrNoBenchmarks) {
		t.Errorf("Run = %v, want ErrNoBenchmarks", err)
	}
}

// A figure that does not exist is left out of the metrics line, not sent as 0.
func TestMetricLineLeavesOutMissingFigures(t *testing.T) {
	at := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	line := AppendMetricLine(nil, "NS", health.BenchmarkResult{Provider: "p", Model: "m\"x", RunAt: at, RunID: "r1", Requests: 3, ErrorRate: 1})
	var m struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Model     string
		ErrorRate float64 `json:"BenchmarkErrorRate"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if err := audit.ValidateEMF(line, at); err != nil {
		t.Errorf("%v: %s", err, line)
	}
	d := m.AWS.CloudWatchMetrics[0]
	if m.AWS.Timestamp != at.UnixMilli() || d.Namespace != "NS" || len(d.Metrics) != 1 || d.Metrics[0].Name != MetricErrorRate ||
		d.Metrics[0].Unit != "Percent" || m.ErrorRate != 100 || m.Model != "m\"x" || strings.Join(d.Dimensions[0], ",") != "Model,Provider" {
		t.Errorf("line %s", line)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	if percentile(xs, 0.5) != 5 || percentile(xs, 0.9) != 9 || percentile(xs[:1], 0.9) != 5 || percentile(nil, 0.5) != 0 {
		t.Errorf("p50 %v p90 %v", percentile(xs, 0.5), percentile(xs, 0.9))
	}
}
