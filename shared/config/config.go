// Package config is the router's configuration model: providers, models,
// routes, data classes, keys and metrics, as YAML files and the DynamoDB config
// table hold it, with loading and validation that name the offending field.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is a whole routing configuration.
type Config struct {
	Providers []Provider `yaml:"providers" json:"providers"`
	Models    []Model    `yaml:"models" json:"models"`
	Routes    []Route    `yaml:"routes" json:"routes"`
	// DataClasses maps a request classification (e.g. phi) to the compliance
	// tags a provider needs to receive such data (e.g. [hipaa]) and,
	// optionally, the detectors that recognise it in request text
	// (dataclass.go).
	DataClasses map[string]DataClass `yaml:"data_classes,omitempty" json:"data_classes,omitempty"`
	// Detectors names custom detectors: RE2 patterns (Go regexp syntax) that
	// data classes list beside the built-in ones, e.g. patient_id:
	// 'PID-[0-9]{8}'. A pattern named mrn replaces the built-in MRN detector.
	Detectors map[string]string `yaml:"detectors,omitempty" json:"detectors,omitempty"`
	// Keys are the router's API keys, by hash. With none, a local router runs
	// open (and says so); a Lambda refuses to.
	Keys    []Key   `yaml:"keys,omitempty" json:"keys,omitempty"`
	Metrics Metrics `yaml:"metrics,omitempty" json:"metrics,omitempty"`
	Limits  Limits  `yaml:"limits,omitempty" json:"limits,omitempty"`
	// Health tunes health checks and circuit breaking (health.go).
	Health HealthPolicy `yaml:"health,omitempty" json:"health,omitempty"`
	// Budgets are monthly spending limits per tag value (budgets.go).
	Budgets []TagBudget `yaml:"budgets,omitempty" json:"budgets,omitempty"`
	// Schemas are named JSON Schemas that routes give as the shape of every
	// answer (structured.go).
	Schemas map[string]JSONSchema `yaml:"schemas,omitempty" json:"schemas,omitempty"`
	// Benchmarks is the prompt set of the weekly benchmark function
	// (benchmarks.go); nil: no benchmark runs.
	Benchmarks *Benchmarks `yaml:"benchmarks,omitempty" json:"benchmarks,omitempty"`
}

// Provider types the router knows.
const (
	TypeOpenAI    = "openai"
	TypeAzure     = "azure"
	TypeAnthropic = "anthropic"
	TypeGemini    = "gemini"
	TypeBedrock   = "bedrock"
	TypeMock      = "mock"
)

// Provider is one upstream endpoint with its credentials.
type Provider struct {
	Name string `yaml:"name" json:"name"`
	// Type is openai | azure | anthropic | gemini | bedrock | mock.
	Type string `yaml:"type" json:"type"`
	// BaseURL is the API root, e.g. https://api.openai.com/v1. Types with a
	// well-known endpoint default it.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// Key is a reference: env:NAME, secret:SECRET_ID#field or secret:SECRET_ID.
	// Literal keys are refused.
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
	// Compliance lists the tags this endpoint satisfies, e.g. [hipaa].
	Compliance []string `yaml:"compliance,omitempty" json:"compliance,omitempty"`
	// Timeout is the default time until an attempt on its models commits
	// (default 60s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Headers are extra request headers (e.g. OpenRouter's HTTP-Referer). Not for secrets.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Dialect names the OpenAI-compatible API an openai provider talks to, so
	// its quirks are handled: openai, deepseek, mistral, qwen, groq, together,
	// xai, openrouter, fireworks, ollama, vllm. Empty: detected from base_url,
	// else plain openai.
	Dialect string `yaml:"dialect,omitempty" json:"dialect,omitempty"`
	// Region is the AWS region of a bedrock provider.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// APIVersion is the api-version query parameter of an azure provider.
	APIVersion string `yaml:"api_version,omitempty" json:"api_version,omitempty"`
	// Probe chooses the health probe: models (list models) or chat (a
	// one-token completion); empty picks the provider type's cheapest honest probe.
	Probe string `yaml:"probe,omitempty" json:"probe,omitempty"`
	// Mock configures a mock provider.
	Mock *Mock `yaml:"mock,omitempty" json:"mock,omitempty"`
}

// Dialects are the OpenAI-compatible APIs whose quirks the openai adapter knows.
var Dialects = []string{"openai", "deepseek", "mistral", "qwen", "groq", "together", "xai", "openrouter", "fireworks", "ollama", "vllm"}

