package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// Limiter admits a request against its key's rate limits and budgets, after
// authentication, routing and classification and before any provider is
// called. limits.Limiter is the implementation; on refusal the error is a
// *limits.Refusal. The ticket is settled when the request ends.
type Limiter interface {
	Admit(ctx context.Context, q *limits.Query) (*limits.Ticket, error)
}

// Limits on request headers, checked before anything else reads them: a
// client cannot make the router hash, split or log megabytes of headers.
// The local server's own limit (MaxHeaderBytes) is larger; API Gateway's is
// smaller (10 KiB), so this bounds the Lambda adapters' events too.
const (
	maxHeaderFields = 100
	maxHeaderBytes  = 32 << 10
)

// checkHeaders refuses a request whose headers are too many or too large.
func checkHeaders(h http.Header) *llm.Error {
	n, size := 0, 0
	for k, vs := range h {
		n += len(vs)
		for _, v := range vs {
			size += len(k) + len(v) + 4 // "k: v\r\n"
		}
	}
	if n <= maxHeaderFields && size <= maxHeaderBytes {
		return nil
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusRequestHeaderFieldsTooLarge, Type: "invalid_request_error",
		Code: "request_header_fields_too_large", Message: "the request has more than " + strconv.Itoa(maxHeaderFields) +
			" header fields or more than " + strconv.Itoa(maxHeaderBytes) + " bytes of headers"}
}

// admit asks the limiter whether the request may go ahead, and moves it to a
// downgrade route if an on_budget rule applies. The new route is planned with
// the request's own compliance tags, so a downgrade can never loosen them.
// Explain (no endpoint) asks without reserving anything or calling the store.
func (c *call) admit() *llm.Error {
	dry := c.rec.Endpoint == ""
	q := &limits.Query{Key: c.key, Budgets: c.snap.cfg.Budgets, Tags: c.rec.Tags, Route: c.route.Name,
		Tokens: c.tokenEstimate(), Estimate: c.estimate, DryRun: dry}
	t, err := c.g.Limiter.Admit(c.r.Context(), q)
	if err != nil {
		var ref *limits.Refusal
		if !errors.As(err, &ref) {
			c.g.logger().Error("limiter failed", "request_id", c.rec.RequestID, "error", err)
			return errInternal("the router could not check this key's limits")
		}
		if dry {
			return nil // explain shows the route; limits are the real request's to meet
		}
		c.rec.Limit = ref.Limit
		if ref.Code == limits.CodeBudget {
			// A spent budget does not come back in seconds: tell SDKs that
			// honour it (OpenAI's) not to retry.
			c.w.Header().Set("X-Should-Retry", "false")
		}
		return &llm.Error{Kind: llm.KindRateLimited, Status: http.StatusTooManyRequests, Type: "rate_limit_error",
			Code: ref.Code, Message: ref.Message, RetryAfter: ref.RetryAfter}
	}
	if !dry {
		c.ticket = t
	}
	if t.DowngradedFrom != "" {
		rt, ok := c.snap.table.Lookup(t.Route)
		if !ok {
			return nil // the limiter only names routes Estimate accepted
		}
		c.rec.DowngradedFrom = c.route.Name
		c.route = rt
		c.rec.Route = rt.Name
		// The original route's require stays: a requirement only grows.
		c.need.add(rt.Require, "route:"+rt.Name, &c.rec)
	}
	return nil
}

// settle tells the limiter what the request really cost, once it has ended.
// It is bookkeeping in memory: the answer has already gone.
func (c *call) settle() {
	if c.ticket == nil {
		return
	}
	u := c.rec.Usage
	c.ticket.Settle(c.rec.CostUSD, u.PromptTokens+u.CompletionTokens, !c.rec.UsageMissing)
}

// promptEstimate is the prompt's size in tokens as the planner estimates it.
func (c *call) promptEstimate() int { return len(c.body) / 4 }

// outputEstimate is the completion size to reserve for on model m, per
// choice: what the client allows, capped at what the model can write (the
// attempt is clamped the same way), else the model's output limit;
// embeddings produce none.
func (c *call) outputEstimate(m *config.Model) int {
	if c.chat == nil {
		return 0
	}
	if n := c.chat.MaxOutputTokens(); n > 0 {
		if limit := m.OutputCap(); limit > 0 && n > limit {
			return limit
		}
		return n
	}
	return m.OutputLimit()
}

// choices is how many answers the request asks for: each is generated (and
// billed) in full, so limits reserve for all of them.
func (c *call) choices() int {
	if c.chat != nil && c.chat.N != nil && *c.chat.N > 1 {
		return *c.chat.N
	}
	return 1
}

// tokenEstimate is the request's tokens for tpm: its prompt and the largest
// completion its route's targets allow.
func (c *call) tokenEstimate() float64 {
	out := 0
	for _, t := range c.route.Targets {
		out = max(out, c.outputEstimate(t.Model))
	}
	return float64(c.choices() * (c.promptEstimate() + out))
}

// estimate is the most the request may cost on route name, over the targets
// that could take it, and whether any could. A target could take it when it
// has every tag the request already requires and every tag of route name's
// own require, which moving there would add.
func (c *call) estimate(name string) (float64, bool) {
	rt, ok := c.snap.table.Lookup(name)
	if !ok {
		return 0, false
	}
	require := c.need.with(rt.Require)
	best, found := 0.0, false
	for _, t := range rt.Targets {
		if ok, _ := route.Compliant(t, require); !ok {
			continue
		}
		found = true
		u := llm.Usage{PromptTokens: c.promptEstimate(), CompletionTokens: c.outputEstimate(t.Model)}
		best = max(best, float64(c.choices())*cost.USD(t.Model.Price, u))
	}
	return best, found
}
