// Package wiring assembles the router from its environment (README.md,
// Configuration): the configuration source (a file or DynamoDB), the secret
// store, the providers, the gateway, and the front door, a local HTTP server
// or the Lambda runtime. functions/router/main.go only calls Main, and tests
// build the router exactly as main does.
package wiring

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/llm-router/router/shared/secret/awssecrets"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/lambdaapi"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/respcache/cachetable"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/store/dynamo"
	"github.com/llm-router/router/shared/store/file"
	"github.com/llm-router/router/shared/trace/xray"
)

// Store names of ROUTER_STORE.
const (
	StoreFile     = "file"
	StoreDynamoDB = "dynamodb"
)

// initTimeout bounds loading the configuration at start. Lambda allows an
// execution environment's init phase 10 s.
const initTimeout = 8 * time.Second

// Settings are the router's environment variables, parsed.
type Settings struct {
	// OnLambda is set when AWS_LAMBDA_RUNTIME_API is.
	OnLambda bool
	// Store is file or dynamodb (ROUTER_STORE; dynamodb on Lambda, else file).
	Store string
	// ConfigPath is the YAML file of the file store (ROUTER_CONFIG; empty:
	// the built-in default).
	ConfigPath string
	// ConfigTable and StateTable are the DynamoDB tables (ROUTER_CONFIG_TABLE,
	// ROUTER_STATE_TABLE).
	ConfigTable, StateTable string
	// CacheTTL is how long the in-memory configuration is trusted (ROUTER_CACHE_TTL).
	CacheTTL time.Duration
	// Streaming answers Lambda events with API Gateway response streaming
	// (ROUTER_STREAMING=1); otherwise they are answered buffered.
	Streaming bool
	// Namespace is the CloudWatch namespace of metrics (ROUTER_METRICS_NAMESPACE).
	Namespace string
	// Port is the local server's port (PORT; empty: 8080).
	Port string
	// SecretID is the default secret of secret:#field key references
	// (ROUTER_SECRET_ID).
	SecretID string
	// AuditTable, when set, is the DynamoDB table that also receives every
	// audit record (ROUTER_AUDIT_TABLE).
	AuditTable string
	// ResponseCacheTable, when set, is the DynamoDB table of the response
	// cache (ROUTER_CACHE_TABLE); unset, routes that cache keep answers in
	// an in-memory LRU of the instance.
	ResponseCacheTable string
	// HealthInterval is the time between health probe rounds
	// (ROUTER_HEALTH_INTERVAL; 0: health.DefaultInterval, 30s).
	HealthInterval time.Duration
	// AuditRetention is how long audit table items live before DynamoDB's
	// TTL deletes them (ROUTER_AUDIT_RETENTION_DAYS; unset: the table's
	// default, 400 days; 0 days: negative, items never expire).
	AuditRetention time.Duration
	// FunctionTimeout is the Lambda function's timeout
	// (ROUTER_FUNCTION_TIMEOUT, seconds; the template sets it, since Lambda
	// does not tell a function its own timeout). 0: unknown.
	FunctionTimeout time.Duration
	// SAMLocal is set under `sam local` (AWS_SAM_LOCAL), which cannot relay a
	// streamed answer: the router then answers buffered whatever
	// ROUTER_STREAMING says.
	SAMLocal bool
	// Tracing sends X-Ray subsegments of the router's own work to the X-Ray
	// daemon (ROUTER_TRACING=1; the template sets it with its Tracing
	// parameter).
	Tracing bool
	// XRayDaemon is the daemon's address (AWS_XRAY_DAEMON_ADDRESS, which
	// Lambda sets when tracing is active; empty: xray.DefaultDaemonAddress).
	XRayDaemon string
}

