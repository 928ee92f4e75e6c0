package bedrock_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

// readAll drains a stream into decoded chunks and the error that ended it.
func readAll(t *testing.T, st llm.Stream) ([]llm.ChunkResponse, []llm.Chunk, error) {
	t.Helper()
	defer st.Close()
	var decoded []llm.ChunkResponse
	var raw []llm.Chunk
	for {
		c, err := st.Next()
		if err != nil {
			return decoded, raw, err
		}
		var cr llm.ChunkResponse
		if err := json.Unmarshal(c.Data, &cr); err != nil {
			t.Fatalf("chunk %s: %v", c.Data, err)
		}
		decoded = append(decoded, cr)
		c.Data = append([]byte(nil), c.Data...) // valid until the next call only
		raw = append(raw, c)
	}
}

func TestStreamText(t *testing.T) {
	p, fake := newAdapter(t)
	fake.Push(bedrocktest.Reply{Text: "It is sunny.", Usage: bedrocktest.Usage{Input: 9, Output: 4, CacheRead: 2}})
	st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Weather?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	chunks, raw, err := readAll(t, st)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	// role, 3 words, finish, usage
	if len(chunks) != 6 {
		t.Fatalf("got %d chunks, want 6: %+v", len(chunks), chunks)
	}
	if d := chunks[0].Choices[0].Delta; d.Role != "assistant" || d.Content == nil || *d.Content != "" {
		t.Errorf("first chunk delta %+v, want role assistant and empty content", d)
	}
	var text strings.Builder
	for _, c := range chunks[1:4] {
		text.WriteString(*c.Choices[0].Delta.Content)
	}
	if text.String() != "It is sunny." {
		t.Errorf("got text %q, want %q", text.String(), "It is sunny.")
	}
	if f := chunks[4].Choices[0].FinishReason; f == nil || *f != "stop" {
		t.Errorf("got finish chunk %+v, want finish_reason stop", chunks[4])
	}
	last := raw[5]
	want := llm.Usage{PromptTokens: 11, CompletionTokens: 4, CachedTokens: 2}
	if !last.UsageOnly || last.Usage == nil || *last.Usage != want || len(chunks[5].Choices) != 0 {
		t.Errorf("got last chunk %s (usage-only %v, usage %+v), want choices [] and usage %+v", last.Data, last.UsageOnly, last.Usage, want)
	}
	for i, c := range chunks {
		if c.Object != "chat.completion.chunk" || c.Model != "claude" || c.ID != "chatcmpl-fake-1" {
			t.Errorf("chunk %d: object %q model %q id %q, want chat.completion.chunk, claude, chatcmpl-fake-1", i, c.Object, c.Model, c.ID)
		}
	}
	if got := fake.Last(t).Operation; got != "converse-stream" {
		t.Errorf("got operation %q, want converse-stream", got)
	}
}

func TestStreamToolCalls(t *testing.T) {
	p, fake := newAdapter(t)
	fake.Push(bedrocktest.Reply{Text: "Checking.", ToolUses: []bedrocktest.ToolUse{
		{ID: "tu_a", Name: "get_weather", Input: `{"city":"Paris"}`},
		{ID: "tu_b", Name: "get_time", Input: `{"tz":"CET"}`}}})
	st, err := p.Stream(context.Background(), chatRequest(t,
		`{"model":"claude","stream":true,"messages":[{"role":"user","content":"Weather and time?"}],"tools":[{"type":"function","function":{"name":"get_weather"}},{"type":"function","function":{"name":"get_time"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	chunks, _, err := readAll(t, st)
	if !errors.Is(err, io.EOF) {
		t.Fatalf("stream ended with %v, want io.EOF", err)
	}
	type call struct{ id, name, args string }
	calls := map[int]*call{}
	finish := ""
	for _, c := range chunks {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				k := *tc.Index
				if calls[k] == nil {
					calls[k] = &call{}
				}
				calls[k].id += tc.ID
				calls[k].name += tc.Function.Name
				calls[k].args += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	want := map[int]call{0: {"tu_a", "get_weather", `{"city":"Paris"}`}, 1: {"tu_b", "get_time", `{"tz":"CET"}`}}
	if len(calls) != len(want) {
		t.Fatalf("got %d tool calls, want %d", len(calls), len(want))
	}
	for k, w := range want {
		if *calls[k] != w {
			t.Errorf("tool call %d: got %+v, want %+v", k, *calls[k], w)
		}
	}
	if finish != "tool_calls" {
		t.Errorf("got finish_reason %q, want tool_calls", finish)
	}
}

func TestStreamErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      bedrocktest.Reply
		fromStream bool // the error comes from Stream itself, not from Next
		wantStatus int
		wantCode   string
	}{
		{"throttled before the stream", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ThrottlingException", Message: "Too many requests"}},
			true, 429, "rate_limit_exceeded"},
		{"validation before the stream", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ValidationException", Message: "bad"}},
			true, 400, "invalid_request"},
		{"model stream error mid-stream", bedrocktest.Reply{Text: "Half", StreamError: &bedrocktest.Exception{Name: "ModelStreamErrorException", Message: "model failed"}},
			false, 424, "model_stream_error"},
		{"throttled mid-stream", bedrocktest.Reply{Text: "Half", StreamError: &bedrocktest.Exception{Name: "ThrottlingException", Message: "slow"}},
			false, 429, "rate_limit_exceeded"},
		{"internal error mid-stream", bedrocktest.Reply{Text: "Half", StreamError: &bedrocktest.Exception{Name: "InternalServerException", Message: "oops"}},
			false, 500, "server_error"},
		{"unavailable mid-stream", bedrocktest.Reply{Text: "Half", StreamError: &bedrocktest.Exception{Name: "ServiceUnavailableException", Message: "busy"}},
			false, 503, "service_unavailable"},
		{"validation mid-stream", bedrocktest.Reply{Text: "Half", StreamError: &bedrocktest.Exception{Name: "ValidationException", Message: "too long"}},
			false, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			fake.Push(tt.reply)
			st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
			if !tt.fromStream {
				if err != nil {
					t.Fatalf("Stream: %v, want the stream to open", err)
				}
				var chunks []llm.ChunkResponse
				chunks, _, err = readAll(t, st)
				if len(chunks) < 2 {
					t.Errorf("got %d chunks before the error, want the role chunk and text", len(chunks))
				}
			}
			e := llm.AsError(err)
			if e == nil || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Provider != "br" {
				t.Errorf("got %#v, want status %d code %s from br", err, tt.wantStatus, tt.wantCode)
			}
		})
	}
}