// Mock is the behaviour of the built-in simulated provider. It is
// deterministic: the same seed and request sequence give the same answers.
type Mock struct {
	// Latency is the time before the first byte of an answer.
	Latency Duration `yaml:"latency,omitempty" json:"latency,omitempty"`
	// ChunkDelay is the time between streamed chunks.
	ChunkDelay Duration `yaml:"chunk_delay,omitempty" json:"chunk_delay,omitempty"`
	// FailRate is the share of requests, 0 to 1, answered with FailStatus.
	FailRate float64 `yaml:"fail_rate,omitempty" json:"fail_rate,omitempty"`
	// FailStatus is the HTTP status of simulated failures (default 503).
	FailStatus int `yaml:"fail_status,omitempty" json:"fail_status,omitempty"`
	// Seed makes the failure sequence repeatable.
	Seed uint64 `yaml:"seed,omitempty" json:"seed,omitempty"`
	// Reply is the answer text; empty gives a fixed sentence naming the model.
	Reply string `yaml:"reply,omitempty" json:"reply,omitempty"`
}

// Model is a model id clients and routes use, served by one provider.
type Model struct {
	ID       string `yaml:"id" json:"id"`
	Provider string `yaml:"provider" json:"provider"`
	// Upstream is the provider's name for the model (default: ID). For azure,
	// it is the deployment name; for bedrock, the model or inference profile id.
	Upstream string `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	// Price is in USD per 1M tokens.
	Price *Price `yaml:"price,omitempty" json:"price,omitempty"`
	// Timeout is the time one attempt has until it commits: its whole answer,
	// or its stream's first chunk with content (default: the provider's). A
	// stream that has begun is not cut by it.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// ContextWindow is the model's context size in tokens (0: unknown). A
	// target whose window cannot hold a request's input estimate and its
	// max_tokens is left out of the plan; after a provider says a request is
	// too long, candidates whose window is no larger are skipped.
	ContextWindow int `yaml:"context_window,omitempty" json:"context_window,omitempty"`
	// MaxTokens is the output limit sent to providers that require one when the
	// client sets none (default 4096, or MaxOutputTokens when that is lower).
	MaxTokens int `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	// MaxOutputTokens is the most the model can write in one answer, its
	// provider's hard limit in tokens (default: the pricing catalog's figure
	// for the model; 0 means unknown). A client's max_tokens above it is
	// lowered to it, so rate limits and budgets reserve what the model can
	// actually produce. MaxTokens must not exceed it.
	MaxOutputTokens int `yaml:"max_output_tokens,omitempty" json:"max_output_tokens,omitempty"`
}

// Price is a model's price in USD per 1M tokens.
type Price struct {
	Input  float64 `yaml:"input" json:"input"`
	Output float64 `yaml:"output" json:"output"`
	// CachedInput prices prompt tokens read from a cache (default: Input).
	CachedInput *float64 `yaml:"cached_input,omitempty" json:"cached_input,omitempty"`
	// CacheWrite prices prompt tokens written to a cache (default: Input);
	// for Anthropic and Bedrock, the five-minute cache.
	CacheWrite *float64 `yaml:"cache_write,omitempty" json:"cache_write,omitempty"`
	// CacheWrite1h prices prompt tokens written to the one-hour cache
	// (default: twice Input, Anthropic's rate; the only providers with that
	// cache, Anthropic and Bedrock, bill it so).
	CacheWrite1h *float64 `yaml:"cache_write_1h,omitempty" json:"cache_write_1h,omitempty"`
}

// Routing strategies.
const (
	StrategyOrdered  = "ordered"
	StrategyWeighted = "weighted"
	StrategyLatency  = "latency"
	StrategyCost     = "cost"
)

// Route maps a name clients use to a primary model and its fallbacks.
type Route struct {
	Name string `yaml:"name" json:"name"`
	// Strategy orders the targets: ordered (default) | weighted | latency | cost.
	Strategy string `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	// Require lists compliance tags every target must have.
	Require []string `yaml:"require,omitempty" json:"require,omitempty"`
	// Targets are tried in the strategy's order.
	Targets []Target `yaml:"targets" json:"targets"`
	// Timeout bounds the time until an answer commits, across attempts: a
	// whole answer, or a stream's first chunk with content (default 120s).
	// It does not cut a stream that has begun.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// StreamIdleTimeout ends a stream that has begun when no chunk arrives
	// for this long (default 30s).
	StreamIdleTimeout Duration `yaml:"stream_idle_timeout,omitempty" json:"stream_idle_timeout,omitempty"`
	// MaxDuration bounds a whole request, streaming included (default: what
	// the deployment allows; on Lambda, the invocation's deadline less a
	// margin; locally, none).
	MaxDuration Duration `yaml:"max_duration,omitempty" json:"max_duration,omitempty"`
	// Schema names a schema under schemas: every answer on the route is JSON
	// of that shape, whatever the client's response_format said.
	Schema string `yaml:"schema,omitempty" json:"schema,omitempty"`
	// Structured is what happens when an answer is not the JSON asked for
	// (default: one repair attempt).
	Structured *Structured `yaml:"structured,omitempty" json:"structured,omitempty"`
	// Rules send requests that match one of them to another route, the
	// first match winning (rules.go).
	Rules []Rule `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Detect lists data classes whose detectors scan every request on the
	// route: a request they match is routed and audited as that class too.
	// Detection can only add a class, never remove one.
	Detect []string `yaml:"detect,omitempty" json:"detect,omitempty"`
	// Cache, when set, answers identical requests on the route from a
	// cache for its TTL (cache.go).
	Cache *Cache `yaml:"cache,omitempty" json:"cache,omitempty"`
	// PromptCache is the route's prompt-caching policy (promptcache.go): empty
	// sends the client's cache markers as they are, auto marks the stable
	// prefix as well, off sends none.
	PromptCache string `yaml:"prompt_cache,omitempty" json:"prompt_cache,omitempty"`
	// Reasoning sets a default reasoning effort and a ceiling on the
	// client's (promptcache.go).
	Reasoning *Reasoning `yaml:"reasoning,omitempty" json:"reasoning,omitempty"`
}

