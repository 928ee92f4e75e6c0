// Package limits enforces router keys' rate limits (rpm, tpm) and monthly
// budgets (per key and per tag) across every router instance, and the
// on_budget route downgrade.
//
// The shared truth is a set of counters in the state table, updated with
// atomic ADDs (dynamo.StateStore; Memory for a local router). An instance
// does not pay a round trip per request: it claims a slice of a counter sized
// to its recent demand (about LeaseFor of it) and admits requests against
// that slice in memory. A claim never takes more than the limit has left,
// except that the one claim that finds the counter just under its limit may
// take what its request needs: across all instances a limit is exceeded by at
// most one request's need, and only when estimates were right (a request that
// costs more than its reservation is charged the difference afterwards).
// docs/SECURITY.md gives the accuracy and its reasons.
//
// Admission happens after authentication, routing and classification and
// before any provider is called; a Ticket settles the request's real cost and
// tokens when it ends, in memory. Flush writes what instances owe the
// counters (debts, unused slices): the Lambda adapter calls it after each
// invocation, Run every interval on a long-running server.
package limits

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/config"
)

// Counters is the shared store of counters. dynamo.StateStore implements it
// with one UpdateItem ADD per call; Memory for a single local process.
type Counters interface {
	// Add adds delta to the counter named key, creating it at zero, and
	// returns its new value. With ttl > 0 the counter may be deleted ttl after
	// the call.
	Add(ctx context.Context, key string, delta float64, ttl time.Duration) (float64, error)
}

// Defaults of Limiter.
const (
	// DefaultLeaseFor sizes claims: about this long of an instance's recent
	// demand on a counter is claimed at once.
	DefaultLeaseFor = 10 * time.Second
	// DefaultClaimTimeout bounds one claim in a request's path; past it the
	// request is admitted on local knowledge.
	DefaultClaimTimeout = time.Second
	// DefaultRecheckAfter is how long an instance trusts that a counter is at
	// its limit before it asks the store again.
	DefaultRecheckAfter = time.Second
	// DefaultReturnIdle is how long a claimed budget slice may sit unused
	// before Flush gives it back.
	DefaultReturnIdle = 30 * time.Second
	// degradedFor is how long after a store error requests are admitted on
	// local knowledge without trying the store.
	degradedFor = time.Second
	// maxLeaseShare caps one claim beyond a request's need at this share of
	// the limit.
	maxLeaseShare = 0.1
)

// Codes of refusals (429 rate_limit_error).
const (
	CodeRateLimit = "rate_limit_exceeded"
	CodeBudget    = "budget_exceeded"
)

// Limiter enforces limits. Set the fields, then use; it is safe for
// concurrent use.
type Limiter struct {
	// Counters is the shared store (required).
	Counters Counters
	// LeaseFor sizes claims (default DefaultLeaseFor); negative claims only
	// what each request needs, one store call per admission, which is right
	// for Memory.
	LeaseFor time.Duration
	// ClaimTimeout bounds one claim (default DefaultClaimTimeout).
	ClaimTimeout time.Duration
	// RecheckAfter (default DefaultRecheckAfter) and ReturnIdle (default
	// DefaultReturnIdle; negative: at every flush) tune the store traffic of
	// exhausted and idle counters.
	RecheckAfter, ReturnIdle time.Duration
	// Log receives store failures (default slog.Default()); never a key.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu    sync.RWMutex
	pools map[poolKey]*pool

	degradedUntil atomic.Int64 // unix nanoseconds
	lastLog       atomic.Int64
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Limiter) leaseFor() time.Duration {
	switch {
	case l.LeaseFor < 0:
		return 0
	case l.LeaseFor == 0:
		return DefaultLeaseFor
	}
	return l.LeaseFor
}

func (l *Limiter) claimTimeout() time.Duration {
	if l.ClaimTimeout > 0 {
		return l.ClaimTimeout
	}
	return DefaultClaimTimeout
}

func (l *Limiter) recheckAfter() time.Duration {
	if l.RecheckAfter > 0 {
		return l.RecheckAfter
	}
	return DefaultRecheckAfter
}

func (l *Limiter) returnIdle() time.Duration {
	switch {
	case l.ReturnIdle < 0:
		return 0
	case l.ReturnIdle == 0:
		return DefaultReturnIdle
	}
	return l.ReturnIdle
}

func (l *Limiter) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

