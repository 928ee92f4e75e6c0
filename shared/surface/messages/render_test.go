package messages

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/shared"
	"github.com/llm-router/router/shared/llm"
)

// testID makes rendering deterministic.
const testID = "msg_0123456789abcdef0123456789abcdef"

func request(t testing.TB, body string) *Request {
	t.Helper()
	req, e := Parse([]byte(body))
	if e != nil {
		t.Fatalf("Parse: %v", e)
	}
	req.ID = testID
	return req
}

func chatCompletion(choice string) string {
	return `{"id":"chatcmpl-1","object":"chat.completion","created":1741476542,"model":"claude-sonnet-4-5",` +
		`"choices":[` + choice + `],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
}

func choice(message, finish string) string {
	return `{"index":0,"message":` + message + `,"logprobs":null,"finish_reason":"` + finish + `"}`
}

// wantBlock is what a test expects of a content block.
type wantBlock struct {
	typ, text, id, name, input, signature string
}

func checkContent(t *testing.T, got []anthropic.ContentBlockUnion, want []wantBlock) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		b := got[i]
		if b.Type != w.typ {
			t.Errorf("block %d: type %q, want %q", i, b.Type, w.typ)
			continue
		}
		switch w.typ {
		case "text":
			if b.Text != w.text {
				t.Errorf("block %d: text %q, want %q", i, b.Text, w.text)
			}
		case "thinking":
			if b.Thinking != w.text || b.Signature != w.signature {
				t.Errorf("block %d: thinking %q signed %q, want %q signed %q", i, b.Thinking, b.Signature, w.text, w.signature)
			}
		case "redacted_thinking":
			if b.Data != w.text {
				t.Errorf("block %d: redacted data %q, want %q", i, b.Data, w.text)
			}
		case "tool_use":
			if b.ID != w.id || b.Name != w.name || string(b.Input) != w.input {
				t.Errorf("block %d: tool_use %s %s %s, want %s %s %s", i, b.ID, b.Name, b.Input, w.id, w.name, w.input)
			}
		}
	}
}

var renderCases = []struct {
	name     string
	request  string // extra request members
	choice   string
	reason   string
	sequence string
	want     []wantBlock
}{
	{"text", ``, choice(`{"role":"assistant","content":"Hello \"there\"\n\u00e9"}`, "stop"), "end_turn", "",
		[]wantBlock{{typ: "text", text: "Hello \"there\"\né"}}},
	{"text and tool calls", ``, choice(`{"role":"assistant","content":"Checking.","tool_calls":[`+
		`{"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}},`+
		`{"id":"call_b","type":"function","function":{"name":"now","arguments":""}}]}`, "tool_calls"), "tool_use", "",
		[]wantBlock{{typ: "text", text: "Checking."}, {typ: "tool_use", id: "toolu_a", name: "get_weather", input: `{"city":"Paris"}`},
			{typ: "tool_use", id: "call_b", name: "now", input: `{}`}}},
	{"tool call finished with stop", ``, choice(`{"role":"assistant","content":null,"tool_calls":[`+
		`{"id":"c","type":"function","function":{"name":"f","arguments":"[1,2]"}}]}`, "stop"), "tool_use", "",
		[]wantBlock{{typ: "tool_use", id: "c", name: "f", input: `{}`}}},
	{"arguments with a repeated name go out as they came", ``, choice(`{"role":"assistant","content":null,"tool_calls":[`+
		`{"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\": 1, \"a\": 2}"}}]}`, "tool_calls"), "tool_use", "",
		[]wantBlock{{typ: "tool_use", id: "c", name: "f", input: `{"a":1,"a":2}`}}},
	{"max tokens", ``, choice(`{"role":"assistant","content":"Once upon"}`, "length"), "max_tokens", "",
		[]wantBlock{{typ: "text", text: "Once upon"}}},
	{"content filter", ``, choice(`{"role":"assistant","content":null,"refusal":"I can't help with that."}`, "content_filter"), "refusal", "",
		[]wantBlock{{typ: "text", text: "I can't help with that."}}},
	{"stop sequence named by the upstream", `,"stop_sequences":["END"]`,
		`{"index":0,"message":{"role":"assistant","content":"The"},"finish_reason":"stop","stop_reason":"END"}`, "stop_sequence", "END",
		[]wantBlock{{typ: "text", text: "The"}}},
	{"stop sequence the client did not ask for", ``,
		`{"index":0,"message":{"role":"assistant","content":"The"},"finish_reason":"stop","stop_reason":"END"}`, "end_turn", "",
		[]wantBlock{{typ: "text", text: "The"}}},
	{"reasoning without thinking is dropped", ``, choice(`{"role":"assistant","content":"42","reasoning_content":"Hmm."}`, "stop"), "end_turn", "",
		[]wantBlock{{typ: "text", text: "42"}}},
	{"reasoning with thinking", `,"thinking":{"type":"enabled","budget_tokens":2048}`,
		choice(`{"role":"assistant","content":"42","reasoning_content":"Hmm."}`, "stop"), "end_turn", "",
		[]wantBlock{{typ: "thinking", text: "Hmm."}, {typ: "text", text: "42"}}},
	{"signed thinking blocks go out as they came", `,"thinking":{"type":"enabled","budget_tokens":2048}`,
		choice(`{"role":"assistant","content":null,"reasoning_content":"Hmm.","thinking_blocks":[{"type":"thinking","thinking":"Hmm.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}],`+
			`"tool_calls":[{"id":"toolu_a","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "tool_calls"), "tool_use", "",
		[]wantBlock{{typ: "thinking", text: "Hmm.", signature: "c2ln"}, {typ: "redacted_thinking", text: "ZW5j"}, {typ: "tool_use", id: "toolu_a", name: "f", input: `{}`}}},
	{"empty", ``, choice(`{"role":"assistant","content":""}`, "stop"), "end_turn", "", nil},
}

func TestRender(t *testing.T) {
	for _, tt := range renderCases {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, `{"model":"claude","max_tokens":4096,"messages":[{"role":"user","content":"hi"}]`+tt.request+`}`)
			usage := llm.Usage{PromptTokens: 1500, CompletionTokens: 40, CachedTokens: 1024, CacheWriteTokens: 200}
			out, err := Render(nil, req, []byte(chatCompletion(tt.choice)), usage)
			if err != nil {
				t.Fatal(err)
			}
			var got anthropic.Message
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("anthropic-sdk-go cannot read it: %v\n%s", err, out)
			}
			if got.ID != testID || got.Type != "message" || got.Role != "assistant" || got.Model != "claude-sonnet-4-5" ||
				string(got.StopReason) != tt.reason || got.StopSequence != tt.sequence {
				t.Errorf("message: %s", out)
			}
			checkContent(t, got.Content, tt.want)
			u := got.Usage
			if u.InputTokens != 276 || u.CacheReadInputTokens != 1024 || u.CacheCreationInputTokens != 200 || u.OutputTokens != 40 {
				t.Errorf("usage = %+v", u)
			}
			if tt.sequence == "" && got.JSON.StopSequence.Raw() != "null" {
				t.Errorf("stop_sequence = %s, want null", got.JSON.StopSequence.Raw())
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	req := request(t, `{"model":"claude","max_tokens":1,"messages":[{"role":"user","content":"hi"}]}`)
	for _, body := range []string{``, `[]`, `{"model":"m"}`, `{"model":"m","choices":[{}]}`, `{"choices":[]}`,
		`{"model":"m","choices":[{"message":{"tool_calls":[{"function":{"name":"f"}}]}}]}`} {
		if out, err := Render(nil, req, []byte(body), llm.Usage{}); err == nil {
			t.Errorf("Render(%s) = %s, want an error", body, out)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		err    *llm.Error
		status int
		typ    string
	}{
		{llm.InvalidRequest("messages", "x", "bad"), 400, "invalid_request_error"},
		{&llm.Error{Kind: llm.KindAuth, Status: 401, Message: "no key"}, 401, "authentication_error"},
		{&llm.Error{Kind: llm.KindPermission, Status: 402, Message: "pay"}, 402, "billing_error"},
		{&llm.Error{Kind: llm.KindPermission, Status: 403, Message: "no"}, 403, "permission_error"},
		{&llm.Error{Kind: llm.KindCompliance, Status: 403, Message: "phi"}, 403, "permission_error"},
		{&llm.Error{Kind: llm.KindNotFound, Status: 404, Message: "no model"}, 404, "not_found_error"},
		{&llm.Error{Kind: llm.KindTooLarge, Status: 413, Message: "big"}, 413, "request_too_large"},
		{&llm.Error{Kind: llm.KindRateLimited, Status: 429, Message: "slow"}, 429, "rate_limit_error"},
		{&llm.Error{Kind: llm.KindOverloaded, Status: 503, Message: "busy"}, 529, "overloaded_error"},
		{&llm.Error{Kind: llm.KindTimeout, Status: 504, Message: "late"}, 504, "timeout_error"},
		{&llm.Error{Kind: llm.KindUpstream, Status: 502, Message: "all targets failed"}, 500, "api_error"},
		{&llm.Error{Kind: llm.KindUnavailable, Status: 502, Message: "down"}, 500, "api_error"},
		{&llm.Error{Status: 500, Message: "oops"}, 500, "api_error"},
		{&llm.Error{Status: 429}, 429, "rate_limit_error"},
		{&llm.Error{Status: 529}, 529, "overloaded_error"},
		{&llm.Error{Status: 422}, 400, "invalid_request_error"},
		{&llm.Error{}, 500, "api_error"},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.status {
			t.Errorf("Status(%+v) = %d, want %d", tt.err, got, tt.status)
		}
		out := AppendError(nil, tt.err)
		var resp shared.ErrorResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %v", out, err)
		}
		want := tt.err.Message
		if want == "" {
			want = http.StatusText(tt.status)
		}
		if resp.Type != "error" || resp.Error.Type != tt.typ || resp.Error.Message != want {
			t.Errorf("AppendError(%+v) = %s, want type %s", tt.err, out, tt.typ)
		}
	}
}