// Target is one model of a route.
type Target struct {
	Model string `yaml:"model" json:"model"`
	// FirstByteTimeout moves to the next target when the answer has not
	// begun in time: the first byte of the body for an answer in one piece,
	// the first chunk with content for a stream.
	FirstByteTimeout Duration `yaml:"first_byte_timeout,omitempty" json:"first_byte_timeout,omitempty"`
	// Timeout overrides the model's attempt timeout on this route: the time
	// until the attempt commits (a whole answer, or a stream's first chunk
	// with content).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Weight is the target's share under the weighted strategy (default 1).
	Weight int `yaml:"weight,omitempty" json:"weight,omitempty"`
	// HedgeAfter starts the next target in parallel when this one has sent no
	// first byte after this long; the first to answer wins.
	HedgeAfter Duration `yaml:"hedge_after,omitempty" json:"hedge_after,omitempty"`
	// When makes the target a candidate only while its conditions hold
	// (rules.go).
	When *Conditions `yaml:"when,omitempty" json:"when,omitempty"`
}

// Key is a router API key, stored by hash only.
type Key struct {
	ID string `yaml:"id" json:"id"`
	// Hash is sha256:HEX of the key.
	Hash string `yaml:"hash" json:"hash"`
	// Routes the key may use; ["*"] for every route. Routes only: a model
	// id is granted by Models.
	Routes []string `yaml:"routes,omitempty" json:"routes,omitempty"`
	// Models the key may call directly by model id (besides its routes);
	// ["*"] for every model. A direct call carries no route's require.
	Models []string `yaml:"models,omitempty" json:"models,omitempty"`
	// DataClass is the default classification of the key's requests.
	DataClass string `yaml:"data_class,omitempty" json:"data_class,omitempty"`
	// Detect lists data classes whose detectors scan every request of the
	// key, as Route.Detect does.
	Detect []string `yaml:"detect,omitempty" json:"detect,omitempty"`
	// RPM is the requests-per-minute limit (0: none).
	RPM int `yaml:"rpm,omitempty" json:"rpm,omitempty"`
	// TPM is the tokens-per-minute limit (0: none).
	TPM    int     `yaml:"tpm,omitempty" json:"tpm,omitempty"`
	Budget *Budget `yaml:"budget,omitempty" json:"budget,omitempty"`
	// Tags are default cost-attribution tags; request tags override them.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Expires, when set, is when the key stops working.
	Expires *time.Time `yaml:"expires,omitempty" json:"expires,omitempty"`
	// Disabled keys are refused (revoked).
	Disabled bool `yaml:"disabled,omitempty" json:"disabled,omitempty"`
}

// Budget limits a key's spend in a calendar month (UTC), across all router
// instances. A request is refused with 429 budget_exceeded, before any
// provider is called, once the month's spend has reached MonthlyUSD.
type Budget struct {
	MonthlyUSD float64 `yaml:"monthly_usd" json:"monthly_usd"`
	// OnBudget, when set, moves the key's requests to a cheaper route once a
	// share of the budget is spent.
	OnBudget *Downgrade `yaml:"on_budget,omitempty" json:"on_budget,omitempty"`
}

// Downgrade switches requests to another route once a share of a monthly
// budget is spent, e.g. {at: 0.9, route: triage-cheap}. The request keeps
// its data class: the new route is planned with the same compliance tags,
// and when it could never serve them the request stays on its own route.
type Downgrade struct {
	// At is the share of the budget, above 0 and at most 1, from which on
	// requests are downgraded.
	At float64 `yaml:"at" json:"at"`
	// Route is the route (or model) requests go to instead.
	Route string `yaml:"route" json:"route"`
}

