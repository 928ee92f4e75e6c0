package bedrock

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/rawjson"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/llm"
)

// eventSource is the part of the SDK's event stream the adapter uses, so the
// translation can be tested with a channel of events.
type eventSource interface {
	Err() error
	Close() error
}

// stream translates ConverseStream events into OpenAI chunks, one event at a
// time: messageStart -> the role chunk, text and toolUse deltas -> content
// and tool_calls deltas, reasoning -> reasoning_content deltas and, at the
// block's stop, the whole signed block as thinking_blocks (redacted
// reasoning at once), messageStop -> the finish chunk, metadata -> the
// usage-only chunk. Events that carry nothing for OpenAI are skipped.
type stream struct {
	provider string
	creds    aws.Credentials // removed from exceptions that quote them
	src      eventSource
	events   <-chan types.ConverseStreamOutput
	head     []byte // {"id":...,"object":"chat.completion.chunk","created":N,"model":"M","choices":
	buf      []byte // the current chunk
	// tools maps Bedrock's content block index to the OpenAI tool_calls
	// index, which counts tool blocks only.
	tools map[int32]int
	// answerTool is the tool forced for structured output; the input of
	// its block (answerBlock) streams as content (structured.go).
	answerTool  string
	answerBlock int32
	answered    bool
	finished    bool // messageStop was seen
	done        bool
	usage       llm.Usage
	// reasoning and signature are the reasoning block being streamed.
	reasoning, signature []byte
}

func newStream(provider string, src eventSource, events <-chan types.ConverseStreamOutput, id, model string, created int64) *stream {
	head := make([]byte, 0, 96+len(id)+len(model))
	head = append(head, `{"id":`...)
	head = rawjson.AppendString(head, id)
	head = append(head, `,"object":"chat.completion.chunk","created":`...)
	head = strconv.AppendInt(head, created, 10)
	head = append(head, `,"model":`...)
	head = rawjson.AppendString(head, model)
	head = append(head, `,"choices":`...)
	return &stream{provider: provider, src: src, events: events, head: head, buf: make([]byte, 0, 256)}
}

// Next returns the next chunk, io.EOF after the last, or the exception
// Bedrock sent mid-stream as an *llm.Error.
func (s *stream) Next() (llm.Chunk, error) {
	for !s.done {
		ev, ok := <-s.events
		if !ok {
			s.done = true
			if err := s.src.Err(); err != nil {
				return llm.Chunk{}, mapError(s.provider, err, s.creds.AccessKeyID, s.creds.SecretAccessKey, s.creds.SessionToken)
			}
			if !s.finished {
				return llm.Chunk{}, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
					Code: "stream_truncated", Message: "the provider's stream ended before the answer was complete", Provider: s.provider}
			}
			return llm.Chunk{}, io.EOF
		}
		if c, ok := s.chunk(ev); ok {
			return c, nil
		}
	}
	return llm.Chunk{}, io.EOF
}

// Close releases the HTTP connection. The stream's error, if any, was
// already returned by Next.
func (s *stream) Close() error {
	s.done = true
	_ = s.src.Close()
	return nil
}

