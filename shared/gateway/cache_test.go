package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/respcache/cachetable"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// countingStore counts what the gateway asks of its store.
type countingStore struct {
	respcache.Store
	gets, puts atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string, now time.Time) (*respcache.Entry, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key, now)
}

func (s *countingStore) Put(ctx context.Context, key string, e *respcache.Entry) error {
	s.puts.Add(1)
	return s.Store.Put(ctx, key, e)
}

func cacheConfig(url string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY", compliance: [hipaa]}
models:
  - {id: primary, provider: prim, upstream: gpt-4o, price: {input: 2.5, output: 10}}
routes:
  - {name: faq, cache: {ttl: 10m}, targets: [{model: primary}]}
  - {name: faq-shared, cache: {ttl: 10m, shared: true}, targets: [{model: primary}]}
  - {name: faq-phi, cache: {ttl: 10m, cache_phi: true}, targets: [{model: primary}]}
  - {name: plain, targets: [{model: primary}]}
  - name: faq-json
    cache: {ttl: 10m}
    structured: {on_invalid: error}
    targets: [{model: primary}]
data_classes:
  phi: [hipaa]
  pii: [hipaa]
keys:
  - {id: app-a, hash: %q, routes: ["*"], rpm: 4, budget: {monthly_usd: 100}}
  - {id: app-b, hash: %q, routes: ["*"]}
`, url, hashOf("sk-a"), hashOf("sk-b"))
}

// cacheEnv is a router with a response cache in front of one upstream
// that numbers its answers, so an answer from the cache is told from a new
// one.
type cacheEnv struct {
	h        *harness
	store    *countingStore
	flush    func()
	clock    *testClock
	upstream *openaitest.Server
	limiter  *limits.Limiter
	// reply, when set, scripts the upstream's answer n (1-based).
	reply func(n int, r openaitest.Received) openaitest.Reply
}

// storeKind makes a fresh store per test: the in-memory one, or a new
// table in a moto the kind's setup started.
type storeKind struct {
	name  string
	setup func(t *testing.T) func(t *testing.T) (respcache.Store, func())
}

var storeKinds = []storeKind{
	{"memory", func(*testing.T) func(*testing.T) (respcache.Store, func()) {
		return func(*testing.T) (respcache.Store, func()) { return &respcache.Memory{}, func() {} }
	}},
	{"dynamodb", func(t *testing.T) func(*testing.T) (respcache.Store, func()) {
		db := dynamodb.NewFromConfig(awstest.Start(t).Config())
		tables := 0
		return func(t *testing.T) (respcache.Store, func()) {
			tables++
			name := "llm-router-cache-" + strconv.Itoa(tables)
			if err := cachetable.CreateTable(context.Background(), db, name); err != nil {
				t.Fatal(err)
			}
			tb := cachetable.New(db, name)
			// The Lambda's bookkeeping writes once the answer has gone.
			return tb, func() { _ = tb.Flush() }
		}
	}},
}

// memoryStore is the store of the tests that need only one.
func memoryStore(*testing.T) (respcache.Store, func()) { return &respcache.Memory{}, func() {} }

func newCacheEnv(t *testing.T, newStore func(*testing.T) (respcache.Store, func())) *cacheEnv {
	t.Helper()
	e := &cacheEnv{clock: newTestClock()}
	var n atomic.Int64
	e.upstream = openaitest.NewServer("prim", func(r openaitest.Received) openaitest.Reply {
		i := int(n.Add(1))
		if e.reply != nil {
			return e.reply(i, r)
		}
		return openaitest.Reply{Text: "answer number " + strconv.Itoa(i), Usage: openaitest.Usage{Prompt: 1000, Completion: 100}}
	})
	t.Cleanup(e.upstream.Close)
	store, flush := newStore(t)
	e.store, e.flush = &countingStore{Store: store}, flush
	e.limiter = &limits.Limiter{Counters: &limits.Memory{Now: e.clock.now}, LeaseFor: -1, ReturnIdle: -1, Now: e.clock.now}
	e.h = newHarness(t, cacheConfig(e.upstream.BaseURL()), upstreamKeys, func(g *gateway.Gateway) {
		g.Cache, g.Now, g.Limiter = e.store, e.clock.now, e.limiter
	})
	return e
}

// ask sends a chat completion and returns its text, the response and the
// audit record, once the request has ended and the store has written.
func (e *cacheEnv) ask(t *testing.T, key, route, question string, opts ...option.RequestOption) (string, *http.Response, *audit.Record) {
	t.Helper()
	var resp *http.Response
	got, err := e.h.client(key).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: route, Messages: userMessage(question)}, append(opts, option.WithResponseInto(&resp))...)
	if err != nil {
		t.Fatalf("%s on %s: %v", key, route, err)
	}
	rec := e.h.audit.next(t)
	e.flush()
	return got.Choices[0].Message.Content, resp, rec
}

// streamed is what a streamed answer looked like to the client.
type streamed struct {
	text, finish string
	toolArgs     string
	chunks       int
	usageChunk   bool
	usage        openai.CompletionUsage
	resp         *http.Response
	rec          *audit.Record
}

func (e *cacheEnv) stream(t *testing.T, key, route, question string, includeUsage bool) streamed {
	t.Helper()
	params := openai.ChatCompletionNewParams{Model: route, Messages: userMessage(question)}
	if includeUsage {
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	}
	var out streamed
	st := e.h.client(key).Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&out.resp))
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		c := st.Current()
		acc.AddChunk(c)
		out.chunks++
		if len(c.Choices) == 0 {
			out.usageChunk, out.usage = true, c.Usage
		}
	}
	if err := st.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(acc.Choices) > 0 {
		out.text, out.finish = acc.Choices[0].Message.Content, acc.Choices[0].FinishReason
		if calls := acc.Choices[0].Message.ToolCalls; len(calls) > 0 {
			out.toolArgs = calls[0].Function.Name + " " + calls[0].Function.Arguments
		}
	}
	out.rec = e.h.audit.next(t)
	e.flush()
	return out
}

// wantMiss and wantHit check a request's headers and record: a miss went to
// the upstream (calls in all so far), a hit did not and cost nothing.
func (e *cacheEnv) wantMiss(t *testing.T, resp *http.Response, rec *audit.Record, calls int) {
	t.Helper()
	if got := resp.Header.Get("X-Router-Cache"); got != "miss" || rec.Cache != audit.CacheMiss {
		t.Errorf("x-router-cache %q, record cache %q; want miss", got, rec.Cache)
	}
	if rec.CostUSD == 0 || len(rec.Attempts) != 1 || rec.CacheSavedUSD != 0 {
		t.Errorf("a miss recorded %+v", rec)
	}
	if e.upstream.Calls() != calls {
		t.Errorf("upstream called %d times, want %d", e.upstream.Calls(), calls)
	}
}

func (e *cacheEnv) wantHit(t *testing.T, resp *http.Response, rec *audit.Record, saved float64, calls int) {
	t.Helper()
	h := resp.Header
	if h.Get("X-Router-Cache") != "hit" || h.Get("X-Router-Attempts") != "0" || h.Get("X-Router-Model") != "primary" ||
		h.Get("X-Router-Provider") != "prim" {
		t.Errorf("headers of a hit: %v", h)
	}
	if rec.Cache != audit.CacheHit || rec.CostUSD != 0 || rec.CacheSavedUSD != saved || len(rec.Attempts) != 0 ||
		rec.Usage != (audit.Usage{}) || rec.Model != "primary" || rec.Provider != "prim" || rec.Status != 200 || rec.Incomplete {
		t.Errorf("record of a hit: %+v; want cost 0, saved %v, no attempts or tokens", rec, saved)
	}
	if e.upstream.Calls() != calls {
		t.Errorf("upstream called %d times, want %d: a hit calls no provider", e.upstream.Calls(), calls)
	}
}

func TestResponseCache(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			newStore := kind.setup(t)
			t.Run("HitWithinTTL", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				text, resp, rec := e.ask(t, "sk-a", "faq", "What is the capital of France?")
				e.wantMiss(t, resp, rec, 1)
				// 1000 × 2.5 + 100 × 10 per 1M tokens
				if rec.CostUSD != 0.0035 || resp.Header.Get("X-Router-Cost-Usd") != "0.0035" {
					t.Fatalf("first answer cost %v", rec.CostUSD)
				}
				e.clock.add(10*time.Minute - time.Second)
				again, resp, rec := e.ask(t, "sk-a", "faq", "What is the capital of France?")
				e.wantHit(t, resp, rec, 0.0035, 1)
				if again != text || resp.Header.Get("X-Router-Cost-Usd") != "0" {
					t.Errorf("hit %q (cost header %q), want %q at 0", again, resp.Header.Get("X-Router-Cost-Usd"), text)
				}
				// Another question misses.
				_, resp, rec = e.ask(t, "sk-a", "faq", "What is the capital of Italy?")
				e.wantMiss(t, resp, rec, 2)
			})
			t.Run("Expiry", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.ask(t, "sk-a", "faq", "q")
				e.clock.add(10 * time.Minute)
				text, resp, rec := e.ask(t, "sk-a", "faq", "q")
				e.wantMiss(t, resp, rec, 2)
				if text != "answer number 2" {
					t.Errorf("after the ttl: %q", text)
				}
				// The new answer is cached in turn.
				e.clock.add(time.Minute)
				text, resp, rec = e.ask(t, "sk-a", "faq", "q")
				e.wantHit(t, resp, rec, 0.0035, 2)
				if text != "answer number 2" {
					t.Errorf("hit %q", text)
				}
			})
			t.Run("OtherKeyMisses", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.ask(t, "sk-a", "faq", "q")
				text, resp, rec := e.ask(t, "sk-b", "faq", "q")
				e.wantMiss(t, resp, rec, 2)
				if text != "answer number 2" {
					t.Errorf("key b got %q from key a's request", text)
				}
			})
			t.Run("SharedAcrossKeys", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				text, _, _ := e.ask(t, "sk-a", "faq-shared", "q")
				again, resp, rec := e.ask(t, "sk-b", "faq-shared", "q")
				e.wantHit(t, resp, rec, 0.0035, 1)
				if again != text || rec.KeyID != "app-b" {
					t.Errorf("key b: %q (record key %s), want a's %q", again, rec.KeyID, text)
				}
			})
			t.Run("DataClassIsPartOfTheKey", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.ask(t, "sk-a", "faq-phi", "q")
				phi := option.WithHeader("x-router-data-class", "phi")
				_, resp, rec := e.ask(t, "sk-a", "faq-phi", "q", phi)
				e.wantMiss(t, resp, rec, 2)
				if rec.DataClass != "phi" {
					t.Fatalf("data class %q", rec.DataClass)
				}
				// cache_phi: the phi answer is cached, for phi requests only.
				text, resp, rec := e.ask(t, "sk-a", "faq-phi", "q", phi)
				e.wantHit(t, resp, rec, 0.0035, 2)
				if text != "answer number 2" {
					t.Errorf("phi hit %q, want the phi request's answer", text)
				}
				// Another class with the same requirement is another question.
				_, resp, rec = e.ask(t, "sk-a", "faq-phi", "q", option.WithHeader("x-router-data-class", "pii"))
				e.wantMiss(t, resp, rec, 3)
			})
			t.Run("PHINeverStoredWithoutCachePHI", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				phi := option.WithHeader("x-router-data-class", "phi")
				for i := 1; i <= 2; i++ {
					_, resp, rec := e.ask(t, "sk-a", "faq", "patient note", phi)
					if resp.Header.Get("X-Router-Cache") != "bypass" || rec.Cache != audit.CacheBypass || e.upstream.Calls() != i {
						t.Errorf("phi request %d: header %q record %q, upstream %d", i, resp.Header.Get("X-Router-Cache"), rec.Cache, e.upstream.Calls())
					}
				}
				if e.store.gets.Load() != 0 || e.store.puts.Load() != 0 {
					t.Errorf("the store was asked %d times and offered %d answers for phi requests", e.store.gets.Load(), e.store.puts.Load())
				}
			})
			t.Run("NoCacheBypasses", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.ask(t, "sk-a", "faq", "q")
				noCache := option.WithHeader("Cache-Control", "no-cache")
				text, resp, rec := e.ask(t, "sk-a", "faq", "q", noCache)
				if resp.Header.Get("X-Router-Cache") != "bypass" || rec.Cache != audit.CacheBypass || text != "answer number 2" {
					t.Errorf("no-cache: header %q record %q text %q", resp.Header.Get("X-Router-Cache"), rec.Cache, text)
				}
				// Not written either: the cached answer is still the first.
				text, resp, rec = e.ask(t, "sk-a", "faq", "q")
				e.wantHit(t, resp, rec, 0.0035, 2)
				if text != "answer number 1" {
					t.Errorf("after a no-cache request the cache holds %q", text)
				}
				if e.store.gets.Load() != 2 || e.store.puts.Load() != 1 {
					t.Errorf("store gets %d puts %d, want 2 and 1", e.store.gets.Load(), e.store.puts.Load())
				}
			})
			t.Run("RouteWithoutCache", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				for i := 1; i <= 2; i++ {
					_, resp, rec := e.ask(t, "sk-a", "plain", "q")
					if resp.Header.Values("X-Router-Cache") != nil || rec.Cache != "" || e.upstream.Calls() != i {
						t.Errorf("request %d on a route without cache: header %v record %q", i, resp.Header.Values("X-Router-Cache"), rec.Cache)
					}
				}
				if e.store.gets.Load() != 0 || e.store.puts.Load() != 0 {
					t.Errorf("store gets %d puts %d", e.store.gets.Load(), e.store.puts.Load())
				}
			})
			t.Run("StreamedMissThenStreamedHit", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				first := e.stream(t, "sk-a", "faq", "count to four", false)
				e.wantMiss(t, first.resp, first.rec, 1)
				if e.store.puts.Load() != 1 {
					t.Fatalf("a complete stream was not stored (%d puts)", e.store.puts.Load())
				}
				for _, usage := range []bool{false, true} {
					hit := e.stream(t, "sk-a", "faq", "count to four", usage)
					e.wantHit(t, hit.resp, hit.rec, first.rec.CostUSD, 1)
					if hit.text != first.text || hit.finish != "stop" || hit.chunks < 2 ||
						hit.resp.Header.Get("Content-Type") != "text/event-stream" {
						t.Errorf("replay %+v, want %q ending with stop", hit, first.text)
					}
					if hit.usageChunk != usage || usage && (hit.usage.PromptTokens != 1000 || hit.usage.CompletionTokens != 100) {
						t.Errorf("include_usage %v: usage chunk %v %+v", usage, hit.usageChunk, hit.usage)
					}
					if !hit.rec.Stream {
						t.Error("the record of a streamed hit is not a stream")
					}
				}
				// The answer assembled from the stream serves a plain request too.
				text, resp, rec := e.ask(t, "sk-a", "faq", "count to four")
				e.wantHit(t, resp, rec, first.rec.CostUSD, 1)
				if text != first.text {
					t.Errorf("plain hit %q, want %q", text, first.text)
				}
			})
			t.Run("PlainMissThenStreamedHit", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				text, _, _ := e.ask(t, "sk-a", "faq", "q")
				hit := e.stream(t, "sk-a", "faq", "q", true)
				e.wantHit(t, hit.resp, hit.rec, 0.0035, 1)
				if hit.text != text || hit.finish != "stop" || !hit.usageChunk {
					t.Errorf("replay %+v, want %q", hit, text)
				}
			})
			t.Run("ToolCallsReplay", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.reply = func(int, openaitest.Received) openaitest.Reply {
					return openaitest.Reply{ToolCall: "get_weather", ToolArgs: `{"city":"Paris"}`, Usage: openaitest.Usage{Prompt: 50, Completion: 10}}
				}
				first := e.stream(t, "sk-a", "faq", "weather?", false)
				hit := e.stream(t, "sk-a", "faq", "weather?", false)
				e.wantHit(t, hit.resp, hit.rec, first.rec.CostUSD, 1)
				if first.toolArgs != `get_weather {"city":"Paris"}` || hit.toolArgs != first.toolArgs || hit.finish != "tool_calls" {
					t.Errorf("tool call %q then %q (finish %q)", first.toolArgs, hit.toolArgs, hit.finish)
				}
			})
			t.Run("OnlyCompleteAnswersAreStored", func(t *testing.T) {
				e := newCacheEnv(t, newStore)
				e.reply = func(n int, _ openaitest.Received) openaitest.Reply {
					switch n {
					case 1:
						return openaitest.Reply{Status: 500}
					case 2:
						return openaitest.Reply{Text: "one two three four", BreakAfter: 2}
					}
					return openaitest.Reply{Text: "not json"}
				}
				if _, err := e.h.client("sk-a").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "faq", Messages: userMessage("q")}); err == nil {
					t.Fatal("a 500 answered")
				}
				e.h.audit.next(t)
				st := e.h.client("sk-a").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
					Model: "faq", Messages: userMessage("q")})
				for st.Next() {
				}
				if st.Err() == nil {
					t.Error("a broken stream ended normally")
				}
				if rec := e.h.audit.next(t); !rec.Incomplete {
					t.Errorf("broken stream record %+v", rec)
				}
				_, err := e.h.client("sk-a").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "faq-json", Messages: userMessage("q"),
					ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &openai.ResponseFormatJSONObjectParam{}}})
				if err == nil {
					t.Error("an answer that is not JSON was served on an on_invalid: error route")
				}
				if rec := e.h.audit.next(t); rec.Structured != audit.StructuredInvalid {
					t.Errorf("structured %q", rec.Structured)
				}
				e.flush()
				if e.store.puts.Load() != 0 {
					t.Errorf("%d failed answers offered to the cache", e.store.puts.Load())
				}
			})
		})
	}
}

// A hit is a request for rpm but costs nothing against the budget.
func TestCacheHitLimits(t *testing.T) {
	e := newCacheEnv(t, memoryStore)
	for i := range 4 {
		_, resp, _ := e.ask(t, "sk-a", "faq", "q")
		want := "hit"
		if i == 0 {
			want = "miss"
		}
		if got := resp.Header.Get("X-Router-Cache"); got != want {
			t.Errorf("request %d: %s, want %s", i+1, got, want)
		}
	}
	// The key's rpm is 4: the three hits counted.
	_, err := e.h.client("sk-a").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "faq", Messages: userMessage("q")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("fifth request in the minute: %v", err)
	}
	if rec := e.h.audit.next(t); rec.Limit != "rpm" || rec.Cache != "" {
		t.Errorf("refusal record %+v", rec)
	}
	if err := e.limiter.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.limiter.Counters.(*limits.Memory).Value("usd#key#app-a#202603"); math.Abs(got-0.0035) > 1e-12 {
		t.Errorf("budget counter %v after one miss and three hits, want the miss's 0.0035", got)
	}
}

// Two requests that differ only in member order and whitespace are the
// same question; a parameter that changes the answer is another.
func TestCacheKeyIsCanonical(t *testing.T) {
	e := newCacheEnv(t, memoryStore)
	auth := map[string]string{"Authorization": "Bearer sk-a"}
	send := func(body string, headers map[string]string) (string, *audit.Record) {
		t.Helper()
		resp := e.h.post(t, "/v1/chat/completions", body, headers)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		return resp.Header.Get("X-Router-Cache"), e.h.audit.next(t)
	}
	if got, _ := send(`{"model":"faq","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}`, auth); got != "miss" {
		t.Fatalf("first: %s", got)
	}
	if got, _ := send(`{ "tools" : [ {"function":{"parameters":{"properties":{},"type":"object"},"name":"f"},"type":"function"} ],
		"temperature": 0.5, "tool_choice": {"function": {"name": "f"}, "type": "function"},
		"messages": [ {"content": "hi", "role": "user"} ], "model": "faq", "stream": false }`, auth); got != "hit" {
		t.Errorf("the same request reordered and spaced: %s, want hit", got)
	}
	if got, _ := send(`{"model":"faq","messages":[{"role":"user","content":"hi"}],"temperature":0.7,"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}`, auth); got != "miss" {
		t.Errorf("another temperature: %s, want miss", got)
	}
	// The route named by header is the route of the key; the body's model
	// does not matter.
	if got, _ := send(`{"model":"anything","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}]}`,
		map[string]string{"Authorization": "Bearer sk-a", "X-Router-Route": "faq"}); got != "hit" {
		t.Errorf("the same request through x-router-route: %s, want hit", got)
	}
}

