package bedrock

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/llm-router/router/shared/rawjson"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/llm"
)

func TestFinishReason(t *testing.T) {
	tests := []struct {
		stop types.StopReason
		want string
	}{
		{types.StopReasonEndTurn, "stop"},
		{types.StopReasonStopSequence, "stop"},
		{types.StopReasonMaxTokens, "length"},
		{types.StopReasonModelContextWindowExceeded, "length"},
		{types.StopReasonToolUse, "tool_calls"},
		{types.StopReasonGuardrailIntervened, "content_filter"},
		{types.StopReasonContentFiltered, "content_filter"},
		{types.StopReasonMalformedModelOutput, "stop"},
		{types.StopReasonMalformedToolUse, "stop"},
		{"a_reason_added_later", "stop"},
	}
	for _, tt := range tests {
		t.Run(string(tt.stop), func(t *testing.T) {
			if got := finishReason(tt.stop); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUsageOf(t *testing.T) {
	i := aws.Int32
	tests := []struct {
		name string
		in   *types.TokenUsage
		want llm.Usage
	}{
		{"no cache", &types.TokenUsage{InputTokens: i(30), OutputTokens: i(12), TotalTokens: i(42)},
			llm.Usage{PromptTokens: 30, CompletionTokens: 12}},
		{"cache tokens outside inputTokens (total counts them)",
			&types.TokenUsage{InputTokens: i(4), OutputTokens: i(51), TotalTokens: i(1845), CacheReadInputTokens: i(0), CacheWriteInputTokens: i(1790)},
			llm.Usage{PromptTokens: 1794, CompletionTokens: 51, CacheWriteTokens: 1790}},
		{"cache tokens inside inputTokens (total does not count them again)",
			&types.TokenUsage{InputTokens: i(1000), OutputTokens: i(10), TotalTokens: i(1010), CacheReadInputTokens: i(800)},
			llm.Usage{PromptTokens: 1000, CompletionTokens: 10, CachedTokens: 800}},
		{"no total reported", &types.TokenUsage{InputTokens: i(5), OutputTokens: i(1), CacheReadInputTokens: i(50)},
			llm.Usage{PromptTokens: 55, CompletionTokens: 1, CachedTokens: 50}},
		{"one-hour writes from cacheDetails", &types.TokenUsage{InputTokens: i(5), OutputTokens: i(1), TotalTokens: i(306), CacheWriteInputTokens: i(300),
			CacheDetails: []types.CacheDetail{{InputTokens: i(200), Ttl: types.CacheTTLOneHour}, {InputTokens: i(100), Ttl: types.CacheTTLFiveMinutes}}},
			llm.Usage{PromptTokens: 305, CompletionTokens: 1, CacheWriteTokens: 300, CacheWrite1hTokens: 200}},
		{"nil", nil, llm.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usageOf(tt.in); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "line\nbreak\ttab\rcr", "\x00\x1f control",
		"héllo wörld 日本 🎉", "bad \xff utf8", "js \u2028 \u2029 separators", "<html>&"} {
		got := rawjson.AppendString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("%q: wrote invalid JSON %s: %v", s, got, err)
			continue
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("%q: decodes to %q, want %q (as encoding/json)", s, back, wantBack)
		}
	}
}

// fakeSource is an event stream fed by a test.
type fakeSource struct {
	err    error
	closed bool
}

func (f *fakeSource) Err() error   { return f.err }
func (f *fakeSource) Close() error { f.closed = true; return nil }

func events(evs ...types.ConverseStreamOutput) <-chan types.ConverseStreamOutput {
	ch := make(chan types.ConverseStreamOutput, len(evs))
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	return ch
}

func TestStreamEvents(t *testing.T) {
	idx := aws.Int32
	head := `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":7,"model":"claude","choices":`
	tests := []struct {
		name string
		ev   types.ConverseStreamOutput
		want string // "" when the event makes no chunk
	}{
		{"messageStart", &types.ConverseStreamOutputMemberMessageStart{Value: types.MessageStartEvent{Role: types.ConversationRoleAssistant}},
			head + `[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`},
		{"text delta", &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: idx(0),
			Delta: &types.ContentBlockDeltaMemberText{Value: "Hel\"lo\n"}}},
			head + `[{"index":0,"delta":{"content":"Hel\"lo\n"},"finish_reason":null}]}`},
		{"reasoning delta", &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: idx(0),
			Delta: &types.ContentBlockDeltaMemberReasoningContent{Value: &types.ReasoningContentBlockDeltaMemberText{Value: "hmm"}}}},
			head + `[{"index":0,"delta":{"reasoning_content":"hmm"},"finish_reason":null}]}`},
		{"reasoning signature", &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: idx(0),
			Delta: &types.ContentBlockDeltaMemberReasoningContent{Value: &types.ReasoningContentBlockDeltaMemberSignature{Value: "sig"}}}}, ""},
		{"a reasoning block's stop sends it whole, signed", &types.ConverseStreamOutputMemberContentBlockStop{Value: types.ContentBlockStopEvent{ContentBlockIndex: idx(0)}},
			head + `[{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"hmm","signature":"sig"}]},"finish_reason":null}]}`},
		{"another block's stop sends nothing", &types.ConverseStreamOutputMemberContentBlockStop{Value: types.ContentBlockStopEvent{ContentBlockIndex: idx(1)}}, ""},
		{"redacted reasoning as it comes", &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: idx(2),
			Delta: &types.ContentBlockDeltaMemberReasoningContent{Value: &types.ReasoningContentBlockDeltaMemberRedactedContent{Value: []byte("enc")}}}},
			head + `[{"index":0,"delta":{"thinking_blocks":[{"type":"redacted_thinking","data":"ZW5j"}]},"finish_reason":null}]}`},
		{"tool start at block 3 is tool 0", &types.ConverseStreamOutputMemberContentBlockStart{Value: types.ContentBlockStartEvent{ContentBlockIndex: idx(3),
			Start: &types.ContentBlockStartMemberToolUse{Value: types.ToolUseBlockStart{ToolUseId: aws.String("tu1"), Name: aws.String("get_weather")}}}},
			head + `[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"tu1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`},
		{"tool delta", &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{ContentBlockIndex: idx(3),
			Delta: &types.ContentBlockDeltaMemberToolUse{Value: types.ToolUseBlockDelta{Input: aws.String(`{"city":`)}}}},
			head + `[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}`},
		{"second tool at block 5 is tool 1", &types.ConverseStreamOutputMemberContentBlockStart{Value: types.ContentBlockStartEvent{ContentBlockIndex: idx(5),
			Start: &types.ContentBlockStartMemberToolUse{Value: types.ToolUseBlockStart{ToolUseId: aws.String("tu2"), Name: aws.String("f")}}}},
			head + `[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"tu2","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":null}]}`},
		{"messageStop", &types.ConverseStreamOutputMemberMessageStop{Value: types.MessageStopEvent{StopReason: types.StopReasonToolUse}},
			head + `[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`},
		{"metadata", &types.ConverseStreamOutputMemberMetadata{Value: types.ConverseStreamMetadataEvent{Usage: &types.TokenUsage{
			InputTokens: idx(3), OutputTokens: idx(4), TotalTokens: idx(17), CacheReadInputTokens: idx(10)}}},
			head + `[],"usage":{"prompt_tokens":13,"completion_tokens":4,"total_tokens":17,"prompt_tokens_details":{"cached_tokens":10,"cache_write_tokens":0}}}`},
		{"unknown event", &types.UnknownUnionMember{Tag: "newEvent"}, ""},
	}
	// One stream for all cases, in order, so tool numbering carries over.
	s := newStream("br", &fakeSource{}, nil, "chatcmpl-1", "claude", 7)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := s.chunk(tt.ev)
			if got := string(c.Data); !ok && tt.want != "" || ok && got != tt.want {
				t.Errorf("got %v %s\nwant %s", ok, got, tt.want)
			}
			if ok && !json.Valid(c.Data) {
				t.Errorf("chunk is not valid JSON: %s", c.Data)
			}
		})
	}
}

