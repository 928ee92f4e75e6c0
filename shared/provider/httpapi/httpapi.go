// Package httpapi is the HTTP plumbing every JSON-over-HTTP adapter shares:
// resolving and sending the key, fixed headers, turning a non-200 answer into
// an *llm.Error with the provider's name and retry delay and without the key
// that was sent, and bounded reads.
// Each adapter only says how its provider differs: the key's header and the
// shape of its error bodies.
package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/scrub"
)

// Bounds on what is read from an upstream.
const (
	// MaxErrorBody bounds an error answer.
	MaxErrorBody = 64 << 10
	// MaxBody bounds a whole answer (a non-streamed completion, embeddings).
	MaxBody = 32 << 20
)

// Client calls one provider's HTTP API.
type Client struct {
	// Provider is the provider's configured name, set on every error.
	Provider string
	HTTP     *http.Client
	Keys     llm.KeyResolver
	// KeyRef is the key reference; empty sends no key (Ollama, a proxy that
	// adds the key itself).
	KeyRef string
	// KeyHeader is where the key goes: "Authorization" sends "Bearer <key>",
	// any other header (X-Api-Key, X-Goog-Api-Key, Api-Key) the bare key.
	// Written in canonical form, it costs no request a conversion.
	KeyHeader string
	// Header is sent with every request (API versions, configured headers).
	Header http.Header
	// ParseError turns a non-200 answer into an error; Client fills in the
	// provider's name and, when the parser found none, the retry delay, and
	// removes the key it sent from the error's Detail.
	ParseError func(status int, header http.Header, body []byte) *llm.Error
}

// Post sends body as JSON and returns a 200 answer; the caller closes its
// body. Any other status is returned as an *llm.Error, a transport failure as
// llm.Unavailable.
func (c *Client) Post(ctx context.Context, url string, body []byte, stream bool) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	if stream {
		r.Header.Set("Accept", "text/event-stream")
	} else {
		r.Header.Set("Accept", "application/json")
	}
	return c.do(ctx, r)
}

// Get sends a GET (a health probe) and reads the answer to the end; any status
// but 200 is an error.
func (c *Client) Get(ctx context.Context, url string) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	Drain(resp)
	return nil
}

func (c *Client) do(ctx context.Context, r *http.Request) (*http.Response, error) {
	for k, v := range c.Header {
		r.Header[k] = v
	}
	var key string
	if c.KeyRef != "" {
		var err error
		key, err = c.Keys.Resolve(ctx, c.KeyRef)
		if err != nil {
			return nil, &llm.Error{Kind: llm.KindAuth, Status: http.StatusBadGateway, Type: "api_error",
				Code: "provider_key_unavailable", Message: "the router could not load this provider's key", Provider: c.Provider, Err: err}
		}
		if c.KeyHeader == "Authorization" {
			r.Header.Set("Authorization", "Bearer "+key)
		} else {
			r.Header.Set(c.KeyHeader, key)
		}
	}
	resp, err := c.HTTP.Do(r)
	if err != nil {
		return nil, llm.Unavailable(c.Provider, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, c.errorFrom(resp, key)
	}
	return resp, nil
}

func (c *Client) errorFrom(resp *http.Response, key string) *llm.Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	e := c.ParseError(resp.StatusCode, resp.Header, data)
	e.Provider = c.Provider
	e.Detail = scrub.Secrets(e.Detail, key)
	if e.RetryAfter == 0 {
		e.RetryAfter = RetryAfter(resp.Header)
	}
	return e
}

// SentKey is the provider key sent with the request resp answers ("" when
// none was), for removing it from an error read later from resp's body: an
// error event in a stream, or an error inside a 200 answer.
func (c *Client) SentKey(resp *http.Response) string {
	if c.KeyRef == "" || resp == nil || resp.Request == nil {
		return ""
	}
	v := resp.Request.Header.Get(c.KeyHeader)
	if c.KeyHeader == "Authorization" {
		v = strings.TrimPrefix(v, "Bearer ")
	}
	return v
}

// Own names the provider on e, an error read from resp's body after Post
// returned, and removes the key sent with it from e's Detail.
func (c *Client) Own(resp *http.Response, e *llm.Error) *llm.Error {
	e.Provider = c.Provider
	e.Detail = scrub.Secrets(e.Detail, c.SentKey(resp))
	return e
}

// RetryAfter reads how long an upstream asks to wait: retry-after-ms (OpenAI,
// Azure; more precise) first, then Retry-After in seconds.
func RetryAfter(h http.Header) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms > 0 && ms < 86400e3 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	return llm.ParseRetryAfter(h.Get("Retry-After"))
}

// ReadBody reads a whole answer, at most MaxBody bytes, in one allocation
// when the length is known.
func ReadBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= MaxBody {
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, MaxBody))
}

// Drain reads what is left of an answer (so the connection is reused) and
// closes it.
func Drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	_ = resp.Body.Close()
}
