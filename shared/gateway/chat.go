package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// Response headers of the contract, in canonical form so they are set without
// re-canonicalising on every request.
const (
	hdrRoute    = "X-Router-Route"
	hdrModel    = "X-Router-Model"
	hdrProvider = "X-Router-Provider"
	hdrAttempts = "X-Router-Attempts"
	hdrCost     = "X-Router-Cost-Usd"
)

// The causes an attempt's context is cancelled with, so its error can be told
// apart from the request's own deadline or the client leaving.
var (
	errFirstByteTimeout = errors.New("no first byte within the target's first_byte_timeout")
	errAttemptTimeout   = errors.New("the attempt exceeded the model's timeout")
)

func (g *Gateway) serveChat(w http.ResponseWriter, r *http.Request) {
	c := g.newCall(w, r, "chat.completions")
	if e := c.prepare(c.parseChat); e != nil {
		c.fail(e)
		return
	}
	d := c.plan()
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
	ctx, cancel := context.WithTimeout(r.Context(), c.route.Timeout)
	defer cancel()
	if c.chat.Stream {
		c.stream(ctx, &d)
		return
	}
	invoke := func(a *attempt) (*llm.Response, error) { return a.p.Chat(a.ctx, a.req) }
	if sh != nil {
		invoke = c.checked(sh, invoke)
	}
	c.complete(ctx, &d, invoke)
}

// attempt is one try of one target. Its context is cancelled by one timer
// with the cause that ended it: the first-byte threshold or the attempt's own
// timeout.
type attempt struct {
	t      *route.Target
	p      llm.Provider
	req    *llm.Request
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time // on the gateway's clock, for the audit record
	began  time.Time // on the monotonic clock, for the timer
	timer  *time.Timer
	// firstByte is set once the upstream has started answering.
	firstByte atomic.Bool
	trace     httptrace.ClientTrace
	// slot is the attempt's index in the audit record's attempts, reserved
	// when it starts, so attempts keep their starting order when hedged
	// attempts end out of it.
	slot int
	// firstAt is when a stream's first chunk arrived (gateway clock).
	firstAt time.Time
	// checked is what the structured-output check made of the attempt, set
	// only for requests that ask for JSON (structured.go).
	checked *checkedAttempt
}

// begin starts an attempt. For a plain request the first byte is the
// upstream's first response byte, seen through httptrace, which every
// HTTP-based adapter's transport reports; for a stream the relay marks it at
// the first chunk.
func (c *call) begin(ctx context.Context, t *route.Target, stream bool) *attempt {
	a := &attempt{t: t, p: c.snap.providers[t.Provider.Name], start: c.g.now(), began: time.Now()}
	a.req = &llm.Request{Chat: c.chat, Body: c.body, Model: t.Model.ID, Upstream: t.Model.UpstreamName(),
		MaxTokens: t.Model.OutputLimit()}
	a.ctx, a.cancel = context.WithCancelCause(ctx)
	watchFirst := t.FirstByteTimeout > 0 && t.FirstByteTimeout < t.Timeout
	if watchFirst {
		a.timer = time.AfterFunc(t.FirstByteTimeout, a.expire)
	} else {
		a.timer = time.AfterFunc(t.Timeout, a.expire)
	}
	// A hedge starts only while the attempt has not started answering, so
	// hedge_after needs the first byte seen as well.
	if !stream && (watchFirst || t.HedgeAfter > 0) {
		a.trace.GotFirstResponseByte = a.gotFirstByte
		a.ctx = httptrace.WithClientTrace(a.ctx, &a.trace)
	}
	a.slot = len(c.rec.Attempts)
	c.rec.Attempts = append(c.rec.Attempts, audit.Attempt{Model: t.Model.ID, Provider: t.Provider.Name})
	return a
}

// expire runs when the attempt's timer fires: at the first-byte threshold, it
// ends an attempt that has not started answering and otherwise waits out the
// rest of the attempt's timeout; at the timeout, it ends the attempt.
func (a *attempt) expire() {
	elapsed := time.Since(a.began)
	if a.t.FirstByteTimeout > 0 && !a.firstByte.Load() && elapsed < a.t.Timeout {
		a.cancel(errFirstByteTimeout)
		return
	}
	if rest := a.t.Timeout - elapsed; rest > 0 {
		a.timer.Reset(rest)
		return
	}
	a.cancel(errAttemptTimeout)
}

