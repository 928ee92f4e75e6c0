// Package cost prices a request from the usage its provider reported.
package cost

import (
	"math"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// rates are a price's per-token-kind rates, defaults applied.
type rates struct{ input, output, cached, write, write1h float64 }

func ratesOf(p *config.Price) rates {
	r := rates{input: p.Input, output: p.Output, cached: p.Input, write: p.Input, write1h: 2 * p.Input}
	if p.CachedInput != nil {
		r.cached = *p.CachedInput
	}
	if p.CacheWrite != nil {
		r.write = *p.CacheWrite
	}
	if p.CacheWrite1h != nil {
		r.write1h = *p.CacheWrite1h
	}
	return r
}

// writes splits cache writes into five-minute and one-hour ones.
func writes(u llm.Usage) (w5m, w1h int) {
	w1h = min(max(u.CacheWrite1hTokens, 0), u.CacheWriteTokens)
	return u.CacheWriteTokens - w1h, w1h
}

// USD is the cost of usage at price p (USD per 1M tokens). Cached prompt
// tokens are billed at the cached-input price and cache writes at the
// cache-write price (one-hour writes at the one-hour rate), each defaulting
// as config.Price says; a nil price costs 0.
func USD(p *config.Price, u llm.Usage) float64 {
	if p == nil {
		return 0
	}
	r := ratesOf(p)
	uncached := max(u.PromptTokens-u.CachedTokens-u.CacheWriteTokens, 0)
	w5m, w1h := writes(u)
	micro := float64(uncached)*r.input +
		float64(u.CachedTokens)*r.cached +
		float64(w5m)*r.write + float64(w1h)*r.write1h +
		float64(u.CompletionTokens)*r.output
	return round(micro)
}

// CacheSavings is what prompt caching saved on usage at price p: what the
// cached and cache-written tokens would have cost at the input price, less
// what they cost. Writes cost more than input, so a request that only
// writes saved a negative amount; the reads that follow pay it back.
func CacheSavings(p *config.Price, u llm.Usage) float64 {
	if p == nil || u.CachedTokens == 0 && u.CacheWriteTokens == 0 {
		return 0
	}
	r := ratesOf(p)
	w5m, w1h := writes(u)
	micro := float64(u.CachedTokens)*(r.input-r.cached) -
		float64(w5m)*(r.write-r.input) - float64(w1h)*(r.write1h-r.input)
	return round(micro)
}

// round turns USD per 1M tokens times tokens into USD, rounded to 1e-12
// USD: below any price's precision, and it keeps float noise
// (3.5000000000000004e-06) out of headers and audit lines.
func round(micro float64) float64 { return math.Round(micro*1e6) / 1e12 }
