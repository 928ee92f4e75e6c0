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
		// DeepSeek: (10000-8000)*0.14 + 8000*0.0028 + 500*0.28 = 280 + 22.4 + 140 = 442.4
		{"deepseek cache hit", &config.Price{Input: 0.14, Output: 0.28, CachedInput: f(0.0028)},
			llm.Usage{PromptTokens: 10000, CachedTokens: 8000, CompletionTokens: 500}, 0.0004424},
		// Gemini (thoughts are in CompletionTokens): 600*0.30 + 400*0.03 + 300*2.5 = 180 + 12 + 750 = 942
		{"gemini cached content", &config.Price{Input: 0.30, Output: 2.50, CachedInput: f(0.03)},
			llm.Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 300, ReasoningTokens: 100}, 0.000942},
		// Bedrock: 10*3.3 + 100*0.33 + 20*4.125 + 5*16.5 = 33 + 33 + 82.5 + 82.5 = 231
		{"bedrock cache read and write", &config.Price{Input: 3.30, Output: 16.50, CachedInput: f(0.33), CacheWrite: f(4.125)},
			llm.Usage{PromptTokens: 130, CachedTokens: 100, CacheWriteTokens: 20, CompletionTokens: 5}, 0.000231},
		// Embeddings: input only. 1234*0.02 = 24.68
		{"embeddings", &config.Price{Input: 0.02}, llm.Usage{PromptTokens: 1234}, 0.00002468},
		// A provider reporting more cached than prompt tokens is not billed a
		// negative uncached share: 0*1 + 12*0.5 = 6
		{"cached over prompt", &config.Price{Input: 1, Output: 2, CachedInput: f(0.5)},
			llm.Usage{PromptTokens: 10, CachedTokens: 12}, 0.000006},
		// A million tokens of each at list price is the price itself: 2.5 + 10
		{"one million each", gpt4o, llm.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}, 12.5},
		{"no usage", gpt4o, llm.Usage{}, 0},
		// One-hour writes at the one-hour rate: 100*3 + 300*3.75 + 200*6 + 10*15 = 300 + 1125 + 1200 + 150 = 2775
		{"anthropic one-hour writes", &config.Price{Input: 3, Output: 15, CachedInput: f(0.30), CacheWrite: f(3.75), CacheWrite1h: f(6)},
			llm.Usage{PromptTokens: 600, CacheWriteTokens: 500, CacheWrite1hTokens: 200, CompletionTokens: 10}, 0.002775},
		// Without a one-hour price: twice the input price, Anthropic's rate. 200*6 = 1200
		{"one-hour writes by default", sonnet, llm.Usage{PromptTokens: 200, CacheWriteTokens: 200, CacheWrite1hTokens: 200}, 0.0012},
		// More one-hour writes than writes: no more than the writes are billed. 10*6 = 60
		{"one-hour over writes", sonnet, llm.Usage{PromptTokens: 10, CacheWriteTokens: 10, CacheWrite1hTokens: 50}, 0.00006},
	}
	for _, tt := range tests {
		// The acceptance bound is 1e-9 USD; the arithmetic holds to 1e-12.
		if got := USD(tt.price, tt.usage); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: USD = %.12f, want %.12f", tt.name, got, tt.want)
		}
	}
}

func TestCacheSavings(t *testing.T) {
	sonnet := &config.Price{Input: 3, Output: 15, CachedInput: f(0.30), CacheWrite: f(3.75)}
	tests := []struct {
		name  string
		price *config.Price
		usage llm.Usage
		want  float64
	}{
		// 2000 reads save 2000*(3-0.30) = 5400; 500 writes cost 500*(3.75-3) = 375 more
		{"reads and writes", sonnet, llm.Usage{PromptTokens: 2600, CachedTokens: 2000, CacheWriteTokens: 500}, 0.005025},
		// Writes alone cost more than input: -1000*0.75 = -750
		{"writes only", sonnet, llm.Usage{PromptTokens: 1000, CacheWriteTokens: 1000}, -0.00075},
		// One-hour writes at twice the input price: -100*3 = -300
		{"one-hour writes", sonnet, llm.Usage{PromptTokens: 100, CacheWriteTokens: 100, CacheWrite1hTokens: 100}, -0.0003},
		// OpenAI: 400*(2.5-1.25) = 500
		{"openai", &config.Price{Input: 2.5, Output: 10, CachedInput: f(1.25)}, llm.Usage{PromptTokens: 1000, CachedTokens: 400}, 0.0005},
		{"no cache", sonnet, llm.Usage{PromptTokens: 1000, CompletionTokens: 5}, 0},
		{"unpriced", nil, llm.Usage{PromptTokens: 1000, CachedTokens: 900}, 0},
	}
	for _, tt := range tests {
		if got := CacheSavings(tt.price, tt.usage); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: CacheSavings = %.12f, want %.12f", tt.name, got, tt.want)
		}
		// What the tokens would have cost uncached, less the savings, is
		// what they cost.
		if tt.price != nil {
			uncached := USD(tt.price, llm.Usage{PromptTokens: tt.usage.PromptTokens, CompletionTokens: tt.usage.CompletionTokens})
			if got := USD(tt.price, tt.usage) + CacheSavings(tt.price, tt.usage); math.Abs(got-uncached) > 1e-12 {
				t.Errorf("%s: cost %.12f + savings does not give the uncached cost %.12f", tt.name, got, uncached)
			}
		}
	}
}
