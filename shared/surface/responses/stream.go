package responses

import (
	"errors"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// Stream turns a streamed chat answer into the Responses event sequence:
//
//	first chunk       response.created, response.in_progress (sequence 0, 1)
//	reasoning_content response.output_item.added (reasoning), content_part.added,
//	                  response.reasoning_text.delta…
//	content           output_item.added (message), content_part.added (output_text),
//	                  response.output_text.delta…
//	refusal           content_part.added (refusal), response.refusal.delta…
//	tool_calls[k]     output_item.added (function_call), response.function_call_arguments.delta…
//	Finish            the open item's .done events, response.completed (or
//	                  response.incomplete at the token limit or a content filter)
//	Fail              response.failed
//
// An item is closed (its text .done, content_part.done, output_item.done, or
// function_call_arguments.done and output_item.done) when the next one
// starts, so items follow one another as OpenAI sends them. Every event is
// `event: NAME\ndata: JSON\n\n` with a sequence_number one above the last.
//
// Text is spliced into events as the chunks escaped it, without decoding: a
// streamed event costs a scan of the chunk and an append.
//
// A Stream is used by one goroutine and is not reused. Each method appends to
// dst and returns it; the bytes are for the client as they are.
type Stream struct {
	req     *Request
	resp    response
	seq     int
	started bool
	ended   bool
	open    int   // index in resp.items of the open item, -1 for none
	calls   []int // item index of each chat tool call index, -1 for none
	finish  string
	usage   llm.Usage
	hasUse  bool
}

// NewStream returns the event writer for req's streamed answer.
func NewStream(req *Request) *Stream {
	return &Stream{req: req, open: -1, resp: response{status: "in_progress"}}
}

var (
	errEnded       = errors.New("responses: the stream has ended")
	errBadChunk    = errors.New("responses: the chunk is not a chat.completion.chunk object")
	errInterleaved = errors.New("responses: a tool call's arguments continued after another output item had started")
)

// Chunk appends the events for one committed chat.completion.chunk. The
// first call starts the response (response.created and
// response.in_progress), with created_at and model from the chunk. A chunk
// that carries usage (the usage-only last chunk) has it kept for Finish.
// Choices other than index 0 are ignored: the Responses API has no n.
func (s *Stream) Chunk(dst, chunk []byte) ([]byte, error) {
	if s.ended {
		return dst, errEnded
	}
	var choices, usage, model []byte
	var created int64
	m := rawjson.MembersOf(chunk)
	for m.Next() {
		switch string(m.Key()) {
		case "choices":
			choices = m.Value()
		case "usage":
			usage = m.Value()
		case "model":
			model = m.Value()
		case "created":
			created = int64(atoi(m.Value()))
		}
	}
	if m.Err() != nil {
		return dst, errBadChunk
	}
	if !s.started {
		if wire.IsString(model) {
			s.resp.model = append([]byte(nil), model...)
		}
		s.resp.created = created
		dst = s.start(dst)
	}
	if len(usage) > 0 && usage[0] == '{' {
		if s.usage.UnmarshalJSON(usage) == nil {
			s.hasUse = true
		}
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

// delta appends the events of a choice's delta.
func (s *Stream) delta(dst, delta []byte) ([]byte, error) {
	var content, refusal, reasoning, calls []byte
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
		}
	}
	if m.Err() != nil && len(delta) > 0 {
		return dst, errBadChunk
	}
	dst = s.text(dst, kindReasoning, partReasoning, wire.StringBody(reasoning))
	dst = s.text(dst, kindMessage, partText, wire.StringBody(content))
	dst = s.text(dst, kindMessage, partRefusal, wire.StringBody(refusal))
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

// text appends a piece of text to the open item's part of the kind, opening
// the item and the part when needed.
func (s *Stream) text(dst []byte, kind, pkind byte, text []byte) []byte {
	if len(text) == 0 {
		return dst
	}
	if s.open < 0 || s.resp.items[s.open].kind != kind {
		dst = s.closeItem(dst, "completed")
		dst = s.openItem(dst, item{kind: kind})
	}
	it := &s.resp.items[s.open]
	if n := len(it.parts); n == 0 || it.parts[n-1].kind != pkind {
		if n > 0 {
			dst = s.closePart(dst, it)
		}
		it.parts = append(it.parts, part{kind: pkind})
		dst = s.head(dst, "response.content_part.added")
		dst = s.itemRef(dst, it, len(it.parts)-1)
		dst = append(dst, `,"part":`...)
		dst = appendPart(dst, &it.parts[len(it.parts)-1])
		dst = append(dst, wire.EventEnd...)
	}
	p := &it.parts[len(it.parts)-1]
	p.text = append(p.text, text...)
	switch pkind {
	case partText:
		dst = s.head(dst, "response.output_text.delta")
	case partRefusal:
		dst = s.head(dst, "response.refusal.delta")
	default:
		dst = s.head(dst, "response.reasoning_text.delta")
	}
	dst = s.itemRef(dst, it, len(it.parts)-1)
	dst = append(dst, `,"delta":"`...)
	dst = append(dst, text...)
	if pkind == partText {
		dst = append(dst, `","logprobs":[]`...)
		return append(dst, wire.EventEnd...)
	}
	dst = append(dst, '"')
	return append(dst, wire.EventEnd...)
}

// toolCall appends the events of one tool_calls element of a delta.
func (s *Stream) toolCall(dst, call []byte) ([]byte, error) {
	var id, fn []byte
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
	var name, args []byte
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
		dst = s.closeItem(dst, "completed")
		it := item{kind: kindCall, name: append([]byte(nil), name...)}
		if wire.IsString(id) && len(id) > 2 {
			it.callID = append([]byte(nil), id...)
		} else {
			// A call the upstream gave no id: the item's id stands in.
			fc := itemID(s.req.ID, kindCall, len(s.resp.items))
			it.callID = rawjson.AppendString(nil, "call_"+fc[len("fc_"):])
		}
		dst = s.openItem(dst, it)
		s.calls[k] = s.open
	}
	if len(args) == 0 {
		return dst, nil
	}
	it := &s.resp.items[s.open]
	it.args = append(it.args, args...)
	dst = s.head(dst, "response.function_call_arguments.delta")
	dst = append(dst, `,"item_id":`...)
	dst = rawjson.AppendString(dst, it.id)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	dst = append(dst, `,"delta":"`...)
	dst = append(dst, args...)
	dst = append(dst, '"')
	return append(dst, wire.EventEnd...), nil
}

// Finish appends the events that end the response: the open item's .done
// events, then response.completed, or response.incomplete with
// incomplete_details when the answer stopped at max_output_tokens or a
// content filter. usage is the stream's usage; nil uses the usage a chunk
// carried, and null is written when there was none.
func (s *Stream) Finish(dst []byte, usage *llm.Usage) []byte {
	if s.ended {
		return dst
	}
	if !s.started {
		dst = s.start(dst)
	}
	if len(s.resp.items) == 0 {
		// An empty answer is still a message, as Render gives one.
		dst = s.openItem(dst, item{kind: kindMessage, parts: []part{{kind: partText}}})
		it := &s.resp.items[s.open]
		dst = s.head(dst, "response.content_part.added")
		dst = s.itemRef(dst, it, 0)
		dst = append(dst, `,"part":`...)
		dst = appendPart(dst, &it.parts[0])
		dst = append(dst, wire.EventEnd...)
	}
	status, reason := statusOf(s.finish)
	itemStatus := "completed"
	if reason != "" {
		itemStatus = "incomplete"
	}
	dst = s.closeItem(dst, itemStatus)
	s.resp.status, s.resp.incomplete = status, reason
	switch {
	case usage != nil:
		s.resp.usage = usage
	case s.hasUse:
		s.resp.usage = &s.usage
	}
	s.ended = true
	return s.event(dst, "response."+status)
}

// Fail appends response.failed for an error after the stream started (or,
// if no chunk came, after response.created and response.in_progress, so the
// sequence is whole). Items still open are reported incomplete. e's Message
// is shown to the client: it must be the router's rendering of the error,
// never an upstream's raw text.
func (s *Stream) Fail(dst []byte, e *llm.Error) []byte {
	if s.ended {
		return dst
	}
	if !s.started {
		dst = s.start(dst)
	}
	s.resp.status, s.resp.err = "failed", e
	if s.hasUse {
		s.resp.usage = &s.usage
	}
	s.ended = true
	return s.event(dst, "response.failed")
}

// start appends response.created and response.in_progress.
func (s *Stream) start(dst []byte) []byte {
	s.started = true
	dst = s.event(dst, "response.created")
	return s.event(dst, "response.in_progress")
}

// event appends an event that carries the whole response object.
func (s *Stream) event(dst []byte, name string) []byte {
	dst = s.head(dst, name)
	dst = append(dst, `,"response":`...)
	dst = s.req.appendResponse(dst, &s.resp)
	return append(dst, wire.EventEnd...)
}

// head appends an event's name and the start of its data, through the
// sequence number.
func (s *Stream) head(dst []byte, name string) []byte {
	dst = wire.AppendEventHead(dst, name)
	dst = append(dst, `,"sequence_number":`...)
	dst = strconv.AppendInt(dst, int64(s.seq), 10)
	s.seq++
	return dst
}

// itemRef appends the members that place a content event.
func (s *Stream) itemRef(dst []byte, it *item, contentIndex int) []byte {
	dst = append(dst, `,"item_id":`...)
	dst = rawjson.AppendString(dst, it.id)
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	dst = append(dst, `,"content_index":`...)
	return strconv.AppendInt(dst, int64(contentIndex), 10)
}

// openItem adds an item and appends response.output_item.added.
func (s *Stream) openItem(dst []byte, it item) []byte {
	s.open = len(s.resp.items)
	it.id = itemID(s.req.ID, it.kind, s.open)
	s.resp.items = append(s.resp.items, it)
	dst = s.head(dst, "response.output_item.added")
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	dst = append(dst, `,"item":`...)
	added := it
	added.parts = nil // the parts are announced by content_part.added
	dst = appendItem(dst, &added, "in_progress")
	return append(dst, wire.EventEnd...)
}

// closePart appends the done events of the item's last part.
func (s *Stream) closePart(dst []byte, it *item) []byte {
	j := len(it.parts) - 1
	p := &it.parts[j]
	if p.done {
		return dst
	}
	p.done = true
	switch p.kind {
	case partText:
		dst = s.head(dst, "response.output_text.done")
		dst = s.itemRef(dst, it, j)
		dst = append(dst, `,"logprobs":[],"text":"`...)
	case partRefusal:
		dst = s.head(dst, "response.refusal.done")
		dst = s.itemRef(dst, it, j)
		dst = append(dst, `,"refusal":"`...)
	default:
		dst = s.head(dst, "response.reasoning_text.done")
		dst = s.itemRef(dst, it, j)
		dst = append(dst, `,"text":"`...)
	}
	dst = append(dst, p.text...)
	dst = append(dst, '"')
	dst = append(dst, wire.EventEnd...)
	dst = s.head(dst, "response.content_part.done")
	dst = s.itemRef(dst, it, j)
	dst = append(dst, `,"part":`...)
	dst = appendPart(dst, p)
	return append(dst, wire.EventEnd...)
}

// closeItem appends the done events of the open item, if any, with status.
func (s *Stream) closeItem(dst []byte, status string) []byte {
	if s.open < 0 {
		return dst
	}
	it := &s.resp.items[s.open]
	if it.kind == kindCall {
		dst = s.head(dst, "response.function_call_arguments.done")
		dst = append(dst, `,"item_id":`...)
		dst = rawjson.AppendString(dst, it.id)
		dst = append(dst, `,"output_index":`...)
		dst = strconv.AppendInt(dst, int64(s.open), 10)
		dst = append(dst, `,"name":`...)
		dst = append(dst, it.name...)
		dst = append(dst, `,"arguments":"`...)
		dst = append(dst, it.args...)
		dst = append(dst, '"')
		dst = append(dst, wire.EventEnd...)
	} else if len(it.parts) > 0 {
		dst = s.closePart(dst, it)
	}
	it.status = status
	dst = s.head(dst, "response.output_item.done")
	dst = append(dst, `,"output_index":`...)
	dst = strconv.AppendInt(dst, int64(s.open), 10)
	dst = append(dst, `,"item":`...)
	dst = appendItem(dst, it, status)
	s.open = -1
	return append(dst, wire.EventEnd...)
}