func (l *Limiter) degraded(now time.Time) bool {
	return now.UnixNano() < l.degradedUntil.Load()
}

// storeFailed starts a short period of admitting on local knowledge, and
// logs at most once a second.
func (l *Limiter) storeFailed(now time.Time, err error) {
	l.degradedUntil.Store(now.Add(degradedFor).UnixNano())
	if last := l.lastLog.Load(); now.UnixNano()-last >= int64(time.Second) && l.lastLog.CompareAndSwap(last, now.UnixNano()) {
		l.log().Warn("limit counters unreachable: admitting on this instance's own counts", "error", err)
	}
}

// Query is what admission needs to know about a request.
type Query struct {
	// Key is the caller's key; its rpm, tpm and budget apply.
	Key *config.Key
	// Budgets are the configuration's tag budgets; those matching Tags apply.
	Budgets []config.TagBudget
	// Tags are the request's tags (the key's merged under the request's).
	Tags map[string]string
	// Route is the route the request asked for.
	Route string
	// Tokens estimates the request's tokens (prompt and output) for tpm.
	Tokens float64
	// Estimate prices the request on a route: the most it is expected to
	// cost there, and whether the route could serve this request at all
	// (it exists and has a target with the request's compliance tags). It
	// is asked for Route and for the route of an applicable on_budget rule.
	Estimate func(route string) (usd float64, ok bool)
	// DryRun answers from what this instance knows, reserving nothing and
	// calling no store (the explain endpoint).
	DryRun bool
}

// Refusal is a request refused by a limit: 429 with Code, and Retry-After.
type Refusal struct {
	// Code is CodeRateLimit or CodeBudget.
	Code string
	// Limit names the limit for the audit record: rpm, tpm, budget, or
	// budget:TAG=VALUE.
	Limit string
	// Message is for the client; it names the limit, never a key.
	Message string
	// RetryAfter is when the window or month ends.
	RetryAfter time.Duration
}

// Error is the refusal's message.
func (r *Refusal) Error() string { return "limits: " + r.Message }

// Ticket is an admitted request's reservations. Settle it when the request
// ends.
type Ticket struct {
	// Route is the route to serve: Query.Route, or a downgrade's.
	Route string
	// DowngradedFrom is the route asked for when a downgrade applied.
	DowngradedFrom string
	// StoreErr is set when a counter could not be reached and the request
	// was admitted on local knowledge.
	StoreErr error

	held    []reservation
	buf     [4]reservation // held's storage for the usual few limits
	settled atomic.Bool
}

// reservation is what one limit holds for a request.
type reservation struct {
	p    *pool
	kind uint8
	need float64
}

// Kinds of pool.
const (
	kindRPM uint8 = iota
	kindTPM
	kindKeyBudget
	kindTagBudget
)

// poolKey names a pool without building its counter's name, so a warm
// admission allocates nothing to find its pools.
type poolKey struct {
	kind      uint8
	id, value string // key id; or tag name and value
	window    int64  // the minute (Unix minutes) or the month (year*12+month-1)
}

// name is the pool's counter in the state table, e.g. rpm#app#202601021504,
// usd#key#app#202601 or usd#tag#team=triage#202601 (the value escaped).
func (k poolKey) name() string {
	switch k.kind {
	case kindRPM, kindTPM:
		prefix := "rpm#"
		if k.kind == kindTPM {
			prefix = "tpm#"
		}
		return prefix + k.id + "#" + time.Unix(k.window*60, 0).UTC().Format("200601021504")
	case kindKeyBudget:
		return "usd#key#" + k.id + "#" + monthStamp(k.window)
	}
	return "usd#tag#" + k.id + "=" + url.PathEscape(k.value) + "#" + monthStamp(k.window)
}

func monthStamp(w int64) string {
	return fmt.Sprintf("%04d%02d", w/12, w%12+1)
}

// budget is one budget that applies to a request.
type budget struct {
	key   poolKey
	limit float64
	on    *config.Downgrade
}

// what names a budget in refusals and the audit record.
func (b *budget) what() string {
	if b.key.kind == kindKeyBudget {
		return "budget"
	}
	return "budget:" + b.key.id + "=" + b.key.value
}

func (b *budget) describe() string {
	usd := strconv.FormatFloat(b.limit, 'f', -1, 64)
	if b.key.kind == kindKeyBudget {
		return "this API key (" + usd + " USD)"
	}
	return "tag " + b.key.id + "=" + b.key.value + " (" + usd + " USD)"
}

