package health

import (
	"fmt"
	"strconv"
	"time"

	"github.com/llm-router/router/shared/config"
)

// Breaker states.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half_open"
)

// change is a breaker transition to share with the other routers.
type change uint8

const (
	unchanged change = iota
	opened
	closed
)

// breaker is one target's circuit breaker (Caddy's and Hystrix's rule, per
// target): closed, it counts consecutive failed attempts and opens at
// breaker_failures; open, it refuses the target until its cooldown ends;
// then half-open, it lets one trial attempt through: a success closes it, a
// failure opens it for another cooldown.
//
// Attempts are not always admitted by allow: when every candidate of a
// request is out, the request path may try targets anyway rather than fail
// the request (Envoy's panic mode), and an attempt in flight when the breaker
// opened still reports. So observe takes any outcome in any state: a success
// closes the breaker whatever its state, since the target just served.
//
// Methods take the clock and the policy; the caller holds the target's lock.
type breaker struct {
	state    string
	failures int // consecutive failures (closed), or those that opened it
	last     string
	openedAt time.Time
	until    time.Time
	reason   string
	// trialAt is when the half-open trial attempt started; zero when none is
	// in flight.
	trialAt time.Time
	// closedAt is when a success last closed it, so an opening reported by
	// another router from before that success is not adopted.
	closedAt time.Time
}

// current moves an open breaker whose cooldown is over to half-open.
func (b *breaker) current(now time.Time) string {
	if b.state == "" {
		b.state = BreakerClosed
	}
	if b.state == BreakerOpen && !now.Before(b.until) {
		b.state = BreakerHalfOpen
		b.trialAt = time.Time{}
	}
	return b.state
}

// usable reports whether the planner may include the target.
func (b *breaker) usable(now time.Time, p *config.HealthPolicy) (bool, string) {
	switch b.current(now) {
	case BreakerOpen:
		return false, fmt.Sprintf("circuit open for %s more: %s", b.until.Sub(now).Round(time.Second), b.reason)
	case BreakerHalfOpen:
		if b.trialInFlight(now, p) {
			return false, "circuit half-open: a trial request is testing it"
		}
	}
	return true, ""
}

// trialInFlight reports a trial that started and has not ended. A trial
// that never reported within a cooldown is presumed lost, so one stuck
// request cannot keep a recovered target out.
func (b *breaker) trialInFlight(now time.Time, p *config.HealthPolicy) bool {
	return !b.trialAt.IsZero() && now.Sub(b.trialAt) < p.BreakerCooldown.D()
}

// allow admits an attempt that is about to start: always when closed, never
// when open, and one trial at a time when half-open.
func (b *breaker) allow(now time.Time, p *config.HealthPolicy) bool {
	switch b.current(now) {
	case BreakerOpen:
		return false
	case BreakerHalfOpen:
		if b.trialInFlight(now, p) {
			return false
		}
		b.trialAt = now
	}
	return true
}

// observe counts an attempt's outcome, admitted by allow or not, and reports
// the transition it caused.
func (b *breaker) observe(now time.Time, outcome string, p *config.HealthPolicy) change {
	class := classify(outcome)
	switch b.current(now) {
	case BreakerClosed:
		switch class {
		case success:
			b.failures = 0
		case failure:
			b.failures++
			b.last = outcome
			if b.failures >= p.BreakerFailures {
				b.open(now, p, strconv.Itoa(b.failures)+" failed attempts in a row (last: "+outcome+")")
				return opened
			}
		}
	case BreakerHalfOpen:
		switch class {
		case success:
			b.close(now)
			return closed
		case failure:
			b.failures++
			b.open(now, p, "its trial request failed ("+outcome+")")
			return opened
		default:
			// The trial ended without a verdict (the client left, the
			// request was refused as invalid): let another request try. If
			// it was an attempt allow did not admit, the trial still running
			// loses its slot early: at worst one more trial starts.
			b.trialAt = time.Time{}
		}
	case BreakerOpen:
		// A success proves the target serves again, so it closes the
		// breaker rather than keep it out for the rest of the cooldown; a
		// failure or no verdict is no news.
		if class == success {
			b.close(now)
			return closed
		}
	}
	return unchanged
}

// close closes the breaker after a success at now.
func (b *breaker) close(now time.Time) {
	b.state, b.failures, b.reason, b.trialAt, b.closedAt = BreakerClosed, 0, "", time.Time{}, now
}

func (b *breaker) open(now time.Time, p *config.HealthPolicy, reason string) {
	b.state, b.openedAt, b.until, b.reason, b.trialAt = BreakerOpen, now, now.Add(p.BreakerCooldown.D()), reason, time.Time{}
}

// adopt applies another router's report. An opening that ends later than
// anything known here, and is newer than the success that last closed this
// breaker, opens it until then; a closing newer than this breaker's opening
// closes it.
func (b *breaker) adopt(s SharedBreaker, now time.Time) {
	state := b.current(now)
	switch s.State {
	case BreakerOpen:
		if !s.OpenUntil.After(now) || !s.OpenedAt.After(b.closedAt) {
			return
		}
		if state == BreakerOpen && !s.OpenUntil.After(b.until) {
			return
		}
		if state == BreakerHalfOpen && !s.OpenedAt.After(b.openedAt) {
			return
		}
		b.state, b.openedAt, b.until, b.trialAt = BreakerOpen, s.OpenedAt, s.OpenUntil, time.Time{}
		b.failures = s.Failures
		b.reason = s.Reason + " (seen by another router instance)"
	case BreakerClosed:
		if state != BreakerClosed && s.ClosedAt.After(b.openedAt) {
			b.close(s.ClosedAt)
		}
	}
}
