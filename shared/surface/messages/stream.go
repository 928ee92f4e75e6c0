package messages

import (
	"errors"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// Stream turns a streamed chat answer into Anthropic's event stream:
//
//	first chunk        message_start (empty content, zero usage), ping
//	reasoning_content  content_block_start (thinking), thinking_delta… (when
//	                   the client enabled thinking; dropped otherwise)
//	thinking_blocks    signature_delta for the open thinking block, and
//	                   redacted_thinking blocks (likewise only with thinking)
//	content, refusal   content_block_start (text), text_delta…
//	tool_calls[k]      content_block_start (tool_use, input {}), input_json_delta…
//	Finish             content_block_stop, message_delta (stop_reason and the
//	                   whole usage), message_stop
//	Fail               error
//
// A block stops when the next one starts, as Anthropic's blocks follow one
// another. Usage is known only at the end of a chat stream, so message_start
// carries zeros and message_delta the real counts (all of them, input
// included, as the API's cumulative message_delta usage allows).
//
// Text and partial JSON are spliced as the chunks escaped them. A Stream is
// used by one goroutine; each method appends to dst and returns it.
type Stream struct {
	req     *Request
	started bool
	ended   bool
	model   []byte
	blocks  []byte // kind of each content block: blockText, blockThinking, blockTool
	open    int    // index of the open block, -1 for none
	calls   []int  // block index of each chat tool call index, -1 for none
	finish  string
	matched []byte // the stop sequence the answer says matched
	usage   llm.Usage
	hasUse  bool
}

// Content block kinds.
const (
	blockText     = 't'
	blockThinking = 'k'
	blockRedacted = 'r'
	blockTool     = 'u'
)

// NewStream returns the event writer for req's streamed answer.
func NewStream(req *Request) *Stream { return &Stream{req: req, open: -1} }

var (
	errEnded       = errors.New("messages: the stream has ended")
	errBadChunk    = errors.New("messages: the chunk is not a chat.completion.chunk object")
	errInterleaved = errors.New("messages: a tool call's arguments continued after another content block had started")
)

// Chunk appends the events for one committed chat.completion.chunk; the
// first call starts the message (message_start, with the chunk's model, and a
// ping). A chunk that carries usage has it kept for Finish. Choices other
// than index 0 are ignored: the Messages API has one answer.
func (s *Stream) Chunk(dst, chunk []byte) ([]byte, error) {
	if s.ended {
		return dst, errEnded
	}
	var choices, usage, model []byte
	m := rawjson.MembersOf(chunk)
	for m.Next() {
		switch string(m.Key()) {
		case "choices":
			choices = m.Value()
		case "usage":
			usage = m.Value()
		case "model":
			model = m.Value()
		}
	}
	if m.Err() != nil {
		return dst, errBadChunk
	}
	if !s.started {
		if wire.IsString(model) {
			s.model = append([]byte(nil), model...)
		}
		dst = s.start(dst)
	}
	if len(usage) > 0 && usage[0] == '{' && s.usage.UnmarshalJSON(usage) == nil {
		s.hasUse = true
	}
	if len(choices) == 0 || choices[0] != '[' {
		return dst, nil
	}
	els := rawjson.ElementsOf(choices)
	for els.Next() {
		var delta, finish []byte
		index := 0
		c := rawjson.MembersOf(els.Value())
		for c.Next() {
			switch string(c.Key()) {
			case "index":
				index = atoi(c.Value())
			case "delta":
				delta = c.Value()
			case "finish_reason":
				finish = c.Value()
			case "stop_reason", "matched_stop":
				if wire.IsString(c.Value()) {
					s.matched = append(s.matched[:0], c.Value()...)
				}
			}
		}
		if c.Err() != nil {
			return dst, errBadChunk
		}
		if index != 0 {
			continue
		}
		if f := wire.StringBody(finish); len(f) > 0 {
			s.finish = string(f)
		}
		return s.delta(dst, delta)
	}
	if els.Err() != nil {
		return dst, errBadChunk
	}
	return dst, nil
}

func (s *Stream) delta(dst, delta []byte) ([]byte, error) {
	var content, refusal, reasoning, calls, thinking []byte
	m := rawjson.MembersOf(delta)
	for m.Next() {
		switch string(m.Key()) {
		case "content":
			content = m.Value()
		case "refusal":
			refusal = m.Value()
		case "reasoning_content":
			reasoning = m.Value()
		case "tool_calls":
			calls = m.Value()
		case "thinking_blocks":
			thinking = m.Value()
		}
	}
	if m.Err() != nil && len(delta) > 0 {
		return dst, errBadChunk
	}
	if s.req.thinking {
		dst = s.text(dst, blockThinking, wire.StringBody(reasoning))
		for _, b := range thinkingBlocks(thinking) {
			dst = s.thinkingBlock(dst, &b)
		}
	}
	dst = s.text(dst, blockText, wire.StringBody(content))
	dst = s.text(dst, blockText, wire.StringBody(refusal))
	if len(calls) == 0 || calls[0] != '[' {
		return dst, nil
	}
	els := rawjson.ElementsOf(calls)
	for els.Next() {
		var err error
		if dst, err = s.toolCall(dst, els.Value()); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// text appends a text or thinking delta, starting a block of its kind when
// the open one is not.
func (s *Stream) text(dst []byte, kind byte, text []byte) []byte {
	if len(text) == 0 {
		return dst
	}
	if s.open < 0 || s.blocks[s.open] != kind {
		dst = s.stop(dst)
		dst = s.startBlock(dst, kind)
		if kind == blockThinking {
			dst = append(dst, `{"type":"thinking","thinking":"","signature":""}`...)
		} else {
			dst = append(dst, `{"type":"text","text":""}`...)
		}
		dst = append(dst, wire.EventEnd...)
	}
	dst = s.deltaHead(dst)
	if kind == blockThinking {
		dst = append(dst, `{"type":"thinking_delta","thinking":"`...)
	} else {
		dst = append(dst, `{"type":"text_delta","text":"`...)
	}
	dst = append(dst, text...)
	dst = append(dst, `"}`...)
	return append(dst, wire.EventEnd...)
}

// thinkingBlock appends a complete signed block of the answer: the
// signature of the thinking block streaming (its text came as
// reasoning_content), or a block of its own when none is open, and a
// redacted_thinking block as a block of its own.
func (s *Stream) thinkingBlock(dst []byte, b *llm.ThinkingBlock) []byte {
	if b.Type == "redacted_thinking" {
		dst = s.stop(dst)
		dst = s.startBlock(dst, blockRedacted)
		dst = wire.AppendThinkingBlock(dst, b)
		return append(dst, wire.EventEnd...)
	}
	if s.open < 0 || s.blocks[s.open] != blockThinking {
		dst = s.text(dst, blockThinking, rawjson.AppendStringBody(nil, b.Thinking))
	}
	if s.open < 0 || s.blocks[s.open] != blockThinking {
		return dst // no text: nothing to sign
	}
	dst = s.deltaHead(dst)
	dst = append(dst, `{"type":"signature_delta","signature":`...)
	dst = rawjson.AppendString(dst, b.Signature)
	dst = append(dst, '}')
	dst = append(dst, wire.EventEnd...)
	// The block is whole: more reasoning starts another.
	return s.stop(dst)
}

// toolCall appends the events of one tool_calls element of a delta.
func (s *Stream) toolCall(dst, call []byte) ([]byte, error) {
	var id, fn, name, args []byte
	k := 0
	m := rawjson.MembersOf(call)
	for m.Next() {
		switch string(m.Key()) {
		case "index":
			k = atoi(m.Value())
		case "id":
			id = m.Value()
		case "function":
			fn = m.Value()
		}
	}
	f := rawjson.MembersOf(fn)
	for f.Next() {
		switch string(f.Key()) {
		case "name":
			name = f.Value()
		case "arguments":
			args = wire.StringBody(f.Value())
		}
	}
	if m.Err() != nil || (len(fn) > 0 && f.Err() != nil) || k > 1024 {
		return dst, errBadChunk
	}
	for len(s.calls) <= k {
		s.calls = append(s.calls, -1)
	}
	if at := s.calls[k]; at >= 0 {
		if at != s.open {
			return dst, errInterleaved
		}
	} else {
		if !wire.IsString(name) || len(name) == 2 {
			return dst, errBadChunk
		}
		dst = s.stop(dst)
		dst = s.startBlock(dst, blockTool)
		dst = append(dst, `{"type":"tool_use","id":`...)
		if wire.IsString(id) && len(id) > 2 {
			dst = append(dst, id...)
		} else {
			// A call the upstream gave no id: one derived from the message's.
			dst = rawjson.AppendString(dst, "toolu_"+s.req.ID[len("msg_"):]+strconv.Itoa(s.open))
		}
		dst = append(dst, `,"name":`...)
		dst = append(dst, name...)
		dst = append(dst, `,"input":{}}`...)
		dst = append(dst, wire.EventEnd...)
		s.calls[k] = s.open
	}
	if len(args) == 0 {
		return dst, nil
	}
	dst = s.deltaHead(dst)
	dst = append(dst, `{"type":"input_json_delta","partial_json":"`...)
	dst = append(dst, args...)
	dst = append(dst, `"}`...)
	return append(dst, wire.EventEnd...), nil
}

// Finish appends the events that end the message: the open block's
// content_block_stop, message_delta with the stop reason and usage, and
// message_stop. usage is the stream's usage; nil uses the usage a chunk
// carried (zero counts when there was none).
func (s *Stream) Finish(dst []byte, usage *llm.Usage) []byte {
	if s.ended {
		return dst
	}
	if !s.started {
		dst = s.start(dst)
	}
	dst = s.stop(dst)
	s.ended = true
	tools := false
	for _, k := range s.blocks {
		tools = tools || k == blockTool
	}
	reason, seq := stopReason(s.finish, tools, s.matched, s.req.Chat.Stop)
	dst = wire.AppendEventHead(dst, "message_delta")
	dst = append(dst, `,"delta":{"stop_reason":"`...)
	dst = append(dst, reason...)
	dst = append(dst, `","stop_sequence":`...)
	if seq != nil {
		dst = append(dst, seq...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `},"usage":`...)
	u := usage
	if u == nil {
		u = &s.usage // zero unless a chunk carried usage
	}
	dst = appendUsage(dst, u)
	dst = append(dst, wire.EventEnd...)
	dst = wire.AppendEventHead(dst, "message_stop")
	return append(dst, wire.EventEnd...)
}

// Fail appends an error event for an error after the stream started; it
// ends the stream. Anthropic sends the same on a 200 answer, with the error's
// type (overloaded_error for what would have been a 529).
func (s *Stream) Fail(dst []byte, e *llm.Error) []byte {
	if s.ended {
		return dst
	}
	s.ended = true
	dst = append(dst, "event: error\ndata: "...)
	dst = AppendError(dst, e)
	return append(dst, '\n', '\n')
}

// start appends message_start and a ping, as Anthropic begins a stream.
func (s *Stream) start(dst []byte) []byte {
	s.started = true
	dst = wire.AppendEventHead(dst, "message_start")
	dst = append(dst, `,"message":{"id":`...)
	dst = rawjson.AppendString(dst, s.req.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	if len(s.model) > 0 {
		dst = append(dst, s.model...)
	} else {
		dst = rawjson.AppendString(dst, s.req.Chat.Model)
	}
	dst = append(dst, `,"content":[],"stop_reason":null,"stop_sequence":null,"usage":`...)
	dst = appendUsage(dst, &llm.Usage{})
	dst = append(dst, '}')
	dst = append(dst, wire.EventEnd...)
	dst = wire.AppendEventHead(dst, "ping")
	return append(dst, wire.EventEnd...)
}

// startBlock opens a block of kind and appends content_block_start up to
// its content_block member's value, which the caller writes.
func (s *Stream) startBlock(dst []byte, kind byte) []byte {
	s.open = len(s.blocks)
	s.blocks = append(s.blocks, kind)
	dst = wire.AppendEventHead(dst, "content_block_start")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	return append(dst, `,"content_block":`...)
}

// deltaHead appends content_block_delta up to its delta member's value.
func (s *Stream) deltaHead(dst []byte) []byte {
	dst = wire.AppendEventHead(dst, "content_block_delta")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	return append(dst, `,"delta":`...)
}

// stop appends content_block_stop for the open block, if any.
func (s *Stream) stop(dst []byte) []byte {
	if s.open < 0 {
		return dst
	}
	dst = wire.AppendEventHead(dst, "content_block_stop")
	dst = append(dst, `,"index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	s.open = -1
	return append(dst, wire.EventEnd...)
}

// atoi reads a small non-negative JSON integer, 0 for anything else.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}
