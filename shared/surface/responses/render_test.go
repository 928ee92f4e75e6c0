package responses

import (
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/llm"
	oresp "github.com/openai/openai-go/v3/responses"
)

// testID makes rendering deterministic: item ids derive from it.
const testID = "resp_0123456789abcdef0123456789abcdef"

// request parses body and fixes its id.
func request(t testing.TB, body string) *Request {
	t.Helper()
	req, e := Parse([]byte(body))
	if e != nil {
		t.Fatalf("Parse: %v", e)
	}
	req.ID = testID
	return req
}

// chatCompletion is a chat.completion whose first choice has message and
// finish_reason.
func chatCompletion(message, finish string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1741476542,"model":"gpt-4.1-mini",` +
		`"choices":[{"index":0,"message":` + message + `,"logprobs":null,"finish_reason":"` + finish + `"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
}

// wantItem is what a test expects of an output item.
type wantItem struct {
	typ, status, text, refusal, callID, name, args string
}

// checkOutput compares a response's output with want, reading it the SDK's way.
func checkOutput(t *testing.T, got []oresp.ResponseOutputItemUnion, want []wantItem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d output items, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		it := got[i]
		if it.Type != w.typ || it.Status != w.status {
			t.Errorf("item %d: type %q status %q, want %q %q", i, it.Type, it.Status, w.typ, w.status)
			continue
		}
		switch w.typ {
		case "message":
			msg := it.AsMessage()
			if msg.Role != "assistant" || len(msg.Content) == 0 {
				t.Errorf("item %d: message %+v", i, msg)
				continue
			}
			var text, refusal string
			for _, c := range msg.Content {
				switch c.Type {
				case "output_text":
					text += c.AsOutputText().Text
				case "refusal":
					refusal += c.AsRefusal().Refusal
				}
			}
			if text != w.text || refusal != w.refusal {
				t.Errorf("item %d: text %q refusal %q, want %q %q", i, text, refusal, w.text, w.refusal)
			}
		case "function_call":
			fc := it.AsFunctionCall()
			if fc.CallID != w.callID || fc.Name != w.name || fc.Arguments != w.args || fc.ID[:3] != "fc_" {
				t.Errorf("item %d: call %+v, want %s %s %s", i, fc, w.callID, w.name, w.args)
			}
		case "reasoning":
			r := it.AsReasoning()
			if len(r.Content) != 1 || r.Content[0].Text != w.text || r.ID[:3] != "rs_" {
				t.Errorf("item %d: reasoning %+v, want %q", i, r, w.text)
			}
		}
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name       string
		message    string
		finish     string
		status     string
		incomplete string
		want       []wantItem
	}{
		{"text", `{"role":"assistant","content":"Hello there.","refusal":null}`, "stop", "completed", "",
			[]wantItem{{typ: "message", status: "completed", text: "Hello there."}}},
		{"escaped text", `{"role":"assistant","content":"a \"quote\"\nline \u00e9 \ud83d\ude00"}`, "stop", "completed", "",
			[]wantItem{{typ: "message", status: "completed", text: "a \"quote\"\nline é 😀"}}},
		{"text and two calls", `{"role":"assistant","content":"Checking.","tool_calls":[` +
			`{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
			`{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`, "tool_calls", "completed", "",
			[]wantItem{{typ: "message", status: "completed", text: "Checking."},
				{typ: "function_call", status: "completed", callID: "call_a", name: "get_weather", args: `{"city":"Paris"}`},
				{typ: "function_call", status: "completed", callID: "call_b", name: "get_time", args: `{}`}}},
		{"calls only", `{"role":"assistant","content":null,"tool_calls":[{"id":"call_a","type":"function","function":{"name":"f","arguments":""}}]}`, "tool_calls", "completed", "",
			[]wantItem{{typ: "function_call", status: "completed", callID: "call_a", name: "f", args: ""}}},
		{"reasoning first", `{"role":"assistant","content":"42","reasoning_content":"Let me think."}`, "stop", "completed", "",
			[]wantItem{{typ: "reasoning", status: "completed", text: "Let me think."}, {typ: "message", status: "completed", text: "42"}}},
		{"cut at the token limit", `{"role":"assistant","content":"Once upon a"}`, "length", "incomplete", "max_output_tokens",
			[]wantItem{{typ: "message", status: "incomplete", text: "Once upon a"}}},
		{"content filter", `{"role":"assistant","content":""}`, "content_filter", "incomplete", "content_filter",
			[]wantItem{{typ: "message", status: "incomplete", text: ""}}},
		{"refusal", `{"role":"assistant","content":null,"refusal":"I can't help with that."}`, "stop", "completed", "",
			[]wantItem{{typ: "message", status: "completed", refusal: "I can't help with that."}}},
		{"empty answer", `{"role":"assistant","content":""}`, "stop", "completed", "",
			[]wantItem{{typ: "message", status: "completed", text: ""}}},
	}
	req := request(t, `{"model":"fast","input":"hi"}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			usage := llm.Usage{PromptTokens: 120, CompletionTokens: 30, CachedTokens: 100, ReasoningTokens: 12}
			out, err := Render(nil, req, []byte(chatCompletion(tt.message, tt.finish)), usage)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) {
				t.Fatalf("not JSON: %s", out)
			}
			var got oresp.Response
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("openai-go cannot read it: %v\n%s", err, out)
			}
			if got.ID != testID || got.Object != "response" || got.CreatedAt != 1741476542 || got.Model != "gpt-4.1-mini" ||
				string(got.Status) != tt.status || got.IncompleteDetails.Reason != tt.incomplete {
				t.Errorf("got id %q object %q created %v model %q status %q incomplete %q\n%s",
					got.ID, got.Object, got.CreatedAt, got.Model, got.Status, got.IncompleteDetails.Reason, out)
			}
			checkOutput(t, got.Output, tt.want)
			u := got.Usage
			if u.InputTokens != 120 || u.InputTokensDetails.CachedTokens != 100 || u.OutputTokens != 30 ||
				u.OutputTokensDetails.ReasoningTokens != 12 || u.TotalTokens != 150 {
				t.Errorf("usage = %+v", u)
			}
			if got.JSON.Error.Raw() != "null" {
				t.Errorf("error = %s, want null", got.JSON.Error.Raw())
			}
		})
	}
}

