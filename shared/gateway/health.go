package gateway

import (
	"encoding/json"
	"net/http"
	"time"
)

// Health statuses of GET /v1/router/health (CONTRACT.md section 7).
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// TargetHealth is how the router sees one provider and model, as
// GET /v1/router/health shows it.
type TargetHealth struct {
	// Status is unhealthy when a failing probe or its circuit breaker (open,
	// or half-open and waiting for a trial to succeed) keeps the target out
	// of rotation, degraded when its last probe was slow, else healthy.
	Status string `json:"status"`
	// Reason says why, when the status is not healthy.
	Reason string `json:"reason,omitempty"`
	// Probe is the last probe result; nil when it was never probed.
	Probe *ProbeHealth `json:"probe"`
	// LatencyEstimateMs is the latency strategy's estimate; nil without one.
	LatencyEstimateMs *float64 `json:"latency_estimate_ms"`
	// Breaker is this router instance's circuit breaker for the target.
	Breaker BreakerHealth `json:"breaker"`
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

// HealthReporter is implemented by health views that can say more than
// Usable: the probe, latency estimate and breaker behind a target's status.
type HealthReporter interface {
	TargetHealth(provider, model string) TargetHealth
}

type healthList struct {
	Object string        `json:"object"`
	Data   []healthEntry `json:"data"`
}

type healthEntry struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	TargetHealth
}

// serveHealth shows how the router sees every provider and model.
func (g *Gateway) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header()["X-Request-Id"] = []string{newRequestID()}
	snap, err := g.current(r.Context())
	if err != nil {
		writeError(w, errInternal("the router has no usable configuration"))
		return
	}
	if _, e := snap.authenticate(r, g.now()); e != nil {
		writeError(w, e)
		return
	}
	reporter, _ := g.Health.(HealthReporter)
	out := healthList{Object: "list", Data: make([]healthEntry, 0, len(snap.cfg.Models))}
	for _, m := range snap.cfg.Models {
		e := healthEntry{Provider: m.Provider, Model: m.ID, TargetHealth: TargetHealth{Status: StatusHealthy,
			Breaker: BreakerHealth{State: "closed"}}}
		switch {
		case reporter != nil:
			e.TargetHealth = reporter.TargetHealth(m.Provider, m.ID)
		case g.Health != nil:
			if ok, why := g.Health.Usable(m.Provider, m.ID); !ok {
				e.Status, e.Reason = StatusUnhealthy, why
			}
		}
		out.Data = append(out.Data, e)
	}
	body, err := json.Marshal(out)
	if err != nil {
		writeError(w, errInternal("the health report could not be encoded"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}
