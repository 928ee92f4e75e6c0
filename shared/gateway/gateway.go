// Package gateway is the router's http.Handler: it authenticates, parses,
// plans, runs the attempt loop with every fallback trigger, relays answers
// (streamed or not) in OpenAI's shapes, and leaves one audit record per
// request. The local server and both Lambda adapters serve this same handler.
package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/structured"
	"github.com/llm-router/router/shared/trace"
)

// ProviderFactory builds the adapter of one provider type.
type ProviderFactory func(p *config.Provider, d llm.Deps) (llm.Provider, error)

// ConfigSource gives the current configuration. It must be cheap: it is called
// on every request, and returns the same pointer while the configuration is
// unchanged (stores cache with a TTL and keep their last good copy).
type ConfigSource interface {
	Config(ctx context.Context) (*config.Config, error)
}

// Static is a ConfigSource that never changes.
type Static struct{ C *config.Config }

// Config returns the configuration.
func (s Static) Config(context.Context) (*config.Config, error) { return s.C, nil }

// Observer learns the outcome of every attempt (passive health). When it is
// also an engine.Gate, it is asked before every attempt.
type Observer = engine.Observer

// AttemptGate is an Observer that may refuse an attempt just before it
// starts (a circuit breaker).
type AttemptGate = engine.Gate

// Pricer gives list prices and output caps (cost.Catalog is one).
type Pricer = cost.Pricer

// Gateway is the router's HTTP handler. Set the fields, then serve; the zero
// values of optional fields disable what they provide.
type Gateway struct {
	// Source gives the configuration (required).
	Source ConfigSource
	// Providers builds adapters by provider type (required).
	Providers map[string]ProviderFactory
	// Deps are handed to every adapter.
	Deps llm.Deps
	// Health, when set, removes unusable targets from candidates.
	Health route.Health
	// Latency, when set, feeds the latency strategy.
	Latency route.LatencyEstimator
	// Observer, when set, is told every attempt's outcome.
	Observer Observer
	// Sink receives every request's audit record.
	Sink audit.Sink
	// Prices, when set, prices the models the configuration leaves
	// unpriced, once per configuration (the list-price catalog).
	Prices Pricer
	// Namespace is the CloudWatch namespace of the metrics line.
	Namespace string
	// Log receives operational logs; never prompt text, never a key.
	Log *slog.Logger
	// RequireKeys refuses to run open when the configuration has no keys (Lambda).
	RequireKeys bool
	// Limiter, when set, enforces keys' rate limits and budgets before any
	// provider is called (limits.go).
	Limiter Limiter
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxDuration is the deployment's ceiling on one request: on Lambda, the
	// function's timeout less a margin; 0 means none (the local server).
	MaxDuration time.Duration
	// Tracer, when set, records a span per request, routing decision and
	// attempt (X-Ray on Lambda).
	Tracer trace.Tracer
	// Cache, when set, holds the answers of routes that set cache: (cache.go).
	Cache respcache.Store

	snap   atomic.Pointer[snapshot]
	mu     sync.Mutex // serialises snapshot builds
	badCfg *config.Config
	// schemas are the clients' compiled response_format schemas (structured.go).
	schemas structured.Cache
	// bodies counts the request bodies each key is sending (request.go).
	bodies bodySlots
}

// snapshot is a configuration compiled for serving.
type snapshot struct {
	cfg       *config.Config
	table     *route.Table
	providers map[string]llm.Provider
	keys      map[[sha256.Size]byte]keyEntry
	open      bool
	maxBody   int64
	// bodyTimeout and bodyReads bound how bodies are received.
	bodyTimeout time.Duration
	bodyReads   int
	emf         *audit.EMF
	// shapes are the structured-output settings of the routes that have
	// any, by route name (structured.go).
	shapes map[string]*routeShape
	// engine runs the requests planned under this configuration.
	engine *engine.Engine
}

// keyEntry is a key with its decoded digest.
type keyEntry struct {
	key    *config.Key
	digest [sha256.Size]byte
}

// openKey is the identity of requests on a router with no keys (local only).
var openKey = &config.Key{ID: "anonymous", Routes: []string{"*"}, Models: []string{"*"}}

// Init loads and compiles the configuration once, so a router that cannot
// start says why at start rather than on its first request.
func (g *Gateway) Init(ctx context.Context) error {
	s, err := g.current(ctx)
	if err != nil {
		return err
	}
	if s.open {
		g.logger().Warn("no router keys are configured: the router accepts every request (local use only)")
	}
	return nil
}

func (g *Gateway) logger() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

func (g *Gateway) now() time.Time {
	if g.Now != nil {
		return g.Now()
	}
	return time.Now()
}