func (a *attempt) gotFirstByte() { a.firstByte.Store(true) }

func (a *attempt) end() {
	a.timer.Stop()
	a.cancel(nil)
}

// failure classifies an attempt's error. The request's own context is looked
// at first: when the client left or the deadline passed, no fallback can help.
func (c *call) failure(ctx context.Context, a *attempt, err error) (e *llm.Error, outcome string) {
	c.charge(a)
	switch cause := context.Cause(a.ctx); {
	case c.r.Context().Err() != nil:
		return &llm.Error{Kind: llm.KindTimeout, Status: 499, Type: "api_error", Code: "client_closed",
			Message: "the client closed the connection"}, audit.OutcomeCancelled
	case ctx.Err() != nil:
		return errDeadline(), audit.OutcomeDeadline
	case errors.Is(cause, errFirstByteTimeout):
		return &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout, Type: "api_error", Code: "first_byte_timeout",
			Provider: a.t.Provider.Name, Message: "no first byte within " + a.t.FirstByteTimeout.String()}, audit.OutcomeFirstByteTimeout
	case errors.Is(cause, errAttemptTimeout):
		return &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout, Type: "api_error", Code: "timeout",
			Provider: a.t.Provider.Name, Message: "no answer within " + a.t.Timeout.String()}, audit.OutcomeTimeout
	}
	if e, outcome, ok := c.invalidFailure(a, err); ok {
		return e, outcome
	}
	e = llm.AsError(err)
	if e == nil {
		e = llm.Unavailable(a.t.Provider.Name, err)
	}
	switch {
	case e.Kind == llm.KindUnavailable:
		outcome = audit.OutcomeUnavailable
	case e.Retryable():
		outcome = audit.OutcomeError
	default:
		outcome = audit.OutcomeRejected
	}
	if e.Kind == llm.KindAuth || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden {
		// The provider refused the router's key: drop any cached copy, so a
		// rotated key is fetched again.
		if inv, ok := c.g.Deps.Keys.(llm.KeyInvalidator); ok {
			inv.Invalidate(a.t.Provider.Key)
		}
	}
	return e, outcome
}

// record fills in an attempt's audit entry and tells the observer.
func (c *call) record(a *attempt, outcome string, status int) {
	lat := c.g.now().Sub(a.start)
	c.observe(a, outcome, status, lat, lat)
}

// observe fills in an attempt's audit entry with its latency, and tells the
// observer the outcome with the latency that estimates the target's speed
// (for a stream, the time to its first chunk). The observer hears every
// outcome, the client leaving included: a health view must learn that a
// half-open breaker's trial request ended, however it ended.
func (c *call) observe(a *attempt, outcome string, status int, lat, speed time.Duration) {
	c.rec.Attempts[a.slot] = audit.Attempt{Model: a.t.Model.ID, Provider: a.t.Provider.Name,
		Outcome: outcome, Status: status, LatencyMs: ms(lat)}
	if c.g.Observer != nil {
		c.g.Observer.Observe(a.t.Provider.Name, a.t.Model.ID, outcome, speed)
	}
}

// AttemptGate is an Observer that may refuse an attempt just before it
// starts: a circuit breaker lets one trial request through while half-open,
// and refuses the others until the trial has ended.
type AttemptGate interface {
	Allow(provider, model string) bool
}

// allowed asks the observer, when it is a gate, whether t may be tried now.
func (c *call) allowed(t *route.Target) bool {
	if gate, ok := c.g.Observer.(AttemptGate); ok {
		return gate.Allow(t.Provider.Name, t.Model.ID)
	}
	return true
}

// skipped is the all_targets_failed part of a target the gate refused.
func skipped(t *route.Target) string {
	return t.Model.ID + " (" + t.Provider.Name + "): not tried, its circuit breaker is testing it with another request"
}

