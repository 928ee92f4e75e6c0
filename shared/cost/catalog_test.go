package cost_test

import (
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
)

func defaultCatalog(t *testing.T) *cost.Catalog {
	t.Helper()
	c, err := cost.DefaultCatalog()
	if err != nil {
		t.Fatalf("infra/pricing.yaml: %v", err)
	}
	return c
}

// Every model of the configurations the repository ships has a list price,
// so a user who deletes the `price:` lines still gets cost figures.
func TestCatalogCoversShippedConfigs(t *testing.T) {
	cat := defaultCatalog(t)
	configs := map[string]*config.Config{"built-in default": config.Default()}
	for _, path := range []string{"../../infra/config.example.yaml", "../../infra/config.events.yaml"} {
		c, err := config.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		configs[path] = c
	}
	for name, c := range configs {
		providers := map[string]*config.Provider{}
		for i := range c.Providers {
			providers[c.Providers[i].Name] = &c.Providers[i]
		}
		for i := range c.Models {
			m := &c.Models[i]
			e, ok := cat.Lookup(providers[m.Provider], m)
			if !ok {
				t.Errorf("%s: model %s (provider %s, upstream %s) has no catalog entry", name, m.ID, m.Provider, m.UpstreamName())
				continue
			}
			// The configuration's own price wins; say where the two differ so
			// a reviewer sees it, without failing: overriding is allowed.
			if p := m.Price; p != nil && (p.Input != e.Input || p.Output != e.Output) {
				t.Logf("%s: %s is priced %v/%v in the config, %v/%v in the catalog (%s, %s)",
					name, m.ID, p.Input, p.Output, e.Input, e.Output, e.Source, e.Date)
			}
		}
	}
}

func TestCatalogEntriesAreSourcedAndDated(t *testing.T) {
	cat := defaultCatalog(t)
	if len(cat.Entries()) < 10 {
		t.Fatalf("the catalog has %d entries", len(cat.Entries()))
	}
	for _, e := range cat.Entries() {
		if e.Source == "" || e.Date == "" || e.Input <= 0 && e.Provider != "mock" {
			t.Errorf("entry %s %s: source %q date %q input %v", e.Provider, e.Model, e.Source, e.Date, e.Input)
		}
		if e.CachedInput != nil && *e.CachedInput > e.Input {
			t.Errorf("entry %s %s: a cache read (%v) costs more than input (%v)", e.Provider, e.Model, *e.CachedInput, e.Input)
		}
	}
}

