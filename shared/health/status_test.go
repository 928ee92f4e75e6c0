package health

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

func good(lat time.Duration) Result { return Result{Start: t0, Latency: lat, Probe: ProbeModels} }

func bad(reason string) Result {
	return Result{Start: t0, Latency: 30 * time.Millisecond, Err: errors.New("x"), Reason: reason, Probe: ProbeModels}
}

// The status rules, one probe result at a time, with N=3, M=2, factor 3.
func TestApplyRules(t *testing.T) {
	p := config.HealthPolicy{UnhealthyAfter: 3, HealthyAfter: 2, DegradedFactor: 3,
		DegradedMinLatency: config.Duration(100 * time.Millisecond)}
	steps := []struct {
		name       string
		r          Result
		wantStatus string
		wantFails  int
		wantOKs    int
		wantReason string // substring
	}{
		{"first good probe", good(200 * time.Millisecond), StatusHealthy, 0, 1, ""},
		{"normal", good(220 * time.Millisecond), StatusHealthy, 0, 2, ""},
		{"far slower than its normal", good(900 * time.Millisecond), StatusDegraded, 0, 3, "times its recent normal"},
		{"normal again", good(210 * time.Millisecond), StatusHealthy, 0, 4, ""},
		{"one failure keeps the status", bad("status 503 (overloaded)"), StatusHealthy, 1, 0, "1 of 3 failed probes"},
		{"two", bad("status 503 (overloaded)"), StatusHealthy, 2, 0, "2 of 3"},
		{"N failures: unhealthy", bad("could not connect"), StatusUnhealthy, 3, 0, "could not connect (3 failed probes in a row)"},
		{"still failing", bad("could not connect"), StatusUnhealthy, 4, 0, "4 failed probes"},
		{"one good probe is not M", good(200 * time.Millisecond), StatusUnhealthy, 0, 1, "recovering: 1 of 2"},
		{"a failure interrupts recovery", bad("status 500 (upstream)"), StatusUnhealthy, 1, 0, "recovery interrupted"},
		{"good", good(200 * time.Millisecond), StatusUnhealthy, 0, 1, "recovering"},
		{"M good probes: healthy", good(200 * time.Millisecond), StatusHealthy, 0, 2, ""},
	}
	h := ProbeState{Provider: "p", Model: "m"}
	for i, s := range steps {
		s.r.Start = t0.Add(time.Duration(i) * 30 * time.Second)
		h = Apply(h, s.r, p)
		if h.Status != s.wantStatus || h.ConsecutiveFailures != s.wantFails || h.ConsecutiveSuccesses != s.wantOKs {
			t.Fatalf("step %d (%s): status %s failures %d successes %d; want %s %d %d", i, s.name, h.Status,
				h.ConsecutiveFailures, h.ConsecutiveSuccesses, s.wantStatus, s.wantFails, s.wantOKs)
		}
		if (s.wantReason == "") != (h.Reason == "") || !strings.Contains(h.Reason, s.wantReason) {
			t.Errorf("step %d (%s): reason %q, want %q", i, s.name, h.Reason, s.wantReason)
		}
		if !h.CheckedAt.Equal(s.r.Start) || h.LatencyMs != ms(s.r.Latency) || h.Probe != ProbeModels {
			t.Errorf("step %d: checked_at %v latency %v probe %q", i, h.CheckedAt, h.LatencyMs, h.Probe)
		}
	}
}

// The degraded rule compares with the target's own normal, and ignores
// latencies below degraded_min_latency.
func TestApplyDegradedIsRelative(t *testing.T) {
	p := config.HealthPolicy{DegradedFactor: 3, DegradedMinLatency: config.Duration(500 * time.Millisecond)}
	fast := ProbeState{Provider: "p", Model: "m", Status: StatusHealthy, BaselineMs: 5}
	if h := Apply(fast, good(40*time.Millisecond), p); h.Status != StatusHealthy {
		t.Errorf("40ms against 5ms, under the 500ms floor: %s (%s)", h.Status, h.Reason)
	}
	slowNormal := ProbeState{Provider: "p", Model: "m", Status: StatusHealthy, BaselineMs: 2000}
	if h := Apply(slowNormal, good(2500*time.Millisecond), p); h.Status != StatusHealthy {
		t.Errorf("2.5s against its normal of 2s: %s", h.Status)
	}
	if h := Apply(slowNormal, good(7*time.Second), p); h.Status != StatusDegraded {
		t.Errorf("7s against its normal of 2s: %s, want degraded", h.Status)
	}
	// A target that stays slow becomes its own new normal: the baseline
	// follows good probes.
	h := slowNormal
	for i := 0; i < 40; i++ {
		h = Apply(h, good(7*time.Second), p)
	}
	if h.Status != StatusHealthy || h.BaselineMs < 6000 {
		t.Errorf("after 40 probes at 7s: %s, baseline %.0f ms", h.Status, h.BaselineMs)
	}
	// Failed probes do not move the baseline.
	if h2 := Apply(h, bad("timeout"), p); h2.BaselineMs != h.BaselineMs {
		t.Errorf("a failed probe moved the baseline from %v to %v", h.BaselineMs, h2.BaselineMs)
	}
}

// Reasons come from kinds and statuses, never an upstream's message.
func TestDescribeHidesMessages(t *testing.T) {
	keyLeak := llm.UpstreamError("openai", 401, "invalid_request_error", "invalid_api_key",
		"Incorrect API key provided: sk-abc***xyz")
	tests := []struct {
		err      error
		timedOut bool
		want     string
	}{
		{keyLeak, false, "status 401: the provider refused the key"},
		{llm.UpstreamError("x", 503, "", "slow_down", "secret prompt echoed"), false, "status 503 (overloaded, slow_down)"},
		{llm.Unavailable("x", errors.New("dial tcp: connection refused")), false, "could not connect"},
		{llm.Unavailable("x", errors.New("context deadline exceeded")), true, "no answer within 2s"},
		{&llm.Error{Kind: llm.KindAuth, Status: 502, Code: "provider_key_unavailable"}, false, "the router could not load the provider's key"},
	}
	for _, tt := range tests {
		if got := describe(tt.err, 2*time.Second, tt.timedOut); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
