package gemini

import (
	"encoding/json"
	"github.com/llm-router/router/shared/engine"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func TestFinishReasonFromGemini(t *testing.T) {
	tests := []struct {
		reason string
		calls  bool
		want   string
	}{
		{"STOP", false, "stop"},
		{"STOP", true, "tool_calls"},
		{"", true, "tool_calls"},
		{"MAX_TOKENS", false, "length"},
		{"MAX_TOKENS", true, "length"},
		{"SAFETY", false, "content_filter"},
		{"RECITATION", false, "content_filter"},
		{"BLOCKLIST", false, "content_filter"},
		{"PROHIBITED_CONTENT", false, "content_filter"},
		{"SPII", false, "content_filter"},
		{"IMAGE_SAFETY", false, "content_filter"},
		{"IMAGE_PROHIBITED_CONTENT", false, "content_filter"},
		{"IMAGE_RECITATION", false, "content_filter"},
		{"IMAGE_OTHER", false, "content_filter"},
		{"NO_IMAGE", false, "stop"},
		{"LANGUAGE", false, "stop"},
		{"OTHER", false, "stop"},
		{"MALFORMED_FUNCTION_CALL", false, "stop"},
		{"UNEXPECTED_TOOL_CALL", true, "stop"},
		{"TOO_MANY_TOOL_CALLS", false, "stop"},
		{"FINISH_REASON_UNSPECIFIED", false, "stop"},
		{"SOMETHING_NEW", false, "stop"},
	}
	for _, tt := range tests {
		if got := finishReasonFromGemini(tt.reason, tt.calls); got != tt.want {
			t.Errorf("finishReasonFromGemini(%q, calls=%v) = %q, want %q", tt.reason, tt.calls, got, tt.want)
		}
	}
}

func TestUsageFromGemini(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want llm.Usage
	}{
		{"absent", `null`, llm.Usage{}},
		{"plain", `{"promptTokenCount":31,"candidatesTokenCount":9,"totalTokenCount":40}`,
			llm.Usage{PromptTokens: 31, CompletionTokens: 9}},
		{"thinking, cache and tool-use prompt", `{"promptTokenCount":100,"candidatesTokenCount":20,"thoughtsTokenCount":50,
			"cachedContentTokenCount":60,"toolUsePromptTokenCount":7,"totalTokenCount":177}`,
			llm.Usage{PromptTokens: 107, CompletionTokens: 70, CachedTokens: 60, ReasoningTokens: 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var u *usageMetadata
			if err := json.Unmarshal([]byte(tt.in), &u); err != nil {
				t.Fatal(err)
			}
			if got := usageFromGemini(u); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChatFromGemini(t *testing.T) {
	weatherID := synthesizedID("r1", 0, 0, "get_weather", `{"city":"Paris"}`)
	tests := []struct {
		name string
		in   string // a generateContent answer
		want string // the chat.completion
	}{
		{
			name: "text, thoughts as reasoning (Chat keeps them for clients that asked), unknown fields ignored; thoughts count as output",
			in: `{"candidates":[{"content":{"role":"model","parts":[{"text":"pondering","thought":true},{"text":"It is "},{"text":"21°C."}]},
				"finishReason":"STOP","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],
				"usageMetadata":{"promptTokenCount":31,"candidatesTokenCount":9,"thoughtsTokenCount":4,"totalTokenCount":44},
				"modelVersion":"gemini-2.5-flash","responseId":"r1"}`,
			want: `{"id":"chatcmpl-r1","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":"It is 21°C.","refusal":null,"reasoning_content":"pondering"},"finish_reason":"stop","logprobs":null}],
				"usage":{"prompt_tokens":31,"completion_tokens":13,"total_tokens":44,"completion_tokens_details":{"reasoning_tokens":4}}}`,
		},
		{
			name: "function calls with and without ids, signature in extra_content",
			in: `{"candidates":[{"content":{"role":"model","parts":[
				{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"c2ln"},
				{"functionCall":{"id":"g-2","name":"get_time"}}]},"finishReason":"STOP"}],
				"usageMetadata":{"promptTokenCount":10,"candidatesTokenCount":5,"totalTokenCount":15},"responseId":"r1"}`,
			want: `{"id":"chatcmpl-r1","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[
					{"id":"` + weatherID + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"extra_content":{"google":{"thought_signature":"c2ln"}}},
					{"id":"g-2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
				"finish_reason":"tool_calls","logprobs":null}],
				"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`,
		},
		{
			name: "indented arguments (Gemini's non-streamed answers) are compacted",
			in: `{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"g-1","name":"f","args":{
				"city": "Paris",
				"days": [1, 2]
			}}}]},"finishReason":"STOP"}],"responseId":"rx"}`,
			want: `{"id":"chatcmpl-rx","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[
					{"id":"g-1","type":"function","function":{"name":"f","arguments":"{\"city\":\"Paris\",\"days\":[1,2]}"}}]},
				"finish_reason":"tool_calls","logprobs":null}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`,
		},
		{
			name: "max tokens and two candidates",
			in: `{"candidates":[{"content":{"role":"model","parts":[{"text":"A"}]},"finishReason":"MAX_TOKENS"},
				{"content":{"role":"model","parts":[{"text":"B"}]},"finishReason":"STOP","index":1}],"responseId":"r2"}`,
			want: `{"id":"chatcmpl-r2","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":"A","refusal":null},"finish_reason":"length","logprobs":null},
				{"index":1,"message":{"role":"assistant","content":"B","refusal":null},"finish_reason":"stop","logprobs":null}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`,
		},
		{
			name: "safety stop without content",
			in:   `{"candidates":[{"finishReason":"SAFETY"}],"responseId":"r3"}`,
			want: `{"id":"chatcmpl-r3","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"content_filter","logprobs":null}],
				"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}`,
		},
		{
			name: "blocked prompt",
			in: `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},
				"modelVersion":"gemini-2.5-flash","responseId":"r4"}`,
			want: `{"id":"chatcmpl-r4","object":"chat.completion","created":1700000000,"model":"client-model",
				"choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":null},"finish_reason":"content_filter","logprobs":null}],
				"usage":{"prompt_tokens":8,"completion_tokens":0,"total_tokens":8}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r generateContentResponse
			if err := json.Unmarshal([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			out, e := chatFromGemini(&r, "client-model", 1700000000)
			if e != nil {
				t.Fatalf("chatFromGemini: %v", e)
			}
			got, err := json.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, []byte(tt.want)) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestChatFromGeminiNoCandidates(t *testing.T) {
	_, e := chatFromGemini(&generateContentResponse{}, "m", 0)
	if e == nil || e.Status != 502 || e.Code != "bad_upstream_response" || !engine.FallsBack(e) {
		t.Errorf("got %v, want a retryable 502 bad_upstream_response", e)
	}
}

func TestSynthesizedID(t *testing.T) {
	a := synthesizedID("r1", 0, 0, "f", "{}")
	tests := []struct {
		name string
		id   string
		same bool
	}{
		{"same call", synthesizedID("r1", 0, 0, "f", "{}"), true},
		{"other response", synthesizedID("r2", 0, 0, "f", "{}"), false},
		{"other candidate", synthesizedID("r1", 1, 0, "f", "{}"), false},
		{"other position", synthesizedID("r1", 0, 1, "f", "{}"), false},
		{"other function", synthesizedID("r1", 0, 0, "g", "{}"), false},
		{"other arguments", synthesizedID("r1", 0, 0, "f", `{"a":1}`), false},
	}
	for _, tt := range tests {
		if got := tt.id == a; got != tt.same {
			t.Errorf("%s: %q == %q is %v, want %v", tt.name, tt.id, a, got, tt.same)
		}
		if !isSynthesizedID(tt.id) || len(tt.id) > 40 {
			t.Errorf("%s: %q is not recognised as synthesized or is over OpenAI's 40 characters", tt.name, tt.id)
		}
	}
	for _, id := range []string{"call_abc", "gemini-id", "call_gm0123456789ABCDEF", "call_gm0123456789abcde", "toolu_01A"} {
		if isSynthesizedID(id) {
			t.Errorf("isSynthesizedID(%q) = true, want false", id)
		}
	}
}
