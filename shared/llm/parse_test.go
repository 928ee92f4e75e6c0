package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const benchChat = `{"model":"bench","messages":[{"role":"system","content":"You are a triage assistant."},{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"temperature":0.2,"max_tokens":256}`

func BenchmarkParseChat(b *testing.B) {
	body := []byte(benchChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseChat(body); err != nil {
			b.Fatal(err)
		}
	}
}

// toolsChat is an agent's turn: a tool call, its result, two tools with
// schemas (1.3 KB).
const toolsChat = `{"model":"bench","messages":[{"role":"system","content":"You are an agent."},{"role":"user","content":"Find the weather in Paris and book a table."},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C, sunny"}],"tools":[` +
	`{"type":"function","function":{"name":"get_weather","description":"Weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string","description":"City name"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}},` +
	`{"type":"function","function":{"name":"book_table","description":"Book a restaurant","parameters":{"type":"object","properties":{"place":{"type":"string"},"time":{"type":"string"},"people":{"type":"integer"}},"required":["place","time"]}}}],"tool_choice":"auto","temperature":0.3,"max_tokens":512}`

func BenchmarkParseChatTools(b *testing.B) {
	body := []byte(toolsChat)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseChat(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUsageUnmarshal(b *testing.B) {
	data := []byte(`{"prompt_tokens":31,"completion_tokens":27,"total_tokens":58,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`)
	var u Usage
	b.ReportAllocs()
	for b.Loop() {
		if err := u.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUsageUnmarshal(t *testing.T) {
	tests := []struct {
		in   string
		want Usage
	}{
		{`{"prompt_tokens":1117,"completion_tokens":46,"total_tokens":1163,"prompt_tokens_details":{"cached_tokens":400,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":12}}`,
			Usage{PromptTokens: 1117, CompletionTokens: 46, CachedTokens: 400, ReasoningTokens: 12}},
		{`{"prompt_tokens":50,"completion_tokens":5,"prompt_cache_hit_tokens":30,"prompt_cache_miss_tokens":20}`,
			Usage{PromptTokens: 50, CompletionTokens: 5, CachedTokens: 30}},
		{`{"prompt_tokens": 7 ,"completion_tokens":null,"prompt_tokens_details":null}`, Usage{PromptTokens: 7}},
		{`{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1,"cache_write_tokens":2}}`,
			Usage{PromptTokens: 3, CompletionTokens: 2, CachedTokens: 1, CacheWriteTokens: 2}},
	}
	for _, tt := range tests {
		var got Usage
		if err := got.UnmarshalJSON([]byte(tt.in)); err != nil || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	var u Usage
	if err := u.UnmarshalJSON([]byte(`[1]`)); err == nil {
		t.Error("an array parsed as usage")
	}
}

// Round trip through MarshalJSON.
func TestUsageRoundTrip(t *testing.T) {
	in := Usage{PromptTokens: 10, CompletionTokens: 4, CachedTokens: 3, CacheWriteTokens: 1, ReasoningTokens: 2}
	data, err := in.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var out Usage
	if err := out.UnmarshalJSON(data); err != nil || out != in {
		t.Errorf("round trip: %s -> %+v", data, out)
	}
}

// reference is what ParseChat must agree with: encoding/json, then Validate.
func reference(body []byte) (*ChatRequest, error) {
	if referenceDepth(body) > MaxJSONDepth {
		return nil, errors.New("nested too deeply")
	}
	req := new(ChatRequest)
	if err := json.Unmarshal(body, req); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// referenceDepth is the deepest nesting encoding/json's tokenizer reaches in
// body (up to a syntax error), independent of TooDeep.
func referenceDepth(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	depth, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			deepest = max(deepest, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzParseChat holds the scanning decoder to encoding/json. Every body the
// router accepts, encoding/json accepts and decodes to the same request, so
// what the router authorizes, prices and audits is what any parser reads:
// names with escapes included, and names that differ in case, which
// encoding/json matches and the router refuses. The router refuses more than
// encoding/json only for the two ambiguities it closes, each confirmed by an
// independent reading of encoding/json's tokens: a member name twice in an
// object (encoding/json keeps the last, other parsers the first) and a name
// that differs only in case from one the router reads. Anything else both
// refuse.
func FuzzParseChat(f *testing.F) {
	for _, s := range []string{
		benchChat, toolsChat,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a\u00e9\n\"q\""}],"stop":["x","y"],"n":1,"seed":7}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e-1,"top_p":null,"max_tokens":10,"response_format":{"type":"json_object"},"unknown":{"a":[1,2]}}`,
		`{"model":"m","messages":"hi"}`, `{"model":1}`, `[]`, `{"model":"m","messages":[null]}`, `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`,
		// escaped, duplicate and case-variant names
		`{"model":"pub-model","mod\u0065l":"pub-expensive","messages":[{"role":"user","content":"x"}]}`,
		`{"mod\u0065l":"pub-expensive","messages":[{"r\u006fle":"user","content":"x"}]}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"model":"b"}`,
		`{"model":"a","messages":[{"role":"user","content":"x","content":"y"}]}`,
		`{"model":"a","Model":"b","messages":[{"role":"user","content":"x"}]}`,
		`{"model":"a","messages":[{"role":"user","Content":"x","content":"y"}]}`,
		`{"model":"a","\u017ftream":true,"messages":[{"role":"user","content":"x"}]}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"INCLUDE_USAGE":true}}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","Name":"g","parameters":{"Type":"object"}}}]}`,
		`{"model":"a","messages":[{"role":"user","content":"x"}],"Unknown":1,"unknown":2}`,
		// prompt caching and reasoning
		`{"model":"m","messages":[{"role":"system","content":[{"type":"text","text":"long","cache_control":{"type":"ephemeral","ttl":"1h"}}]},{"role":"user","content":"q","cache_control":{"type":"ephemeral"}}],"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}],"prompt_cache_key":"k","include_reasoning":true}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"redacted_thinking","data":"d"}],"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"x"}],"include_reasoning":null}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"persistent"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x","Cache_Control":{"type":"ephemeral"}}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","TTL":"1h"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","cache_control":{"type":"ephemeral","ttl":"2h"}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := ParseChat(body)
		want, wantErr := reference(body)
		if gotErr == nil {
			if wantErr != nil {
				t.Fatalf("ParseChat(%s) accepted what encoding/json refuses: %v", body, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ParseChat(%s) =\n%+v\nencoding/json:\n%+v", body, got, want)
			}
			return
		}
		e := AsError(gotErr)
		if e == nil {
			t.Fatalf("ParseChat(%s) error %v is not an *Error", body, gotErr)
		}
		switch e.Code {
		case CodeDuplicateMember:
			if !duplicateNames(body) {
				t.Fatalf("ParseChat(%s) = %v, but encoding/json's tokens show no name twice", body, e)
			}
		case CodeMemberCase:
			if !caseVariantNames(body) {
				t.Fatalf("ParseChat(%s) = %v, but no name differs only in case from one the router reads", body, e)
			}
		default:
			if wantErr == nil {
				t.Fatalf("ParseChat(%s): error %v; encoding/json accepts it", body, gotErr)
			}
		}
	})
}

// names calls visit with every member name of body, decoded by encoding/json,
// and the names seen before it in the same object. It stops at a syntax
// error.
func names(body []byte, visit func(name string, before map[string]bool)) {
	dec := json.NewDecoder(bytes.NewReader(body))
	type level struct {
		object, wantName bool
		names            map[string]bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantName {
			if name, ok := tok.(string); ok {
				visit(name, stack[n-1].names)
				stack[n-1].names[name], stack[n-1].wantName = true, false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, wantName: true, names: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantName = true
		}
	}
}

// duplicateNames reports whether an object of body has a member name twice.
func duplicateNames(body []byte) bool {
	dup := false
	names(body, func(name string, before map[string]bool) { dup = dup || before[name] })
	return dup
}

// caseVariantNames reports whether a member name of body differs only in
// case from a name the router reads somewhere in a request.
func caseVariantNames(body []byte) bool {
	known := strings.Fields(`model messages stream temperature top_p presence_penalty frequency_penalty max_tokens
		max_completion_tokens n seed stream_options stop tools tool_choice parallel_tool_calls response_format user
		reasoning_effort role content name tool_call_id reasoning_content tool_calls type function description
		parameters strict include_usage json_schema schema id index arguments text image_url url detail refusal
		prompt_cache_key include_reasoning cache_control ttl thinking_blocks thinking signature data`)
	found := false
	names(body, func(name string, _ map[string]bool) {
		for _, k := range known {
			if strings.EqualFold(name, k) && name != k {
				found = true
			}
		}
	})
	return found
}

// A body that parsers could read two ways is refused, naming the member; a
// name with escapes is read as every parser reads it.
func TestParseRefusesAmbiguousBodies(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"x"}]`
	tests := []struct {
		name      string
		body      string
		wantCode  string
		wantParam string
	}{
		{"model smuggled under an escaped name", `{"model":"pub-model","mod\u0065l":"pub-expensive",` + msgs + `}`, CodeDuplicateMember, "model"},
		{"plain duplicate", `{"model":"a",` + msgs + `,"max_tokens":1,"max_tokens":100000}`, CodeDuplicateMember, "max_tokens"},
		{"duplicate in a message", `{"model":"a","messages":[{"role":"user","content":"x","content":"y"}]}`, CodeDuplicateMember, "messages[0].content"},
		{"duplicate in a tool schema", `{"model":"a",` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","type":"array"}}}]}`,
			CodeDuplicateMember, "tools[0].function.parameters.type"},
		{"duplicate unknown member", `{"model":"a",` + msgs + `,"x":1,"x":2}`, CodeDuplicateMember, "x"},
		{"case variant at the top", `{"Model":"pub-expensive","model":"pub-model",` + msgs + `}`, CodeMemberCase, "Model"},
		{"Unicode case fold", `{"model":"a",` + msgs + `,"\u017ftream":true}`, CodeMemberCase, "ſtream"},
		{"case variant in a message", `{"model":"a","messages":[{"role":"user","content":"x","Content":"y"}]}`, CodeMemberCase, "messages[0].Content"},
		{"case variant in stream_options", `{"model":"a",` + msgs + `,"stream":true,"stream_options":{"INCLUDE_USAGE":true}}`, CodeMemberCase, "stream_options.INCLUDE_USAGE"},
		{"case variant in a tool", `{"model":"a",` + msgs + `,"tools":[{"type":"function","function":{"Name":"f"}}]}`, CodeMemberCase, "tools[0].function.Name"},
		{"case variant in a content part", `{"model":"a","messages":[{"role":"user","content":[{"Type":"text","text":"x"}]}]}`, CodeMemberCase, "messages[0].content[0].Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChat([]byte(tt.body))
			e := AsError(err)
			if e == nil || e.Status != 400 || e.Code != tt.wantCode || e.Param != tt.wantParam || e.Type != "invalid_request_error" {
				t.Errorf("ParseChat(%s) = %+v, want 400 %s on %q", tt.body, e, tt.wantCode, tt.wantParam)
			}
		})
	}
	t.Run("escaped names are read decoded", func(t *testing.T) {
		req, err := ParseChat([]byte(`{"mod\u0065l":"pub-expensive","messages":[{"r\u006fle":"user","content":"x"}],"max_tok\u0065ns":5}`))
		if err != nil || req.Model != "pub-expensive" || req.Messages[0].Role != "user" || req.MaxOutputTokens() != 5 {
			t.Errorf("got %+v, %v; want model pub-expensive, role user, max_tokens 5", req, err)
		}
	})
	t.Run("names in a client's JSON Schema keep their case", func(t *testing.T) {
		body := `{"model":"a",` + msgs + `,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"Type":{"type":"string"},"Name":{"type":"string"}}}}}]}`
		if _, err := ParseChat([]byte(body)); err != nil {
			t.Errorf("ParseChat refused a schema with capitalised properties: %v", err)
		}
	})
	long := strings.Repeat("x", 300)
	if _, err := ParseChat([]byte(`{"model":"a",` + msgs + `,"` + long + `":1,"` + long + `":2}`)); AsError(err) == nil ||
		AsError(err).Param != long[:maxEchoed]+"…" {
		t.Errorf("a long duplicate name: %v, want it clipped in the error", err)
	}
	for _, tt := range []struct{ body, code, param string }{
		{`{"model":"e","input":"x","model":"f"}`, CodeDuplicateMember, "model"},
		{`{"model":"e","input":"x","Input":["y"]}`, CodeMemberCase, "Input"},
	} {
		_, _, err := ParseEmbedding([]byte(tt.body))
		if e := AsError(err); e == nil || e.Code != tt.code || e.Param != tt.param {
			t.Errorf("ParseEmbedding(%s) = %v, want %s on %q", tt.body, err, tt.code, tt.param)
		}
	}
}
