package gateway

import (
	"errors"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/tokens"
	"github.com/llm-router/router/shared/trace"
)

// Request headers of the API.
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
	// need is the request's compliance requirement: computed once in
	// prepare, and only ever grown.
	need requirement
	seed uint64
	// ticket holds the request's limit reservations, settled by finish.
	ticket *limits.Ticket
	// shape is what a request that asks for JSON must be answered with
	// (structured.go); nil for the others.
	shape *shape
	// render writes a one-piece answer in the surface's shape (nil: as the
	// chat.completion came); rendered is the error answered when it failed.
	render   func(completion []byte, u llm.Usage) ([]byte, error)
	rendered *llm.Error
	// writeErr writes an error in the surface's shape.
	writeErr func(http.ResponseWriter, *llm.Error)
	// span is the request's trace span (nil without a tracer).
	span trace.Span
	// tokens counts the request's input once, for every tokenizer family,
	// when something first asks (estimate.go); nil until then, so requests
	// that need no estimate carry none.
	tokens *tokens.Counter
	// cache is a miss on a route that caches, to be stored (cache.go).
	cache *cacheState
}

// newCall starts a request. endpoint names it in the audit record; an empty
// endpoint (explain) leaves no audit record or metrics, as it calls no provider.
func (g *Gateway) newCall(w http.ResponseWriter, r *http.Request, endpoint string) *call {
	c := &call{g: g, w: w, r: r, start: g.now(), writeErr: writeError}
	c.rec.RequestID = newRequestID()
	c.rec.Time = c.start
	c.rec.Endpoint = endpoint
	w.Header()["X-Request-Id"] = []string{c.rec.RequestID}
	if g.Tracer != nil && endpoint != "" {
		// The request's span: the routing decision's and each attempt's
		// are its children. (Explain and count_tokens route nothing.)
		ctx, span := g.Tracer.Start(r.Context(), "request")
		span.Annotate("request_id", c.rec.RequestID)
		c.r, c.span = r.WithContext(ctx), span
	}
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
		if !errors.Is(err, config.ErrNotConfigured) {
			// Unseeded is said once by the store; anything else is news.
			c.g.logger().Error("no configuration to serve with", "error", err)
		}
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
	h, aerr := singleValue(c.r.Header, headerRoute)
	if aerr != nil {
		return aerr
	}
	if h != "" {
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
	tags, aerr := parseTags(joinedValues(c.r.Header, headerTags), key.Tags)
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
	c.applyRules()
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
	// One key cannot hold many connections open trickling bodies: each
	// body read takes a slot of its key's, and waits for none.
	if !c.g.bodies.acquire(c.key.ID, c.snap.bodyReads) {
		return &llm.Error{Kind: llm.KindRateLimited, Status: http.StatusTooManyRequests, Type: "rate_limit_error",
			Code: "rate_limit_exceeded", RetryAfter: time.Second,
			Message: "this API key is sending more than " + strconv.Itoa(c.snap.bodyReads) + " request bodies at once"}
	}
	defer c.g.bodies.release(c.key.ID)
	// A body trickled slower than the deadline is cut (the local server;
	// the Lambda adapters hand the router a body already in memory, which
	// does not support deadlines and needs none).
	if rd, ok := c.w.(readDeadliner); ok && rd.SetReadDeadline(time.Now().Add(c.snap.bodyTimeout)) == nil {
		defer func() { _ = rd.SetReadDeadline(time.Time{}) }()
	}
	// Memory follows what arrives, not what Content-Length promises.
	size := int64(1024)
	if n := c.r.ContentLength; n > 0 {
		size = min(n+1, 64<<10)
	}
	body, err := readAll(http.MaxBytesReader(c.w, c.r.Body, limit), make([]byte, 0, size))
	if err != nil {
		var tooBig *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &tooBig):
			return errTooLarge(limit)
		case errors.As(err, &ne) && ne.Timeout():
			return &llm.Error{Kind: llm.KindTimeout, Status: http.StatusRequestTimeout, Type: "invalid_request_error",
				Code: "body_read_timeout", Message: "the request body did not arrive within " + c.snap.bodyTimeout.String()}
		}
		return llm.InvalidRequest("", "body_read_error", "the request body could not be read")
	}
	c.body = body
	return nil
}

