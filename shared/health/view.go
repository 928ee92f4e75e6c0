package health

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/config"
)

// Store is the shared health a router reads and reports its breakers to
// (the state table).
type Store interface {
	// ReadHealthState reads every probe state and shared breaker.
	ReadHealthState(ctx context.Context) (Snapshot, error)
	// OpenBreaker reports an opening; applied is false when a report
	// already holds an opening that ends later.
	OpenBreaker(ctx context.Context, b SharedBreaker) (applied bool, err error)
	// CloseBreaker reports a closing that ends the opening made at since;
	// applied is false when a newer opening was reported meanwhile.
	CloseBreaker(ctx context.Context, b SharedBreaker, since time.Time) (applied bool, err error)
}

// Defaults of View.
const (
	// DefaultTTL is how long a router trusts its copy of the shared health
	// (ROUTER_CACHE_TTL's default).
	DefaultTTL = 5 * time.Second
	// DefaultRefreshTimeout bounds one refresh.
	DefaultRefreshTimeout = 2 * time.Second
)

// View is a router's health: the probe results of the state table, read
// through a cache, and per target a circuit breaker and a latency estimate
// kept from live traffic. It is the gateway's Health, Latency and Observer.
//
// A request never waits on AWS for it: Usable, Allow, Estimate and Observe
// work in memory. When the copy is older than TTL, the first caller starts
// one refresh in the background (others keep the old copy; a refresh that
// fails keeps it too) that first writes the breaker changes queued since
// the last one, then reads the whole health partition with one Query. On
// Lambda, where a frozen environment runs no goroutine, Flush at the end of
// each invocation waits for that refresh and writes what is still queued.
type View struct {
	// Source gives the configuration whose health policy applies (required).
	Source ConfigSource
	// Store is the state table; nil keeps everything local to this router
	// (the local server with a file configuration).
	Store Store
	// TTL is how long the copy is trusted (default DefaultTTL).
	TTL time.Duration
	// RefreshTimeout bounds a refresh (default DefaultRefreshTimeout).
	RefreshTimeout time.Duration
	// ID names this router instance in the breaker items it writes (default random).
	ID string
	// Log receives breaker changes and refresh failures (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	policy  atomic.Pointer[config.HealthPolicy]
	probes  atomic.Pointer[map[target]ProbeState]
	benches atomic.Pointer[map[target]BenchmarkResult]
	mu      sync.RWMutex
	targets map[target]*targetState

	next       atomic.Int64 // when the copy goes stale, Unix nanoseconds
	refreshing atomic.Bool
	refreshMu  sync.Mutex // serialises refreshes
	doneMu     sync.Mutex
	done       chan struct{} // closed when the background refresh ends
	failures   atomic.Int64  // consecutive failed refreshes

	pendingMu sync.Mutex
	pending   map[target]pendingChange

	idOnce sync.Once
	id     string
}

// targetState is what a router keeps of one target.
type targetState struct {
	mu  sync.Mutex
	br  breaker
	lat ewma
	// recent is the latest attempts with a verdict, for conditions.
	recent recent
	// probeFolded is the checked_at of the last probe folded into lat.
	probeFolded time.Time
}

// pendingChange is a breaker change waiting to be written.
type pendingChange struct {
	kind  change
	b     SharedBreaker
	since time.Time
}

func (v *View) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *View) log() *slog.Logger {
	if v.Log != nil {
		return v.Log
	}
	return slog.Default()
}

func (v *View) ttl() time.Duration {
	if v.TTL > 0 {
		return v.TTL
	}
	return DefaultTTL
}

func (v *View) instance() string {
	v.idOnce.Do(func() {
		v.id = v.ID
		if v.id == "" {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			v.id = hex.EncodeToString(b)
		}
	})
	return v.id
}

// pol is the health policy in force, with defaults.
func (v *View) pol() *config.HealthPolicy {
	if p := v.policy.Load(); p != nil {
		return p
	}
	p := config.HealthPolicy{}.WithDefaults()
	return &p
}