// The other surfaces answer hits in their own shapes, streamed included.
func TestCacheHitOnOtherSurfaces(t *testing.T) {
	e := newCacheEnv(t, memoryStore)
	auth := map[string]string{"Authorization": "Bearer sk-a", "anthropic-version": "2023-06-01"}
	for i, tt := range []struct{ path, body, want string }{
		{"/v1/messages", `{"model":"faq","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`, `"type":"message"`},
		{"/v1/messages", `{"model":"faq","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, "event: message_stop"},
		{"/v1/responses", `{"model":"faq","input":"hi"}`, `"object":"response"`},
		{"/v1/responses", `{"model":"faq","input":"hi","stream":true}`, "event: response.completed"},
	} {
		resp := e.h.post(t, tt.path, tt.body, auth)
		b, _ := io.ReadAll(resp.Body)
		rec := e.h.audit.next(t)
		wantCache := "hit"
		if i%2 == 0 {
			wantCache = "miss" // each surface's first request
		}
		if resp.StatusCode != 200 || resp.Header.Get("X-Router-Cache") != wantCache || rec.Cache != wantCache ||
			!strings.Contains(string(b), tt.want) || !strings.Contains(string(b), "answer number") {
			t.Errorf("%s %s: %d %s %q\n%s", tt.path, tt.body, resp.StatusCode, resp.Header.Get("X-Router-Cache"), rec.Cache, b)
		}
	}
}

// A stream from every provider type is assembled exactly, stored, and
// serves a plain request without calling the provider again.
func TestEveryProviderTypeStreamIsStored(t *testing.T) {
	for _, ut := range upstreamTypes {
		t.Run(ut.name, func(t *testing.T) {
			u := ut.new(t)
			store := &countingStore{Store: &respcache.Memory{}}
			h := newHarness(t, oneTarget(u, "cache: {ttl: 10m}"), upKey, func(g *gateway.Gateway) { g.Cache = store })
			u.push(t, fenced, `{"a": 1}`)
			params := openai.ChatCompletionNewParams{Model: "extract", Messages: userMessage("hi")}
			st := h.client("unused").Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			for st.Next() {
				acc.AddChunk(st.Current())
			}
			if err := st.Err(); err != nil || len(acc.Choices) == 0 {
				t.Fatalf("stream: %v", err)
			}
			want := acc.Choices[0].Message.Content
			if rec := h.audit.next(t); rec.Cache != audit.CacheMiss || store.puts.Load() != 1 {
				t.Fatalf("streamed miss: record %q, %d puts", rec.Cache, store.puts.Load())
			}
			var resp *http.Response
			got, err := h.client("unused").Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			h.audit.next(t)
			if resp.Header.Get("X-Router-Cache") != "hit" || got.Choices[0].Message.Content != want || want == "" ||
				got.Choices[0].FinishReason != acc.Choices[0].FinishReason || len(u.bodies()) != 1 {
				t.Errorf("plain request after the stream: %s %q (finish %s), want a hit of %q (finish %s); upstream got %d requests",
					resp.Header.Get("X-Router-Cache"), got.Choices[0].Message.Content, got.Choices[0].FinishReason,
					want, acc.Choices[0].FinishReason, len(u.bodies()))
			}
		})
	}
}

// BenchmarkHandlerCacheHit is a hit from the in-memory store: the router's
// own work with the request's hash and a replayed answer instead of an
// attempt (compare BenchmarkHandlerMock).
func BenchmarkHandlerCacheHit(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(fmt.Sprintf("stream=%v", stream), func(b *testing.B) {
			gw := benchGateway(b, `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, cache: {ttl: 1h}, targets: [{model: m}]}]
`, nil)
			gw.Cache = &respcache.Memory{}
			body := []byte(benchBody)
			if stream {
				body = []byte(strings.Replace(benchBody, `{"model":"bench",`, `{"model":"bench","stream":true,`, 1))
			}
			serve := func() *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body)))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
				return w
			}
			serve()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if w := serve(); w.Header().Get("X-Router-Cache") != "hit" {
					b.Fatalf("not a hit: %v", w.Header())
				}
			}
		})
	}
}
