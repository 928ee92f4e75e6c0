package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/trace"
)

// The causes an attempt's context is cancelled with, so its error can be
// told apart from the request's own end.
var (
	errFirstByteTimeout = errors.New("no content within the target's first_byte_timeout")
	errAttemptTimeout   = errors.New("no commit within the target's timeout")
	errRouteDeadline    = errors.New("no commit within the route's timeout")
	errIdleTimeout      = errors.New("no chunk within the stream's idle timeout")
	errHedgeLost        = errors.New("another attempt of this request committed first")
	errRequestEnded     = errors.New("the request ended")
)

// run is one request in flight: the engine's working state.
type run struct {
	e      *Engine
	p      *Plan
	res    *Result
	reqCtx context.Context // the client's: cancelled when it leaves
	ctx    context.Context // reqCtx bounded by MaxDuration: every attempt's parent
	began  time.Time       // monotonic start, for the timers
	start  time.Time       // on the engine's clock, for the audit record
	// preDeadline ends every attempt that has not committed by then (the
	// route's timeout); zero: none.
	preDeadline time.Time

	hedged  bool
	queue   []*route.Target // candidates not started yet
	skipped []*route.Target // refused by the gate, tried last in a panic
	panic   bool            // the gate is no longer asked
	running []*attempt
	ready   *attempt // an attempt run inline, ended, not yet looked at
	results chan *attempt
	losers  []*attempt
	// stop is the error that ended the request before any commit
	// (rejected, a final invalid output, the deadline, the client leaving).
	stop *llm.Error
	// notes are the all_targets_failed message's parts, one per attempt or
	// candidate not tried.
	notes []string
	// hints are the Retry-After of rate-limited attempts.
	hints []time.Duration
	// lastUnsupported is the last adapter refusal, answered when every
	// target refused the request as it is.
	lastUnsupported *llm.Error
	winner          *attempt
}

// attempt is one try of one target.
type attempt struct {
	Attempt
	slot   int // index in the result's attempts
	ctx    context.Context
	cancel context.CancelCauseFunc
	start  time.Time // engine clock
	began  time.Time // monotonic
	span   trace.Span

	// The timer ends the attempt: before the commit at its first_byte
	// threshold or its limit, after it when a chunk is overdue.
	timer      *time.Timer
	fbt        time.Duration
	limit      time.Duration
	limitCause error
	idle       time.Duration
	firstByte  atomic.Bool // the body began (one piece) or the stream committed
	committed  atomic.Bool
	// lastChunk is when the committed stream last delivered a chunk
	// (monotonic nanoseconds since began): the idle timer measures from it.
	lastChunk atomic.Int64

	// What the attempt produced before it ended or committed.
	resp *llm.Response
	st   llm.Stream
	held []llm.Chunk // a stream's chunks up to and including the committing one
	eof  bool        // the stream ended by the commit point
	err  error
	// committedAt is when the stream committed (engine clock).
	committedAt time.Time
	lostAt      time.Time
}

// Run runs the plan and reports how the request ended. A stream is written
// to the plan's Sink as it runs; an answer in one piece is handed to
// Deliver as soon as it is ready, before lost hedges are collected.
func (e *Engine) Run(ctx context.Context, p *Plan) *Result {
	r := &run{e: e, p: p, res: &Result{}, reqCtx: ctx, began: time.Now(), start: e.now(),
		hedged: hedging(p.Candidates), queue: p.Candidates, panic: p.Panic}
	if p.MaxDuration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.MaxDuration)
		defer cancel()
	}
	r.ctx = ctx
	if p.Timeout > 0 {
		r.preDeadline = r.began.Add(p.Timeout)
	}
	if r.hedged {
		r.results = make(chan *attempt, 2*len(p.Candidates))
	}
	if win := r.race(); win != nil {
		if p.Open != nil {
			r.relay(win)
		} else {
			r.answer(win)
		}
	} else {
		r.res.Err = r.failure()
	}
	r.settle()
	return r.res
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// hedging reports whether a candidate may start a hedge: one with
// hedge_after that has another candidate after it. Other requests run their
// attempts inline, with no goroutine.
func hedging(cands []*route.Target) bool {
	for i := 0; i+1 < len(cands); i++ {
		if cands[i].HedgeAfter > 0 {
			return true
		}
	}
	return false
}

