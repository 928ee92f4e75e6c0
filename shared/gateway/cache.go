package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/trace"
)

// The response cache of routes that set cache: (docs/OPERATIONS.md). A
// request on such a route is looked up once it has been authenticated,
// classified, admitted and planned, so a hit is a request the router would
// have sent somewhere; a hit is answered in the surface's shape, streamed or
// not, and a complete answer of a miss is offered to the store. Only the
// answer and its usage are stored, under a hash of the request.

// hdrCache says what the cache did: hit, miss or bypass.
const hdrCache = "X-Router-Cache"

var (
	cacheHitValue    = []string{audit.CacheHit}
	cacheMissValue   = []string{audit.CacheMiss}
	cacheBypassValue = []string{audit.CacheBypass}
)

// cacheState is a miss on its way to the store.
type cacheState struct {
	key string
	ttl time.Duration
	// stream assembles a streamed answer (nil for an answer in one piece).
	stream *streamRecorder
}

// lookupCache answers the request from the cache when it can, and reports
// whether it did. Otherwise it prepares a miss to be stored (c.cache), or
// leaves the cache out of a request that bypasses it.
func (c *call) lookupCache(s *surface) bool {
	rc, store := c.route.Cache, c.g.Cache
	if store == nil {
		return false
	}
	h := c.w.Header()
	if noCacheRequested(c.r.Header) || len(c.classes) > 0 && !rc.CachePHI {
		c.rec.Cache, h[hdrCache] = audit.CacheBypass, cacheBypassValue
		return false
	}
	key, ok := c.cacheKey(rc)
	if !ok {
		c.rec.Cache, h[hdrCache] = audit.CacheBypass, cacheBypassValue
		return false
	}
	ctx := c.r.Context()
	var span trace.Span
	if c.g.Tracer != nil {
		ctx, span = c.g.Tracer.Start(ctx, "cache")
	}
	e, err := store.Get(ctx, key, c.g.now())
	if span != nil {
		span.End(err)
	}
	if err != nil {
		c.g.logger().Warn("response cache lookup failed; asking a provider", "request_id", c.rec.RequestID,
			"route", c.route.Name, "error", err)
	}
	if e != nil {
		if t := c.cachedTarget(e); t != nil {
			if !c.chat.Stream {
				c.serveHit(s, e, t, nil)
				return true
			}
			// A stream is answered from the cache only when the answer
			// replays as one exactly; otherwise it is a miss.
			if chunks, ok := replayChunks(e); ok {
				c.serveHit(s, e, t, chunks)
				return true
			}
		}
	}
	c.rec.Cache, h[hdrCache] = audit.CacheMiss, cacheMissValue
	c.cache = &cacheState{key: key, ttl: rc.TTL.D()}
	return false
}

// noCacheRequested reports whether the client's Cache-Control asks for an
// answer that is neither taken from nor kept in a cache.
func noCacheRequested(h http.Header) bool {
	for _, line := range h.Values("Cache-Control") {
		for d := range strings.SplitSeq(line, ",") {
			d, _, _ = strings.Cut(strings.TrimSpace(d), "=")
			if strings.EqualFold(d, "no-cache") || strings.EqualFold(d, "no-store") {
				return true
			}
		}
	}
	return false
}

// cacheKey is the hex SHA-256 of what makes two requests the same question:
// the route and its targets, the caller's key id (unless the route shares
// its cache), the data classes and compliance requirement, and the request
// as parsed JSON (members sorted, whitespace gone; model and the stream
// options left out, as they do not change the answer). It reports false
// for a body that is not a JSON object, which parsing has already refused.
func (c *call) cacheKey(rc *config.Cache) (string, bool) {
	canon, ok := canonicalRequest(c.body)
	if !ok {
		return "", false
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	field := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	field("llm-router response cache v1")
	field(c.route.Name)
	for _, t := range c.route.Targets {
		field(t.Provider.Name)
		field(t.Model.ID)
		field(t.Model.UpstreamName())
	}
	if rc.Shared {
		field("shared")
	} else {
		field("key")
		field(c.key.ID)
	}
	field("classes")
	for _, s := range sortedCopy(c.classes) {
		field(s)
	}
	field("require")
	for _, s := range sortedCopy(c.need.tags) {
		field(s)
	}
	field("request")
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil)), true
}