// current returns the snapshot for the source's current configuration,
// compiling it when it changed. A configuration that fails to compile is
// logged once and the last good snapshot keeps serving.
func (g *Gateway) current(ctx context.Context) (*snapshot, error) {
	cfg, err := g.Source.Config(ctx)
	old := g.snap.Load()
	if err != nil {
		if old != nil {
			return old, nil
		}
		return nil, err
	}
	if old != nil && old.cfg == cfg {
		return old, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s := g.snap.Load(); s != nil && s.cfg == cfg {
		return s, nil
	}
	if cfg == g.badCfg && old != nil {
		return old, nil
	}
	s, err := g.compile(cfg)
	if err != nil {
		g.badCfg = cfg
		if old != nil {
			g.logger().Error("new configuration refused; serving the last good one", "error", err)
			return old, nil
		}
		return nil, err
	}
	g.snap.Store(s)
	return s, nil
}

func (g *Gateway) compile(cfg *config.Config) (*snapshot, error) {
	if len(cfg.Keys) == 0 && g.RequireKeys {
		return nil, config.ErrNoKeys
	}
	pcfg, err := g.priced(cfg)
	if err != nil {
		return nil, err
	}
	s := &snapshot{cfg: cfg, table: route.Compile(pcfg), providers: make(map[string]llm.Provider, len(cfg.Providers)),
		keys: make(map[[sha256.Size]byte]keyEntry, len(cfg.Keys)), open: len(cfg.Keys) == 0,
		maxBody: cfg.Limits.MaxBodyBytes, emf: audit.NewBoundedEMF(g.Namespace, cfg.Metrics.TagDimensions, cfg.DimensionValues())}
	if s.maxBody == 0 {
		s.maxBody = config.DefaultMaxBodyBytes
	}
	s.bodyTimeout, s.bodyReads = cfg.Limits.BodyReadTimeout.D(), cfg.Limits.BodyReadsPerKey
	if s.bodyTimeout == 0 {
		s.bodyTimeout = config.DefaultBodyReadTimeout
	}
	if s.bodyReads == 0 {
		s.bodyReads = config.DefaultBodyReadsPerKey
	}
	shapes, err := compileShapes(cfg)
	if err != nil {
		return nil, err
	}
	s.shapes = shapes
	s.engine = &engine.Engine{Tracer: g.Tracer, Log: g.logger(), Now: g.Now}
	if g.Observer != nil {
		s.engine.Observer = g.Observer
		s.engine.Gate, _ = g.Observer.(engine.Gate)
	}
	s.engine.Keys, _ = g.Deps.Keys.(llm.KeyInvalidator)
	g.warnTimeouts(s.table, cfg)
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		factory := g.Providers[p.Type]
		if factory == nil {
			return nil, fmt.Errorf("providers[%d]: provider type %q is not built into this router", i, p.Type)
		}
		adapter, err := factory(p, g.Deps)
		if err != nil {
			return nil, fmt.Errorf("providers[%d] (%s): %w", i, p.Name, err)
		}
		s.providers[p.Name] = adapter
	}
	for i := range cfg.Keys {
		k := &cfg.Keys[i]
		digest, err := hex.DecodeString(strings.TrimPrefix(k.Hash, "sha256:"))
		if err != nil || len(digest) != sha256.Size {
			return nil, fmt.Errorf("keys[%d].hash: not a sha256 digest", i)
		}
		s.keys[[sha256.Size]byte(digest)] = keyEntry{key: k, digest: [sha256.Size]byte(digest)}
	}
	return s, nil
}

// warnTimeouts logs, as a configuration warning with the numbers, each
// route whose timeouts cannot fit the deployment's ceiling (on Lambda, the
// function's timeout less a margin): the ceiling would cut its requests
// first, as 504s, before the fallbacks the route counts on.
func (g *Gateway) warnTimeouts(t *route.Table, cfg *config.Config) {
	ceiling := g.MaxDuration
	if ceiling <= 0 {
		return
	}
	for _, r := range cfg.Routes {
		rt, ok := t.Lookup(r.Name)
		if !ok {
			continue
		}
		var worst time.Duration
		var what string
		for _, tg := range rt.Targets {
			if tg.Timeout > worst {
				worst, what = tg.Timeout, "the timeout of target "+tg.Model.ID
			}
		}
		if rt.Timeout > ceiling {
			g.logger().Warn("config: a route's timeout is longer than the deployment allows a request",
				"route", rt.Name, "route_timeout", rt.Timeout.String(), "max_duration", ceiling.String())
		}
		if worst > ceiling {
			g.logger().Warn("config: a target's timeout is longer than the deployment allows a request",
				"route", rt.Name, "target", what, "timeout", worst.String(), "max_duration", ceiling.String())
		}
		if rt.StreamIdle > ceiling {
			g.logger().Warn("config: a route's stream_idle_timeout is longer than the deployment allows a request",
				"route", rt.Name, "stream_idle_timeout", rt.StreamIdle.String(), "max_duration", ceiling.String())
		}
	}
}

