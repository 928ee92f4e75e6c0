package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/store/dynamo"
)

// The health view and the gateway together: the health function's results
// and the breakers shared through the state table decide where requests go.

const healthStateTable = "test-state"

var healthKeys = map[string]string{"PRIM_KEY": "sk-prim-0001", "BACK_KEY": "sk-back-0002"}

// testClock is a settable clock shared by the views, the checker and the store.
type testClock struct{ t atomic.Pointer[time.Time] }

func newTestClock() *testClock {
	c := &testClock{}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c.t.Store(&now)
	return c
}

func (c *testClock) Now() time.Time { return *c.t.Load() }

func (c *testClock) Advance(d time.Duration) {
	now := c.Now().Add(d)
	c.t.Store(&now)
}

// healthFixture is moto with the state table, the health function's and the
// routers' shared clock.
type healthFixture struct {
	store *dynamo.StateStore
	clock *testClock
}

func newHealthFixture(t *testing.T) *healthFixture {
	t.Helper()
	db := dynamodb.NewFromConfig(awstest.Start(t).Config())
	if err := dynamo.CreateTables(context.Background(), db, "test-config", healthStateTable); err != nil {
		t.Fatal(err)
	}
	f := &healthFixture{clock: newTestClock()}
	f.store = &dynamo.StateStore{DB: db, Table: healthStateTable, Now: f.clock.Now}
	return f
}