// chunk translates one event; ok is false for events that make no chunk.
func (s *stream) chunk(ev types.ConverseStreamOutput) (c llm.Chunk, ok bool) {
	b := s.buf[:0]
	switch e := ev.(type) {
	case *types.ConverseStreamOutputMemberMessageStart:
		b = s.open(b)
		b = append(b, `{"role":"assistant","content":""}`...)
		b = closeChoice(b, "")
	case *types.ConverseStreamOutputMemberContentBlockDelta:
		b = s.open(b)
		switch d := e.Value.Delta.(type) {
		case *types.ContentBlockDeltaMemberText:
			b = append(b, `{"content":`...)
			b = rawjson.AppendString(b, d.Value)
			b = append(b, '}')
		case *types.ContentBlockDeltaMemberToolUse:
			if s.answered && aws.ToInt32(e.Value.ContentBlockIndex) == s.answerBlock {
				b = append(b, `{"content":`...)
				b = rawjson.AppendString(b, aws.ToString(d.Value.Input))
				b = append(b, '}')
				break
			}
			b = append(b, `{"tool_calls":[{"index":`...)
			b = strconv.AppendInt(b, int64(s.toolIndex(e.Value.ContentBlockIndex)), 10)
			b = append(b, `,"function":{"arguments":`...)
			b = rawjson.AppendString(b, aws.ToString(d.Value.Input))
			b = append(b, `}}]}`...)
		case *types.ContentBlockDeltaMemberReasoningContent:
			switch r := d.Value.(type) {
			case *types.ReasoningContentBlockDeltaMemberText:
				s.reasoning = append(s.reasoning, r.Value...)
				b = append(b, `{"reasoning_content":`...)
				b = rawjson.AppendString(b, r.Value)
				b = append(b, '}')
			case *types.ReasoningContentBlockDeltaMemberSignature:
				s.signature = append(s.signature, r.Value...)
				return c, false // the block goes out whole at its stop
			case *types.ReasoningContentBlockDeltaMemberRedactedContent:
				b = append(b, `{"thinking_blocks":[{"type":"redacted_thinking","data":"`...)
				b = base64.StdEncoding.AppendEncode(b, r.Value)
				b = append(b, `"}]}`...)
			default:
				return c, false
			}
		default:
			return c, false
		}
		b = closeChoice(b, "")
	case *types.ConverseStreamOutputMemberContentBlockStart:
		tu, isTool := e.Value.Start.(*types.ContentBlockStartMemberToolUse)
		if !isTool {
			return c, false
		}
		if s.answerTool != "" && !s.answered && aws.ToString(tu.Value.Name) == s.answerTool {
			s.answered, s.answerBlock = true, aws.ToInt32(e.Value.ContentBlockIndex)
			return c, false
		}
		b = s.open(b)
		b = append(b, `{"tool_calls":[{"index":`...)
		b = strconv.AppendInt(b, int64(s.toolIndex(e.Value.ContentBlockIndex)), 10)
		b = append(b, `,"id":`...)
		b = rawjson.AppendString(b, aws.ToString(tu.Value.ToolUseId))
		b = append(b, `,"type":"function","function":{"name":`...)
		b = rawjson.AppendString(b, aws.ToString(tu.Value.Name))
		b = append(b, `,"arguments":""}}]}`...)
		b = closeChoice(b, "")
	case *types.ConverseStreamOutputMemberMessageStop:
		s.finished = true
		b = s.open(b)
		b = append(b, `{}`...)
		finish := finishReason(e.Value.StopReason)
		if s.answered && len(s.tools) == 0 && e.Value.StopReason == types.StopReasonToolUse {
			finish = llm.FinishStop
		}
		b = closeChoice(b, finish)
	case *types.ConverseStreamOutputMemberMetadata:
		if e.Value.Usage == nil {
			return c, false
		}
		s.usage = usageOf(e.Value.Usage)
		u, _ := s.usage.MarshalJSON() // cannot fail: plain ints
		b = append(b, s.head...)
		b = append(b, `[],"usage":`...)
		b = append(b, u...)
		b = append(b, '}')
		s.buf = b
		return llm.Chunk{Data: b, Usage: &s.usage, UsageOnly: true}, true
	case *types.ConverseStreamOutputMemberContentBlockStop:
		// A reasoning block with its signature goes out whole, once, for
		// the client to send back in a tool loop.
		if len(s.signature) == 0 {
			s.reasoning = s.reasoning[:0]
			return c, false
		}
		b = s.open(b)
		b = append(b, `{"thinking_blocks":[{"type":"thinking","thinking":`...)
		b = rawjson.AppendString(b, s.reasoning)
		b = append(b, `,"signature":`...)
		b = rawjson.AppendString(b, s.signature)
		b = append(b, `}]}`...)
		s.reasoning, s.signature = s.reasoning[:0], s.signature[:0]
		b = closeChoice(b, "")
	default:
		return c, false // events added to the API later
	}
	s.buf = b
	return llm.Chunk{Data: b}, true
}

// open starts a chunk with one choice, up to its delta.
func (s *stream) open(b []byte) []byte {
	b = append(b, s.head...)
	return append(b, `[{"index":0,"delta":`...)
}

// closeChoice ends a chunk with its finish_reason ("" for null).
func closeChoice(b []byte, finish string) []byte {
	if finish == "" {
		return append(b, `,"finish_reason":null}]}`...)
	}
	b = append(b, `,"finish_reason":"`...)
	b = append(b, finish...)
	return append(b, `"}]}`...)
}

// toolIndex returns the tool_calls index of a content block, numbering tool
// blocks in the order they start.
func (s *stream) toolIndex(block *int32) int {
	i := aws.ToInt32(block)
	if k, ok := s.tools[i]; ok {
		return k
	}
	if s.tools == nil {
		s.tools = make(map[int32]int, 2)
	}
	k := len(s.tools)
	s.tools[i] = k
	return k
}
