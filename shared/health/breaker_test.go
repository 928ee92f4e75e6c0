package health

import (
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
)

func policy(failures int, cooldown time.Duration) *config.HealthPolicy {
	p := config.HealthPolicy{BreakerFailures: failures, BreakerCooldown: config.Duration(cooldown)}.WithDefaults()
	return &p
}

// Closed -> open after N failures in a row -> half-open after the cooldown
// with one trial at a time -> closed by a good trial, or open again by a
// failed one.
func TestBreakerCycle(t *testing.T) {
	p := policy(3, 10*time.Second)
	var b breaker
	now := t0
	for i, o := range []string{audit.OutcomeError, audit.OutcomeTimeout, audit.OutcomeOK, audit.OutcomeError, audit.OutcomeUnavailable} {
		if ch := b.observe(now, o, p); ch != unchanged {
			t.Fatalf("outcome %d (%s) changed the breaker: a success in between resets the count", i, o)
		}
	}
	// Caller errors and the client leaving say nothing about the provider.
	for _, o := range []string{audit.OutcomeRejected, audit.OutcomeCancelled, audit.OutcomeDeadline, audit.OutcomeHedgeLost} {
		if ch := b.observe(now, o, p); ch != unchanged {
			t.Fatalf("%s changed the breaker", o)
		}
	}
	if ch := b.observe(now, audit.OutcomeFirstByteTimeout, p); ch != opened {
		t.Fatalf("third failure in a row: %v, want opened", ch)
	}
	if ok, why := b.usable(now.Add(9*time.Second), p); ok || !strings.Contains(why, "circuit open") || !strings.Contains(why, "3 failed attempts in a row") {
		t.Errorf("open breaker: usable %v %q", ok, why)
	}
	if b.allow(now.Add(9*time.Second), p) {
		t.Error("an open breaker allowed an attempt")
	}
	// Cooldown over: half-open, one trial.
	now = now.Add(10 * time.Second)
	if ok, _ := b.usable(now, p); !ok {
		t.Fatal("half-open breaker not usable before its trial")
	}
	if !b.allow(now, p) {
		t.Fatal("half-open breaker refused the trial")
	}
	if b.allow(now, p) {
		t.Error("a second trial was allowed while the first is in flight")
	}
	if ok, why := b.usable(now, p); ok || !strings.Contains(why, "half-open") {
		t.Errorf("during the trial: usable %v %q", ok, why)
	}
	// The trial fails: open for another cooldown.
	if ch := b.observe(now.Add(time.Second), audit.OutcomeError, p); ch != opened {
		t.Fatalf("failed trial: %v, want opened", ch)
	}
	if b.current(now.Add(10*time.Second)) != BreakerOpen {
		t.Error("reopened breaker should stay open a full cooldown from the failed trial")
	}
	// Next trial succeeds: closed, counting from zero again.
	now = now.Add(11 * time.Second)
	if !b.allow(now, p) {
		t.Fatal("second trial refused")
	}
	if ch := b.observe(now, audit.OutcomeOK, p); ch != closed {
		t.Fatalf("good trial: %v, want closed", ch)
	}
	if ok, _ := b.usable(now, p); !ok || b.failures != 0 {
		t.Errorf("closed breaker: usable %v failures %d", ok, b.failures)
	}
}

// A trial that ends without a verdict frees the slot at once; one that never
// reports frees it after a cooldown, so a lost request cannot keep a target
// out for ever.
func TestBreakerTrialRelease(t *testing.T) {
	p := policy(1, 10*time.Second)
	var b breaker
	b.observe(t0, audit.OutcomeError, p)
	now := t0.Add(10 * time.Second)
	if !b.allow(now, p) {
		t.Fatal("trial refused")
	}
	b.observe(now, audit.OutcomeCancelled, p)
	if !b.allow(now, p) {
		t.Fatal("a cancelled trial still holds the slot")
	}
	if b.allow(now.Add(9*time.Second), p) {
		t.Fatal("a second trial while one is in flight")
	}
	if !b.allow(now.Add(10*time.Second), p) {
		t.Error("a trial that never reported still holds the slot after a cooldown")
	}
}