// priced is cfg with every model priced and capped (cost.Fill).
func (g *Gateway) priced(cfg *config.Config) (*config.Config, error) {
	return cost.Fill(cfg, g.Prices)
}

// ServeHTTP routes the API's paths. Paths are accepted with or without the
// /v1 prefix, since SDK base URLs are written both ways.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/healthz" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			g.methodNotAllowed(w, r, "GET, HEAD")
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
		return
	}
	if e := checkHeaders(r.Header); e != nil {
		w.Header()["X-Request-Id"] = []string{newRequestID()}
		closeUnread(w, r)
		writeError(w, e)
		return
	}
	path = strings.TrimPrefix(path, "/v1")
	var method string
	var serve func(http.ResponseWriter, *http.Request)
	switch path {
	case "/chat/completions":
		method, serve = http.MethodPost, g.serveChat
	case "/embeddings":
		method, serve = http.MethodPost, g.serveEmbeddings
	case "/models":
		method, serve = http.MethodGet, g.serveModels
	case "/router/explain":
		method, serve = http.MethodPost, g.serveExplain
	case "/router/health":
		method, serve = http.MethodGet, g.serveHealth
	case "/responses":
		method, serve = http.MethodPost, g.serveResponses
	case "/messages":
		method, serve = http.MethodPost, g.serveMessages
	case "/messages/count_tokens":
		method, serve = http.MethodPost, g.serveCountTokens
	default:
		if id, ok := strings.CutPrefix(path, "/models/"); ok && id != "" {
			if r.Method != http.MethodGet {
				g.methodNotAllowed(w, r, http.MethodGet)
				return
			}
			g.serveModel(w, r, id)
			return
		}
		w.Header()["X-Request-Id"] = []string{newRequestID()}
		closeUnread(w, r)
		writeError(w, &llm.Error{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "unknown_url",
			Message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")"})
		return
	}
	if r.Method != method {
		g.methodNotAllowed(w, r, method)
		return
	}
	serve(w, r)
}

func (g *Gateway) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	w.Header()["X-Request-Id"] = []string{newRequestID()}
	closeUnread(w, r)
	writeError(w, &llm.Error{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed",
		Message: r.Method + " is not allowed on " + r.URL.Path + "; use " + allow})
}

// authenticate finds the caller's key. The digest of the presented key is the
// map index, and the stored digest is compared in constant time as well, so
// the time taken says nothing about how close a guess was.
func (s *snapshot) authenticate(r *http.Request, now time.Time) (*config.Key, *llm.Error) {
	if s.open {
		return openKey, nil
	}
	auth, aerr := singleValue(r.Header, "Authorization")
	if aerr != nil {
		return nil, aerr
	}
	apiKey, aerr := singleValue(r.Header, "X-Api-Key")
	if aerr != nil {
		return nil, aerr
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	token = strings.TrimSpace(token)
	if apiKey != "" {
		// Anthropic's SDKs send the key as x-api-key. Both headers are one
		// key: two different ones are refused, never first-wins.
		if auth != "" && token != apiKey {
			return nil, &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
				Code: "ambiguous_header", Param: "x-api-key",
				Message: "the request has both authorization and x-api-key with different keys; send one"}
		}
		token, ok = apiKey, true
	}
	if !ok || token == "" {
		return nil, errAuth("missing API key: send Authorization: Bearer <key>")
	}
	digest := sha256.Sum256([]byte(token))
	e, found := s.keys[digest]
	if !found || subtle.ConstantTimeCompare(e.digest[:], digest[:]) != 1 {
		return nil, errAuth("invalid API key")
	}
	k := e.key
	if k.Disabled {
		return nil, errAuth("this API key has been revoked")
	}
	if k.Expires != nil && now.After(*k.Expires) {
		return nil, errAuth("this API key has expired")
	}
	return k, nil
}

// allows reports whether key k may use route rt. Routes are granted by the
// key's routes ("*": every route); a model id, used directly, only by its
// models ("*": every model): a direct model call carries no route's
// require, so a key meant for a route must not reach its models around it.
func allows(k *config.Key, rt *route.Route) bool {
	if rt.Implicit {
		return slices.Contains(k.Models, rt.Name) || slices.Contains(k.Models, "*")
	}
	return slices.Contains(k.Routes, rt.Name) || slices.Contains(k.Routes, "*")
}
