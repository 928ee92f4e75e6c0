package gateway

import (
	"encoding/json"
	"net/http"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// explanation is the answer of POST /v1/router/explain.
type explanation struct {
	Object     string            `json:"object"`
	RequestID  string            `json:"request_id"`
	Route      string            `json:"route"`
	Strategy   string            `json:"strategy"`
	KeyID      string            `json:"key_id"`
	DataClass  string            `json:"data_class"`
	Require    []string          `json:"require"`
	Tags       map[string]string `json:"tags"`
	Stream     bool              `json:"stream"`
	Candidates []candidate       `json:"candidates"`
	Excluded   []route.Exclusion `json:"excluded"`
	// Status is what the real request would be answered before any provider
	// is called: 200 means it would be tried on the candidates in order.
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

type candidate struct {
	Model              string   `json:"model"`
	Provider           string   `json:"provider"`
	UpstreamModel      string   `json:"upstream_model"`
	ProviderCompliance []string `json:"provider_compliance"`
	FirstByteTimeoutMs int64    `json:"first_byte_timeout_ms,omitempty"`
	TimeoutMs          int64    `json:"timeout_ms"`
	Weight             int      `json:"weight,omitempty"`
	HedgeAfterMs       int64    `json:"hedge_after_ms,omitempty"`
}

// serveExplain answers the routing decision a chat completion with the same
// body and headers would get, without calling any provider. Authentication,
// parsing and permission errors are the real request's errors.
func (g *Gateway) serveExplain(w http.ResponseWriter, r *http.Request) {
	c := g.newCall(w, r, "")
	if e := c.prepare(c.parseChat); e != nil {
		c.fail(e)
		return
	}
	d := c.plan(nil)
	out := explanation{Object: "router.explain", RequestID: c.rec.RequestID, Route: d.Route, Strategy: d.Strategy,
		KeyID: c.key.ID, DataClass: c.rec.DataClass, Require: nonNil(d.Require), Tags: c.rec.Tags, Stream: c.chat.Stream,
		Candidates: []candidate{}, Excluded: d.Excluded, Status: http.StatusOK, Error: json.RawMessage("null")}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	if out.Excluded == nil {
		out.Excluded = []route.Exclusion{}
	}
	for _, t := range d.Candidates {
		out.Candidates = append(out.Candidates, candidate{Model: t.Model.ID, Provider: t.Provider.Name,
			UpstreamModel: t.Model.UpstreamName(), ProviderCompliance: nonNil(t.Provider.Compliance),
			FirstByteTimeoutMs: t.FirstByteTimeout.Milliseconds(), TimeoutMs: t.Timeout.Milliseconds(),
			Weight: weightOf(d.Strategy, t), HedgeAfterMs: t.HedgeAfter.Milliseconds()})
	}
	if len(d.Candidates) == 0 {
		e := c.noCandidates(&d)
		out.Status, out.Error = e.Status, errorObject(e)
	}
	body, err := json.Marshal(out)
	if err != nil {
		c.fail(errInternal("the decision could not be encoded"))
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func weightOf(strategy string, t *route.Target) int {
	if strategy == "weighted" {
		return t.Weight
	}
	return 0
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// errorObject is the inner {"message",...} object of an error body.
func errorObject(e *llm.Error) json.RawMessage {
	full := appendError(nil, e)
	return json.RawMessage(full[len(`{"error":`) : len(full)-1])
}
