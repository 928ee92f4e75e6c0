// Package gemini is the adapter for Google's Gemini API
// (generativelanguage.googleapis.com, the native generateContent surface
// rather than Google's beta OpenAI-compatible one, so usage details, block
// reasons and thought signatures survive). It translates OpenAI chat requests
// into generateContent bodies and Gemini's answers, streamed or not, back into
// OpenAI chat.completion objects; it also serves embeddings and a cheap probe.
//
// Mapping decisions worth knowing:
//   - system and developer messages become systemInstruction; tool messages
//     become functionResponse parts, consecutive ones in one user content,
//     named by looking their tool_call_id up in the assistant tool calls.
//   - Images must be base64 data: URIs; remote URLs are refused with a 400.
//   - Gemini's functionCall.id is optional: when absent the adapter makes a
//     deterministic OpenAI id (call_gm + 16 hex digits) and never sends such
//     an id back to Gemini.
//   - Thought signatures go out on tool calls as
//     extra_content.google.thought_signature (as Google's own OpenAI endpoint
//     does) and are read back from there; a model turn whose first call has
//     none is sent with Gemini's documented skip sentinel.
//   - A blocked prompt (no candidates, promptFeedback.blockReason) is an
//     empty answer with finish_reason content_filter.
//   - Gemini needs no output limit, so only the client's own max tokens are
//     sent (Request.MaxTokens, the router's default, is not). Fields with no
//     Gemini equivalent (user, parallel_tool_calls, reasoning_effort) are
//     ignored rather than refused, as OpenAI-compatible servers do.
//   - A bad API key (400 with reason API_KEY_INVALID) is reported as a 401,
//     the router's credentials refused; see errorFromGoogle.
package gemini

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

// DefaultBaseURL is the Gemini API's root.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// apiVersion is the API version the adapter speaks when the base URL names none.
const apiVersion = "/v1beta"

// Provider talks to one Gemini API endpoint.
type Provider struct {
	name string
	root string // base URL with the API version, e.g. https://generativelanguage.googleapis.com/v1beta
	api  *httpapi.Client
	now  func() time.Time
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New builds the adapter for a gemini provider. base_url defaults to
// DefaultBaseURL; a base URL that ends in an API version (/v1beta, /v1) is
// used as it is, otherwise /v1beta is appended.
func New(p *config.Provider, d llm.Deps) (llm.Provider, error) {
	base := strings.TrimRight(p.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if !strings.HasSuffix(base, "/v1beta") && !strings.HasSuffix(base, "/v1") && !strings.HasSuffix(base, "/v1alpha") {
		base += apiVersion
	}
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	// The key goes in x-goog-api-key, never in the URL, where logs would keep it.
	api := &httpapi.Client{Provider: p.Name, HTTP: client, Keys: d.Keys, KeyRef: p.Key, KeyHeader: "X-Goog-Api-Key", Header: h,
		ParseError: func(status int, header http.Header, body []byte) *llm.Error {
			return errorFromGoogle(p.Name, status, header, body)
		}}
	return &Provider{name: p.Name, root: base, api: api, now: time.Now}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Base64Embeddings reports that encoding_format "base64" is answered as
// OpenAI answers it: the adapter encodes Gemini's floats itself.
func (p *Provider) Base64Embeddings() bool { return true }

// MultiChoice reports that the upstream answers n > 1 choices itself:
// Gemini takes n as candidateCount.
func (p *Provider) MultiChoice() bool { return true }

// Chat sends a generateContent request and translates the answer.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.requestBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.modelURL(req.Upstream, ":generateContent"), body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := httpapi.ReadBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	var g generateContentResponse
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, p.own(badResponse("the provider's answer was not a generateContent response"))
	}
	if g.Error != nil {
		return nil, p.api.Own(resp, errorFromGoogle(p.name, 0, resp.Header, data))
	}
	out, e := chatFromGemini(&g, req.Model, p.now().Unix())
	if e != nil {
		return nil, p.own(e)
	}
	if !wantsThoughts(req) {
		for i := range out.Choices {
			out.Choices[i].Message.ReasoningContent = ""
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, p.own(badResponse("the provider's answer could not be re-encoded"))
	}
	return &llm.Response{Body: b, Usage: out.Usage}, nil
}

// Stream sends a streamGenerateContent request; it returns once Gemini has
// accepted it.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.requestBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.modelURL(req.Upstream, ":streamGenerateContent?alt=sse"), body, true)
	if err != nil {
		return nil, err
	}
	s := newStream(p.name, resp.Body, req.Model, p.now().Unix())
	s.key = p.api.SentKey(resp)
	s.thoughts = wantsThoughts(req)
	return s, nil
}

// wantsThoughts reports whether the request asked for thought summaries
// (includeThoughts): only then are thought parts passed on, as reasoning.
func wantsThoughts(req *llm.Request) bool { return req.Chat != nil && req.Chat.WantsReasoning() }

// Probe lists one model: it proves the endpoint answers and accepts the key
// without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	return p.api.Get(ctx, p.root+"/models?pageSize=1")
}

// requestBody is the generateContent body of req.
func (p *Provider) requestBody(req *llm.Request) ([]byte, error) {
	chat := req.Chat
	if chat == nil {
		c, err := llm.ParseChat(req.Body)
		if err != nil {
			return nil, err
		}
		chat = c
	}
	g, err := generateRequestFromChat(chat, req.Body, req.Upstream)
	if err != nil {
		if e := llm.AsError(err); e != nil {
			return nil, p.own(e)
		}
		return nil, err
	}
	body, err := json.Marshal(g)
	if err != nil {
		return nil, p.own(llm.InvalidRequest("", llm.CodeInvalidJSON, "the request could not be encoded for Gemini"))
	}
	return body, nil
}

// own names this provider on an error built without it.
func (p *Provider) own(e *llm.Error) *llm.Error {
	e.Provider = p.name
	return e
}

// modelURL is the URL of a model method. Upstream names may be written bare
// (gemini-2.5-flash) or as resource names (models/..., tunedModels/...).
func (p *Provider) modelURL(upstream, method string) string {
	return p.root + "/" + modelName(upstream) + method
}

// modelName is the resource name of a model.
func modelName(upstream string) string {
	if strings.HasPrefix(upstream, "models/") || strings.HasPrefix(upstream, "tunedModels/") {
		return upstream
	}
	return "models/" + upstream
}
