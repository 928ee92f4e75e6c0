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