func (v *View) get(k target) *targetState {
	v.mu.RLock()
	s := v.targets[k]
	v.mu.RUnlock()
	return s
}

func (v *View) getOrCreate(k target) *targetState {
	if s := v.get(k); s != nil {
		return s
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s := v.targets[k]; s != nil {
		return s
	}
	if v.targets == nil {
		v.targets = make(map[target]*targetState)
	}
	s := &targetState{}
	v.targets[k] = s
	return s
}

// probe returns the target's probe result, and whether it still counts.
func (v *View) probe(k target, now time.Time, p *config.HealthPolicy) (h ProbeState, found, fresh bool) {
	m := v.probes.Load()
	if m == nil {
		return h, false, false
	}
	h, found = (*m)[k]
	return h, found, found && now.Sub(h.CheckedAt) < p.StaleAfter.D()
}

// Usable reports whether the planner may include the target: not when its
// last probe (if recent enough to count) says unhealthy, nor while its
// breaker is open or half-open with a trial in flight.
func (v *View) Usable(provider, model string) (bool, string) {
	now := v.now()
	v.maybeRefresh(now)
	p := v.pol()
	k := target{provider, model}
	if h, _, fresh := v.probe(k, now, p); fresh && h.Status == StatusUnhealthy {
		return false, "probe: " + h.Reason
	}
	s := v.get(k)
	if s == nil {
		return true, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.br.usable(now, p)
}

// Allow admits an attempt about to start: a half-open breaker lets one
// trial through at a time. An attempt made without asking, or despite a
// refusal (every candidate was out), is still reported to Observe.
func (v *View) Allow(provider, model string) bool {
	s := v.get(target{provider, model})
	if s == nil {
		return true
	}
	now := v.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.br.allow(now, v.pol())
}

// Estimate is the target's recent latency: a moving average of the time to
// first byte of its live attempts (a timeout counts as its full time, an
// attempt that lost a race as at least the time it had run), seeded and
// refreshed by its chat probes.
func (v *View) Estimate(provider, model string) (time.Duration, bool) {
	if s := v.get(target{provider, model}); s != nil {
		s.mu.Lock()
		n, est := s.lat.n, s.lat.v
		s.mu.Unlock()
		if n > 0 {
			return durationOfMs(est), true
		}
	}
	// No live sample yet: the latest benchmark run's time to first token is
	// the prior, so a route starts in the order the benchmarks found.
	if b, ok := v.benchmark(provider, model); ok && b.TTFTMs > 0 {
		return durationOfMs(b.TTFTMs), true
	}
	return 0, false
}

// benchmark is the target's latest benchmark result, if a run measured it.
func (v *View) benchmark(provider, model string) (BenchmarkResult, bool) {
	m := v.benches.Load()
	if m == nil {
		return BenchmarkResult{}, false
	}
	b, ok := (*m)[target{provider, model}]
	return b, ok
}

// Observe learns an attempt's outcome, whether Allow admitted it or not: it
// feeds the target's latency estimate and breaker at once, and queues a
// breaker change for the other routers. A success closes the breaker even
// while it is open; a failure while it is open changes nothing.
func (v *View) Observe(provider, model, outcome string, latency time.Duration) {
	now := v.now()
	p := v.pol()
	k := target{provider, model}
	s := v.getOrCreate(k)
	x := ms(latency)
	s.mu.Lock()
	switch latencyUse(outcome) {
	case sample:
		s.lat.add(x, latencyAlpha)
	case lowerBound:
		// By how much it would have been slower is unknown: only a time
		// above the estimate says something. Without an estimate it is the
		// best known, and keeps a target that only loses races from going
		// first for want of one.
		if s.lat.n == 0 || x > s.lat.v {
			s.lat.add(x, latencyAlpha)
		}
	}
	switch classify(outcome) {
	case success:
		s.recent.add(now, x, false)
	case failure:
		s.recent.add(now, x, true)
	}
	ch := s.br.observe(now, outcome, p)
	var pc pendingChange
	switch ch {
	case opened:
		pc = pendingChange{kind: opened, b: SharedBreaker{Provider: provider, Model: model, State: BreakerOpen,
			OpenedAt: s.br.openedAt, OpenUntil: s.br.until, Failures: s.br.failures, Reason: s.br.reason, Router: v.instance()}}
	case closed:
		pc = pendingChange{kind: closed, since: s.br.openedAt, b: SharedBreaker{Provider: provider, Model: model,
			State: BreakerClosed, ClosedAt: now, Router: v.instance()}}
	}
	s.mu.Unlock()
	switch ch {
	case opened:
		v.log().Warn("circuit breaker opened", "provider", provider, "model", model, "reason", pc.b.Reason,
			"cooldown", p.BreakerCooldown.D().String())
	case closed:
		v.log().Info("circuit breaker closed", "provider", provider, "model", model)
	}
	if ch != unchanged && v.Store != nil {
		v.pendingMu.Lock()
		if v.pending == nil {
			v.pending = make(map[target]pendingChange)
		}
		v.pending[k] = pc // the latest change of a target is the one that matters
		v.pendingMu.Unlock()
	}
}

// maybeRefresh starts a background refresh when the copy is stale and none
// is under way.
func (v *View) maybeRefresh(now time.Time) {
	if now.UnixNano() < v.next.Load() || !v.refreshing.CompareAndSwap(false, true) {
		return
	}
	v.next.Store(now.Add(v.ttl()).UnixNano())
	done := make(chan struct{})
	v.doneMu.Lock()
	v.done = done
	v.doneMu.Unlock()
	go func() {
		defer close(done)
		defer v.refreshing.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), v.refreshTimeout())
		defer cancel()
		_ = v.Refresh(ctx)
	}()
}

