// Package health knows which provider and model may take traffic now, and
// how fast each is. Two halves share it:
//
//   - the health function's Checker probes every provider (and model where
//     the provider needs it) in rounds, applies the status rules (unhealthy
//     after N failed probes, degraded when far slower than its own normal,
//     healthy again after M good probes) and writes the result to the state
//     table with version-conditioned writes;
//   - every router's View reads those results through its cache TTL, keeps a
//     circuit breaker and a latency estimate per target from live traffic,
//     and shares breaker openings and closings with the other routers
//     through the same table, in batches.
//
// docs/HEALTH.md explains the rules; docs/DYNAMODB.md the items.
package health

import (
	"time"

	"github.com/llm-router/router/shared/audit"
)

// Probe kinds (config.Provider.Probe).
const (
	ProbeModels = "models"
	ProbeChat   = "chat"
)

// target names one provider and model; as a map key it needs no allocation.
type target struct {
	provider, model string
}

// Smoothing of the latency estimates: each new sample moves the estimate
// this share of the way. Live traffic uses latencyAlpha (the last few
// requests dominate, so a slowdown shows within seconds); the probes'
// baseline moves slower, so one slow probe stands out against it.
const (
	latencyAlpha  = 0.2
	baselineAlpha = 0.1
)

// ewma is an exponentially weighted moving average.
type ewma struct {
	v float64
	n int
}

func (e *ewma) add(x, alpha float64) {
	if e.n == 0 {
		e.v = x
	} else {
		e.v += alpha * (x - e.v)
	}
	e.n++
}

// outcome classes for the breaker.
const (
	neutral = iota
	success
	failure
)

// classify sorts an attempt outcome for the breaker. Failures say the target
// cannot serve now: errors and timeouts, no connection, throttling, the
// provider refusing the router's key or not knowing the model (a retired
// model fails every request until the configuration changes), a stream that
// broke or stalled, and an attempt outpaced by one started after it. The
// caller's own errors (rejected), an answer that failed the structured-output
// check (the model answered), the request's deadline, the client leaving and
// a hedge that started after the winner say nothing about the target.
func classify(outcome string) int {
	switch outcome {
	case audit.OutcomeOK:
		return success
	case audit.OutcomeError, audit.OutcomeRateLimited, audit.OutcomeAuthFailed, audit.OutcomeModelNotFound,
		audit.OutcomeUnavailable, audit.OutcomeFirstByteTimeout, audit.OutcomeTimeout, audit.OutcomeStreamError,
		audit.OutcomeIdleTimeout, audit.OutcomeOutpaced:
		return failure
	}
	return neutral
}

// How an attempt's time feeds the latency estimate.
const (
	noSample   = iota
	sample     // the time to first byte, or a timeout's full time
	lowerBound // the attempt lost a race while still waiting: it would have taken longer
)

// latencyUse says how an outcome's time feeds the latency estimate. Fast
// failures never count, so a broken target never looks fast.
func latencyUse(outcome string) int {
	switch outcome {
	case audit.OutcomeOK, audit.OutcomeTimeout, audit.OutcomeFirstByteTimeout:
		return sample
	case audit.OutcomeOutpaced, audit.OutcomeHedgeLost:
		return lowerBound
	}
	return noSample
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func durationOfMs(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
