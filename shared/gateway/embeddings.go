package gateway

import (
	"context"
	"net/http"

	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/route"
	surfaceopenai "github.com/llm-router/router/shared/surface/openai"
)

// serveEmbeddings routes an OpenAI Embeddings request like a chat completion:
// same keys, compliance, health, fallback, audit and cost. Targets whose
// provider does not serve embeddings are left out, with the reason.
func (g *Gateway) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	c := g.newCall(w, r, "embeddings")
	if e := c.prepare(c.parseEmbedding); e != nil {
		c.fail(e)
		return
	}
	d := c.plan(func(t *route.Target) (bool, string) {
		if _, ok := c.snap.providers[t.Provider.Name].(llm.Embedder); !ok {
			return false, route.ReasonCapability + ": provider " + t.Provider.Name + " (" + t.Provider.Type + ") does not serve embeddings"
		}
		return true, ""
	})
	if len(d.Candidates) == 0 {
		c.fail(c.noCandidates(&d))
		return
	}
	p := c.enginePlan(&d)
	p.Do = func(ctx context.Context, a *engine.Attempt) (*llm.Response, error) {
		req := *c.embed
		req.Model, req.Upstream = a.Target.Model.ID, a.Target.Model.UpstreamName()
		b64 := req.EncodingFormat == "base64" && !base64Native(a.Provider)
		if b64 {
			// The SDKs ask for base64 by default: ask this provider for
			// floats and encode them, as OpenAI does, rather than trust it to
			// honour a field it may ignore.
			req.EncodingFormat = "float"
			body, err := rawjson.Set(req.Body, "encoding_format", []byte(`"float"`))
			if err != nil {
				return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body must be a JSON object")
			}
			req.Body = body
		}
		resp, err := a.Provider.(llm.Embedder).Embed(ctx, &req)
		if err != nil || !b64 {
			return resp, err
		}
		out, err := surfaceopenai.AppendBase64Embeddings(make([]byte, 0, len(resp.Body)/3), resp.Body)
		if err != nil {
			return nil, &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
				Code: "invalid_upstream_answer", Provider: a.Target.Provider.Name, Message: "the provider's embeddings could not be encoded"}
		}
		return &llm.Response{Body: out, Usage: resp.Usage}, nil
	}
	c.run(p)
}

// base64Native reports whether p answers encoding_format base64 itself.
func base64Native(p llm.Provider) bool {
	b, ok := p.(llm.Base64Embedder)
	return ok && b.Base64Embeddings()
}

// parseEmbedding reads an embeddings body.
func (c *call) parseEmbedding() (string, *llm.Error) {
	req, model, err := llm.ParseEmbedding(c.body)
	if err != nil {
		return "", llm.AsError(err)
	}
	c.embed = req
	return model, nil
}