// complete runs the attempt loop for a request answered in one piece (a
// plain chat completion, embeddings); invoke makes one attempt.
func (c *call) complete(ctx context.Context, d *route.Decision, invoke func(*attempt) (*llm.Response, error)) {
	if hedging(d) {
		c.completeHedged(ctx, d, invoke)
		return
	}
	var failures []string
	for _, t := range d.Candidates {
		if !c.allowed(t) {
			failures = append(failures, skipped(t))
			continue
		}
		a := c.begin(ctx, t, false)
		resp, err := invoke(a)
		a.end()
		if err == nil {
			c.answer(a, resp)
			c.finish(http.StatusOK)
			return
		}
		e, outcome := c.failure(ctx, a, err)
		c.record(a, outcome, e.Status)
		c.logAttempt(a, e, outcome)
		if ends(outcome, err) {
			c.fail(upstreamAnswer(e))
			return
		}
		failures = append(failures, describe(a.t, e, outcome))
	}
	c.fail(errAllFailed("all targets failed: " + strings.Join(failures, "; ")))
}

// answer records a one-piece answer and sends it to the client.
func (c *call) answer(a *attempt, resp *llm.Response) {
	c.record(a, audit.OutcomeOK, http.StatusOK)
	c.servedBy(a.t)
	c.meter(a.t, resp.Usage)
	if a.checked != nil {
		c.rec.Structured = a.checked.how
	}
	h := c.w.Header()
	h[hdrCost] = []string{strconv.FormatFloat(c.rec.CostUSD, 'f', -1, 64)}
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(resp.Body)
	c.rec.TTFBMs = ms(c.g.now().Sub(c.start))
}

// servedBy records the target that answered and sets the response headers
// that name it.
func (c *call) servedBy(t *route.Target) {
	c.rec.Model = t.Model.ID
	c.rec.Provider = t.Provider.Name
	c.rec.UpstreamModel = t.Model.UpstreamName()
	c.rec.ProviderCompliance = t.Provider.Compliance
	v := [...]string{c.route.Name, t.Model.ID, t.Provider.Name, strconv.Itoa(len(c.rec.Attempts))}
	h := c.w.Header()
	h[hdrRoute], h[hdrModel], h[hdrProvider], h[hdrAttempts] = v[0:1:1], v[1:2:2], v[2:3:3], v[3:4:4]
}

// meter records the usage the provider reported and its cost.
func (c *call) meter(t *route.Target, u llm.Usage) {
	c.rec.Usage = audit.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens}
	c.rec.CostUSD = cost.USD(t.Model.Price, u) + c.spentUSD
}

// upstreamAnswer is the error returned to the client for a failure that ends
// the request: the provider's own 4xx, or the router's timeout.
func upstreamAnswer(e *llm.Error) *llm.Error {
	if e.Provider != "" && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) {
		// Say whose credentials were refused: the caller's key was fine.
		out := *e
		out.Message = "provider " + e.Provider + " refused the router's credentials: " + e.Message
		return &out
	}
	return e
}

// describe is one attempt's part of an all_targets_failed message.
func describe(t *route.Target, e *llm.Error, outcome string) string {
	s := t.Model.ID + " (" + t.Provider.Name + "): "
	switch outcome {
	case audit.OutcomeFirstByteTimeout, audit.OutcomeTimeout:
		return s + e.Message
	case audit.OutcomeUnavailable:
		return s + "could not connect"
	}
	return s + "status " + strconv.Itoa(e.Status) + " " + e.Message
}

// logAttempt logs a failed attempt: kind, status and code, never the
// upstream's message (some providers quote the request back in errors).
func (c *call) logAttempt(a *attempt, e *llm.Error, outcome string) {
	c.g.logger().Warn("attempt failed", "request_id", c.rec.RequestID, "route", c.route.Name,
		"model", a.t.Model.ID, "provider", a.t.Provider.Name, "outcome", outcome, "status", e.Status,
		"kind", e.Kind.String(), "code", e.Code)
}

// eof reports whether err is the end of a stream.
func eof(err error) bool { return errors.Is(err, io.EOF) }