func parseYAML(t testing.TB, yaml string) *config.Config {
	t.Helper()
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// view is a router instance's health view on the fixture's table.
func (f *healthFixture) view(c *config.Config, id string) *health.View {
	return &health.View{Source: gateway.Static{C: c}, Store: f.store, TTL: 5 * time.Second, ID: id, Now: f.clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// checker is a health function on the fixture's table.
func (f *healthFixture) checker(c *config.Config, env map[string]string) *health.Checker {
	deps := llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: envOf(env)}}
	factories := provider.Builtin()
	return &health.Checker{Source: gateway.Static{C: c}, Store: f.store, Now: f.clock.Now, Interval: 30 * time.Second,
		Adapter: func(p *config.Provider) (llm.Provider, error) { return factories[p.Type](p, deps) },
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// healthRouter is a gateway given a health view as Build gives it one.
type healthRouter struct {
	gw      *gateway.Gateway
	srv     *httptest.Server
	view    *health.View
	records chan *audit.Record
}

type recordSink chan *audit.Record

func (s recordSink) Emit(r *audit.Record) {
	cp := *r
	s <- &cp
}

func newHealthRouter(t *testing.T, c *config.Config, v *health.View, env map[string]string) *healthRouter {
	t.Helper()
	r := &healthRouter{view: v, records: make(chan *audit.Record, 4096)}
	r.gw = &gateway.Gateway{Source: gateway.Static{C: c}, Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: envOf(env)}},
		Sink: recordSink(r.records), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	useHealth(r.gw, v)
	r.srv = httptest.NewServer(r.gw)
	t.Cleanup(r.srv.Close)
	return r
}

// chat posts a plain chat completion and returns the status, the serving
// model, and the request's audit record.
func (r *healthRouter) chat(t *testing.T, model string) (status int, served string, rec *audit.Record) {
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
func (r *healthRouter) get(t *testing.T, path string, out any) {
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
func (r *healthRouter) explain(t *testing.T, model string) (candidates []string, excluded []map[string]string, status int) {
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

// probeOrLive tells the health function's one-token probe from a live request.
func isProbe(r openaitest.Received) bool { return strings.Contains(string(r.Body), `"ping"`) }

func liveCalls(s *openaitest.Server) int {
	n := 0
	for _, r := range s.Received() {
		if !isProbe(r) {
			n++
		}
	}
	return n
}

// switchable is an upstream that can be taken down and brought back.
type switchable struct {
	*openaitest.Server
	down atomic.Bool
}

func newSwitchable(name string) *switchable {
	s := &switchable{}
	s.Server = openaitest.NewServer(name, func(openaitest.Received) openaitest.Reply {
		if s.down.Load() {
			return openaitest.Reply{Status: 503, ErrMessage: "overloaded, the prompt was: live question"}
		}
		return openaitest.Reply{}
	})
	return s
}

func probesConfig(primURL, backURL, goneURL string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY", probe: chat}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
  - {name: gone, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: gpt-4o, price: {input: 1, output: 2}}
  - {id: backup, provider: back, upstream: gpt-4o-mini, price: {input: 1, output: 2}}
  - {id: elsewhere, provider: gone, price: {input: 1, output: 2}}
routes:
  - {name: main, targets: [{model: primary}, {model: backup}]}
health: {unhealthy_after: 2, healthy_after: 2}
`, primURL, backURL, goneURL)
}

func breakerConfig(primURL, backURL string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY"}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: gpt-4o, price: {input: 1, output: 2}}
  - {id: backup, provider: back, upstream: gpt-4o-mini, price: {input: 1, output: 2}}
routes:
  - {name: main, targets: [{model: primary}, {model: backup}]}
health: {breaker_failures: 3, breaker_cooldown: 20s}
`, primURL, backURL)
}

// The health function marks a provider that goes down unhealthy after N
// rounds, routers skip it once their cache has the news, and M good rounds
// after it comes back it is healthy and serves again. A chat probe (primary)
// and a models probe of an endpoint nobody answers (elsewhere) both count.
func TestProbesDownAndBackUp(t *testing.T) {
	f := newHealthFixture(t)
	prim := newSwitchable("prim")
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	cfg := parseYAML(t, probesConfig(prim.BaseURL(), back.BaseURL(), openaitest.ClosedURL()))
	chk := f.checker(cfg, healthKeys)
	var metrics bytes.Buffer
	chk.Metrics, chk.Namespace = &metrics, "Test"
	r := newHealthRouter(t, cfg, f.view(cfg, "router-a"), healthKeys)
	ctx := context.Background()

	var last health.Report
	round := func(wantFailed int) {
		t.Helper()
		metrics.Reset()
		rep, err := chk.Round(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last = rep
		// prim: one chat probe of its model; back and gone: a models probe each.
		if rep.Probes != 3 || rep.Failed != wantFailed || rep.Written != 3 || len(rep.Errors) != 0 {
			t.Fatalf("round = %+v, want 3 probes, %d failed, 3 written", rep, wantFailed)
		}
		f.clock.Advance(30 * time.Second)
		if err := r.view.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	item := func(provider, model string) health.ProbeState {
		t.Helper()
		h, found, err := f.store.GetHealth(ctx, provider, model)
		if err != nil || !found {
			t.Fatalf("health of %s/%s: found %v, %v", provider, model, found, err)
		}
		return h
	}

	round(1) // only gone fails: nothing listens there
	if h := item("prim", "primary"); h.Status != health.StatusHealthy || h.Probe != health.ProbeChat || h.LatencyMs <= 0 {
		t.Errorf("primary after a good round = %+v", h)
	}
	if status, served, _ := r.chat(t, "main"); status != 200 || served != "primary" {
		t.Fatalf("healthy: %d served by %q", status, served)
	}

	prim.down.Store(true)
	round(2)
	if h := item("prim", "primary"); h.Status != health.StatusHealthy || h.ConsecutiveFailures != 1 {
		t.Errorf("after one failed probe = %+v, want still healthy with 1 failure", h)
	}
	round(2)
	h := item("prim", "primary")
	if h.Status != health.StatusUnhealthy || h.ConsecutiveFailures != 2 || h.Reason != "status 503 (overloaded) (2 failed probes in a row)" {
		t.Errorf("after N failed probes = %+v", h)
	}
	if strings.Contains(h.Reason, "live question") {
		t.Error("the reason quotes the upstream's message")
	}
	// The round's status counts, as the dashboard's EMF lines.
	if last.Counts != (audit.HealthCounts{Healthy: 1, Unhealthy: 2}) {
		t.Errorf("counts = %+v, want 1 healthy and 2 unhealthy", last.Counts)
	}
	for _, want := range []string{`"Status":"healthy","HealthTargets":1}`, `"Status":"degraded","HealthTargets":0}`,
		`"Status":"unhealthy","HealthTargets":2}`, `"Namespace":"Test"`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics.String())
		}
	}
	if g := item("gone", "elsewhere"); g.Status != health.StatusUnhealthy || g.Reason != "could not connect (3 failed probes in a row)" || g.Probe != health.ProbeModels {
		t.Errorf("unreachable provider = %+v", g)
	}

	// The router skips it: the backup serves, the primary sees no live request.
	before := liveCalls(prim.Server)
	for i := 0; i < 5; i++ {
		status, served, rec := r.chat(t, "main")
		if status != 200 || served != "backup" || len(rec.Attempts) != 1 {
			t.Fatalf("primary unhealthy: %d served by %q attempts %+v", status, served, rec.Attempts)
		}
	}
	if n := liveCalls(prim.Server) - before; n != 0 {
		t.Errorf("the unhealthy primary got %d live requests", n)
	}
	cands, excluded, _ := r.explain(t, "main")
	if len(cands) != 1 || cands[0] != "backup" || len(excluded) != 1 ||
		excluded[0]["reason"] != "unhealthy: probe: status 503 (overloaded) (2 failed probes in a row)" {
		t.Errorf("explain: candidates %v excluded %v", cands, excluded)
	}
	// A model whose every target is unhealthy answers 502 naming why.
	if status, _, rec := r.chat(t, "elsewhere"); status != 502 || rec.ErrorCode != "all_targets_failed" {
		t.Errorf("only target unhealthy: %d %q", status, rec.ErrorCode)
	}

	// Back up: one good probe is not enough (M = 2).
	prim.down.Store(false)
	round(1)
	if h := item("prim", "primary"); h.Status != health.StatusUnhealthy || h.Reason != "recovering: 1 of 2 good probes" {
		t.Errorf("after one good probe = %+v", h)
	}
	if _, served, _ := r.chat(t, "main"); served != "backup" {
		t.Errorf("recovering primary served a request")
	}
	round(1)
	if h := item("prim", "primary"); h.Status != health.StatusHealthy || h.ConsecutiveSuccesses != 2 {
		t.Errorf("after M good probes = %+v", h)
	}
	if status, served, _ := r.chat(t, "main"); status != 200 || served != "primary" {
		t.Errorf("recovered: %d served by %q, want primary", status, served)
	}

	// GET /v1/router/health shows it all.
	var report struct {
		Data []struct {
			Provider, Model, Status, Reason string
			Probe                           *health.ProbeHealth
			Breaker                         health.BreakerHealth
			LatencyEstimateMs               *float64 `json:"latency_estimate_ms"`
		}
	}
	r.get(t, "/v1/router/health", &report)
	got := map[string]string{}
	for _, d := range report.Data {
		got[d.Model] = d.Status
		switch d.Model {
		case "primary":
			if d.Probe == nil || d.Probe.Status != "healthy" || d.Breaker.State != "closed" || d.LatencyEstimateMs == nil {
				t.Errorf("primary report = %+v", d)
			}
		case "elsewhere":
			if d.Probe == nil || !strings.Contains(d.Reason, "could not connect") {
				t.Errorf("elsewhere report = %+v", d)
			}
		}
	}
	if got["primary"] != "healthy" || got["backup"] != "healthy" || got["elsewhere"] != "unhealthy" {
		t.Errorf("health statuses = %v", got)
	}
}

// One router's breaker opens on live failures; another router, which never
// saw a failure, skips the target once its cache has read the opening; a
// trial on the first router that succeeds after the cooldown closes it for
// both.
func TestBreakerSharedBetweenRouters(t *testing.T) {
	f := newHealthFixture(t)
	prim := newSwitchable("prim")
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	cfg := parseYAML(t, breakerConfig(prim.BaseURL(), back.BaseURL()))
	a := newHealthRouter(t, cfg, f.view(cfg, "router-a"), healthKeys)
	b := newHealthRouter(t, cfg, f.view(cfg, "router-b"), healthKeys)
	ctx := context.Background()
	for _, r := range []*healthRouter{a, b} {
		if err := r.view.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}

	prim.down.Store(true)
	for i := 0; i < 3; i++ { // breaker_failures
		status, served, rec := a.chat(t, "main")
		if status != 200 || served != "backup" || len(rec.Attempts) != 2 || rec.Attempts[0].Outcome != audit.OutcomeError {
			t.Fatalf("request %d on a: %d %q %+v", i, status, served, rec.Attempts)
		}
	}
	if _, served, rec := a.chat(t, "main"); served != "backup" || len(rec.Attempts) != 1 {
		t.Fatalf("a's breaker did not open: %q %+v", served, rec.Attempts)
	}
	// b has not heard yet: within its TTL it still tries the primary.
	if _, _, rec := b.chat(t, "main"); len(rec.Attempts) != 2 {
		t.Fatalf("b within its TTL: attempts %+v", rec.Attempts)
	}
	// a's end of invocation writes the opening; b's next refresh reads it.
	if err := a.view.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.view.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	before := liveCalls(prim.Server)
	for i := 0; i < 5; i++ {
		if status, served, rec := b.chat(t, "main"); status != 200 || served != "backup" || len(rec.Attempts) != 1 {
			t.Fatalf("b after reading a's opening: %d %q %+v", status, served, rec.Attempts)
		}
	}
	if n := liveCalls(prim.Server) - before; n != 0 {
		t.Errorf("b sent %d requests to a target a found failing", n)
	}
	_, excluded, _ := b.explain(t, "main")
	if len(excluded) != 1 || !strings.Contains(excluded[0]["reason"], "circuit open") ||
		!strings.Contains(excluded[0]["reason"], "another router") {
		t.Errorf("b's explain: %v", excluded)
	}

	// Recovery: after the cooldown one trial on a succeeds and closes it.
	prim.down.Store(false)
	f.clock.Advance(21 * time.Second)
	if _, served, _ := a.chat(t, "main"); served != "primary" {
		t.Fatalf("a's trial after the cooldown was served by %q", served)
	}
	if err := a.view.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.view.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	// b is closed, not half-open: concurrent requests all go to the primary.
	first := b.view.Allow("prim", "primary")
	second := b.view.Allow("prim", "primary") // half-open would refuse a second trial
	if !first || !second {
		t.Error("b stayed half-open after a closed the breaker")
	}
	if _, served, _ := b.chat(t, "main"); served != "primary" {
		t.Errorf("b after the closing: served by %q", served)
	}
	bs, err := f.store.ReadHealthState(ctx)
	if err != nil || len(bs.Breakers) != 1 || bs.Breakers[0].State != health.BreakerClosed || bs.Breakers[0].Router != "router-a" {
		t.Errorf("shared breaker = %+v, %v", bs.Breakers, err)
	}
}
