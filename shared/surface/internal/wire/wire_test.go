package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

var jsonSamples = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e-3`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b": null}] } `,
	`"\u00e9\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"`, `"é"`, "\"\xff\"", `"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{1:2}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `"a`, `"\x"`,
	`"\u12"`, "\"a\nb\"", `[`, `]`, `{"a":[1,2}`, `{} {}`, ``, ` `, `"\u00zz"`, `1e+`, `[-]`, `{"a":"b"}x`,
}

// FuzzAppend holds AppendCompact and AppendUnquoted to encoding/json on valid
// documents.
func FuzzAppend(f *testing.F) {
	for _, s := range jsonSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, b); err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact(nil, b); !bytes.Equal(got, compact.Bytes()) {
			t.Fatalf("AppendCompact(%q) = %q, encoding/json gives %q", b, got, compact.Bytes())
		}
		if len(b) == 0 || b[0] != '"' {
			return
		}
		// A valid string decodes as encoding/json decodes it.
		var want string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		trimmed := bytes.TrimSpace(b)
		got, ok := AppendUnquoted(nil, trimmed[1:len(trimmed)-1])
		if !ok || string(got) != want {
			t.Fatalf("AppendUnquoted(%q) = %q, %v; encoding/json gives %q", b, got, ok, want)
		}
	})
}

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{``, "", true},
		{`null`, "", true},
		{`"plain"`, "plain", true},
		{`"é ü"`, "é ü", true},
		{`"a\"b\\c\nd\u00e9\ud83d\ude00"`, "a\"b\\c\nd\u00e9😀", true},
		{"\"bad \xff utf8\"", "bad \uFFFD utf8", true},
		{`"lone \ud800 surrogate"`, "lone \uFFFD surrogate", true},
		{`"` + strings.Repeat(`\n`, 300) + `"`, strings.Repeat("\n", 300), true},
		{`"bad \x escape"`, "", false},
		{"\"raw \x01 control\"", "", false},
		{`1`, "", false},
		{`{}`, "", false},
		{`true`, "", false},
		{`"`, "", false},
	}
	for _, tt := range tests {
		got, ok := String([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("String(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestScalars(t *testing.T) {
	for _, tt := range []struct {
		in      string
		b, okB  bool
		n       int
		okN     bool
		f       float64
		okF     bool
		typ     string
		isNull  bool
		comment string
	}{
		{in: `true`, b: true, okB: true, typ: "boolean"},
		{in: `false`, okB: true, typ: "boolean"},
		{in: `null`, okB: true, typ: "null", isNull: true},
		{in: ``, okB: true, typ: "nothing", isNull: true},
		{in: `12`, n: 12, okN: true, f: 12, okF: true, typ: "number"},
		{in: `-3`, n: -3, okN: true, f: -3, okF: true, typ: "number"},
		{in: `16.0`, n: 16, okN: true, f: 16, okF: true, typ: "number"},
		{in: `1.5`, f: 1.5, okF: true, typ: "number"},
		{in: `1e30`, f: 1e30, okF: true, typ: "number"},
		{in: `"7"`, typ: "string"},
		{in: `[1]`, typ: "array"},
		{in: `{}`, typ: "object"},
	} {
		if b, ok := Bool([]byte(tt.in)); b != tt.b || ok != tt.okB {
			t.Errorf("Bool(%q) = %v, %v", tt.in, b, ok)
		}
		if n, ok := Int([]byte(tt.in)); n != tt.n || ok != tt.okN {
			t.Errorf("Int(%q) = %v, %v", tt.in, n, ok)
		}
		if f, ok := Float([]byte(tt.in)); f != tt.f || ok != tt.okF {
			t.Errorf("Float(%q) = %v, %v", tt.in, f, ok)
		}
		if got := Type([]byte(tt.in)); got != tt.typ {
			t.Errorf("Type(%q) = %q, want %q", tt.in, got, tt.typ)
		}
		if got := IsNull([]byte(tt.in)); got != tt.isNull {
			t.Errorf("IsNull(%q) = %v", tt.in, got)
		}
	}
}

func TestCount(t *testing.T) {
	for in, want := range map[string]int{
		``: 0, `null`: 0, `{"a":1}`: 0, `[]`: 0, `[ ]`: 0, `[1]`: 1, `[{"a":[1,2]}, "x", null]`: 3,
	} {
		if got := Count([]byte(in)); got != want {
			t.Errorf("Count(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestAppendCompact(t *testing.T) {
	for _, s := range []string{
		"{\n \"a\" : [ 1 , 2 ],\t\"b\\\" c\" : \"x  y\\\\\" \r\n}",
		`[ "a\"" , { } ]`, `"  "`, `1`,
	} {
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(s)); err != nil {
			t.Fatal(err)
		}
		if got := AppendCompact(nil, []byte(s)); string(got) != want.String() {
			t.Errorf("AppendCompact(%q) = %s, want %s", s, got, want.String())
		}
	}
}

// TestAppendChat: the body reads back, with the chat surface's parser, as
// the request it was written from.
func TestAppendChat(t *testing.T) {
	f, n, seed := 0.5, 100, int64(7)
	strict := true
	eph, hour := &llm.CacheControl{Type: "ephemeral"}, &llm.CacheControl{Type: "ephemeral", TTL: "1h"}
	full := &llm.ChatRequest{PromptCacheKey: "route-k", IncludeReasoning: &strict, Model: "m\"x", Stream: true, StreamOptions: &llm.StreamOptions{IncludeUsage: true},
		Temperature: &f, TopP: &f, MaxTokens: &n, MaxCompletionTokens: &n, Stop: llm.Stop{"a", "b\n"}, N: &n, Seed: &seed,
		PresencePenalty: &f, FrequencyPenalty: &f, ParallelToolCalls: &strict, User: "u", ReasoningEffort: "low",
		ToolChoice: json.RawMessage(`{"type":"function","function":{"name":"f"}}`),
		Tools: []llm.Tool{{Type: "function", Function: llm.FunctionDecl{Name: "f", Description: "d", Parameters: json.RawMessage(`{"type":"object"}`), Strict: &strict}},
			{Type: "function", Function: llm.FunctionDecl{Name: "g", CacheControl: eph}, CacheControl: hour}},
		ResponseFormat: &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "s", Description: "d", Schema: json.RawMessage(`{}`), Strict: &strict}},
		Messages: []llm.Message{
			{Role: "system", Content: llm.Content{Text: "sys"}, CacheControl: hour},
			{Role: "user", Content: llm.Content{IsParts: true, Parts: []llm.Part{{Type: "text", Text: "t", CacheControl: eph},
				{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.test/a.png", Detail: "low"}}}}},
			{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "c", Type: "function", Function: llm.FunctionCall{Name: "f", Arguments: `{"a":1}`}}},
				ReasoningContent: "r", ThinkingBlocks: []llm.ThinkingBlock{{Type: "thinking", Thinking: "r", Signature: "s\n"}, {Type: "redacted_thinking", Data: "d"}}},
			{Role: "tool", ToolCallID: "c", Content: llm.Content{}},
			{Role: "assistant", Content: llm.Content{IsParts: true, Parts: []llm.Part{{Type: "refusal", Refusal: "no"}}}, Name: "bot"},
		}}
	for _, r := range []*llm.ChatRequest{full, {Model: "m", Messages: []llm.Message{{Role: "user", Content: llm.Content{Text: "hi"}}}}} {
		body := AppendChat(nil, r, []byte(`"verbosity":"low"`))
		back, err := llm.ParseChat(body)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		var want, got bytes.Buffer
		_ = json.NewEncoder(&want).Encode(r)
		_ = json.NewEncoder(&got).Encode(back)
		if want.String() != got.String() {
			t.Errorf("read back differently\n got %s\nwant %s", got.String(), want.String())
		}
		if !bytes.Contains(body, []byte(`,"verbosity":"low"}`)) {
			t.Errorf("extra members missing: %s", body)
		}
	}
}

func TestAppendEventHead(t *testing.T) {
	got := string(AppendEventHead(nil, "ping")) + EventEnd
	if got != "event: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Errorf("got %q", got)
	}
	if a, b := RandomID("msg_"), RandomID("msg_"); len(a) != 36 || a[:4] != "msg_" || a == b {
		t.Errorf("RandomID gave %q and %q", a, b)
	}
}
