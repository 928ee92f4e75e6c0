package messages

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/llm-router/router/shared/llm"
)

type sseEvent struct {
	name string
	data []byte
}

// readEvents splits an event stream and checks its framing: every event is
// `event: NAME\ndata: JSON\n\n` and its data's type is its name.
func readEvents(t *testing.T, out []byte) []sseEvent {
	t.Helper()
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Fatalf("the stream does not end an event: %q", out)
	}
	var evs []sseEvent
	for i, raw := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		lines := strings.Split(raw, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("event %d is not one event line and one data line: %q", i, raw)
		}
		ev := sseEvent{name: lines[0][len("event: "):], data: []byte(lines[1][len("data: "):])}
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(ev.data, &head); err != nil || head.Type != ev.name {
			t.Fatalf("event %d: type %q under event %q (%v)", i, head.Type, ev.name, err)
		}
		evs = append(evs, ev)
	}
	return evs
}

func names(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.name
	}
	return out
}

func chunk(delta, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741476542,"model":"claude-sonnet-4-5",` +
		`"choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + `}]}`
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741476542,"model":"claude-sonnet-4-5","choices":[],` +
	`"usage":{"prompt_tokens":1500,"completion_tokens":40,"total_tokens":1540,"prompt_tokens_details":{"cached_tokens":1024,"cache_write_tokens":200}}}`

var streamUsage = llm.Usage{PromptTokens: 1500, CompletionTokens: 40, CachedTokens: 1024, CacheWriteTokens: 200}

var (
	begin = []string{"message_start", "ping"}
	end   = []string{"message_delta", "message_stop"}
)

func seq(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

var streamCases = []struct {
	name    string
	request string
	chunks  []string
	want    []string
	// choice is the chat.completion choice this stream adds up to: the
	// accumulated message must equal what Render gives for it.
	choice string
	blocks []wantBlock
}{
	{"text", ``,
		[]string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"Hel"}`, ""), chunk(`{"content":"lo \"you\""}`, ""), chunk(`{}`, "stop"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":"Hello \"you\""}`, "stop"),
		[]wantBlock{{typ: "text", text: `Hello "you"`}}},
	{"text then two tool calls", ``,
		[]string{chunk(`{"role":"assistant","content":"Checking."}`, ""),
			chunk(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":1,"id":"toolu_b","type":"function","function":{"name":"now","arguments":"{}"}}]}`, ""),
			chunk(`{}`, "tool_calls"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":"Checking.","tool_calls":[{"id":"toolu_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},`+
			`{"id":"toolu_b","type":"function","function":{"name":"now","arguments":"{}"}}]}`, "tool_calls"),
		[]wantBlock{{typ: "text", text: "Checking."}, {typ: "tool_use", id: "toolu_a", name: "get_weather", input: `{"city":"Paris"}`},
			{typ: "tool_use", id: "toolu_b", name: "now", input: `{}`}}},
	{"thinking then text", `,"thinking":{"type":"enabled","budget_tokens":2048}`,
		[]string{chunk(`{"role":"assistant","reasoning_content":"Hm"}`, ""), chunk(`{"reasoning_content":"m."}`, ""), chunk(`{"content":"42"}`, "stop"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":"42","reasoning_content":"Hmm."}`, "stop"),
		[]wantBlock{{typ: "thinking", text: "Hmm."}, {typ: "text", text: "42"}}},
	{"signed thinking, then a redacted block, then a tool call", `,"thinking":{"type":"enabled","budget_tokens":2048}`,
		[]string{chunk(`{"role":"assistant","reasoning_content":"Hm"}`, ""), chunk(`{"reasoning_content":"m."}`, ""),
			chunk(`{"thinking_blocks":[{"type":"thinking","thinking":"Hmm.","signature":"c2ln"}]}`, ""),
			chunk(`{"thinking_blocks":[{"type":"redacted_thinking","data":"ZW5j"}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"id":"toolu_a","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "tool_calls"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
			"content_block_start", "content_block_stop", "content_block_start", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":null,"reasoning_content":"Hmm.","thinking_blocks":[{"type":"thinking","thinking":"Hmm.","signature":"c2ln"},{"type":"redacted_thinking","data":"ZW5j"}],`+
			`"tool_calls":[{"id":"toolu_a","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "tool_calls"),
		[]wantBlock{{typ: "thinking", text: "Hmm.", signature: "c2ln"}, {typ: "redacted_thinking", text: "ZW5j"}, {typ: "tool_use", id: "toolu_a", name: "f", input: `{}`}}},
	{"reasoning dropped without thinking", ``,
		[]string{chunk(`{"role":"assistant","reasoning_content":"Hmm."}`, ""), chunk(`{"content":"42"}`, "stop"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":"42","reasoning_content":"Hmm."}`, "stop"),
		[]wantBlock{{typ: "text", text: "42"}}},
	{"max tokens", ``,
		[]string{chunk(`{"content":"Once"}`, ""), chunk(`{"content":" upon"}`, "length"), usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop", end),
		choice(`{"role":"assistant","content":"Once upon"}`, "length"),
		[]wantBlock{{typ: "text", text: "Once upon"}}},
	{"stop sequence", `,"stop_sequences":["END"]`,
		[]string{chunk(`{"content":"The"}`, ""), `{"model":"claude-sonnet-4-5","choices":[{"index":0,"delta":{},"finish_reason":"stop","stop_reason":"END"}]}`, usageChunk},
		seq(begin, "content_block_start", "content_block_delta", "content_block_stop", end),
		`{"index":0,"message":{"role":"assistant","content":"The"},"finish_reason":"stop","stop_reason":"END"}`,
		[]wantBlock{{typ: "text", text: "The"}}},
	{"nothing", ``,
		[]string{chunk(`{"role":"assistant","content":""}`, "stop"), usageChunk},
		seq(begin, end),
		choice(`{"role":"assistant","content":""}`, "stop"), nil},
}

func TestStream(t *testing.T) {
	for _, tt := range streamCases {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, `{"model":"claude","max_tokens":4096,"stream":true,"messages":[{"role":"user","content":"hi"}]`+tt.request+`}`)
			s := NewStream(req)
			var out []byte
			for i, c := range tt.chunks {
				var err error
				n := len(out)
				if out, err = s.Chunk(out, []byte(c)); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if i == 0 && len(out) == n {
					t.Fatal("the first chunk wrote nothing: the message must start there")
				}
			}
			out = s.Finish(out, nil)
			evs := readEvents(t, out)
			if got := names(evs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events\n got %v\nwant %v", got, tt.want)
			}
			// The SDK's accumulation of the events is the message Render gives.
			var acc anthropic.Message
			for i, ev := range evs {
				var u anthropic.MessageStreamEventUnion
				if err := json.Unmarshal(ev.data, &u); err != nil || u.Type != ev.name {
					t.Fatalf("event %d does not decode (%v): %s", i, err, ev.data)
				}
				if err := acc.Accumulate(u); err != nil {
					t.Fatalf("Accumulate(event %d): %v\n%s", i, err, ev.data)
				}
			}
			checkContent(t, acc.Content, tt.blocks)
			rendered, err := Render(nil, req, []byte(chatCompletion(tt.choice)), streamUsage)
			if err != nil {
				t.Fatal(err)
			}
			var want anthropic.Message
			if err := json.Unmarshal(rendered, &want); err != nil {
				t.Fatal(err)
			}
			if acc.ID != want.ID || acc.Model != want.Model || acc.StopReason != want.StopReason || acc.StopSequence != want.StopSequence ||
				acc.Usage.InputTokens != want.Usage.InputTokens || acc.Usage.OutputTokens != want.Usage.OutputTokens ||
				acc.Usage.CacheReadInputTokens != want.Usage.CacheReadInputTokens ||
				acc.Usage.CacheCreationInputTokens != want.Usage.CacheCreationInputTokens {
				t.Errorf("accumulated %s\nrendered %s", acc.RawJSON(), rendered)
			}
			checkContent(t, want.Content, tt.blocks)
		})
	}
}

