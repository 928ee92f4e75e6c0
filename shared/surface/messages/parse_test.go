package messages

import (
	"reflect"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// parse parses body and checks the invariant every request keeps: the chat
// body reads back, with the chat surface's own parser, as the request.
func mustParse(t *testing.T, body string) *Request {
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
	if !strings.HasPrefix(req.ID, "msg_") || len(req.ID) != len("msg_")+32 {
		t.Errorf("ID = %q", req.ID)
	}
	return req
}

func text(s string) llm.Content { return llm.Content{Text: s} }

func parts(ps ...llm.Part) llm.Content { return llm.Content{Parts: ps, IsParts: true} }

func img(url string) llm.Part {
	return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: url}}
}

func call(id, name, args string) llm.ToolCall {
	return llm.ToolCall{ID: id, Type: "function", Function: llm.FunctionCall{Name: name, Arguments: args}}
}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		name     string
		system   string // the system member, or ""
		messages string
		want     []llm.Message
	}{
		{"string content", ``, `[{"role":"user","content":"Hello"}]`,
			[]llm.Message{{Role: "user", Content: text("Hello")}}},
		{"system string", `"Be terse."`, `[{"role":"user","content":"Hi"}]`,
			[]llm.Message{{Role: "system", Content: text("Be terse.")}, {Role: "user", Content: text("Hi")}}},
		{"system blocks joined", `[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be careful."}]`,
			`[{"role":"user","content":"Hi"}]`,
			[]llm.Message{{Role: "system", Content: text("You are Claude Code.\nBe careful.")}, {Role: "user", Content: text("Hi")}}},
		{"marked system blocks keep their markers and their text", `[{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be careful.","cache_control":{"type":"ephemeral","ttl":"1h"}}]`,
			`[{"role":"user","content":"Hi"}]`,
			[]llm.Message{{Role: "system", Content: parts(llm.Part{Type: "text", Text: "You are Claude Code.\n"},
				llm.Part{Type: "text", Text: "Be careful.", CacheControl: &llm.CacheControl{Type: "ephemeral", TTL: "1h"}})},
				{Role: "user", Content: text("Hi")}}},
		{"markers on blocks, tool results and the request", ``, `[{"role":"user","content":[{"type":"text","text":"Compare"},` +
			`{"type":"image","source":{"type":"url","url":"https://x.test/b.jpg"},"cache_control":{"type":"ephemeral"}}]},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{},"cache_control":{"type":"ephemeral"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"42","cache_control":{"type":"ephemeral"}}]}]},` +
			`{"role":"assistant","content":"ok"},{"role":"user","content":"next"}]`,
			[]llm.Message{{Role: "user", Content: parts(llm.Part{Type: "text", Text: "Compare"},
				llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.test/b.jpg"}, CacheControl: &llm.CacheControl{Type: "ephemeral"}})},
				{Role: "assistant", ToolCalls: []llm.ToolCall{call("toolu_1", "f", `{}`)}, CacheControl: &llm.CacheControl{Type: "ephemeral"}},
				{Role: "tool", ToolCallID: "toolu_1", Content: text("42"), CacheControl: &llm.CacheControl{Type: "ephemeral"}},
				{Role: "assistant", Content: text("ok")},
				{Role: "user", Content: text("next")}}},
		{"text and images", ``, `[{"role":"user","content":[{"type":"text","text":"Compare"},` +
			`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},` +
			`{"type":"image","source":{"type":"url","url":"https://x.test/b.jpg"}}]}]`,
			[]llm.Message{{Role: "user", Content: parts(llm.Part{Type: "text", Text: "Compare"},
				img("data:image/png;base64,iVBORw0KGgo="), img("https://x.test/b.jpg"))}}},
		{"one text block is a string", ``, `[{"role":"user","content":[{"type":"text","text":"q","cache_control":{"type":"ephemeral"}}]}]`,
			[]llm.Message{{Role: "user", Content: text("q"), CacheControl: &llm.CacheControl{Type: "ephemeral"}}}},
		{"tool round trip", ``, `[{"role":"user","content":"Weather in Paris?"},` +
			`{"role":"assistant","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city": "Paris"}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"{\"temp\":21}"},{"type":"text","text":"And Lyon?"}]}]`,
			[]llm.Message{{Role: "user", Content: text("Weather in Paris?")},
				{Role: "assistant", Content: text("Checking."), ToolCalls: []llm.ToolCall{call("toolu_1", "get_weather", `{"city":"Paris"}`)}},
				{Role: "tool", ToolCallID: "toolu_1", Content: text(`{"temp":21}`)},
				{Role: "user", Content: text("And Lyon?")}}},
		{"parallel results, blocks, images and errors", ``, `[{"role":"assistant","content":[` +
			`{"type":"tool_use","id":"a","name":"shot","input":{}},{"type":"tool_use","id":"b","name":"ls","input":{"dir":"/"}},{"type":"tool_use","id":"c","name":"rm","input":{}}]},` +
			`{"role":"user","content":[` +
			`{"type":"tool_result","tool_use_id":"a","content":[{"type":"text","text":"screen"},{"type":"image","source":{"type":"url","url":"https://x.test/s.png"}}]},` +
			`{"type":"tool_result","tool_use_id":"b","content":[{"type":"text","text":"bin"},{"type":"text","text":"etc"}]},` +
			`{"type":"tool_result","tool_use_id":"c","is_error":true}]}]`,
			[]llm.Message{{Role: "assistant", ToolCalls: []llm.ToolCall{call("a", "shot", "{}"), call("b", "ls", `{"dir":"/"}`), call("c", "rm", "{}")}},
				{Role: "tool", ToolCallID: "a", Content: text("screen")},
				{Role: "tool", ToolCallID: "b", Content: parts(llm.Part{Type: "text", Text: "bin"}, llm.Part{Type: "text", Text: "etc"})},
				{Role: "tool", ToolCallID: "c", Content: text("Error")},
				{Role: "user", Content: parts(img("https://x.test/s.png"))}}},
		{"thinking becomes reasoning_content and signed blocks", ``, `[{"role":"user","content":"q"},` +
			`{"role":"assistant","content":[{"type":"thinking","thinking":"Let me see.","signature":"sig"},{"type":"redacted_thinking","data":"x"},` +
			`{"type":"thinking","thinking":"unsigned","signature":""},{"type":"text","text":"A"},{"type":"text","text":"B"}]}]`,
			[]llm.Message{{Role: "user", Content: text("q")}, {Role: "assistant", Content: text("A\nB"), ReasoningContent: "Let me see.unsigned",
				ThinkingBlocks: []llm.ThinkingBlock{{Type: "thinking", Thinking: "Let me see.", Signature: "sig"}, {Type: "redacted_thinking", Data: "x"}}}}},
		{"prefill", ``, `[{"role":"user","content":"Say hi"},{"role":"assistant","content":"Hi"}]`,
			[]llm.Message{{Role: "user", Content: text("Say hi")}, {Role: "assistant", Content: text("Hi")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":` + tt.messages
			if tt.system != "" {
				body += `,"system":` + tt.system
			}
			req := mustParse(t, body+`}`)
			if !reflect.DeepEqual(req.Chat.Messages, tt.want) {
				t.Errorf("messages\n got %#v\nwant %#v", req.Chat.Messages, tt.want)
			}
		})
	}
}

// A top-level cache_control (Anthropic's automatic caching) marks the last
// message; tool markers stay on their tools.
func TestParseTopLevelAndToolMarkers(t *testing.T) {
	req := mustParse(t, `{"model":"claude-sonnet-4-5","max_tokens":1024,"cache_control":{"type":"ephemeral","ttl":"1h"},`+
		`"tools":[{"name":"f","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],`+
		`"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},{"role":"user","content":"c"}]}`)
	if c := req.Chat.Messages[2].CacheControl; c == nil || c.TTL != "1h" || req.Chat.Messages[0].CacheControl != nil {
		t.Errorf("last message marker = %+v", c)
	}
	if c := req.Chat.Tools[0].CacheControl; c == nil || c.Type != "ephemeral" {
		t.Errorf("tool marker = %+v", c)
	}
	back, err := llm.ParseChat(req.Body)
	if err != nil || !reflect.DeepEqual(back, req.Chat) {
		t.Errorf("the chat body reads back as %+v, %v", back, err)
	}
	for _, bad := range []string{`"cache_control":{"type":"persistent"}`, `"cache_control":{"type":"ephemeral","ttl":"2h"}`, `"cache_control":"ephemeral"`} {
		body := `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x",` + bad + `}]}]}`
		if _, e := Parse([]byte(body)); e == nil || e.Status != 400 {
			t.Errorf("Parse accepted %s", bad)
		}
	}
}

func TestParseSettings(t *testing.T) {
	tool := `{"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}`
	tests := []struct {
		name     string
		members  string
		check    func(*llm.ChatRequest) bool
		thinking bool
	}{
		{"limits and sampling", `"max_tokens":2048,"temperature":0.7,"top_p":0.9,"top_k":40,"stop_sequences":["END","\n\nHuman:"],"metadata":{"user_id":"u-42"}`,
			func(c *llm.ChatRequest) bool {
				return *c.MaxCompletionTokens == 2048 && *c.Temperature == 0.7 && *c.TopP == 0.9 &&
					reflect.DeepEqual(c.Stop, llm.Stop{"END", "\n\nHuman:"}) && c.User == "u-42"
			}, false},
		{"stream asks for usage", `"stream":true`, func(c *llm.ChatRequest) bool { return c.Stream && c.WantsUsage() }, false},
		{"tools and tool_choice auto", `"tools":[` + tool + `],"tool_choice":{"type":"auto"}`,
			func(c *llm.ChatRequest) bool {
				return len(c.Tools) == 1 && c.Tools[0].Type == "function" && c.Tools[0].Function.Name == "get_weather" &&
					c.Tools[0].Function.Description == "Weather" && c.Tools[0].Function.Strict == nil &&
					string(c.Tools[0].Function.Parameters) == `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}` &&
					string(c.ToolChoice) == `"auto"` && c.ParallelToolCalls == nil
			}, false},
		{"custom tool type, strict", `"tools":[{"type":"custom","name":"f","input_schema":{"type":"object"},"strict":true}]`,
			func(c *llm.ChatRequest) bool { return c.Tools[0].Function.Name == "f" && *c.Tools[0].Function.Strict }, false},
		{"any", `"tools":[` + tool + `],"tool_choice":{"type":"any"}`,
			func(c *llm.ChatRequest) bool { return string(c.ToolChoice) == `"required"` }, false},
		{"named tool, no parallel use", `"tools":[` + tool + `],"tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}`,
			func(c *llm.ChatRequest) bool {
				tc, _ := llm.ParseToolChoice(c.ToolChoice)
				return tc == llm.ToolChoice{Mode: "function", Name: "get_weather"} && !*c.ParallelToolCalls
			}, false},
		{"none", `"tools":[` + tool + `],"tool_choice":{"type":"none","disable_parallel_tool_use":true}`,
			func(c *llm.ChatRequest) bool { return string(c.ToolChoice) == `"none"` && c.ParallelToolCalls == nil }, false},
		{"tool_choice without tools is dropped", `"tool_choice":{"type":"any"}`,
			func(c *llm.ChatRequest) bool { return c.ToolChoice == nil && c.Tools == nil }, false},
		{"think", `"max_tokens":8000,"thinking":{"type":"enabled","budget_tokens":4000}`,
			func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "low" }, true},
		{"think hard", `"max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":10000}`,
			func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "medium" }, true},
		{"ultrathink", `"max_tokens":64000,"thinking":{"type":"enabled","budget_tokens":31999}`,
			func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "high" }, true},
		{"adaptive", `"thinking":{"type":"adaptive"}`, func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "" }, true},
		{"disabled", `"thinking":{"type":"disabled"}`, func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "" }, false},
		{"effort wins", `"thinking":{"type":"enabled","budget_tokens":2000},"output_config":{"effort":"max"}`,
			func(c *llm.ChatRequest) bool { return c.ReasoningEffort == "high" }, true},
		{"structured output", `"output_config":{"format":{"type":"json_schema","schema":{"type":"object","additionalProperties":false}}}`,
			func(c *llm.ChatRequest) bool {
				f := c.ResponseFormat
				return f != nil && f.Type == "json_schema" && f.JSONSchema.Name == "output" && *f.JSONSchema.Strict &&
					string(f.JSONSchema.Schema) == `{"type":"object","additionalProperties":false}`
			}, false},
		{"dropped settings", `"service_tier":"auto","container":"c","inference_geo":"us","cache_control":{"type":"ephemeral"}`,
			func(c *llm.ChatRequest) bool { return true }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"claude","messages":[{"role":"user","content":"hi"}],` + tt.members
			if !strings.Contains(tt.members, `"max_tokens"`) {
				body += `,"max_tokens":1024`
			}
			req := mustParse(t, body+`}`)
			if !tt.check(req.Chat) {
				t.Errorf("request %#v does not hold what %s set", req.Chat, tt.members)
			}
			if req.thinking != tt.thinking {
				t.Errorf("thinking = %v, want %v", req.thinking, tt.thinking)
			}
			for _, k := range []string{"top_k", "metadata", "thinking", "service_tier", "container", "output_config", "stop_sequences", "system"} {
				if rawjson.Has(req.Body, k) {
					t.Errorf("the chat body has %s: %s", k, req.Body)
				}
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	tests := []struct {
		name, body, param, code string
	}{
		{"not JSON", `{"model":`, "", llm.CodeInvalidJSON},
		{"too deep", `{"model":"m","max_tokens":1,"messages":` + strings.Repeat("[", 80) + strings.Repeat("]", 80) + `}`, "", llm.CodeTooDeep},
		{"no model", `{"max_tokens":1,` + msgs + `}`, "model", llm.CodeMissingParam},
		{"no max_tokens", `{"model":"m",` + msgs + `}`, "max_tokens", llm.CodeMissingParam},
		{"max_tokens zero", `{"model":"m","max_tokens":0,` + msgs + `}`, "max_tokens", llm.CodeInvalidValue},
		{"max_tokens a string", `{"model":"m","max_tokens":"1",` + msgs + `}`, "max_tokens", llm.CodeInvalidType},
		{"no messages", `{"model":"m","max_tokens":1}`, "messages", llm.CodeMissingParam},
		{"empty messages", `{"model":"m","max_tokens":1,"messages":[]}`, "messages", llm.CodeMissingParam},
		{"system role", `{"model":"m","max_tokens":1,"messages":[{"role":"system","content":"x"}]}`, "messages[0].role", llm.CodeInvalidValue},
		{"no role", `{"model":"m","max_tokens":1,"messages":[{"content":"x"}]}`, "messages[0].role", llm.CodeMissingParam},
		{"no content", `{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}`, "messages[0].content", llm.CodeMissingParam},
		{"content a number", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":1}]}`, "messages[0].content", llm.CodeInvalidType},
		{"document block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"x"}}]}]}`,
			"messages[0].content[0].type", codeUnsupported},
		{"search_result block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"search_result","source":"s","title":"t","content":[]}]}]}`,
			"messages[0].content[0].type", codeUnsupported},
		{"server_tool_use block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"q"},{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}`,
			"messages[1].content[0].type", codeUnsupported},
		{"unknown block", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"hologram"}]}]}`,
			"messages[0].content[0].type", llm.CodeInvalidValue},
		{"tool_use in a user turn", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_use","id":"a","name":"f","input":{}}]}]}`,
			"messages[0].content[0].type", llm.CodeInvalidValue},
		{"tool_result in an assistant turn", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"a"}]}]}`,
			"messages[0].content[0].type", llm.CodeInvalidValue},
		{"image by file", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"file_1"}}]}]}`,
			"messages[0].content[0].source.type", codeUnsupported},
		{"image media type", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/tiff","data":"x"}}]}]}`,
			"messages[0].content[0].source.media_type", llm.CodeInvalidValue},
		{"image without data", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png"}}]}]}`,
			"messages[0].content[0].source.data", llm.CodeMissingParam},
		{"image without source", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image"}]}]}`,
			"messages[0].content[0].source", llm.CodeMissingParam},
		{"tool_result without id", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}`,
			"messages[0].content[0].tool_use_id", llm.CodeMissingParam},
		{"tool_result with a document", `{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"a","content":[{"type":"document"}]}]}]}`,
			"messages[0].content[0].content[0].type", codeUnsupported},
		{"tool_use input not an object", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","id":"a","name":"f","input":"x"}]}]}`,
			"messages[0].content[0].input", llm.CodeInvalidType},
		{"tool_use without id", `{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"tool_use","name":"f","input":{}}]}]}`,
			"messages[0].content[0].id", llm.CodeMissingParam},
		{"server tool", `{"model":"m","max_tokens":1,` + msgs + `,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":5}]}`,
			"tools[0].type", codeUnsupported},
		{"bash tool", `{"model":"m","max_tokens":1,` + msgs + `,"tools":[{"type":"bash_20250124","name":"bash"}]}`, "tools[0].type", codeUnsupported},
		{"tool without schema", `{"model":"m","max_tokens":1,` + msgs + `,"tools":[{"name":"f"}]}`, "tools[0].input_schema", llm.CodeMissingParam},
		{"tool without name", `{"model":"m","max_tokens":1,` + msgs + `,"tools":[{"input_schema":{"type":"object"}}]}`, "tools[0].name", llm.CodeMissingParam},
		{"mcp servers", `{"model":"m","max_tokens":1,` + msgs + `,"mcp_servers":[{"type":"url","url":"https://x.test","name":"x"}]}`, "mcp_servers", codeUnsupported},
		{"bad tool_choice", `{"model":"m","max_tokens":1,` + msgs + `,"tool_choice":{"type":"required"}}`, "tool_choice.type", llm.CodeInvalidValue},
		{"tool choice without name", `{"model":"m","max_tokens":1,` + msgs + `,"tool_choice":{"type":"tool"}}`, "tool_choice.name", llm.CodeMissingParam},
		{"temperature above 1", `{"model":"m","max_tokens":1,` + msgs + `,"temperature":1.5}`, "temperature", llm.CodeInvalidValue},
		{"top_p a string", `{"model":"m","max_tokens":1,` + msgs + `,"top_p":"x"}`, "top_p", llm.CodeInvalidType},
		{"top_k negative", `{"model":"m","max_tokens":1,` + msgs + `,"top_k":-1}`, "top_k", llm.CodeInvalidType},
		{"stop_sequences a string", `{"model":"m","max_tokens":1,` + msgs + `,"stop_sequences":"END"}`, "stop_sequences", llm.CodeInvalidType},
		{"stop sequence a number", `{"model":"m","max_tokens":1,` + msgs + `,"stop_sequences":["a",1]}`, "stop_sequences[1]", llm.CodeInvalidType},
		{"thinking budget too small", `{"model":"m","max_tokens":2000,` + msgs + `,"thinking":{"type":"enabled","budget_tokens":100}}`, "thinking.budget_tokens", llm.CodeInvalidValue},
		{"thinking without budget", `{"model":"m","max_tokens":2000,` + msgs + `,"thinking":{"type":"enabled"}}`, "thinking.budget_tokens", llm.CodeInvalidType},
		{"thinking type", `{"model":"m","max_tokens":2000,` + msgs + `,"thinking":{"type":"on"}}`, "thinking.type", llm.CodeInvalidValue},
		{"effort", `{"model":"m","max_tokens":1,` + msgs + `,"output_config":{"effort":"extreme"}}`, "output_config.effort", llm.CodeInvalidValue},
		{"format without schema", `{"model":"m","max_tokens":1,` + msgs + `,"output_config":{"format":{"type":"json_schema"}}}`, "output_config.format.schema", llm.CodeMissingParam},
		{"metadata user_id a number", `{"model":"m","max_tokens":1,` + msgs + `,"metadata":{"user_id":1}}`, "metadata.user_id", llm.CodeInvalidType},
		{"system block not text", `{"model":"m","max_tokens":1,` + msgs + `,"system":[{"type":"image"}]}`, "system[0].type", llm.CodeInvalidValue},
		{"stream a string", `{"model":"m","max_tokens":1,` + msgs + `,"stream":"yes"}`, "stream", llm.CodeInvalidType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, e := Parse([]byte(tt.body))
			if e == nil {
				t.Fatalf("Parse accepted it: %s", req.Body)
			}
			if e.Param != tt.param || e.Code != tt.code || e.Kind != llm.KindInvalidRequest || Status(e) != 400 {
				t.Errorf("error = param %q code %q kind %v (%s); want param %q code %q, a 400", e.Param, e.Code, e.Kind, e.Message, tt.param, tt.code)
			}
		})
	}
}

func TestParseCountTokens(t *testing.T) {
	c, e := ParseCountTokens([]byte(`{"model":"claude","system":"s","messages":[{"role":"user","content":"hi"}],"tools":[{"name":"f","input_schema":{"type":"object"}}]}`))
	if e != nil {
		t.Fatal(e)
	}
	if len(c.Messages) != 2 || len(c.Tools) != 1 || c.MaxCompletionTokens != nil {
		t.Errorf("request %+v", c)
	}
	if _, e := ParseCountTokens([]byte(`{"model":"claude","messages":[]}`)); e == nil || e.Param != "messages" {
		t.Errorf("empty messages: %v", e)
	}
	if got := string(AppendCount(nil, 42)); got != `{"input_tokens":42}` {
		t.Errorf("AppendCount = %s", got)
	}
}
