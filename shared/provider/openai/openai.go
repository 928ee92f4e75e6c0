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
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/httpapi"
	"github.com/llm-router/router/shared/rawjson"
)

// DefaultBaseURL is OpenAI's API root.
const DefaultBaseURL = "https://api.openai.com/v1"

// Provider talks to one OpenAI-compatible endpoint.
type Provider struct {
	name     string
	chatURL  string
	embedURL string
	modelURL string
	api      *httpapi.Client
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
	// Ollama and vLLM without --api-key take no key: KeyRef stays empty.
	api := &httpapi.Client{Provider: p.Name, HTTP: client, Keys: d.Keys, KeyRef: p.Key, KeyHeader: "Authorization",
		Header: h, ParseError: func(status int, _ http.Header, body []byte) *llm.Error { return ParseError(status, body) }}
	return &Provider{name: p.Name, chatURL: base + "/chat/completions", embedURL: base + "/embeddings", modelURL: base + "/models",
		api: api, dialect: newDialect(name)}, nil
}

// Dialect is the OpenAI-compatible API this provider talks to: the
// configured one, else the one its base URL names.
func (p *Provider) Dialect() string { return p.dialect.name }

// Base64Embeddings reports whether the upstream answers encoding_format
// "base64" itself: OpenAI does; for the compatible APIs, which may ignore it
// and answer floats, the router asks for floats and encodes them.
func (p *Provider) Base64Embeddings() bool { return p.dialect.name == "openai" }

// MultiChoice reports whether the upstream answers n > 1 choices itself:
// OpenAI and most compatible APIs do; the dialects that return one choice
// per request (Groq) do not.
func (p *Provider) MultiChoice() bool { return !p.dialect.oneChoice }

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends a non-streaming completion.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.dialect.body(req, false)
	if err != nil {
		return nil, err
	}
	return Relay(ctx, p.api, p.chatURL, body, req.Model)
}

// Stream sends a streaming completion; it returns once the upstream accepted it.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.dialect.body(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.chatURL, body, true)
	if err != nil {
		return nil, err
	}
	st := NewStream(p.name, resp.Body, req.Model, p.api.SentKey(resp))
	if p.dialect.xGroqUsage {
		return &groqStream{Stream: st}, nil
	}
	return st, nil
}

// Embed relays an embeddings request with the upstream model name.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	body, err := WithModel(req.Body, req.Upstream)
	if err != nil {
		return nil, err
	}
	return Relay(ctx, p.api, p.embedURL, body, req.Model)
}

// Relay posts a one-piece request (a chat completion, embeddings) through
// api and relays the OpenAI-shaped answer with the client's model name. Azure
// uses it too.
func Relay(ctx context.Context, api *httpapi.Client, url string, body []byte, model string) (*llm.Response, error) {
	resp, err := api.Post(ctx, url, body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := httpapi.ReadBody(resp)
	if err != nil {
		return nil, llm.Unavailable(api.Provider, err)
	}
	out, usage, upErr := RelayAnswer(data, model)
	if upErr != nil {
		return nil, api.Own(resp, upErr)
	}
	return &llm.Response{Body: out, Usage: usage}, nil
}

// Probe lists models: it proves the endpoint answers and the key is accepted
// without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	return p.api.Get(ctx, p.modelURL)
}

// RequestBody is the client's body with the upstream model name and, when
// askUsage is set (a stream), stream_options.include_usage turned on so the
// router can meter the stream. Other members pass through as the client wrote
// them. Azure uses it too.
func RequestBody(req *llm.Request, askUsage bool) ([]byte, error) {
	body := req.Body
	var err error
	if req.Chat == nil || req.Chat.Model != req.Upstream {
		if body, err = WithModel(body, req.Upstream); err != nil {
			return nil, err
		}
	}
	if askUsage && (req.Chat == nil || !req.Chat.WantsUsage()) {
		cur, _ := rawjson.Find(body, "stream_options")
		if body, err = rawjson.Set(body, "stream_options", withUsage(cur)); err != nil {
			return nil, notObject()
		}
	}
	return body, nil
}

// AzureBody is RequestBody finished as OpenAI's own API takes the router's
// vocabulary (extensions removed, the route's prompt_cache_key sent,
// reasoning_effort kept from the models that refuse it, named as Azure's
// deployments usually are).
func AzureBody(req *llm.Request, askUsage bool) ([]byte, error) {
	body, err := RequestBody(req, askUsage)
	if err != nil {
		return nil, err
	}
	return azureRules.finish(body, req)
}

var azureRules = newDialect(DialectOpenAI)

// WithModel is body with its model set to model.
func WithModel(body []byte, model string) ([]byte, error) {
	out, err := rawjson.Set(body, "model", quote(model))
	if err != nil {
		return nil, notObject()
	}
	return out, nil
}

func notObject() *llm.Error {
	return llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a JSON object")
}

// quote writes a model name as a JSON string. Model names are validated to a
// charset (letters, digits, . _ : / @ + -) that needs no escaping.
func quote(s string) []byte {
	return strconv.AppendQuote(make([]byte, 0, len(s)+2), s)
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
		return nil, usage, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
			Code: "bad_upstream_response", Message: "the provider's answer was not a JSON object"}
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
