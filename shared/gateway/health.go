package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/llm-router/router/shared/health"
)

// Health statuses of GET /v1/router/health: the health package's, named
// here too so callers of the gateway need not import it.
const (
	StatusHealthy   = health.StatusHealthy
	StatusDegraded  = health.StatusDegraded
	StatusUnhealthy = health.StatusUnhealthy
)

// HealthReporter is implemented by health views that can say more than
// Usable: the probe, latency estimate and breaker behind a target's status.
type HealthReporter interface {
	TargetHealth(provider, model string) health.TargetHealth
}

type healthList struct {
	Object string        `json:"object"`
	Data   []healthEntry `json:"data"`
}

type healthEntry struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	health.TargetHealth
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
		e := healthEntry{Provider: m.Provider, Model: m.ID, TargetHealth: health.TargetHealth{Status: health.StatusHealthy,
			Breaker: health.BreakerHealth{State: health.BreakerClosed}}}
		switch {
		case reporter != nil:
			e.TargetHealth = reporter.TargetHealth(m.Provider, m.ID)
		case g.Health != nil:
			if ok, why := g.Health.Usable(m.Provider, m.ID); !ok {
				e.Status, e.Reason = health.StatusUnhealthy, why
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