func TestStreamEnd(t *testing.T) {
	start := &types.ConverseStreamOutputMemberMessageStart{Value: types.MessageStartEvent{Role: "assistant"}}
	stop := &types.ConverseStreamOutputMemberMessageStop{Value: types.MessageStopEvent{StopReason: "end_turn"}}
	meta := &types.ConverseStreamOutputMemberMetadata{Value: types.ConverseStreamMetadataEvent{Usage: &types.TokenUsage{
		InputTokens: aws.Int32(3), OutputTokens: aws.Int32(4), TotalTokens: aws.Int32(7)}}}
	tests := []struct {
		name       string
		evs        []types.ConverseStreamOutput
		err        error
		wantChunks int
		wantCode   string // of the error after the chunks; "" for io.EOF
		wantStatus int
	}{
		{"complete", []types.ConverseStreamOutput{start, stop, meta}, nil, 3, "", 0},
		{"no metadata is still complete", []types.ConverseStreamOutput{start, stop}, nil, 2, "", 0},
		{"ends before messageStop", []types.ConverseStreamOutput{start}, nil, 1, "stream_truncated", 502},
		{"exception mid-stream", []types.ConverseStreamOutput{start},
			&types.ThrottlingException{Message: aws.String("slow down")}, 1, "rate_limit_exceeded", 429},
		{"transport failure mid-stream", []types.ConverseStreamOutput{start}, io.ErrUnexpectedEOF, 1, "upstream_unavailable", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{err: tt.err}
			s := newStream("br", src, events(tt.evs...), "id", "m", 1)
			n := 0
			var err error
			for {
				var c llm.Chunk
				if c, err = s.Next(); err != nil {
					break
				}
				n++
				if c.UsageOnly && (c.Usage == nil || c.Usage.PromptTokens != 3) {
					t.Errorf("usage chunk carries %+v, want 3 prompt tokens", c.Usage)
				}
			}
			if n != tt.wantChunks {
				t.Errorf("got %d chunks, want %d", n, tt.wantChunks)
			}
			if tt.wantCode == "" {
				if !errors.Is(err, io.EOF) {
					t.Errorf("got %v, want io.EOF", err)
				}
			} else if e := llm.AsError(err); e == nil || e.Code != tt.wantCode || e.Status != tt.wantStatus || e.Provider != "br" {
				t.Errorf("got %#v, want %s (%d) from br", err, tt.wantCode, tt.wantStatus)
			}
			if _, err := s.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("after the end: got %v, want io.EOF", err)
			}
			if err := s.Close(); err != nil || !src.closed {
				t.Errorf("Close: got %v closed=%v, want nil and the source closed", err, src.closed)
			}
		})
	}
}
