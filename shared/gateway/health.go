package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/route"
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
	// Config is the router's readiness: whether it has a configuration to
	// serve, which, and how fresh.
	Config readiness `json:"config"`
}

// readiness is config.Readiness with its age, as the endpoint shows it.
type readiness struct {
	config.Readiness
	// AgeMs is the time since the store was last read successfully.
	AgeMs *float64 `json:"age_ms,omitempty"`
}

// Reporter of a configuration source that can say how fresh its copy is
// (the DynamoDB store); a source without it is always ready.
type readinessReporter interface {
	Readiness() config.Readiness
}

func (g *Gateway) readiness() readiness {
	r, ok := g.Source.(readinessReporter)
	if !ok {
		return readiness{Readiness: config.Readiness{Ready: true}}
	}
	out := readiness{Readiness: r.Readiness()}
	if !out.CheckedAt.IsZero() {
		age := ms(g.now().Sub(out.CheckedAt))
		out.AgeMs = &age
	}
	return out
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
		// Readiness, without keys to check yet: say why, and nothing else.
		e := errNoConfig(err)
		body := appendError(nil, e)
		if rd, jerr := json.Marshal(g.readiness()); jerr == nil {
			body = append(append(append(body[:len(body)-1], `,"config":`...), rd...), '}')
		}
		writeJSON(w, e.Status, body)
		return
	}
	key, e := snap.authenticate(r, g.now())
	if e != nil {
		writeError(w, e)
		return
	}
	reporter, _ := g.Health.(HealthReporter)
	out := healthList{Object: "list", Data: make([]healthEntry, 0, len(snap.cfg.Models)), Config: g.readiness()}
	visible := snap.reachable(key)
	for _, m := range snap.cfg.Models {
		if !visible[m.ID] {
			continue
		}
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

// reachable is the set of model ids key may reach: the targets of the
// routes it may use (and of their rules' sub-routes) and the models it may
// call directly. The health endpoint shows a key only those.
func (s *snapshot) reachable(key *config.Key) map[string]bool {
	out := map[string]bool{}
	var add func(rt *route.Route)
	add = func(rt *route.Route) {
		for _, t := range rt.Targets {
			out[t.Model.ID] = true
		}
		for _, rule := range rt.Rules {
			add(rule.Route)
		}
	}
	for _, name := range s.table.Names {
		if rt, ok := s.table.Lookup(name); ok && allows(key, rt) {
			add(rt)
		}
	}
	return out
}
