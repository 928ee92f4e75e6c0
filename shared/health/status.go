package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// Result is one probe's outcome.
type Result struct {
	// Start is when the probe began: it becomes the item's checked_at.
	Start time.Time
	// Latency is how long the probe took, answered or not.
	Latency time.Duration
	// Err is nil for a good probe; Reason describes a failed one.
	Err    error
	Reason string
	// Probe is the kind of probe: models or chat.
	Probe string
}

// Apply is the status rules: the health item after probe result r, given the
// item before it (Version 0 for a target never probed).
//
//   - A failed probe counts toward N (unhealthy_after): at N in a row the
//     target is unhealthy; before that it keeps its status.
//   - A good probe counts toward M (healthy_after): an unhealthy target
//     stays unhealthy until M good probes in a row. Otherwise it is degraded
//     when the probe took more than degraded_factor times the target's
//     recent normal (and more than degraded_min_latency), else healthy.
//   - The recent normal (baseline) is a slow moving average of good probes,
//     so a target that stays slower for minutes becomes its new normal.
func Apply(prev ProbeState, r Result, p config.HealthPolicy) ProbeState {
	p = p.WithDefaults()
	next := prev
	next.CheckedAt = r.Start
	next.LatencyMs = ms(r.Latency)
	next.Probe = r.Probe
	if next.Status == "" {
		next.Status = StatusHealthy
	}
	if r.Err != nil {
		next.ConsecutiveFailures++
		next.ConsecutiveSuccesses = 0
		switch {
		case next.ConsecutiveFailures >= p.UnhealthyAfter:
			next.Status = StatusUnhealthy
			next.Reason = fmt.Sprintf("%s (%d failed probes in a row)", r.Reason, next.ConsecutiveFailures)
		case next.Status == StatusUnhealthy:
			next.Reason = fmt.Sprintf("%s (recovery interrupted)", r.Reason)
		default:
			next.Reason = fmt.Sprintf("%s (%d of %d failed probes before unhealthy)", r.Reason, next.ConsecutiveFailures, p.UnhealthyAfter)
		}
		return next
	}
	next.ConsecutiveFailures = 0
	next.ConsecutiveSuccesses++
	lat := next.LatencyMs
	baseline := prev.BaselineMs
	var b ewma
	if baseline > 0 {
		b = ewma{v: baseline, n: 1}
	}
	b.add(lat, baselineAlpha)
	next.BaselineMs = b.v
	switch {
	case prev.Status == StatusUnhealthy && next.ConsecutiveSuccesses < p.HealthyAfter:
		next.Status = StatusUnhealthy
		next.Reason = fmt.Sprintf("recovering: %d of %d good probes", next.ConsecutiveSuccesses, p.HealthyAfter)
	case baseline > 0 && lat > p.DegradedFactor*baseline && r.Latency >= p.DegradedMinLatency.D():
		next.Status = StatusDegraded
		next.Reason = fmt.Sprintf("probe took %s, %.1f times its recent normal of %s", r.Latency.Round(time.Millisecond),
			lat/baseline, durationOfMs(baseline).Round(time.Millisecond))
	default:
		next.Status = StatusHealthy
		next.Reason = ""
	}
	return next
}

// Describe says why a call to a provider failed, in the words of probe
// reasons: from the error's kind, status and code, never its message.
// timeout is the call's limit, named when it passed.
func Describe(err error, timeout time.Duration) string { return describe(err, timeout, false) }

// describe says why a probe failed from the error's kind and status, never
// its message: upstream messages can quote a key ("Incorrect API key
// provided: sk-abc***xyz").
func describe(err error, timeout time.Duration, timedOut bool) string {
	if timedOut {
		return "no answer within " + timeout.String()
	}
	e := llm.AsError(err)
	switch {
	case e == nil && errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + timeout.String()
	case e == nil:
		return "probe failed"
	case e.Code == "provider_key_unavailable":
		return "the router could not load the provider's key"
	case e.Kind == llm.KindUnavailable:
		return "could not connect"
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return "status " + strconv.Itoa(e.Status) + ": the provider refused the key"
	case e.Status != 0:
		s := "status " + strconv.Itoa(e.Status) + " (" + e.Kind.String()
		if e.Code != "" {
			s += ", " + e.Code
		}
		return s + ")"
	}
	return e.Kind.String()
}
