package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// errHedgeLost is the cause an attempt is cancelled with when another
// attempt of the same request answered first.
var errHedgeLost = errors.New("another attempt of this hedged request answered first")

// hedging reports whether a target of the decision may start a hedge: one
// with hedge_after that has another candidate after it. Routes without
// hedging keep the plain loops, which start no goroutine.
func hedging(d *route.Decision) bool {
	for i := 0; i+1 < len(d.Candidates); i++ {
		if d.Candidates[i].HedgeAfter > 0 {
			return true
		}
	}
	return false
}

// raced is how an attempt of a hedged request ended.
type raced struct {
	a *attempt
	// resp is a one-piece answer; st and first a stream that delivered its
	// first chunk. err is set when the attempt failed before answering.
	resp  *llm.Response
	st    llm.Stream
	first llm.Chunk
	err   error
	// lostAt is when the attempt was cancelled because another won.
	lostAt time.Time
}

// race runs a hedged request's attempts. Candidates are tried in order as
// without hedging (the next starts when an attempt fails), with one addition:
// when an attempt whose target has hedge_after has not started answering
// after that long, the next candidate starts beside it. The first attempt
// to answer wins: a whole answer for a one-piece request, the first chunk
// for a stream (so no fallback after the first byte still holds). Every
// other attempt still running is cancelled at once, which closes its
// upstream connection.
type race struct {
	c      *call
	ctx    context.Context
	cands  []*route.Target
	stream bool
	run    func(*attempt) raced

	next     int // the next candidate to start
	running  []*attempt
	results  chan raced
	failures []string
	// losers are the attempts cancelled when another won, collected by
	// settle before the record is finished.
	losers []raced
}

func (c *call) newRace(ctx context.Context, d *route.Decision, stream bool, run func(*attempt) raced) *race {
	return &race{c: c, ctx: ctx, cands: d.Candidates, stream: stream, run: run,
		results: make(chan raced, len(d.Candidates))}
}

// start begins the next candidate the gate allows, in its own goroutine. It
// reports false when no candidate is left.
func (r *race) start() (*attempt, bool) {
	for r.next < len(r.cands) {
		t := r.cands[r.next]
		r.next++
		if !r.c.allowed(t) {
			r.failures = append(r.failures, skipped(t))
			continue
		}
		a := r.c.begin(r.ctx, t, r.stream)
		r.running = append(r.running, a)
		go func() { r.results <- r.run(a) }()
		return a, true
	}
	return nil, false
}

// wait runs the race until an attempt answers (the winner), an attempt ends
// the request (stop: the client left, the deadline passed, or the upstream
// refused the request itself), or every candidate has failed (both nil).
func (r *race) wait() (win *raced, stop *llm.Error) {
	var hedge *time.Timer
	var hedgeC <-chan time.Time
	var hedgeFor *attempt
	defer func() {
		if hedge != nil {
			hedge.Stop()
		}
	}()
	// arm sets the hedge timer for a, the latest attempt started, when its
	// target hedges and a candidate is left to hedge with.
	arm := func(a *attempt) {
		hedgeC, hedgeFor = nil, nil
		if a == nil || a.t.HedgeAfter <= 0 || r.next >= len(r.cands) {
			return
		}
		if hedge == nil {
			hedge = time.NewTimer(a.t.HedgeAfter)
		} else {
			hedge.Reset(a.t.HedgeAfter)
		}
		hedgeC, hedgeFor = hedge.C, a
	}
	a, ok := r.start()
	if !ok {
		return nil, nil
	}
	arm(a)
	for len(r.running) > 0 {
		select {
		case res := <-r.results:
			r.drop(res.a)
			if res.err == nil {
				r.cancelRunning(errHedgeLost)
				return &res, nil
			}
			c := r.c
			e, outcome := c.failure(r.ctx, res.a, res.err)
			c.record(res.a, outcome, e.Status)
			c.logAttempt(res.a, e, outcome)
			if ends(outcome, res.err) {
				r.cancelRunning(context.Canceled)
				return nil, upstreamAnswer(e)
			}
			r.failures = append(r.failures, describe(res.a.t, e, outcome))
			if len(r.running) == 0 {
				// Plain fallback: nothing else is running.
				a, ok := r.start()
				if !ok {
					return nil, nil
				}
				arm(a)
			}
		case <-hedgeC:
			hedgeC = nil
			if r.isRunning(hedgeFor) && !hedgeFor.firstByte.Load() {
				a, _ := r.start()
				arm(a)
			}
		}
	}
	return nil, nil
}