func (v *View) refreshTimeout() time.Duration {
	if v.RefreshTimeout > 0 {
		return v.RefreshTimeout
	}
	return DefaultRefreshTimeout
}

// Refresh writes the queued breaker changes, reloads the policy, and reads
// the shared health: probe results, and openings and closings other routers
// reported. A read that fails keeps the previous copy (fail static).
func (v *View) Refresh(ctx context.Context) error {
	v.refreshMu.Lock()
	defer v.refreshMu.Unlock()
	now := v.now()
	v.next.Store(now.Add(v.ttl()).UnixNano())
	var errs []error
	if err := v.flushPending(ctx); err != nil {
		errs = append(errs, err)
	}
	if v.Source != nil {
		cfg, err := v.Source.Config(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			p := cfg.Health.WithDefaults()
			v.policy.Store(&p)
		}
	}
	if v.Store == nil {
		return errors.Join(errs...)
	}
	st, err := v.Store.ReadHealthState(ctx)
	if err != nil {
		if n := v.failures.Add(1); n == 1 || n%100 == 0 {
			v.log().Error("health refresh failed; keeping the last copy", "consecutive_failures", n, "error", err)
		}
		return errors.Join(append(errs, err)...)
	}
	if v.failures.Swap(0) > 0 {
		v.log().Info("health refresh recovered")
	}
	probes := make(map[target]ProbeState, len(st.Probes))
	for _, h := range st.Probes {
		if h.Model == "" {
			continue
		}
		k := target{h.Provider, h.Model}
		probes[k] = h
		// A chat probe is a one-token completion: a fair sample of the
		// target's speed, and the only one a target without traffic gets.
		if h.Probe == ProbeChat && h.ConsecutiveFailures == 0 && h.Status != StatusUnhealthy {
			s := v.getOrCreate(k)
			s.mu.Lock()
			if h.CheckedAt.After(s.probeFolded) {
				s.lat.add(h.LatencyMs, latencyAlpha)
				s.recent.add(h.CheckedAt, h.LatencyMs, false)
				s.probeFolded = h.CheckedAt
			}
			s.mu.Unlock()
		}
	}
	self := v.instance()
	for _, b := range st.Breakers {
		if b.Router == self {
			continue
		}
		s := v.getOrCreate(target{b.Provider, b.Model})
		s.mu.Lock()
		s.br.adopt(b, now)
		s.mu.Unlock()
	}
	v.probes.Store(&probes)
	// Replaced whole, so a result that expired (its model left the
	// configuration, or the runs stopped) stops steering this router too.
	benches := make(map[target]BenchmarkResult, len(st.Benchmarks))
	for _, b := range st.Benchmarks {
		benches[target{b.Provider, b.Model}] = b
	}
	v.benches.Store(&benches)
	return errors.Join(errs...)
}

