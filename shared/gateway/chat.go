package gateway

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/scrub"
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
	g.serveChatLike(g.newCall(w, r, "chat.completions"), &chatSurface)
}

// chatSurface is OpenAI Chat Completions: the router's own vocabulary, so
// answers go out as they came, less the model's reasoning unless the client
// asked for it with include_reasoning: true.
var chatSurface = surface{
	parse: func(c *call) (string, *llm.Error) {
		model, e := c.parseChat()
		if e == nil && !c.chat.WantsReasoning() {
			c.render = withoutReasoning
		}
		return model, e
	},
	stream: func(c *call) streamWriter {
		return &chatWriter{wantUsage: c.chat.WantsUsage(), wantReasoning: c.chat.WantsReasoning()}
	},
}

// withoutReasoning renders a chat.completion without its choices'
// reasoning (reasoning_content, reasoning, thinking_blocks).
func withoutReasoning(completion []byte, _ llm.Usage) ([]byte, error) {
	if !llm.HasReasoning(completion) {
		return completion, nil
	}
	out, _, err := llm.AppendWithoutReasoning(make([]byte, 0, len(completion)), completion, "message")
	return out, err
}

// chatWriter writes chat.completion.chunk events. The usage-only chunk, which
// the router asks every upstream for to meter the request, reaches only
// clients that asked for it themselves; reasoning deltas likewise (a
// reasoning chunk still commits the stream: the engine decides that before
// the chunk gets here).
type chatWriter struct {
	wantUsage, wantReasoning bool
	scratch                  []byte
}

func (w *chatWriter) chunk(dst []byte, c llm.Chunk) ([]byte, error) {
	if c.UsageOnly && !w.wantUsage {
		return dst, nil
	}
	if !w.wantReasoning && llm.HasReasoning(c.Data) {
		out, empty, err := llm.AppendWithoutReasoning(w.scratch[:0], c.Data, "delta")
		if err != nil {
			return dst, err
		}
		w.scratch = out
		if empty {
			return dst, nil
		}
		return appendEvent(dst, out), nil
	}
	return appendEvent(dst, c.Data), nil
}

func (w *chatWriter) finish(dst []byte, _ *llm.Usage) []byte { return append(dst, doneEvent...) }

func (w *chatWriter) fail(dst []byte, e *llm.Error) []byte {
	return appendEvent(dst, appendError(nil, e))
}

// appendEvent appends one server-sent data event.
func appendEvent(dst, data []byte) []byte {
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
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
	if c.cache != nil {
		c.storeCached(res)
	}
	rec := &c.rec
	rec.Attempts = res.Attempts
	rec.CostUSD = res.CostUSD
	rec.TTFBMs = ms(res.FirstByte)
	if res.Structured != "" {
		rec.Structured = res.Structured
	}
	if t := res.Served; t != nil {
		c.recordServed(t)
		rec.Usage = audit.Usage{PromptTokens: res.Usage.PromptTokens, CompletionTokens: res.Usage.CompletionTokens,
			CachedTokens: res.Usage.CachedTokens, CacheWriteTokens: res.Usage.CacheWriteTokens}
		rec.UsageMissing = !res.UsageKnown
		rec.CacheSavingsUSD = cost.CacheSavings(t.Model.Price, res.Usage)
	}
	rec.Incomplete = res.Incomplete()
	switch {
	case c.rendered != nil:
		// The answer came but could not be put in the surface's shape: the
		// client got that error.
		rec.ErrorCode, rec.Incomplete = c.rendered.Code, true
		c.finish(c.rendered.Status)
	case res.Err == nil:
		c.finish(http.StatusOK)
	case res.Committed:
		// The stream began: the client got an error event, not a status.
		rec.ErrorCode = res.Err.Code
		c.finish(res.Err.Status)
	default:
		c.fail(c.upstreamAnswer(res.Err))
	}
}

// recordServed puts the target that answered on the audit record, whether
// the engine ran or the cache answered.
func (c *call) recordServed(t *route.Target) {
	rec := &c.rec
	rec.Model, rec.Provider, rec.UpstreamModel = t.Model.ID, t.Provider.Name, t.Model.UpstreamName()
	rec.ProviderCompliance = t.Provider.Compliance
}

// servedBy sets the response headers that name the target that answered,
// after attempts tries.
func (c *call) servedBy(t *route.Target, attempts int) {
	v := [...]string{c.route.Name, t.Model.ID, t.Provider.Name, strconv.Itoa(attempts)}
	h := c.w.Header()
	h[hdrRoute], h[hdrModel], h[hdrProvider], h[hdrAttempts] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
}

// maxDetail bounds the provider's own words in an error answer.
const maxDetail = 1024

// upstreamAnswer is the error returned to the client for a failure that ends
// the request: the router's own, or a provider's about the request itself
// (401, 403 and 404 never get here: they fall back, and end as
// upstream_auth_failed or all_targets_failed). An upstream's text is never
// relayed as it came: the message is the router's, and for a client error
// about the request (400, 413, 422) the provider's reason follows it,
// scrubbed of keys and secrets (by the adapter) and of the request's own
// text (here), and cut short.
func (c *call) upstreamAnswer(e *llm.Error) *llm.Error {
	if e.Provider == "" {
		return e
	}
	switch e.Status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		detail := scrub.RequestText(e.Detail, c.body)
		if strings.TrimSpace(detail) == "" {
			return e
		}
		if len(detail) > maxDetail {
			detail = strings.ToValidUTF8(detail[:maxDetail], "") + "…"
		}
		out := *e
		out.Message = e.Message + ": " + detail
		return &out
	}
	return e
}
