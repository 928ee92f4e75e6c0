// Package anthropic is the adapter for Anthropic's Messages API. It translates
// OpenAI chat requests into Messages requests (system prompt hoisted, turns
// merged, tool calls and results as content blocks) and Messages answers and
// named-event streams back into OpenAI chat completions and chunks. The
// converters are named for their direction: toAnthropic… and toOpenAI….
package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/httpapi"
)

// DefaultBaseURL is Anthropic's API root; paths start with /v1.
const DefaultBaseURL = "https://api.anthropic.com"

// APIVersion is the anthropic-version header every request carries.
const APIVersion = "2023-06-01"

// userAgent names the router to the upstream.
const userAgent = "llm-router"

// Provider talks to one Anthropic Messages API endpoint.
type Provider struct {
	name     string
	messages string // URL of POST /v1/messages
	models   string // URL of GET /v1/models
	api      *httpapi.Client
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
	// Configured extras (e.g. anthropic-beta), then the API version; an empty
	// key is for a proxy in front of Anthropic that adds the key itself.
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	h.Set("anthropic-version", APIVersion)
	h.Set("User-Agent", userAgent)
	api := &httpapi.Client{Provider: p.Name, HTTP: client, Keys: d.Keys, KeyRef: p.Key, KeyHeader: "X-Api-Key", Header: h,
		ParseError: func(status int, _ http.Header, body []byte) *llm.Error { return ParseError(status, body) }}
	return &Provider{name: p.Name, messages: base + "/v1/messages", models: base + "/v1/models", api: api, now: time.Now}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends a non-streaming request.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, answerTool, err := p.request(req, false)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.messages, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := httpapi.ReadBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	out, usage, err := toOpenAIAnswer(data, req.Model, p.now().Unix(), answerTool)
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
	body, answerTool, err := p.request(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.messages, body, true)
	if err != nil {
		return nil, err
	}
	s := newStream(p.name, resp.Body, req.Model, p.now().Unix())
	s.answerTool = answerTool
	s.key = p.api.SentKey(resp)
	return s, nil
}

// Probe lists one model: it proves the endpoint answers and the key is
// accepted without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	return p.api.Get(ctx, p.models+"?limit=1")
}

// body is the JSON of the upstream request.
func (p *Provider) body(req *llm.Request, stream bool) ([]byte, error) {
	body, _, err := p.request(req, stream)
	return body, err
}

// request is the JSON of the upstream request and the name of the tool
// forced for structured output, if any.
func (p *Provider) request(req *llm.Request, stream bool) ([]byte, string, error) {
	mr, err := toAnthropicRequest(req, stream)
	if err != nil {
		if e := llm.AsError(err); e != nil {
			e.Provider = p.name
		}
		return nil, "", err
	}
	body, err := json.Marshal(mr)
	return body, mr.answerTool, err
}
