package wiring

import (
	"context"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/benchmark"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/store/dynamo"
)

// Benchmark is the assembled benchmark function.
type Benchmark struct {
	Settings Settings
	// Runner runs the configuration's benchmark.
	Runner *benchmark.Runner
	// State is the state table the results go to; nil with the file store,
	// where a run's results stay in its Report.
	State *dynamo.StateStore
	// Log receives the function's logs (stderr, JSON).
	Log *slog.Logger
}

// BuildBenchmark assembles the benchmark function: the configuration as
// the routers read it (the config table, or a file), the provider adapters
// and keys exactly as the router builds them, the list-price catalog for
// unpriced models, and, with the DynamoDB store, the state table the
// results go to. It loads the configuration once, so a broken setup says why
// at start.
func BuildBenchmark(ctx context.Context, p Process, s Settings) (*Benchmark, error) {
	log := slog.New(slog.NewJSONHandler(p.Stderr, nil))
	b := &Benchmark{Settings: s, Log: log}
	loadAWS := awsLoader(ctx, p)
	var source benchmark.ConfigSource
	needSecrets := s.OnLambda
	switch s.Store {
	case StoreDynamoDB:
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		db := dynamodb.NewFromConfig(cfg)
		source = &dynamo.ConfigSource{DB: db, Table: s.ConfigTable, TTL: s.CacheTTL, Namespace: s.Namespace, Log: log}
		b.State = &dynamo.StateStore{DB: db, Table: s.StateTable}
		needSecrets = true
	default:
		src, named, err := fileSource(s, log)
		if err != nil {
			return nil, err
		}
		source, needSecrets = src, needSecrets || named
	}
	keys, err := keyResolver(p, s, needSecrets, loadAWS)
	if err != nil {
		return nil, err
	}
	prices, err := cost.DefaultCatalog()
	if err != nil {
		return nil, err
	}
	b.Runner = &benchmark.Runner{
		Source:    source,
		Adapter:   providerAdapter(llm.Deps{HTTP: provider.HTTPClient(), Keys: keys}),
		Prices:    prices,
		Log:       log,
		Metrics:   p.Stdout,
		Namespace: s.Namespace,
	}
	if b.State != nil {
		b.Runner.Store = b.State
	}
	ictx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	// A table not seeded yet is no failure: the source says so once, and
	// a run has nothing to measure until it is seeded.
	if _, err := source.Config(ictx); err != nil && !errors.Is(err, config.ErrNotConfigured) {
		return nil, err
	}
	return b, nil
}

// Handle is the Lambda handler of the weekly EventBridge schedule: one run
// within the invocation's deadline. A configuration not seeded yet, or one
// without a benchmarks section, succeeds at once: a failure would only be
// counted and retried.
func (b *Benchmark) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	b.Log.InfoContext(ctx, "benchmark invoked", "event_id", ev.ID, "scheduled_at", ev.Time)
	_, err := b.Runner.Run(ctx)
	switch {
	case errors.Is(err, config.ErrNotConfigured):
		return nil
	case errors.Is(err, benchmark.ErrNoBenchmarks):
		b.Log.InfoContext(ctx, "nothing to benchmark: the configuration has no benchmarks section")
		return nil
	}
	return err
}

// BenchmarkMain is the benchmark function's command: on Lambda it serves
// the schedule's invocations; elsewhere it runs the benchmark once.
func BenchmarkMain(ctx context.Context, p Process) error {
	s, err := ParseSettings(p.Env)
	if err != nil {
		return err
	}
	b, err := BuildBenchmark(ctx, p, s)
	if err != nil {
		return err
	}
	if s.OnLambda {
		lambda.StartWithOptions(b.Handle, lambda.WithContext(ctx))
		return nil
	}
	return b.Handle(ctx, events.EventBridgeEvent{ID: "local"})
}