// unreadGrace is how long the server may still read a body the router
// answered before reading it all: enough for a client sending it at network
// speed, too little for one trickling it to hold anything.
const unreadGrace = time.Second

// closeUnread closes the connection after an answer given before the body
// was read. net/http would otherwise read the rest to reuse the connection,
// with no deadline, before writing the answer's head: a client trickling it
// would hold the connection, and the answer, for as long as it liked. Only
// the local server has a connection (and read deadlines).
func closeUnread(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	if http.NewResponseController(w).SetReadDeadline(time.Now().Add(unreadGrace)) == nil {
		w.Header().Set("Connection", "close")
	}
}

// readDeadliner is net/http's own response writer (the local server); the
// Lambda adapters' writers, whose bodies are in memory already, are not.
// Asserted directly rather than through http.ResponseController, whose
// refusal costs an error allocation per request.
type readDeadliner interface {
	SetReadDeadline(time.Time) error
}

// bodySlots counts the request bodies each key is sending.
type bodySlots struct {
	mu sync.Mutex
	n  map[string]int
}

func (b *bodySlots) acquire(key string, max int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n[key] >= max {
		return false
	}
	if b.n == nil {
		b.n = make(map[string]int)
	}
	b.n[key]++
	return true
}

func (b *bodySlots) release(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n[key]--; b.n[key] <= 0 {
		delete(b.n, key)
	}
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

// classify works out the request's data classes and its compliance
// requirement: the route's require, the key's default class, and every class
// in every x-router-data-class field line. A header can add a class, never
// remove one.
func (c *call) classify() *llm.Error {
	if len(c.route.Require) > 0 {
		c.need.add(c.route.Require, "route:"+c.route.Name, &c.rec)
	}
	if c.key.DataClass != "" {
		c.addClass(c.key.DataClass, "key")
	}
	for _, line := range c.r.Header.Values(headerDataClass) {
		for name := range strings.SplitSeq(line, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if _, ok := c.snap.table.DataClass(name); !ok {
				return &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
					Code: "invalid_data_class", Param: "x-router-data-class", Message: "unknown data class " + strconv.Quote(name)}
			}
			c.addClass(name, "header")
		}
	}
	c.detect(c.key.Detect)
	c.detect(c.route.Detect)
	c.rec.DataClass = strings.Join(c.classes, ",")
	return nil
}

// detect runs the detectors of each class in classes the request does not
// have yet over its text, and adds the classes they match, with the
// detector's name as the source (never the text it matched). Detection can
// only add a class: it never blocks and never removes one. A request whose
// key and route detect nothing pays this loop's length check.
func (c *call) detect(classes []string) {
	for _, class := range classes {
		if slices.Contains(c.classes, class) {
			continue
		}
		set := c.snap.table.Detectors(class)
		var name string
		var hit bool
		switch {
		case c.chat != nil:
			name, hit = set.MatchChat(c.chat)
		case c.embed != nil:
			name, hit = set.MatchTexts(c.embed.Input)
		}
		if hit {
			c.addClass(class, "detector:"+name)
		}
	}
}

// addClass adds data class name, known to the table, to the request.
func (c *call) addClass(name, source string) {
	tags, _ := c.snap.table.DataClass(name)
	if !slices.Contains(c.classes, name) {
		c.classes = append(c.classes, name)
	}
	c.need.add(tags, source, &c.rec)
}

// requirement is the set of compliance tags every provider that receives a
// request must have. It is built in one place and only grows: adding a
// route's or a class's tags never removes one, and each addition is recorded
// with its source in the audit record.
type requirement struct {
	tags []string
}

