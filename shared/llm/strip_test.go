package llm

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

const extendedBody = `{"model":"m","messages":[` +
	`{"role":"system","content":[{"type":"text","text":"rules","cache_control":{"type":"ephemeral","ttl":"1h"}}],"x_sys":1},` +
	`{"role":"user","content":"q","cache_\u0063ontrol":{"type":"ephemeral"}},` +
	`{"role":"assistant","content":null,"thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}],"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},` +
	`{"role":"tool","tool_call_id":"c","content":"42","cache_control":{"type":"ephemeral"}}],` +
	`"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"cache_control":{"type":"string"}}},"cache_control":{"type":"ephemeral"}},"cache_control":{"type":"ephemeral"}}],` +
	`"include_reasoning":true,"prompt_cache_key":"k","vendor":{"cache_control":1}}`

func TestStrip(t *testing.T) {
	orig, err := ParseChat([]byte(extendedBody))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Strip([]byte(extendedBody), StripExtensions)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseChat(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Extended() {
		t.Errorf("extensions left: %s", out)
	}
	// Everything else reads as before: the request without its extensions.
	want := *orig
	want.IncludeReasoning = nil
	want.Messages = append([]Message(nil), orig.Messages...)
	for i := range want.Messages {
		m := &want.Messages[i]
		m.CacheControl, m.ThinkingBlocks = nil, nil
		if m.Content.IsParts {
			m.Content.Parts = append([]Part(nil), m.Content.Parts...)
			for j := range m.Content.Parts {
				m.Content.Parts[j].CacheControl = nil
			}
		}
	}
	want.Tools = append([]Tool(nil), orig.Tools...)
	want.Tools[0].CacheControl, want.Tools[0].Function.CacheControl = nil, nil
	if !reflect.DeepEqual(got, &want) {
		t.Errorf("stripped request\n got %+v\nwant %+v", got, &want)
	}
	// Members the router does not read keep their bytes, a schema's
	// property named cache_control included.
	for _, kept := range []string{`"x_sys":1`, `"vendor":{"cache_control":1}`, `"properties":{"cache_control":{"type":"string"}}`, `"prompt_cache_key":"k"`} {
		if !bytes.Contains(out, []byte(kept)) {
			t.Errorf("%s lost: %s", kept, out)
		}
	}
	if !json.Valid(out) {
		t.Errorf("not JSON: %s", out)
	}

	cacheOnly, err := Strip([]byte(extendedBody), StripCache)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseChat(cacheOnly)
	if err != nil || r.CacheMarked() || len(r.Messages[2].ThinkingBlocks) != 1 || !r.WantsReasoning() {
		t.Errorf("StripCache: %+v, %v\n%s", r, err, cacheOnly)
	}
}

func TestAppendWithoutReasoning(t *testing.T) {
	for _, tt := range []struct {
		name, in, member, want string
		empty                  bool
	}{
		{"reasoning delta", `{"id":"x","choices":[{"index":0,"delta":{"reasoning_content":"hm"},"finish_reason":null}]}`, "delta",
			`{"id":"x","choices":[{"index":0,"delta":{},"finish_reason":null}]}`, true},
		{"openrouter reasoning", `{"choices":[{"delta":{"reasoning":"hm","reasoning_details":[{"type":"reasoning.text"}]}}],"usage":null}`, "delta",
			`{"choices":[{"delta":{}}],"usage":null}`, true},
		{"thinking block", `{"choices":[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}]}}]}`, "delta",
			`{"choices":[{"index":0,"delta":{}}]}`, true},
		{"role kept", `{"choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":""},"finish_reason":null}]}`, "delta",
			`{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}`, false},
		{"content kept", `{"choices":[{"index":0,"delta":{"reasoning_content":"a","content":"b"}}]}`, "delta",
			`{"choices":[{"index":0,"delta":{"content":"b"}}]}`, false},
		{"finish kept", `{"choices":[{"index":0,"delta":{"reasoning_content":"a"},"finish_reason":"stop"}]}`, "delta",
			`{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`, false},
		{"usage kept", `{"choices":[{"index":0,"delta":{"reasoning_content":"a"}}],"usage":{"prompt_tokens":1}}`, "delta",
			`{"choices":[{"index":0,"delta":{}}],"usage":{"prompt_tokens":1}}`, false},
		{"answer after blank lines", "\n\n" + `{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"42","reasoning_content":"r","thinking_blocks":[]},"finish_reason":"stop"}]}`, "message",
			`{"object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"42"},"finish_reason":"stop"}]}`, false},
	} {
		if !HasReasoning([]byte(tt.in)) {
			t.Errorf("%s: HasReasoning false", tt.name)
		}
		out, empty, err := AppendWithoutReasoning(nil, []byte(tt.in), tt.member)
		if err != nil || string(out) != tt.want || empty != tt.empty {
			t.Errorf("%s:\n got %s empty %v (%v)\nwant %s empty %v", tt.name, out, empty, err, tt.want, tt.empty)
		}
	}
	for _, plain := range []string{
		`{"choices":[{"index":0,"delta":{"content":"no thoughts"}}]}`,
		// OpenAI's usage names reasoning tokens in every answer: no reasoning to strip.
		`{"choices":[],"usage":{"completion_tokens_details":{"reasoning_tokens":0}}}`,
	} {
		if HasReasoning([]byte(plain)) {
			t.Errorf("HasReasoning on %s", plain)
		}
	}
}