// ParseSettings reads the environment through env, so nothing below main
// reads the process environment itself.
func ParseSettings(env func(string) (string, bool)) (Settings, error) {
	get := func(k, def string) string {
		if v, ok := env(k); ok && v != "" {
			return v
		}
		return def
	}
	s := Settings{
		ConfigPath:         get("ROUTER_CONFIG", ""),
		ConfigTable:        get("ROUTER_CONFIG_TABLE", dynamo.DefaultConfigTable),
		StateTable:         get("ROUTER_STATE_TABLE", dynamo.DefaultStateTable),
		Namespace:          get("ROUTER_METRICS_NAMESPACE", ""),
		Port:               get("PORT", ""),
		SecretID:           get("ROUTER_SECRET_ID", secret.DefaultSecretID),
		AuditTable:         get("ROUTER_AUDIT_TABLE", ""),
		ResponseCacheTable: get("ROUTER_CACHE_TABLE", ""),
		XRayDaemon:         get("AWS_XRAY_DAEMON_ADDRESS", ""),
	}
	if s.Namespace != "" {
		if err := audit.CheckNamespace(s.Namespace); err != nil {
			return s, fmt.Errorf("ROUTER_METRICS_NAMESPACE: %w", err)
		}
	}
	if v := get("ROUTER_AUDIT_RETENTION_DAYS", ""); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 0 {
			return s, fmt.Errorf("ROUTER_AUDIT_RETENTION_DAYS=%q: want a number of days (0: keep forever)", v)
		}
		s.AuditRetention = time.Duration(days) * 24 * time.Hour
		if days == 0 {
			s.AuditRetention = -1 // audittable: never expire
		}
	}
	s.OnLambda = get("AWS_LAMBDA_RUNTIME_API", "") != ""
	s.Store = StoreFile
	if s.OnLambda {
		s.Store = StoreDynamoDB
	}
	switch v := get("ROUTER_STORE", s.Store); v {
	case StoreFile, StoreDynamoDB:
		s.Store = v
	default:
		return s, fmt.Errorf("ROUTER_STORE=%q: want file or dynamodb", v)
	}
	ttl, err := time.ParseDuration(get("ROUTER_CACHE_TTL", dynamo.DefaultCacheTTL.String()))
	if err != nil || ttl <= 0 {
		return s, fmt.Errorf("ROUTER_CACHE_TTL=%q: want a positive duration such as 5s", get("ROUTER_CACHE_TTL", ""))
	}
	s.CacheTTL = ttl
	switch v := strings.ToLower(get("ROUTER_STREAMING", "0")); v {
	case "1", "true", "on":
		s.Streaming = true
	case "0", "false", "off":
	default:
		return s, fmt.Errorf("ROUTER_STREAMING=%q: want 1 or 0", v)
	}
	if v := get("ROUTER_FUNCTION_TIMEOUT", ""); v != "" {
		d, err := parseSeconds(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("ROUTER_FUNCTION_TIMEOUT=%q: want the function timeout in seconds, such as 300", v)
		}
		s.FunctionTimeout = d
	}
	if v := strings.ToLower(get("AWS_SAM_LOCAL", "")); v == "true" || v == "1" {
		s.SAMLocal, s.Streaming = true, false
	}
	switch v := strings.ToLower(get("ROUTER_TRACING", "0")); v {
	case "1", "true", "on", "xray":
		s.Tracing = true
	case "0", "false", "off":
	default:
		return s, fmt.Errorf("ROUTER_TRACING=%q: want 1 or 0", v)
	}
	if v := get("ROUTER_HEALTH_INTERVAL", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return s, fmt.Errorf("ROUTER_HEALTH_INTERVAL=%q: want a positive duration such as 30s", v)
		}
		s.HealthInterval = d
	}
	return s, nil
}

// parseSeconds reads a number of seconds ("300") or a duration ("5m").
func parseSeconds(v string) (time.Duration, error) {
	if n, err := strconv.Atoi(v); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return time.ParseDuration(v)
}

// Process is what the router takes from its process.
type Process struct {
	// Env looks up environment variables (os.LookupEnv in main).
	Env func(string) (string, bool)
	// Stdout receives audit and metric lines; Stderr the logs.
	Stdout, Stderr io.Writer
	// AWS, when set, is used instead of the SDK's default configuration chain
	// (tests point it at moto).
	AWS *aws.Config
}

