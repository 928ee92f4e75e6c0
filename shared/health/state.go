package health

import (
	"errors"
	"time"
)

// Health statuses of a target, as the probes' status rules set them and
// GET /v1/router/health shows them. The state table stores these strings.
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// ProbeState is a provider's (Model empty) or model's health as its probes
// left it: the last result, and what the status rules carry from one probe
// to the next. The health function writes it; routers read it.
type ProbeState struct {
	Provider string
	Model    string
	// Status is StatusHealthy, StatusDegraded or StatusUnhealthy.
	Status string
	// CheckedAt is when the last probe began; LatencyMs how long it took.
	CheckedAt time.Time
	LatencyMs float64
	// ConsecutiveFailures counts failed probes in a row, for unhealthy_after.
	ConsecutiveFailures int
	Reason              string
	// ConsecutiveSuccesses counts good probes in a row, for healthy_after.
	ConsecutiveSuccesses int
	// BaselineMs is the target's recent normal probe latency (a slow average
	// of its good probes), for the degraded rule.
	BaselineMs float64
	// Probe is the kind of probe that measured it: ProbeModels or ProbeChat.
	Probe string
	// Version is the state's version as read; 0 for a target never probed.
	// A ProbeStore writes it only if it still has this version.
	Version int64
}

// SharedBreaker is a target's circuit breaker as routers share it: the last
// opening or closing any router instance reported. Routers report only when
// their own breaker changes state, so reports are few whatever the traffic.
type SharedBreaker struct {
	Provider string
	Model    string
	// State is BreakerOpen or BreakerClosed.
	State string
	// OpenedAt is when it was last opened, OpenUntil when that opening's
	// cooldown ends; ClosedAt is when a success last closed it.
	OpenedAt, OpenUntil, ClosedAt time.Time
	// Failures is the number of consecutive failures that opened it.
	Failures int
	Reason   string
	// Router names the router instance that reported it last.
	Router string
	// UpdatedAt is when the report was written (set by the store).
	UpdatedAt time.Time
}

// Snapshot is the whole shared health: every probe state, every shared
// breaker, and each target's latest benchmark result.
type Snapshot struct {
	Probes     []ProbeState
	Breakers   []SharedBreaker
	Benchmarks []BenchmarkResult
}

// BenchmarkResult is one target's figures from one benchmark run (the
// scheduled benchmark function): what routing falls back on where live
// traffic has not said yet.
type BenchmarkResult struct {
	Provider, Model string
	// RunAt is when the run started; RunID names it.
	RunAt time.Time
	RunID string
	// Requests is how many benchmark prompts were sent; ErrorRate the share
	// that failed; PassRate the share whose answer passed its check.
	Requests  int
	ErrorRate float64
	PassRate  float64
	// Checked is how many of the requests had a check (an expected answer
	// or a schema): PassRate is over these, and means nothing when it is 0.
	Checked int
	// TTFTMs is the median time to the first token of a streamed answer;
	// P50Ms and P90Ms the total latency percentiles. All three are over the
	// requests that succeeded (a fast failure is not a fast answer), and 0
	// when none did.
	TTFTMs, P50Ms, P90Ms float64
	// CostUSD is the run's total cost on the target; Priced is false when
	// the model has no price (CostUSD is then 0, not free).
	CostUSD float64
	Priced  bool
	// PromptTokens and CompletionTokens are the run's usage on the target.
	PromptTokens, CompletionTokens int
	// DataClass is the class the prompts ran under.
	DataClass string
}

// ErrVersionConflict means a probe state changed since it was read: another
// health function invocation wrote it first. Read it again and decide anew.
var ErrVersionConflict = errors.New("the probe state was changed by another writer")
