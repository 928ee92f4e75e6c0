package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// fakeClock is the health view's clock, moved by the test, so breaker
// cooldowns pass when the test says and not with the machine's speed.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestChaosPrimaryOutage puts bounded concurrent load through the router
// (8 clients, official SDK) while the primary answers 503 to everything for
// a while, then recovers. No client may see an error while the backup is
// healthy; the breaker must stop the primary from costing every request a
// failed attempt; and after recovery the primary must serve again. It
// reports how many requests paid for a failed attempt.
func TestChaosPrimaryOutage(t *testing.T) {
	const (
		workers  = 8
		failures = 3 // breaker_failures
		cooldown = 2 * time.Second
	)
	var failing atomic.Bool
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		if failing.Load() {
			return openaitest.Reply{Status: 503}
		}
		return openaitest.Reply{}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	cfgYAML := twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary}") +
		fmt.Sprintf("health: {breaker_failures: %d, breaker_cooldown: %s}\n", failures, cooldown)
	h := newHarness(t, cfgYAML, upstreamKeys)
	clock := &fakeClock{}
	clock.Advance(time.Hour)
	view := &health.View{Source: h.gw.Source, Now: clock.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := view.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.gw.Health, h.gw.Latency, h.gw.Observer = view, view, view
	client := h.client("unused")

	// load sends n requests from the workers; after each, tick (if set) may
	// move the clock. It returns the models that served, and counts errors.
	var clientErrors atomic.Int64
	load := func(n int, tick func(done int64)) map[string]int {
		var next, done atomic.Int64
		served := make(chan string, n)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					got, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
						Model: "main", Messages: userMessage("hi")})
					if err != nil {
						clientErrors.Add(1)
						t.Errorf("client error: %v", err)
					} else {
						served <- got.Model
					}
					if d := done.Add(1); tick != nil {
						tick(d)
					}
				}
			}()
		}
		wg.Wait()
		close(served)
		out := map[string]int{}
		for m := range served {
			out[m]++
		}
		return out
	}
	// paid counts the audit records of requests with a failed attempt.
	records := func(n int) (paid, attempts int) {
		for i := 0; i < n; i++ {
			rec := h.audit.next(t)
			attempts += len(rec.Attempts)
			for _, a := range rec.Attempts {
				if a.Outcome != audit.OutcomeOK {
					paid++
					break
				}
			}
		}
		return paid, attempts
	}

	// Healthy: the primary serves everything.
	if got := load(200, nil); got["primary"] != 200 {
		t.Fatalf("healthy phase served by %v", got)
	}
	records(200)

	// Outage: 600 requests; the clock passes a cooldown every 100, so the
	// breaker goes half-open and sends a trial five times during it.
	failing.Store(true)
	const outage = 600
	got := load(outage, func(done int64) {
		if done%100 == 0 {
			clock.Advance(cooldown)
		}
	})
	if got["backup"] != outage {
		t.Errorf("outage phase served by %v, want the backup for all %d", got, outage)
	}
	paid, attempts := records(outage)
	trials := outage/100 - 1 // cooldowns passed while requests still came
	// Before the breaker opens, the first breaker_failures requests fail on
	// the primary, and at most workers-1 others were already on their way;
	// afterwards, one trial per cooldown (plus those in flight when it ended).
	if bound := failures + workers - 1 + trials*workers; paid > bound {
		t.Errorf("%d of %d requests paid for a failed attempt, want at most %d", paid, outage, bound)
	}
	if paid < failures {
		t.Errorf("only %d requests paid: the primary was never tried", paid)
	}
	t.Logf("outage: %d of %d requests paid for a failed attempt on the primary (%d attempts in all; without a breaker every request would: %d)",
		paid, outage, attempts, outage)
	if th := view.TargetHealth("prim", "primary"); th.Status != gateway.StatusUnhealthy {
		t.Errorf("during the outage the primary's health is %+v", th)
	}

	// Recovery: after the cooldown a trial succeeds and the primary is back.
	// While the trial is in flight the other clients keep going to the
	// backup (how many depends on the trial's speed); once it succeeded,
	// every request goes to the primary.
	failing.Store(false)
	clock.Advance(cooldown)
	got = load(200, nil)
	if got["primary"] == 0 {
		t.Errorf("after recovery served by %v: the primary did not get its traffic back", got)
	}
	records(200)
	if got := load(200, nil); got["primary"] != 200 {
		t.Errorf("once the trial succeeded, served by %v; want the primary for all", got)
	}
	records(200)
	if clientErrors.Load() != 0 {
		t.Errorf("%d client errors while a healthy backup existed", clientErrors.Load())
	}
	if th := view.TargetHealth("prim", "primary"); th.Status != gateway.StatusHealthy || th.Breaker.State != "closed" {
		t.Errorf("after recovery the primary's health is %+v", th)
	}
}