// race tries candidates until one commits (the winner), an outcome ends the
// request (r.stop), or none is left (nil). Without hedging one attempt runs
// at a time. With it, the next candidate starts beside an attempt that has
// not answered after its hedge_after, and at once when an attempt fails.
func (r *run) race() *attempt {
	var hedge *time.Timer
	var hedgeFor *attempt
	defer func() {
		if hedge != nil {
			hedge.Stop()
		}
	}()
	startNow := true
	for {
		if startNow || len(r.running) == 0 {
			startNow = false
			a := r.startNext()
			if a == nil && len(r.running) == 0 {
				if len(r.skipped) == 0 || r.panic {
					return nil
				}
				// Every candidate left was refused by its breaker: try them
				// anyway, in order. A success closes the breaker, so a total
				// outage ends when the providers recover, not a cooldown later.
				r.queue, r.skipped, r.panic, startNow = r.skipped, nil, true, true
				continue
			}
			if a != nil && r.hedged && a.Target.HedgeAfter > 0 && len(r.queue) > 0 {
				if hedge == nil {
					hedge = time.NewTimer(a.Target.HedgeAfter)
				} else {
					hedge.Reset(a.Target.HedgeAfter)
				}
				hedgeFor = a
			}
			if a == nil {
				continue
			}
		}
		var a *attempt
		if r.ready != nil {
			a, r.ready = r.ready, nil
		} else {
			var hedgeC <-chan time.Time
			if hedge != nil && hedgeFor != nil {
				hedgeC = hedge.C
			}
			select {
			case a = <-r.results:
			case <-hedgeC:
				if r.isRunning(hedgeFor) && !hedgeFor.firstByte.Load() {
					startNow = true
				}
				hedgeFor = nil
				continue
			}
		}
		r.drop(a)
		if a.err == nil {
			r.winner = a
			r.cancelRunning(errHedgeLost)
			return a
		}
		outcome, e := r.classify(a)
		var oe *OutputError
		if errors.As(a.err, &oe) {
			// The provider billed the answers the check discarded.
			r.res.CostUSD += cost.USD(a.Target.Model.Price, oe.Usage)
			r.res.Structured = audit.StructuredInvalid
		}
		r.ended(a, outcome, e.Status, time.Since(a.began))
		switch outcome {
		case audit.OutcomeRateLimited:
			r.hints = append(r.hints, e.RetryAfter)
		case audit.OutcomeUnsupported:
			r.lastUnsupported = e
		}
		if outcome == audit.OutcomeContextLimit {
			r.skipSmallerWindows(a.Target)
		}
		if !rules[outcome].fallback || (oe != nil && oe.Final) {
			r.stop = e
			r.cancelRunning(errRequestEnded)
			return nil
		}
		r.notes = append(r.notes, describe(a.Target, outcome, e))
		startNow = r.hedged
	}
}

// startNext begins the next candidate the rules admit, or returns nil when
// none is left. Inline (not hedged), the attempt has ended when it returns.
func (r *run) startNext() *attempt {
	for len(r.queue) > 0 {
		t := r.queue[0]
		r.queue = r.queue[1:]
		// The planner left out every target the requirement does not admit;
		// asked again here, before anything is sent, so no later step can
		// ever send the request where it may not go.
		if ok, missing := route.Compliant(t, r.p.Require); !ok {
			r.log().Error("a candidate lacks a required compliance tag; not tried", "request_id", r.p.RequestID,
				"route", r.p.Route, "model", t.Model.ID, "provider", t.Provider.Name, "missing", missing)
			continue
		}
		if !r.panic && r.e.Gate != nil && !r.e.Gate.Allow(t.Provider.Name, t.Model.ID) {
			r.skipped = append(r.skipped, t)
			continue
		}
		a := r.begin(t)
		if r.hedged {
			r.running = append(r.running, a)
			go func() { r.execute(a); r.results <- a }()
		} else {
			r.execute(a)
			r.running = append(r.running, a)
			r.ready = a
		}
		return a
	}
	return nil
}

