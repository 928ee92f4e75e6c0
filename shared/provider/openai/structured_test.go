package openai

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// DeepSeek has JSON mode but no json_schema, and wants "json" in the prompt
// for JSON mode: the dialect sends json_object and the schema (or the ask for
// JSON) as a first system message, and the fake, as strict as DeepSeek,
// accepts it. Other requests, and json_object that says json, are relayed as
// they are.
func TestDeepSeekJSONMode(t *testing.T) {
	const schema = `{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}`
	tests := []struct {
		name, body       string
		wantFormat       string
		wantInstruction  string // prefix of the first message's content, "" for none
		wantUntouchedRaw bool
	}{
		{"json_schema", `{"model":"m","messages":[{"role":"user","content":"Who?"}],"response_format":{"type":"json_schema","json_schema":{"name":"p","schema":` + schema + `}}}`,
			`{"type":"json_object"}`, "Respond with a single JSON value that matches the JSON Schema below", false},
		{"json_object without the word", `{"model":"m","messages":[{"role":"user","content":"Who?"}],"response_format":{"type":"json_object"}}`,
			`{"type":"json_object"}`, "Respond with a single JSON object", false},
		{"json_object that says json", `{"model":"m","messages":[{"role":"user","content":"Who? Answer in JSON."}],"response_format":{"type":"json_object"}}`,
			`{"type":"json_object"}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := fakeFor(DialectDeepSeek, func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Text: `{"name":"Ann"}`} })
			defer fake.Close()
			p := dialectProvider(t, fake.BaseURL(), DialectDeepSeek, "env:UP_KEY")
			chat, err := llm.ParseChat([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Chat(context.Background(), &llm.Request{Chat: chat, Body: []byte(tt.body), Model: "m", Upstream: "deepseek-chat"}); err != nil {
				t.Fatalf("chat: %v", err)
			}
			got := fake.Received()[0].Body
			var sent struct {
				ResponseFormat json.RawMessage `json:"response_format"`
				Messages       []struct {
					Role    string `json:"role"`
					Content string `json:"content"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(got, &sent); err != nil {
				t.Fatal(err)
			}
			if string(sent.ResponseFormat) != tt.wantFormat {
				t.Errorf("response_format = %s, want %s", sent.ResponseFormat, tt.wantFormat)
			}
			first := sent.Messages[0]
			if tt.wantInstruction != "" {
				if first.Role != "system" || !strings.HasPrefix(first.Content, tt.wantInstruction) || len(sent.Messages) != 2 {
					t.Errorf("messages sent = %+v, want the instruction first", sent.Messages)
				}
				if strings.Contains(tt.body, schema) && !strings.HasSuffix(first.Content, schema) {
					t.Errorf("the instruction does not carry the schema: %q", first.Content)
				}
			} else if first.Role != "user" || len(sent.Messages) != 1 {
				t.Errorf("messages sent = %+v, want the client's only", sent.Messages)
			}
		})
	}
}
