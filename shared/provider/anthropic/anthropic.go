// Package anthropic is the adapter for Anthropic's Messages API. It translates
// OpenAI chat requests into Messages requests (system prompt hoisted, turns
// merged, tool calls and results as content blocks) and Messages answers and
// named-event streams back into OpenAI chat completions and chunks. The
// converters are named for their direction: toAnthropic… and toOpenAI….
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// DefaultBaseURL is Anthropic's API root; paths start with /v1.
const DefaultBaseURL = "https://api.anthropic.com"

// APIVersion is the anthropic-version header every request carries.
const APIVersion = "2023-06-01"

// userAgent names the router to the upstream.
const userAgent = "llm-router"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// maxBody bounds a whole (non-streamed) answer.
const maxBody = 32 << 20

// Provider talks to one Anthropic Messages API endpoint.
type Provider struct {
	name     string
	messages string // URL of POST /v1/messages
	models   string // URL of GET /v1/models
	keyRef   string
	keys     llm.KeyResolver
	client   *http.Client
	header   http.Header // extra headers from configuration, e.g. anthropic-beta
	now      func() time.Time
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
)

// New builds the adapter for an anthropic provider. A base_url ending in /v1
// is accepted as well as the bare root the Anthropic SDKs use.
func New(p *config.Provider, d llm.Deps) (llm.Provider, error) {
	base := strings.TrimRight(p.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimSuffix(base, "/v1")
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	return &Provider{name: p.Name, messages: base + "/v1/messages", models: base + "/v1/models",
		keyRef: p.Key, keys: d.Keys, client: client, header: h, now: time.Now}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends a non-streaming request.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.body(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	out, usage, err := toOpenAIResponse(data, req.Model, p.now().Unix())
	if err != nil {
		if e := llm.AsError(err); e != nil {
			e.Provider = p.name
		}
		return nil, err
	}
	return &llm.Response{Body: out, Usage: usage}, nil
}

// Stream sends a streaming request; it returns once the upstream accepted it.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.body(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.do(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return newStream(p.name, resp.Body, req.Model, p.now().Unix()), nil
}

// Probe lists one model: it proves the endpoint answers and the key is
// accepted without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, p.models+"?limit=1", nil)
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

// body is the JSON of the upstream request.
func (p *Provider) body(req *llm.Request, stream bool) ([]byte, error) {
	mr, err := toAnthropicRequest(req, stream)
	if err != nil {
		if e := llm.AsError(err); e != nil {
			e.Provider = p.name
		}
		return nil, err
	}
	return json.Marshal(mr)
}

// authorize sets the headers every Anthropic call carries: configured extras,
// the API version and the key (resolved per call; the resolver caches).
func (p *Provider) authorize(ctx context.Context, r *http.Request) error {
	for k, v := range p.header {
		r.Header[k] = v
	}
	r.Header.Set("anthropic-version", APIVersion)
	r.Header.Set("User-Agent", userAgent)
	if p.keyRef == "" {
		return nil // a proxy in front of Anthropic that adds the key itself
	}
	key, err := p.keys.Resolve(ctx, p.keyRef)
	if err != nil {
		return &llm.Error{Kind: llm.KindAuth, Status: http.StatusBadGateway, Type: "api_error",
			Code: "provider_key_unavailable", Message: "the router could not load this provider's key", Provider: p.name, Err: err}
	}
	r.Header.Set("x-api-key", key)
	return nil
}

// do posts body to /v1/messages and returns a 200 answer; any other status
// becomes an *llm.Error.
func (p *Provider) do(ctx context.Context, body []byte, stream bool) (*http.Response, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, p.messages, bytes.NewReader(body))
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

func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxBody))
}
