package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
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

// FuzzParseChat holds the scanning decoder to encoding/json: on any input
// both accept or both refuse, and what they accept decodes to the same request.
func FuzzParseChat(f *testing.F) {
	for _, s := range []string{
		benchChat,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`,
		`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"a\u00e9\n\"q\""}],"stop":["x","y"],"n":1,"seed":7}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":"auto"}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e-1,"top_p":null,"max_tokens":10,"response_format":{"type":"json_object"},"unknown":{"a":[1,2]}}`,
		`{"model":"m","messages":"hi"}`, `{"model":1}`, `[]`, `{"model":"m","messages":[null]}`, `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		// encoding/json matches keys case-insensitively; the router, like
		// OpenAI, does not. Leave inputs where that could matter aside.
		if bytes.ContainsFunc(body, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
			return
		}
		got, gotErr := ParseChat(body)
		want, wantErr := reference(body)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("ParseChat(%s): error %v; encoding/json: error %v", body, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseChat(%s) =\n%+v\nencoding/json:\n%+v", body, got, want)
		}
		if gotErr != nil && AsError(gotErr) == nil {
			t.Fatalf("ParseChat(%s) error %v is not an *Error", body, gotErr)
		}
	})
}
