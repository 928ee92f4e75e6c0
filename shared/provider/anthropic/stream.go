package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/provider/httpapi"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/scrub"
)

// stream translates Anthropic's named server-sent events into OpenAI
// chat.completion.chunk objects, one chunk per call to Next:
//
//	message_start                     -> role chunk {"role":"assistant","content":""}
//	content_block_start (tool_use)    -> tool_calls[{index:k,id,type,function{name,arguments:""}}]
//	content_block_delta text_delta    -> {"content":…}
//	content_block_delta input_json    -> tool_calls[{index:k,function{arguments:…}}]
//	content_block_delta thinking      -> {"reasoning_content":…}
//	content_block_stop (thinking)     -> {"thinking_blocks":[the whole block, signed]}
//	content_block_start (redacted)    -> {"thinking_blocks":[{"type":"redacted_thinking","data":…}]}
//	message_delta                     -> finish chunk (Usage set, from cumulative counts)
//	message_stop                      -> usage-only chunk, then io.EOF
//	error                             -> *llm.Error with the status its type stands for
//	ping, content_block_stop, others  -> nothing
//
// k counts tool_use blocks only, as OpenAI numbers tool calls, not content
// blocks. The input of the answer tool of a structured request streams as
// content, and its tool_use stop reason finishes with stop. Text deltas are spliced into the chunk as the upstream escaped them,
// without decoding, as this is the stream's hot path.
type stream struct {
	provider string
	key      string // the key sent, removed from error events
	body     io.ReadCloser
	lines    httpapi.Lines
	model    string
	created  int64

	prefix []byte // a chunk up to and including `"choices":[`
	buf    []byte // the chunk being returned
	event  []byte // the current event's name
	data   []byte // the current event's data

	toolOf []int // tool call index of each content block, -1 for other blocks
	tools  int   // tool_use blocks seen

	// The thinking block being streamed, kept whole for the client to send
	// back: its text and signature as the upstream escaped them.
	thinkText, thinkSig []byte

	// answerTool is the tool forced for structured output: its input is
	// streamed as content, not as a tool call (structured.go).
	answerTool string
	answered   bool

	u        usage     // cumulative counts
	usage    llm.Usage // the last translated usage, handed out in chunks
	started  bool      // message_start seen
	finished bool      // message_delta seen
	done     bool
}

func newStream(provider string, body io.ReadCloser, model string, created int64) *stream {
	return &stream{provider: provider, body: body, lines: httpapi.NewLines(body), model: model, created: created}
}

// Next returns the next chunk, io.EOF after the usage chunk, or an *llm.Error.
func (s *stream) Next() (llm.Chunk, error) {
	for !s.done {
		name, data, err := s.readEvent()
		if err != nil {
			s.done = true
			if !errors.Is(err, io.EOF) {
				return llm.Chunk{}, llm.Unavailable(s.provider, err)
			}
			if s.finished {
				// message_stop lost after the finish chunk: the answer is whole.
				return s.usageChunk(), nil
			}
			return llm.Chunk{}, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
				Code: "stream_truncated", Message: "the provider's stream ended before the answer was complete", Provider: s.provider}
		}
		c, ok, err := s.translate(name, data)
		if err != nil {
			s.done = true
			return llm.Chunk{}, err
		}
		if ok {
			return c, nil
		}
	}
	return llm.Chunk{}, io.EOF
}

// Close releases the upstream connection.
func (s *stream) Close() error {
	s.done = true
	return s.body.Close()
}

// translate turns one event into at most one chunk.
func (s *stream) translate(name, data []byte) (llm.Chunk, bool, error) {
	if len(name) == 0 { // SSE without event lines: the data's type names it
		name, _ = rawjson.Find(data, "type")
		name = bytes.Trim(name, `"`)
	}
	switch string(name) {
	case "content_block_delta":
		return s.blockDelta(data)
	case "error":
		e := ParseError(0, data)
		e.Provider = s.provider
		e.Detail = scrub.Secrets(e.Detail, s.key)
		return llm.Chunk{}, false, e
	case "content_block_stop":
		return s.blockStop(data)
	case "message_start", "content_block_start", "message_delta":
	case "message_stop":
		s.done = true
		return s.usageChunk(), true, nil
	default: // ping, content_block_stop, and events added after this was written
		return llm.Chunk{}, false, nil
	}
	var ev streamEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		return llm.Chunk{}, false, s.malformed()
	}
	switch string(name) {
	case "message_start":
		if ev.Message == nil {
			return llm.Chunk{}, false, s.malformed()
		}
		s.start(ev.Message.ID)
		s.u = ev.Message.Usage
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`...)
		return llm.Chunk{Data: s.buf}, true, nil
	case "message_delta":
		s.finished = true
		if u := ev.Usage; u != nil {
			s.addUsage(u)
		}
		stop := ""
		if ev.Delta != nil {
			stop = ev.Delta.StopReason
		}
		s.open()
		finish := toOpenAIFinishReason(stop)
		if s.answered && s.tools == 0 && stop == "tool_use" {
			finish = llm.FinishStop
		}
		s.buf = append(s.buf, `{"index":0,"delta":{},"finish_reason":"`...)
		s.buf = append(s.buf, finish...)
		s.buf = append(s.buf, `"}]}`...)
		// Usage rides along (not in the JSON) so a stream cut before
		// message_stop is still metered.
		s.usage = toOpenAIUsage(s.u)
		return llm.Chunk{Data: s.buf, Usage: &s.usage}, true, nil
	}
	return s.blockStart(ev.Index, ev.ContentBlock) // content_block_start
}

