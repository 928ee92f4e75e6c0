package anthropic

import (
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func TestToOpenAIFinishReason(t *testing.T) {
	tests := []struct{ stop, want string }{
		{"end_turn", "stop"},
		{"stop_sequence", "stop"},
		{"pause_turn", "stop"},
		{"max_tokens", "length"},
		{"model_context_window_exceeded", "length"},
		{"tool_use", "tool_calls"},
		{"refusal", "content_filter"},
		{"a_reason_added_later", "stop"},
		{"", "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.stop, func(t *testing.T) {
			if got := toOpenAIFinishReason(tt.stop); got != tt.want {
				t.Errorf("toOpenAIFinishReason(%q) = %q, want %q", tt.stop, got, tt.want)
			}
		})
	}
}

func TestToOpenAIUsage(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		name string
		in   usage
		want llm.Usage
	}{
		{"no cache", usage{InputTokens: n(25), OutputTokens: 40},
			llm.Usage{PromptTokens: 25, CompletionTokens: 40}},
		{"cache read and write add to the prompt", usage{InputTokens: n(10), OutputTokens: 5, CacheCreationInputTokens: n(300), CacheReadInputTokens: n(2000)},
			llm.Usage{PromptTokens: 2310, CompletionTokens: 5, CachedTokens: 2000, CacheWriteTokens: 300}},
		{"null counts are zero", usage{OutputTokens: 3},
			llm.Usage{CompletionTokens: 3}},
		{"one-hour writes counted apart", usage{InputTokens: n(10), OutputTokens: 5, CacheCreationInputTokens: n(300),
			CacheCreation: &cacheCreation{Ephemeral5m: 100, Ephemeral1h: 200}},
			llm.Usage{PromptTokens: 310, CompletionTokens: 5, CacheWriteTokens: 300, CacheWrite1hTokens: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toOpenAIUsage(tt.in); got != tt.want {
				t.Errorf("toOpenAIUsage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestToOpenAIResponse(t *testing.T) {
	const usageIn = `"usage":{"input_tokens":25,"output_tokens":40,"cache_creation_input_tokens":5,"cache_read_input_tokens":100,"service_tier":"standard"}`
	const usageOut = `"usage":{"prompt_tokens":130,"completion_tokens":40,"total_tokens":170,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":5}}`
	tests := []struct {
		name     string
		answer   string
		want     string
		wantCode string // for an error
	}{
		{
			name: "text",
			answer: `{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hello"},{"type":"text","text":" there"}],` +
				`"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,` + usageIn + `}`,
			want: `{"id":"msg_1","object":"chat.completion","created":1700000000,"model":"claude","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":"Hello there","refusal":null},"finish_reason":"stop","logprobs":null}],` + usageOut + `}`,
		},
		{
			name: "only tool use: content null",
			answer: `{"id":"msg_2","type":"message","role":"assistant","model":"m","content":[{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city": "Paris"}},` +
				`{"type":"tool_use","id":"toolu_01B","name":"now","input":{}}],"stop_reason":"tool_use",` + usageIn + `}`,
			want: `{"id":"msg_2","object":"chat.completion","created":1700000000,"model":"claude","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[` +
				`{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
				`{"id":"toolu_01B","type":"function","function":{"name":"now","arguments":"{}"}}]},"finish_reason":"tool_calls","logprobs":null}],` + usageOut + `}`,
		},
		{
			name: "thinking, text and tool use; signed blocks kept to send back",
			answer: `{"id":"msg_3","type":"message","content":[{"type":"thinking","thinking":"Need data.","signature":"sig"},{"type":"redacted_thinking","data":"ZW5j"},{"type":"text","text":"Checking."},` +
				`{"type":"tool_use","id":"t","name":"f","input":{"a":1}}],"stop_reason":"tool_use",` + usageIn + `}`,
			want: `{"id":"msg_3","object":"chat.completion","created":1700000000,"model":"claude","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":"Checking.","refusal":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}],` +
				`"reasoning_content":"Need data.","thinking_blocks":[{"type":"thinking","thinking":"Need data.","signature":"sig"},{"type":"redacted_thinking","data":"ZW5j"}]},"finish_reason":"tool_calls","logprobs":null}],` + usageOut + `}`,
		},
		{
			name:   "no content at all: empty string",
			answer: `{"id":"msg_4","type":"message","content":[],"stop_reason":"max_tokens",` + usageIn + `}`,
			want: `{"id":"msg_4","object":"chat.completion","created":1700000000,"model":"claude","choices":[{"index":0,` +
				`"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"length","logprobs":null}],` + usageOut + `}`,
		},
		{
			name:     "not JSON",
			answer:   `<html>bad gateway</html>`,
			wantCode: "bad_upstream_response",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, u, err := toOpenAIResponse([]byte(tt.answer), "claude", 1700000000)
			if tt.wantCode != "" {
				if e := llm.AsError(err); e == nil || e.Code != tt.wantCode || e.Status != 502 {
					t.Fatalf("error = %v, want 502 %s", err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("toOpenAIResponse: %v", err)
			}
			if !jsonEqual(t, got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if want := (llm.Usage{PromptTokens: 130, CompletionTokens: 40, CachedTokens: 100, CacheWriteTokens: 5}); u != want {
				t.Errorf("usage = %+v, want %+v", u, want)
			}
		})
	}
}
