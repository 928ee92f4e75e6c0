package gateway

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/respcache"
)

// The assembler turns chunks into the chat.completion they amount to:
// every choice, text, refusal, reasoning and tool calls by index.
func TestAssembler(t *testing.T) {
	var a assembler
	for _, c := range []string{
		`{"id":"c1","object":"chat.completion.chunk","created":7,"model":"m","system_fingerprint":"fp","obfuscation":"zz","usage":null,
			"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}`,
		`{"id":"c1","choices":[{"index":1,"delta":{"role":"assistant","reasoning_content":"think "}}]}`,
		`{"id":"c1","choices":[{"index":0,"delta":{"content":"Hel"}},{"index":1,"delta":{"reasoning_content":"hard","tool_calls":[{"index":1,"id":"t2","type":"function","function":{"name":"g","arguments":""}}]}}]}`,
		`{"id":"c1","choices":[{"index":0,"delta":{"content":"lo"}},{"index":1,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]}`,
		`{"id":"c1","choices":[{"index":1,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}},{"index":1,"function":{"arguments":"{}"}}]}}]}`,
		`{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"},{"index":1,"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c1","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}`,
	} {
		a.add([]byte(c))
	}
	body, ok := a.completion(llm.Usage{PromptTokens: 9, CompletionTokens: 4})
	if !ok {
		t.Fatal("not assembled")
	}
	want := `{"id":"c1","object":"chat.completion","created":7,"model":"m","choices":[` +
		`{"index":0,"message":{"role":"assistant","content":"Hello","refusal":null},"logprobs":null,"finish_reason":"stop"},` +
		`{"index":1,"message":{"role":"assistant","content":null,"refusal":null,"tool_calls":[` +
		`{"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},` +
		`{"id":"t2","type":"function","function":{"name":"g","arguments":"{}"}}],"reasoning_content":"think hard"},"logprobs":null,"finish_reason":"tool_calls"}],` +
		`"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13},"system_fingerprint":"fp"}`
	if string(body) != want {
		t.Errorf("assembled\n got %s\nwant %s", body, want)
	}
}

// Anything the assembler does not know, or a choice left unfinished, and
// the stream is not stored.
func TestAssemblerGivesUp(t *testing.T) {
	head := `{"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}`
	end := `{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`
	for name, chunks := range map[string][]string{
		"logprobs":            {head, `{"choices":[{"index":0,"delta":{"content":"!"},"logprobs":{"content":[]}}]}`, end},
		"annotations":         {head, `{"choices":[{"index":0,"delta":{"annotations":[{"type":"url_citation"}]}}]}`, end},
		"unknown member":      {head, `{"citations":["https://example.com"],"choices":[]}`, end},
		"tool call w/o index": {head, `{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"t","function":{"name":"f"}}]}}]}`, end},
		"unfinished":          {head},
		"not json":            {head, `data`, end},
		"no choices":          {`{"id":"c","choices":[]}`},
	} {
		var a assembler
		for _, c := range chunks {
			a.add([]byte(c))
		}
		if body, ok := a.completion(llm.Usage{}); ok {
			t.Errorf("%s: assembled %s", name, body)
		}
	}
}

// A stored answer replays as chunks that a client accumulates back into
// the same message; an answer holding what chunks would not carry does not
// replay.
func TestReplayChunks(t *testing.T) {
	e := &respcache.Entry{Usage: llm.Usage{PromptTokens: 3, CompletionTokens: 2}, Body: []byte(`{"id":"c","object":"chat.completion","created":5,"model":"m",
		"choices":[{"index":0,"message":{"role":"assistant","content":"Hi","refusal":null,"annotations":[],"reasoning_content":"r",
		"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],
		"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5},"service_tier":"default"}`)}
	chunks, ok := replayChunks(e)
	if !ok || len(chunks) != 3 {
		t.Fatalf("replay: %v, %d chunks", ok, len(chunks))
	}
	var a assembler
	for _, c := range chunks {
		a.add(c.Data)
	}
	if last := chunks[2]; !last.UsageOnly || last.Usage == nil || *last.Usage != e.Usage {
		t.Errorf("last chunk %+v, want the usage only", last)
	}
	body, ok := a.completion(e.Usage)
	var got, want struct {
		Choices []struct {
			Message      map[string]any
			FinishReason string `json:"finish_reason"`
		}
	}
	if !ok || json.Unmarshal(body, &got) != nil || json.Unmarshal(e.Body, &want) != nil {
		t.Fatalf("replay does not assemble: %s", body)
	}
	delete(want.Choices[0].Message, "annotations")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("replayed and assembled\n got %+v\nwant %+v", got, want)
	}

	for _, msg := range []string{
		`{"role":"assistant","content":"Hi","audio":{"id":"a"}}`,
		`{"role":"assistant","content":"Hi","annotations":[{"type":"url_citation"}]}`,
		`{"role":"assistant","content":"Hi","reasoning":"something else"}`,
	} {
		e := &respcache.Entry{Body: []byte(`{"choices":[{"index":0,"message":` + msg + `,"finish_reason":"stop"}]}`)}
		if _, ok := replayChunks(e); ok {
			t.Errorf("%s replayed", msg)
		}
	}
	e = &respcache.Entry{Body: []byte(`{"choices":[{"index":0,"message":{"content":"Hi"},"logprobs":{"content":[]},"finish_reason":"stop"}]}`)}
	if _, ok := replayChunks(e); ok {
		t.Error("an answer with logprobs replayed")
	}
}

func TestNoCacheRequested(t *testing.T) {
	for v, want := range map[string]bool{"no-cache": true, "No-Cache": true, "max-age=0, no-cache": true, "no-store": true,
		`no-cache="set-cookie"`: true, "max-age=0": false, "private": false, "": false} {
		h := http.Header{}
		if v != "" {
			h.Set("Cache-Control", v)
		}
		if got := noCacheRequested(h); got != want {
			t.Errorf("Cache-Control: %s: %v, want %v", v, got, want)
		}
	}
}

func TestCanonicalRequest(t *testing.T) {
	a, ok1 := canonicalRequest([]byte(`{"model":"x","stream":true,"stream_options":{"include_usage":true},"b":[1,{"d":2,"c":1.50}],"a":"\u0041"}`))
	b, ok2 := canonicalRequest([]byte("{ \"a\" : \"A\",\n \"b\" : [ 1 , { \"c\" : 1.50 , \"d\" : 2 } ] }"))
	if !ok1 || !ok2 || string(a) != string(b) || strings.Contains(string(a), "stream") || strings.Contains(string(a), "model") {
		t.Errorf("%s\n%s", a, b)
	}
	// Numbers keep their text: 1.5 and 1.50 are not made one.
	c, _ := canonicalRequest([]byte(`{"a":"A","b":[1,{"c":1.5,"d":2}]}`))
	if string(c) == string(a) {
		t.Error("numbers were rewritten")
	}
}
