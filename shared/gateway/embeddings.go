package gateway

import (
	"context"
	"net/http"

	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
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
		c.fail(noCandidates(&d))
		return
	}
	p := c.enginePlan(&d)
	p.Do = func(ctx context.Context, a *engine.Attempt) (*llm.Response, error) {
		req := *c.embed
		req.Model, req.Upstream = a.Target.Model.ID, a.Target.Model.UpstreamName()
		return a.Provider.(llm.Embedder).Embed(ctx, &req)
	}
	c.run(p)
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
