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
		m := &r.Messages[i]
		if m.CacheControl != nil {
			return true
		}
		for j := range m.Content.Parts {
			if m.Content.Parts[j].CacheControl != nil {
				return true
			}
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