// skipSmallerWindows drops the candidates whose model's context window is
// known and no larger than t's: they would refuse the request as t did.
func (r *run) skipSmallerWindows(t *route.Target) {
	w := t.Model.ContextWindow
	if w <= 0 {
		return
	}
	keep := r.queue[:0:0]
	for _, c := range r.queue {
		if c.Model.ContextWindow > 0 && c.Model.ContextWindow <= w {
			r.notes = append(r.notes, c.Model.ID+" ("+c.Provider.Name+"): not tried, its context window is no larger")
			continue
		}
		keep = append(keep, c)
	}
	r.queue = keep
}

// begin prepares an attempt on t: its context, its timer and its slot in
// the result's attempts.
func (r *run) begin(t *route.Target) *attempt {
	a := &attempt{Attempt: Attempt{Target: t, Provider: r.p.Providers[t.Provider.Name]}, slot: len(r.res.Attempts),
		start: r.e.now(), began: time.Now(), idle: r.p.IdleTimeout}
	r.res.Attempts = append(r.res.Attempts, audit.Attempt{Model: t.Model.ID, Provider: t.Provider.Name})
	a.ctx, a.cancel = context.WithCancelCause(r.ctx)
	if r.e.Tracer != nil {
		a.ctx, a.span = r.e.Tracer.Start(a.ctx, "attempt")
		a.span.Annotate("provider", t.Provider.Name)
		a.span.Annotate("model", t.Model.ID)
	}
	a.limit, a.limitCause = t.Timeout, errAttemptTimeout
	if !r.preDeadline.IsZero() {
		if left := r.preDeadline.Sub(a.began); left < a.limit {
			a.limit, a.limitCause = max(left, 0), errRouteDeadline
		}
	}
	if t.FirstByteTimeout > 0 && t.FirstByteTimeout < a.limit {
		a.fbt = t.FirstByteTimeout
	}
	first := a.limit
	if a.fbt > 0 {
		first = a.fbt
	}
	a.timer = time.AfterFunc(first, a.expire)
	// An answer in one piece has begun when its body has: the first_byte
	// threshold and a hedge both wait for that.
	if r.p.Do != nil && (a.fbt > 0 || t.HedgeAfter > 0) {
		a.ctx = llm.WithFirstByte(a.ctx, a.gotFirstByte)
	}
	return a
}

func (a *attempt) gotFirstByte() { a.firstByte.Store(true) }

// expire runs when the attempt's timer fires. Before the commit: at the
// first_byte threshold it ends an attempt that has not begun, else waits out
// the rest of its limit; at the limit it ends it. After the commit the timer
// is the idle timer: it ends the stream only when no chunk came for the idle
// time, measured from the last chunk, so a timer set before the commit that
// fires just after it cannot cut a healthy stream, and chunks need not
// reset it.
func (a *attempt) expire() {
	if a.committed.Load() {
		if a.idle <= 0 {
			return
		}
		quiet := time.Since(a.began) - time.Duration(a.lastChunk.Load())
		if quiet >= a.idle {
			a.cancel(errIdleTimeout)
			return
		}
		a.timer.Reset(a.idle - quiet)
		return
	}
	elapsed := time.Since(a.began)
	if a.fbt > 0 && !a.firstByte.Load() && elapsed < a.limit {
		a.cancel(errFirstByteTimeout)
		return
	}
	if rest := a.limit - elapsed; rest > 0 {
		a.timer.Reset(rest)
		return
	}
	a.cancel(a.limitCause)
}

