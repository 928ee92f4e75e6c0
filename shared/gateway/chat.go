package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// Response headers of the API, in canonical form so they are set without
// re-canonicalising on every request.
const (
	hdrRoute    = "X-Router-Route"
	hdrModel    = "X-Router-Model"
	hdrProvider = "X-Router-Provider"
	hdrAttempts = "X-Router-Attempts"
	hdrCost     = "X-Router-Cost-Usd"
)

func (g *Gateway) serveChat(w http.ResponseWriter, r *http.Request) {
	c := g.newCall(w, r, "chat.completions")
	if e := c.prepare(c.parseChat); e != nil {
		c.fail(e)
		return
	}
	d := c.plan(nil)
	if len(d.Candidates) == 0 {
		c.fail(noCandidates(&d))
		return
	}
	sh, e := c.structuredShape()
	if e != nil {
		c.fail(e)
		return
	}
	c.shape = sh
	p := c.enginePlan(&d)
	if c.chat.Stream {
		p.Open = func(ctx context.Context, a *engine.Attempt) (llm.Stream, error) {
			return a.Provider.Stream(ctx, c.chatRequest(a.Target))
		}
		p.Sink = newSSESink(c)
	} else {
		p.Do = func(ctx context.Context, a *engine.Attempt) (*llm.Response, error) {
			return a.Provider.Chat(ctx, c.chatRequest(a.Target))
		}
		if sh != nil {
			p.Do = c.checked(sh, p.Do)
		}
	}
	c.run(p)
}

// chatRequest is one attempt's input on target t.
func (c *call) chatRequest(t *route.Target) *llm.Request {
	return &llm.Request{Chat: c.chat, Body: c.body, Model: t.Model.ID, Upstream: t.Model.UpstreamName(),
		MaxTokens: t.Model.OutputLimit()}
}

// enginePlan is the engine's plan for decision d; the caller sets how one
// attempt is made.
func (c *call) enginePlan(d *route.Decision) *engine.Plan {
	maxDur := c.route.MaxDuration
	if g := c.g.MaxDuration; g > 0 && (maxDur == 0 || g < maxDur) {
		maxDur = g
	}
	return &engine.Plan{RequestID: c.rec.RequestID, Route: c.route.Name, Candidates: d.Candidates,
		Require: c.need.tags, Providers: c.snap.providers, Timeout: c.route.Timeout, IdleTimeout: c.route.StreamIdle,
		MaxDuration: maxDur, Panic: d.Panic, Deliver: c.deliver}
}

// run runs the plan and finishes the request from its result.
func (c *call) run(p *engine.Plan) {
	res := c.snap.engine.Run(c.r.Context(), p)
	rec := &c.rec
	rec.Attempts = res.Attempts
	rec.CostUSD = res.CostUSD
	rec.TTFBMs = ms(res.FirstByte)
	if res.Structured != "" {
		rec.Structured = res.Structured
	}
	if t := res.Served; t != nil {
		rec.Model, rec.Provider, rec.UpstreamModel = t.Model.ID, t.Provider.Name, t.Model.UpstreamName()
		rec.ProviderCompliance = t.Provider.Compliance
		rec.Usage = audit.Usage{PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens,
			CachedTokens: res.Usage.CachedTokens, CacheWriteTokens: res.Usage.CacheWriteTokens}
		rec.UsageMissing = !res.UsageKnown
	}
	rec.Incomplete = res.Incomplete()
	switch {
	case res.Err == nil:
		c.finish(http.StatusOK)
	case res.Committed:
		// The stream began: the client got an error event, not a status.
		rec.ErrorCode = res.Err.Code
		c.finish(res.Err.Status)
	default:
		c.fail(upstreamAnswer(res.Err))
	}
}

// deliver writes an answer in one piece.
func (c *call) deliver(res *engine.Result) {
	c.servedBy(res.Served, len(res.Attempts))
	body := res.Response.Body
	h := c.w.Header()
	h[hdrCost] = []string{strconv.FormatFloat(res.CostUSD, 'f', -1, 64)}
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

// servedBy sets the response headers that name the target that answered,
// after attempts tries.
func (c *call) servedBy(t *route.Target, attempts int) {
	v := [...]string{c.route.Name, t.Model.ID, t.Provider.Name, strconv.Itoa(attempts)}
	h := c.w.Header()
	h[hdrRoute], h[hdrModel], h[hdrProvider], h[hdrAttempts] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
}

// upstreamAnswer is the error returned to the client for a failure that ends
// the request: the provider's own 4xx about the request, or the router's.
func upstreamAnswer(e *llm.Error) *llm.Error {
	if e.Provider != "" && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) {
		// Never the client's 401: the caller's key was fine.
		return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: "upstream_auth_failed",
			Message: "provider " + e.Provider + " refused the router's credentials"}
	}
	return e
}
