package gateway_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/provider"
)

// On a deployment with a ceiling (Lambda: the function's timeout), a route
// whose timeouts cannot fit is a configuration warning with the numbers, at
// start and on every configuration load.
func TestRouteTimeoutsLongerThanTheDeploymentWarn(t *testing.T) {
	cfg, err := config.Parse([]byte(`
providers:
  - {name: sim, type: mock}
models:
  - {id: quick, provider: sim, timeout: 10s}
  - {id: slow, provider: sim, timeout: 45s}
routes:
  - {name: fits, timeout: 20s, targets: [{model: quick}]}
  - {name: long, timeout: 120s, targets: [{model: quick}]}
  - {name: slow-target, timeout: 20s, targets: [{model: slow}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ceiling time.Duration
		want    []string
	}{
		{0, nil},
		{30 * time.Second, []string{`route=long route_timeout=2m0s max_duration=30s`,
			`route=slow-target target="the timeout of target slow" timeout=45s max_duration=30s`}},
	} {
		var logs syncBuffer
		g := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(), MaxDuration: tc.ceiling,
			Log: slog.New(slog.NewTextHandler(&logs, nil))}
		if err := g.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		out := logs.String()
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("ceiling %v: logs lack %q:\n%s", tc.ceiling, w, out)
			}
		}
		if n := strings.Count(out, "config:"); n != len(tc.want) {
			t.Errorf("ceiling %v: %d warnings, want %d:\n%s", tc.ceiling, n, len(tc.want), out)
		}
		if strings.Contains(out, "route=fits") {
			t.Errorf("a route that fits was warned about:\n%s", out)
		}
	}
}
