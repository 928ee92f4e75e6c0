package llm

// CacheMarked reports whether the request carries a cache breakpoint
// anywhere: on a message, a content part or a tool.
func (r *ChatRequest) CacheMarked() bool {
	for i := range r.Tools {
		if r.Tools[i].Marker() != nil {
			return true
		}
	}
	for i := range r.Messages {
		if r.Messages[i].Marked() {
			return true
		}
	}
	return false
}

// Extended reports whether the request carries members of the router's
// vocabulary that OpenAI's API does not know and refuses: cache_control,
// thinking_blocks or include_reasoning. Relaying adapters remove them for
// upstreams that would refuse them, and only then.
func (r *ChatRequest) Extended() bool {
	if r.IncludeReasoning != nil {
		return true
	}
	for i := range r.Messages {
		if len(r.Messages[i].ThinkingBlocks) > 0 {
			return true
		}
	}
	return r.CacheMarked()
}

// LongerTTL reports whether a marker asks for the one-hour cache.
func (c *CacheControl) LongerTTL() bool { return c != nil && c.TTL == TTL1h }

// WithoutCacheMarkers is a copy of r with no cache breakpoint; r and what it
// shares with the copy are not modified.
func (r *ChatRequest) WithoutCacheMarkers() *ChatRequest {
	out := *r
	if len(r.Tools) > 0 {
		out.Tools = make([]Tool, len(r.Tools))
		copy(out.Tools, r.Tools)
		for i := range out.Tools {
			out.Tools[i].CacheControl, out.Tools[i].Function.CacheControl = nil, nil
		}
	}
	out.Messages = make([]Message, len(r.Messages))
	copy(out.Messages, r.Messages)
	for i := range out.Messages {
		m := &out.Messages[i]
		m.CacheControl = nil
		for j := range m.Content.Parts {
			if m.Content.Parts[j].CacheControl != nil {
				m.Content.Parts = append([]Part(nil), m.Content.Parts...)
				for k := range m.Content.Parts {
					m.Content.Parts[k].CacheControl = nil
				}
				break
			}
		}
	}
	return &out
}

// CacheMarkers counts the request's cache breakpoints: a tool's (its own or
// its function's, one per tool), a message's, a content part's.
func (r *ChatRequest) CacheMarkers() int {
	n := 0
	for i := range r.Tools {
		if r.Tools[i].Marker() != nil {
			n++
		}
	}
	for i := range r.Messages {
		m := &r.Messages[i]
		if m.CacheControl != nil {
			n++
		}
		for j := range m.Content.Parts {
			if m.Content.Parts[j].CacheControl != nil {
				n++
			}
		}
	}
	return n
}

// Marked reports whether a message carries a breakpoint, on itself or on a
// content part.
func (m *Message) Marked() bool {
	if m.CacheControl != nil {
		return true
	}
	for j := range m.Content.Parts {
		if m.Content.Parts[j].CacheControl != nil {
			return true
		}
	}
	return false
}

// MaxCacheMarkers is the most breakpoints Anthropic takes in one request, and
// Bedrock for the models it caches for.
const MaxCacheMarkers = 4
