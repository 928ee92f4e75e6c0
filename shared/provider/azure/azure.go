// Package azure is the adapter for Azure OpenAI. Azure speaks OpenAI's chat
// body and stream format, so the client's body is relayed with only "model"
// (set to the deployment) and, for streams, stream_options.include_usage
// rewritten, and answers are relayed with only their model rewritten. What
// differs from OpenAI is the URL (the deployment in the path and an
// api-version query, or the newer v1 surface), the api-key header, Azure's
// content-filter fields, and the prompt_filter_results chunk Azure streams
// before any choice, which the adapter drops.
package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/provider/httpapi"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai"
	"github.com/llm-router/router/shared/rawjson"
)

// DefaultAPIVersion is the api-version used when the provider sets none: the
// latest generally available dated version of the data-plane inference API.
// It accepts stream_options and max_completion_tokens. Set api_version: v1
// for Azure's v1 surface, which takes no api-version at all.
const DefaultAPIVersion = "2024-10-21"

// streamUsageSince is the first api-version that accepts
// stream_options.include_usage; older versions answer 400 "Unrecognized
// request argument supplied: stream_options", so with them the router does not
// ask for stream usage (such streams are audited with usage missing).
const streamUsageSince = "2024-09-01"

// versionPattern is a dated api-version: 2024-10-21 or 2025-04-01-preview.
var versionPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

// Provider talks to one Azure OpenAI resource.
type Provider struct {
	name    string
	base    string // the resource's root, https://RESOURCE.openai.azure.com
	version string // "v1" for the v1 surface
	modern  bool   // the api-version accepts stream_options and max_completion_tokens
	probe   string
	api     *httpapi.Client
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New builds the adapter for an azure provider: BaseURL is the resource
// endpoint (https://RESOURCE.openai.azure.com; a trailing /openai or
// /openai/v1 is accepted), Key a reference to the resource's API key, and
// each model's upstream the deployment name.
func New(p *config.Provider, d llm.Deps) (llm.Provider, error) {
	base := strings.TrimRight(p.BaseURL, "/")
	base = strings.TrimSuffix(base, "/openai/v1")
	base = strings.TrimSuffix(base, "/openai")
	if base == "" {
		return nil, errors.New("base_url is required for azure (https://RESOURCE.openai.azure.com)")
	}
	if p.Key == "" {
		return nil, errors.New("key is required for azure: a reference to the resource's API key (env:NAME or secret:ID#field)")
	}
	version := p.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if version != "v1" && !versionPattern.MatchString(version) {
		return nil, fmt.Errorf("api_version %q must be v1 or a date such as %s or 2025-04-01-preview", version, DefaultAPIVersion)
	}
	client := d.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	h := http.Header{}
	for k, v := range p.Headers {
		h.Set(k, v)
	}
	// Azure's API keys go in api-key; Authorization is for Entra ID tokens.
	// Its error bodies are OpenAI's shape with Azure's codes (content_filter,
	// DeploymentNotFound, "429"), and it says when to retry in retry-after-ms.
	api := &httpapi.Client{Provider: p.Name, HTTP: client, Keys: d.Keys, KeyRef: p.Key, KeyHeader: "Api-Key", Header: h,
		ParseError: func(status int, _ http.Header, body []byte) *llm.Error { return openai.ParseError(status, body) }}
	return &Provider{name: p.Name, base: base, version: version,
		modern: version == "v1" || version[:10] >= streamUsageSince, probe: p.Probe, api: api}, nil
}

// Name is the provider's configured name.
func (p *Provider) Name() string { return p.name }

// Base64Embeddings reports that encoding_format "base64" is answered as
// OpenAI answers it: Azure OpenAI takes encoding_format as OpenAI does.
func (p *Provider) Base64Embeddings() bool { return true }

// MultiChoice reports that the upstream answers n > 1 choices itself:
// Azure OpenAI takes n as OpenAI does.
func (p *Provider) MultiChoice() bool { return true }

// endpoint is the URL of an operation (chat/completions, embeddings) on a
// deployment.
func (p *Provider) endpoint(deployment, op string) string {
	if p.version == "v1" {
		return p.base + "/openai/v1/" + op
	}
	return p.base + "/openai/deployments/" + url.PathEscape(deployment) + "/" + op + "?api-version=" + url.QueryEscape(p.version)
}

// Chat sends a non-streaming completion.
func (p *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	body, err := p.chatBody(req, false)
	if err != nil {
		return nil, err
	}
	return openai.Relay(ctx, p.api, p.endpoint(req.Upstream, "chat/completions"), body, req.Model)
}

// Stream sends a streaming completion; it returns once Azure answered 200.
func (p *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	body, err := p.chatBody(req, true)
	if err != nil {
		return nil, err
	}
	resp, err := p.api.Post(ctx, p.endpoint(req.Upstream, "chat/completions"), body, true)
	if err != nil {
		return nil, err
	}
	return &stream{Stream: openai.NewStream(p.name, resp.Body, req.Model, p.api.SentKey(resp))}, nil
}

// Embed relays an embeddings request to the deployment.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	body, err := openai.WithModel(req.Body, req.Upstream)
	if err != nil {
		return nil, err
	}
	return openai.Relay(ctx, p.api, p.endpoint(req.Upstream, "embeddings"), body, req.Model)
}

