package health

import "time"

// TargetHealth is how a router sees one provider and model, as
// GET /v1/router/health shows it (the JSON names are the endpoint's).
type TargetHealth struct {
	// Status is unhealthy when a failing probe or its circuit breaker (open,
	// or half-open and waiting for a trial to succeed) keeps the target out
	// of rotation, degraded when its last probe was slow, else healthy.
	Status string `json:"status"`
	// Reason says why, when the status is not healthy.
	Reason string `json:"reason,omitempty"`
	// Probe is the last probe result; nil when it was never probed.
	Probe *ProbeHealth `json:"probe"`
	// LatencyEstimateMs is the latency strategy's estimate from live
	// traffic and chat probes; nil without one.
	LatencyEstimateMs *float64 `json:"latency_estimate_ms"`
	// Breaker is this router instance's circuit breaker for the target.
	Breaker BreakerHealth `json:"breaker"`
	// Benchmark is the latest weekly benchmark run's figures, absent when
	// none counts: while LatencyEstimateMs is null its time to first token
	// is the latency strategy's estimate.
	Benchmark *BenchmarkHealth `json:"benchmark,omitempty"`
}

// BenchmarkHealth is a target's latest benchmark result.
type BenchmarkHealth struct {
	RunAt     time.Time `json:"run_at"`
	TTFTMs    float64   `json:"ttft_ms"`
	P50Ms     float64   `json:"p50_ms"`
	P90Ms     float64   `json:"p90_ms"`
	ErrorRate float64   `json:"error_rate"`
	// PassRate is null when no benchmark prompt checks its answer.
	PassRate *float64 `json:"pass_rate"`
}

// ProbeHealth is a target's last probe result from the state table.
type ProbeHealth struct {
	Status              string    `json:"status"`
	CheckedAt           time.Time `json:"checked_at"`
	LatencyMs           float64   `json:"latency_ms"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	Reason              string    `json:"reason,omitempty"`
	// Stale is set when the result is too old to count (the health function
	// has not written for longer than the policy's stale_after).
	Stale bool `json:"stale,omitempty"`
}

// BreakerHealth is a target's circuit breaker.
type BreakerHealth struct {
	// State is closed, open or half_open.
	State               string `json:"state"`
	ConsecutiveFailures int    `json:"consecutive_failures"`
	// OpenUntil is when an open breaker lets a trial request through.
	OpenUntil *time.Time `json:"open_until,omitempty"`
	Reason    string     `json:"reason,omitempty"`
}
