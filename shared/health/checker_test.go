package health_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
)

var keys = map[string]string{"PRIM_KEY": "sk-prim-0001", "BACK_KEY": "sk-back-0002"}

// Two invocations overlap (a late schedule, a retry): both read the table,
// both probe the same failing target at the same time, both write. The
// version condition makes one of them re-read, find this round already
// recorded and leave it: the round counts once toward N, never twice.
func TestOverlappingInvocations(t *testing.T) {
	f := newFixture(t)
	var gate atomic.Pointer[barrier]
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		gate.Load().wait()
		return openaitest.Reply{Status: 503}
	})
	defer prim.Close()
	cfg := parse(t, fmt.Sprintf(`
providers: [{name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY", probe: chat}]
models: [{id: primary, provider: prim}]
health: {unhealthy_after: 3}
`, prim.BaseURL()))
	a, b := f.checker(cfg, keys), f.checker(cfg, keys)
	ctx := context.Background()
	overlap := func() (health.Report, health.Report) {
		g := newBarrier(2) // neither probe answers before both were sent
		gate.Store(g)
		var ra, rb health.Report
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); ra, _ = a.Round(ctx); g.firstDone() }()
		go func() { defer wg.Done(); rb, _ = b.Round(ctx); g.firstDone() }()
		wg.Wait()
		return ra, rb
	}
	for round := 1; round <= 3; round++ {
		ra, rb := overlap()
		if ra.Written+rb.Written != 1 || ra.Skipped+rb.Skipped != 1 || ra.Conflicts+rb.Conflicts != 1 ||
			len(ra.Errors)+len(rb.Errors) != 0 {
			t.Fatalf("round %d: reports %+v and %+v; want one write, one conflict then skip", round, ra, rb)
		}
		h, _, err := f.store.GetHealth(ctx, "prim", "primary")
		if err != nil {
			t.Fatal(err)
		}
		if h.Version != int64(round) || h.ConsecutiveFailures != round {
			t.Fatalf("round %d: version %d failures %d; each round must count once", round, h.Version, h.ConsecutiveFailures)
		}
		wantStatus := health.StatusHealthy
		if round == 3 {
			wantStatus = health.StatusUnhealthy
		}
		if h.Status != wantStatus {
			t.Errorf("round %d: status %s, want %s", round, h.Status, wantStatus)
		}
		f.clock.Advance(30 * time.Second)
	}
	// A late invocation whose probe started less than half an interval after
	// the last write leaves the item alone without even a conflict.
	f.clock.Advance(-20 * time.Second)
	gate.Store(newBarrier(1))
	rep, err := a.Round(ctx)
	if err != nil || rep.Written != 0 || rep.Skipped != 1 || rep.Conflicts != 0 {
		t.Errorf("late duplicate round = %+v, %v; want skipped", rep, err)
	}
}

// Run is one invocation: rounds Interval apart while the next round (its
// probe timeout and writes) fits before the invocation's deadline.
func TestRunStopsBeforeTheDeadline(t *testing.T) {
	f := newFixture(t)
	prim := openaitest.NewServer("prim", nil)
	defer prim.Close()
	cfg := parse(t, fmt.Sprintf(`
providers: [{name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY"}]
models: [{id: primary, provider: prim}]
health: {probe_timeout: 200ms}
`, prim.BaseURL()))
	chk := f.checker(cfg, keys)
	chk.Now = nil // rounds are real time apart here
	chk.Interval = 500 * time.Millisecond
	// Rounds start at 0, 0.5 s, 1 s...; one fits while start + 200ms probe
	// timeout + 2 s for writes < 3.3 s: the rounds at 0, 0.5 and 1 s.
	ctx, cancel := context.WithTimeout(context.Background(), 3300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := chk.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Run used the whole invocation (%v): it must stop before the deadline", time.Since(start))
	}
	h, _, err := f.store.GetHealth(context.Background(), "prim", "primary")
	if err != nil || h.Version != 3 || h.Status != health.StatusHealthy || h.Probe != health.ProbeModels {
		t.Errorf("after Run: %+v, %v; want 3 rounds written", h, err)
	}
	// The period bounds it too: a 1.2 s schedule fits rounds at 0, 0.5 and 1 s.
	// (Its clock runs an hour ahead, or its first round, right after the
	// last one above, would be left as a duplicate of it.)
	chk.Period = 1200 * time.Millisecond
	chk.Now = func() time.Time { return time.Now().Add(time.Hour) }
	if err := chk.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h, _, _ := f.store.GetHealth(context.Background(), "prim", "primary"); h.Version != 6 {
		t.Errorf("after a 1.2 s period: version %d, want 6", h.Version)
	}
}

// A configuration whose store cannot be read fails the round, and Run
// reports it, so the Lambda's Errors metric shows a broken health function.
func TestRunFailsWhenNothingCanBeRead(t *testing.T) {
	f := newFixture(t)
	cfg := parse(t, `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim}]
`)
	chk := f.checker(cfg, nil)
	chk.Store = &dynamo.StateStore{DB: f.db, Table: "no-such-table"}
	chk.Period = time.Millisecond
	if err := chk.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "read state") {
		t.Errorf("Run = %v, want a read failure", err)
	}
}