func TestCatalogProvider(t *testing.T) {
	cat := defaultCatalog(t)
	tests := []struct {
		p    config.Provider
		want string
	}{
		{config.Provider{Type: "anthropic", BaseURL: "http://127.0.0.1:9"}, "anthropic"},
		{config.Provider{Type: "bedrock"}, "bedrock"},
		{config.Provider{Type: "gemini"}, "gemini"},
		{config.Provider{Type: "mock"}, "mock"},
		{config.Provider{Type: "openai"}, "openai"},
		{config.Provider{Type: "openai", BaseURL: "https://api.openai.com/v1"}, "openai"},
		{config.Provider{Type: "openai", BaseURL: "https://API.DeepSeek.com/v1"}, "deepseek"},
		{config.Provider{Type: "openai", BaseURL: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"}, "qwen"},
		{config.Provider{Type: "openai", BaseURL: "http://127.0.0.1:8000/v1", Dialect: "mistral"}, "mistral"},
		{config.Provider{Type: "openai", BaseURL: "http://localhost:11434/v1"}, ""},
		{config.Provider{Type: "openai", BaseURL: "://bad"}, ""},
	}
	for _, tt := range tests {
		if got := cat.Provider(&tt.p); got != tt.want {
			t.Errorf("Provider(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestCatalogPrice(t *testing.T) {
	cat := defaultCatalog(t)
	deepseek := &config.Provider{Name: "ds", Type: "openai", BaseURL: "https://api.deepseek.com/v1"}
	bedrock := &config.Provider{Name: "br", Type: "bedrock", Region: "us-east-1"}
	own := &config.Price{Input: 9, Output: 9}
	tests := []struct {
		name       string
		p          *config.Provider
		m          config.Model
		wantInput  float64
		wantCached float64 // -1: no cached price
		wantNil    bool
	}{
		{"by upstream", deepseek, config.Model{ID: "fast", Upstream: "deepseek-v4-flash"}, 0.14, 0.0028, false},
		{"by alias", deepseek, config.Model{ID: "chat", Upstream: "deepseek-chat"}, 0.14, 0.0028, false},
		{"by id when the upstream is unknown", deepseek, config.Model{ID: "deepseek-v4-pro", Upstream: "internal-name"}, 0.435, -1, false},
		{"inference profile", bedrock, config.Model{ID: "claude", Upstream: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}, 3.30, 0.33, false},
		{"config price wins", deepseek, config.Model{ID: "fast", Upstream: "deepseek-v4-flash", Price: own}, 9, -1, false},
		{"unknown model", deepseek, config.Model{ID: "deepseek-v9"}, 0, 0, true},
		{"same name, other provider", bedrock, config.Model{ID: "gpt-4o"}, 0, 0, true},
	}
	for _, tt := range tests {
		got := cat.Price(tt.p, &tt.m)
		switch {
		case tt.wantNil:
			if got != nil {
				t.Errorf("%s: price %+v, want none", tt.name, got)
			}
		case got == nil:
			t.Errorf("%s: no price", tt.name)
		case got.Input != tt.wantInput:
			t.Errorf("%s: input %v, want %v", tt.name, got.Input, tt.wantInput)
		case tt.wantCached < 0 && got.CachedInput != nil, tt.wantCached >= 0 && (got.CachedInput == nil || *got.CachedInput != tt.wantCached):
			t.Errorf("%s: cached input %v, want %v", tt.name, got.CachedInput, tt.wantCached)
		}
	}
	if got := cat.Price(deepseek, &config.Model{ID: "x", Price: own}); got != own {
		t.Error("a configured price is not returned as it is")
	}
}

func TestParseCatalogRefuses(t *testing.T) {
	const ok = "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n"
	if _, err := cost.ParseCatalog([]byte(ok)); err != nil {
		t.Fatalf("a valid catalog: %v", err)
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"negative", "models:\n  - {provider: openai, model: m, input: -1, output: 2, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "negative"},
		{"negative cached", "models:\n  - {provider: openai, model: m, input: 1, output: 2, cached_input: -0.5, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "negative"},
		{"no source", "models:\n  - {provider: openai, model: m, input: 1, output: 2, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "source is required"},
		{"bad date", "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, date: 2026-13, max_output_tokens: 8, max_output_source: o}\n", "date"},
		{"no date", "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, max_output_tokens: 8, max_output_source: o}\n", "date"},
		{"no provider", "models:\n  - {model: m, input: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "provider and model"},
		{"twice", ok + "  - {provider: openai, model: n, aliases: [m], input: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "priced twice"},
		{"unknown field", "models:\n  - {provider: openai, model: m, inptu: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 8, max_output_source: o}\n", "inptu"},
		{"host twice", "hosts: {a: [x.example], b: [x.example]}\n" + ok, "listed for both"},
		{"no output limit", "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, date: 2026-01}\n", "max_output_tokens"},
		{"no output limit source", "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 8}\n", "max_output_source"},
		{"zero output limit", "models:\n  - {provider: openai, model: m, input: 1, output: 2, source: s, date: 2026-01, max_output_tokens: 0, max_output_source: o}\n", "max_output_tokens"},
		{"not yaml", "models: [", "pricing catalog"},
	}
	for _, tt := range tests {
		_, err := cost.ParseCatalog([]byte(tt.yaml))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

// Every catalog model has a published output limit, and models take it
// unless their configuration sets their own.
func TestCatalogOutputCap(t *testing.T) {
	cat := defaultCatalog(t)
	for _, e := range cat.Entries() {
		if e.MaxOutputTokens <= 0 || e.MaxOutputSource == "" {
			t.Errorf("entry %s %s: max_output_tokens %d, source %q", e.Provider, e.Model, e.MaxOutputTokens, e.MaxOutputSource)
		}
	}
	openai := &config.Provider{Name: "oa", Type: "openai"}
	anthropic := &config.Provider{Name: "an", Type: "anthropic"}
	local := &config.Provider{Name: "vllm", Type: "openai", BaseURL: "http://127.0.0.1:8000/v1"}
	tests := []struct {
		name string
		p    *config.Provider
		m    config.Model
		want int
	}{
		{"by upstream name", openai, config.Model{ID: "fast", Upstream: "gpt-4o-mini"}, 16384},
		{"by id", openai, config.Model{ID: "gpt-4o"}, 16384},
		{"by alias", anthropic, config.Model{ID: "claude", Upstream: "claude-sonnet-4-5-20250929"}, 64000},
		{"the configuration's own wins", anthropic, config.Model{ID: "claude-sonnet-4-5", MaxOutputTokens: 8192}, 8192},
		{"unknown model", openai, config.Model{ID: "gpt-9"}, 0},
		{"self-hosted", local, config.Model{ID: "llama"}, 0},
	}
	for _, tt := range tests {
		if got := cat.OutputCap(tt.p, &tt.m); got != tt.want {
			t.Errorf("%s: OutputCap = %d, want %d", tt.name, got, tt.want)
		}
	}
}