// execute makes the attempt up to its commit point: a whole answer, or a
// stream read until its first chunk with content (or its end).
func (r *run) execute(a *attempt) {
	if r.p.Do != nil {
		a.resp, a.err = r.p.Do(a.ctx, &a.Attempt)
		return
	}
	st, err := r.p.Open(a.ctx, &a.Attempt)
	if err != nil {
		a.err = err
		return
	}
	for {
		c, err := st.Next()
		if err != nil {
			if errors.Is(err, io.EOF) && len(a.held) > 0 {
				// An answer with no content (an empty completion, a
				// filtered one) is still the whole answer.
				a.eof = true
				break
			}
			_ = st.Close()
			if errors.Is(err, io.EOF) {
				err = &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
					Code: "empty_stream", Message: "the provider's stream ended before any chunk", Provider: a.Target.Provider.Name}
			} else if e := llm.AsError(err); e != nil && e.Kind == llm.KindUnavailable {
				// Adapters report a failed read as unavailable, but this
				// connection was made: the provider broke off its answer.
				err = &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
					Code: codeStreamBroken, Message: "the provider's stream broke off before any content",
					Provider: a.Target.Provider.Name, Err: err}
			}
			a.err = err
			return
		}
		content := llm.HasContent(c.Data)
		if !content {
			// Held back: Data is only valid until the next call.
			c.Data = append([]byte(nil), c.Data...)
			if c.Usage != nil {
				u := *c.Usage
				c.Usage = &u
			}
		}
		a.held = append(a.held, c)
		if content {
			break
		}
	}
	a.lastChunk.Store(int64(time.Since(a.began)))
	a.committed.Store(true)
	a.firstByte.Store(true)
	a.committedAt = r.e.now()
	a.st = st
}

// classify names an attempt's failure before its commit and the error that
// stands for it. The request's own end is looked at first: when the client
// left or the request's time ran out, no other target can help.
func (r *run) classify(a *attempt) (string, *llm.Error) {
	if errors.Is(r.reqCtx.Err(), context.Canceled) {
		return audit.OutcomeCancelled, errClientClosed()
	}
	if r.ctx.Err() != nil {
		return audit.OutcomeDeadline, errTimeout()
	}
	name := a.Target.Provider.Name
	switch cause := context.Cause(a.ctx); {
	case errors.Is(cause, errFirstByteTimeout):
		return audit.OutcomeFirstByteTimeout, &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout,
			Type: "api_error", Code: "first_byte_timeout", Provider: name, Message: "no answer began within " + a.fbt.String()}
	case errors.Is(cause, errAttemptTimeout):
		return audit.OutcomeTimeout, &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout,
			Type: "api_error", Code: "timeout", Provider: name, Message: "no answer within " + a.limit.String()}
	case errors.Is(cause, errRouteDeadline):
		return audit.OutcomeDeadline, errTimeout()
	}
	var oe *OutputError
	if errors.As(a.err, &oe) {
		return audit.OutcomeInvalidOutput, oe.Err
	}
	outcome, e := Outcome(a.err, name)
	if outcome == audit.OutcomeAuthFailed && r.e.Keys != nil {
		// The provider refused the router's own key: drop any cached copy,
		// so a rotated key is fetched again.
		r.e.Keys.Invalidate(a.Target.Provider.Key)
	}
	return outcome, e
}

// Outcome names the outcome an upstream's error stands for when it ends an
// attempt before its commit point, with the error that stands for it (an
// error that is not an *llm.Error is the provider's being unreachable). The
// decision table says what each outcome does (rules).
func Outcome(err error, provider string) (string, *llm.Error) {
	e := llm.AsError(err)
	if e == nil {
		e = llm.Unavailable(provider, err)
	}
	switch {
	case e.Kind == llm.KindUnavailable:
		return audit.OutcomeUnavailable, e
	case e.Kind == llm.KindUnsupported:
		return audit.OutcomeUnsupported, e
	case e.Code == llm.CodeContextLength:
		return audit.OutcomeContextLimit, e
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Status == http.StatusPaymentRequired ||
		e.Kind == llm.KindAuth:
		// The router's own key or account (402: its credit ran out).
		return audit.OutcomeAuthFailed, e
	case e.Status == http.StatusNotFound:
		return audit.OutcomeModelNotFound, e
	case e.Status == http.StatusTooManyRequests || e.Kind == llm.KindRateLimited:
		return audit.OutcomeRateLimited, e
	case e.Status == http.StatusRequestTimeout || e.Status >= 500:
		return audit.OutcomeError, e
	case e.Status == http.StatusFailedDependency:
		// Bedrock's ModelErrorException and ModelStreamErrorException: the
		// model failed the request, which another model may well serve.
		return audit.OutcomeError, e
	case e.Status >= 400 || e.Kind == llm.KindInvalidRequest || e.Kind == llm.KindTooLarge:
		return audit.OutcomeRejected, e
	}
	// An error with no status (an error event, a broken stream) before any
	// content: the provider failed, not the request.
	return audit.OutcomeError, e
}

