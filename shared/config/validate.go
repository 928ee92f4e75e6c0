package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/llm-router/router/shared/secret"
)

// FieldError is one validation failure, naming the field as a path such as
// routes[1].targets[0].model.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError lists every problem found in a configuration.
type ValidationError struct {
	Errors []*FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return "config: " + strings.Join(msgs, "; ")
}

var (
	hashPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$`)
	tagPattern  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	// apiVersionPattern is Azure OpenAI's dated api-version.
	apiVersionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)
)

// reservedDimensions are the names the EMF line already uses (dimensions,
// metrics and context members); a tag dimension may not reuse them.
var reservedDimensions = []string{"Route", "Model", "Provider", "Requests", "Errors", "Fallbacks",
	"LatencyMs", "TimeToFirstByteMs", "PromptTokens", "CompletionTokens", "CachedTokens", "CacheWriteTokens",
	"CostUSD", "CacheSavingsUSD", "request_id", "status", "CacheHits", "CacheSavedUSD"}

// MaxTagDimensions bounds metrics.tag_dimensions: each is one dimension set on
// every metrics line, and CloudWatch bills every distinct combination.
const MaxTagDimensions = 10

// MaxTagValues bounds metrics.tag_values per dimension: each value is one
// CloudWatch metric per metric name (11 of them) at list price.
const MaxTagValues = 50

type checker struct{ errs []*FieldError }

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Validate checks every rule of the configuration and reports all failures.
func (c *Config) Validate() error {
	var ck checker
	providers := c.validateProviders(&ck)
	models := c.validateModels(&ck, providers)
	routes := c.validateRoutes(&ck, providers, models)
	for i := range c.Routes {
		c.validateRules(&ck, fmt.Sprintf("routes[%d]", i), &c.Routes[i], routes)
	}
	c.validateDataClasses(&ck)
	c.validateKeys(&ck, routes, models)
	c.validateMetrics(&ck)
	c.validateHealth(&ck)
	c.validateBudgets(&ck)
	c.validateSchemas(&ck)
	c.validateBenchmarks(&ck)
	if c.Limits.MaxBodyBytes < 0 {
		ck.add("limits.max_body_bytes", "must not be negative")
	}
	if c.Limits.BodyReadsPerKey < 0 {
		ck.add("limits.body_reads_per_key", "must not be negative")
	}
	if len(ck.errs) > 0 {
		return &ValidationError{Errors: ck.errs}
	}
	return nil
}

func (c *Config) validateProviders(ck *checker) map[string]*Provider {
	byName := make(map[string]*Provider, len(c.Providers))
	for i := range c.Providers {
		p := &c.Providers[i]
		f := fmt.Sprintf("providers[%d]", i)
		switch {
		case p.Name == "":
			ck.add(f+".name", "is required")
		case !namePattern.MatchString(p.Name):
			ck.add(f+".name", "%q must be letters, digits and . _ : / @ + -", p.Name)
		case byName[p.Name] != nil:
			ck.add(f+".name", "duplicate provider %q", p.Name)
		default:
			byName[p.Name] = p
		}
		switch p.Type {
		case TypeOpenAI, TypeAnthropic, TypeGemini:
		case TypeAzure:
			if p.BaseURL == "" {
				ck.add(f+".base_url", "is required for azure (https://RESOURCE.openai.azure.com)")
			}
			if p.Key == "" {
				ck.add(f+".key", "is required for azure (the api-key; Entra ID tokens are not supported)")
			}
			if v := p.APIVersion; v != "" && v != "v1" && !apiVersionPattern.MatchString(v) {
				ck.add(f+".api_version", "%q is not an Azure api-version (YYYY-MM-DD, YYYY-MM-DD-preview, or v1)", v)
			}
		case TypeBedrock:
			if p.Key != "" {
				ck.add(f+".key", "bedrock uses the function's IAM role; remove the key")
			}
			if p.Probe == "models" {
				ck.add(f+".probe", "bedrock has no models listing in its runtime API; use chat (the default)")
			}
		case TypeMock:
			if m := p.Mock; m != nil {
				if m.FailRate < 0 || m.FailRate > 1 {
					ck.add(f+".mock.fail_rate", "must be between 0 and 1")
				}
				if m.FailStatus != 0 && (m.FailStatus < 400 || m.FailStatus > 599) {
					ck.add(f+".mock.fail_status", "must be an HTTP error status (400-599)")
				}
			}
		case "":
			ck.add(f+".type", "is required (openai, azure, anthropic, gemini, bedrock or mock)")
		default:
			ck.add(f+".type", "unknown provider type %q (want openai, azure, anthropic, gemini, bedrock or mock)", p.Type)
		}
		if p.Dialect != "" {
			switch {
			case p.Type != TypeOpenAI:
				ck.add(f+".dialect", "is only for openai providers")
			case !slices.Contains(Dialects, p.Dialect):
				ck.add(f+".dialect", "unknown dialect %q (want one of %s)", p.Dialect, strings.Join(Dialects, ", "))
			}
		}
		if p.Mock != nil && p.Type != TypeMock {
			ck.add(f+".mock", "is only allowed on a mock provider")
		}
		if p.BaseURL != "" {
			u, err := url.Parse(p.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				ck.add(f+".base_url", "%q is not an http(s) URL", p.BaseURL)
			}
		}
		if p.Key != "" {
			if _, err := secret.ParseRef(p.Key); err != nil {
				ck.add(f+".key", "%v", err)
			}
		}
		for j, tag := range p.Compliance {
			if !tagPattern.MatchString(tag) {
				ck.add(fmt.Sprintf("%s.compliance[%d]", f, j), "bad tag %q", tag)
			}
		}
		for h := range p.Headers {
			if strings.EqualFold(h, "authorization") || strings.EqualFold(h, "x-api-key") || strings.EqualFold(h, "api-key") {
				ck.add(f+".headers", "%s would carry a secret; use key: with a reference instead", h)
			}
		}
		switch p.Probe {
		case "", "models", "chat":
		default:
			ck.add(f+".probe", "must be models or chat")
		}
	}
	return byName
}

func (c *Config) validateModels(ck *checker, providers map[string]*Provider) map[string]*Model {
	byID := make(map[string]*Model, len(c.Models))
	for i := range c.Models {
		m := &c.Models[i]
		f := fmt.Sprintf("models[%d]", i)
		switch {
		case m.ID == "":
			ck.add(f+".id", "is required")
		case !namePattern.MatchString(m.ID):
			ck.add(f+".id", "%q must be letters, digits and . _ : / @ + -", m.ID)
		case byID[m.ID] != nil:
			ck.add(f+".id", "duplicate model %q", m.ID)
		default:
			byID[m.ID] = m
		}
		if m.Provider == "" {
			ck.add(f+".provider", "is required")
		} else if providers[m.Provider] == nil {
			ck.add(f+".provider", "unknown provider %q", m.Provider)
		}
		if p := m.Price; p != nil {
			if p.Input < 0 || p.Output < 0 || (p.CachedInput != nil && *p.CachedInput < 0) || (p.CacheWrite != nil && *p.CacheWrite < 0) ||
				(p.CacheWrite1h != nil && *p.CacheWrite1h < 0) {
				ck.add(f+".price", "prices must not be negative")
			}
		}
		if m.ContextWindow < 0 {
			ck.add(f+".context_window", "must not be negative")
		}
		if m.MaxTokens < 0 {
			ck.add(f+".max_tokens", "must not be negative")
		}
		switch {
		case m.MaxOutputTokens < 0:
			ck.add(f+".max_output_tokens", "must not be negative")
		case m.MaxOutputTokens > 0 && m.MaxTokens > m.MaxOutputTokens:
			ck.add(f+".max_tokens", "%d is above the model's max_output_tokens (%d): the provider would refuse it", m.MaxTokens, m.MaxOutputTokens)
		}
	}
	return byID
}

func (c *Config) validateRoutes(ck *checker, providers map[string]*Provider, models map[string]*Model) map[string]*Route {
	byName := make(map[string]*Route, len(c.Routes))
	for i := range c.Routes {
		r := &c.Routes[i]
		f := fmt.Sprintf("routes[%d]", i)
		switch {
		case r.Name == "":
			ck.add(f+".name", "is required")
		case !namePattern.MatchString(r.Name):
			ck.add(f+".name", "%q must be letters, digits and . _ : / @ + -", r.Name)
		case byName[r.Name] != nil:
			ck.add(f+".name", "duplicate route %q", r.Name)
		case models[r.Name] != nil:
			ck.add(f+".name", "route %q has the same name as a model; clients could not tell them apart", r.Name)
		default:
			byName[r.Name] = r
		}
		switch r.Strategy {
		case "", StrategyOrdered, StrategyWeighted, StrategyLatency, StrategyCost:
		default:
			ck.add(f+".strategy", "unknown strategy %q (want ordered, weighted, latency or cost)", r.Strategy)
		}
		if len(r.Targets) == 0 {
			ck.add(f+".targets", "a route needs at least one target")
		}
		c.validateStructured(ck, f, r)
		c.validateDetect(ck, f+".detect", r.Detect)
		validateCache(ck, f+".cache", r.Cache)
		validateCaching(ck, f, r)
		seen := map[string]bool{}
		satisfiable := false
		for j, t := range r.Targets {
			tf := fmt.Sprintf("%s.targets[%d]", f, j)
			m := models[t.Model]
			switch {
			case t.Model == "":
				ck.add(tf+".model", "is required")
			case m == nil:
				ck.add(tf+".model", "unknown model %q", t.Model)
			case seen[t.Model]:
				ck.add(tf+".model", "model %q appears twice in this route", t.Model)
			}
			seen[t.Model] = true
			if t.Weight < 0 {
				ck.add(tf+".weight", "must not be negative")
			}
			if m != nil {
				if p := providers[m.Provider]; p != nil && HasTags(p.Compliance, r.Require) {
					satisfiable = true
				}
			}
		}
		if len(r.Require) > 0 && len(r.Targets) > 0 && !satisfiable {
			ck.add(f+".require", "no target's provider has all of %v, so the route could never serve a request", r.Require)
		}
	}
	return byName
}

func (c *Config) validateKeys(ck *checker, routes map[string]*Route, models map[string]*Model) {
	ids := map[string]bool{}
	hashes := map[string]bool{}
	for i := range c.Keys {
		k := &c.Keys[i]
		f := fmt.Sprintf("keys[%d]", i)
		switch {
		case k.ID == "":
			ck.add(f+".id", "is required")
		case !namePattern.MatchString(k.ID):
			// The id names the key's counters in the state table and its
			// audit lines; '#' would collide with the counter key separator.
			ck.add(f+".id", "%q must be letters, digits and . _ : / @ + -", k.ID)
		case ids[k.ID]:
			ck.add(f+".id", "duplicate key id %q", k.ID)
		}
		ids[k.ID] = true
		switch {
		case !hashPattern.MatchString(k.Hash):
			ck.add(f+".hash", "must be sha256: followed by 64 lowercase hex digits (the key itself is never stored)")
		case hashes[k.Hash]:
			ck.add(f+".hash", "two keys have the same hash")
		}
		hashes[k.Hash] = true
		for j, r := range k.Routes {
			switch {
			case r == "*" || routes[r] != nil:
			case models[r] != nil:
				ck.add(fmt.Sprintf("%s.routes[%d]", f, j), "%q is a model id: list it under models to call it directly", r)
			default:
				ck.add(fmt.Sprintf("%s.routes[%d]", f, j), "unknown route %q", r)
			}
		}
		for j, m := range k.Models {
			if m != "*" && models[m] == nil {
				ck.add(fmt.Sprintf("%s.models[%d]", f, j), "unknown model %q", m)
			}
		}
		if k.DataClass != "" {
			if _, ok := c.DataClasses[k.DataClass]; !ok {
				ck.add(f+".data_class", "unknown data class %q (declare it under data_classes)", k.DataClass)
			}
		}
		c.validateDetect(ck, f+".detect", k.Detect)
		if k.RPM < 0 {
			ck.add(f+".rpm", "must not be negative")
		}
		if k.TPM < 0 {
			ck.add(f+".tpm", "must not be negative")
		}
		if k.Budget != nil {
			classTags := c.DataClasses[k.DataClass].Require
			if k.Budget.MonthlyUSD <= 0 {
				ck.add(f+".budget.monthly_usd", "must be positive (remove budget for no limit; set disabled: true to stop the key)")
			}
			c.validateDowngrade(ck, f+".budget.on_budget", k.Budget.OnBudget, classTags)
		}
		for name, v := range k.Tags {
			if !tagPattern.MatchString(name) {
				ck.add(f+".tags", "bad tag name %q", name)
			}
			// A key's tag values become metric dimensions and audit fields:
			// the same rule as a request's x-router-tags values.
			if len(v) > 128 || !printable(v) {
				ck.add(f+".tags."+name, "the value must be at most 128 printable bytes")
			}
		}
	}
}

func (c *Config) validateMetrics(ck *checker) {
	dims := c.Metrics.TagDimensions
	if len(dims) > MaxTagDimensions {
		ck.add("metrics.tag_dimensions", "at most %d tag dimensions (each multiplies CloudWatch metrics)", MaxTagDimensions)
	}
	for i, d := range dims {
		f := fmt.Sprintf("metrics.tag_dimensions[%d]", i)
		switch {
		case !tagPattern.MatchString(d):
			ck.add(f, "bad tag name %q", d)
		case slices.Contains(reservedDimensions, d):
			ck.add(f, "%q is a name the router's metrics line already uses", d)
		case slices.Index(dims, d) != i:
			ck.add(f, "duplicate tag dimension %q", d)
		}
	}
	for _, d := range slices.Sorted(maps.Keys(c.Metrics.TagValues)) {
		vals := c.Metrics.TagValues[d]
		f := "metrics.tag_values." + d
		if !slices.Contains(dims, d) {
			ck.add(f, "%q is not one of metrics.tag_dimensions", d)
			continue
		}
		if len(vals) > MaxTagValues {
			ck.add(f, "at most %d values per tag (each is a CloudWatch metric per metric name)", MaxTagValues)
		}
		for i, v := range vals {
			vf := fmt.Sprintf("%s[%d]", f, i)
			switch {
			case !dimensionValueOK(v):
				ck.add(vf, "%q is not a dimension value CloudWatch takes (printable ASCII, not blank, at most %d bytes)", v, maxTagValueLen)
			case v == OtherTagValue || v == UntaggedTagValue:
				ck.add(vf, "%q is the value the router itself uses for unlisted or missing tags", v)
			case slices.Index(vals, v) != i:
				ck.add(vf, "duplicate value %q", v)
			}
		}
	}
}

// dimensionValueOK reports whether v can be a CloudWatch dimension value as
// it is: printable ASCII, not blank, not too long.
func dimensionValueOK(v string) bool {
	if len(v) == 0 || len(v) > maxTagValueLen || strings.TrimSpace(v) == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

// EffectiveWeight is the target's weight, 1 when unset.
func (t Target) EffectiveWeight() int {
	if t.Weight == 0 {
		return 1
	}
	return t.Weight
}

// HasTags reports whether have includes every tag of want.
func HasTags(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// ErrNoKeys marks a configuration without router keys where one is required.
var ErrNoKeys = errors.New("config: no router keys are configured; the Lambda router never runs open")

// ErrNotConfigured marks a store that holds no configuration yet: a freshly
// deployed config table before scripts/seed has written one. Routers answer
// it with 503 router_not_configured and pick the configuration up, without
// a restart, once it is seeded.
var ErrNotConfigured = errors.New("config: no configuration has been seeded yet (run scripts/seed)")
