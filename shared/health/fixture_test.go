package health_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/store/dynamo"
)

const stateTable = "test-state"

// clock is a settable clock shared by the views, the checker and the store.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.t.Store(&now)
	return c
}

func (c *clock) Now() time.Time { return *c.t.Load() }

func (c *clock) Advance(d time.Duration) {
	now := c.Now().Add(d)
	c.t.Store(&now)
}

// fixture is moto with the state table, reached through a client that
// counts every AWS request.
type fixture struct {
	moto  *awstest.Moto
	calls *awstest.CountingClient
	db    *dynamodb.Client
	store *dynamo.StateStore
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m := awstest.Start(t)
	cfg := m.Config()
	calls := &awstest.CountingClient{Base: cfg.HTTPClient}
	cfg.HTTPClient = calls
	f := &fixture{moto: m, calls: calls, db: dynamodb.NewFromConfig(cfg), clock: newClock()}
	if err := dynamo.CreateTables(context.Background(), f.db, "test-config", stateTable); err != nil {
		t.Fatal(err)
	}
	f.store = &dynamo.StateStore{DB: f.db, Table: stateTable, Now: f.clock.Now}
	return f
}

func parse(t testing.TB, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// view is a router instance's health view on the fixture's table.
func (f *fixture) view(c *config.Config, id string) *health.View {
	return &health.View{Source: gateway.Static{C: c}, Store: f.store, TTL: 5 * time.Second, ID: id, Now: f.clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// checker is a health function on the fixture's table.
func (f *fixture) checker(c *config.Config, env map[string]string) *health.Checker {
	deps := llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: envOf(env)}}
	factories := provider.Builtin()
	return &health.Checker{Source: gateway.Static{C: c}, Store: f.store, Now: f.clock.Now, Interval: 30 * time.Second,
		Adapter: func(p *config.Provider) (llm.Provider, error) { return factories[p.Type](p, deps) },
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// router is a gateway whose health, latency and observer are a view.
type router struct {
	gw      *gateway.Gateway
	srv     *httptest.Server
	view    *health.View
	records chan *audit.Record
}

type sink chan *audit.Record

func (s sink) Emit(r *audit.Record) {
	cp := *r
	s <- &cp
}

func newRouter(t *testing.T, c *config.Config, v *health.View, env map[string]string) *router {
	t.Helper()
	r := &router{view: v, records: make(chan *audit.Record, 4096)}
	r.gw = &gateway.Gateway{Source: gateway.Static{C: c}, Providers: provider.Builtin(),
		Deps:   llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: envOf(env)}},
		Health: v, Latency: v, Observer: v, Sink: sink(r.records),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r.srv = httptest.NewServer(r.gw)
	t.Cleanup(r.srv.Close)
	return r
}

// chat posts a plain chat completion and returns the status, the serving
// model, and the request's audit record.
func (r *router) chat(t *testing.T, model string) (status int, served string, rec *audit.Record) {
	t.Helper()
	resp, err := http.Post(r.srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"`+model+`","messages":[{"role":"user","content":"live question"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	select {
	case rec = <-r.records:
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record")
	}
	return resp.StatusCode, resp.Header.Get("X-Router-Model"), rec
}

// get fetches a GET endpoint's JSON body.
func (r *router) get(t *testing.T, path string, out any) {
	t.Helper()
	resp, err := http.Get(r.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

// explain posts to the explain endpoint.
func (r *router) explain(t *testing.T, model string) (candidates []string, excluded []map[string]string, status int) {
	t.Helper()
	resp, err := http.Post(r.srv.URL+"/v1/router/explain", "application/json",
		bytes.NewReader([]byte(`{"model":"`+model+`","messages":[{"role":"user","content":"x"}]}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Candidates []struct{ Model string }
		Excluded   []map[string]string
		Status     int
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, c := range out.Candidates {
		candidates = append(candidates, c.Model)
	}
	return candidates, out.Excluded, out.Status
}

// barrier releases the requests that reach it once n have arrived, so
// concurrent callers provably overlap.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	release chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, release: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	<-b.release
}