// FallsBack reports whether an upstream's error before the commit point
// moves the request to the next candidate.
func FallsBack(err error) bool {
	outcome, _ := Outcome(err, "")
	return rules[outcome].fallback
}

// ended records an attempt's outcome: in the result, to the observer with
// speed (how fast the target was), in the log when it failed, and on its
// span.
func (r *run) ended(a *attempt, outcome string, status int, speed time.Duration) {
	a.timer.Stop()
	a.cancel(nil)
	lat := r.e.now().Sub(a.start)
	r.res.Attempts[a.slot] = audit.Attempt{Model: a.Target.Model.ID, Provider: a.Target.Provider.Name,
		Outcome: outcome, Status: status, LatencyMs: ms(lat), Failed: rules[outcome].failed}
	if r.e.Observer != nil {
		r.e.Observer.Observe(a.Target.Provider.Name, a.Target.Model.ID, outcome, speed)
	}
	if rules[outcome].failed {
		code := ""
		if e := llm.AsError(a.err); e != nil {
			code = e.Code
		}
		r.log().Warn("attempt failed", "request_id", r.p.RequestID, "route", r.p.Route, "model", a.Target.Model.ID,
			"provider", a.Target.Provider.Name, "outcome", outcome, "status", status, "code", code)
	}
	if a.span != nil {
		a.span.Annotate("outcome", outcome)
		var err error
		if outcome != audit.OutcomeOK {
			err = errors.New(outcome)
		}
		a.span.End(err)
	}
}

// answer hands a one-piece answer to the client.
func (r *run) answer(a *attempt) {
	res := r.res
	res.Served, res.Response = a.Target, a.resp
	res.Usage, res.UsageKnown = a.resp.Usage, true
	if a.Structured != "" {
		res.Structured = a.Structured
	}
	res.CostUSD += cost.USD(a.Target.Model.Price, a.resp.Usage)
	r.ended(a, audit.OutcomeOK, http.StatusOK, time.Since(a.began))
	if r.p.Deliver != nil {
		r.p.Deliver(res)
	}
	res.FirstByte = time.Since(r.began)
}

// relay sends a committed stream to the client: the chunks held until the
// commit, then each chunk as it comes, each within the idle timeout.
func (r *run) relay(a *attempt) {
	res := r.res
	res.Served, res.Committed = a.Target, true
	sink := r.p.Sink
	st := a.st
	defer st.Close()
	speed := a.committedAt.Sub(a.start)
	if a.idle > 0 {
		a.lastChunk.Store(int64(time.Since(a.began)))
		a.timer.Reset(a.idle)
	} else {
		a.timer.Stop()
	}
	var usage *llm.Usage
	chunks := 0
	var ferr error
	if err := sink.Commit(a.Target, len(res.Attempts)); err != nil {
		ferr = errClientGone
	}
	for _, c := range a.held {
		if ferr != nil {
			break
		}
		if c.Usage != nil {
			usage = c.Usage
		}
		if err := sink.Chunk(c); err != nil {
			ferr = sinkError(err)
			break
		}
		chunks++
		if chunks == 1 {
			res.FirstByte = time.Since(r.began)
		}
	}
	if ferr == nil && !a.eof {
		for {
			c, err := st.Next()
			if err != nil {
				ferr = err
				break
			}
			if a.idle > 0 {
				a.lastChunk.Store(int64(time.Since(a.began)))
			}
			if c.Usage != nil {
				u := *c.Usage
				usage = &u
			}
			if err := sink.Chunk(c); err != nil {
				ferr = sinkError(err)
				break
			}
			chunks++
		}
	}
	outcome, status := audit.OutcomeOK, http.StatusOK
	switch {
	case ferr == nil || errors.Is(ferr, io.EOF):
		if e := sink.Close(usage); e != nil {
			outcome, status, res.Err = audit.OutcomeInvalidOutput, e.Status, e
		}
	default:
		var e *llm.Error
		outcome, e = r.classifyAfterCommit(a, ferr, chunks)
		status, res.Err = e.Status, e
		if up := llm.AsError(ferr); up != nil && up.Status != 0 && outcome == audit.OutcomeStreamError {
			// The attempt's record keeps the provider's own status (529
			// overloaded, a 424 exception); the client's says 502.
			status = up.Status
		}
		if outcome != audit.OutcomeCancelled {
			sink.Fail(e)
		}
	}
	if usage != nil {
		res.Usage, res.UsageKnown = *usage, true
		res.CostUSD += cost.USD(a.Target.Model.Price, *usage)
	}
	// The attempt's speed is its time to the commit: the rest depends on
	// how long the answer is.
	r.ended(a, outcome, status, speed)
}

