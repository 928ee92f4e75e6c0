package bedrock_test

import (
	"context"
	"encoding/json"
	"net/http/httptrace"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

const hello = `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`

func TestChatAnswer(t *testing.T) {
	tests := []struct {
		name      string
		reply     bedrocktest.Reply
		wantMsg   string // the choice's message
		wantStop  string
		wantUsage llm.Usage
	}{
		{"text",
			bedrocktest.Reply{Text: "Bonjour.", Usage: bedrocktest.Usage{Input: 10, Output: 3}},
			`{"role":"assistant","content":"Bonjour.","refusal":null}`, "stop",
			llm.Usage{PromptTokens: 10, CompletionTokens: 3}},
		{"tool calls only: content is null",
			bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris"}`}}},
			`{"role":"assistant","content":null,"refusal":null,"tool_calls":[{"id":"tooluse_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`,
			"tool_calls", llm.Usage{}},
		{"text, reasoning and two tool calls",
			bedrocktest.Reply{Text: "Checking.", Reasoning: "Need both.", ToolUses: []bedrocktest.ToolUse{
				{ID: "a", Name: "f", Input: `{"x":1}`}, {ID: "b", Name: "g", Input: `{}`}}},
			`{"role":"assistant","content":"Checking.","refusal":null,"reasoning_content":"Need both.","thinking_blocks":[{"type":"thinking","thinking":"Need both.","signature":"` + bedrocktest.Sign("Need both.") + `"}],"tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]}`,
			"tool_calls", llm.Usage{}},
		{"cache tokens count in prompt tokens",
			bedrocktest.Reply{Text: "ok", Usage: bedrocktest.Usage{Input: 5, Output: 2, CacheRead: 100, CacheWrite: 20}},
			`{"role":"assistant","content":"ok","refusal":null}`, "stop",
			llm.Usage{PromptTokens: 125, CompletionTokens: 2, CachedTokens: 100, CacheWriteTokens: 20}},
		{"max_tokens is length", bedrocktest.Reply{Text: "cut", StopReason: "max_tokens"},
			`{"role":"assistant","content":"cut","refusal":null}`, "length", llm.Usage{}},
		{"guardrail is content_filter", bedrocktest.Reply{Text: "Sorry.", StopReason: "guardrail_intervened"},
			`{"role":"assistant","content":"Sorry.","refusal":null}`, "content_filter", llm.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			fake.Push(tt.reply)
			resp, err := p.Chat(context.Background(), chatRequest(t, hello))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				ID      string `json:"id"`
				Object  string `json:"object"`
				Created int64  `json:"created"`
				Model   string `json:"model"`
				Choices []struct {
					Index        int             `json:"index"`
					Message      json.RawMessage `json:"message"`
					FinishReason string          `json:"finish_reason"`
				} `json:"choices"`
				Usage llm.Usage `json:"usage"`
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatalf("%s: %v", resp.Body, err)
			}
			if got.Object != "chat.completion" || got.Model != "claude" || got.ID != "chatcmpl-fake-1" || got.Created == 0 {
				t.Errorf("got object %q model %q id %q created %d, want chat.completion, claude, chatcmpl-fake-1 (Bedrock's request id), a time",
					got.Object, got.Model, got.ID, got.Created)
			}
			if len(got.Choices) != 1 {
				t.Fatalf("got %d choices, want 1", len(got.Choices))
			}
			if !sameJSON(t, got.Choices[0].Message, []byte(tt.wantMsg)) {
				t.Errorf("got message %s, want %s", got.Choices[0].Message, tt.wantMsg)
			}
			if got.Choices[0].FinishReason != tt.wantStop {
				t.Errorf("got finish_reason %q, want %q", got.Choices[0].FinishReason, tt.wantStop)
			}
			if resp.Usage != tt.wantUsage || got.Usage != tt.wantUsage {
				t.Errorf("got usage %+v (body %+v), want %+v", resp.Usage, got.Usage, tt.wantUsage)
			}
		})
	}
}

// The gateway times the first byte through an httptrace in the context; the
// SDK must carry that context down to the HTTP request.
func TestFirstByteTrace(t *testing.T) {
	p, _ := newAdapter(t)
	for _, stream := range []bool{false, true} {
		got := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotFirstResponseByte: func() { got = true }})
		var err error
		if stream {
			var st llm.Stream
			if st, err = p.Stream(ctx, chatRequest(t, hello)); err == nil {
				st.Close()
			}
		} else {
			_, err = p.Chat(ctx, chatRequest(t, hello))
		}
		if err != nil || !got {
			t.Errorf("stream=%v: err %v, first byte seen %v; want the trace called", stream, err, got)
		}
	}
}
