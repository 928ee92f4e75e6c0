package gateway

import (
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/lang"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/tokens"
)

// Routing that knows the request: content rules choose a sub-route by what
// the request holds; each target must fit the request in its context window
// and meet its conditions. A route with neither rules nor conditions, and
// models with no context_window, pay nothing here but a few nil checks.

// Stats gives the recent figures conditional targets are judged by (the
// health view: live attempts, else the latest benchmark run).
type Stats interface {
	P90(provider, model string) (time.Duration, bool)
	ErrorRate(provider, model string) (float64, bool)
}

// applyRules moves the request to the sub-route of the first of its route's
// rules that matches. The sub-route's require is added to the request's;
// the route it addressed keeps its own (the requirement only grows).
func (c *call) applyRules() {
	if len(c.route.Rules) == 0 || c.chat == nil {
		return
	}
	var f features
	for i := range c.route.Rules {
		rule := &c.route.Rules[i]
		if !c.matches(&rule.When, &f) {
			continue
		}
		c.rec.Rule = rule.Name
		c.route = rule.Route
		c.rec.Route = rule.Route.Name
		c.need.add(rule.Route.Require, "route:"+rule.Route.Name, &c.rec)
		c.detect(rule.Route.Detect)
		c.rec.DataClass = strings.Join(c.classes, ",")
		return
	}
}

// features are what rules look at, worked out once and only when asked.
type features struct {
	langDone bool
	lang     lang.Result
}

// matches reports whether every condition m sets holds for the request.
func (c *call) matches(m *config.Match, f *features) bool {
	if len(m.Language) > 0 || len(m.Script) > 0 {
		if !f.langDone {
			f.lang, f.langDone = lang.Detect(lastUserText(c.chat)), true
		}
		if len(m.Language) > 0 && !slices.Contains(m.Language, f.lang.Lang) {
			return false
		}
		if len(m.Script) > 0 && !slices.Contains(m.Script, f.lang.Script.String()) {
			return false
		}
	}
	if m.MinInputTokens > 0 || m.MaxInputTokens > 0 {
		// Rules judge size on OpenAI's tokenizer: a route's sub-routes may
		// use any provider, and the figure must not depend on which.
		n := c.tokensFor(tokens.OpenAI)
		if n < m.MinInputTokens || (m.MaxInputTokens > 0 && n > m.MaxInputTokens) {
			return false
		}
	}
	if m.HasImages != nil && hasImages(c.chat) != *m.HasImages {
		return false
	}
	if m.HasTools != nil && (len(c.chat.Tools) > 0) != *m.HasTools {
		return false
	}
	for k, v := range m.Tags {
		if c.rec.Tags[k] != v {
			return false
		}
	}
	if len(m.DataClass) > 0 && !slices.ContainsFunc(m.DataClass, func(dc string) bool { return slices.Contains(c.classes, dc) }) {
		return false
	}
	return true
}

// lastUserText is the text of the request's last user message.
func lastUserText(chat *llm.ChatRequest) string {
	for i := len(chat.Messages) - 1; i >= 0; i-- {
		if chat.Messages[i].Role == "user" {
			return chat.Messages[i].Content.String()
		}
	}
	return ""
}

func hasImages(chat *llm.ChatRequest) bool {
	for _, m := range chat.Messages {
		for _, p := range m.Content.Parts {
			if p.ImageURL != nil {
				return true
			}
		}
	}
	return false
}

// outputReserve is the completion size a target must leave room for: what
// the client asked for at most, else nothing (a prompt that fits is
// answered, up to what the window leaves).
func (c *call) outputReserve() int {
	if c.chat == nil {
		return 0
	}
	return c.chat.MaxOutputTokens()
}

// fits reports whether target t's context window holds the request: its
// input estimate (on t's tokenizer) and max_tokens.
func (c *call) fits(t *route.Target) (bool, string) {
	w := t.Model.ContextWindow
	if w <= 0 || c.chat == nil {
		return true, ""
	}
	in := c.inputTokens(t)
	need := in + c.outputReserve()
	if need <= w {
		return true, ""
	}
	return false, route.ReasonContext + ": needs about " + strconv.Itoa(need) + " tokens (input ≈" + strconv.Itoa(in) +
		" + max_tokens " + strconv.Itoa(c.outputReserve()) + "), window " + strconv.Itoa(w)
}

// meets reports whether target t's conditions hold now, and says why not.
func (c *call) meets(t *route.Target) (bool, string) {
	w := t.When
	if w == nil {
		return true, ""
	}
	stats, _ := c.g.Health.(Stats)
	if d := w.P90LatencyBelow.D(); d > 0 && stats != nil {
		if p90, ok := stats.P90(t.Provider.Name, t.Model.ID); ok && p90 >= d {
			return false, route.ReasonCondition + ": p90 latency " + p90.Round(time.Millisecond).String() + " is not below " + d.String()
		}
	}
	if r := w.ErrorRateBelow; r > 0 && stats != nil {
		if got, ok := stats.ErrorRate(t.Provider.Name, t.Model.ID); ok && got >= r {
			return false, route.ReasonCondition + ": error rate " + strconv.FormatFloat(got, 'f', 3, 64) +
				" is not below " + strconv.FormatFloat(r, 'f', -1, 64)
		}
	}
	if max := w.MaxCostUSD; max > 0 {
		if usd := c.costOn(t); usd > max {
			return false, route.ReasonCondition + ": estimated cost $" + strconv.FormatFloat(usd, 'f', 6, 64) +
				" is above $" + strconv.FormatFloat(max, 'f', -1, 64)
		}
	}
	return true, ""
}

// costOn is the request's estimated cost on t: its input estimate and
// max_tokens (else the model's output limit) at the model's price.
func (c *call) costOn(t *route.Target) float64 {
	out := c.outputReserve()
	if out == 0 {
		out = t.Model.OutputLimit()
	}
	return cost.USD(t.Model.Price, llm.Usage{PromptTokens: c.inputTokens(t), CompletionTokens: out})
}

// check is the plan's per-target check: the endpoint's capability (when
// set), then the context window, then the conditions.
func (c *call) check(capable func(*route.Target) (bool, string)) func(*route.Target) (bool, string) {
	return func(t *route.Target) (bool, string) {
		if capable != nil {
			if ok, why := capable(t); !ok {
				return false, why
			}
		}
		if ok, why := c.fits(t); !ok {
			return false, why
		}
		return c.meets(t)
	}
}

// errContextTooLong is the 400 when no target's window holds the request.
func (c *call) errContextTooLong(d *route.Decision) *llm.Error {
	largest, estimate := 0, math.MaxInt
	for _, t := range c.route.Targets {
		largest = max(largest, t.Model.ContextWindow)
		estimate = min(estimate, c.inputTokens(t))
	}
	return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
		Code: llm.CodeContextLength, Param: "messages",
		Message: "the request needs about " + strconv.Itoa(estimate+c.outputReserve()) + " tokens (input ≈" + strconv.Itoa(estimate) +
			" + max_tokens " + strconv.Itoa(c.outputReserve()) + "), more than the largest context window of route " +
			strconv.Quote(d.Route) + " (" + strconv.Itoa(largest) + " tokens)"}
}

// tokensFor is the request's input estimate on tokenizer family f.
func (c *call) tokensFor(f tokens.Family) int {
	if c.tokens == nil {
		c.tokens = new(tokens.Counter)
		if c.chat != nil {
			countChat(c.tokens, c)
		}
	}
	return c.tokens.Tokens(f)
}
