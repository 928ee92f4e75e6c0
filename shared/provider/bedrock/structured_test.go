package bedrock_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

// Families whose Converse cannot force a tool get native structured output
// for a schema, and an instruction for json_object; Claude behind an
// inference profile forces the answer tool, and its toolUse answer comes
// back as the content with finish_reason stop.
func TestStructuredByModelFamily(t *testing.T) {
	tests := []struct {
		name, upstream, body, want string
	}{
		{"llama json_schema: native outputConfig", "meta.llama3-3-70b-instruct-v1:0",
			`{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"g","schema":{"type":"object"}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":{"name":"g","schema":"{\"type\":\"object\"}"}}}}}`},
		{"llama json_object: an instruction", "meta.llama3-3-70b-instruct-v1:0",
			`{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Respond with a single JSON object and nothing else: no prose and no code fences."}]}`},
		{"claude inference profile: forced tool", "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			`{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"json_response","description":"Give your final answer by calling this tool: its input is the answer, as JSON.",` +
				`"inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"json_response"}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			req := chatRequest(t, tt.body)
			req.Upstream = tt.upstream
			if _, err := p.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if got := fake.Last(t); !sameJSON(t, got.Body, []byte(tt.want)) {
				t.Errorf("Bedrock received\n%s\nwant\n%s", got.Body, tt.want)
			}
		})
	}
}

func TestAnswerToolBecomesContent(t *testing.T) {
	p, fake := newAdapter(t)
	body := `{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"person","schema":{"type":"object"}}}}`
	fake.Push(bedrocktest.Reply{Text: "Sure.", ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: "person", Input: `{"name":"Ann"}`}}})
	resp, err := p.Chat(context.Background(), chatRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Choices []struct {
			Message struct {
				Content   *string           `json:"content"`
				ToolCalls []json.RawMessage `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Choices[0]
	if c.Message.Content == nil || *c.Message.Content != `{"name":"Ann"}` || len(c.Message.ToolCalls) != 0 || c.FinishReason != "stop" {
		t.Errorf("answer = %s", resp.Body)
	}

	fake.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: "person", Input: `{"name":"Bo"}`}}})
	st, err := p.Stream(context.Background(), chatRequest(t, body))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var content, finish string
	for {
		ch, err := st.Next()
		if err != nil {
			break
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content   string            `json:"content"`
					ToolCalls []json.RawMessage `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(ch.Data, &c); err != nil {
			t.Fatal(err)
		}
		for _, choice := range c.Choices {
			if len(choice.Delta.ToolCalls) > 0 {
				t.Errorf("the answer tool streamed as a tool call: %s", ch.Data)
			}
			content += choice.Delta.Content
			if choice.FinishReason != nil {
				finish = *choice.FinishReason
			}
		}
	}
	if content != `{"name":"Bo"}` || finish != "stop" {
		t.Errorf("streamed content %q finish %q", content, finish)
	}
}
