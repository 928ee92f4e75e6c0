package gateway

import (
	"encoding/json"
	"net/http"
)

type healthList struct {
	Object string        `json:"object"`
	Data   []healthEntry `json:"data"`
}

type healthEntry struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
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
	out := healthList{Object: "list", Data: []healthEntry{}}
	for _, m := range snap.cfg.Models {
		e := healthEntry{Provider: m.Provider, Model: m.ID, Status: "healthy"}
		if g.Health != nil {
			if ok, why := g.Health.Usable(m.Provider, m.ID); !ok {
				e.Status, e.Reason = "unhealthy", why
			}
		}
		out.Data = append(out.Data, e)
	}
	body, _ := json.Marshal(out)
	writeJSON(w, http.StatusOK, body)
}