func (s *stream) malformed() *llm.Error {
	e := badResponse("the provider sent a malformed stream event")
	e.Provider = s.provider
	return e
}

// start builds the chunk prefix once the message id is known.
func (s *stream) start(id string) {
	s.started = true
	s.prefix = append(s.prefix[:0], `{"id":`...)
	s.prefix = rawjson.AppendString(s.prefix, id)
	s.prefix = append(s.prefix, `,"object":"chat.completion.chunk","created":`...)
	s.prefix = strconv.AppendInt(s.prefix, s.created, 10)
	s.prefix = append(s.prefix, `,"model":`...)
	s.prefix = rawjson.AppendString(s.prefix, s.model)
	s.prefix = append(s.prefix, `,"choices":[`...)
}

// open starts a chunk in buf.
func (s *stream) open() {
	if !s.started {
		s.start("")
	}
	s.buf = append(s.buf[:0], s.prefix...)
}

// addUsage folds a message_delta's cumulative usage in. Input counts are
// absent or null in older streams; the message_start values stand then.
func (s *stream) addUsage(u *usage) {
	s.u.OutputTokens = u.OutputTokens
	if u.InputTokens != nil {
		s.u.InputTokens = u.InputTokens
	}
	if u.CacheCreationInputTokens != nil {
		s.u.CacheCreationInputTokens = u.CacheCreationInputTokens
	}
	if u.CacheReadInputTokens != nil {
		s.u.CacheReadInputTokens = u.CacheReadInputTokens
	}
	if u.CacheCreation != nil {
		s.u.CacheCreation = u.CacheCreation
	}
}

// usageChunk is the final chunk: no choices, the whole usage.
func (s *stream) usageChunk() llm.Chunk {
	s.usage = toOpenAIUsage(s.u)
	s.open()
	s.buf = append(s.buf, `],"usage":`...)
	u, _ := s.usage.MarshalJSON()
	s.buf = append(s.buf, u...)
	s.buf = append(s.buf, '}')
	return llm.Chunk{Data: s.buf, Usage: &s.usage, UsageOnly: true}
}

// blockStart opens a content block: a tool_use block announces its call; a
// text block that starts with text (they normally start empty) sends it.
func (s *stream) blockStart(index int, b *responseBlock) (llm.Chunk, bool, error) {
	if b == nil || index < 0 {
		return llm.Chunk{}, false, s.malformed()
	}
	for len(s.toolOf) <= index {
		s.toolOf = append(s.toolOf, -1)
	}
	switch b.Type {
	case "tool_use":
		if s.answerTool != "" && b.Name == s.answerTool && !s.answered {
			s.answered = true
			s.toolOf[index] = answerBlock
			return llm.Chunk{}, false, nil
		}
		k := s.tools
		s.tools++
		s.toolOf[index] = k
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"tool_calls":[{"index":`...)
		s.buf = strconv.AppendInt(s.buf, int64(k), 10)
		s.buf = append(s.buf, `,"id":`...)
		s.buf = rawjson.AppendString(s.buf, b.ID)
		s.buf = append(s.buf, `,"type":"function","function":{"name":`...)
		s.buf = rawjson.AppendString(s.buf, b.Name)
		s.buf = append(s.buf, `,"arguments":""}}]},"finish_reason":null}]}`...)
		return llm.Chunk{Data: s.buf}, true, nil
	case "text":
		if b.Text != "" {
			s.open()
			s.buf = append(s.buf, `{"index":0,"delta":{"content":`...)
			s.buf = rawjson.AppendString(s.buf, b.Text)
			s.buf = append(s.buf, `},"finish_reason":null}]}`...)
			return llm.Chunk{Data: s.buf}, true, nil
		}
	case "thinking":
		s.toolOf[index] = thinkingBlock
		s.thinkText, s.thinkSig = rawjson.AppendStringBody(s.thinkText[:0], b.Thinking), rawjson.AppendStringBody(s.thinkSig[:0], b.Signature)
	case "redacted_thinking":
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"thinking_blocks":[{"type":"redacted_thinking","data":`...)
		s.buf = rawjson.AppendString(s.buf, b.Data)
		s.buf = append(s.buf, `}]},"finish_reason":null}]}`...)
		return llm.Chunk{Data: s.buf}, true, nil
	}
	return llm.Chunk{}, false, nil
}

