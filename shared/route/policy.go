package route

import (
	"strconv"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// Policy is what a route changes in each attempt's request: prompt-cache
// markers and the reasoning effort. The zero Policy changes nothing.
type Policy struct {
	// PromptCache is "" (the client's markers as they are),
	// config.PromptCacheAuto or config.PromptCacheOff.
	PromptCache string
	// Effort is the reasoning effort of a request that names none;
	// MaxEffort caps the request's.
	Effort, MaxEffort string
	// cacheKey is the prompt_cache_key auto sets: the route's name.
	cacheKey string
}

func compilePolicy(r *config.Route) Policy {
	p := Policy{PromptCache: r.PromptCache, cacheKey: r.Name}
	if r.Reasoning != nil {
		p.Effort, p.MaxEffort = r.Reasoning.Default, r.Reasoning.Max
	}
	return p
}

// Apply returns req as an attempt on target t sends it under the policy:
//
//   - the reasoning effort is the client's, else the route's default, and
//     never above the route's max; the body says the same, for adapters
//     that relay it;
//   - auto sets prompt_cache_key to the route's name when the client sent
//     none (OpenAI and Azure send it; the other adapters ignore it), and,
//     for providers that take cache markers (Anthropic, Bedrock), marks the
//     stable prefix: the last tool, the last system message, and the ends
//     of earlier turns, latest first, while the request has fewer than
//     llm.MaxCacheMarkers markers, the client's included;
//   - off removes every marker, from the request and the body.
//
// Markers and the key go in the parsed request only: adapters that relay
// the body write what their upstream takes. req itself, shared between
// attempts, is never modified; it is returned as it is when nothing
// changes.
func (p *Policy) Apply(req *llm.Request, t *Target) (*llm.Request, error) {
	c := req.Chat
	if c == nil || p.PromptCache == "" && p.Effort == "" && p.MaxEffort == "" {
		return req, nil
	}
	out, chat := *req, *c
	changed := false
	effort := c.ReasoningEffort
	if effort == "" {
		effort = p.Effort
	}
	if effort = llm.CapEffort(effort, p.MaxEffort); effort != c.ReasoningEffort {
		body, err := rawjson.Set(out.Body, "reasoning_effort", strconv.AppendQuote(nil, effort))
		if err != nil {
			return nil, err
		}
		out.Body, chat.ReasoningEffort, changed = body, effort, true
	}
	switch p.PromptCache {
	case config.PromptCacheOff:
		if c.CacheMarked() {
			body, err := llm.Strip(out.Body, llm.StripCache)
			if err != nil {
				return nil, err
			}
			chat = *chat.WithoutCacheMarkers()
			out.Body, changed = body, true
		}
	case config.PromptCacheAuto:
		if chat.PromptCacheKey == "" {
			chat.PromptCacheKey, changed = p.cacheKey, true
		}
		if takesMarkers(t) && markPrefix(&chat) {
			changed = true
		}
	}
	if !changed {
		return req, nil
	}
	out.Chat = &chat
	return &out, nil
}

// takesMarkers reports whether t's provider reads cache markers.
func takesMarkers(t *Target) bool {
	return t != nil && t.Provider != nil && (t.Provider.Type == config.TypeAnthropic || t.Provider.Type == config.TypeBedrock)
}

// markPrefix adds the auto policy's markers to c, copying the slices it
// changes; it reports whether it added any.
func markPrefix(c *llm.ChatRequest) bool {
	budget := llm.MaxCacheMarkers - c.CacheMarkers()
	if budget <= 0 {
		return false
	}
	var added []*llm.CacheControl
	marker := func() *llm.CacheControl {
		m := &llm.CacheControl{Type: "ephemeral"}
		added = append(added, m)
		budget--
		return m
	}
	if n := len(c.Tools); n > 0 && !toolMarked(c.Tools) {
		c.Tools = append([]llm.Tool(nil), c.Tools...)
		c.Tools[n-1].CacheControl = marker()
	}
	copied := false
	mark := func(i int) {
		if !copied {
			c.Messages, copied = append([]llm.Message(nil), c.Messages...), true
		}
		c.Messages[i].CacheControl = marker()
	}
	for i := len(c.Messages) - 1; i >= 0 && budget > 0; i-- {
		if r := c.Messages[i].Role; r == "system" || r == "developer" {
			if !c.Messages[i].Marked() {
				mark(i)
			}
			break
		}
	}
	// An earlier turn ends where an assistant message is followed by the
	// user's or a tool's: the prefix up to there is what the next request
	// repeats.
	for i := len(c.Messages) - 2; i >= 0 && budget > 0; i-- {
		m, next := &c.Messages[i], c.Messages[i+1].Role
		if m.Role == "assistant" && (next == "user" || next == "tool") && !m.Marked() {
			mark(i)
		}
	}
	if len(added) == 0 {
		return false
	}
	matchLongerTTL(c, added)
	return true
}

func toolMarked(tools []llm.Tool) bool {
	for i := range tools {
		if tools[i].Marker() != nil {
			return true
		}
	}
	return false
}

// matchLongerTTL gives an added marker the one-hour TTL when a client's
// one-hour marker follows it in the prefix (tools, system messages, then
// the conversation): Anthropic refuses a five-minute breakpoint before a
// one-hour one.
func matchLongerTTL(c *llm.ChatRequest, added []*llm.CacheControl) {
	var order []*llm.CacheControl
	for i := range c.Tools {
		order = append(order, c.Tools[i].Marker())
	}
	system := func(m *llm.Message) bool { return m.Role == "system" || m.Role == "developer" }
	for pass := 0; pass < 2; pass++ {
		for i := range c.Messages {
			m := &c.Messages[i]
			if system(m) != (pass == 0) {
				continue
			}
			for j := range m.Content.Parts {
				order = append(order, m.Content.Parts[j].CacheControl)
			}
			order = append(order, m.CacheControl)
		}
	}
	later1h := false
	for i := len(order) - 1; i >= 0; i-- {
		m := order[i]
		switch {
		case m == nil:
		case isAdded(m, added):
			if later1h {
				m.TTL = llm.TTL1h
			}
		case m.TTL == llm.TTL1h:
			later1h = true
		}
	}
}

func isAdded(m *llm.CacheControl, added []*llm.CacheControl) bool {
	for _, a := range added {
		if a == m {
			return true
		}
	}
	return false
}
