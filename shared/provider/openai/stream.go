package openai

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/llm-router/router/shared/provider/httpapi"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/scrub"
)

// Stream reads an OpenAI server-sent event stream. Other adapters whose
// upstream speaks OpenAI's stream format (Azure, compatible APIs) use it too.
type Stream struct {
	provider string
	key      string // the key sent, removed from error events
	body     io.ReadCloser
	lines    httpapi.Lines
	model    []byte // quoted model id
	buf      []byte // the current chunk, rewritten
	finished bool   // a finish_reason has been seen
	done     bool
	usage    llm.Usage
}

// NewStream reads chunks from body, rewriting each chunk's model to model.
// key is the provider key the request was sent with (httpapi.Client.SentKey),
// removed from the Detail of an error event that quotes it.
func NewStream(provider string, body io.ReadCloser, model, key string) *Stream {
	return &Stream{provider: provider, key: key, body: body, lines: httpapi.NewLines(body), model: quote(model)}
}

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
	nullValue  = []byte("null")
)

// Next returns the next chunk.
func (s *Stream) Next() (llm.Chunk, error) {
	if s.done {
		return llm.Chunk{}, io.EOF
	}
	for {
		line, err := s.lines.Next()
		if err != nil {
			s.done = true
			if errors.Is(err, io.EOF) && s.finished {
				return llm.Chunk{}, io.EOF // some compatible servers omit [DONE]
			}
			if errors.Is(err, io.EOF) {
				return llm.Chunk{}, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
					Code: "stream_truncated", Message: "the provider's stream ended before the answer was complete", Provider: s.provider}
			}
			return llm.Chunk{}, llm.Unavailable(s.provider, err)
		}
		if !bytes.HasPrefix(line, dataPrefix) {
			continue // blank separators, ": keep-alive" comments, event: names
		}
		payload := bytes.TrimLeft(line[len(dataPrefix):], " ")
		if bytes.Equal(payload, doneMarker) {
			s.done = true
			return llm.Chunk{}, io.EOF
		}
		return s.chunk(payload)
	}
}

// chunk rewrites one data payload and extracts its usage.
func (s *Stream) chunk(payload []byte) (llm.Chunk, error) {
	mStart, mEnd, uStart, uEnd := -1, -1, -1, -1
	hasError, noChoices := false, false
	m := rawjson.MembersOf(payload)
	for m.Next() {
		switch string(m.Key()) {
		case "model":
			mStart, mEnd = m.Start(), m.End()
		case "usage":
			uStart, uEnd = m.Start(), m.End()
		case "choices":
			noChoices = bytes.Equal(bytes.TrimSpace(m.Value()), []byte("[]"))
		case "error":
			hasError = !bytes.Equal(m.Value(), nullValue)
		}
	}
	if m.Err() != nil {
		s.done = true
		return llm.Chunk{}, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
			Code: "bad_upstream_response", Message: "the provider sent a malformed stream event", Provider: s.provider}
	}
	if hasError {
		s.done = true
		e := ParseError(http.StatusBadGateway, payload)
		e.Provider = s.provider
		e.Detail = scrub.Secrets(e.Detail, s.key)
		return llm.Chunk{}, e
	}
	if !s.finished {
		s.finished = hasFinishReason(payload)
	}
	c := llm.Chunk{Data: payload}
	if uStart >= 0 && !bytes.Equal(payload[uStart:uEnd], nullValue) {
		if s.usage.UnmarshalJSON(payload[uStart:uEnd]) == nil {
			c.Usage = &s.usage
			c.UsageOnly = noChoices
		}
	}
	if mStart >= 0 && !bytes.Equal(payload[mStart:mEnd], s.model) {
		s.buf = append(s.buf[:0], payload[:mStart]...)
		s.buf = append(s.buf, s.model...)
		s.buf = append(s.buf, payload[mEnd:]...)
		c.Data = s.buf
	}
	return c, nil
}

// Close releases the upstream connection.
func (s *Stream) Close() error {
	s.done = true
	return s.body.Close()
}

var finishKey = []byte(`"finish_reason"`)

// hasFinishReason reports whether a chunk sets a non-null finish_reason.
func hasFinishReason(payload []byte) bool {
	for {
		i := bytes.Index(payload, finishKey)
		if i < 0 {
			return false
		}
		payload = bytes.TrimLeft(payload[i+len(finishKey):], " \t")
		if len(payload) > 0 && payload[0] == ':' {
			rest := bytes.TrimLeft(payload[1:], " \t")
			if len(rest) > 0 && rest[0] == '"' {
				return true
			}
		}
	}
}