// flushPending writes the queued breaker changes. A write that fails is
// queued again unless a newer change of the same target replaced it.
func (v *View) flushPending(ctx context.Context) error {
	if v.Store == nil {
		return nil
	}
	v.pendingMu.Lock()
	pend := v.pending
	v.pending = nil
	v.pendingMu.Unlock()
	var errs []error
	for k, pc := range pend {
		var err error
		switch pc.kind {
		case opened:
			_, err = v.Store.OpenBreaker(ctx, pc.b)
		case closed:
			_, err = v.Store.CloseBreaker(ctx, pc.b, pc.since)
		}
		if err != nil {
			errs = append(errs, err)
			v.pendingMu.Lock()
			if v.pending == nil {
				v.pending = make(map[target]pendingChange)
			}
			if _, newer := v.pending[k]; !newer {
				v.pending[k] = pc
			}
			v.pendingMu.Unlock()
		}
	}
	return errors.Join(errs...)
}

// Flush ends an invocation's bookkeeping: it waits for a refresh under way
// and writes the breaker changes still queued. With nothing queued it makes
// no AWS call.
func (v *View) Flush(ctx context.Context) error {
	v.doneMu.Lock()
	done := v.done
	v.doneMu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return v.flushPending(ctx)
}

// TargetHealth is the target as GET /v1/router/health shows it.
func (v *View) TargetHealth(provider, model string) TargetHealth {
	now := v.now()
	p := v.pol()
	k := target{provider, model}
	th := TargetHealth{Status: StatusHealthy, Breaker: BreakerHealth{State: BreakerClosed}}
	h, found, fresh := v.probe(k, now, p)
	if found {
		th.Probe = &ProbeHealth{Status: h.Status, CheckedAt: h.CheckedAt, LatencyMs: h.LatencyMs,
			ConsecutiveFailures: h.ConsecutiveFailures, Reason: h.Reason, Stale: !fresh}
	}
	if s := v.get(k); s != nil {
		s.mu.Lock()
		th.Breaker.State = s.br.current(now)
		th.Breaker.ConsecutiveFailures = s.br.failures
		if th.Breaker.State != BreakerClosed {
			th.Breaker.Reason = s.br.reason
		}
		if th.Breaker.State == BreakerOpen {
			until := s.br.until
			th.Breaker.OpenUntil = &until
		}
		if s.lat.n > 0 {
			est := s.lat.v
			th.LatencyEstimateMs = &est
		}
		s.mu.Unlock()
	}
	if b, found := v.benchmark(provider, model); found {
		bh := &BenchmarkHealth{RunAt: b.RunAt, TTFTMs: b.TTFTMs, P50Ms: b.P50Ms, P90Ms: b.P90Ms, ErrorRate: b.ErrorRate}
		if b.Checked > 0 {
			pass := b.PassRate
			bh.PassRate = &pass
		}
		th.Benchmark = bh
	}
	ok, why := v.Usable(provider, model)
	switch {
	case !ok:
		th.Status, th.Reason = StatusUnhealthy, why
	case th.Breaker.State == BreakerHalfOpen:
		// Usable, but only as a trial: it is not back in rotation yet.
		th.Status, th.Reason = StatusUnhealthy, "circuit half-open: the next request to it is a trial ("+th.Breaker.Reason+")"
	case fresh && h.Status == StatusDegraded:
		th.Status, th.Reason = StatusDegraded, "probe: "+h.Reason
	}
	return th
}
