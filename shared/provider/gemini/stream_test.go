package gemini

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// TestStream feeds raw Gemini SSE bodies to the stream and checks every chunk
// and how the stream ends.
func TestStream(t *testing.T) {
	const head = `"object":"chat.completion.chunk","created":1700000000,"model":"client-model"`
	callID := synthesizedID("r1", 0, 0, "get_weather", `{"city":"Paris"}`)
	tests := []struct {
		name      string
		body      string
		want      []string   // chunks, without the usage-only chunk
		wantUsage *llm.Usage // the usage-only chunk, when one is due
		wantCode  string     // the error ending the stream; "" for io.EOF
		wantStat  int
	}{
		{
			name: "text with CRLF separators, usage on every event",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n" +
				"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"lo \\\"you\\\"\\n\"}]},\"finishReason\":\"STOP\",\"safetyRatings\":[]}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":3,\"thoughtsTokenCount\":2,\"cachedContentTokenCount\":1,\"totalTokenCount\":10},\"responseId\":\"r1\"}\r\n\r\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"content":"lo \"you\"\n"},"finish_reason":"stop"}]}`,
			},
			wantUsage: &llm.Usage{PromptTokens: 5, CompletionTokens: 5, CachedTokens: 1, ReasoningTokens: 2},
		},
		{
			name: "LF separators, a thought-only event and a usage-only event are skipped",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"plan\",\"thought\":true}]}}],\"responseId\":\"r1\"}\n\n" +
				": keep-alive\n\n" +
				"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]},\"finishReason\":\"STOP\"}],\"responseId\":\"r1\"}\n\n" +
				"data: {\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":1,\"totalTokenCount\":3},\"responseId\":\"r1\"}\n\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":"stop"}]}`,
			},
			wantUsage: &llm.Usage{PromptTokens: 2, CompletionTokens: 1},
		},
		{
			name: "function calls arrive whole, signature kept, finish becomes tool_calls",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},\"thoughtSignature\":\"c2ln\"}]}}],\"responseId\":\"r1\"}\r\n\r\n" +
				"data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"id\":\"g-2\",\"name\":\"get_time\"}}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":4,\"totalTokenCount\":13},\"responseId\":\"r1\"}\r\n\r\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"` + callID + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"},"extra_content":{"google":{"thought_signature":"c2ln"}}}]},"finish_reason":null}]}`,
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"g-2","type":"function","function":{"name":"get_time","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}`,
			},
			wantUsage: &llm.Usage{PromptTokens: 9, CompletionTokens: 4},
		},
		{
			name: "a finish with no content",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hi\"}]}}],\"responseId\":\"r1\"}\n\n" +
				"data: {\"candidates\":[{\"finishReason\":\"MAX_TOKENS\"}],\"responseId\":\"r1\"}\n\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}`,
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}`,
			},
		},
		{
			name: "two candidates",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"A\"}]}},{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"B\"}]},\"index\":1}],\"responseId\":\"r1\"}\n\n" +
				"data: {\"candidates\":[{\"finishReason\":\"STOP\"},{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"SAFETY\",\"index\":1}],\"responseId\":\"r1\"}\n\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"A"},"finish_reason":null},{"index":1,"delta":{"role":"assistant","content":"B"},"finish_reason":null}]}`,
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{"content":"b"},"finish_reason":"content_filter"}]}`,
			},
		},
		{
			name: "blocked prompt",
			body: "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":7,\"totalTokenCount\":7},\"responseId\":\"r1\"}\r\n\r\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"content_filter"}]}`,
			},
			wantUsage: &llm.Usage{PromptTokens: 7},
		},
		{
			name: "connection closed before any finishReason",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"responseId\":\"r1\"}\r\n\r\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
			},
			wantCode: "stream_truncated", wantStat: 502,
		},
		{
			name:     "empty body",
			body:     "",
			wantCode: "stream_truncated", wantStat: 502,
		},
		{
			name:     "only a thought, then closed",
			body:     "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"plan\",\"thought\":true}]}}],\"responseId\":\"r1\"}\n\n",
			wantCode: "stream_truncated", wantStat: 502,
		},
		{
			name: "in-stream error as a data event",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"responseId\":\"r1\"}\r\n\r\n" +
				"data: {\"error\":{\"code\":503,\"message\":\"overloaded\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
			},
			wantCode: "service_unavailable", wantStat: 503,
		},
		{
			name: "in-stream error as a bare, indented object",
			body: "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"}]}}],\"responseId\":\"r1\"}\r\n\r\n" +
				"{\n  \"error\": {\n    \"code\": 500,\n    \"message\": \"Internal error\",\n    \"status\": \"INTERNAL\"\n  }\n}\n",
			want: []string{
				`{"id":"chatcmpl-r1",` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}`,
			},
			wantCode: "internal_error", wantStat: 500,
		},
		{
			name:     "malformed event",
			body:     "data: {\"candidates\":[\n\n",
			wantCode: "bad_upstream_response", wantStat: 502,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStream("gem", io.NopCloser(strings.NewReader(tt.body)), "client-model", 1700000000)
			defer s.Close()
			var chunks []llm.Chunk
			var err error
			for {
				var c llm.Chunk
				if c, err = s.Next(); err != nil {
					break
				}
				c.Data = append([]byte(nil), c.Data...) // valid until the next call only
				chunks = append(chunks, c)
			}
			if tt.wantUsage != nil {
				if len(chunks) == 0 {
					t.Fatal("no chunks, want a usage chunk last")
				}
				last := chunks[len(chunks)-1]
				chunks = chunks[:len(chunks)-1]
				if !last.UsageOnly || last.Usage == nil || *last.Usage != *tt.wantUsage {
					t.Errorf("last chunk usage %+v (usage only %v), want %+v", last.Usage, last.UsageOnly, *tt.wantUsage)
				}
				if !strings.Contains(string(last.Data), `"choices":[],"usage":{"prompt_tokens":`) {
					t.Errorf("usage chunk = %s, want empty choices and usage", last.Data)
				}
			}
			if len(chunks) != len(tt.want) {
				for _, c := range chunks {
					t.Logf("chunk: %s", c.Data)
				}
				t.Fatalf("got %d chunks, want %d", len(chunks), len(tt.want))
			}
			for i, c := range chunks {
				if c.Usage != nil || c.UsageOnly {
					t.Errorf("chunk %d carries usage; only the final chunk should", i)
				}
				if !jsonEqual(t, c.Data, []byte(tt.want[i])) {
					t.Errorf("chunk %d:\ngot  %s\nwant %s", i, c.Data, tt.want[i])
				}
			}
			if tt.wantCode == "" {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("stream ended with %v, want io.EOF", err)
				}
			} else {
				e := llm.AsError(err)
				if e == nil || e.Code != tt.wantCode || e.Status != tt.wantStat || e.Provider != "gem" {
					t.Fatalf("stream ended with %v, want code %s status %d from gem", err, tt.wantCode, tt.wantStat)
				}
			}
			if _, again := s.Next(); !errors.Is(again, io.EOF) {
				t.Errorf("Next after the end = %v, want io.EOF", again)
			}
		})
	}
}