// Admit decides whether a request may go ahead, and on which route. On
// refusal the error is a *Refusal. A nil Key, or a key with no limits and no
// matching tag budget, is admitted at once.
func (l *Limiter) Admit(ctx context.Context, q *Query) (*Ticket, error) {
	t := &Ticket{Route: q.Route}
	t.held = t.buf[:0]
	if q.Key == nil {
		return t, nil
	}
	now := l.now()
	u := now.UTC()
	minute, month := u.Unix()/60, int64(u.Year())*12+int64(u.Month())-1
	k := q.Key
	var bbuf [4]budget
	budgets := applicable(bbuf[:0], q, month)
	if k.RPM <= 0 && k.TPM <= 0 && len(budgets) == 0 {
		return t, nil
	}
	a := admission{l: l, ctx: ctx, q: q, t: t, now: now}
	if k.RPM > 0 {
		p := l.pool(poolKey{kind: kindRPM, id: k.ID, window: minute}, float64(k.RPM), now)
		if !a.take(p, kindRPM, 1) {
			return a.refuse(CodeRateLimit, "rpm", fmt.Sprintf("API key %s is over its limit of %d requests per minute", k.ID, k.RPM), p.end)
		}
	}
	if k.TPM > 0 {
		p := l.pool(poolKey{kind: kindTPM, id: k.ID, window: minute}, float64(k.TPM), now)
		if !a.take(p, kindTPM, q.Tokens) {
			return a.refuse(CodeRateLimit, "tpm", fmt.Sprintf("API key %s is over its limit of %d tokens per minute", k.ID, k.TPM), p.end)
		}
	}
	if len(budgets) == 0 {
		return t, nil
	}

	usd, _ := estimate(q, q.Route)
	first := len(t.held)
	var pbuf [4]*pool
	pools := pbuf[:0]
	for i := range budgets {
		b := &budgets[i]
		p := l.pool(b.key, b.limit, now)
		pools = append(pools, p)
		if !a.take(p, b.key.kind, usd) {
			return a.refuse(CodeBudget, b.what(), "the monthly budget of "+b.describe()+" is spent", p.end)
		}
	}
	// Budgets reserved: move to a downgrade route if a budget is past its
	// rule's share and that route could take this request.
	for i := range budgets {
		on := budgets[i].on
		if on == nil || on.Route == q.Route {
			continue
		}
		reserved := usd
		if q.DryRun {
			reserved = 0
		}
		share, known := pools[i].share(reserved)
		if !known || share < on.At {
			continue
		}
		cheaper, ok := estimate(q, on.Route)
		if !ok {
			continue
		}
		t.Route, t.DowngradedFrom = on.Route, q.Route
		// Reservations follow the route's estimate; the difference goes back
		// to (or comes from) the local share, with no store call.
		for j := first; j < len(t.held); j++ {
			t.held[j].p.give(t.held[j].need - cheaper)
			t.held[j].need = cheaper
		}
		break
	}
	return t, nil
}

// admission is one Admit under way.
type admission struct {
	l   *Limiter
	ctx context.Context
	q   *Query
	t   *Ticket
	now time.Time
}

// take reserves need from p; a dry run only asks.
func (a *admission) take(p *pool, kind uint8, need float64) bool {
	if a.q.DryRun {
		return p.peek(need, a.now)
	}
	ok, err := p.take(a.ctx, a.l, need, a.now)
	if err != nil && a.t.StoreErr == nil {
		a.t.StoreErr = err
	}
	if ok {
		a.t.held = append(a.t.held, reservation{p: p, kind: kind, need: need})
	}
	return ok
}

// refuse gives back what earlier limits reserved and returns the refusal.
func (a *admission) refuse(code, limit, msg string, until time.Time) (*Ticket, error) {
	for _, r := range a.t.held {
		r.p.give(r.need)
	}
	return nil, &Refusal{Code: code, Limit: limit, Message: msg, RetryAfter: until.Sub(a.now)}
}

// estimate asks the query's estimator; a query without one estimates 0.
func estimate(q *Query, route string) (float64, bool) {
	if q.Estimate == nil {
		return 0, true
	}
	usd, ok := q.Estimate(route)
	return max(usd, 0), ok
}

