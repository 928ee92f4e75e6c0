package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/llm-router/router/shared/health"
)

// BenchmarkHandlerMockHealth is BenchmarkHandlerMock's request on a
// two-target latency route: without a health view, with one as the
// gateway's Health, Latency and Observer (what probes, breakers and the
// latency strategy add to a warm request), and with hedge_after on the
// targets as well (the hedged loop's goroutine and timer; the mock answers at
// once, so no hedge starts). Both targets are alike, so the order the
// strategy picks costs the same.
func BenchmarkHandlerMockHealth(b *testing.B) {
	for _, tc := range []struct {
		name         string
		health       bool
		targetsExtra string
	}{
		{"health=off", false, ""},
		{"health=on", true, ""},
		{"health=on,hedge", true, ", hedge_after: 1s"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			gw := benchGateway(b, fmt.Sprintf(`
providers: [{name: sim, type: mock}, {name: sim2, type: mock}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}, {id: m2, provider: sim2, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, strategy: latency, targets: [{model: m%[1]s}, {model: m2%[1]s}]}]
`, tc.targetsExtra), nil)
			if tc.health {
				v := &health.View{Source: gw.Source, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				if err := v.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
				gw.Health, gw.Latency, gw.Observer = v, v, v
			}
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
		})
	}
}
