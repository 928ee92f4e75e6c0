package anthropic

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// The forced answer tool's input becomes the content, and its tool_use stop
// reason a plain stop; prose beside it is dropped, other tools stay calls.
func TestAnswerToolResponse(t *testing.T) {
	tests := []struct {
		name, answer, tool string
		wantContent        *string
		wantCalls          int
		wantFinish         string
	}{
		{"the answer tool", `{"id":"msg_1","content":[{"type":"text","text":"Here it is."},{"type":"tool_use","id":"toolu_1","name":"person","input":{"name":"Ann", "age":41}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`,
			"person", llm.Ptr(`{"name":"Ann","age":41}`), 0, "stop"},
		{"a client tool beside it", `{"id":"msg_1","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}},{"type":"tool_use","id":"toolu_2","name":"person","input":{"a":1}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`,
			"person", llm.Ptr(`{"a":1}`), 1, "tool_calls"},
		{"a client tool only", `{"id":"msg_1","content":[{"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`,
			"person", nil, 1, "tool_calls"},
		{"no answer tool forced", `{"id":"msg_1","content":[{"type":"tool_use","id":"toolu_1","name":"person","input":{}}],"stop_reason":"tool_use","usage":{"input_tokens":5,"output_tokens":9}}`,
			"", nil, 1, "tool_calls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, _, err := toOpenAIAnswer([]byte(tt.answer), "claude", 1700000000, tt.tool)
			if err != nil {
				t.Fatal(err)
			}
			var got llm.ChatResponse
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatal(err)
			}
			m := got.Choices[0].Message
			if (m.Content == nil) != (tt.wantContent == nil) || (m.Content != nil && *m.Content != *tt.wantContent) ||
				len(m.ToolCalls) != tt.wantCalls || got.Choices[0].FinishReason != tt.wantFinish {
				t.Errorf("got %s", body)
			}
		})
	}
}

func TestAnswerToolStream(t *testing.T) {
	sse := ev("message_start", evStart) +
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"person","input":{}}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"name\": \"A"}}`) +
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"nn\"}"}}`) +
		ev("content_block_stop", evStop0) + ev("message_delta", evDelta("tool_use", 7)) + ev("message_stop", evMsgStop)
	s := newStream("claude-direct", io.NopCloser(strings.NewReader(sse)), "claude", 1700000000)
	s.answerTool = "person"
	var got []string
	for {
		c, err := s.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(c.Data))
	}
	want := []string{roleChunk, contentChunk(`{\"name\": \"A`), contentChunk(`nn\"}`), finishChunk("stop"), usageChunk(7)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("chunks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