// blockStop ends a content block: a thinking block goes out whole, with
// its signature, once.
func (s *stream) blockStop(data []byte) (llm.Chunk, bool, error) {
	raw, _ := rawjson.Find(data, "index")
	index := atoi(raw)
	if index < 0 || index >= len(s.toolOf) || s.toolOf[index] != thinkingBlock {
		return llm.Chunk{}, false, nil
	}
	s.toolOf[index] = -1
	s.open()
	s.buf = append(s.buf, `{"index":0,"delta":{"thinking_blocks":[{"type":"thinking","thinking":"`...)
	s.buf = append(s.buf, s.thinkText...)
	s.buf = append(s.buf, `","signature":"`...)
	s.buf = append(s.buf, s.thinkSig...)
	s.buf = append(s.buf, `"}]},"finish_reason":null}]}`...)
	return llm.Chunk{Data: s.buf}, true, nil
}

// answerBlock marks, in toolOf, the content block of the answer tool;
// thinkingBlock a thinking block.
const (
	answerBlock   = -2
	thinkingBlock = -3
)

var (
	textDelta      = []byte(`"text_delta"`)
	inputJSONDelta = []byte(`"input_json_delta"`)
	thinkingDelta  = []byte(`"thinking_delta"`)
	signatureDelta = []byte(`"signature_delta"`)
	emptyString    = []byte(`""`)
)

// blockDelta translates a content_block_delta by splicing its string value,
// still JSON-escaped as the upstream sent it, into the chunk.
func (s *stream) blockDelta(data []byte) (llm.Chunk, bool, error) {
	index := -1
	var delta []byte
	m := rawjson.MembersOf(data)
	for m.Next() {
		switch string(m.Key()) {
		case "index":
			index = atoi(m.Value())
		case "delta":
			delta = m.Value()
		}
	}
	if m.Err() != nil || delta == nil {
		return llm.Chunk{}, false, s.malformed()
	}
	var typ, value []byte
	d := rawjson.MembersOf(delta)
	for d.Next() {
		switch string(d.Key()) {
		case "type":
			typ = d.Value()
		case "text", "partial_json", "thinking", "signature":
			value = d.Value()
		}
	}
	if d.Err() != nil {
		return llm.Chunk{}, false, s.malformed()
	}
	if len(value) < 2 || value[0] != '"' || bytes.Equal(value, emptyString) {
		return llm.Chunk{}, false, nil // citations deltas, empty pieces
	}
	thinking := index >= 0 && index < len(s.toolOf) && s.toolOf[index] == thinkingBlock
	if bytes.Equal(typ, signatureDelta) {
		if thinking {
			s.thinkSig = append(s.thinkSig, value[1:len(value)-1]...)
		}
		return llm.Chunk{}, false, nil
	}
	if thinking && bytes.Equal(typ, thinkingDelta) {
		s.thinkText = append(s.thinkText, value[1:len(value)-1]...)
	}
	switch {
	case bytes.Equal(typ, textDelta):
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"content":`...)
	case bytes.Equal(typ, inputJSONDelta) && index >= 0 && index < len(s.toolOf) && s.toolOf[index] == answerBlock:
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"content":`...)
	case bytes.Equal(typ, inputJSONDelta):
		if index < 0 || index >= len(s.toolOf) || s.toolOf[index] < 0 {
			return llm.Chunk{}, false, nil // a server tool's input: not the client's call
		}
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"tool_calls":[{"index":`...)
		s.buf = strconv.AppendInt(s.buf, int64(s.toolOf[index]), 10)
		s.buf = append(s.buf, `,"function":{"arguments":`...)
		s.buf = append(s.buf, value...)
		s.buf = append(s.buf, `}}]},"finish_reason":null}]}`...)
		return llm.Chunk{Data: s.buf}, true, nil
	case bytes.Equal(typ, thinkingDelta):
		s.open()
		s.buf = append(s.buf, `{"index":0,"delta":{"reasoning_content":`...)
	default:
		return llm.Chunk{}, false, nil
	}
	s.buf = append(s.buf, value...)
	s.buf = append(s.buf, `},"finish_reason":null}]}`...)
	return llm.Chunk{Data: s.buf}, true, nil
}

// atoi reads a small non-negative JSON integer, -1 for anything else.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 9 {
		return -1
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

var (
	eventField = []byte("event:")
	dataField  = []byte("data:")
)

// readEvent reads one server-sent event: its name and its data lines joined
// by newlines. Comments and other fields are skipped. Both slices are valid
// until the next call.
func (s *stream) readEvent() (name, data []byte, err error) {
	s.event, s.data = s.event[:0], s.data[:0]
	hasData := false
	for {
		line, err := s.lines.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				return s.event, s.data, nil
			}
			return nil, nil, err
		}
		switch {
		case len(line) == 0:
			if hasData {
				return s.event, s.data, nil
			}
			s.event = s.event[:0] // an event with no data is not dispatched
		case bytes.HasPrefix(line, dataField):
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, trimSpace(line[len(dataField):])...)
			hasData = true
		case bytes.HasPrefix(line, eventField):
			s.event = append(s.event[:0], trimSpace(line[len(eventField):])...)
		}
	}
}

// trimSpace drops the single optional space after a field's colon.
func trimSpace(v []byte) []byte {
	if len(v) > 0 && v[0] == ' ' {
		return v[1:]
	}
	return v
}