// TestRenderEchoes checks that the response repeats the request's settings,
// with OpenAI's defaults for what the client left out.
func TestRenderEchoes(t *testing.T) {
	completion := []byte(chatCompletion(`{"role":"assistant","content":"ok"}`, "stop"))
	t.Run("defaults", func(t *testing.T) {
		out, err := Render(nil, request(t, `{"model":"m","input":"hi"}`), completion, llm.Usage{})
		if err != nil {
			t.Fatal(err)
		}
		var got oresp.Response
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Temperature != 1 || got.TopP != 1 || !got.ParallelToolCalls || got.ToolChoice.OfToolChoiceMode != "auto" ||
			len(got.Tools) != 0 || got.Text.Format.Type != "text" || got.Instructions.JSON.OfString.Valid() ||
			got.MaxOutputTokens != 0 || got.JSON.User.Raw() != "null" || got.Background || len(got.Metadata) != 0 ||
			got.Truncation != "disabled" || got.PreviousResponseID != "" {
			t.Errorf("defaults not echoed: %s", out)
		}
	})
	t.Run("settings", func(t *testing.T) {
		req := request(t, `{"model":"m","input":"hi","instructions":"Be terse.","max_output_tokens":500,"temperature":0.5,"top_p":0.8,`+
			`"parallel_tool_calls":false,"tool_choice":{"type":"function","name":"f"},`+
			`"tools":[{"type":"function","name":"f","parameters":{"type":"object"},"strict":false}],`+
			`"text":{"format":{"type":"json_schema","name":"a","schema":{"type":"object"},"strict":true}},`+
			`"reasoning":{"effort":"low"},"metadata":{"team":"triage"},"user":"u-1","truncation":"auto",`+
			`"service_tier":"flex","prompt_cache_key":"ck","safety_identifier":"sid","store":false}`)
		out, err := Render(nil, req, completion, llm.Usage{})
		if err != nil {
			t.Fatal(err)
		}
		var got oresp.Response
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if got.Instructions.OfString != "Be terse." || got.MaxOutputTokens != 500 || got.Temperature != 0.5 || got.TopP != 0.8 ||
			got.ParallelToolCalls || got.ToolChoice.Name != "f" || len(got.Tools) != 1 || got.Tools[0].Name != "f" ||
			got.Text.Format.Type != "json_schema" || got.Text.Format.Name != "a" || got.Reasoning.Effort != "low" ||
			got.Metadata["team"] != "triage" || got.JSON.User.Raw() != `"u-1"` || got.Truncation != "auto" || got.ServiceTier != "flex" ||
			got.PromptCacheKey != "ck" || got.SafetyIdentifier != "sid" {
			t.Errorf("settings not echoed: %s", out)
		}
	})
	t.Run("multi-line values are compacted", func(t *testing.T) {
		req := request(t, "{\"model\":\"m\",\"input\":\"hi\",\n\"tools\":[\n {\"type\":\"function\",\n  \"name\":\"f\"}\n],\"metadata\":{\n\"a\":\"b\"}}")
		out, err := Render(nil, req, completion, llm.Usage{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range out {
			if c == '\n' || c == '\r' {
				t.Fatalf("the response spans lines: %s", out)
			}
		}
	})
}

func TestRenderErrors(t *testing.T) {
	req := request(t, `{"model":"m","input":"hi"}`)
	for _, body := range []string{
		``,
		`[]`,
		`{"model":"m"}`,
		`{"model":"m","choices":{}}`,
		`{"choices":[{"message":{"content":"x"}}]}`,
		`{"model":"m","choices":[{"finish_reason":"stop"}]}`,
		`{"model":"m","choices":[{"message":{"tool_calls":[{"type":"function","function":{"name":"f"}}]}}]}`,
		`{"model":"m","choices":[{"message":{"tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}}]}`,
	} {
		if out, err := Render(nil, req, []byte(body), llm.Usage{}); err == nil {
			t.Errorf("Render(%s) = %s, want an error", body, out)
		}
	}
}