// Another router's opening is adopted unless it is older than this
// breaker's own evidence; its closing closes a breaker opened before it.
func TestBreakerAdopt(t *testing.T) {
	p := policy(2, 30*time.Second)
	remoteOpen := SharedBreaker{Provider: "p", Model: "m", State: BreakerOpen, OpenedAt: t0,
		OpenUntil: t0.Add(30 * time.Second), Failures: 5, Reason: "5 failed attempts in a row (last: error)"}

	var b breaker
	b.adopt(remoteOpen, t0.Add(time.Second))
	if ok, why := b.usable(t0.Add(time.Second), p); ok || !strings.Contains(why, "another router") {
		t.Errorf("after adopting an opening: usable %v %q", ok, why)
	}
	// An expired opening is not adopted.
	var fresh breaker
	fresh.adopt(remoteOpen, t0.Add(31*time.Second))
	if ok, _ := fresh.usable(t0.Add(31*time.Second), p); !ok {
		t.Error("an opening whose cooldown is over was adopted")
	}
	// A success here after the remote opening outranks it.
	var healed breaker
	healed.observe(t0.Add(-time.Minute), audit.OutcomeError, p)
	healed.observe(t0.Add(-time.Minute), audit.OutcomeError, p) // open until t0-30s
	healed.allow(t0.Add(2*time.Second), p)
	healed.observe(t0.Add(2*time.Second), audit.OutcomeOK, p) // closed at t0+2s
	healed.adopt(remoteOpen, t0.Add(3*time.Second))
	if ok, _ := healed.usable(t0.Add(3*time.Second), p); !ok {
		t.Error("an opening from before this router's successful trial was adopted")
	}
	// A remote closing newer than the opening closes it.
	b.adopt(SharedBreaker{Provider: "p", Model: "m", State: BreakerClosed, ClosedAt: t0.Add(5 * time.Second)}, t0.Add(6*time.Second))
	if ok, _ := b.usable(t0.Add(6*time.Second), p); !ok {
		t.Error("a newer remote closing did not close the breaker")
	}
}

// Every attempt outcome, and what it does to a closed breaker (one failure
// opens it; a success resets the count) and to a half-open one during its
// trial (a success closes it, a failure reopens it, anything else frees the
// trial slot).
func TestBreakerClassifiesEveryOutcome(t *testing.T) {
	tests := []struct {
		outcome string
		class   int
	}{
		{audit.OutcomeOK, success},
		{audit.OutcomeError, failure},
		{audit.OutcomeRateLimited, failure},
		{audit.OutcomeAuthFailed, failure},
		{audit.OutcomeModelNotFound, failure},
		{audit.OutcomeUnavailable, failure},
		{audit.OutcomeFirstByteTimeout, failure},
		{audit.OutcomeTimeout, failure},
		{audit.OutcomeStreamError, failure},
		{audit.OutcomeIdleTimeout, failure},
		{audit.OutcomeOutpaced, failure},
		{audit.OutcomeRejected, neutral},
		{audit.OutcomeInvalidOutput, neutral},
		{audit.OutcomeDeadline, neutral},
		{audit.OutcomeCancelled, neutral},
		{audit.OutcomeHedgeLost, neutral},
	}
	for _, tt := range tests {
		t.Run(tt.outcome, func(t *testing.T) {
			if got := classify(tt.outcome); got != tt.class {
				t.Fatalf("classify = %d, want %d", got, tt.class)
			}
			// Closed, one failure short of opening (breaker_failures: 2).
			p := policy(2, 10*time.Second)
			var b breaker
			b.observe(t0, audit.OutcomeError, p)
			ch := b.observe(t0, tt.outcome, p)
			switch tt.class {
			case failure:
				if ch != opened || b.current(t0) != BreakerOpen || !strings.Contains(b.reason, "(last: "+tt.outcome+")") {
					t.Errorf("closed: %v, state %s, reason %q; want opened naming it", ch, b.current(t0), b.reason)
				}
			case success:
				if ch != unchanged || b.failures != 0 {
					t.Errorf("closed: %v, failures %d; want the count reset", ch, b.failures)
				}
			default:
				if ch != unchanged || b.failures != 1 {
					t.Errorf("closed: %v, failures %d; want the count untouched", ch, b.failures)
				}
			}
			// Half-open, its trial in flight.
			p = policy(1, 10*time.Second)
			var h breaker
			h.observe(t0, audit.OutcomeError, p)
			now := t0.Add(10 * time.Second)
			if !h.allow(now, p) {
				t.Fatal("trial refused")
			}
			ch = h.observe(now, tt.outcome, p)
			state := h.current(now)
			switch tt.class {
			case failure:
				if ch != opened || state != BreakerOpen {
					t.Errorf("trial: %v, state %s; want reopened", ch, state)
				}
			case success:
				if ch != closed || state != BreakerClosed {
					t.Errorf("trial: %v, state %s; want closed", ch, state)
				}
			default:
				if ch != unchanged || state != BreakerHalfOpen || !h.allow(now, p) {
					t.Errorf("trial: %v, state %s; want half-open with the slot free", ch, state)
				}
			}
		})
	}
}

