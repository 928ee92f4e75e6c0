package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/route"
)

const healthConfig = `
providers: [{name: prim, type: mock}, {name: back, type: mock}]
models: [{id: primary, provider: prim}, {id: backup, provider: back}]
routes: [{name: main, targets: [{model: primary}, {model: backup}]}]
`

// reporter is a health view with fixed reports.
type reporter map[string]health.TargetHealth

func (r reporter) Usable(_, model string) (bool, string) {
	th := r[model]
	return th.Status != health.StatusUnhealthy, th.Reason
}

func (r reporter) TargetHealth(_, model string) health.TargetHealth { return r[model] }

// usableOnly is a health view that can only say usable or not.
type usableOnly map[string]string

func (u usableOnly) Usable(_, model string) (bool, string) { return u[model] == "", u[model] }

// GET /v1/router/health: the exact bytes for a view that reports everything,
// one that only says usable or not, and none.
func TestServeHealthJSON(t *testing.T) {
	until := time.Date(2026, 1, 2, 3, 4, 40, 0, time.UTC)
	est := 845.2
	full := reporter{
		"primary": {Status: health.StatusUnhealthy, Reason: "circuit open for 18s more: 5 failed attempts in a row (last: error)",
			Probe:             &health.ProbeHealth{Status: "healthy", CheckedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), LatencyMs: 212.4},
			LatencyEstimateMs: &est,
			Breaker: health.BreakerHealth{State: "open", ConsecutiveFailures: 5, OpenUntil: &until,
				Reason: "5 failed attempts in a row (last: error)"}},
		"backup": {Status: health.StatusDegraded, Reason: "probe: slow",
			Probe: &health.ProbeHealth{Status: "degraded", CheckedAt: time.Date(2026, 1, 2, 3, 0, 5, 0, time.UTC), LatencyMs: 35.1,
				ConsecutiveFailures: 1, Reason: "slow", Stale: true},
			Breaker: health.BreakerHealth{State: "closed"}},
	}
	tests := []struct {
		name   string
		health route.Health
		want   string
	}{
		{"reporter", full, `{"object":"list","data":[` +
			`{"provider":"prim","model":"primary","status":"unhealthy","reason":"circuit open for 18s more: 5 failed attempts in a row (last: error)",` +
			`"probe":{"status":"healthy","checked_at":"2026-01-02T03:04:05Z","latency_ms":212.4,"consecutive_failures":0},` +
			`"latency_estimate_ms":845.2,"breaker":{"state":"open","consecutive_failures":5,"open_until":"2026-01-02T03:04:40Z",` +
			`"reason":"5 failed attempts in a row (last: error)"}},` +
			`{"provider":"back","model":"backup","status":"degraded","reason":"probe: slow",` +
			`"probe":{"status":"degraded","checked_at":"2026-01-02T03:00:05Z","latency_ms":35.1,"consecutive_failures":1,"reason":"slow","stale":true},` +
			`"latency_estimate_ms":null,"breaker":{"state":"closed","consecutive_failures":0}}],"config":{"ready":true}}`},
		{"usable only", usableOnly{"primary": "down"}, `{"object":"list","data":[` +
			`{"provider":"prim","model":"primary","status":"unhealthy","reason":"down","probe":null,"latency_estimate_ms":null,` +
			`"breaker":{"state":"closed","consecutive_failures":0}},` +
			`{"provider":"back","model":"backup","status":"healthy","probe":null,"latency_estimate_ms":null,` +
			`"breaker":{"state":"closed","consecutive_failures":0}}],"config":{"ready":true}}`},
		{"no view", nil, `{"object":"list","data":[` +
			`{"provider":"prim","model":"primary","status":"healthy","probe":null,"latency_estimate_ms":null,` +
			`"breaker":{"state":"closed","consecutive_failures":0}},` +
			`{"provider":"back","model":"backup","status":"healthy","probe":null,"latency_estimate_ms":null,` +
			`"breaker":{"state":"closed","consecutive_failures":0}}],"config":{"ready":true}}`},
	}
	cfg, err := config.Parse([]byte(healthConfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(), Health: tt.health}
			w := httptest.NewRecorder()
			gw.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/router/health", nil))
			body, _ := io.ReadAll(w.Result().Body)
			if w.Code != http.StatusOK || string(body) != tt.want {
				t.Errorf("%d\n got %s\nwant %s", w.Code, body, tt.want)
			}
		})
	}
}
