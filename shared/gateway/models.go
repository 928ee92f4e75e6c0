package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/route"
)

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// routeOwner is the owned_by of routes in /v1/models; models are owned by
// their provider.
const routeOwner = "llm-router"

// serveModels lists, in OpenAI's format, the routes and models the caller's
// key may use.
func (g *Gateway) serveModels(w http.ResponseWriter, r *http.Request) {
	snap, key, ok := g.modelsCaller(w, r)
	if !ok {
		return
	}
	list := modelList{Object: "list", Data: []modelObject{}}
	for _, name := range snap.table.Names {
		rt, _ := snap.table.Lookup(name)
		if !allows(key, rt) {
			continue
		}
		list.Data = append(list.Data, modelOf(name, rt))
	}
	body, _ := json.Marshal(list)
	writeJSON(w, http.StatusOK, body)
}

// serveModel answers one route or model in OpenAI's model format, for
// models.retrieve: the same ones /v1/models lists for the caller's key, and
// 404 model_not_found for the others, so a key learns nothing of what it may
// not use.
func (g *Gateway) serveModel(w http.ResponseWriter, r *http.Request, id string) {
	snap, key, ok := g.modelsCaller(w, r)
	if !ok {
		return
	}
	rt, ok := snap.table.Lookup(id)
	if !ok || !allows(key, rt) {
		writeError(w, errModelNotFound(id))
		return
	}
	body, _ := json.Marshal(modelOf(rt.Name, rt))
	writeJSON(w, http.StatusOK, body)
}

// modelsCaller starts a models answer: its request id, the configuration
// and the caller's key, or the error already written (ok false).
func (g *Gateway) modelsCaller(w http.ResponseWriter, r *http.Request) (*snapshot, *config.Key, bool) {
	w.Header()["X-Request-Id"] = []string{newRequestID()}
	snap, err := g.current(r.Context())
	if err != nil {
		writeError(w, errNoConfig(err))
		return nil, nil, false
	}
	key, e := snap.authenticate(r, g.now())
	if e != nil {
		writeError(w, e)
		return nil, nil, false
	}
	return snap, key, true
}

// modelOf is route rt listed as id: owned by the router, or, for a model
// named directly, by its provider.
func modelOf(id string, rt *route.Route) modelObject {
	owner := routeOwner
	if rt.Implicit {
		owner = rt.Targets[0].Provider.Name
	}
	return modelObject{ID: id, Object: "model", OwnedBy: owner}
}
