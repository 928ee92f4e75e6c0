package llm

import "testing"

// Breakpoints are read where LiteLLM and OpenRouter put them: content parts,
// messages (system included) and tools (at the tool or inside function).
func TestParseCacheControl(t *testing.T) {
	body := `{"model":"m","messages":[` +
		`{"role":"system","content":[{"type":"text","text":"rules"},{"type":"text","text":"book","cache_control":{"type":"ephemeral","ttl":"1h"}}]},` +
		`{"role":"user","content":"q","cache_control":{"type":"ephemeral"}},` +
		`{"role":"assistant","content":null,"thinking_blocks":[{"type":"thinking","thinking":"t","signature":"sig"}],"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
		`{"role":"tool","tool_call_id":"c","content":"42"}],` +
		`"tools":[{"type":"function","function":{"name":"f","cache_control":{"type":"ephemeral"}}},{"type":"function","function":{"name":"g"},"cache_control":{"type":"ephemeral","ttl":"5m"}}],` +
		`"prompt_cache_key":"triage","include_reasoning":true}`
	r, err := ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Messages[0].Content.Parts; p[0].CacheControl != nil || !p[1].CacheControl.LongerTTL() {
		t.Errorf("system parts: %+v %+v", p[0].CacheControl, p[1].CacheControl)
	}
	if c := r.Messages[1].CacheControl; c == nil || c.Type != "ephemeral" || c.TTL != "" {
		t.Errorf("message marker = %+v", c)
	}
	if m := r.Tools[0].Marker(); m == nil || r.Tools[0].CacheControl != nil {
		t.Errorf("function-level tool marker = %+v", m)
	}
	if m := r.Tools[1].Marker(); m == nil || m.TTL != TTL5m {
		t.Errorf("tool marker = %+v", m)
	}
	if b := r.Messages[2].ThinkingBlocks; len(b) != 1 || b[0].Signature != "sig" {
		t.Errorf("thinking blocks = %+v", b)
	}
	if r.PromptCacheKey != "triage" || !r.WantsReasoning() || !r.CacheMarked() || !r.Extended() {
		t.Errorf("key %q, reasoning %v, marked %v, extended %v", r.PromptCacheKey, r.WantsReasoning(), r.CacheMarked(), r.Extended())
	}

	plain, err := ParseChat([]byte(benchChat))
	if err != nil {
		t.Fatal(err)
	}
	if plain.CacheMarked() || plain.Extended() || plain.WantsReasoning() {
		t.Error("a request without the router's extensions reports some")
	}
	off, _ := ParseChat([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}],"include_reasoning":false}`))
	if off.WantsReasoning() || !off.Extended() {
		t.Errorf("include_reasoning false: wants %v, extended %v (the member must still be removed upstream)", off.WantsReasoning(), off.Extended())
	}
}

func TestParseCacheControlRefused(t *testing.T) {
	for _, tt := range []struct{ body, param string }{
		{`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"persistent"}}]}]}`, "messages[0].content[0].cache_control.type"},
		{`{"model":"m","messages":[{"role":"user","content":"x","cache_control":{"type":"ephemeral","ttl":"2h"}}]}`, "messages[0].cache_control.ttl"},
		{`{"model":"m","messages":[{"role":"assistant","content":null,"cache_control":{}}]}`, "messages[0].cache_control.type"},
		{`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"x"}}]}`, "tools[0].cache_control.type"},
		{`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","cache_control":{"type":"ephemeral","ttl":"1d"}}}]}`, "tools[0].function.cache_control.ttl"},
		{`{"model":"m","messages":[{"role":"assistant","content":"x","thinking_blocks":[{"type":"text"}]}]}`, "messages[0].thinking_blocks[0].type"},
		{`{"model":"m","messages":[{"role":"user","content":"x"}],"include_reasoning":"yes"}`, "include_reasoning"},
	} {
		_, err := ParseChat([]byte(tt.body))
		if e := AsError(err); e == nil || e.Status != 400 || e.Param != tt.param {
			t.Errorf("ParseChat(%s) = %v, want a 400 on %s", tt.body, err, tt.param)
		}
	}
}

func TestCapEffort(t *testing.T) {
	for _, tt := range []struct{ effort, ceiling, want string }{
		{"high", "medium", "medium"},
		{"low", "medium", "low"},
		{"medium", "medium", "medium"},
		{"", "medium", ""},
		{"high", "", "high"},
		{"max", "medium", "medium"}, // unknown: capped all the same
		{"minimal", "none", "none"},
		{"xhigh", "high", "high"},
	} {
		if got := CapEffort(tt.effort, tt.ceiling); got != tt.want {
			t.Errorf("CapEffort(%q, %q) = %q, want %q", tt.effort, tt.ceiling, got, tt.want)
		}
	}
	for effort, want := range map[string]int{"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "none": 0, "max": 0} {
		if got := ThinkingBudget(effort); got != want {
			t.Errorf("ThinkingBudget(%q) = %d, want %d", effort, got, want)
		}
	}
}
