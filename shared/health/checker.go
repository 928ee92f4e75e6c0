package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// Defaults of Checker.
const (
	// DefaultInterval is the time between probe rounds (ROUTER_HEALTH_INTERVAL).
	DefaultInterval = 30 * time.Second
	// DefaultPeriod is the schedule's rate: an invocation runs rounds until
	// the next one starts (EventBridge's minimum rate is one minute).
	DefaultPeriod = time.Minute
	// DefaultConcurrency bounds probes in flight in a round.
	DefaultConcurrency = 16
	// writeMargin is kept before the invocation's deadline for the writes
	// that follow a round's probes.
	writeMargin = 2 * time.Second
)

// ConfigSource gives the current configuration.
type ConfigSource interface {
	Config(ctx context.Context) (*config.Config, error)
}

// ProbeStore is where the health function keeps probe states (the state
// table).
type ProbeStore interface {
	// ListHealth reads every probe state.
	ListHealth(ctx context.Context) ([]ProbeState, error)
	// GetHealth reads one, consistently; found is false for a target never
	// probed.
	GetHealth(ctx context.Context, provider, model string) (h ProbeState, found bool, err error)
	// PutHealth writes h if its version is still h.Version (ErrVersionConflict
	// otherwise) and returns the version written.
	PutHealth(ctx context.Context, h ProbeState) (int64, error)
}

// Checker is the health function: it probes every provider and model of the
// configuration and writes their health to the state table.
type Checker struct {
	// Source gives the configuration to probe (required).
	Source ConfigSource
	// Store is the state table (required).
	Store ProbeStore
	// Adapter builds a provider's adapter, as the router builds it (required).
	Adapter func(p *config.Provider) (llm.Provider, error)
	// Interval is the time between rounds (default DefaultInterval).
	Interval time.Duration
	// Period is how long one invocation keeps running rounds (default DefaultPeriod).
	Period time.Duration
	// Concurrency bounds probes in flight (default DefaultConcurrency).
	Concurrency int
	// Log receives round summaries and status changes (default slog.Default()).
	Log *slog.Logger
	// Metrics, when set, receives after each round the CloudWatch EMF lines
	// counting targets per status (audit.MetricHealthTargets, the
	// dashboard's health widget): stdout on Lambda.
	Metrics io.Writer
	// Namespace is the metrics' CloudWatch namespace (default audit's).
	Namespace string
	// Now is the clock of checked_at (default time.Now).
	Now func() time.Time

	mu       sync.Mutex
	cfg      *config.Config
	adapters map[string]llm.Provider
}

// Report is what a round did.
type Report struct {
	// Probes is the number of probes run, Failed how many failed.
	Probes, Failed int
	// Written counts items written; Skipped, items another overlapping
	// invocation had already written for this round; Conflicts, writes
	// that lost a race and were decided again.
	Written, Skipped, Conflicts int
	// Errors are writes that failed.
	Errors []error
	// Counts is how many models the round left in each status (a model
	// whose write failed is not counted).
	Counts audit.HealthCounts
}

func (c *Checker) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Checker) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func (c *Checker) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return DefaultInterval
}

// Run is one invocation: a round at once, then one every Interval until
// Period has passed since the start, as long as a round and its writes fit
// before ctx's deadline (the invocation's). It fails only when no round
// could be run at all.
func (c *Checker) Run(ctx context.Context) error {
	period := c.Period
	if period <= 0 {
		period = DefaultPeriod
	}
	start := time.Now()
	var errs []error
	rounds := 0
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * c.interval())
		if i > 0 {
			if at.Sub(start) >= period || !c.fits(ctx, at) {
				break
			}
			t := time.NewTimer(time.Until(at))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return errors.Join(append(errs, ctx.Err())...)
			}
		}
		if _, err := c.Round(ctx); err != nil {
			c.log().ErrorContext(ctx, "health round failed", "error", err)
			errs = append(errs, err)
			continue
		}
		rounds++
	}
	if rounds == 0 {
		return errors.Join(errs...)
	}
	return nil
}

// fits reports whether a round starting at may finish its probes and writes
// before ctx's deadline.
func (c *Checker) fits(ctx context.Context, at time.Time) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return true
	}
	timeout := config.DefaultProbeTimeout
	c.mu.Lock()
	if c.cfg != nil {
		timeout = c.cfg.Health.WithDefaults().ProbeTimeout.D()
	}
	c.mu.Unlock()
	return at.Add(timeout + writeMargin).Before(deadline)
}

// adaptersFor builds the configuration's adapters once per configuration.
func (c *Checker) adaptersFor(cfg *config.Config) map[string]llm.Provider {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == cfg {
		return c.adapters
	}
	adapters := make(map[string]llm.Provider, len(cfg.Providers))
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		a, err := c.Adapter(p)
		if err != nil {
			c.log().Error("provider cannot be probed: its adapter failed to build", "provider", p.Name, "error", err)
			continue
		}
		adapters[p.Name] = a
	}
	c.cfg, c.adapters = cfg, adapters
	return adapters
}

