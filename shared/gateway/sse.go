package gateway

import (
	"net/http"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

var (
	sseContentType = []string{"text/event-stream"}
	noCache        = []string{"no-cache"}
	noBuffering    = []string{"no"}
	doneEvent      = []byte("data: [DONE]\n\n")
)

// sseSink writes a committed stream as OpenAI chat.completion.chunk events,
// flushing every event. The usage-only chunk, which the router asks every
// upstream for to meter the request, reaches only clients that asked for it
// themselves. A stream that asked for JSON is checked as a whole at its end:
// the client already has the text, so a failure ends it with an error event
// in place of [DONE].
type sseSink struct {
	c         *call
	flusher   http.Flusher
	wantUsage bool
	check     *streamCheck
	buf       []byte
	provider  string // the committed target's
}

func newSSESink(c *call) *sseSink {
	s := &sseSink{c: c, wantUsage: c.chat.WantsUsage()}
	s.flusher, _ = c.w.(http.Flusher)
	if c.shape != nil {
		s.check = newStreamCheck(c.shape)
	}
	return s
}

// Commit writes the headers: the answer is t's.
func (s *sseSink) Commit(t *route.Target, attempts int) error {
	h := s.c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = noBuffering
	s.provider = t.Provider.Name
	s.c.servedBy(t, attempts)
	s.c.w.WriteHeader(http.StatusOK)
	return nil
}

// Chunk writes one chunk as a data event.
func (s *sseSink) Chunk(ch llm.Chunk) error {
	if s.check != nil && !ch.UsageOnly {
		s.check.add(ch.Data)
	}
	if ch.UsageOnly && !s.wantUsage {
		return nil
	}
	return s.event(ch.Data)
}

func (s *sseSink) event(data []byte) error {
	s.buf = append(s.buf[:0], "data: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, '\n', '\n')
	return s.write(s.buf)
}

func (s *sseSink) write(b []byte) error {
	if _, err := s.c.w.Write(b); err != nil {
		return err
	}
	if s.flusher != nil {
		s.flusher.Flush()
	}
	return nil
}

// Close ends a complete stream with [DONE], unless its JSON failed the check.
func (s *sseSink) Close(*llm.Usage) *llm.Error {
	if s.check != nil {
		if p := s.check.verify(); p != nil {
			s.c.rec.Structured = audit.StructuredInvalid
			e := (&invalidOutput{problems: p, final: true}).clientError(s.provider)
			s.Fail(e)
			return e
		}
		s.c.rec.Structured = audit.StructuredValid
	}
	_ = s.write(doneEvent)
	return nil
}

// Fail ends the stream with an OpenAI error event; [DONE] is not sent.
func (s *sseSink) Fail(e *llm.Error) {
	_ = s.event(appendError(nil, e))
}
