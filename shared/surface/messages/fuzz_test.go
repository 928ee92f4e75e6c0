package messages

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// FuzzParse holds Parse to its contract on any input: it never panics, it
// refuses with a 400 naming a param, or it accepts with a chat body that
// reads back as the request and a message object that is JSON.
func FuzzParse(f *testing.F) {
	for _, s := range []string{typicalRequest, agentRequest,
		`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"image","source":{"type":"url","url":"https://x"}}],"is_error":true}]}]}`,
		`{"model":"m","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":2000},"messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"tool_use","id":"a","name":"f","input":{"x":[1,{"y":"\u00e9"}]}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := Parse(body)
		if e != nil {
			if Status(e) != 400 || e.Kind != llm.KindInvalidRequest || e.Message == "" {
				t.Fatalf("refusal %+v", e)
			}
			return
		}
		back, err := llm.ParseChat(req.Body)
		if err != nil {
			t.Fatalf("the chat body does not parse: %v\n%s", err, req.Body)
		}
		if !reflect.DeepEqual(back, req.Chat) {
			t.Fatalf("the chat body reads back differently\n%s", req.Body)
		}
		out, err := Render(nil, req, []byte(chatCompletion(choice(`{"role":"assistant","content":"ok"}`, "stop"))), llm.Usage{})
		if err != nil || !json.Valid(out) {
			t.Fatalf("Render: %v\n%s", err, out)
		}
	})
}
