package health_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
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

// static is a configuration source that never changes.
type static struct{ c *config.Config }

func (s static) Config(context.Context) (*config.Config, error) { return s.c, nil }

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
	return &health.View{Source: static{c}, Store: f.store, TTL: 5 * time.Second, ID: id, Now: f.clock.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// checker is a health function on the fixture's table.
func (f *fixture) checker(c *config.Config, env map[string]string) *health.Checker {
	deps := llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: envOf(env)}}
	factories := provider.Builtin()
	return &health.Checker{Source: static{c}, Store: f.store, Now: f.clock.Now, Interval: 30 * time.Second,
		Adapter: func(p *config.Provider) (llm.Provider, error) { return factories[p.Type](p, deps) },
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// barrier releases the requests that reach it once n have arrived, so
// concurrent callers provably overlap.
type barrier struct {
	mu      sync.Mutex
	n       int
	arrived int
	release chan struct{}
	// later holds every arrival but the first after the release until
	// firstDone: the first answer's round then writes before any other
	// round's answer is in, so the emulator sees the writes one after the
	// other (moto serves requests on threads and does not make a
	// condition check and its write atomic).
	later    chan struct{}
	doneOnce sync.Once
}

func newBarrier(n int) *barrier {
	return &barrier{n: n, release: make(chan struct{}), later: make(chan struct{})}
}

func (b *barrier) wait() {
	b.mu.Lock()
	b.arrived++
	me := b.arrived
	if b.arrived == b.n {
		close(b.release)
	}
	b.mu.Unlock()
	<-b.release
	if me > 1 {
		<-b.later
	}
}

// firstDone lets the later arrivals answer.
func (b *barrier) firstDone() { b.doneOnce.Do(func() { close(b.later) }) }
