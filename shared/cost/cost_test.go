package cost

import (
	"math"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

func f(v float64) *float64 { return &v }

func TestUSD(t *testing.T) {
	gpt4o := &config.Price{Input: 2.50, Output: 10.00, CachedInput: f(1.25)}
	sonnet := &config.Price{Input: 3, Output: 15, CachedInput: f(0.30), CacheWrite: f(3.75)}
	tests := []struct {
		name  string
		price *config.Price
		usage llm.Usage
		want  float64
	}{
		// 1117*2.5 + 46*10 = 2792.5 + 460 = 3252.5 micro-USD
		{"openai plain", gpt4o, llm.Usage{PromptTokens: 1117, CompletionTokens: 46}, 0.0032525},
		// (1000-400)*2.5 + 400*1.25 + 100*10 = 1500 + 500 + 1000 = 3000
		{"openai cached", gpt4o, llm.Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 100}, 0.003},
		// (100)*3 + 2000*0.30 + 500*3.75 + 40*15 = 300 + 600 + 1875 + 600 = 3375
		{"anthropic cache read and write", sonnet,
			llm.Usage{PromptTokens: 2600, CachedTokens: 2000, CacheWriteTokens: 500, CompletionTokens: 40}, 0.003375},
		// no cached price: cached tokens at the input price
		{"cached without a cached price", &config.Price{Input: 1, Output: 2},
			llm.Usage{PromptTokens: 10, CachedTokens: 5, CompletionTokens: 1}, 0.000012},
		{"unpriced", nil, llm.Usage{PromptTokens: 10, CompletionTokens: 10}, 0},
	}
	for _, tt := range tests {
		if got := USD(tt.price, tt.usage); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: USD = %.12f, want %.12f", tt.name, got, tt.want)
		}
	}
}