func sortedCopy(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// canonicalRequest is the body re-encoded with its members sorted at every
// level and no whitespace; numbers keep their text. Members that do not
// change the answer are left out.
func canonicalRequest(body []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil || v == nil {
		return nil, false
	}
	delete(v, "model")
	delete(v, "stream")
	delete(v, "stream_options")
	out, err := json.Marshal(v)
	return out, err == nil
}

// cachedTarget is the route's target that wrote e, when it still is one
// and may still serve the request; nil otherwise (the configuration
// changed since).
func (c *call) cachedTarget(e *respcache.Entry) *route.Target {
	for _, t := range c.route.Targets {
		if t.Model.ID == e.Model && t.Provider.Name == e.Provider {
			if ok, _ := route.Compliant(t, c.need.tags); ok {
				return t
			}
		}
	}
	return nil
}

// serveHit answers from entry e, written by target t: in one piece, or as
// the stream of chunks (replayed) through the surface's stream writer. The
// request costs nothing; the record says what the answer had cost.
func (c *call) serveHit(s *surface, e *respcache.Entry, t *route.Target, chunks []llm.Chunk) {
	rec := &c.rec
	rec.Cache, rec.CacheSavedUSD = audit.CacheHit, e.CostUSD
	c.recordServed(t)
	c.w.Header()[hdrCache] = cacheHitValue
	if chunks == nil {
		// c.render is the surface's, set before the lookup.
		c.deliver(&engine.Result{Served: t, Response: &llm.Response{Body: e.Body, Usage: e.Usage}})
		rec.TTFBMs = ms(c.g.now().Sub(c.start))
		if c.rendered != nil {
			rec.ErrorCode, rec.Incomplete = c.rendered.Code, true
			c.finish(c.rendered.Status)
			return
		}
		c.finish(http.StatusOK)
		return
	}
	sink := newSSESink(c, s.stream(c))
	_ = sink.Commit(t, 0)
	for i, ch := range chunks {
		if err := sink.Chunk(ch); err != nil {
			le := llm.AsError(err)
			if le == nil {
				le = &llm.Error{Status: 499, Code: "client_closed", Message: "the client closed the connection"}
			} else {
				sink.Fail(le)
			}
			rec.ErrorCode, rec.Incomplete = le.Code, true
			c.finish(le.Status)
			return
		}
		if i == 0 {
			rec.TTFBMs = ms(c.g.now().Sub(c.start))
		}
	}
	if le := sink.Close(&e.Usage); le != nil {
		rec.ErrorCode, rec.Incomplete = le.Code, true
		c.finish(le.Status)
		return
	}
	c.finish(http.StatusOK)
}

// recordStream has a streamed miss's chunks assembled for the cache as the
// surface's writer w writes them.
func (c *call) recordStream(w streamWriter) streamWriter {
	if c.cache == nil {
		return w
	}
	r := &streamRecorder{streamWriter: w}
	c.cache.stream = r
	return r
}

// storeCached offers a miss's answer to the cache: only a complete,
// successful answer with known usage, that the client got as it was, and
// that fits an item (respcache.MaxBody).
func (c *call) storeCached(res *engine.Result) {
	st := c.cache
	if res.Err != nil || c.rendered != nil || res.Served == nil || !res.UsageKnown {
		return
	}
	var body []byte
	switch {
	case res.Response != nil:
		body = res.Response.Body
	case st.stream != nil && st.stream.done:
		var ok bool
		if body, ok = st.stream.asm.completion(res.Usage); !ok {
			return
		}
	default:
		return
	}
	if len(body) > respcache.MaxBody {
		return
	}
	t := res.Served
	e := &respcache.Entry{Body: body, Usage: res.Usage, Model: t.Model.ID, Provider: t.Provider.Name,
		CostUSD: cost.USD(t.Model.Price, res.Usage), Expires: c.g.now().Add(st.ttl).Truncate(time.Second)}
	if err := c.g.Cache.Put(context.WithoutCancel(c.r.Context()), st.key, e); err != nil {
		c.g.logger().Warn("response cache store failed", "request_id", c.rec.RequestID, "route", c.route.Name, "error", err)
	}
}

// streamRecorder is a surface's stream writer that also assembles the
// chunks it writes; done is set when the stream ended normally.
type streamRecorder struct {
	streamWriter
	asm  assembler
	done bool
}

func (r *streamRecorder) chunk(dst []byte, c llm.Chunk) ([]byte, error) {
	r.asm.add(c.Data)
	return r.streamWriter.chunk(dst, c)
}

func (r *streamRecorder) finish(dst []byte, u *llm.Usage) []byte {
	r.done = true
	return r.streamWriter.finish(dst, u)
}

// assembler builds the chat.completion a stream amounts to. It is exact or
// gives up: a chunk with a member it does not know (logprobs, annotations,
// a provider's extension) means the stream is not stored.
type assembler struct {
	bad         bool
	id, model   string
	created     int64
	fingerprint string
	tier        string
	choices     []*asmChoice
}

type asmChoice struct {
	index                       int
	role                        string
	content, refusal, reasoning strings.Builder
	hasContent, hasRefusal      bool
	calls                       []*asmCall
	finish                      string
}

type asmCall struct {
	index     int
	id, typ   string
	name, arg strings.Builder
}

// The chunk members the assembler reads; any other member is unknown.
type wireChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint *string         `json:"system_fingerprint"`
	ServiceTier       *string         `json:"service_tier"`
	Choices           []wireChoice    `json:"choices"`
	Usage             json.RawMessage `json:"usage"`       // the engine's usage is stored
	Obfuscation       json.RawMessage `json:"obfuscation"` // OpenAI's padding: not the answer
	XGroq             json.RawMessage `json:"x_groq"`      // Groq's request id and usage
	// Azure's content-filter annotations: about the answer, not of it;
	// a replay does not carry them either.
	PromptFilterResults json.RawMessage `json:"prompt_filter_results"`
}