func (r *race) drop(a *attempt) {
	for i, x := range r.running {
		if x == a {
			r.running = append(r.running[:i], r.running[i+1:]...)
			return
		}
	}
}

func (r *race) isRunning(a *attempt) bool {
	for _, x := range r.running {
		if x == a {
			return true
		}
	}
	return false
}

// cancelRunning cancels every attempt still running with cause and keeps
// them to be settled: their goroutines still hold results to collect.
func (r *race) cancelRunning(cause error) {
	now := r.c.g.now()
	for _, a := range r.running {
		a.cancel(cause)
		r.losers = append(r.losers, raced{a: a, lostAt: now})
	}
	r.running = nil
}

// settle collects the attempts cancelled by the race, records them and
// releases what they hold. A loser whose whole answer had already arrived
// was charged by its provider: its cost is added to the request's (a loser
// cancelled before answering may have been charged for what it generated
// meanwhile; no usage came back, so the router cannot know, see
// docs/HEALTH.md).
func (r *race) settle() {
	// Only the losers' goroutines have results left to send.
	for range r.losers {
		res := <-r.results
		var lostAt time.Time
		for _, l := range r.losers {
			if l.a == res.a {
				lostAt = l.lostAt
			}
		}
		res.a.end()
		if res.st != nil {
			_ = res.st.Close()
		}
		status := 499
		if res.err == nil && res.resp != nil {
			status = http.StatusOK
			r.c.rec.CostUSD += cost.USD(res.a.t.Model.Price, res.resp.Usage)
		}
		outcome := audit.OutcomeHedgeLost
		if !errors.Is(context.Cause(res.a.ctx), errHedgeLost) {
			outcome = audit.OutcomeCancelled // the request ended for another reason
		}
		lat := lostAt.Sub(res.a.start)
		r.c.observe(res.a, outcome, status, lat, lat)
	}
	r.losers = nil
}

// completeHedged is the one-piece attempt loop of a route that hedges.
func (c *call) completeHedged(ctx context.Context, d *route.Decision, invoke func(*attempt) (*llm.Response, error)) {
	r := c.newRace(ctx, d, false, func(a *attempt) raced {
		resp, err := invoke(a)
		a.end()
		return raced{a: a, resp: resp, err: err}
	})
	win, stop := r.wait()
	if win != nil {
		// The client gets its answer before the losers are collected; their
		// cost, if any, reaches the audit record only (x-router-cost-usd is
		// the answer's).
		c.answer(win.a, win.resp)
		r.settle()
		c.finish(http.StatusOK)
		return
	}
	r.settle()
	if stop != nil {
		c.fail(stop)
		return
	}
	c.fail(errAllFailed("all targets failed: " + strings.Join(r.failures, "; ")))
}

// streamHedged is the streaming attempt loop of a route that hedges: the
// race is decided at the first chunk, before anything reaches the client.
func (c *call) streamHedged(ctx context.Context, d *route.Decision) {
	r := c.newRace(ctx, d, true, func(a *attempt) raced {
		st, first, err := c.open(a)
		if err != nil {
			a.end()
		}
		return raced{a: a, st: st, first: first, err: err}
	})
	win, stop := r.wait()
	if win != nil {
		c.relay(ctx, win.a, win.st, win.first)
		r.settle()
		c.finish(http.StatusOK)
		return
	}
	r.settle()
	if stop != nil {
		c.fail(stop)
		return
	}
	c.fail(errAllFailed("all targets failed: " + strings.Join(r.failures, "; ")))
}
