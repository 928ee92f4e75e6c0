package responses

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// parse parses body and checks the invariant every request keeps: the chat
// body reads back, with the chat surface's own parser, as the request.
func parse(t *testing.T, body string) *Request {
	t.Helper()
	req, e := Parse([]byte(body))
	if e != nil {
		t.Fatalf("Parse: %v (param %q)", e, e.Param)
	}
	back, err := llm.ParseChat(req.Body)
	if err != nil {
		t.Fatalf("the chat body does not parse: %v\n%s", err, req.Body)
	}
	if !reflect.DeepEqual(back, req.Chat) {
		t.Fatalf("the chat body reads back differently\nbody %s\n got %#v\nwant %#v", req.Body, back, req.Chat)
	}
	if !strings.HasPrefix(req.ID, "resp_") || len(req.ID) != len("resp_")+32 {
		t.Errorf("ID = %q, want resp_ and 32 hex digits", req.ID)
	}
	return req
}

func text(s string) llm.Content { return llm.Content{Text: s} }

func parts(ps ...llm.Part) llm.Content { return llm.Content{Parts: ps, IsParts: true} }

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name  string
		input string // the input member
		extra string // other members
		want  []llm.Message
	}{
		{"string input", `"Hello"`, ``,
			[]llm.Message{{Role: "user", Content: text("Hello")}}},
		{"instructions become the system message", `"Hi"`, `,"instructions":"Be terse."`,
			[]llm.Message{{Role: "system", Content: text("Be terse.")}, {Role: "user", Content: text("Hi")}}},
		{"easy messages of every role", `[{"role":"developer","content":"d"},{"role":"system","content":"s"},{"role":"user","content":"u"},{"role":"assistant","content":"a"}]`, ``,
			[]llm.Message{{Role: "developer", Content: text("d")}, {Role: "system", Content: text("s")},
				{Role: "user", Content: text("u")}, {Role: "assistant", Content: text("a")}}},
		{"typed message with one input_text", `[{"type":"message","role":"user","content":[{"type":"input_text","text":"q"}]}]`, ``,
			[]llm.Message{{Role: "user", Content: text("q")}}},
		{"text and images", `[{"role":"user","content":[{"type":"input_text","text":"What is this?"},` +
			`{"type":"input_image","image_url":"https://x.test/a.png","detail":"high"},` +
			`{"type":"input_image","image_url":"data:image/png;base64,iVBOR","detail":"auto"}]}]`, ``,
			[]llm.Message{{Role: "user", Content: parts(llm.Part{Type: "text", Text: "What is this?"},
				llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.test/a.png", Detail: "high"}},
				llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "data:image/png;base64,iVBOR"}})}}},
		{"previous output message joined", `[{"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[` +
			`{"type":"output_text","text":"Hel","annotations":[]},{"type":"output_text","text":"lo","annotations":[],"logprobs":[]}]}]`, ``,
			[]llm.Message{{Role: "assistant", Content: text("Hello")}}},
		{"assistant refusal", `[{"role":"assistant","content":[{"type":"refusal","refusal":"No."}]}]`, ``,
			[]llm.Message{{Role: "assistant", Content: parts(llm.Part{Type: "refusal", Refusal: "No."})}}},
		{"escaped text", `[{"role":"user","content":"line\nnext \"q\" \u00e9"}]`, ``,
			[]llm.Message{{Role: "user", Content: text("line\nnext \"q\" é")}}},
		{"function call round trip", `[{"role":"user","content":"Weather in Paris?"},` +
			`{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"},` +
			`{"type":"function_call_output","call_id":"call_1","output":"{\"temp\":21}"},` +
			`{"role":"user","content":"Thanks"}]`, ``,
			[]llm.Message{{Role: "user", Content: text("Weather in Paris?")},
				{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "call_1", Type: "function",
					Function: llm.FunctionCall{Name: "get_weather", Arguments: `{"city":"Paris"}`}}}},
				{Role: "tool", ToolCallID: "call_1", Content: text(`{"temp":21}`)},
				{Role: "user", Content: text("Thanks")}}},
		{"text then parallel calls make one assistant turn", `[{"role":"user","content":"q"},` +
			`{"role":"assistant","content":"Let me look."},` +
			`{"type":"function_call","call_id":"a","name":"f","arguments":"{}"},` +
			`{"type":"function_call","call_id":"b","name":"g","arguments":""},` +
			`{"type":"function_call_output","call_id":"a","output":"1"},{"type":"function_call_output","call_id":"b","output":"2"}]`, ``,
			[]llm.Message{{Role: "user", Content: text("q")},
				{Role: "assistant", Content: text("Let me look."), ToolCalls: []llm.ToolCall{
					{ID: "a", Type: "function", Function: llm.FunctionCall{Name: "f", Arguments: "{}"}},
					{ID: "b", Type: "function", Function: llm.FunctionCall{Name: "g"}}}},
				{Role: "tool", ToolCallID: "a", Content: text("1")}, {Role: "tool", ToolCallID: "b", Content: text("2")}}},
		{"tool output parts, images after the tool turns", `[{"type":"function_call","call_id":"a","name":"shot","arguments":"{}"},` +
			`{"type":"function_call","call_id":"b","name":"shot","arguments":"{}"},` +
			`{"type":"function_call_output","call_id":"a","output":[{"type":"input_text","text":"screen 1"},{"type":"input_image","image_url":"https://x.test/1.png"}]},` +
			`{"type":"function_call_output","call_id":"b","output":[{"type":"input_image","image_url":"https://x.test/2.png"}]},` +
			`{"role":"user","content":"Which is better?"}]`, ``,
			[]llm.Message{{Role: "assistant", ToolCalls: []llm.ToolCall{
				{ID: "a", Type: "function", Function: llm.FunctionCall{Name: "shot", Arguments: "{}"}},
				{ID: "b", Type: "function", Function: llm.FunctionCall{Name: "shot", Arguments: "{}"}}}},
				{Role: "tool", ToolCallID: "a", Content: text("screen 1")},
				{Role: "tool", ToolCallID: "b"},
				{Role: "user", Content: parts(llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.test/1.png"}},
					llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.test/2.png"}})},
				{Role: "user", Content: text("Which is better?")}}},
		{"reasoning goes with the next assistant turn", `[{"role":"user","content":"q"},` +
			`{"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"S"}],"content":[{"type":"reasoning_text","text":"think"},{"type":"reasoning_text","text":"ing"}],"encrypted_content":"gAAA"},` +
			`{"type":"function_call","call_id":"a","name":"f","arguments":"{}"},` +
			`{"type":"function_call_output","call_id":"a","output":"1"},` +
			`{"type":"reasoning","id":"rs_2","summary":[]},` +
			`{"role":"assistant","content":"done"}]`, ``,
			[]llm.Message{{Role: "user", Content: text("q")},
				{Role: "assistant", ReasoningContent: "thinking", ToolCalls: []llm.ToolCall{
					{ID: "a", Type: "function", Function: llm.FunctionCall{Name: "f", Arguments: "{}"}}}},
				{Role: "tool", ToolCallID: "a", Content: text("1")},
				{Role: "assistant", Content: text("done")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parse(t, `{"model":"m","input":`+tt.input+tt.extra+`}`)
			if !reflect.DeepEqual(req.Chat.Messages, tt.want) {
				t.Errorf("messages\n got %#v\nwant %#v", req.Chat.Messages, tt.want)
			}
		})
	}
}

func TestParseSettings(t *testing.T) {
	tool := `{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}`
	tests := []struct {
		name      string
		members   string
		check     func(*llm.ChatRequest) bool
		bodyHas   []string // members of the chat body beyond the request's fields
		bodyLacks []string
	}{
		{"tools and a named tool_choice", `"tools":[` + tool + `],"tool_choice":{"type":"function","name":"get_weather"},"parallel_tool_calls":false`,
			func(c *llm.ChatRequest) bool {
				tc, _ := llm.ParseToolChoice(c.ToolChoice)
				return len(c.Tools) == 1 && c.Tools[0].Type == "function" && c.Tools[0].Function.Name == "get_weather" &&
					c.Tools[0].Function.Description == "Weather" && *c.Tools[0].Function.Strict &&
					string(c.Tools[0].Function.Parameters) == `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}` &&
					tc == llm.ToolChoice{Mode: "function", Name: "get_weather"} && !*c.ParallelToolCalls
			}, nil, nil},
		{"tool settings without tools are not sent", `"tool_choice":"auto","parallel_tool_calls":false`,
			func(c *llm.ChatRequest) bool { return c.ToolChoice == nil && c.ParallelToolCalls == nil }, nil, []string{"tool_choice", "parallel_tool_calls"}},
		{"no tools", `"tools":[],"tool_choice":null,"parallel_tool_calls":null`,
			func(c *llm.ChatRequest) bool {
				return c.Tools == nil && c.ToolChoice == nil && c.ParallelToolCalls == nil
			}, nil, []string{"tools"}},
		{"tool without strict or parameters", `"tools":[{"type":"function","name":"now"}],"tool_choice":"required"`,
			func(c *llm.ChatRequest) bool {
				return c.Tools[0].Function.Strict == nil && c.Tools[0].Function.Parameters == nil && string(c.ToolChoice) == `"required"`
			}, nil, nil},
		{"json_schema format", `"text":{"format":{"type":"json_schema","name":"answer","description":"d","schema":{"type":"object"},"strict":true},"verbosity":"low"}`,
			func(c *llm.ChatRequest) bool {
				f := c.ResponseFormat
				return f != nil && f.Type == "json_schema" && f.JSONSchema.Name == "answer" && f.JSONSchema.Description == "d" &&
					string(f.JSONSchema.Schema) == `{"type":"object"}` && *f.JSONSchema.Strict
			}, []string{`"verbosity":"low"`}, nil},
		{"json_object format", `"text":{"format":{"type":"json_object"}}`,
			func(c *llm.ChatRequest) bool {
				return c.ResponseFormat != nil && c.ResponseFormat.Type == "json_object"
			}, nil, nil},
		{"text format is chat's default", `"text":{"format":{"type":"text"}}`,
			func(c *llm.ChatRequest) bool { return c.ResponseFormat == nil }, nil, []string{"response_format"}},
		{"sampling and limits", `"max_output_tokens":1024,"temperature":0.2,"top_p":0.9,"reasoning":{"effort":"high","summary":"auto"},"user":"u-1"`,
			func(c *llm.ChatRequest) bool {
				return *c.MaxCompletionTokens == 1024 && *c.Temperature == 0.2 && *c.TopP == 0.9 && c.ReasoningEffort == "high" &&
					c.User == "u-1" && c.MaxTokens == nil
			}, nil, nil},
		{"stream asks for usage", `"stream":true`,
			func(c *llm.ChatRequest) bool { return c.Stream && c.WantsUsage() }, nil, nil},
		{"not streamed", `"stream":false`,
			func(c *llm.ChatRequest) bool { return !c.Stream && c.StreamOptions == nil }, nil, []string{"stream"}},
		{"metadata is echoed, not sent", `"metadata":{"team":"triage"},"store":false,"background":false,"previous_response_id":null`,
			func(c *llm.ChatRequest) bool { return true }, nil, []string{"metadata", "store", "background"}},
		{"settings the vocabulary lacks go in the body", `"service_tier":"flex","prompt_cache_key":"k","safety_identifier":"s"`,
			func(c *llm.ChatRequest) bool { return c.PromptCacheKey == "k" }, []string{`"service_tier":"flex"`, `"prompt_cache_key":"k"`, `"safety_identifier":"s"`}, nil},
		{"echoed-only settings", `"truncation":"auto","include":["reasoning.encrypted_content"],"max_tool_calls":3,"top_logprobs":2,"stream_options":{"include_obfuscation":false}`,
			func(c *llm.ChatRequest) bool { return true }, nil, []string{"truncation", "include", "max_tool_calls", "top_logprobs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parse(t, `{"model":"gpt-4.1","input":"hi",`+tt.members+`}`)
			if !tt.check(req.Chat) {
				t.Errorf("request %#v does not hold what %s set", req.Chat, tt.members)
			}
			for _, s := range tt.bodyHas {
				if !strings.Contains(string(req.Body), s) {
					t.Errorf("body lacks %s: %s", s, req.Body)
				}
			}
			for _, k := range tt.bodyLacks {
				if rawjson.Has(req.Body, k) {
					t.Errorf("body has %s: %s", k, req.Body)
				}
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	tests := []struct {
		name, body, param, code string
	}{
		{"not JSON", `{"model":`, "", llm.CodeInvalidJSON},
		{"not an object", `[1]`, "", llm.CodeInvalidJSON},
		{"too deep", `{"model":"m","input":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, "", llm.CodeTooDeep},
		{"no model", `{"input":"hi"}`, "model", llm.CodeMissingParam},
		{"model not a string", `{"model":1,"input":"hi"}`, "model", llm.CodeInvalidType},
		{"no input", `{"model":"m"}`, "input", llm.CodeMissingParam},
		{"empty input", `{"model":"m","input":[]}`, "input", llm.CodeMissingParam},
		{"input a number", `{"model":"m","input":3}`, "input", llm.CodeInvalidType},
		{"previous_response_id", `{"model":"m","input":"hi","previous_response_id":"resp_1"}`, "previous_response_id", codeUnsupported},
		{"conversation", `{"model":"m","input":"hi","conversation":"conv_1"}`, "conversation", codeUnsupported},
		{"conversation object", `{"model":"m","input":"hi","conversation":{"id":"conv_1"}}`, "conversation", codeUnsupported},
		{"store true", `{"model":"m","input":"hi","store":true}`, "store", codeUnsupported},
		{"background", `{"model":"m","input":"hi","background":true}`, "background", codeUnsupported},
		{"stored prompt", `{"model":"m","input":"hi","prompt":{"id":"pmpt_1"}}`, "prompt", codeUnsupported},
		{"web_search tool", `{"model":"m","input":"hi","tools":[{"type":"web_search"}]}`, "tools[0].type", codeUnsupported},
		{"file_search tool", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f"},{"type":"file_search","vector_store_ids":["vs"]}]}`, "tools[1].type", codeUnsupported},
		{"code_interpreter tool", `{"model":"m","input":"hi","tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}`, "tools[0].type", codeUnsupported},
		{"computer_use tool", `{"model":"m","input":"hi","tools":[{"type":"computer_use_preview","display_width":1,"display_height":1,"environment":"linux"}]}`, "tools[0].type", codeUnsupported},
		{"mcp tool", `{"model":"m","input":"hi","tools":[{"type":"mcp","server_label":"x","server_url":"https://x.test"}]}`, "tools[0].type", codeUnsupported},
		{"custom tool", `{"model":"m","input":"hi","tools":[{"type":"custom","name":"x"}]}`, "tools[0].type", codeUnsupported},
		{"tool without a name", `{"model":"m","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", llm.CodeMissingParam},
		{"tool parameters not an object", `{"model":"m","input":"hi","tools":[{"type":"function","name":"f","parameters":[]}]}`, "tools[0].parameters", llm.CodeInvalidType},
		{"hosted tool_choice", `{"model":"m","input":"hi","tool_choice":{"type":"web_search_preview"}}`, "tool_choice", codeUnsupported},
		{"allowed_tools tool_choice", `{"model":"m","input":"hi","tool_choice":{"type":"allowed_tools","mode":"auto","tools":[]}}`, "tool_choice", codeUnsupported},
		{"bad tool_choice mode", `{"model":"m","input":"hi","tool_choice":"always"}`, "tool_choice", llm.CodeInvalidValue},
		{"function tool_choice without name", `{"model":"m","input":"hi","tool_choice":{"type":"function"}}`, "tool_choice.name", llm.CodeMissingParam},
		{"unknown item type", `{"model":"m","input":[{"type":"mystery"}]}`, "input[0].type", llm.CodeInvalidValue},
		{"built-in tool call item", `{"model":"m","input":[{"role":"user","content":"q"},{"type":"web_search_call","id":"ws_1","status":"completed"}]}`, "input[1].type", llm.CodeInvalidValue},
		{"computer call output", `{"model":"m","input":[{"type":"computer_call_output","call_id":"c","output":{}}]}`, "input[0].type", llm.CodeInvalidValue},
		{"item_reference", `{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0]", codeUnsupported},
		{"item without type or role", `{"model":"m","input":[{"content":"x"}]}`, "input[0].type", llm.CodeMissingParam},
		{"item not an object", `{"model":"m","input":["x"]}`, "input[0]", llm.CodeInvalidType},
		{"bad role", `{"model":"m","input":[{"role":"tool","content":"x"}]}`, "input[0].role", llm.CodeInvalidValue},
		{"message without content", `{"model":"m","input":[{"role":"user"}]}`, "input[0].content", llm.CodeMissingParam},
		{"empty user content", `{"model":"m","input":[{"role":"user","content":""}]}`, "input[0].content", llm.CodeMissingParam},
		{"empty content array", `{"model":"m","input":[{"role":"user","content":[]}]}`, "input[0].content", llm.CodeMissingParam},
		{"input_file", `{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}`, "input[0].content[0].type", codeUnsupported},
		{"input_audio", `{"model":"m","input":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}`, "input[0].content[0].type", codeUnsupported},
		{"image by file_id", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]}`, "input[0].content[0].file_id", codeUnsupported},
		{"image without url", `{"model":"m","input":[{"role":"user","content":[{"type":"input_image","detail":"low"}]}]}`, "input[0].content[0].image_url", llm.CodeMissingParam},
		{"image in a system message", `{"model":"m","input":[{"role":"system","content":[{"type":"input_image","image_url":"https://x.test/a.png"}]}]}`, "input[0].content[0].type", llm.CodeInvalidValue},
		{"unknown part type", `{"model":"m","input":[{"role":"user","content":[{"type":"video"}]}]}`, "input[0].content[0].type", llm.CodeInvalidValue},
		{"part text not a string", `{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":1}]}]}`, "input[0].content[0].text", llm.CodeInvalidType},
		{"function_call without call_id", `{"model":"m","input":[{"type":"function_call","name":"f","arguments":"{}"}]}`, "input[0].call_id", llm.CodeMissingParam},
		{"function_call without name", `{"model":"m","input":[{"type":"function_call","call_id":"c","arguments":"{}"}]}`, "input[0].name", llm.CodeMissingParam},
		{"function_call arguments an object", `{"model":"m","input":[{"type":"function_call","call_id":"c","name":"f","arguments":{}}]}`, "input[0].arguments", llm.CodeInvalidType},
		{"function_call_output without output", `{"model":"m","input":[{"type":"function_call_output","call_id":"c"}]}`, "input[0].output", llm.CodeMissingParam},
		{"function_call_output without call_id", `{"model":"m","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", llm.CodeMissingParam},
		{"json_schema without name", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","schema":{}}}}`, "text.format.name", llm.CodeMissingParam},
		{"json_schema without schema", `{"model":"m","input":"hi","text":{"format":{"type":"json_schema","name":"n"}}}`, "text.format.schema", llm.CodeMissingParam},
		{"unknown format", `{"model":"m","input":"hi","text":{"format":{"type":"xml"}}}`, "text.format.type", llm.CodeInvalidValue},
		{"bad verbosity", `{"model":"m","input":"hi","text":{"verbosity":"loud"}}`, "text.verbosity", llm.CodeInvalidValue},
		{"max_output_tokens zero", `{"model":"m","input":"hi","max_output_tokens":0}`, "max_output_tokens", llm.CodeInvalidValue},
		{"max_output_tokens fractional", `{"model":"m","input":"hi","max_output_tokens":1.5}`, "max_output_tokens", llm.CodeInvalidType},
		{"temperature a string", `{"model":"m","input":"hi","temperature":"hot"}`, "temperature", llm.CodeInvalidType},
		{"temperature out of range", `{"model":"m","input":"hi","temperature":3}`, "temperature", llm.CodeInvalidValue},
		{"top_p out of range", `{"model":"m","input":"hi","top_p":1.5}`, "top_p", llm.CodeInvalidValue},
		{"reasoning effort a number", `{"model":"m","input":"hi","reasoning":{"effort":1}}`, "reasoning.effort", llm.CodeInvalidType},
		{"metadata value a number", `{"model":"m","input":"hi","metadata":{"a":1}}`, "metadata.a", llm.CodeInvalidType},
		{"metadata too many keys", `{"model":"m","input":"hi","metadata":{` + manyKeys(17) + `}}`, "metadata", llm.CodeInvalidValue},
		{"metadata value too long", `{"model":"m","input":"hi","metadata":{"a":"` + strings.Repeat("x", 513) + `"}}`, "metadata.a", llm.CodeInvalidValue},
		{"stream not a boolean", `{"model":"m","input":"hi","stream":"yes"}`, "stream", llm.CodeInvalidType},
		{"user not a string", `{"model":"m","input":"hi","user":7}`, "user", llm.CodeInvalidType},
		{"service_tier not a string", `{"model":"m","input":"hi","service_tier":1}`, "service_tier", llm.CodeInvalidType},
		{"bad truncation", `{"model":"m","input":"hi","truncation":"sometimes"}`, "truncation", llm.CodeInvalidValue},
		{"instructions an array", `{"model":"m","input":"hi","instructions":[]}`, "instructions", llm.CodeInvalidType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, e := Parse([]byte(tt.body))
			if e == nil {
				t.Fatalf("Parse accepted it: %s", req.Body)
			}
			if e.Param != tt.param || e.Code != tt.code || e.Status != 400 || e.Kind != llm.KindInvalidRequest || e.Type != "invalid_request_error" {
				t.Errorf("error = param %q code %q status %d kind %v type %q (%s); want param %q code %q, a 400",
					e.Param, e.Code, e.Status, e.Kind, e.Type, e.Message, tt.param, tt.code)
			}
			if e.Message == "" {
				t.Error("no message")
			}
		})
	}
}

func manyKeys(n int) string {
	keys := make([]string, n)
	for i := range keys {
		b, _ := json.Marshal(strings.Repeat("k", i+1))
		keys[i] = string(b) + `:"v"`
	}
	return strings.Join(keys, ",")
}

func TestParseIDsDiffer(t *testing.T) {
	a, _ := Parse([]byte(`{"model":"m","input":"hi"}`))
	b, _ := Parse([]byte(`{"model":"m","input":"hi"}`))
	if a.ID == b.ID {
		t.Errorf("two requests got the same id %s", a.ID)
	}
}
