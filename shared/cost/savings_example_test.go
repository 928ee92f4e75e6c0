package cost

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// The worked example of docs/OPERATIONS.md ("What prompt caching saves"):
// a month of traffic on infra/config.example.yaml's routes, each served by
// its first target, priced from the catalog. Every request repeats a
// 3,000-token prefix (the triage protocol: system prompt and tools).
// Providers that cache in blocks cache the prefix's whole blocks: OpenAI
// from 1,024 tokens in steps of 128, DeepSeek in 64-token units, 2,944
// either way. Explicit caches (Claude on Anthropic and Bedrock, with
// prompt_cache: auto) are assumed read by 95% of requests and written by
// the other 5% (cold starts, prompt edits); implicit ones (OpenAI, DeepSeek,
// Gemini) hit 80% of the time.
var savingsExample = []struct {
	route, model string
	requests     int
	explicit     bool
	cachedPrefix int // tokens a hit reads
}{
	{"triage-low", "deepseek-v4-flash", 300_000, false, 2_944},
	{"triage-medium", "gpt-4o-mini", 150_000, false, 2_944},
	{"triage-high", "claude-sonnet-4-5", 60_000, true, 3_000},
	{"triage-phi", "claude-sonnet-bedrock", 30_000, true, 3_000},
	{"chinese-intake", "qwen-max", 22_500, false, 0},
	{"chinese-intake", "deepseek-v4-flash", 7_500, false, 2_944},
}

// monthlySavings is what caching saves a route's traffic in a month, in USD.
func monthlySavings(price *config.Price, requests int, explicit bool, prefix int) float64 {
	hit := func(u llm.Usage, n int) float64 { return float64(n) * CacheSavings(price, u) }
	if explicit {
		reads, writes := requests*95/100, requests*5/100
		return hit(llm.Usage{PromptTokens: prefix + 500, CachedTokens: prefix}, reads) +
			hit(llm.Usage{PromptTokens: prefix + 500, CacheWriteTokens: prefix}, writes)
	}
	return hit(llm.Usage{PromptTokens: 3_500, CachedTokens: prefix}, requests*80/100)
}

func TestSavingsExample(t *testing.T) {
	cfg, err := config.LoadFile("../../infra/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	models := map[string]*config.Model{}
	for i := range cfg.Models {
		models[cfg.Models[i].ID] = &cfg.Models[i]
	}
	providers := map[string]*config.Provider{}
	for i := range cfg.Providers {
		providers[cfg.Providers[i].Name] = &cfg.Providers[i]
	}
	total := 0.0
	for _, ex := range savingsExample {
		m := models[ex.model]
		if m == nil {
			t.Fatalf("%s is not a model of the example configuration", ex.model)
		}
		usd := monthlySavings(cat.Price(providers[m.Provider], m), ex.requests, ex.explicit, ex.cachedPrefix)
		total += usd
		row := fmt.Sprintf("| %s | %s | %s | %.2f |", ex.route, ex.model, thousands(ex.requests), usd)
		if !strings.Contains(string(doc), row) {
			t.Errorf("docs/OPERATIONS.md lacks the row %q", row)
		}
	}
	if want := fmt.Sprintf("**%.2f USD a month**", total); !strings.Contains(string(doc), want) {
		t.Errorf("docs/OPERATIONS.md does not say %s", want)
	}
}

// thousands writes n with commas.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
