// Package benchmark is the weekly benchmark function: it sends the
// configuration's benchmark prompts to every model of its routes through
// the provider adapters the router uses, measures each model (time to first
// token, total latency, error rate, cost, the share of answers that pass
// their check) and records the figures in the state table, where routers
// read the latest ones as the latency strategy's prior (docs/HEALTH.md,
// "Weekly benchmarks").
package benchmark

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// DefaultWriteMargin is kept before the invocation's deadline for writing
// the results: a call is started only if its timeout ends before it.
const DefaultWriteMargin = 10 * time.Second

// ErrNoBenchmarks means the configuration has no benchmarks section:
// nothing to run.
var ErrNoBenchmarks = errors.New("benchmark: the configuration has no benchmarks section")

// ConfigSource gives the current configuration.
type ConfigSource interface {
	Config(ctx context.Context) (*config.Config, error)
}

// Store records a target's result of a run (the state table).
type Store interface {
	PutBenchmark(ctx context.Context, r health.BenchmarkResult) error
}

// Runner runs the configuration's benchmark once per Run.
type Runner struct {
	// Source gives the configuration (required).
	Source ConfigSource
	// Adapter builds a provider's adapter, as the router builds it (required).
	Adapter func(p *config.Provider) (llm.Provider, error)
	// Prices prices models the configuration does not (nil: configured
	// prices only).
	Prices *cost.Catalog
	// Store receives the results; nil keeps them in the Report only.
	Store Store
	// Log receives progress, skipped targets and failures, never prompt or
	// answer text (default slog.Default()).
	Log *slog.Logger
	// Metrics, when set, receives one CloudWatch EMF line per measured
	// target (stdout on Lambda).
	Metrics io.Writer
	// Namespace is the metrics' CloudWatch namespace (default audit's).
	Namespace string
	// WriteMargin is kept before the deadline for the writes (default
	// DefaultWriteMargin).
	WriteMargin time.Duration
	// Now is the clock of the run's time (default time.Now). Latencies are
	// measured with the monotonic clock whatever it says.
	Now func() time.Time
}

// Report is what a run did.
type Report struct {
	RunID     string
	RunAt     time.Time
	DataClass string
	// Results holds one result per measured target, in the routes' order.
	Results []health.BenchmarkResult
	// Skipped lists the targets not measured, and why.
	Skipped []Skipped
	// NotRun counts calls that did not fit before the deadline.
	NotRun int
	// Written counts results the Store took; WriteErrors the others.
	Written     int
	WriteErrors []error
}

// Skipped is a target the run left out.
type Skipped struct {
	Provider, Model, Reason string
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) margin() time.Duration {
	if r.WriteMargin > 0 {
		return r.WriteMargin
	}
	return DefaultWriteMargin
}

// Run measures every model of the routes once with the benchmark set and
// records the results. It fails when the configuration cannot be read, when
// no call could be made at all, or when no result could be written; a
// target skipped or failing is a result, not an error.
func (r *Runner) Run(ctx context.Context) (*Report, error) {
	cfg, err := r.Source.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("benchmark: configuration: %w", err)
	}
	b := cfg.Benchmarks
	if b == nil {
		return nil, ErrNoBenchmarks
	}
	rep := &Report{RunID: newRunID(), RunAt: r.now().UTC().Truncate(time.Millisecond), DataClass: b.DataClass}
	prompts, err := prepare(cfg)
	if err != nil {
		return nil, err
	}
	targets := r.plan(cfg, rep)
	for _, s := range rep.Skipped {
		r.log().InfoContext(ctx, "benchmark target skipped", "run_id", rep.RunID, "provider", s.Provider, "model", s.Model, "reason", s.Reason)
	}
	r.log().InfoContext(ctx, "benchmark started", "run_id", rep.RunID, "data_class", b.DataClass, "targets", len(targets),
		"skipped", len(rep.Skipped), "prompts", len(prompts), "runs", b.RunsOrDefault())
	if len(targets) == 0 {
		return rep, nil
	}
	byTarget := r.measure(ctx, targets, prompts, b)
	var calls int
	for i, m := range byTarget {
		rep.NotRun += m.notRun
		if len(m.samples) == 0 {
			continue
		}
		calls += len(m.samples)
		res := summarize(targets[i], m.samples, r.Prices)
		res.RunAt, res.RunID, res.DataClass = rep.RunAt, rep.RunID, b.DataClass
		rep.Results = append(rep.Results, res)
		r.logTarget(ctx, rep.RunID, res, m)
	}
	if calls == 0 {
		return rep, fmt.Errorf("benchmark: no call fitted before the deadline (%d not run)", rep.NotRun)
	}
	r.record(ctx, rep)
	r.log().InfoContext(ctx, "benchmark finished", "run_id", rep.RunID, "measured", len(rep.Results), "calls", calls,
		"not_run", rep.NotRun, "written", rep.Written, "write_errors", len(rep.WriteErrors))
	if r.Store != nil && rep.Written == 0 {
		return rep, fmt.Errorf("benchmark: no result could be written: %w", errors.Join(rep.WriteErrors...))
	}
	return rep, nil
}

