package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

const benchBody = `{"model":"bench","messages":[{"role":"system","content":"You are a triage assistant."},{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"temperature":0.2,"max_tokens":256}`

// cannedAnswer is a typical non-streamed completion, as a fast upstream sends it.
const cannedAnswer = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Severity: low. Suggest rest, fluids and an over-the-counter analgesic; escalate if fever or neurological signs appear.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":27,"total_tokens":58,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`

func benchGateway(b *testing.B, cfgYAML string, sink audit.Sink) *gateway.Gateway {
	b.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		b.Fatal(err)
	}
	gw := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "sk-bench", true }}},
		Sink: sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := gw.Init(b.Context()); err != nil {
		b.Fatal(err)
	}
	return gw
}

// BenchmarkHandlerMock is the router's own work per request: auth, parse,
// plan, attempt, relay, audit and metrics, with a zero-latency in-process provider.
func BenchmarkHandlerMock(b *testing.B) {
	for _, withAudit := range []bool{false, true} {
		b.Run(fmt.Sprintf("audit=%v", withAudit), func(b *testing.B) {
			var sink audit.Sink
			if withAudit {
				w := audit.NewWriter(io.Discard)
				go w.Run(b.Context(), 200*time.Millisecond)
				sink = w
			}
			gw := benchGateway(b, `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, targets: [{model: m, first_byte_timeout: 2s}]}]
metrics: {tag_dimensions: [team]}
`, sink)
			body := []byte(benchBody)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("x-router-tags", "team=triage")
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkHandlerOpenAILoopback adds the OpenAI adapter and a real loopback
// HTTP round trip to a fast upstream that answers a canned completion.
func BenchmarkHandlerOpenAILoopback(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, cannedAnswer)
	})}
	go func() { _ = up.Serve(ln) }()
	defer up.Close()
	sink := audit.NewWriter(io.Discard)
	go sink.Run(b.Context(), 200*time.Millisecond)
	gw := benchGateway(b, strings.ReplaceAll(`
providers: [{name: up, type: openai, base_url: "http://ADDR/v1", key: "env:K"}]
models: [{id: m, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, targets: [{model: m, first_byte_timeout: 2s}]}]
`, "ADDR", ln.Addr().String()), sink)
	body := []byte(benchBody)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
		w := httptest.NewRecorder()
		gw.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
