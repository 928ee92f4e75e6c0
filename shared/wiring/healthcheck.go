package wiring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/secret/awssecrets"
	"github.com/llm-router/router/shared/store/dynamo"
)

// The health view is what the gateway asks about targets: the planner's
// health and latency estimate, the attempt observer and gate, and the
// health endpoint's reporter.
var (
	_ route.Health           = (*health.View)(nil)
	_ route.LatencyEstimator = (*health.View)(nil)
	_ gateway.Observer       = (*health.View)(nil)
	_ gateway.AttemptGate    = (*health.View)(nil)
	_ gateway.HealthReporter = (*health.View)(nil)
)

// healthFlushTimeout bounds the health bookkeeping at the end of a Lambda
// invocation (a refresh under way, the queued breaker changes).
const healthFlushTimeout = 2 * time.Second

// wireHealth gives the gateway its health view: probes and shared breakers
// from the state table with the DynamoDB store, breakers and latency local
// to this process with the file store.
func (r *Router) wireHealth(source gateway.ConfigSource, s Settings, log *slog.Logger) {
	r.Health = &health.View{Source: source, TTL: s.CacheTTL, Log: log}
	if r.Source != nil {
		r.Health.Store = &dynamo.StateStore{DB: r.Source.DB, Table: s.StateTable}
	}
	useHealth(r.Gateway, r.Health)
}

// useHealth makes v the gateway's health, latency estimator and observer.
func useHealth(g *gateway.Gateway, v *health.View) {
	g.Health, g.Latency, g.Observer = v, v, v
}

// loadHealth reads the shared health once at start, so the first requests
// already skip unhealthy targets. Health is advisory: a router whose state
// table cannot be read starts anyway, with every target usable.
func (r *Router) loadHealth(ctx context.Context) {
	if err := r.Health.Refresh(ctx); err != nil {
		r.Log.Warn("health could not be read at start; every target counts as healthy until it can", "error", err)
	}
}

// HealthCheck is the assembled health function.
type HealthCheck struct {
	Settings Settings
	// Checker runs the probe rounds.
	Checker *health.Checker
	// Log receives the function's logs (stderr, JSON).
	Log *slog.Logger
}

// BuildHealthCheck assembles the health function: the configuration (the
// same store the routers read), the state table it writes, and the provider
// adapters built exactly as the router builds them, so a probe goes where a
// request would. It loads the configuration once, so a broken setup says why
// at start.
func BuildHealthCheck(ctx context.Context, p Process, s Settings) (*HealthCheck, error) {
	log := slog.New(slog.NewJSONHandler(p.Stderr, nil))
	awsCfg, err := awshttp.Config(ctx, p.AWS)
	if err != nil {
		return nil, err
	}
	db := dynamodb.NewFromConfig(awsCfg)
	var source health.ConfigSource
	switch s.Store {
	case StoreDynamoDB:
		source = &dynamo.ConfigSource{DB: db, Table: s.ConfigTable, TTL: s.CacheTTL, Namespace: s.Namespace, Log: log}
	default:
		c := config.Default()
		if s.ConfigPath != "" {
			if c, err = config.LoadFile(s.ConfigPath); err != nil {
				return nil, err
			}
		}
		source = gateway.Static{C: c}
	}
	keys := &secret.Resolver{Env: p.Env, DefaultSecret: s.SecretID,
		Secrets: &secret.Cache{Store: &awssecrets.Store{Client: secretsmanager.NewFromConfig(awsCfg)}}}
	hc := &HealthCheck{Settings: s, Log: log, Checker: &health.Checker{
		Source:    source,
		Store:     &dynamo.StateStore{DB: db, Table: s.StateTable},
		Adapter:   providerAdapter(llm.Deps{HTTP: provider.HTTPClient(), Keys: keys}),
		Interval:  s.HealthInterval,
		Log:       log,
		Metrics:   p.Stdout,
		Namespace: s.Namespace,
	}}
	ictx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	// A table not seeded yet is no failure: the source says so once, and
	// each invocation has nothing to probe until it is seeded.
	if _, err := source.Config(ictx); err != nil && !errors.Is(err, config.ErrNotConfigured) {
		return nil, err
	}
	return hc, nil
}

// Handle is the Lambda handler of the EventBridge schedule: probe rounds
// until the next scheduled invocation, within this one's deadline. With no
// configuration seeded yet it succeeds at once: a failure would only be
// retried and counted as a health-check failure.
func (h *HealthCheck) Handle(ctx context.Context, ev events.EventBridgeEvent) error {
	if _, err := h.Checker.Source.Config(ctx); errors.Is(err, config.ErrNotConfigured) {
		return nil
	}
	h.Log.InfoContext(ctx, "health check started", "event_id", ev.ID, "scheduled_at", ev.Time)
	return h.Checker.Run(ctx)
}

// HealthCheckMain is the health function's command: on Lambda it serves
// the schedule's invocations; elsewhere it runs rounds every
// ROUTER_HEALTH_INTERVAL until ctx ends (a local checker against moto or
// DynamoDB Local).
func HealthCheckMain(ctx context.Context, p Process) error {
	s, err := ParseSettings(p.Env)
	if err != nil {
		return err
	}
	hc, err := BuildHealthCheck(ctx, p, s)
	if err != nil {
		return err
	}
	if s.OnLambda {
		lambda.StartWithOptions(hc.Handle, lambda.WithContext(ctx))
		return nil
	}
	hc.Log.Info("health checker running locally", "interval", hc.Checker.Interval.String(), "state_table", s.StateTable)
	return hc.Checker.Loop(ctx)
}

// providerAdapter builds one target's adapter from the provider types built
// into this binary, for the functions that call providers outside a gateway.
func providerAdapter(deps llm.Deps) func(*config.Provider) (llm.Provider, error) {
	factories := provider.Builtin()
	return func(pc *config.Provider) (llm.Provider, error) {
		f := factories[pc.Type]
		if f == nil {
			return nil, fmt.Errorf("provider type %q is not built into this binary", pc.Type)
		}
		return f(pc, deps)
	}
}
