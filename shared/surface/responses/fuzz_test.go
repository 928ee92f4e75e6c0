package responses

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// FuzzParse holds Parse to its contract on any input: it never panics, it
// refuses with a 400 naming a param, or it accepts with a chat body that
// reads back as the request and a response object that is JSON.
func FuzzParse(f *testing.F) {
	for _, s := range []string{typicalRequest, agentRequest,
		`{"model":"m","input":"hi","stream":true,"text":{"format":{"type":"json_schema","name":"a","schema":{}}}}`,
		`{"model":"m","input":[{"type":"function_call_output","call_id":"c","output":[{"type":"input_image","image_url":"https://x"}]}]}`,
		`{"model":"m","input":[{"type":"reasoning","content":[{"type":"reasoning_text","text":"t"}]},{"type":"function_call","call_id":"c","name":"f"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, e := Parse(body)
		if e != nil {
			if e.Status != 400 || e.Kind != llm.KindInvalidRequest || e.Message == "" {
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
		out, err := Render(nil, req, []byte(chatCompletion(`{"role":"assistant","content":"ok"}`, "stop")), llm.Usage{})
		if err != nil || !json.Valid(out) {
			t.Fatalf("Render: %v\n%s", err, out)
		}
	})
}
