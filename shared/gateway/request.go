package gateway

import (
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// Request headers of the contract.
const (
	headerRoute           = "X-Router-Route"
	headerTags            = "X-Router-Tags"
	headerDataClass       = "X-Router-Data-Class"
	headerClientRequestID = "X-Client-Request-Id"
)

// Limits on what request headers may carry.
const (
	maxTags        = 16
	maxTagValueLen = 128
	maxClientIDLen = 128
)

// call is one request in flight. Its audit record is filled as it goes.
type call struct {
	g     *Gateway
	snap  *snapshot
	w     http.ResponseWriter
	r     *http.Request
	start time.Time
	rec   audit.Record

	key     *config.Key
	body    []byte
	chat    *llm.ChatRequest      // a chat completion's body
	embed   *llm.EmbeddingRequest // an embeddings body
	route   *route.Route
	classes []string
	// classTags are the compliance tags of each of classes, kept to plan a
	// downgrade route with the same requirement.
	classTags [][]string
	require   []string
	seed      uint64
	// ticket holds the request's limit reservations, settled by finish.
	ticket *limits.Ticket
	// shape is what a request that asks for JSON must be answered with
	// (structured.go); nil for the others.
	shape *shape
	// spentUSD is the cost of answers the structured-output check
	// discarded, added to the answer's.
	spentUSD float64
}

// newCall starts a request. endpoint names it in the audit record; an empty
// endpoint (explain) leaves no audit record or metrics, as it calls no provider.
func (g *Gateway) newCall(w http.ResponseWriter, r *http.Request, endpoint string) *call {
	c := &call{g: g, w: w, r: r, start: g.now()}
	c.rec.RequestID = newRequestID()
	c.rec.Time = c.start
	c.rec.Endpoint = endpoint
	w.Header()["X-Request-Id"] = []string{c.rec.RequestID}
	return c
}

// newRequestID is a random id for the request; the router always makes its
// own, so a client cannot collide with another request's audit record.
func newRequestID() string {
	var b [20]byte
	copy(b[:], "req_")
	v := rand.Uint64()
	const digits = "0123456789abcdef"
	for i := 19; i >= 4; i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// prepare does everything the routed endpoints share: it authenticates, reads
// the body and parses it with parse (which returns the model or route the body
// names), finds the route, checks the key may use it, works out the data
// class, compliance tags and cost tags, and admits the request against its
// key's limits and budgets (which may move it to a downgrade route).
func (c *call) prepare(parse func() (model string, e *llm.Error)) *llm.Error {
	snap, err := c.g.current(c.r.Context())
	if err != nil {
		c.g.logger().Error("no configuration to serve with", "error", err)
		return errNoConfig(err)
	}
	c.snap = snap
	c.rec.Metrics = snap.emf
	key, aerr := snap.authenticate(c.r, c.start)
	if aerr != nil {
		return aerr
	}
	c.key = key
	c.rec.KeyID = key.ID
	if aerr := c.readBody(); aerr != nil {
		return aerr
	}
	name, perr := parse()
	if perr != nil {
		return perr
	}
	if h := c.r.Header.Get(headerRoute); h != "" {
		name = h
	}
	rt, ok := snap.table.Lookup(name)
	if !ok {
		return errModelNotFound(name)
	}
	c.route = rt
	c.rec.Route = rt.Name
	if !allows(key, rt) {
		return errRouteNotAllowed(rt.Name)
	}
	if aerr := c.classify(); aerr != nil {
		return aerr
	}
	tags, aerr := parseTags(c.r.Header.Get(headerTags), key.Tags)
	if aerr != nil {
		return aerr
	}
	c.rec.Tags = tags
	c.seed = rand.Uint64()
	if id := c.r.Header.Get(headerClientRequestID); id != "" && len(id) <= maxClientIDLen && printable(id) {
		c.rec.ClientRequestID = id
		// A client that names its request gets a repeatable weighted draw, so
		// explain with the same id shows the order the real request takes.
		h := fnv.New64a()
		_, _ = h.Write([]byte(id))
		c.seed = h.Sum64()
	}
	if c.g.Limiter != nil {
		if aerr := c.admit(); aerr != nil {
			return aerr
		}
	}
	return nil
}

func (c *call) readBody() *llm.Error {
	limit := c.snap.maxBody
	if c.r.ContentLength > limit {
		return errTooLarge(limit)
	}
	var buf []byte
	if n := c.r.ContentLength; n > 0 {
		buf = make([]byte, 0, n+1)
	} else {
		buf = make([]byte, 0, 1024)
	}
	body, err := readAll(http.MaxBytesReader(c.w, c.r.Body, limit), buf)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge(limit)
		}
		return llm.InvalidRequest("", "body_read_error", "the request body could not be read")
	}
	c.body = body
	return nil
}

