package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
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

// chaosLong, set in the environment, makes each chaos run last 10 s and the
// total outage 10 s, instead of a second or two.
const chaosLong = "ROUTER_CHAOS_LONG"

// tally counts what the audit records say of a chaos run.
type tally struct {
	mu       sync.Mutex
	requests int
	// paid counts requests with a failed attempt; failed the attempts.
	paid, failed int
	outcomes     map[string]int
	emitted      chan struct{}
}

func newTally() *tally {
	return &tally{outcomes: map[string]int{}, emitted: make(chan struct{}, 1<<16)}
}

func (s *tally) Emit(r *audit.Record) {
	s.mu.Lock()
	s.requests++
	paid := false
	for _, a := range r.Attempts {
		s.outcomes[a.Outcome]++
		if a.Failed {
			s.failed++
			paid = true
		}
	}
	if paid {
		s.paid++
	}
	s.mu.Unlock()
	s.emitted <- struct{}{}
}

// wait returns once n records were emitted (a stream's record comes after
// its client read the end).
func (s *tally) wait(t *testing.T, n int) {
	t.Helper()
	for {
		s.mu.Lock()
		got := s.requests
		s.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-s.emitted:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d audit records, want %d", got, n)
		}
	}
}

// chaosResult is one request as its client saw it.
type chaosResult struct {
	ok bool
	// content is what the client got (all of it, or before the error).
	content string
	// afterRecovery: the request started after the upstreams recovered.
	afterRecovery bool
	// start and end are when it was sent and when its answer was complete.
	start, end time.Time
}

// chaosScenario scripts the upstreams of one chaos run.
type chaosScenario struct {
	name string
	// primary and backup answer request n (from 1) of each upstream;
	// down tells whether the run is in its outage.
	primary, backup func(n int64, down bool) openaitest.Reply
	// primaryDown: nothing listens at the primary's address.
	primaryDown bool
	// target holds the primary target's settings.
	target   string
	cooldown string
	// streams: every request is a stream (else half are).
	streams bool
	// outage: the run starts with one, then the upstreams recover.
	outage bool
	// cutAfterCommit: the primary fails after its first content, which the
	// client sees (no fallback after the commit).
	cutAfterCommit bool
}

func healthy(int64, bool) openaitest.Reply { return openaitest.Reply{} }

func chaosScenarios() []chaosScenario {
	return []chaosScenario{
		{name: "primary down", primaryDown: true, primary: healthy, backup: healthy},
		{name: "primary flapping", backup: healthy, primary: func(n int64, _ bool) openaitest.Reply {
			// 20 requests served, 20 refused, and so on.
			if (n/20)%2 == 1 {
				return openaitest.Reply{Status: 503}
			}
			return openaitest.Reply{}
		}},
		{name: "primary hangs before headers", target: "first_byte_timeout: 100ms", backup: healthy,
			primary: func(int64, bool) openaitest.Reply { return openaitest.Reply{Hang: true} }},
		{name: "primary hangs after headers", target: "first_byte_timeout: 100ms", backup: healthy,
			primary: func(int64, bool) openaitest.Reply { return openaitest.Reply{HangBody: true} }},
		{name: "primary fails after a role-only chunk", streams: true, backup: healthy,
			primary: func(int64, bool) openaitest.Reply {
				return openaitest.Reply{Text: "one two three", End: openaitest.EndCut, EndAfter: 0}
			}},
		{name: "primary cut mid-stream", streams: true, cutAfterCommit: true, backup: healthy,
			primary: func(int64, bool) openaitest.Reply { return openaitest.Reply{Text: "one two three four", BreakAfter: 2} }},
		{name: "all targets down, then back", outage: true, cooldown: "30s",
			primary: outageReply, backup: outageReply},
	}
}

func outageReply(_ int64, down bool) openaitest.Reply {
	if down {
		return openaitest.Reply{Status: 503}
	}
	return openaitest.Reply{}
}

// TestChaosScenarios puts concurrent load (8 official SDK clients) through
// the router with its health view wired in as in production (breakers on
// the real clock, breaker_failures 3), while the upstreams misbehave as each
// scenario scripts. Whenever a healthy target exists no client may see an
// error (a stream cut after it began is the one documented exception, and
// it is counted exactly); the breaker must keep most requests from paying
// for a failed attempt; and after a total outage, with a 30 s cooldown no
// breaker lets a trial through, every request that starts after the
// upstreams recovered must succeed (the panic path). Each run logs its
// figures: docs/HEALTH.md, "Chaos runs".
func TestChaosScenarios(t *testing.T) {
	run, outage := 1500*time.Millisecond, time.Second
	if os.Getenv(chaosLong) != "" {
		run, outage = 10*time.Second, 10*time.Second
	}
	for _, sc := range chaosScenarios() {
		t.Run(sc.name, func(t *testing.T) {
			runChaos(t, sc, run, outage)
		})
	}
}