type wireChoice struct {
	Index        int             `json:"index"`
	Delta        wireDelta       `json:"delta"`
	FinishReason *string         `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
	// ContentFilterResults is Azure's, as PromptFilterResults.
	ContentFilterResults json.RawMessage `json:"content_filter_results"`
}

type wireDelta struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ReasoningContent *string    `json:"reasoning_content"`
	ToolCalls        []wireCall `json:"tool_calls"`
}

type wireCall struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

func (a *assembler) add(data []byte) {
	if a.bad {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ch wireChunk
	if err := dec.Decode(&ch); err != nil {
		a.bad = true
		return
	}
	if a.id == "" {
		a.id = ch.ID
	}
	if a.model == "" {
		a.model = ch.Model
	}
	if a.created == 0 {
		a.created = ch.Created
	}
	if ch.SystemFingerprint != nil && a.fingerprint == "" {
		a.fingerprint = *ch.SystemFingerprint
	}
	if ch.ServiceTier != nil && a.tier == "" {
		a.tier = *ch.ServiceTier
	}
	for i := range ch.Choices {
		wc := &ch.Choices[i]
		if len(wc.Logprobs) > 0 && string(wc.Logprobs) != "null" {
			a.bad = true
			return
		}
		c := a.choice(wc.Index)
		d := &wc.Delta
		if d.Role != "" {
			c.role = d.Role
		}
		if d.Content != nil {
			c.content.WriteString(*d.Content)
			c.hasContent = true
		}
		if d.Refusal != nil {
			c.refusal.WriteString(*d.Refusal)
			c.hasRefusal = true
		}
		if d.ReasoningContent != nil {
			c.reasoning.WriteString(*d.ReasoningContent)
		}
		for j := range d.ToolCalls {
			wcall := &d.ToolCalls[j]
			if wcall.Index == nil {
				a.bad = true
				return
			}
			call := c.call(*wcall.Index)
			if wcall.ID != "" {
				call.id = wcall.ID
			}
			if wcall.Type != "" {
				call.typ = wcall.Type
			}
			call.name.WriteString(wcall.Function.Name)
			call.arg.WriteString(wcall.Function.Arguments)
		}
		if wc.FinishReason != nil {
			c.finish = *wc.FinishReason
		}
	}
}

func (a *assembler) choice(index int) *asmChoice {
	for _, c := range a.choices {
		if c.index == index {
			return c
		}
	}
	c := &asmChoice{index: index}
	a.choices = append(a.choices, c)
	return c
}

func (c *asmChoice) call(index int) *asmCall {
	for _, k := range c.calls {
		if k.index == index {
			return k
		}
	}
	k := &asmCall{index: index}
	c.calls = append(c.calls, k)
	return k
}

// The chat.completion an assembled stream is written as.
type asmCompletion struct {
	ID                string    `json:"id"`
	Object            string    `json:"object"`
	Created           int64     `json:"created"`
	Model             string    `json:"model"`
	Choices           []asmOut  `json:"choices"`
	Usage             llm.Usage `json:"usage"`
	SystemFingerprint string    `json:"system_fingerprint,omitempty"`
	ServiceTier       string    `json:"service_tier,omitempty"`
}

type asmOut struct {
	Index        int             `json:"index"`
	Message      asmMessage      `json:"message"`
	Logprobs     json.RawMessage `json:"logprobs"`
	FinishReason string          `json:"finish_reason"`
}

type asmMessage struct {
	Role             string         `json:"role"`
	Content          *string        `json:"content"`
	Refusal          *string        `json:"refusal"`
	ToolCalls        []llm.ToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string         `json:"reasoning_content,omitempty"`
}

// completion is the assembled answer with usage u; false when the stream
// could not be assembled exactly or a choice did not finish.
func (a *assembler) completion(u llm.Usage) ([]byte, bool) {
	if a.bad || len(a.choices) == 0 {
		return nil, false
	}
	out := asmCompletion{ID: a.id, Object: "chat.completion", Created: a.created, Model: a.model, Usage: u,
		SystemFingerprint: a.fingerprint, ServiceTier: a.tier}
	choices := slices.Clone(a.choices)
	sort.Slice(choices, func(i, j int) bool { return choices[i].index < choices[j].index })
	for _, c := range choices {
		if c.finish == "" {
			return nil, false
		}
		m := asmMessage{Role: c.role, ReasoningContent: c.reasoning.String()}
		if m.Role == "" {
			m.Role = "assistant"
		}
		if c.hasContent {
			m.Content = llm.Ptr(c.content.String())
		}
		if c.hasRefusal {
			m.Refusal = llm.Ptr(c.refusal.String())
		}
		calls := slices.Clone(c.calls)
		sort.Slice(calls, func(i, j int) bool { return calls[i].index < calls[j].index })
		for _, k := range calls {
			m.ToolCalls = append(m.ToolCalls, llm.ToolCall{ID: k.id, Type: k.typ,
				Function: llm.FunctionCall{Name: k.name.String(), Arguments: k.arg.String()}})
		}
		out.Choices = append(out.Choices, asmOut{Index: c.index, Message: m, Logprobs: json.RawMessage("null"), FinishReason: c.finish})
	}
	body, err := json.Marshal(out)
	return body, err == nil
}

// The chat.completion members a replay reads.
type storedCompletion struct {
	ID      string `json:"id"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int                        `json:"index"`
		Message      map[string]json.RawMessage `json:"message"`
		FinishReason *string                    `json:"finish_reason"`
		Logprobs     json.RawMessage            `json:"logprobs"`
	} `json:"choices"`
}