// Attempts allow did not admit (every candidate was out, or in flight when
// the breaker opened): while open, a success closes the breaker and a
// failure or no verdict changes nothing; while half-open with a trial in
// flight, a success closes it and a failure reopens it, after which the
// trial's own success still closes it.
func TestBreakerAttemptsNotAdmitted(t *testing.T) {
	p := policy(2, 30*time.Second)
	openAt := func(now time.Time) *breaker {
		var b breaker
		b.observe(now, audit.OutcomeError, p)
		if b.observe(now, audit.OutcomeError, p) != opened {
			t.Fatal("the breaker did not open")
		}
		return &b
	}

	b := openAt(t0)
	now := t0.Add(5 * time.Second)
	for _, o := range []string{audit.OutcomeError, audit.OutcomeTimeout, audit.OutcomeCancelled, audit.OutcomeHedgeLost} {
		if ch := b.observe(now, o, p); ch != unchanged || b.current(now) != BreakerOpen || !b.until.Equal(t0.Add(30*time.Second)) ||
			b.failures != 2 {
			t.Fatalf("%s while open: %v, state %s until %v failures %d; want nothing changed", o, ch, b.current(now), b.until, b.failures)
		}
	}
	if ch := b.observe(now, audit.OutcomeOK, p); ch != closed {
		t.Fatalf("success while open: %v, want closed", ch)
	}
	if ok, why := b.usable(now, p); !ok || !b.allow(now, p) || !b.allow(now, p) || b.failures != 0 || !b.closedAt.Equal(now) {
		t.Errorf("after the success: usable %v %q, failures %d, closed at %v; want closed, not half-open", ok, why, b.failures, b.closedAt)
	}
	// Another router's opening from before that success is old news.
	b.adopt(SharedBreaker{State: BreakerOpen, OpenedAt: t0.Add(4 * time.Second), OpenUntil: t0.Add(34 * time.Second)}, now)
	if ok, _ := b.usable(now, p); !ok {
		t.Error("an opening older than the closing success was adopted")
	}

	// Half-open, a trial in flight, and an attempt beside it.
	trialAt := t0.Add(30 * time.Second)
	b = openAt(t0)
	if !b.allow(trialAt, p) {
		t.Fatal("trial refused")
	}
	if ch := b.observe(trialAt.Add(time.Second), audit.OutcomeOK, p); ch != closed || b.current(trialAt.Add(time.Second)) != BreakerClosed {
		t.Errorf("success beside the trial: %v, want closed", ch)
	}
	b = openAt(t0)
	b.allow(trialAt, p)
	if ch := b.observe(trialAt.Add(time.Second), audit.OutcomeUnavailable, p); ch != opened {
		t.Fatalf("failure beside the trial: %v, want reopened", ch)
	}
	if ch := b.observe(trialAt.Add(2*time.Second), audit.OutcomeOK, p); ch != closed {
		t.Errorf("the trial's success after the reopening: %v, want closed", ch)
	}
}