// applicable appends the budgets that apply to a request: its key's, then
// each tag budget whose tag and value the request carries.
func applicable(dst []budget, q *Query, month int64) []budget {
	if b := q.Key.Budget; b != nil {
		dst = append(dst, budget{key: poolKey{kind: kindKeyBudget, id: q.Key.ID, window: month}, limit: b.MonthlyUSD, on: b.OnBudget})
	}
	for i := range q.Budgets {
		tb := &q.Budgets[i]
		v, ok := q.Tags[tb.Tag]
		if !ok || (tb.Value != "" && tb.Value != v) {
			continue
		}
		dst = append(dst, budget{key: poolKey{kind: kindTagBudget, id: tb.Tag, value: v, window: month},
			limit: tb.MonthlyUSD, on: tb.OnBudget})
	}
	return dst
}

// pool returns the pool of a counter, creating it; its limit follows the
// configuration in force.
func (l *Limiter) pool(k poolKey, limit float64, now time.Time) *pool {
	l.mu.RLock()
	p := l.pools[k]
	l.mu.RUnlock()
	if p == nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		if p = l.pools[k]; p == nil {
			p = newPool(k, limit, now)
			if l.pools == nil {
				l.pools = make(map[poolKey]*pool)
			}
			l.pools[k] = p
			return p
		}
	}
	p.mu.Lock()
	p.limit = limit
	p.mu.Unlock()
	return p
}

func newPool(k poolKey, limit float64, now time.Time) *pool {
	p := &pool{key: k, name: k.name(), limit: limit}
	switch k.kind {
	case kindRPM, kindTPM:
		p.end = time.Unix((k.window+1)*60, 0)
		p.whole = true
		// Counters outlive their window a little, for inspection; DynamoDB's
		// TTL deletes them later.
		p.ttl = p.end.Sub(now) + time.Hour
	default:
		p.end = time.Date(int(k.window/12), time.Month(k.window%12+1), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0)
		p.returns = true
		p.ttl = p.end.Sub(now) + 35*24*time.Hour
	}
	return p
}

// Settle records what the request really used: its cost in USD and its
// tokens, when known. It releases the difference to the instance's share (or
// records a debt when the request cost more than its reservation) in
// memory; it never calls the store. Unknown usage (a stream that reported
// none) keeps the reservations as spent. Settling twice does nothing.
func (t *Ticket) Settle(usd float64, tokens int, known bool) {
	if t == nil || !t.settled.CompareAndSwap(false, true) || !known {
		return
	}
	for _, r := range t.held {
		switch r.kind {
		case kindTPM:
			r.p.give(r.need - float64(tokens))
		case kindKeyBudget, kindTagBudget:
			r.p.give(r.need - usd)
		}
	}
}

// Flush writes what this instance owes the counters or returns to them:
// debts of requests that cost more than reserved or were admitted while the
// store was unreachable, ungranted parts of claims, and budget slices unused
// for ReturnIdle. Pools of ended windows are dropped. Usually it has nothing
// to write and makes no call.
func (l *Limiter) Flush(ctx context.Context) error {
	now := l.now()
	l.mu.Lock()
	pools := make([]*pool, 0, len(l.pools))
	for k, p := range l.pools {
		if !now.Before(p.end) && !p.returns {
			delete(l.pools, k) // a minute window that ended owes nothing useful
			continue
		}
		pools = append(pools, p)
	}
	l.mu.Unlock()
	var first error
	for _, p := range pools {
		d := p.flushDelta(now, l.returnIdle())
		if d == 0 {
			if !now.Before(p.end) {
				l.drop(p)
			}
			continue
		}
		if _, err := l.Counters.Add(ctx, p.name, d, p.ttl); err != nil {
			p.owe(d)
			if first == nil {
				first = fmt.Errorf("limits: flush %s: %w", p.name, err)
			}
			continue
		}
		if !now.Before(p.end) {
			l.drop(p)
		}
	}
	return first
}

func (l *Limiter) drop(p *pool) {
	l.mu.Lock()
	if l.pools[p.key] == p {
		delete(l.pools, p.key)
	}
	l.mu.Unlock()
}

// Run flushes every interval until ctx ends, then once more, for a
// long-running server (a Lambda flushes after each invocation instead).
func (l *Limiter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			_ = l.Flush(fctx)
			cancel()
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil {
				l.log().Warn("limit counters: flush failed; retrying later", "error", err)
			}
		}
	}
}