func runChaos(t *testing.T, sc chaosScenario, run, outage time.Duration) {
	const (
		workers  = 8
		failures = 3
	)
	var down atomic.Bool
	down.Store(sc.outage)
	var primN, backN atomic.Int64
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return sc.primary(primN.Add(1), down.Load())
	})
	defer prim.Close()
	back := openaitest.NewServer("back", func(openaitest.Received) openaitest.Reply {
		return sc.backup(backN.Add(1), down.Load())
	})
	defer back.Close()
	primURL := prim.BaseURL()
	if sc.primaryDown {
		primURL = openaitest.ClosedURL()
	}
	target := "{model: primary}"
	if sc.target != "" {
		target = "{model: primary, " + sc.target + "}"
	}
	cooldown := sc.cooldown
	if cooldown == "" {
		cooldown = "300ms"
	}
	cfg := twoTargets(primURL, back.BaseURL(), target) +
		fmt.Sprintf("health: {breaker_failures: %d, breaker_cooldown: %s}\n", failures, cooldown)
	stats := newTally()
	var view *health.View
	h := newHarness(t, cfg, upstreamKeys, func(g *gateway.Gateway) {
		// As production wires it: the view is the gateway's health,
		// latency estimator and observer (and so its attempt gate).
		view = &health.View{Source: g.Source, Log: slog.New(slog.DiscardHandler)}
		g.Health, g.Latency, g.Observer = view, view, view
		g.Sink = stats
	})
	if err := view.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}

	var recovered atomic.Bool
	var recoveredAt time.Time
	stop := make(chan struct{})
	go func() {
		if sc.outage {
			<-time.After(outage)
			// The upstreams first, then the mark: a request that sees the
			// mark started after they recovered.
			down.Store(false)
			recoveredAt = time.Now()
			recovered.Store(true)
		}
		<-time.After(run)
		close(stop)
	}()

	results := make(chan chaosResult, 1<<16)
	var wg sync.WaitGroup
	began := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := h.client("unused")
			stream := sc.streams || w%2 == 1
			for {
				select {
				case <-stop:
					return
				default:
				}
				res := chaosResult{afterRecovery: recovered.Load(), start: time.Now()}
				params := openai.ChatCompletionNewParams{Model: "main", Messages: userMessage("hi")}
				if stream {
					s := client.Chat.Completions.NewStreaming(context.Background(), params)
					for s.Next() {
						for _, c := range s.Current().Choices {
							res.content += c.Delta.Content
						}
					}
					res.ok = s.Err() == nil
					_ = s.Close()
				} else {
					got, err := client.Chat.Completions.New(context.Background(), params)
					if res.ok = err == nil; res.ok {
						res.content = got.Choices[0].Message.Content
					}
				}
				res.end = time.Now()
				results <- res
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	close(results)

	var requests, clientErrors, after, failedAfter int
	var cutSeen int
	var firstOK time.Time
	var slowest time.Duration
	for r := range results {
		requests++
		slowest = max(slowest, r.end.Sub(r.start))
		if !r.ok {
			clientErrors++
			if r.content == "one two " {
				cutSeen++
			}
		}
		if r.afterRecovery {
			after++
			if !r.ok {
				failedAfter++
			}
		}
		if sc.outage && r.ok && (firstOK.IsZero() || r.end.Before(firstOK)) {
			firstOK = r.end
		}
	}
	stats.wait(t, requests)
	stats.mu.Lock()
	paid, failed, streamErrors := stats.paid, stats.failed, stats.outcomes[audit.OutcomeStreamError]
	stats.mu.Unlock()

	switch {
	case sc.outage:
		// With a 30 s cooldown no breaker half-opens during the run: only
		// trying every target anyway can have served these.
		if failedAfter != 0 || after == 0 {
			t.Errorf("%d of %d requests started after the recovery failed; want none (and some)", failedAfter, after)
		}
	case sc.cutAfterCommit:
		// The one failure the client sees: the primary's stream broke after
		// its first content. Each such request is counted exactly.
		if clientErrors != streamErrors || cutSeen != clientErrors {
			t.Errorf("%d client errors, %d of them after the primary's content; %d stream_error attempts: want all three equal",
				clientErrors, cutSeen, streamErrors)
		}
	default:
		if clientErrors != 0 {
			t.Errorf("%d of %d requests failed while the backup was healthy", clientErrors, requests)
		}
	}
	if !sc.outage {
		// The breaker opens after `failures` in a row; requests already in
		// flight then pay too; after that only one trial per cooldown.
		cd, err := time.ParseDuration(cooldown)
		if err != nil {
			t.Fatal(err)
		}
		bound := failures + workers - 1 + int(elapsed/cd) + 1
		if sc.name == "primary flapping" {
			// Each recovery closes the breaker: it must open again.
			bound *= 2
		}
		if paid > bound || paid == 0 {
			t.Errorf("%d of %d requests paid for a failed attempt, want 1 to %d", paid, requests, bound)
		}
	}
	recovery := "-"
	if sc.outage {
		first := "none"
		if !firstOK.IsZero() {
			first = firstOK.Sub(recoveredAt).Round(time.Millisecond).String()
		}
		recovery = fmt.Sprintf("%d of %d requests started after the recovery failed; first success %s after it",
			failedAfter, after, first)
	}
	t.Logf("chaos %q: %d requests in %v (slowest %v), %d client errors, %d requests paid for %d failed attempts; recovery: %s",
		sc.name, requests, elapsed.Round(100*time.Millisecond), slowest.Round(time.Millisecond), clientErrors, paid, failed, recovery)
}
