package mock

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/structured"
)

// Asked for JSON, the mock answers JSON: an instance of the schema, or an
// object for json_object; a configured reply is answered as it is.
func TestJSONAnswers(t *testing.T) {
	const schema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":18},"tags":{"type":"array","minItems":1,"items":{"enum":["a","b"]}}},"required":["name","age","tags"],"additionalProperties":false}`
	tests := []struct {
		name, format, reply, want string
	}{
		{"schema", `{"type":"json_schema","json_schema":{"name":"p","schema":` + schema + `}}`, "", `{"age":18,"name":"example","tags":["a"]}`},
		{"json_object", `{"type":"json_object"}`, "", `{"answer":"This is a simulated answer from m1."}`},
		{"configured reply", `{"type":"json_object"}`, "```json\n{}\n```", "```json\n{}\n```"},
		{"text", `{"type":"text"}`, "", "This is a simulated answer from m1."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newMock(t, config.Mock{Reply: tt.reply})
			resp, err := p.Chat(context.Background(), chat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}],"response_format":`+tt.format+`}`))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Choices []struct {
					Message struct{ Content string } `json:"message"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatal(err)
			}
			if c := got.Choices[0].Message.Content; c != tt.want {
				t.Errorf("content = %s, want %s", c, tt.want)
			}
		})
	}
	s, err := structured.Compile([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check([]byte(tests[0].want)); err != nil {
		t.Errorf("the schema answer does not match its schema: %v", err)
	}
}
