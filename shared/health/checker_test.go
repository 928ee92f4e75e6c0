package health_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
)

var keys = map[string]string{"PRIM_KEY": "sk-prim-0001", "BACK_KEY": "sk-back-0002"}

// probeOrLive tells the health function's one-token probe from a live request.
func isProbe(r openaitest.Received) bool { return strings.Contains(string(r.Body), `"ping"`) }

func liveCalls(s *openaitest.Server) int {
	n := 0
	for _, r := range s.Received() {
		if !isProbe(r) {
			n++
		}
	}
	return n
}

// switchable is an upstream that can be taken down and brought back.
type switchable struct {
	*openaitest.Server
	down atomic.Bool
}

func newSwitchable(name string) *switchable {
	s := &switchable{}
	s.Server = openaitest.NewServer(name, func(openaitest.Received) openaitest.Reply {
		if s.down.Load() {
			return openaitest.Reply{Status: 503, ErrMessage: "overloaded, the prompt was: live question"}
		}
		return openaitest.Reply{}
	})
	return s
}

func routeConfig(primURL, backURL, goneURL string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY", probe: chat}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
  - {name: gone, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: gpt-4o}
  - {id: backup, provider: back, upstream: gpt-4o-mini}
  - {id: elsewhere, provider: gone}
routes:
  - {name: main, targets: [{model: primary}, {model: backup}]}
health: {unhealthy_after: 2, healthy_after: 2}
`, primURL, backURL, goneURL)
}

// The health function marks a provider that goes down unhealthy after N
// rounds, routers skip it once their cache has the news, and M good rounds
// after it comes back it is healthy and serves again. A chat probe (primary)
// and a models probe of an endpoint nobody answers (elsewhere) both count.
func TestProbesDownAndBackUp(t *testing.T) {
	f := newFixture(t)
	prim := newSwitchable("prim")
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	cfg := parse(t, routeConfig(prim.BaseURL(), back.BaseURL(), openaitest.ClosedURL()))
	chk := f.checker(cfg, keys)
	var metrics bytes.Buffer
	chk.Metrics, chk.Namespace = &metrics, "Test"
	r := newRouter(t, cfg, f.view(cfg, "router-a"), keys)
	ctx := context.Background()

	var last health.Report
	round := func(wantFailed int) {
		t.Helper()
		metrics.Reset()
		rep, err := chk.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = rep
		// prim: one chat probe of its model; back and gone: a models probe each.
		if rep.Probes != 3 || rep.Failed != wantFailed || rep.Written != 3 || len(rep.Errors) != 0 {
			t.Fatalf("round = %+v, want 3 probes, %d failed, 3 written", rep, wantFailed)
		}
		f.clock.Advance(30 * time.Second)
		if err := r.view.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	item := func(provider, model string) dynamo.Health {
		t.Helper()
		h, found, err := f.store.GetHealth(ctx, provider, model)
		if err != nil || !found {
			t.Fatalf("health of %s/%s: found %v, %v", provider, model, found, err)
		}
		return h
	}

	round(1) // only gone fails: nothing listens there
	if h := item("prim", "primary"); h.Status != dynamo.StatusHealthy || h.Probe != health.ProbeChat || h.LatencyMs <= 0 {
		t.Errorf("primary after a good round = %+v", h)
	}
	if status, served, _ := r.chat(t, "main"); status != 200 || served != "primary" {
		t.Fatalf("healthy: %d served by %q", status, served)
	}

	prim.down.Store(true)
	round(2)
	if h := item("prim", "primary"); h.Status != dynamo.StatusHealthy || h.ConsecutiveFailures != 1 {
		t.Errorf("after one failed probe = %+v, want still healthy with 1 failure", h)
	}
	round(2)
	h := item("prim", "primary")
	if h.Status != dynamo.StatusUnhealthy || h.ConsecutiveFailures != 2 || h.Reason != "status 503 (overloaded) (2 failed probes in a row)" {
		t.Errorf("after N failed probes = %+v", h)
	}
	if strings.Contains(h.Reason, "live question") {
		t.Error("the reason quotes the upstream's message")
	}
	// The round's status counts, as the dashboard's EMF lines.
	if last.Counts != (audit.HealthCounts{Healthy: 1, Unhealthy: 2}) {
		t.Errorf("counts = %+v, want 1 healthy and 2 unhealthy", last.Counts)
	}
	for _, want := range []string{`"Status":"healthy","HealthTargets":1}`, `"Status":"degraded","HealthTargets":0}`,
		`"Status":"unhealthy","HealthTargets":2}`, `"Namespace":"Test"`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics.String())
		}
	}
	if g := item("gone", "elsewhere"); g.Status != dynamo.StatusUnhealthy || g.Reason != "could not connect (3 failed probes in a row)" || g.Probe != health.ProbeModels {
		t.Errorf("unreachable provider = %+v", g)
	}

	// The router skips it: the backup serves, the primary sees no live request.
	before := liveCalls(prim.Server)
	for i := 0; i < 5; i++ {
		status, served, rec := r.chat(t, "main")
		if status != 200 || served != "backup" || len(rec.Attempts) != 1 {
			t.Fatalf("primary unhealthy: %d served by %q attempts %+v", status, served, rec.Attempts)
		}
	}
	if n := liveCalls(prim.Server) - before; n != 0 {
		t.Errorf("the unhealthy primary got %d live requests", n)
	}
	cands, excluded, _ := r.explain(t, "main")
	if len(cands) != 1 || cands[0] != "backup" || len(excluded) != 1 ||
		excluded[0]["reason"] != "unhealthy: probe: status 503 (overloaded) (2 failed probes in a row)" {
		t.Errorf("explain: candidates %v excluded %v", cands, excluded)
	}
	// A model whose every target is unhealthy answers 502 naming why.
	if status, _, rec := r.chat(t, "elsewhere"); status != 502 || rec.ErrorCode != "all_targets_failed" {
		t.Errorf("only target unhealthy: %d %q", status, rec.ErrorCode)
	}

	// Back up: one good probe is not enough (M = 2).
	prim.down.Store(false)
	round(1)
	if h := item("prim", "primary"); h.Status != dynamo.StatusUnhealthy || h.Reason != "recovering: 1 of 2 good probes" {
		t.Errorf("after one good probe = %+v", h)
	}
	if _, served, _ := r.chat(t, "main"); served != "backup" {
		t.Errorf("recovering primary served a request")
	}
	round(1)
	if h := item("prim", "primary"); h.Status != dynamo.StatusHealthy || h.ConsecutiveSuccesses != 2 {
		t.Errorf("after M good probes = %+v", h)
	}
	if status, served, _ := r.chat(t, "main"); status != 200 || served != "primary" {
		t.Errorf("recovered: %d served by %q, want primary", status, served)
	}

	// GET /v1/router/health shows it all.
	var report struct {
		Data []struct {
			Provider, Model, Status, Reason string
			Probe                           *gateway.ProbeHealth
			Breaker                         gateway.BreakerHealth
			LatencyEstimateMs               *float64 `json:"latency_estimate_ms"`
		}
	}
	r.get(t, "/v1/router/health", &report)
	got := map[string]string{}
	for _, d := range report.Data {
		got[d.Model] = d.Status
		switch d.Model {
		case "primary":
			if d.Probe == nil || d.Probe.Status != "healthy" || d.Breaker.State != "closed" || d.LatencyEstimateMs == nil {
				t.Errorf("primary report = %+v", d)
			}
		case "elsewhere":
			if d.Probe == nil || !strings.Contains(d.Reason, "could not connect") {
				t.Errorf("elsewhere report = %+v", d)
			}
		}
	}
	if got["primary"] != "healthy" || got["backup"] != "healthy" || got["elsewhere"] != "unhealthy" {
		t.Errorf("health statuses = %v", got)
	}
}

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
		gate.Store(newBarrier(2)) // neither probe answers before both were sent
		var ra, rb health.Report
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); ra, _ = a.Round(ctx) }()
		go func() { defer wg.Done(); rb, _ = b.Round(ctx) }()
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
		wantStatus := dynamo.StatusHealthy
		if round == 3 {
			wantStatus = dynamo.StatusUnhealthy
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
	if err != nil || h.Version != 3 || h.Status != dynamo.StatusHealthy || h.Probe != health.ProbeModels {
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