// codeStreamBroken is a stream whose connection broke before any content.
const codeStreamBroken = "stream_broken"

// errClientGone is a failed write to the client.
var errClientGone = errors.New("the client is gone")

// sinkError is what a Sink's refusal of a chunk means: an *llm.Error is a
// chunk the surface could not render (the stream fails as the provider's),
// anything else a write the client did not take.
func sinkError(err error) error {
	if llm.AsError(err) != nil {
		return err
	}
	return errClientGone
}

// classifyAfterCommit names the failure of a stream that had committed:
// the request is over and incomplete, whatever happened.
func (r *run) classifyAfterCommit(a *attempt, err error, chunks int) (string, *llm.Error) {
	after := " after " + strconv.Itoa(chunks) + " chunks"
	switch {
	case errors.Is(err, errClientGone) || errors.Is(r.reqCtx.Err(), context.Canceled):
		return audit.OutcomeCancelled, errClientClosed()
	case r.ctx.Err() != nil:
		e := errTimeout()
		e.Message = "the request's time ran out" + after
		return audit.OutcomeDeadline, e
	case errors.Is(context.Cause(a.ctx), errIdleTimeout):
		return audit.OutcomeIdleTimeout, &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout, Type: "api_error",
			Code: "stream_idle_timeout", Provider: a.Target.Provider.Name,
			Message: "the provider sent no chunk for " + a.idle.String() + after}
	}
	e := &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: "stream_error",
		Provider: a.Target.Provider.Name, Message: "the provider's stream failed" + after}
	if up := llm.AsError(err); up != nil && up.Kind != llm.KindUnavailable {
		e.Message = "the provider's stream failed" + after + " (" + summary(up) + ")"
	} else {
		e.Message = "the provider's stream broke off" + after
	}
	return audit.OutcomeStreamError, e
}

func (r *run) isRunning(a *attempt) bool {
	for _, x := range r.running {
		if x == a {
			return true
		}
	}
	return false
}

func (r *run) drop(a *attempt) {
	for i, x := range r.running {
		if x == a {
			r.running = append(r.running[:i], r.running[i+1:]...)
			return
		}
	}
}

// cancelRunning cancels every attempt still running with cause; they are
// collected by settle once the client has its answer.
func (r *run) cancelRunning(cause error) {
	now := r.e.now()
	for _, a := range r.running {
		a.cancel(cause)
		a.lostAt = now
		r.losers = append(r.losers, a)
	}
	r.running = nil
}

// settle collects the attempts cancelled because another won or the request
// ended, and records them. A loser whose whole answer had arrived was billed
// by its provider: its cost is the request's too.
func (r *run) settle() {
	for range r.losers {
		a := <-r.results
		if a.st != nil {
			_ = a.st.Close()
		}
		status := 499
		if a.err == nil && a.resp != nil {
			status = http.StatusOK
			r.res.CostUSD += cost.USD(a.Target.Model.Price, a.resp.Usage)
		}
		outcome := audit.OutcomeCancelled
		if errors.Is(context.Cause(a.ctx), errHedgeLost) {
			outcome = audit.OutcomeHedgeLost
			if r.winner != nil && r.winner.slot > a.slot {
				// It had a head start and still lost: too slow.
				outcome = audit.OutcomeOutpaced
			}
		}
		// Its speed is at least the time it had run when it lost.
		r.ended(a, outcome, status, a.lostAt.Sub(a.start))
	}
	r.losers = nil
}

