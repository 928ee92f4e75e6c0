package gateway

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/structured"
)

func TestNormalize(t *testing.T) {
	s, err := structured.Compile([]byte(`{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	sh := &shape{schema: s, want: s.Root()}
	choice := func(i int, msg string) string {
		return `{"index":` + string(rune('0'+i)) + `,"message":` + msg + `,"finish_reason":"stop"}`
	}
	body := func(choices ...string) []byte {
		return []byte(`{"id":"x","object":"chat.completion","choices":[` + strings.Join(choices, ",") + `],"usage":{"prompt_tokens":1}}`)
	}
	tests := []struct {
		name     string
		body     []byte
		want     []string // each choice's content after, "" for null
		wantHow  string
		wantProb string
		wantBad  string
	}{
		{"two choices", body(choice(0, `{"role":"assistant","content":"{ \"a\": 1 }"}`), choice(1, `{"role":"assistant","content":"x \u0060\u0060\u0060json\n{\"a\":2}\n\u0060\u0060\u0060"}`)),
			[]string{`{"a":1}`, `{"a":2}`}, audit.StructuredExtracted, "", ""},
		{"tool calls with empty content", body(choice(0, `{"role":"assistant","content":"","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}`)),
			[]string{""}, audit.StructuredValid, "", ""},
		{"refusal", body(choice(0, `{"role":"assistant","content":null,"refusal":"I cannot."}`)), []string{""}, audit.StructuredValid, "", ""},
		{"second choice invalid", body(choice(0, `{"role":"assistant","content":"{\"a\":1}"}`), choice(1, `{"role":"assistant","content":"{\"a\":\"x\"}"}`)),
			nil, "", "/a", `{"a":"x"}`},
		{"null content", body(choice(0, `{"role":"assistant","content":null}`)), nil, "", "no JSON", ""},
		{"no choices", []byte(`{"id":"x"}`), nil, "", "no choices", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, how, bad, problems := sh.normalize(tt.body)
			if tt.wantProb != "" {
				if !strings.Contains(strings.Join(problems, ";"), tt.wantProb) || bad != tt.wantBad {
					t.Errorf("problems %v bad %q; want %q and %q", problems, bad, tt.wantProb, tt.wantBad)
				}
				return
			}
			if problems != nil || how != tt.wantHow {
				t.Fatalf("problems %v how %q", problems, how)
			}
			var got llm.ChatResponse
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
			var contents []string
			for _, c := range got.Choices {
				v := ""
				if c.Message.Content != nil {
					v = *c.Message.Content
				}
				contents = append(contents, v)
			}
			if !slices.Equal(contents, tt.want) || !strings.Contains(string(out), `"usage":{"prompt_tokens":1}`) {
				t.Errorf("got %s", out)
			}
		})
	}
}

func TestRepairRequest(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_object"}}`
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := &llm.Request{Chat: chat, Body: []byte(body), Model: "m"}
	out, err := repairRequest(req, "", []string{"/a: missing"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := llm.ParseChat(out.Body)
	if err != nil {
		t.Fatalf("the repair body is not a chat request: %v\n%s", err, out.Body)
	}
	for _, msgs := range [][]llm.Message{back.Messages, out.Chat.Messages} {
		if len(msgs) != 3 || msgs[1].Role != "assistant" || msgs[1].Content.Text != "(an empty answer)" ||
			msgs[2].Role != "user" || !strings.Contains(msgs[2].Content.Text, "/a: missing") {
			t.Errorf("messages = %+v", msgs)
		}
	}
	if len(chat.Messages) != 1 || string(req.Body) != body {
		t.Error("the attempt's own request was changed")
	}
}
