package providertest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
)

// Tee is an http.RoundTripper that keeps a copy of every response body as
// its client reads it: give it to an SDK's client to see the raw stream the
// SDK parsed.
type Tee struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// RoundTrip sends r with the default transport and copies the body read.
func (t *Tee) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if resp != nil {
		resp.Body = teeBody{ReadCloser: resp.Body, t: t}
	}
	return resp, err
}

// String is everything read so far.
func (t *Tee) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

type teeBody struct {
	io.ReadCloser
	t *Tee
}

func (b teeBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.mu.Lock()
	b.t.buf.Write(p[:n])
	b.t.mu.Unlock()
	return n, err
}

// SSE is what an OpenAI chat completion stream, as raw text, says of itself.
type SSE struct {
	// Roles counts chunks that name the assistant role: a clean stream has one.
	Roles int
	// Done: the stream ended with data: [DONE].
	Done bool
	// ErrorCode is the code of an error event, if the stream had one.
	ErrorCode string
	HasError  bool
}

// ReadSSE reads raw, the body of an OpenAI chat completion stream.
func ReadSSE(raw string) SSE {
	var s SSE
	s.Done = strings.HasSuffix(raw, "data: [DONE]\n\n")
	for _, event := range strings.Split(raw, "\n\n") {
		data, ok := strings.CutPrefix(strings.TrimSpace(event), "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var c struct {
			Error *struct {
				Code string `json:"code"`
			} `json:"error"`
			Choices []struct {
				Delta struct {
					Role string `json:"role"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &c) != nil {
			continue
		}
		if c.Error != nil {
			s.HasError, s.ErrorCode = true, c.Error.Code
		}
		for _, ch := range c.Choices {
			if ch.Delta.Role == "assistant" {
				s.Roles++
			}
		}
	}
	return s
}
