package health_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/health"
)

// BenchmarkViewWarmRequest is a health view's share of one warm request on a
// two-target route: the planner's Usable and Estimate for each target, the
// gate's Allow and the observer's Observe for the attempt made. Run in
// parallel, it also shows contention on one target's lock.
func BenchmarkViewWarmRequest(b *testing.B) {
	cfg := parse(b, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	v := &health.View{Source: static{cfg}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := v.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v.Usable("prim", "primary")
			v.Usable("back", "backup")
			v.Estimate("prim", "primary")
			v.Estimate("back", "backup")
			v.Allow("prim", "primary")
			v.Observe("prim", "primary", audit.OutcomeOK, 120*time.Millisecond)
		}
	})
}