// replayChunks is entry e as the chunks of a stream: per choice, one chunk
// with the whole message and one with its finish reason; then the usage.
// It reports false when the answer holds something a stream of these
// chunks would not carry (logprobs, audio, annotations, a provider's
// extension of the message), so the request is a miss instead.
func replayChunks(e *respcache.Entry) ([]llm.Chunk, bool) {
	var sc storedCompletion
	if err := json.Unmarshal(e.Body, &sc); err != nil || len(sc.Choices) == 0 {
		return nil, false
	}
	head := llm.ChunkResponse{ID: sc.ID, Object: "chat.completion.chunk", Created: sc.Created, Model: sc.Model}
	chunks := make([]llm.Chunk, 0, 2*len(sc.Choices)+1)
	add := func(c llm.ChunkResponse, usageOnly bool) bool {
		data, err := json.Marshal(c)
		if err != nil {
			return false
		}
		ch := llm.Chunk{Data: data}
		if usageOnly {
			u := e.Usage
			ch.Usage, ch.UsageOnly = &u, true
		}
		chunks = append(chunks, ch)
		return true
	}
	for _, c := range sc.Choices {
		if len(c.Logprobs) > 0 && string(c.Logprobs) != "null" || c.FinishReason == nil {
			return nil, false
		}
		d, ok := replayDelta(c.Message)
		if !ok {
			return nil, false
		}
		msg := head
		msg.Choices = []llm.ChunkChoice{{Index: c.Index, Delta: d}}
		fin := head
		fin.Choices = []llm.ChunkChoice{{Index: c.Index, FinishReason: c.FinishReason}}
		if !add(msg, false) || !add(fin, false) {
			return nil, false
		}
	}
	last := head
	last.Choices, last.Usage = []llm.ChunkChoice{}, &e.Usage
	if !add(last, true) {
		return nil, false
	}
	return chunks, true
}

// replayDelta is a message as one delta, if every member it has is one a
// delta carries (or is empty).
func replayDelta(msg map[string]json.RawMessage) (llm.Delta, bool) {
	d := llm.Delta{Role: "assistant"}
	for k, v := range msg {
		null := string(v) == "null"
		var err error
		switch k {
		case "role":
			err = json.Unmarshal(v, &d.Role)
		case "content":
			if !null {
				d.Content = new(string)
				err = json.Unmarshal(v, d.Content)
			}
		case "refusal":
			if !null {
				d.Refusal = new(string)
				err = json.Unmarshal(v, d.Refusal)
			}
		case "reasoning_content":
			if !null {
				err = json.Unmarshal(v, &d.ReasoningContent)
			}
		case "tool_calls":
			if !null {
				err = json.Unmarshal(v, &d.ToolCalls)
				for i := range d.ToolCalls {
					d.ToolCalls[i].Index = llm.Ptr(i)
				}
			}
		case "annotations", "audio", "function_call":
			if !null && string(v) != "[]" {
				return d, false
			}
		default:
			if !null {
				return d, false
			}
		}
		if err != nil {
			return d, false
		}
	}
	return d, true
}
