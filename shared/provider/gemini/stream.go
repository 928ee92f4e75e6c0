package gemini

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/provider/httpapi"

	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/scrub"

	"github.com/llm-router/router/shared/llm"
)

// stream reads Gemini's server-sent events (alt=sse): each data event is a
// whole GenerateContentResponse with incremental parts, and there is no
// [DONE]; the answer is complete when every candidate has a finishReason and
// the connection closes. Each event becomes one OpenAI chunk; the usage of
// the last event that carried usageMetadata becomes a final usage-only chunk.
type stream struct {
	provider string
	key      string // the key sent, removed from error events
	body     io.ReadCloser
	lines    httpapi.Lines
	created  int64
	model    []byte // the model id as a JSON string
	id       []byte // the chunk id as a JSON string, from the first event
	event    []byte // the current event's data
	raw      []byte // the current event's lines that are not SSE fields
	buf      []byte // the current chunk
	cands    []candState
	usage    llm.Usage
	hasUsage bool
	finished bool // every candidate seen so far has finished
	done     bool
	// thoughts passes thought parts on as reasoning_content (the client
	// asked for them); otherwise they are skipped.
	thoughts bool
}

// candState is what the stream remembers of one candidate (choice).
type candState struct {
	roleSent bool
	finished bool
	calls    int // tool calls sent, the index of the next one
}

func newStream(provider string, body io.ReadCloser, model string, created int64) *stream {
	return &stream{provider: provider, body: body, lines: httpapi.NewLines(body), created: created,
		model: rawjson.AppendString(nil, model)}
}

// Next returns the next chunk.
func (s *stream) Next() (llm.Chunk, error) {
	for !s.done {
		data, raw, err := s.readEvent()
		if errors.Is(err, io.EOF) {
			s.done = true
			if !s.finished {
				return llm.Chunk{}, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
					Code: "stream_truncated", Message: "the provider's stream ended before the answer was complete", Provider: s.provider}
			}
			if s.hasUsage {
				return s.usageChunk(), nil
			}
			return llm.Chunk{}, io.EOF
		}
		if err != nil {
			s.done = true
			return llm.Chunk{}, llm.Unavailable(s.provider, err)
		}
		if data == nil {
			// Not an SSE data event: Google reports some failures as a bare
			// {"error":{...}} object in the stream; anything else is ignored.
			if ae := decodeAPIError(raw); ae != nil {
				s.done = true
				return llm.Chunk{}, s.own(errorFromGoogle(s.provider, 0, nil, raw))
			}
			continue
		}
		c, ok, err := s.chunk(data)
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

// own removes the key the request was sent with from an error event's Detail.
func (s *stream) own(e *llm.Error) *llm.Error {
	e.Detail = scrub.Secrets(e.Detail, s.key)
	return e
}

// chunk translates one event; ok is false when the event adds nothing a
// client would see (a thought not asked for, or usage alone).
func (s *stream) chunk(data []byte) (c llm.Chunk, ok bool, err error) {
	var r generateContentResponse
	if json.Unmarshal(data, &r) != nil {
		e := badResponse("the provider sent a malformed stream event")
		e.Provider = s.provider
		return c, false, e
	}
	if r.Error != nil {
		return c, false, s.own(errorFromGoogle(s.provider, 0, nil, data))
	}
	if s.id == nil {
		s.id = rawjson.AppendString(nil, completionID(r.ResponseID))
	}
	if r.UsageMetadata != nil {
		s.usage, s.hasUsage = usageFromGemini(r.UsageMetadata), true
	}
	b := s.appendHead(s.buf[:0])
	n := 0
	if len(r.Candidates) == 0 && r.PromptFeedback != nil && r.PromptFeedback.BlockReason != "" {
		// A blocked prompt: answered as an empty, content-filtered choice.
		st := s.cand(0)
		b = append(b, `{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"content_filter"}`...)
		st.roleSent, st.finished = true, true
		n++
	}
	for i := range r.Candidates {
		cand := &r.Candidates[i]
		if cand.FinishReason == "" && !hasVisible(cand, s.thoughts) {
			continue // nothing for this choice in this event
		}
		st := s.cand(cand.Index)
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(cand.Index), 10)
		b = append(b, `,"delta":{`...)
		if !st.roleSent {
			b = append(b, `"role":"assistant",`...)
			st.roleSent = true
		}
		b = s.appendDelta(b, cand, st, r.ResponseID)
		b = append(b, `},"finish_reason":`...)
		if cand.FinishReason == "" {
			b = append(b, "null"...)
		} else {
			b = rawjson.AppendString(b, finishReasonFromGemini(cand.FinishReason, st.calls > 0))
			st.finished = true
		}
		b = append(b, '}')
		n++
	}
	s.buf = append(b, "]}"...)
	s.finished = s.allFinished()
	if n == 0 {
		return c, false, nil
	}
	return llm.Chunk{Data: s.buf}, true, nil
}

// allFinished reports whether at least one choice was sent and every choice
// sent has finished.
func (s *stream) allFinished() bool {
	sent := false
	for _, st := range s.cands {
		if st.roleSent {
			if !st.finished {
				return false
			}
			sent = true
		}
	}
	return sent
}

