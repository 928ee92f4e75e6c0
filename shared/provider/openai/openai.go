// Package openai is the adapter for OpenAI and every OpenAI-compatible API.
// It relays the client's body with only "model" (and, for streams,
// stream_options.include_usage) rewritten, so fields the router does not
// interpret pass through untouched, and it reads usage without decoding the
// rest of the answer. A provider's dialect (DeepSeek, Mistral, Groq, …) adds
// the edits that API needs (dialect.go); plain OpenAI and the compatible APIs
// that accept its body as it is take the relay path unchanged.
package openai

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// maxErrorBody bounds how much of an upstream error answer is read.
const maxErrorBody = 64 << 10

// maxBody bounds a whole answer (a non-streamed completion).
const maxBody = 32 << 20

// Provider talks to one OpenAI-compatible endpoint.
type Provider struct {
	name     string
	chatURL  string
	embedURL string
	modelURL string
	keyRef   string
	keys     llm.KeyResolver
	client   *http.Client
	header   http.Header // extra headers from configuration
	dialect  *dialect
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New builds the adapter for an openai provider.
func New(p *config.Provider, d llm.Deps) (llm.Provider, error) {
	base := strings.TrimRight(p.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	name := p.Dialect
	if name == "" {
		name = DetectDialect(base)
	}
	return &Provider{name: p.Name, chatURL: base + "/chat/completions", embedURL: base + "/embeddings", modelURL: base + "/models",
		keyRef: p.Key, keys: d.Keys, client: client, header: h, dialect: newDialect(name)}, nil
}

// Dialect is the OpenAI-compatible API this provider talks to: the
// configured one, else the one its base URL names.
func (p *Provider) Dialect() string { return p.dialect.name }

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends a non-streaming completion.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.dialect.body(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, p.chatURL, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	out, usage, upErr := RelayAnswer(data, req.Model)
	if upErr != nil {
		upErr.Provider = p.name
		return nil, upErr
	}
	return &llm.Response{Body: out, Usage: usage}, nil
}

// Stream sends a streaming completion; it returns once the upstream accepted it.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.dialect.body(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, p.chatURL, body, true)
	if err != nil {
		return nil, err
	}
	st := NewStream(p.name, resp.Body, req.Model)
	if p.dialect.xGroqUsage {
		return &groqStream{Stream: st}, nil
	}
	return st, nil
}

// Embed relays an embeddings request with the upstream model name.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	body, err := rawjson.Set(req.Body, "model", quote(req.Upstream))
	if err != nil {
		return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a JSON object")
	}
	resp, err := p.do(ctx, p.embedURL, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	out, usage, upErr := RelayAnswer(data, req.Model)
	if upErr != nil {
		upErr.Provider = p.name
		return nil, upErr
	}
	return &llm.Response{Body: out, Usage: usage}, nil
}

// Probe lists models: it proves the endpoint answers and the key is accepted
// without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, p.modelURL, nil)
	if err != nil {
		return err
	}
	if err := p.authorize(ctx, r); err != nil {
		return err
	}
	resp, err := p.client.Do(r)
	if err != nil {
		return llm.Unavailable(p.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return p.errorFrom(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

func (p *Provider) authorize(ctx context.Context, r *http.Request) error {
	for k, v := range p.header {
		r.Header[k] = v
	}
	if p.keyRef == "" {
		return nil // Ollama, vLLM without --api-key
	}
	key, err := p.keys.Resolve(ctx, p.keyRef)
	if err != nil {
		return &llm.Error{Kind: llm.KindAuth, Status: http.StatusBadGateway, Type: "api_error",
			Code: "provider_key_unavailable", Message: "the router could not load this provider's key", Provider: p.name, Err: err}
	}
	r.Header.Set("Authorization", "Bearer "+key)
	return nil
}

// do posts body and returns a 200 answer; any other status becomes an *llm.Error.
func (p *Provider) do(ctx context.Context, url string, body []byte, stream bool) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if err := p.authorize(ctx, r); err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", "application/json")
	if stream {
		r.Header.Set("Accept", "text/event-stream")
	} else {
		r.Header.Set("Accept", "application/json")
	}
	resp, err := p.client.Do(r)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, p.errorFrom(resp)
	}
	return resp, nil
}

func (p *Provider) errorFrom(resp *http.Response) *llm.Error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := ParseError(resp.StatusCode, data)
	e.Provider = p.name
	e.RetryAfter = llm.ParseRetryAfter(resp.Header.Get("Retry-After"))
	return e
}

// upstreamBody is the client's body with the upstream model name and, for a
// stream, include_usage turned on so the router can meter it.
func upstreamBody(req *llm.Request, stream bool) ([]byte, error) {
	body := req.Body
	var err error
	if req.Chat == nil || req.Chat.Model != req.Upstream {
		body, err = rawjson.Set(body, "model", quote(req.Upstream))
		if err != nil {
			return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a JSON object")
		}
	}
	if stream && (req.Chat == nil || !req.Chat.WantsUsage()) {
		opts := []byte(`{"include_usage":true}`)
		if cur, ok := rawjson.Find(body, "stream_options"); ok && len(cur) > 0 && cur[0] == '{' {
			if opts, err = rawjson.Set(cur, "include_usage", []byte("true")); err != nil {
				opts = []byte(`{"include_usage":true}`)
			}
		}
		if body, err = rawjson.Set(body, "stream_options", opts); err != nil {
			return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a JSON object")
		}
	}
	return body, nil
}

// quote writes a model name as a JSON string. Model names are validated to a
// charset (letters, digits, . _ : / @ + -) that needs no escaping.
func quote(s string) []byte {
	return strconv.AppendQuote(make([]byte, 0, len(s)+2), s)
}

func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxBody))
}

// RelayAnswer reads usage from an OpenAI-shaped answer (chat.completion or
// an embeddings list) and rewrites its model to the one the client sees;
// other members pass through as the upstream wrote them. A 200 answer that
// carries an error object (OpenRouter does this once generation has started)
// is returned as an error. Azure's adapter uses it too.
func RelayAnswer(data []byte, model string) ([]byte, llm.Usage, *llm.Error) {
	var usage llm.Usage
	mStart, mEnd := -1, -1
	uStart, uEnd := -1, -1
	hasError := false
	m := rawjson.MembersOf(data)
	for m.Next() {
		switch string(m.Key()) {
		case "model":
			mStart, mEnd = m.Start(), m.End()
		case "usage":
			uStart, uEnd = m.Start(), m.End()
		case "error":
			hasError = !bytes.Equal(m.Value(), nullValue)
		}
	}
	if m.Err() != nil {
		return nil, usage, llm.UpstreamError("", http.StatusBadGateway, "api_error", "bad_upstream_response",
			"the provider's answer was not a JSON object")
	}
	if hasError {
		return nil, usage, ParseError(http.StatusBadGateway, data)
	}
	if uStart >= 0 {
		_ = usage.UnmarshalJSON(data[uStart:uEnd])
	}
	q := quote(model)
	if mStart < 0 {
		out, _ := rawjson.Set(data, "model", q)
		return out, usage, nil
	}
	if bytes.Equal(data[mStart:mEnd], q) {
		return data, usage, nil
	}
	out := make([]byte, 0, len(data)-(mEnd-mStart)+len(q))
	out = append(out, data[:mStart]...)
	out = append(out, q...)
	return append(out, data[mEnd:]...), usage, nil
}