// Round probes every target once, concurrently, and writes each result.
func (c *Checker) Round(ctx context.Context) (Report, error) {
	cfg, err := c.Source.Config(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("health: configuration: %w", err)
	}
	policy := cfg.Health.WithDefaults()
	probes := plan(cfg, c.adaptersFor(cfg))
	// One Query reads what every write needs; a write that finds the item
	// changed since re-reads it alone.
	items, err := c.Store.ListHealth(ctx)
	if err != nil {
		return Report{}, fmt.Errorf("health: read state: %w", err)
	}
	prev := make(map[target]ProbeState, len(items))
	for _, h := range items {
		prev[target{h.Provider, h.Model}] = h
	}

	limit := c.Concurrency
	if limit <= 0 {
		limit = DefaultConcurrency
	}
	sem := make(chan struct{}, limit)
	var mu sync.Mutex
	var rep Report
	var wg sync.WaitGroup
	for _, pr := range probes {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res := c.runProbe(ctx, pr, policy.ProbeTimeout.D())
			var part Report
			part.Probes = 1
			if res.Err != nil {
				part.Failed = 1
			}
			for _, m := range pr.models {
				k := target{pr.provider.Name, m.ID}
				h, found := prev[k]
				if !found {
					h = ProbeState{Provider: k.provider, Model: k.model}
				}
				c.write(ctx, h, res, policy, &part)
			}
			mu.Lock()
			rep.Probes += part.Probes
			rep.Failed += part.Failed
			rep.Written += part.Written
			rep.Skipped += part.Skipped
			rep.Conflicts += part.Conflicts
			rep.Errors = append(rep.Errors, part.Errors...)
			rep.Counts.Healthy += part.Counts.Healthy
			rep.Counts.Degraded += part.Counts.Degraded
			rep.Counts.Unhealthy += part.Counts.Unhealthy
			mu.Unlock()
		}()
	}
	wg.Wait()
	c.log().InfoContext(ctx, "health round", "probes", rep.Probes, "failed", rep.Failed, "written", rep.Written,
		"skipped", rep.Skipped, "conflicts", rep.Conflicts, "write_errors", len(rep.Errors),
		"healthy", rep.Counts.Healthy, "degraded", rep.Counts.Degraded, "unhealthy", rep.Counts.Unhealthy)
	if c.Metrics != nil {
		if _, err := c.Metrics.Write(audit.AppendHealthLines(nil, c.Namespace, c.now(), rep.Counts)); err != nil {
			c.log().ErrorContext(ctx, "health metrics could not be written", "error", err)
		}
	}
	return rep, nil
}

func (c *Checker) runProbe(ctx context.Context, pr probe, timeout time.Duration) Result {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := Result{Start: c.now(), Probe: pr.kind}
	began := time.Now()
	res.Err = pr.run(pctx)
	res.Latency = time.Since(began)
	if res.Err != nil {
		timedOut := errors.Is(pctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		res.Reason = describe(res.Err, timeout, timedOut)
	}
	return res
}

// maxWriteTries bounds the re-reads of an item other writers keep changing.
const maxWriteTries = 3

// write applies a result to a target's item with a version-conditioned
// write. Two overlapping invocations (a retried or late schedule) probe the
// same round: the second to write finds a result checked less than half an
// interval before its own and leaves it, so one round counts once toward N
// and M however many invocations ran it.
func (c *Checker) write(ctx context.Context, h ProbeState, res Result, p config.HealthPolicy, rep *Report) {
	for try := 0; try < maxWriteTries; try++ {
		if h.Version > 0 && h.CheckedAt.After(res.Start.Add(-c.interval()/2)) {
			rep.Skipped++
			count(&rep.Counts, h.Status)
			return
		}
		next := Apply(h, res, p)
		_, err := c.Store.PutHealth(ctx, next)
		if err == nil {
			rep.Written++
			count(&rep.Counts, next.Status)
			if next.Status != h.Status && (h.Status != "" || next.Status != StatusHealthy) {
				c.log().WarnContext(ctx, "target health changed", "provider", next.Provider, "model", next.Model,
					"from", h.Status, "to", next.Status, "reason", next.Reason)
			}
			return
		}
		if !errors.Is(err, ErrVersionConflict) {
			rep.Errors = append(rep.Errors, err)
			c.log().ErrorContext(ctx, "health write failed", "provider", h.Provider, "model", h.Model, "error", err)
			return
		}
		rep.Conflicts++
		fresh, found, err := c.Store.GetHealth(ctx, h.Provider, h.Model)
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			return
		}
		if !found {
			fresh = ProbeState{Provider: h.Provider, Model: h.Model}
		}
		h = fresh
	}
	rep.Errors = append(rep.Errors, fmt.Errorf("health: %s/%s changed %d times while being written", h.Provider, h.Model, maxWriteTries))
}

// Loop runs a round now and then every Interval until ctx ends: the health
// checker as a long-running local process. A failed round is logged and the
// next one tried.
func (c *Checker) Loop(ctx context.Context) error {
	tick := time.NewTicker(c.interval())
	defer tick.Stop()
	for {
		if _, err := c.Round(ctx); err != nil && ctx.Err() == nil {
			c.log().ErrorContext(ctx, "health round failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func count(c *audit.HealthCounts, status string) {
	switch status {
	case StatusHealthy:
		c.Healthy++
	case StatusDegraded:
		c.Degraded++
	case StatusUnhealthy:
		c.Unhealthy++
	}
}
