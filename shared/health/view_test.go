package health_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/health"
)

func breakerConfig(primURL, backURL string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY"}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: gpt-4o}
  - {id: backup, provider: back, upstream: gpt-4o-mini}
routes:
  - {name: main, targets: [{model: primary}, {model: backup}]}
health: {breaker_failures: 3, breaker_cooldown: 20s}
`, primURL, backURL)
}

// A warm request makes no AWS call: Usable, Allow, Estimate and Observe work
// in memory, and breaker changes are written in one batch, not per request.
// When the TTL has passed, one request starts one background refresh.
func TestViewWarmPathMakesNoAWSCall(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	v := f.view(cfg, "r")
	ctx := context.Background()
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	base := f.calls.Count()
	for i := 0; i < 1000; i++ {
		v.Usable("prim", "primary")
		v.Allow("prim", "primary")
		v.Estimate("prim", "primary")
		v.Observe("prim", "primary", audit.OutcomeError, 20*time.Millisecond)
		v.Observe("back", "backup", audit.OutcomeOK, 20*time.Millisecond)
	}
	if n := f.calls.Count() - base; n != 0 {
		t.Fatalf("%d AWS calls for 1000 warm requests", n)
	}
	if ok, _ := v.Usable("prim", "primary"); ok {
		t.Fatal("1000 failures did not open the breaker")
	}
	// 1000 failures, one opening: one write at the end of the invocation.
	if err := v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.calls.Count() - base; n != 1 {
		t.Errorf("flush made %d AWS calls, want 1 (the opening)", n)
	}
	if err := v.Flush(ctx); err != nil || f.calls.Count()-base != 1 {
		t.Errorf("a flush with nothing queued made a call (%v)", err)
	}
	// Past the TTL the next request starts one refresh in the background;
	// the other requests meanwhile do not start another.
	f.clock.Advance(6 * time.Second)
	for i := 0; i < 100; i++ {
		v.Usable("back", "backup")
	}
	if err := v.Flush(ctx); err != nil { // waits for the refresh
		t.Fatal(err)
	}
	if n := f.calls.Count() - base; n != 2 {
		t.Errorf("after the TTL: %d calls in all, want 2 (the opening, one Query)", n)
	}
}

// A refresh that fails keeps the last copy: a target marked unhealthy stays
// skipped while the table cannot be read, and the router keeps serving.
func TestViewFailsStatic(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	ctx := context.Background()
	if _, err := f.store.PutHealth(ctx, health.ProbeState{Provider: "prim", Model: "primary", Status: health.StatusUnhealthy,
		CheckedAt: f.clock.Now(), ConsecutiveFailures: 2, Reason: "could not connect (2 failed probes in a row)"}); err != nil {
		t.Fatal(err)
	}
	v := f.view(cfg, "r")
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f.moto.Stop()
	f.clock.Advance(6 * time.Second)
	if err := v.Refresh(ctx); err == nil {
		t.Fatal("a refresh against a stopped moto succeeded")
	}
	if ok, why := v.Usable("prim", "primary"); ok || why != "probe: could not connect (2 failed probes in a row)" {
		t.Errorf("after a failed refresh: usable %v %q, want the last copy", ok, why)
	}
	if ok, _ := v.Usable("back", "backup"); !ok {
		t.Error("a healthy target became unusable")
	}
}

// A probe result older than stale_after no longer keeps a target out: a
// health function that stopped must not freeze its last opinion.
func TestViewIgnoresStaleProbes(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1")+"\n")
	ctx := context.Background()
	if _, err := f.store.PutHealth(ctx, health.ProbeState{Provider: "prim", Model: "primary", Status: health.StatusUnhealthy,
		CheckedAt: f.clock.Now(), Reason: "status 500 (upstream) (2 failed probes in a row)"}); err != nil {
		t.Fatal(err)
	}
	v := f.view(cfg, "r")
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, _ := v.Usable("prim", "primary"); ok {
		t.Fatal("a fresh unhealthy probe was ignored")
	}
	f.clock.Advance(3 * time.Minute) // the default stale_after
	if ok, why := v.Usable("prim", "primary"); !ok {
		t.Errorf("a 3-minute-old probe still excludes the target: %q", why)
	}
	if th := v.TargetHealth("prim", "primary"); th.Status != "healthy" || th.Probe == nil || !th.Probe.Stale {
		t.Errorf("report = %+v", th)
	}
}

// The latency estimate starts from chat probes and follows live traffic;
// failures do not make a target look fast, timeouts make it look slow.
func TestViewLatencyEstimate(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	ctx := context.Background()
	if _, err := f.store.PutHealth(ctx, health.ProbeState{Provider: "prim", Model: "primary", Status: health.StatusHealthy,
		CheckedAt: f.clock.Now(), LatencyMs: 400, Probe: "chat"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutHealth(ctx, health.ProbeState{Provider: "back", Model: "backup", Status: health.StatusHealthy,
		CheckedAt: f.clock.Now(), LatencyMs: 35, Probe: "models"}); err != nil {
		t.Fatal(err)
	}
	v := f.view(cfg, "r")
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if d, ok := v.Estimate("prim", "primary"); !ok || d != 400*time.Millisecond {
		t.Errorf("estimate from a chat probe = %v %v, want 400ms", d, ok)
	}
	// A models listing measures the endpoint, not the model: no estimate.
	if _, ok := v.Estimate("back", "backup"); ok {
		t.Error("a models probe gave a latency estimate")
	}
	// The same probe read again is not counted twice.
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		v.Observe("prim", "primary", audit.OutcomeOK, 100*time.Millisecond)
	}
	if d, _ := v.Estimate("prim", "primary"); d < 99*time.Millisecond || d > 101*time.Millisecond {
		t.Errorf("after 50 answers in 100ms: %v", d)
	}
	for i := 0; i < 50; i++ {
		v.Observe("prim", "primary", audit.OutcomeError, time.Millisecond)
	}
	if d, _ := v.Estimate("prim", "primary"); d < 99*time.Millisecond {
		t.Errorf("fast failures made the target look fast: %v", d)
	}
	v.Observe("prim", "primary", audit.OutcomeFirstByteTimeout, 2*time.Second)
	if d, _ := v.Estimate("prim", "primary"); d < 400*time.Millisecond {
		t.Errorf("a 2 s first-byte timeout moved the estimate only to %v", d)
	}
}

// How each attempt outcome feeds the latency estimate: a time to first byte
// or a timeout's full time always; the time of an attempt that lost a race
// only when above the estimate (it is a lower bound), or when there is none;
// fast failures and verdict-less ends never.
func TestViewLatencyByOutcome(t *testing.T) {
	const (
		never = iota
		always
		above
	)
	tests := []struct {
		outcome string
		use     int
	}{
		{audit.OutcomeOK, always},
		{audit.OutcomeTimeout, always},
		{audit.OutcomeFirstByteTimeout, always},
		{audit.OutcomeOutpaced, above},
		{audit.OutcomeHedgeLost, above},
		{audit.OutcomeError, never},
		{audit.OutcomeRateLimited, never},
		{audit.OutcomeAuthFailed, never},
		{audit.OutcomeModelNotFound, never},
		{audit.OutcomeUnavailable, never},
		{audit.OutcomeStreamError, never},
		{audit.OutcomeIdleTimeout, never},
		{audit.OutcomeRejected, never},
		{audit.OutcomeInvalidOutput, never},
		{audit.OutcomeDeadline, never},
		{audit.OutcomeCancelled, never},
	}
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1"))
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			v := &health.View{Source: static{cfg}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			// No estimate yet.
			v.Observe("prim", "primary", tt.outcome, 300*time.Millisecond)
			if d, ok := v.Estimate("prim", "primary"); ok != (tt.use != never) || (ok && d != 300*time.Millisecond) {
				t.Errorf("first sample: estimate %v %v", d, ok)
			}
			// An estimate of 100ms, then a faster and a slower attempt.
			v = &health.View{Source: static{cfg}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			v.Observe("back", "backup", audit.OutcomeOK, 100*time.Millisecond)
			v.Observe("back", "backup", tt.outcome, 50*time.Millisecond)
			want := 100 * time.Millisecond
			if tt.use == always {
				want = 90 * time.Millisecond // 20 % of the way to 50ms
			}
			if d, _ := v.Estimate("back", "backup"); d != want {
				t.Errorf("after 50ms: %v, want %v", d, want)
			}
			v.Observe("back", "backup", tt.outcome, 300*time.Millisecond)
			if tt.use != never {
				want += (300*time.Millisecond - want) / 5
			}
			if d, _ := v.Estimate("back", "backup"); d != want {
				t.Errorf("after 300ms: %v, want %v", d, want)
			}
		})
	}
}

// When every candidate is out the request path may still try an open
// target. Its failure changes nothing and writes nothing; its success
// closes the breaker, the closing is written to the state table, and
// another router that had adopted the opening closes its breaker too.
func TestSuccessWhileOpenClosesSharedBreaker(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, breakerConfig("http://127.0.0.1:1/v1", "http://127.0.0.1:1/v1")) // breaker_failures: 3, cooldown 20s
	a, b := f.view(cfg, "router-a"), f.view(cfg, "router-b")
	ctx := context.Background()
	for _, v := range []*health.View{a, b} {
		if err := v.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		a.Observe("prim", "primary", audit.OutcomeError, 20*time.Millisecond)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, why := b.Usable("prim", "primary"); ok || !strings.Contains(why, "another router") {
		t.Fatalf("b did not adopt a's opening: %v %q", ok, why)
	}

	// Within the cooldown (and the TTL: no refresh), neither gate admits
	// it; a forced attempt fails.
	f.clock.Advance(4 * time.Second)
	if a.Allow("prim", "primary") || b.Allow("prim", "primary") {
		t.Fatal("an open breaker admitted an attempt")
	}
	until := a.TargetHealth("prim", "primary").Breaker.OpenUntil
	calls := f.calls.Count()
	a.Observe("prim", "primary", audit.OutcomeRateLimited, 20*time.Millisecond)
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	th := a.TargetHealth("prim", "primary")
	if th.Breaker.State != health.BreakerOpen || th.Breaker.OpenUntil == nil || !th.Breaker.OpenUntil.Equal(*until) ||
		th.Breaker.ConsecutiveFailures != 3 || f.calls.Count() != calls {
		t.Fatalf("a failure while open changed the breaker or wrote: %+v, %d calls", th.Breaker, f.calls.Count()-calls)
	}

	// A forced attempt succeeds: a's breaker closes at once.
	a.Observe("prim", "primary", audit.OutcomeOK, 20*time.Millisecond)
	if ok, why := a.Usable("prim", "primary"); !ok || !a.Allow("prim", "primary") || !a.Allow("prim", "primary") {
		t.Fatalf("a after the success: usable %v %q; want closed, not half-open", ok, why)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := f.store.ReadHealthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Breakers) != 1 || st.Breakers[0].State != health.BreakerClosed || st.Breakers[0].Router != "router-a" ||
		!st.Breakers[0].ClosedAt.Equal(f.clock.Now()) {
		t.Fatalf("shared breakers = %+v, want a's closing at %v", st.Breakers, f.clock.Now())
	}

	// b adopts the closing on its next refresh, long before its cooldown ends.
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, why := b.Usable("prim", "primary"); !ok || !b.Allow("prim", "primary") || !b.Allow("prim", "primary") {
		t.Errorf("b after a's closing: usable %v %q; want closed, not half-open", ok, why)
	}
	if th := b.TargetHealth("prim", "primary"); th.Status != health.StatusHealthy || th.Breaker.State != health.BreakerClosed {
		t.Errorf("b's report = %+v", th)
	}
}
