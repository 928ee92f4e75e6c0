package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/lambdaapi"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

// The benchmarks measure what audit and metrics add to a request: the same
// request through the same handler with no sink, with the stdout writer
// (audit line and EMF line), and with the writer plus the DynamoDB audit
// table (moto on loopback). go test -run - -bench . -benchmem ./shared/audit/

const benchConfig = `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, targets: [{model: m, first_byte_timeout: 2s}]}]
metrics: {tag_dimensions: [team, feature]}
`

const benchBody = `{"model":"bench","messages":[{"role":"system","content":"You are a triage assistant."},` +
	`{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"max_tokens":256}`

func benchHandler(b *testing.B, sink audit.Sink) *gateway.Gateway {
	b.Helper()
	cfg, err := config.Parse([]byte(benchConfig))
	if err != nil {
		b.Fatal(err)
	}
	gw := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink: sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := gw.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	return gw
}

// flusher is a sink with a Flush: the writer, the table, or both.
type flusher interface {
	audit.Sink
	Flush() error
}

type both struct {
	*audit.Writer
	table *audittable.Sink
}

func (b both) Emit(r *audit.Record) { b.Writer.Emit(r); b.table.Emit(r) }
func (b both) Flush() error         { _ = b.Writer.Flush(); return b.table.Flush() }

// sinks builds the three configurations; the table writes to moto.
func sinks(b *testing.B) map[string]flusher {
	b.Helper()
	w := audit.NewWriter(io.Discard)
	m := awstest.Start(b)
	db := dynamodb.NewFromConfig(m.Config())
	if err := audittable.CreateTable(b.Context(), db, "bench-audit"); err != nil {
		b.Fatal(err)
	}
	table := audittable.New(db, "bench-audit")
	table.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	return map[string]flusher{"1-none": nil, "2-stdout": w, "3-stdout+table": both{w, table}}
}

// flushEvery is how many requests go between two flushes, which run outside
// the timer: on Lambda the flush follows the answer, locally it runs in the
// background; its cost is BenchmarkLambdaInvocation's.
const flushEvery = 25

// BenchmarkRequest serves the same request through the three handlers in
// turn, timing each, so a busy machine slows all three alike: the reported
// ns/req figures compare, the standard ns/op is their sum plus the flushes.
func BenchmarkRequest(b *testing.B) {
	all := sinks(b)
	names := []string{"1-none", "2-stdout", "3-stdout+table"}
	handlers := make([]*gateway.Gateway, len(names))
	for i, name := range names {
		var sink audit.Sink
		if all[name] != nil {
			sink = all[name]
		}
		handlers[i] = benchHandler(b, sink)
	}
	body := []byte(benchBody)
	spent := make([]time.Duration, len(names))
	n := 0
	for b.Loop() {
		// Each variant takes each position in turn: no variant always runs
		// first after a flush.
		for k := range handlers {
			i := (k + n) % len(handlers)
			gw := handlers[i]
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("x-router-tags", "team=triage,feature=intake")
			w := httptest.NewRecorder()
			start := time.Now()
			gw.ServeHTTP(w, req)
			spent[i] += time.Since(start)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		if n++; n%flushEvery == 0 {
			for _, name := range names[1:] {
				_ = all[name].Flush()
			}
		}
	}
	for i, name := range names {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(n), "ns/req:"+name)
	}
}

// BenchmarkEmit is the sinks' own cost per record.
func BenchmarkEmit(b *testing.B) {
	all := sinks(b)
	rec := full()
	for _, name := range []string{"2-stdout", "3-stdout+table"} {
		sink := all[name]
		b.Run("sink="+name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				sink.Emit(rec)
				if n++; n%flushEvery == 0 {
					b.StopTimer()
					_ = sink.Flush()
					b.StartTimer()
				}
			}
		})
	}
}

// full is a served request's record with two attempts and tags.
func full() *audit.Record {
	return &audit.Record{RequestID: "req_00000000000000a1", Time: time.Now(), KeyID: "triage-app", Route: "triage-low",
		DataClass: "phi", Require: []string{"hipaa"}, Model: "deepseek-v4-flash", Provider: "deepseek", UpstreamModel: "deepseek-v4-flash",
		Status: 200, Attempts: []audit.Attempt{{Model: "mistral-large", Provider: "mistral", Outcome: audit.OutcomeError, Status: 503, LatencyMs: 12},
			{Model: "deepseek-v4-flash", Provider: "deepseek", Outcome: audit.OutcomeOK, Status: 200, LatencyMs: 812}},
		LatencyMs: 830, TTFBMs: 400, Usage: audit.Usage{PromptTokens: 1000, CompletionTokens: 50, CachedTokens: 800}, CostUSD: 0.0004424,
		Tags: map[string]string{"team": "triage", "feature": "intake"}, Endpoint: "chat.completions",
		Metrics: audit.NewEMF("LLMRouter", []string{"team", "feature"})}
}

// BenchmarkLambdaInvocation is one buffered Lambda invocation, flush
// included: what the end of an invocation costs with the stdout lines only,
// and with the audit table's BatchWriteItem (to moto on loopback; in AWS, a
// round trip to DynamoDB in the region).
func BenchmarkLambdaInvocation(b *testing.B) {
	m := awstest.Start(b)
	db := dynamodb.NewFromConfig(m.Config())
	if err := audittable.CreateTable(b.Context(), db, "bench-audit"); err != nil {
		b.Fatal(err)
	}
	ev, _ := json.Marshal(events.APIGatewayProxyRequest{Path: "/v1/chat/completions", HTTPMethod: "POST", Body: benchBody,
		MultiValueHeaders: map[string][]string{"Content-Type": {"application/json"}},
		RequestContext:    events.APIGatewayProxyRequestContext{Stage: "prod", HTTPMethod: "POST"}})
	var event events.APIGatewayProxyRequest
	_ = json.Unmarshal(ev, &event)
	for _, withTable := range []bool{false, true} {
		w := audit.NewWriter(io.Discard)
		var sink audit.Sink = w
		flush := func(context.Context) error { return w.Flush() }
		if withTable {
			table := audittable.New(db, "bench-audit")
			table.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
			sink = audit.Sinks{w, table}
			flush = func(context.Context) error { _ = w.Flush(); return table.Flush() }
		}
		a := &lambdaapi.Adapter{Handler: benchHandler(b, sink), Flush: flush}
		name := "stdout"
		if withTable {
			name = "stdout+table"
		}
		b.Run("flush="+name, func(b *testing.B) {
			// The whole invocation: the answer, then the bookkeeping the
			// runtime runs by closing it once it is sent.
			for b.Loop() {
				ans, err := a.Buffered(context.Background(), event)
				if err != nil {
					b.Fatal(err)
				}
				var resp events.APIGatewayProxyResponse
				if err := json.NewDecoder(ans).Decode(&resp); err != nil || resp.StatusCode != http.StatusOK {
					b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
				}
				ans.Close()
			}
		})
	}
}