// appendDelta writes a candidate's text and tool calls as delta members;
// b ends in "{" or "," and the result ends in the last member's value, or
// in "{" for a delta with no members (a bare finish).
func (s *stream) appendDelta(b []byte, cand *candidate, st *candState, responseID string) []byte {
	if cand.Content == nil {
		return trimComma(b)
	}
	for _, thought := range [...]bool{true, false} {
		if thought && !s.thoughts {
			continue
		}
		text := false
		for _, p := range cand.Content.Parts {
			if p.Thought != thought || p.FunctionCall != nil || p.Text == "" {
				continue
			}
			if !text {
				if thought {
					b = append(b, `"reasoning_content":"`...)
				} else {
					b = append(b, `"content":"`...)
				}
				text = true
			}
			b = rawjson.AppendStringBody(b, p.Text)
		}
		if text {
			b = append(b, `",`...)
		}
	}
	calls := 0
	for _, p := range cand.Content.Parts {
		if p.FunctionCall == nil {
			continue
		}
		if calls == 0 {
			b = append(b, `"tool_calls":[`...)
		} else {
			b = append(b, ',')
		}
		tc := toolCallFromGemini(p, responseID, cand.Index, st.calls)
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(st.calls), 10)
		b = append(b, `,"id":`...)
		b = rawjson.AppendString(b, tc.ID)
		b = append(b, `,"type":"function","function":{"name":`...)
		b = rawjson.AppendString(b, tc.Function.Name)
		b = append(b, `,"arguments":`...)
		b = rawjson.AppendString(b, tc.Function.Arguments)
		b = append(b, '}')
		if tc.ExtraContent != nil {
			b = append(b, `,"extra_content":{"google":{"thought_signature":`...)
			b = rawjson.AppendString(b, tc.ExtraContent.Google.ThoughtSignature)
			b = append(b, "}}"...)
		}
		b = append(b, '}')
		st.calls++
		calls++
	}
	if calls > 0 {
		b = append(b, ']')
	}
	return trimComma(b)
}

func trimComma(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] == ',' {
		return b[:len(b)-1]
	}
	return b
}

// hasVisible reports whether a candidate's parts hold text (thoughts, when
// passed on) or calls.
func hasVisible(c *candidate, thoughts bool) bool {
	if c.Content == nil {
		return false
	}
	for _, p := range c.Content.Parts {
		if (thoughts || !p.Thought) && (p.Text != "" || p.FunctionCall != nil) {
			return true
		}
	}
	return false
}

func (s *stream) cand(i int) *candState {
	for len(s.cands) <= i {
		s.cands = append(s.cands, candState{})
	}
	return &s.cands[i]
}

func (s *stream) appendHead(b []byte) []byte {
	b = append(b, `{"id":`...)
	b = append(b, s.id...)
	b = append(b, `,"object":"chat.completion.chunk","created":`...)
	b = strconv.AppendInt(b, s.created, 10)
	b = append(b, `,"model":`...)
	b = append(b, s.model...)
	return append(b, `,"choices":[`...)
}

// usageChunk is the final chunk that carries only usage.
func (s *stream) usageChunk() llm.Chunk {
	if s.id == nil {
		s.id = rawjson.AppendString(nil, completionID(""))
	}
	b := s.appendHead(s.buf[:0])
	b = append(b, `],"usage":`...)
	u, _ := s.usage.MarshalJSON() // a struct of ints always marshals
	b = append(b, u...)
	s.buf = append(b, '}')
	return llm.Chunk{Data: s.buf, Usage: &s.usage, UsageOnly: true}
}

// readEvent returns the next event: data holds its data lines joined by
// newlines, or is nil for an event without data lines, whose other lines are
// in raw. Both are valid until the next call.
func (s *stream) readEvent() (data, raw []byte, err error) {
	s.event, s.raw = s.event[:0], s.raw[:0]
	hasData := false
	for {
		line, err := s.lines.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && (hasData || len(s.raw) > 0) {
				break // the last event, not followed by a blank line
			}
			return nil, nil, err
		}
		if len(line) == 0 {
			if hasData || len(s.raw) > 0 {
				break
			}
			continue
		}
		switch {
		case hasPrefix(line, "data:"):
			d := line[len("data:"):]
			if len(d) > 0 && d[0] == ' ' {
				d = d[1:]
			}
			if hasData {
				s.event = append(s.event, '\n')
			}
			s.event = append(s.event, d...)
			hasData = true
		case line[0] == ':' || hasPrefix(line, "event:") || hasPrefix(line, "id:") || hasPrefix(line, "retry:"):
			// comments and SSE fields Gemini's stream does not use
		default:
			s.raw = append(s.raw, line...)
			s.raw = append(s.raw, '\n')
		}
	}
	if hasData {
		return s.event, nil, nil
	}
	return nil, s.raw, nil
}

func hasPrefix(line []byte, p string) bool {
	return len(line) >= len(p) && string(line[:len(p)]) == p
}

// Close releases the upstream connection; it is safe to call twice.
func (s *stream) Close() error {
	s.done = true
	return s.body.Close()
}
