package health_test

import (
	"context"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/health"
)

// The latest benchmark results, read with the health partition, are the
// latency estimate and the conditions' figures of a target without live
// samples; live samples replace them; GET /v1/router/health shows them;
// once they expire they stop counting at the next refresh.
func TestViewBenchmarkPrior(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	ctx := context.Background()
	run := f.clock.Now().Add(-24 * time.Hour).Truncate(time.Millisecond)
	for _, b := range []health.BenchmarkResult{
		{Provider: "prim", Model: "primary", RunAt: run, RunID: "r1", Requests: 9, ErrorRate: 1.0 / 9, Checked: 6, PassRate: 0.5,
			TTFTMs: 640, P50Ms: 900, P90Ms: 1500},
		{Provider: "back", Model: "backup", RunAt: run, RunID: "r1", Requests: 9, TTFTMs: 210, P50Ms: 300, P90Ms: 420},
	} {
		if err := f.store.PutBenchmark(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	v := f.view(cfg, "r")
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := v.Estimate("prim", "primary"); !ok || d != 640*time.Millisecond {
		t.Errorf("primary's estimate = %v %v, want the benchmark's 640ms ttft", d, ok)
	}
	if d, ok := v.Estimate("back", "backup"); !ok || d != 210*time.Millisecond {
		t.Errorf("backup's estimate = %v %v, want 210ms", d, ok)
	}
	if d, ok := v.P90("prim", "primary"); !ok || d != 1500*time.Millisecond {
		t.Errorf("primary's p90 = %v %v", d, ok)
	}
	if r, ok := v.ErrorRate("prim", "primary"); !ok || r != 1.0/9 {
		t.Errorf("primary's error rate = %v %v", r, ok)
	}
	th := v.TargetHealth("prim", "primary")
	if th.Benchmark == nil || th.Benchmark.TTFTMs != 640 || th.Benchmark.PassRate == nil || *th.Benchmark.PassRate != 0.5 ||
		!th.Benchmark.RunAt.Equal(run) || th.LatencyEstimateMs != nil {
		t.Errorf("primary's health = %+v, benchmark %+v", th, th.Benchmark)
	}
	if th := v.TargetHealth("back", "backup"); th.Benchmark == nil || th.Benchmark.PassRate != nil {
		t.Errorf("backup's benchmark %+v: no prompt was checked, so no pass rate", th.Benchmark)
	}

	// Live traffic wins over the benchmark.
	v.Observe("prim", "primary", audit.OutcomeOK, 100*time.Millisecond)
	if d, _ := v.Estimate("prim", "primary"); d != 100*time.Millisecond {
		t.Errorf("after a live answer in 100ms the estimate is %v", d)
	}

	// Five weeks after the run the results no longer count.
	f.clock.Advance(35 * 24 * time.Hour)
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := v.Estimate("back", "backup"); ok {
		t.Errorf("an expired benchmark still gives an estimate: %v", d)
	}
	if th := v.TargetHealth("back", "backup"); th.Benchmark != nil {
		t.Errorf("an expired benchmark is still shown: %+v", th.Benchmark)
	}
}