func TestStreamFail(t *testing.T) {
	req := request(t, `{"model":"claude","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"hi"}]}`)
	s := NewStream(req)
	out, _ := s.Chunk(nil, []byte(chunk(`{"content":"Hel"}`, "")))
	out = s.Fail(out, &llm.Error{Kind: llm.KindOverloaded, Status: 529, Message: "Overloaded"})
	evs := readEvents(t, out)
	if got := names(evs); !reflect.DeepEqual(got, seq(begin, "content_block_start", "content_block_delta", "error")) {
		t.Fatalf("events %v", got)
	}
	if got := string(evs[len(evs)-1].data); got != `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` {
		t.Errorf("error event %s", got)
	}
	if more := s.Finish(nil, nil); len(more) != 0 {
		t.Errorf("Finish after Fail wrote %s", more)
	}
	if _, err := s.Chunk(nil, []byte(chunk(`{"content":"x"}`, ""))); !errors.Is(err, errEnded) {
		t.Errorf("Chunk after Fail: %v", err)
	}
}

func TestStreamChunkErrors(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   error
	}{
		{"not an object", []string{`[1]`}, errBadChunk},
		{"tool call without a name", []string{chunk(`{"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]}`, "")}, errBadChunk},
		{"arguments after another block started", []string{
			chunk(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}`, "")}, errInterleaved},
	}
	for _, tt := range tests {
		s := NewStream(request(t, `{"model":"m","max_tokens":1,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		var err error
		for _, c := range tt.chunks {
			if _, err = s.Chunk(nil, []byte(c)); err != nil {
				break
			}
		}
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// TestStreamFinishUsage: Finish's usage wins over a chunk's; with neither,
// the counts are zero.
func TestStreamFinishUsage(t *testing.T) {
	for _, tt := range []struct {
		name   string
		chunks []string
		usage  *llm.Usage
		output int64
	}{
		{"from the chunk", []string{chunk(`{"content":"x"}`, "stop"), usageChunk}, nil, 40},
		{"given", []string{chunk(`{"content":"x"}`, "stop"), usageChunk}, &llm.Usage{CompletionTokens: 7}, 7},
		{"none", []string{chunk(`{"content":"x"}`, "stop")}, nil, 0},
	} {
		s := NewStream(request(t, `{"model":"m","max_tokens":1,"stream":true,"messages":[{"role":"user","content":"hi"}]}`))
		var out []byte
		for _, c := range tt.chunks {
			out, _ = s.Chunk(out, []byte(c))
		}
		evs := readEvents(t, s.Finish(out, tt.usage))
		var u anthropic.MessageStreamEventUnion
		if err := json.Unmarshal(evs[len(evs)-2].data, &u); err != nil {
			t.Fatal(err)
		}
		if u.Usage.OutputTokens != tt.output {
			t.Errorf("%s: output_tokens %d, want %d", tt.name, u.Usage.OutputTokens, tt.output)
		}
	}
}