// add adds tags, recording source (route:NAME, key, header, detector:NAME)
// in rec for each.
func (q *requirement) add(tags []string, source string, rec *audit.Record) {
	for _, t := range tags {
		if !slices.Contains(q.tags, t) {
			q.tags = append(q.tags, t)
		}
		rec.RequireFrom = append(rec.RequireFrom, audit.RequireSource{Tag: t, Source: source})
	}
	rec.Require = q.tags
}

// with is the requirement grown by more tags, for asking what moving the
// request would need; q itself is unchanged.
func (q *requirement) with(more []string) []string {
	out := q.tags
	for _, t := range more {
		if !slices.Contains(out, t) {
			out = append(slices.Clip(out), t)
		}
	}
	return out
}

// singleValue is the value of a header that must have one: field lines that
// repeat the same value are one value; two different values are a 400, never
// first-wins (a proxy and a client could each have set one).
func singleValue(h http.Header, name string) (string, *llm.Error) {
	vs := h[name]
	if len(vs) == 0 {
		return "", nil
	}
	for _, v := range vs[1:] {
		if v != vs[0] {
			return "", &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
				Code: "ambiguous_header", Param: strings.ToLower(name),
				Message: "the request has several " + strings.ToLower(name) + " header fields with different values; send one"}
		}
	}
	return vs[0], nil
}

// joinedValues is a list header's field lines as one comma-separated list,
// as HTTP defines repeated field lines to mean.
func joinedValues(h http.Header, name string) string {
	vs := h[name]
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return vs[0]
	}
	return strings.Join(vs, ",")
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
// capable, when set, leaves out targets that cannot serve the endpoint.
func (c *call) plan(capable func(*route.Target) (bool, string)) route.Decision {
	check := capable
	if c.route.Fitted {
		check = c.check(capable)
	}
	if c.g.Tracer != nil {
		_, span := c.g.Tracer.Start(c.r.Context(), "route")
		span.Annotate("route", c.route.Name)
		defer span.End(nil)
	}
	in := route.Input{Route: c.route, Require: c.need.tags, Seed: c.seed, PromptTokens: c.promptEstimate(),
		OutputTokens: c.outputReserve(), Check: check}
	return route.Plan(in, c.g.Health, c.g.Latency)
}

// noCandidates is the error when the plan left nothing to try: 403 when no
// target could ever take this request's data, 400 when no target serves the
// endpoint at all, else 502 naming every reason.
func (c *call) noCandidates(d *route.Decision) *llm.Error {
	if !d.CompliantTargets() {
		return errNoCompliantTarget(d.Route, d.Require)
	}
	if d.OnlyExcludedFor(route.ReasonContext, route.ReasonCompliance) {
		return c.errContextTooLong(d)
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
	if c.span != nil {
		c.span.Annotate("route", c.rec.Route)
		c.span.Annotate("model", c.rec.Model)
		c.span.Annotate("provider", c.rec.Provider)
		c.span.Annotate("status", strconv.Itoa(status))
		var err error
		if c.rec.Failed() {
			err = errors.New(c.rec.ErrorCode)
		}
		c.span.End(err)
	}
	if c.g.Sink != nil && c.rec.Endpoint != "" {
		c.g.Sink.Emit(&c.rec)
	}
}

// fail answers with e and records it. The answer names the route and the
// attempts when they are known: the response that most needs explaining.
func (c *call) fail(e *llm.Error) {
	c.rec.ErrorCode = e.Code
	if c.body == nil {
		closeUnread(c.w, c.r)
	}
	h := c.w.Header()
	if c.route != nil {
		h[hdrRoute] = []string{c.route.Name}
		h[hdrAttempts] = []string{strconv.Itoa(len(c.rec.Attempts))}
	}
	c.writeErr(c.w, e)
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