// Probe checks the resource. By default (probe: models, or unset) it lists
// the resource's models: free, and it proves the endpoint answers and the key
// is accepted, though not that a deployment exists (Azure's data plane no
// longer lists deployments). probe: chat sends a one-token completion to the
// given deployment instead, which proves the deployment serves, for the price
// of a few tokens.
func (p *Provider) Probe(ctx context.Context, upstream string) error {
	if p.probe == "chat" {
		limit := `"max_completion_tokens":1`
		if !p.modern {
			limit = `"max_tokens":1`
		}
		body := `{"model":` + strconv.Quote(upstream) + `,"messages":[{"role":"user","content":"ping"}],` + limit + `}`
		resp, err := p.api.Post(ctx, p.endpoint(upstream, "chat/completions"), []byte(body), false)
		if err != nil {
			return err
		}
		httpapi.Drain(resp)
		return nil
	}
	u := p.base + "/openai/models?api-version=" + url.QueryEscape(p.version)
	if p.version == "v1" {
		u = p.base + "/openai/v1/models"
	}
	return p.api.Get(ctx, u)
}

// chatBody is the client's body with the deployment as model (the v1
// surface routes by it; the deployment surface ignores it, and the router's
// route names need not reach Azure) and, for a stream on an api-version that
// accepts it, include_usage turned on so the router can meter the stream.
func (p *Provider) chatBody(req *llm.Request, stream bool) ([]byte, error) {
	return openai.AzureBody(req, stream && p.modern)
}

// stream is OpenAI's stream reader without the chunks that carry neither a
// choice nor usage: Azure's first chunk holds only prompt_filter_results
// (with an empty id and model), which would reach clients as a chunk about
// nothing and, counted as the first chunk, would end the router's
// first-byte wait before the model said anything.
type stream struct{ *openai.Stream }

// Next returns the next chunk that carries a choice or usage.
func (s *stream) Next() (llm.Chunk, error) {
	for {
		c, err := s.Stream.Next()
		if err != nil || c.Usage != nil || !noChoices(c.Data) {
			return c, err
		}
	}
}

// noChoices reports whether a chunk's choices are absent or empty.
func noChoices(chunk []byte) bool {
	v, ok := rawjson.Find(chunk, "choices")
	v = bytes.TrimSpace(v)
	if !ok || bytes.Equal(v, []byte("null")) {
		return true
	}
	return len(v) >= 2 && v[0] == '[' && len(bytes.TrimSpace(v[1:len(v)-1])) == 0
}
