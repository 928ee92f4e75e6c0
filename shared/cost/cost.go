// Package cost prices a request from the usage its provider reported.
package cost

import (
	"math"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// USD is the cost of usage at price p (USD per 1M tokens). Cached prompt
// tokens are billed at the cached-input price and cache writes at the
// cache-write price, each defaulting to the input price; a nil price costs 0.
func USD(p *config.Price, u llm.Usage) float64 {
	if p == nil {
		return 0
	}
	cachedPrice, writePrice := p.Input, p.Input
	if p.CachedInput != nil {
		cachedPrice = *p.CachedInput
	}
	if p.CacheWrite != nil {
		writePrice = *p.CacheWrite
	}
	uncached := u.PromptTokens - u.CachedTokens - u.CacheWriteTokens
	if uncached < 0 {
		uncached = 0
	}
	micro := float64(uncached)*p.Input +
		float64(u.CachedTokens)*cachedPrice +
		float64(u.CacheWriteTokens)*writePrice +
		float64(u.CompletionTokens)*p.Output
	// Round to 1e-12 USD: below any price's precision, and it keeps float
	// noise (3.5000000000000004e-06) out of headers and audit lines.
	return math.Round(micro*1e6) / 1e12
}