// target is one model to measure, with its adapter.
type target struct {
	t       *route.Target
	adapter llm.Provider
}

// plan lists the models of the routes, each once in the routes' order,
// leaving out those whose provider lacks the benchmark class's tags (the
// one compliance check every request goes through) or whose adapter cannot
// be built.
func (r *Runner) plan(cfg *config.Config, rep *Report) []target {
	table := route.Compile(cfg)
	require, _ := table.DataClass(cfg.Benchmarks.DataClass)
	adapters := map[string]llm.Provider{}
	failed := map[string]string{}
	seen := map[string]bool{}
	var out []target
	for i := range cfg.Routes {
		rt, ok := table.Lookup(cfg.Routes[i].Name)
		if !ok {
			continue
		}
		for _, t := range rt.Targets {
			if seen[t.Model.ID] {
				continue
			}
			seen[t.Model.ID] = true
			skip := func(reason string) {
				rep.Skipped = append(rep.Skipped, Skipped{Provider: t.Provider.Name, Model: t.Model.ID, Reason: reason})
			}
			if ok, missing := route.Compliant(t, require); !ok {
				skip(route.ReasonCompliance + ": provider " + t.Provider.Name + " lacks " + missing + " (data class " + cfg.Benchmarks.DataClass + ")")
				continue
			}
			a := adapters[t.Provider.Name]
			if a == nil && failed[t.Provider.Name] == "" {
				var err error
				if a, err = r.Adapter(t.Provider); err != nil {
					failed[t.Provider.Name] = "adapter: " + err.Error()
				} else {
					adapters[t.Provider.Name] = a
				}
			}
			if a == nil {
				skip(failed[t.Provider.Name])
				continue
			}
			out = append(out, target{t: t, adapter: a})
		}
	}
	return out
}

// record writes each result and its metrics line.
func (r *Runner) record(ctx context.Context, rep *Report) {
	var lines []byte
	for _, res := range rep.Results {
		lines = AppendMetricLine(lines, r.Namespace, res)
		if r.Store == nil {
			continue
		}
		if err := r.Store.PutBenchmark(ctx, res); err != nil {
			r.log().ErrorContext(ctx, "benchmark result not written", "run_id", rep.RunID, "provider", res.Provider, "model", res.Model, "error", err)
			rep.WriteErrors = append(rep.WriteErrors, err)
			continue
		}
		rep.Written++
	}
	if r.Metrics != nil && len(lines) > 0 {
		if _, err := r.Metrics.Write(lines); err != nil {
			r.log().ErrorContext(ctx, "benchmark metrics not written", "error", err)
		}
	}
}

// logTarget logs a target's figures, and why calls failed or answers did
// not pass, by prompt name and reason only.
func (r *Runner) logTarget(ctx context.Context, runID string, res health.BenchmarkResult, m measured) {
	r.log().InfoContext(ctx, "benchmark result", "run_id", runID, "provider", res.Provider, "model", res.Model,
		"requests", res.Requests, "error_rate", res.ErrorRate, "checked", res.Checked, "pass_rate", res.PassRate,
		"ttft_ms", res.TTFTMs, "p50_ms", res.P50Ms, "p90_ms", res.P90Ms, "cost_usd", res.CostUSD, "priced", res.Priced)
	for _, k := range m.problemKeys() {
		r.log().WarnContext(ctx, "benchmark calls failed their prompt", "run_id", runID, "provider", res.Provider,
			"model", res.Model, "prompt", k.prompt, "problem", k.problem, "count", m.problems[k])
	}
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
