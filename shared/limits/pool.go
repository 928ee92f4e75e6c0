package limits

import (
	"context"
	"math"
	"sync"
	"time"
)

// pool is one instance's share of one shared counter: a key's requests in
// one minute, its tokens in one minute, or a key's or tag's spend in one
// month. The instance claims amounts from the counter with an atomic ADD and
// hands them out locally, so most admissions need no round trip.
//
// The rule that makes this safe across instances: a claim of want returns
// the counter's new total T, so prior = T - want is everything claimed
// before it. The claimer keeps what fits under the limit (limit - prior).
// When that is less than the request needs but prior, less what this
// instance holds unused, is still under the limit, it keeps exactly what the
// request needs: the one request that crosses the limit. Claims are
// serialised by DynamoDB, so every later claim sees a total at or over the
// limit: spend exceeds the limit by at most one request's need, as long as
// requests cost no more than they reserved (a request that does is charged
// the difference as a debt).
type pool struct {
	key   poolKey
	name  string
	limit float64
	ttl   time.Duration
	// end is when the pool's window ends (a minute or a month).
	end time.Time
	// returns: unused and ungranted amounts go back to the counter (monthly
	// budgets; minute windows simply expire).
	returns bool
	// whole: the pool counts requests or tokens, so claims are whole numbers
	// and no fraction of the limit is left stranded in a claim.
	whole bool

	mu sync.Mutex
	// local is claimed from the counter and not yet reserved by a request.
	// It goes negative when requests cost more than was reserved, or were
	// admitted while the counter could not be reached: a debt, added to the
	// counter at the next flush.
	local float64
	// pending is a delta for the counter at the next flush (ungranted parts of
	// claims to give back).
	pending float64
	// over is what the one claim that crossed the limit took beyond it. What
	// its request gives back unused pays this down first, to the counter,
	// not to the local share: a request that reserved a huge amount and
	// used little must not leave the instance holding more than the limit.
	over float64
	// seen is the counter's total at the last claim (every instance's claims),
	// and known says there was one.
	seen  float64
	known bool
	// recheck: a counter seen spent is not claimed from again before then.
	recheck time.Time
	// rate is the recent demand per second (an exponentially weighted
	// average over leaseFor), which sizes claims.
	rate    float64
	rateAt  time.Time
	lastUse time.Time
}

// take reserves need from the pool, claiming from the counter when the local
// share is short. It reports whether the request is admitted, and the store
// error when the counter could not be reached: the request is then decided
// on local knowledge (fail open, the amount owed kept as a debt, unless the
// counter was last seen spent).
func (p *pool) take(ctx context.Context, l *Limiter, need float64, now time.Time) (bool, error) {
	p.mu.Lock()
	p.noteDemand(need, now, l.leaseFor())
	if p.local >= need && (need > 0 || p.known && !p.spent()) {
		p.local -= need
		p.mu.Unlock()
		return true, nil
	}
	if p.spent() && now.Before(p.recheck) {
		p.mu.Unlock()
		return false, nil
	}
	if l.degraded(now) {
		// The store failed a moment ago: decide on local knowledge rather
		// than make every request wait for a store that is not answering.
		admit := p.admitBlind(need)
		p.mu.Unlock()
		return admit, nil
	}
	short := max(need-p.local, 0)
	want := max(short, p.lease(l, now))
	if p.whole {
		want = math.Ceil(want)
	}
	p.mu.Unlock()

	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.claimTimeout())
	total, err := l.Counters.Add(cctx, p.name, want, p.ttl)
	cancel()

	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		l.storeFailed(now, err)
		return p.admitBlind(need), err
	}
	prior := total - want
	p.seen, p.known = total, true
	// What this instance holds unused counts in the counter but is not
	// spent: without it, the counter says how much others and this
	// instance's requests in flight have taken.
	taken := prior - max(p.local, 0)
	grant := min(want, max(p.limit-prior, 0))
	if p.local+grant < need && taken < p.limit {
		// The one claim that may cross the limit keeps what this request
		// needs, no more. (Other requests of this instance may have used
		// the local share meanwhile; then it keeps only what it claimed.)
		within := grant
		grant = min(want, need-p.local)
		p.over += max(grant-within, 0)
	}
	if p.returns && grant < want {
		p.pending -= want - grant
	}
	p.local += grant
	admit := p.local >= need && (need > 0 || taken < p.limit)
	if admit {
		p.local -= need
	}
	p.recheck = now.Add(l.recheckAfter())
	return admit, nil
}

// admitBlind decides a request while the counter cannot be reached: admitted
// unless the counter was last seen spent, or what this instance admitted
// blind (its debt) would pass the whole limit. An outage makes the limit per
// instance; it never makes it unlimited. The caller holds p.mu.
func (p *pool) admitBlind(need float64) bool {
	if p.spent() || p.local-need < -p.limit {
		return false
	}
	p.local -= need
	return true
}

// spent reports whether, as last seen, the limit is taken up by requests
// other than those this instance's unused share could serve: then no claim
// can be granted, not even the one that crosses.
func (p *pool) spent() bool {
	return p.known && p.seen-max(p.local, 0) >= p.limit
}

// peek answers take's question from local knowledge only, reserving nothing.
func (p *pool) peek(need float64, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.local >= need || !p.spent() || !now.Before(p.recheck)
}

// give returns an amount to the local share: a reservation released, or the
// part of a reservation a request did not use. A negative amount is a debt.
// What was claimed beyond the limit goes back to the counter instead.
func (p *pool) give(amount float64) {
	p.mu.Lock()
	if amount > 0 && p.over > 0 {
		back := min(amount, p.over)
		p.over -= back
		p.pending -= back
		amount -= back
	}
	p.local += amount
	p.mu.Unlock()
}

// share is how much of the limit was spent or reserved before a request
// that reserved need, as a share of the limit: the counter's total at the
// last claim less what this instance holds unused and the request's own
// need. known is false before the first claim.
func (p *pool) share(need float64) (share float64, known bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known || p.limit <= 0 {
		return 0, p.known
	}
	return (p.seen - max(p.local, 0) - need) / p.limit, true
}

// noteDemand updates the demand rate with a request needing need.
func (p *pool) noteDemand(need float64, now time.Time, over time.Duration) {
	p.lastUse = now
	if over <= 0 {
		return
	}
	tau := over.Seconds()
	if !p.rateAt.IsZero() {
		p.rate *= math.Exp(-max(now.Sub(p.rateAt).Seconds(), 0) / tau)
	}
	p.rate += need / tau
	p.rateAt = now
}

// lease is how much to claim beyond what the request needs: about leaseFor
// of this instance's recent demand, no more than the window has left, and
// never more than a tenth of the limit, so idle instances cannot hold much
// of it.
func (p *pool) lease(l *Limiter, now time.Time) float64 {
	over := l.leaseFor()
	if over <= 0 {
		return 0
	}
	if left := p.end.Sub(now); left < over {
		over = left
	}
	return min(p.rate*max(over.Seconds(), 0), p.limit*maxLeaseShare)
}

// flushDelta takes what the counter is owed or owes back: debts, ungranted
// claims, and (with returns) a local share unused for idle.
func (p *pool) flushDelta(now time.Time, idle time.Duration) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := p.pending
	p.pending = 0
	if p.local < 0 {
		d -= p.local
		p.local = 0
	}
	if p.returns && p.local > 0 && now.Sub(p.lastUse) >= idle {
		d -= p.local
		p.local = 0
	}
	return d
}

// owe puts back a delta whose flush failed.
func (p *pool) owe(d float64) {
	p.mu.Lock()
	p.pending += d
	p.mu.Unlock()
}
