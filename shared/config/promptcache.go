package config

import "github.com/llm-router/router/shared/llm"

// Prompt-caching policies of a route.
const (
	// PromptCacheAuto marks the stable prefix of every request (tools, the
	// system prompt, earlier turns) for the providers that take markers,
	// and sets OpenAI's prompt_cache_key from the route's name when the
	// client sent none.
	PromptCacheAuto = "auto"
	// PromptCacheOff sends no cache marker, the client's included.
	PromptCacheOff = "off"
)

// Reasoning is a route's reasoning policy, in reasoning_effort's values
// (none, minimal, low, medium, high).
type Reasoning struct {
	// Default is the effort of a request that names none.
	Default string `yaml:"default,omitempty" json:"default,omitempty"`
	// Max caps the effort a request may ask for; a higher one is lowered
	// to it.
	Max string `yaml:"max,omitempty" json:"max,omitempty"`
}

// effortRank orders the reasoning efforts a route may name (xhigh, which
// few models take, is not one of them); -1 for any other value.
func effortRank(e string) int {
	if e == llm.EffortXHigh {
		return -1
	}
	return llm.EffortRank(e)
}

// validateCaching checks a route's prompt_cache and reasoning.
func validateCaching(ck *checker, f string, r *Route) {
	switch r.PromptCache {
	case "", PromptCacheAuto, PromptCacheOff:
	default:
		ck.add(f+".prompt_cache", "unknown policy %q (want auto or off; leave it out to send the client's markers as they are)", r.PromptCache)
	}
	rp := r.Reasoning
	if rp == nil {
		return
	}
	for _, v := range []struct{ field, value string }{{"default", rp.Default}, {"max", rp.Max}} {
		if v.value != "" && effortRank(v.value) < 0 {
			ck.add(f+".reasoning."+v.field, "unknown effort %q (want none, minimal, low, medium or high)", v.value)
		}
	}
	if rp.Default != "" && rp.Max != "" && effortRank(rp.Default) > effortRank(rp.Max) {
		ck.add(f+".reasoning.default", "%q is above the route's max %q", rp.Default, rp.Max)
	}
}
