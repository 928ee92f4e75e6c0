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

// DefaultBaseURL is the Gemini API's root.
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// apiVersion is the API version the adapter speaks when the base URL names none.
const apiVersion = "/v1beta"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// maxBody bounds a whole answer (a completion or a batch of embeddings).
const maxBody = 32 << 20

// Provider talks to one Gemini API endpoint.
type Provider struct {
	name   string
	root   string // base URL with the API version, e.g. https://generativelanguage.googleapis.com/v1beta
	keyRef string
	keys   llm.KeyResolver
	client *http.Client
	header http.Header // extra headers from configuration
	now    func() time.Time
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
	return &Provider{name: p.Name, root: base, keyRef: p.Key, keys: d.Keys, client: client, header: h, now: time.Now}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Chat sends a generateContent request and translates the answer.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.requestBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.post(ctx, p.modelURL(req.Upstream, ":generateContent"), body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := readBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	var g generateContentResponse
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, p.own(badResponse("the provider's answer was not a generateContent response"))
	}
	if g.Error != nil {
		return nil, errorFromGoogle(p.name, 0, resp.Header, data)
	}
	out, e := chatFromGemini(&g, req.Model, p.now().Unix())
	if e != nil {
		return nil, p.own(e)
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
	resp, err := p.post(ctx, p.modelURL(req.Upstream, ":streamGenerateContent?alt=sse"), body, true)
	if err != nil {
		return nil, err
	}
	return newStream(p.name, resp.Body, req.Model, p.now().Unix()), nil
}

// Probe lists one model: it proves the endpoint answers and accepts the key
// without spending tokens.
func (p *Provider) Probe(ctx context.Context, _ string) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, p.root+"/models?pageSize=1", nil)
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
	g, err := generateRequestFromChat(chat, req.Body)
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

// authorize adds the configured headers and the key. The key goes in the
// x-goog-api-key header, never in the URL, where proxies and logs keep it.
func (p *Provider) authorize(ctx context.Context, r *http.Request) error {
	for k, v := range p.header {
		r.Header[k] = v
	}
	if p.keyRef == "" {
		return nil
	}
	key, err := p.keys.Resolve(ctx, p.keyRef)
	if err != nil {
		return &llm.Error{Kind: llm.KindAuth, Status: http.StatusBadGateway, Type: "api_error",
			Code: "provider_key_unavailable", Message: "the router could not load this provider's key", Provider: p.name, Err: err}
	}
	r.Header.Set("x-goog-api-key", key)
	return nil
}

// post sends body and returns a 200 answer; any other status becomes an
// *llm.Error.
func (p *Provider) post(ctx context.Context, url string, body []byte, stream bool) (*http.Response, error) {
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
	return errorFromGoogle(p.name, resp.StatusCode, resp.Header, data)
}

func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxBody {
		buf := make([]byte, n)
		_, err := io.ReadFull(resp.Body, buf)
		return buf, err
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxBody))
}