// readAll reads r to the end into buf, growing it as needed.
func readAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// classify works out the request's data classes and the compliance tags they
// and the route require. The key's default class always applies: a header can
// add a class, never remove one.
func (c *call) classify() *llm.Error {
	var classTags [][]string
	if c.key.DataClass != "" {
		tags, _ := c.snap.table.DataClass(c.key.DataClass)
		c.classes = append(c.classes, c.key.DataClass)
		classTags = append(classTags, tags)
	}
	if h := c.r.Header.Get(headerDataClass); h != "" {
		for _, name := range strings.Split(h, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			tags, ok := c.snap.table.DataClass(name)
			if !ok {
				return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
					Code: "invalid_data_class", Param: "x-router-data-class", Message: "unknown data class " + strconv.Quote(name)}
			}
			if !contains(c.classes, name) {
				c.classes = append(c.classes, name)
				classTags = append(classTags, tags)
			}
		}
	}
	c.classTags = classTags
	c.require = route.RequiredTags(c.route.Require, classTags...)
	c.rec.DataClass = strings.Join(c.classes, ",")
	c.rec.Require = c.require
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseTags reads "team=triage,feature=refill" and merges it over the key's
// default tags.
func parseTags(h string, defaults map[string]string) (map[string]string, *llm.Error) {
	if h == "" && len(defaults) == 0 {
		return nil, nil
	}
	tags := make(map[string]string, len(defaults)+2)
	for k, v := range defaults {
		tags[k] = v
	}
	if h == "" {
		return tags, nil
	}
	bad := func(msg string) *llm.Error {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: "invalid_tags", Param: "x-router-tags", Message: msg}
	}
	n := 0
	for _, pair := range strings.Split(h, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !validTagName(k) {
			return nil, bad("x-router-tags must be name=value pairs separated by commas; names are letters, digits, _ . -")
		}
		if len(v) > maxTagValueLen || !printable(v) {
			return nil, bad("tag " + strconv.Quote(k) + " has a value that is too long or not printable")
		}
		if n++; n > maxTags {
			return nil, bad("at most " + strconv.Itoa(maxTags) + " tags per request")
		}
		tags[k] = v
	}
	return tags, nil
}

func validTagName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// parseChat reads a chat completion body.
func (c *call) parseChat() (string, *llm.Error) {
	chat, err := llm.ParseChat(c.body)
	if err != nil {
		return "", llm.AsError(err)
	}
	c.chat = chat
	c.rec.Stream = chat.Stream
	return chat.Model, nil
}

// plan makes the routing decision; explain and the attempt loop share it.
func (c *call) plan() route.Decision {
	in := route.Input{Route: c.route, Require: c.require, Seed: c.seed, PromptTokens: len(c.body) / 4}
	if c.chat != nil {
		in.OutputTokens = c.chat.MaxOutputTokens()
	}
	return route.Plan(in, c.g.Health, c.g.Latency)
}

// noCandidates is the error when the plan left nothing to try: 403 when no
// target could ever take this request's data, 400 when no target serves the
// endpoint at all, else 502 naming every reason.
func noCandidates(d *route.Decision) *llm.Error {
	if !d.CompliantTargets() {
		return errNoCompliantTarget(d.Route, d.Require)
	}
	if d.OnlyExcludedFor(route.ReasonCapability) {
		return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: "model_not_supported", Param: "model", Message: "no target of " + strconv.Quote(d.Route) + " serves this endpoint"}
	}
	reasons := make([]string, len(d.Excluded))
	for i, e := range d.Excluded {
		reasons[i] = e.Model + " (" + e.Provider + "): " + e.Reason
	}
	return errAllFailed("no target of route " + strconv.Quote(d.Route) + " may be tried: " + strings.Join(reasons, "; "))
}

// finish completes the audit record and hands it to the sink.
func (c *call) finish(status int) {
	c.rec.Status = status
	c.rec.LatencyMs = ms(c.g.now().Sub(c.start))
	c.settle()
	if c.g.Sink != nil && c.rec.Endpoint != "" {
		c.g.Sink.Emit(&c.rec)
	}
}

// fail answers with e and records it.
func (c *call) fail(e *llm.Error) {
	c.rec.ErrorCode = e.Code
	writeError(c.w, e)
	status := e.Status
	if status < 400 {
		status = http.StatusBadGateway
	}
	c.finish(status)
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// errNoConfig answers a request the router has no configuration for: 503
// router_not_configured while the store has none yet (deployed, not seeded),
// else 500.
func errNoConfig(err error) *llm.Error {
	if errors.Is(err, config.ErrNotConfigured) {
		return &llm.Error{Status: http.StatusServiceUnavailable, Type: "api_error", Code: "router_not_configured",
			Message: "the router has no configuration yet: seed its config table with scripts/seed (docs/DEPLOY.md)"}
	}
	return errInternal("the router has no usable configuration")
}