// Router is the assembled router.
type Router struct {
	Settings Settings
	// Gateway is the http.Handler every front door serves.
	Gateway *gateway.Gateway
	// Audit buffers audit and metric lines; flushed per Lambda invocation, or
	// every interval by the local server.
	Audit *audit.Writer
	// Lambda adapts Gateway to Lambda events.
	Lambda *lambdaapi.Adapter
	Log    *slog.Logger
	// Source is the DynamoDB configuration source (nil with the file store).
	Source *dynamo.ConfigSource
	// AuditTable writes audit records to ROUTER_AUDIT_TABLE (nil when unset);
	// flushed with Audit.
	AuditTable *audittable.Sink
	// ResponseCache is the response cache in ROUTER_CACHE_TABLE (nil when
	// unset: the cache is in memory); flushed with Audit.
	ResponseCache *cachetable.Table
	// Health is the gateway's health view (probes, breakers, latency);
	// flushed at the end of each Lambda invocation (healthcheck.go).
	Health *health.View
	// Limits enforces keys' rate limits and budgets (limits.go); flushed at
	// the end of each Lambda invocation, or every interval by the local server.
	Limits *limits.Limiter
}

// Build assembles the router and loads its configuration once, so a router
// that cannot serve says why at start. AWS clients are built here, once per
// process (on Lambda: once per execution environment).
func Build(ctx context.Context, p Process, s Settings) (*Router, error) {
	log := slog.New(slog.NewJSONHandler(p.Stderr, nil))
	r := &Router{Settings: s, Audit: audit.NewWriter(p.Stdout), Log: log}

	loadAWS := awsLoader(ctx, p)

	var source gateway.ConfigSource
	needSecrets := s.OnLambda
	switch s.Store {
	case StoreDynamoDB:
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		r.Source = &dynamo.ConfigSource{DB: dynamodb.NewFromConfig(cfg), Table: s.ConfigTable, TTL: s.CacheTTL,
			Namespace: s.Namespace, Log: log}
		source = r.Source
		needSecrets = true // the table's configuration may name secrets at any time
	default:
		var named bool
		var err error
		if source, named, err = fileSource(s, log); err != nil {
			return nil, err
		}
		needSecrets = needSecrets || named
	}

	keys, err := keyResolver(p, s, needSecrets, loadAWS)
	if err != nil {
		return nil, err
	}

	var sink audit.Sink = r.Audit
	if s.AuditTable != "" {
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		r.AuditTable = audittable.New(dynamodb.NewFromConfig(cfg), s.AuditTable)
		r.AuditTable.Retention, r.AuditTable.Namespace, r.AuditTable.Log = s.AuditRetention, s.Namespace, log
		sink = audit.Sinks{r.Audit, r.AuditTable}
	}
	prices, err := cost.DefaultCatalog()
	if err != nil {
		return nil, err
	}

	r.Gateway = &gateway.Gateway{
		Source:      source,
		Providers:   provider.Builtin(),
		Deps:        llm.Deps{HTTP: provider.HTTPClient(), Keys: keys},
		Prices:      prices,
		Sink:        sink,
		Namespace:   s.Namespace,
		Log:         log,
		RequireKeys: s.OnLambda,
		MaxDuration: s.maxDuration(),
	}
	if s.ResponseCacheTable != "" {
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		r.ResponseCache = cachetable.New(dynamodb.NewFromConfig(cfg), s.ResponseCacheTable)
		r.ResponseCache.Log = log
		r.Gateway.Cache = r.ResponseCache
	} else {
		r.Gateway.Cache = &respcache.Memory{}
	}
	if s.Tracing {
		tr, err := xray.New(s.XRayDaemon)
		if err != nil {
			return nil, fmt.Errorf("ROUTER_TRACING: %w", err)
		}
		tr.Log = log
		r.Gateway.Tracer = tr
	}
	r.wireHealth(source, s, log)
	r.wireLimits(s, log)
	ictx, cancel := context.WithTimeout(ctx, initTimeout)
	defer cancel()
	if err := r.Gateway.Init(ictx); err != nil {
		switch {
		case errors.Is(err, config.ErrNotConfigured):
			// A stack deployed before its configuration: liveness answers,
			// routed requests get 503 router_not_configured, and the
			// configuration is served once seeded (the source logged it).
		case errors.Is(err, config.ErrNoKeys):
			return nil, fmt.Errorf("%w (add a key to the configuration; docs/DEPLOY.md shows how)", err)
		default:
			return nil, err
		}
	}
	r.loadHealth(ictx)
	r.Lambda = &lambdaapi.Adapter{Handler: r.Gateway, Flush: r.bookkeeping, DeadlineMargin: lambdaapi.DefaultDeadlineMargin, Log: log}
	return r, nil
}

