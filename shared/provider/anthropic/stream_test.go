package anthropic

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func ev(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

const (
	evStart = `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5",` +
		`"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"cache_creation_input_tokens":4,"cache_read_input_tokens":100,"output_tokens":1}}}`
	evPing      = `{"type": "ping"}`
	evTextStart = `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`
	evStop0     = `{"type":"content_block_stop","index":0}`
	evMsgStop   = `{"type":"message_stop"}`

	chunkPrefix = `{"id":"msg_1","object":"chat.completion.chunk","created":1700000000,"model":"claude","choices":[`
	roleChunk   = chunkPrefix + `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`
)

func evText(i int, text string) string {
	return `{"type":"content_block_delta","index":` + strconv.Itoa(i) + `,"delta":{"type":"text_delta","text":"` + text + `"}}`
}

func evDelta(stop string, output int) string {
	return `{"type":"message_delta","delta":{"stop_reason":"` + stop + `","stop_sequence":null,"stop_details":null},` +
		`"usage":{"input_tokens":25,"cache_creation_input_tokens":4,"cache_read_input_tokens":100,"output_tokens":` + strconv.Itoa(output) + `}}`
}

func contentChunk(text string) string {
	return chunkPrefix + `{"index":0,"delta":{"content":"` + text + `"},"finish_reason":null}]}`
}

func finishChunk(reason string) string {
	return chunkPrefix + `{"index":0,"delta":{},"finish_reason":"` + reason + `"}]}`
}

func usageChunk(completion int) string {
	return chunkPrefix + `],"usage":{"prompt_tokens":129,"completion_tokens":` + strconv.Itoa(completion) + `,"total_tokens":` + strconv.Itoa(129+completion) +
		`,"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":4}}}`
}

// collected is what a stream yielded.
type collected struct {
	chunks    []string
	usageOnly []bool
	usage     *llm.Usage // the last usage seen
	err       error      // the error that ended it, nil at io.EOF
}

func collect(t *testing.T, sse string) collected {
	t.Helper()
	s := newStream("claude-direct", io.NopCloser(strings.NewReader(sse)), "claude", 1700000000)
	defer s.Close()
	var c collected
	for range 100 {
		ch, err := s.Next()
		if errors.Is(err, io.EOF) {
			if _, again := s.Next(); !errors.Is(again, io.EOF) {
				t.Errorf("Next after io.EOF = %v, want io.EOF again", again)
			}
			return c
		}
		if err != nil {
			c.err = err
			return c
		}
		c.chunks = append(c.chunks, string(ch.Data)) // Data is only valid until the next call
		c.usageOnly = append(c.usageOnly, ch.UsageOnly)
		if ch.Usage != nil {
			u := *ch.Usage
			c.usage = &u
		}
	}
	t.Fatal("the stream did not end")
	return c
}

func TestStream(t *testing.T) {
	wantUsage := &llm.Usage{PromptTokens: 129, CompletionTokens: 7, CachedTokens: 100, CacheWriteTokens: 4}
	tests := []struct {
		name      string
		sse       string
		want      []string
		wantUsage *llm.Usage
		wantErr   string // code of the *llm.Error that ends the stream
		wantStat  int
	}{
		{
			name: "text, with ping dropped",
			sse: ev("message_start", evStart) + ev("content_block_start", evTextStart) + ev("ping", evPing) +
				ev("content_block_delta", evText(0, "Hello")) + ev("content_block_delta", evText(0, ` \"world\"\\n`)) +
				ev("content_block_stop", evStop0) + ev("message_delta", evDelta("end_turn", 7)) + ev("message_stop", evMsgStop),
			want:      []string{roleChunk, contentChunk("Hello"), contentChunk(` \"world\"\\n`), finishChunk("stop"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "tool calls counted apart from other blocks",
			sse: ev("message_start", evStart) + ev("content_block_start", evTextStart) + ev("content_block_delta", evText(0, "Checking.")) +
				ev("content_block_stop", evStop0) +
				ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Par"}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\"}"}}`) +
				ev("content_block_stop", `{"type":"content_block_stop","index":1}`) +
				ev("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_B","name":"now","input":{}}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{}"}}`) +
				ev("content_block_stop", `{"type":"content_block_stop","index":2}`) +
				ev("message_delta", evDelta("tool_use", 7)) + ev("message_stop", evMsgStop),
			want: []string{roleChunk, contentChunk("Checking."),
				chunkPrefix + `{"index":0,"delta":{"tool_calls":[{"index":0,"id":"toolu_A","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Par"}}]},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"tool_calls":[{"index":1,"id":"toolu_B","type":"function","function":{"name":"now","arguments":""}}]},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"{}"}}]},"finish_reason":null}]}`,
				finishChunk("tool_calls"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "thinking to reasoning_content, then the whole block signed; a redacted block as it is",
			sse: ev("message_start", evStart) +
				ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Hmm, \"x\""}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":" and y."}}`) +
				ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}`) +
				ev("content_block_stop", evStop0) +
				ev("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"redacted_thinking","data":"ZW5j"}}`) +
				ev("content_block_stop", `{"type":"content_block_stop","index":1}`) +
				ev("message_delta", evDelta("max_tokens", 7)) + ev("message_stop", evMsgStop),
			want: []string{roleChunk, chunkPrefix + `{"index":0,"delta":{"reasoning_content":"Hmm, \"x\""},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"reasoning_content":" and y."},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"Hmm, \"x\" and y.","signature":"EqQB"}]},"finish_reason":null}]}`,
				chunkPrefix + `{"index":0,"delta":{"thinking_blocks":[{"type":"redacted_thinking","data":"ZW5j"}]},"finish_reason":null}]}`,
				finishChunk("length"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "message_delta without input counts keeps message_start's; unknown events skipped",
			sse: ev("message_start", evStart) + ev("content_block_start", evTextStart) + ev("content_block_delta", evText(0, "Hi")) +
				ev("future_event", `{"type":"future_event","x":1}`) + ": a comment line\n\n" +
				ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":7}}`) +
				ev("message_stop", evMsgStop),
			want:      []string{roleChunk, contentChunk("Hi"), finishChunk("content_filter"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "without event lines the data's type names the event",
			sse: "data: " + evStart + "\n\n" + "data: " + evText(0, "Hi") + "\n\n" + "data: " + evDelta("end_turn", 7) + "\n\n" +
				"data: " + evMsgStop + "\n\n",
			want:      []string{roleChunk, contentChunk("Hi"), finishChunk("stop"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "CRLF line endings",
			sse: strings.ReplaceAll(ev("message_start", evStart)+ev("content_block_delta", evText(0, "Hi"))+
				ev("message_delta", evDelta("end_turn", 7))+ev("message_stop", evMsgStop), "\n", "\r\n"),
			want:      []string{roleChunk, contentChunk("Hi"), finishChunk("stop"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name: "in-stream overloaded error",
			sse: ev("message_start", evStart) + ev("content_block_start", evTextStart) + ev("content_block_delta", evText(0, "Par")) +
				ev("error", `{"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"},"request_id":"req_1"}`),
			want:     []string{roleChunk, contentChunk("Par")},
			wantErr:  "overloaded_error",
			wantStat: 529,
		},
		{
			name:     "cut before the answer finished",
			sse:      ev("message_start", evStart) + ev("content_block_delta", evText(0, "Par")),
			want:     []string{roleChunk, contentChunk("Par")},
			wantErr:  "stream_truncated",
			wantStat: 502,
		},
		{
			name: "cut after message_delta still ends with usage",
			sse: ev("message_start", evStart) + ev("content_block_delta", evText(0, "Hi")) +
				ev("message_delta", evDelta("end_turn", 7)),
			want:      []string{roleChunk, contentChunk("Hi"), finishChunk("stop"), usageChunk(7)},
			wantUsage: wantUsage,
		},
		{
			name:     "malformed event",
			sse:      ev("message_start", evStart) + ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"`),
			want:     []string{roleChunk},
			wantErr:  "bad_upstream_response",
			wantStat: 502,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := collect(t, tt.sse)
			if len(c.chunks) != len(tt.want) {
				t.Fatalf("got %d chunks, want %d:\n%s", len(c.chunks), len(tt.want), strings.Join(c.chunks, "\n"))
			}
			for i := range tt.want {
				if !jsonEqual(t, []byte(c.chunks[i]), tt.want[i]) {
					t.Errorf("chunk %d:\ngot  %s\nwant %s", i, c.chunks[i], tt.want[i])
				}
				if wantOnly := strings.Contains(tt.want[i], `"choices":[]`); c.usageOnly[i] != wantOnly {
					t.Errorf("chunk %d UsageOnly = %v, want %v", i, c.usageOnly[i], wantOnly)
				}
			}
			if tt.wantErr != "" {
				e := llm.AsError(c.err)
				if e == nil || e.Code != tt.wantErr || e.Status != tt.wantStat || e.Provider != "claude-direct" {
					t.Errorf("error = %#v, want code %s status %d from claude-direct", c.err, tt.wantErr, tt.wantStat)
				}
				return
			}
			if c.err != nil {
				t.Fatalf("stream error: %v", c.err)
			}
			if (c.usage == nil) != (tt.wantUsage == nil) || c.usage != nil && *c.usage != *tt.wantUsage {
				t.Errorf("usage = %+v, want %+v", c.usage, tt.wantUsage)
			}
		})
	}
}

// TestStreamLongLine checks an event longer than the reader's buffer.
func TestStreamLongLine(t *testing.T) {
	long := strings.Repeat("x", 40<<10)
	c := collect(t, ev("message_start", evStart)+ev("content_block_delta", evText(0, long))+
		ev("message_delta", evDelta("end_turn", 7))+ev("message_stop", evMsgStop))
	if c.err != nil {
		t.Fatal(c.err)
	}
	if len(c.chunks) != 4 || !jsonEqual(t, []byte(c.chunks[1]), contentChunk(long)) {
		t.Errorf("long delta not relayed whole (%d chunks)", len(c.chunks))
	}
}
