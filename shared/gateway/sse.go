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

// sseSink writes a committed stream as server-sent events in its surface's
// shape, flushing each chunk's events. A stream that asked for JSON is
// checked as a whole at its end: the client already has the text, so a
// failure ends it with an error event in place of the normal ending.
type sseSink struct {
	c        *call
	w        streamWriter
	flusher  http.Flusher
	check    *streamCheck
	buf      []byte
	provider string // the committed target's
}

func newSSESink(c *call, w streamWriter) *sseSink {
	s := &sseSink{c: c, w: w}
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

// Chunk writes one chunk's events. A chunk the surface cannot render fails
// the stream as the provider's error (an *llm.Error); a failed write means
// the client is gone.
func (s *sseSink) Chunk(ch llm.Chunk) error {
	if s.check != nil && !ch.UsageOnly {
		s.check.add(ch.Data)
	}
	out, err := s.w.chunk(s.buf[:0], ch)
	if err != nil {
		return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
			Code: "invalid_upstream_answer", Provider: s.provider, Message: "a chunk of the provider's stream could not be translated"}
	}
	s.buf = out
	if len(out) == 0 {
		return nil
	}
	return s.write(out)
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

// Close ends a complete stream, unless its JSON failed the check.
func (s *sseSink) Close(u *llm.Usage) *llm.Error {
	if s.check != nil {
		if p := s.check.verify(); p != nil {
			s.c.rec.Structured = audit.StructuredInvalid
			e := invalidOutput(s.provider, p, false)
			s.Fail(e)
			return e
		}
		s.c.rec.Structured = audit.StructuredValid
	}
	s.buf = s.w.finish(s.buf[:0], u)
	_ = s.write(s.buf)
	return nil
}

// Fail ends the stream with the surface's error events.
func (s *sseSink) Fail(e *llm.Error) {
	s.buf = s.w.fail(s.buf[:0], e)
	_ = s.write(s.buf)
}