// Metrics configures the EMF metrics.
type Metrics struct {
	// TagDimensions lists the request tags that become CloudWatch dimensions.
	// Keep it short: every distinct value is a metric.
	TagDimensions []string `yaml:"tag_dimensions,omitempty" json:"tag_dimensions,omitempty"`
	// TagValues lists, per tag dimension, the values that become dimension
	// values, e.g. {team: [triage, billing]}. A tag value comes from the
	// caller, so the router never lets it choose a dimension value: a value
	// that is neither listed here nor in some key's tags is counted as
	// OtherTagValue. Each value is one more CloudWatch metric per metric name.
	TagValues map[string][]string `yaml:"tag_values,omitempty" json:"tag_values,omitempty"`
}

// OtherTagValue is the dimension value of a tag value outside the allow-list
// (Metrics.TagValues and the keys' tags); UntaggedTagValue that of a request
// without the tag. Neither may be listed.
const (
	OtherTagValue    = "other"
	UntaggedTagValue = "untagged"
)

// DimensionValues returns, per tag dimension, the tag values that become
// CloudWatch dimension values: those listed in metrics.tag_values and those
// the keys' tags set, which the operator chose too. Every dimension has an
// entry, possibly empty (every value is then counted as OtherTagValue).
func (c *Config) DimensionValues() map[string][]string {
	out := make(map[string][]string, len(c.Metrics.TagDimensions))
	for _, d := range c.Metrics.TagDimensions {
		vals := slices.Clone(c.Metrics.TagValues[d])
		for i := range c.Keys {
			if v, ok := c.Keys[i].Tags[d]; ok && v != "" && !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		slices.Sort(vals)
		out[d] = vals
	}
	return out
}

// Limits bounds what a request may carry.
type Limits struct {
	// MaxBodyBytes caps a request body (default 8 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes,omitempty" json:"max_body_bytes,omitempty"`
	// BodyReadTimeout bounds the time to receive a request's body once its
	// headers are in (default 30s): a body trickled slower is refused with
	// 408 (the local server; Lambda has the body before the router runs).
	BodyReadTimeout Duration `yaml:"body_read_timeout,omitempty" json:"body_read_timeout,omitempty"`
	// BodyReadsPerKey bounds how many request bodies one key may be sending
	// at once (default 16); more get 429 until one ends.
	BodyReadsPerKey int `yaml:"body_reads_per_key,omitempty" json:"body_reads_per_key,omitempty"`
}

// Defaults used when the configuration leaves a value unset.
const (
	DefaultProviderTimeout = 60 * time.Second
	DefaultRouteTimeout    = 120 * time.Second
	DefaultStreamIdle      = 30 * time.Second
	DefaultMaxTokens       = 4096
	DefaultMaxBodyBytes    = 8 << 20
	DefaultBodyReadTimeout = 30 * time.Second
	DefaultBodyReadsPerKey = 16
)

// Duration is a time.Duration written as "30s" or "1m30s" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads a Go duration string. Its error is a *yaml.TypeError
// with the line, like the decoder's own, so Parse can name the field.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML writes a Go duration string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a duration must be a string such as \"30s\"")
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q (use a form such as 500ms, 30s or 2m)", s)
	}
	if v < 0 {
		return 0, fmt.Errorf("bad duration %q: must not be negative", s)
	}
	return Duration(v), nil
}

// AttemptTimeout is the total time allowed for one attempt on target t of
// model m at provider p.
func AttemptTimeout(p *Provider, m *Model, t *Target) time.Duration {
	switch {
	case t != nil && t.Timeout > 0:
		return t.Timeout.D()
	case m.Timeout > 0:
		return m.Timeout.D()
	case p.Timeout > 0:
		return p.Timeout.D()
	}
	return DefaultProviderTimeout
}

// UpstreamName is the provider's name for the model.
func (m *Model) UpstreamName() string {
	if m.Upstream != "" {
		return m.Upstream
	}
	return m.ID
}

// OutputLimit is the default output token limit for providers that need one:
// MaxTokens, else DefaultMaxTokens, never above the model's OutputCap.
func (m *Model) OutputLimit() int {
	limit := DefaultMaxTokens
	if m.MaxTokens > 0 {
		limit = m.MaxTokens
	}
	if c := m.OutputCap(); c > 0 && c < limit {
		return c
	}
	return limit
}

// OutputCap is the most tokens the model can write in one answer, 0 when
// unknown. A client's max_tokens above it can only fail or be cut short, so
// it is clamped to it before tokens are reserved.
func (m *Model) OutputCap() int { return m.MaxOutputTokens }