// maxDuration is the gateway's ceiling on a request: the function's timeout
// less the margin the Lambda adapter keeps before the invocation's deadline,
// so the router answers 504 itself rather than being stopped by Lambda.
func (s Settings) maxDuration() time.Duration {
	if s.FunctionTimeout <= lambdaapi.DefaultDeadlineMargin {
		return 0
	}
	return s.FunctionTimeout - lambdaapi.DefaultDeadlineMargin
}

// awsLoader returns a function that loads the AWS configuration on its
// first call and returns the same one after: a process that needs no AWS
// service never loads it.
func awsLoader(ctx context.Context, p Process) func() (aws.Config, error) {
	var awsCfg *aws.Config
	return func() (aws.Config, error) {
		if awsCfg == nil {
			cfg, err := awshttp.Config(ctx, p.AWS)
			if err != nil {
				return aws.Config{}, err
			}
			awsCfg = &cfg
		}
		return *awsCfg, nil
	}
}

// fileSource is the configuration without DynamoDB: the embedded default,
// or s.ConfigPath loaded once now (so a broken file says why at start) and
// reloaded when it changes, so scripts/keys takes effect within the cache
// TTL without a restart. named reports whether it names secrets.
func fileSource(s Settings, log *slog.Logger) (src gateway.ConfigSource, named bool, err error) {
	if s.ConfigPath == "" {
		c := config.Default()
		return gateway.Static{C: c}, namesSecrets(c), nil
	}
	f := &file.Source{Path: s.ConfigPath, TTL: s.CacheTTL, Log: log}
	c, err := f.Load()
	if err != nil {
		return nil, false, err
	}
	return f, namesSecrets(c), nil
}

// keyResolver resolves provider keys from the environment and, when
// needSecrets, from Secrets Manager behind its cache.
func keyResolver(p Process, s Settings, needSecrets bool, loadAWS func() (aws.Config, error)) (*secret.Resolver, error) {
	keys := &secret.Resolver{Env: p.Env, DefaultSecret: s.SecretID}
	if needSecrets {
		cfg, err := loadAWS()
		if err != nil {
			return nil, err
		}
		keys.Secrets = &secret.Cache{Store: &awssecrets.Store{Client: secretsmanager.NewFromConfig(cfg)}}
	}
	return keys, nil
}

// namesSecrets reports whether any provider key is a secret: reference, so a
// local router with a file store builds a Secrets Manager client only when
// its configuration needs one.
func namesSecrets(c *config.Config) bool {
	for _, p := range c.Providers {
		if strings.HasPrefix(p.Key, "secret:") {
			return true
		}
	}
	return false
}

// LambdaHandler is the function to give lambda.Start: streamed answers for
// API Gateway's streaming integration and Function URLs (Settings.Streaming),
// else buffered API Gateway answers.
func (r *Router) LambdaHandler() any {
	if r.Settings.Streaming {
		return r.Lambda.Stream
	}
	return r.Lambda.Buffered
}
