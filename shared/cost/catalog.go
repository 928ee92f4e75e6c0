package cost

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/infra"
	"github.com/llm-router/router/shared/config"
)

// Catalog is the list-price catalog (infra/pricing.yaml): a price per
// provider and upstream model name, each with its source and date. It prices
// the models a configuration leaves unpriced; a model's own price always wins.
// A Catalog is read-only once parsed and safe for concurrent use.
type Catalog struct {
	entries []*Entry
	byName  map[catalogKey]*Entry
	// hosts maps an API host to the catalog provider it belongs to, for
	// openai-type providers that name no dialect.
	hosts map[string]string
}

type catalogKey struct{ provider, model string }

// Entry is one model's list price.
type Entry struct {
	// Provider is the catalog provider: a provider type (anthropic, gemini,
	// bedrock, azure, mock) or the dialect of an OpenAI-compatible API
	// (openai, deepseek, mistral, qwen, ...).
	Provider string `yaml:"provider"`
	// Model is the provider's own model name, as a model's upstream names it.
	Model string `yaml:"model"`
	// Aliases are other names the provider bills the same (dated snapshots,
	// retired aliases, other inference profiles).
	Aliases []string `yaml:"aliases,omitempty"`
	// Input, Output, CachedInput and CacheWrite are USD per 1M tokens, with
	// config.Price's meaning.
	Input       float64  `yaml:"input"`
	Output      float64  `yaml:"output"`
	CachedInput *float64 `yaml:"cached_input,omitempty"`
	CacheWrite  *float64 `yaml:"cache_write,omitempty"`
	// CacheWrite1h prices writes to the one-hour cache (Anthropic, Bedrock).
	CacheWrite1h *float64 `yaml:"cache_write_1h,omitempty"`
	// Source says where the figure was read; Date when (YYYY-MM or YYYY-MM-DD).
	Source string `yaml:"source"`
	Date   string `yaml:"date"`
	// MaxOutputTokens is the most the model writes in one answer, its
	// provider's published limit; MaxOutputSource says where it was read.
	MaxOutputTokens int    `yaml:"max_output_tokens"`
	MaxOutputSource string `yaml:"max_output_source"`

	price config.Price
}

// Price is the entry as a configuration price. It is shared: do not modify it.
func (e *Entry) Price() *config.Price { return &e.price }

type catalogFile struct {
	Hosts  map[string][]string `yaml:"hosts"`
	Models []*Entry            `yaml:"models"`
}

var datePattern = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$`)

// ParseCatalog reads a catalog in infra/pricing.yaml's format. Every entry
// needs a provider, a model, non-negative prices, a source and a date, and a
// positive output limit with its source; a name may appear once per provider,
// aliases included.
func ParseCatalog(data []byte) (*Catalog, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f catalogFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pricing catalog: %w", err)
	}
	c := &Catalog{entries: f.Models, byName: make(map[catalogKey]*Entry, 2*len(f.Models)),
		hosts: make(map[string]string)}
	var errs []error
	for provider, hosts := range f.Hosts {
		for _, h := range hosts {
			h = strings.ToLower(h)
			if other, dup := c.hosts[h]; dup {
				errs = append(errs, fmt.Errorf("hosts: %s is listed for both %s and %s", h, other, provider))
			}
			c.hosts[h] = provider
		}
	}
	for i, e := range f.Models {
		if e == nil {
			errs = append(errs, fmt.Errorf("models[%d]: empty entry", i))
			continue
		}
		at := fmt.Sprintf("models[%d] (%s %s)", i, e.Provider, e.Model)
		if e.Provider == "" || e.Model == "" {
			errs = append(errs, fmt.Errorf("%s: provider and model are required", at))
		}
		for _, v := range []*float64{&e.Input, &e.Output, e.CachedInput, e.CacheWrite, e.CacheWrite1h} {
			if v != nil && (*v < 0 || math.IsNaN(*v) || math.IsInf(*v, 0)) {
				errs = append(errs, fmt.Errorf("%s: prices must be finite and not negative", at))
				break
			}
		}
		if strings.TrimSpace(e.Source) == "" {
			errs = append(errs, fmt.Errorf("%s: source is required (where the price was read)", at))
		}
		if !datePattern.MatchString(e.Date) {
			errs = append(errs, fmt.Errorf("%s: date %q: want YYYY-MM or YYYY-MM-DD", at, e.Date))
		}
		if e.MaxOutputTokens <= 0 || strings.TrimSpace(e.MaxOutputSource) == "" {
			errs = append(errs, fmt.Errorf("%s: max_output_tokens (positive) and max_output_source are required", at))
		}
		e.price = config.Price{Input: e.Input, Output: e.Output, CachedInput: e.CachedInput, CacheWrite: e.CacheWrite,
			CacheWrite1h: e.CacheWrite1h}
		for _, name := range append([]string{e.Model}, e.Aliases...) {
			k := catalogKey{e.Provider, name}
			if _, dup := c.byName[k]; dup {
				errs = append(errs, fmt.Errorf("%s: %s %s is priced twice", at, e.Provider, name))
			}
			c.byName[k] = e
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("pricing catalog: %w", errors.Join(errs...))
	}
	return c, nil
}

// DefaultCatalog is the catalog compiled into the router from infra/pricing.yaml.
func DefaultCatalog() (*Catalog, error) { return ParseCatalog(infra.PricingYAML()) }

// Entries lists the catalog's entries in file order.
func (c *Catalog) Entries() []*Entry { return c.entries }

// Provider names the catalog provider that bills for p: its type, or for an
// OpenAI-compatible provider its dialect, else the vendor whose API host its
// base_url names (no base_url means OpenAI's own API). It is "" for a host the
// catalog does not know, such as a self-hosted server.
func (c *Catalog) Provider(p *config.Provider) string {
	if p.Type != config.TypeOpenAI {
		return p.Type
	}
	if p.Dialect != "" {
		return p.Dialect
	}
	if p.BaseURL == "" {
		return "openai"
	}
	u, err := url.Parse(p.BaseURL)
	if err != nil {
		return ""
	}
	return c.hosts[strings.ToLower(u.Hostname())]
}

// Lookup finds the entry for model m served by provider p: by its upstream
// name, then by its model id.
func (c *Catalog) Lookup(p *config.Provider, m *config.Model) (*Entry, bool) {
	provider := c.Provider(p)
	if provider == "" {
		return nil, false
	}
	if e, ok := c.byName[catalogKey{provider, m.UpstreamName()}]; ok {
		return e, true
	}
	e, ok := c.byName[catalogKey{provider, m.ID}]
	return e, ok
}

// OutputCap is the most tokens model m served by provider p writes in one
// answer: the configuration's max_output_tokens when it sets one, else the
// catalog's published limit, else 0 (unknown).
func (c *Catalog) OutputCap(p *config.Provider, m *config.Model) int {
	if m.MaxOutputTokens > 0 {
		return m.MaxOutputTokens
	}
	if e, ok := c.Lookup(p, m); ok {
		return e.MaxOutputTokens
	}
	return 0
}

// Price is the price of model m served by provider p: the configuration's
// own when it sets one, else the catalog's, else nil (unpriced).
func (c *Catalog) Price(p *config.Provider, m *config.Model) *config.Price {
	if m.Price != nil {
		return m.Price
	}
	if e, ok := c.Lookup(p, m); ok {
		return e.Price()
	}
	return nil
}