// failure is what the client gets when no attempt committed.
func (r *run) failure() *llm.Error {
	if r.stop != nil {
		return r.stop
	}
	for _, t := range r.skipped {
		r.notes = append(r.notes, t.Model.ID+" ("+t.Provider.Name+"): not tried, its circuit breaker is testing it with another request")
	}
	var rateLimited, auth, tooLong, unsupported, tried int
	for _, at := range r.res.Attempts {
		tried++
		switch at.Outcome {
		case audit.OutcomeRateLimited:
			rateLimited++
		case audit.OutcomeAuthFailed:
			auth++
		case audit.OutcomeContextLimit:
			tooLong++
		case audit.OutcomeUnsupported:
			unsupported++
		}
	}
	// Every target refused the request as it is: that is the client's to
	// change, a 400, not an outage.
	if tried > 0 && tooLong == tried {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: llm.CodeContextLength, Param: "messages",
			Message: "the request is longer than the context window of every target of route " + strconv.Quote(r.p.Route)}
	}
	if tried > 0 && unsupported+tooLong == tried && r.lastUnsupported != nil {
		return r.lastUnsupported
	}
	if tried > 0 && rateLimited == tried {
		return &llm.Error{Kind: llm.KindRateLimited, Status: http.StatusTooManyRequests, Type: "rate_limit_error",
			Code: "rate_limit_exceeded", RetryAfter: r.retryAfter(),
			Message: "every target of route " + strconv.Quote(r.p.Route) + " is rate limited: " + strings.Join(r.notes, "; ")}
	}
	if tried > 0 && auth == tried {
		return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: "upstream_auth_failed",
			Message: "every target refused the router's own provider credentials (your key is fine; the router's operator must fix the provider keys): " +
				strings.Join(r.notes, "; ")}
	}
	msg := "all targets failed: " + strings.Join(r.notes, "; ")
	if tried == 0 && len(r.notes) == 0 {
		msg = "no target of route " + strconv.Quote(r.p.Route) + " could be tried"
	}
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: "all_targets_failed",
		Message: msg}
}

// defaultRetryAfter is the Retry-After of a request every target refused as
// rate limited without saying when to come back.
const defaultRetryAfter = time.Second

// retryAfter is the smallest wait an upstream asked for, else the default.
func (r *run) retryAfter() time.Duration {
	best := time.Duration(0)
	for _, d := range r.hints {
		if d > 0 && (best == 0 || d < best) {
			best = d
		}
	}
	if best == 0 {
		return defaultRetryAfter
	}
	return best
}

// describe is one failed attempt's part of an all_targets_failed message,
// written by the router: an upstream's own text is never relayed.
func describe(t *route.Target, outcome string, e *llm.Error) string {
	if outcome == audit.OutcomeInvalidOutput {
		// The check's own words about the model's answer.
		return t.Model.ID + " (" + t.Provider.Name + "): " + e.Message
	}
	return t.Model.ID + " (" + t.Provider.Name + "): " + summary(e)
}

// summary says what an upstream error was, in the router's words.
func summary(e *llm.Error) string {
	switch {
	case e.Kind == llm.KindUnavailable:
		return "could not connect"
	case e.Code == "first_byte_timeout" || e.Code == "timeout":
		return e.Message
	case e.Code == llm.CodeContextLength:
		return "the request is longer than the model's context window"
	case e.Kind == llm.KindUnsupported:
		return "the provider cannot take this request as sent (" + e.Code + ")"
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "the provider refused the router's credentials (status " + strconv.Itoa(e.Status) + ")"
	case e.Status == http.StatusNotFound:
		return "the provider does not serve this model (status 404)"
	case e.Status == http.StatusTooManyRequests:
		return "rate limited (status 429)"
	case e.Code == codeStreamBroken:
		return "the stream broke off before any content"
	case e.Status != 0:
		return "status " + strconv.Itoa(e.Status)
	case e.Code != "":
		return "error " + e.Code
	}
	return "failed"
}

func (r *run) log() *slog.Logger {
	if r.e.Log != nil {
		return r.e.Log
	}
	return slog.Default()
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
