package anthropic

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// chatRequest parses an OpenAI body as the gateway does.
func chatRequest(t testing.TB, body string, maxTokens int) *llm.Request {
	t.Helper()
	c, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatalf("ParseChat(%s): %v", body, err)
	}
	return &llm.Request{Chat: c, Body: []byte(body), Model: "claude", Upstream: "claude-sonnet-4-5", MaxTokens: maxTokens}
}

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func TestToAnthropicRequest(t *testing.T) {
	tests := []struct {
		name      string
		openai    string
		maxTokens int // the model's default output limit
		stream    bool
		want      string
	}{
		{
			name:      "plain user message with the model's default max_tokens",
			openai:    `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`,
			maxTokens: 1000,
			want:      `{"model":"claude-sonnet-4-5","max_tokens":1000,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "no limit anywhere gives the router default",
			openai: `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`,
			want:   `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:      "client limit wins; max_completion_tokens over max_tokens",
			openai:    `{"model":"claude","max_tokens":50,"max_completion_tokens":77,"messages":[{"role":"user","content":"Hi"}]}`,
			maxTokens: 1000,
			want:      `{"model":"claude-sonnet-4-5","max_tokens":77,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "system and developer hoisted and joined in order",
			openai: `{"model":"claude","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"},` +
				`{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},{"role":"user","content":"Again"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be terse.\nAnswer in French.",` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"Again"}]}]}`,
		},
		{
			name: "consecutive same-role turns merged, empty text dropped",
			openai: `{"model":"claude","messages":[{"role":"user","content":"a"},{"role":"user","content":[{"type":"text","text":""},{"type":"text","text":"b"}]},` +
				`{"role":"assistant","content":"c"},{"role":"assistant","content":"d"},{"role":"assistant","content":null},{"role":"user","content":"e"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[` +
				`{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},` +
				`{"role":"assistant","content":[{"type":"text","text":"c"},{"type":"text","text":"d"}]},` +
				`{"role":"user","content":[{"type":"text","text":"e"}]}]}`,
		},
		{
			name: "tool round trip: tool_use blocks, tool results in one user turn, then the user's text",
			openai: `{"model":"claude","messages":[{"role":"user","content":"Weather in Paris and Rome?"},` +
				`{"role":"assistant","content":"Checking.","tool_calls":[` +
				`{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},` +
				`{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},` +
				`{"role":"tool","tool_call_id":"call_1","content":"21C"},` +
				`{"role":"tool","tool_call_id":"call_2","content":[{"type":"text","text":"25C"}]},` +
				`{"role":"user","content":"Which is warmer?"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[` +
				`{"role":"user","content":[{"type":"text","text":"Weather in Paris and Rome?"}]},` +
				`{"role":"assistant","content":[{"type":"text","text":"Checking."},` +
				`{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},` +
				`{"type":"tool_use","id":"call_2","name":"get_weather","input":{"city":"Rome"}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":"21C"},` +
				`{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"25C"}]},` +
				`{"type":"text","text":"Which is warmer?"}]}]}`,
		},
		{
			name: "a tool result after user text still goes first; empty arguments become {}; foreign ids rewritten",
			openai: `{"model":"claude","messages":[{"role":"user","content":"Go"},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"functions.ping:0","type":"function","function":{"name":"ping","arguments":""}}]},` +
				`{"role":"user","content":"hurry"},{"role":"tool","tool_call_id":"functions.ping:0","content":"pong"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[` +
				`{"role":"user","content":[{"type":"text","text":"Go"}]},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"functions_ping_0","name":"ping","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"functions_ping_0","content":"pong"},{"type":"text","text":"hurry"}]}]}`,
		},
		{
			name: "images: data URI to base64, https to url",
			openai: `{"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"Compare"},` +
				`{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},` +
				`{"type":"image_url","image_url":{"url":"data:image/jpg;base64,/9j/4AAQ"}},` +
				`{"type":"image_url","image_url":{"url":"https://example.com/cat.webp","detail":"high"}}]}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Compare"},` +
				`{"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},` +
				`{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/4AAQ"}},` +
				`{"type":"image","source":{"type":"url","url":"https://example.com/cat.webp"}}]}]}`,
		},
		{
			name: "sampling: temperature clamped, top_p kept, stop, user; unsupported fields dropped",
			openai: `{"model":"claude","temperature":1.7,"top_p":0.9,"stop":"END","user":"u-42","seed":7,"presence_penalty":0.5,` +
				`"frequency_penalty":0.1,"n":1,"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":1,"top_p":0.9,"stop_sequences":["END"],` +
				`"metadata":{"user_id":"u-42"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "top_p 1 is a no-op and is not sent; safety_identifier is the user id",
			openai: `{"model":"claude","temperature":0.2,"top_p":1,"stop":["a","b"],"safety_identifier":"hash-9","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"temperature":0.2,"stop_sequences":["a","b"],` +
				`"metadata":{"user_id":"hash-9"},"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "stream without stream_options",
			openai: `{"model":"claude","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`,
			stream: true,
			want:   `{"model":"claude-sonnet-4-5","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "assistant first gets a user turn before it",
			openai: `{"model":"claude","messages":[{"role":"system","content":"s"},{"role":"assistant","content":"How can I help?"},{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"."}]},` +
				`{"role":"assistant","content":[{"type":"text","text":"How can I help?"}]},{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "instructions only become the user's turn",
			openai: `{"model":"claude","messages":[{"role":"system","content":"Write a haiku about rain."}]}`,
			want:   `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Write a haiku about rain."}]}]}`,
		},
		{
			name:   "a final assistant turn is a prefill without trailing whitespace",
			openai: `{"model":"claude","messages":[{"role":"user","content":"List three"},{"role":"assistant","content":"1. \n"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"List three"}]},` +
				`{"role":"assistant","content":[{"type":"text","text":"1."}]}]}`,
		},
		{
			name:   "a final assistant turn of whitespace is dropped",
			openai: `{"model":"claude","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"  "}]}`,
			want:   `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "cache markers on parts, messages, tool results and tools; system blocks keep their text",
			openai: `{"model":"claude","messages":[{"role":"system","content":"Be terse."},` +
				`{"role":"system","content":[{"type":"text","text":"Rules:"},{"type":"text","text":" long.","cache_control":{"type":"ephemeral","ttl":"1h"}}]},` +
				`{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"https://x.test/a.png"},"cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
				`{"role":"tool","tool_call_id":"c1","content":"42","cache_control":{"type":"ephemeral"}}],` +
				`"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral","ttl":"1h"}}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,` +
				`"system":[{"type":"text","text":"Be terse.\n"},{"type":"text","text":"Rules:"},{"type":"text","text":" long.","cache_control":{"type":"ephemeral","ttl":"1h"}}],` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image","source":{"type":"url","url":"https://x.test/a.png"},"cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"f","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"42","cache_control":{"type":"ephemeral"}}]}],` +
				`"tools":[{"name":"f","input_schema":{"type":"object","properties":{}},"cache_control":{"type":"ephemeral","ttl":"1h"}}]}`,
		},
		{
			name: "a message's marker goes on its last block; more than four keep the last four; a one-hour marker after a five-minute one is five minutes",
			openai: `{"model":"claude","messages":[{"role":"system","content":"S","cache_control":{"type":"ephemeral"}},` +
				`{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"assistant","content":"c","cache_control":{"type":"ephemeral"}},` +
				`{"role":"user","content":"d","cache_control":{"type":"ephemeral","ttl":"1h"}}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":[{"type":"text","text":"S"}],` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}},{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"assistant","content":[{"type":"text","text":"c","cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"user","content":[{"type":"text","text":"d","cache_control":{"type":"ephemeral"}}]}]}`,
		},
		{
			name:   "reasoning_effort is thinking: the effort's budget, no temperature or top_p",
			openai: `{"model":"claude","max_tokens":16000,"temperature":0.3,"top_p":0.9,"reasoning_effort":"medium","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":16000,"thinking":{"type":"enabled","budget_tokens":8192},` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "the budget stays under max_tokens",
			openai: `{"model":"claude","max_tokens":4000,"reasoning_effort":"high","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4000,"thinking":{"type":"enabled","budget_tokens":3000},` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name:   "no room for thinking: none",
			openai: `{"model":"claude","max_tokens":1000,"temperature":0.3,"reasoning_effort":"high","messages":[{"role":"user","content":"Hi"}]}`,
			want:   `{"model":"claude-sonnet-4-5","max_tokens":1000,"temperature":0.3,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
		{
			name: "signed thinking goes back first in a tool loop",
			openai: `{"model":"claude","reasoning_effort":"low","messages":[{"role":"user","content":"Weather?"},` +
				`{"role":"assistant","content":null,"reasoning_content":"Use the tool.","thinking_blocks":[{"type":"thinking","thinking":"Use the tool.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}],` +
				`"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"sun"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"thinking":{"type":"enabled","budget_tokens":2048},"messages":[{"role":"user","content":[{"type":"text","text":"Weather?"}]},` +
				`{"role":"assistant","content":[{"type":"thinking","thinking":"Use the tool.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"},{"type":"tool_use","id":"c1","name":"f","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"sun"}]}]}`,
		},
		{
			name: "a tool loop whose thinking blocks were dropped goes on without thinking",
			openai: `{"model":"claude","reasoning_effort":"low","messages":[{"role":"user","content":"Weather?"},` +
				`{"role":"assistant","content":null,"reasoning_content":"Use the tool.","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"sun"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Weather?"}]},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"c1","name":"f","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"c1","content":"sun"}]}]}`,
		},
		{
			name:   "a forced tool, or a model without thinking: no thinking, thinking blocks not sent",
			openai: `{"model":"claude","reasoning_effort":"low","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"ok","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"Go"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]},{"role":"assistant","content":[{"type":"text","text":"ok"}]},{"role":"user","content":[{"type":"text","text":"Go"}]}],` +
				`"tools":[{"name":"f","input_schema":{"type":"object","properties":{}}}],"tool_choice":{"type":"any"}}`,
		},
		{
			name:   "json_schema to a forced tool named after the schema",
			openai: `{"model":"claude","response_format":{"type":"json_schema","json_schema":{"name":"city","strict":true,"schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],` +
				`"tools":[{"name":"city","description":"Give your final answer by calling this tool: its input is the answer, as JSON.","input_schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}],` +
				`"tool_choice":{"type":"tool","name":"city"}}`,
		},
		{
			name:   "json_object to a forced tool taking any object",
			openai: `{"model":"claude","response_format":{"type":"json_object"},"messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Be terse.",` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],` +
				`"tools":[{"name":"json_response","description":"Give your final answer by calling this tool: its input is the answer, as JSON.","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"tool","name":"json_response"}}`,
		},
		{
			name:   "json_schema beside the client's tools: any tool, the answer tool included",
			openai: `{"model":"claude","tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}],"parallel_tool_calls":false,"response_format":{"type":"json_schema","json_schema":{"name":"city","schema":{"type":"object"}}},"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],` +
				`"tools":[{"name":"lookup","input_schema":{"type":"object"}},{"name":"city","description":"Give your final answer by calling this tool: its input is the answer, as JSON.","input_schema":{"type":"object"}}],` +
				`"tool_choice":{"type":"any","disable_parallel_tool_use":true}}`,
		},
		{
			name:   "a schema whose root is not an object is asked for in words",
			openai: `{"model":"claude","response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array","items":{"type":"string"}}}},"messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"model":"claude-sonnet-4-5","max_tokens":4096,"system":"Respond with a single JSON value that matches the JSON Schema below, and nothing else: no prose and no code fences.\nJSON Schema:\n{\"type\":\"array\",\"items\":{\"type\":\"string\"}}",` +
				`"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mr, err := toAnthropicRequest(chatRequest(t, tt.openai, tt.maxTokens), tt.stream)
			if err != nil {
				t.Fatalf("toAnthropicRequest: %v", err)
			}
			got, err := json.Marshal(mr)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, tt.want) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Thinking is for the models that think: Claude 3.7 and Claude 4 on, and
// names the router does not know.
func TestThinks(t *testing.T) {
	for model, want := range map[string]bool{"claude-sonnet-4-5": true, "claude-opus-4-1-20250805": true, "claude-3-7-sonnet-latest": true,
		"claude-haiku-4-5": true, "claude-3-5-haiku-latest": false, "claude-3-opus-20240229": false, "claude-sonnet-5": true} {
		if got := thinks(model); got != want {
			t.Errorf("thinks(%q) = %v, want %v", model, got, want)
		}
	}
	req := chatRequest(t, `{"model":"claude","reasoning_effort":"high","messages":[{"role":"user","content":"Hi"}]}`, 0)
	req.Upstream = "claude-3-5-haiku-latest"
	if mr, err := toAnthropicRequest(req, false); err != nil || mr.Thinking != nil {
		t.Errorf("Claude 3.5 Haiku got thinking %+v (%v)", mr.Thinking, err)
	}
}

func TestToAnthropicTools(t *testing.T) {
	const weather = `{"type":"function","function":{"name":"get_weather","description":"Weather now","parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}}`
	const weatherOut = `{"name":"get_weather","description":"Weather now","input_schema":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}`
	tests := []struct {
		name      string
		fields    string // tools, tool_choice and parallel_tool_calls
		wantTools string
		wantTC    string // "" for none sent
	}{
		{"no tool_choice", `"tools":[` + weather + `]`, `[` + weatherOut + `]`, ""},
		{"auto", `"tools":[` + weather + `],"tool_choice":"auto"`, `[` + weatherOut + `]`, `{"type":"auto"}`},
		{"required is any", `"tools":[` + weather + `],"tool_choice":"required"`, `[` + weatherOut + `]`, `{"type":"any"}`},
		{"none", `"tools":[` + weather + `],"tool_choice":"none","parallel_tool_calls":false`, `[` + weatherOut + `]`, `{"type":"none"}`},
		{"named function", `"tools":[` + weather + `],"tool_choice":{"type":"function","function":{"name":"get_weather"}}`,
			`[` + weatherOut + `]`, `{"type":"tool","name":"get_weather"}`},
		{"parallel off with a choice", `"tools":[` + weather + `],"tool_choice":"required","parallel_tool_calls":false`,
			`[` + weatherOut + `]`, `{"type":"any","disable_parallel_tool_use":true}`},
		{"parallel off alone is auto", `"tools":[` + weather + `],"parallel_tool_calls":false`,
			`[` + weatherOut + `]`, `{"type":"auto","disable_parallel_tool_use":true}`},
		{"tool_choice without tools is dropped", `"tool_choice":"none"`, ``, ""},
		{"no parameters", `"tools":[{"type":"function","function":{"name":"now"}}]`,
			`[{"name":"now","input_schema":{"type":"object","properties":{}}}]`, ""},
		{"parameters without type", `"tools":[{"type":"function","function":{"name":"now","parameters":{"properties":{}}}}]`,
			`[{"name":"now","input_schema":{"type":"object","properties":{}}}]`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"model":"claude","messages":[{"role":"user","content":"Hi"}],` + tt.fields + `}`
			mr, err := toAnthropicRequest(chatRequest(t, body, 0), false)
			if err != nil {
				t.Fatalf("toAnthropicRequest: %v", err)
			}
			if tt.wantTools == "" {
				if mr.Tools != nil {
					t.Errorf("tools = %+v, want none", mr.Tools)
				}
			} else if got, _ := json.Marshal(mr.Tools); !jsonEqual(t, got, tt.wantTools) {
				t.Errorf("tools = %s, want %s", got, tt.wantTools)
			}
			switch got, _ := json.Marshal(mr.ToolChoice); {
			case tt.wantTC == "" && mr.ToolChoice != nil:
				t.Errorf("tool_choice = %s, want none", got)
			case tt.wantTC != "" && !jsonEqual(t, got, tt.wantTC):
				t.Errorf("tool_choice = %s, want %s", got, tt.wantTC)
			}
		})
	}
}

func TestToAnthropicRequestErrors(t *testing.T) {
	tests := []struct {
		name      string
		openai    string
		wantParam string
	}{
		{"n over 1", `{"model":"claude","n":2,"messages":[{"role":"user","content":"Hi"}]}`, "n"},
		{"arguments not JSON", `{"model":"claude","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[` +
			`{"id":"c1","type":"function","function":{"name":"f","arguments":"{city: Paris"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"arguments not an object", `{"model":"claude","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[` +
			`{"id":"c1","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}]}`, "messages[1].tool_calls[0].function.arguments"},
		{"data URI not base64", `{"model":"claude","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,abc"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"unsupported image type", `{"model":"claude","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/svg+xml;base64,PHN2Zz4="}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"unsupported URL scheme", `{"model":"claude","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"audio part", `{"model":"claude","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			"messages[0].content[0].type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := toAnthropicRequest(chatRequest(t, tt.openai, 0), false)
			e := llm.AsError(err)
			if e == nil {
				t.Fatalf("error = %v, want an *llm.Error", err)
			}
			if e.Status != 400 || e.Kind != llm.KindInvalidRequest || e.Type != "invalid_request_error" {
				t.Errorf("error = status %d kind %v type %q, want 400 invalid_request invalid_request_error", e.Status, e.Kind, e.Type)
			}
			if e.Param != tt.wantParam {
				t.Errorf("param = %q, want %q", e.Param, tt.wantParam)
			}
		})
	}
}
