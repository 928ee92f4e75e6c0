package dynamo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
)

const (
	configTable = "test-config"
	stateTable  = "test-state"
)

// fixture is a moto with both tables, a client whose requests are counted,
// a settable clock and captured logs.
type fixture struct {
	moto  *awstest.Moto
	calls *awstest.CountingClient
	db    *dynamodb.Client
	clock *clock
	logs  *syncBuffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m := awstest.Start(t)
	cfg := m.Config()
	calls := &awstest.CountingClient{Base: cfg.HTTPClient}
	cfg.HTTPClient = calls
	f := &fixture{moto: m, calls: calls, db: dynamodb.NewFromConfig(cfg), clock: newClock(), logs: &syncBuffer{}}
	if err := CreateTables(context.Background(), f.db, configTable, stateTable); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) source() *ConfigSource {
	return &ConfigSource{DB: f.db, Table: configTable, TTL: 5 * time.Second, Now: f.clock.Now,
		Log: slog.New(slog.NewJSONHandler(f.logs, nil))}
}

func (f *fixture) write(t *testing.T, c *config.Config) WriteResult {
	t.Helper()
	res, err := WriteConfig(context.Background(), f.db, configTable, DefaultConfigName, c, f.clock.Now())
	if err != nil {
		t.Fatalf("WriteConfig: %v", err)
	}
	return res
}

// tableKeys lists every pk/sk in the config table.
func (f *fixture) tableKeys(t *testing.T) []string {
	t.Helper()
	out, err := f.db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(configTable)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range out.Items {
		keys = append(keys, stringAttr(it, AttrPK)+" "+stringAttr(it, AttrSK))
	}
	return keys
}

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

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines whose event is event.
func (b *syncBuffer) lines(t *testing.T, event string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", l)
		}
		if m["event"] == event {
			out = append(out, m)
		}
	}
	return out
}

func loadFile(t *testing.T, path string) *config.Config {
	t.Helper()
	c, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRoundTripFullConfig(t *testing.T) {
	f := newFixture(t)
	want := loadFile(t, "testdata/full.yaml")
	res := f.write(t, want)
	if !res.Changed || res.Previous != "" || res.Deleted != 0 {
		t.Errorf("first write = %+v, want changed from nothing", res)
	}
	// 6 providers + 6 models + 4 routes + 3 data classes + 2 keys + settings
	// (which holds the schemas).
	if res.Items != 22 {
		t.Errorf("items = %d, want 22", res.Items)
	}
	got, err := f.source().Config(context.Background())
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", " ")
		wj, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("config read back differs\ngot:  %s\nwant: %s", gj, wj)
	}
	if n := len(f.tableKeys(t)); n != res.Items+1 {
		t.Errorf("table holds %d items, want %d entities and the head", n, res.Items)
	}
}

func TestRewriteReplacesAndDeletes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := loadFile(t, "testdata/full.yaml")
	r1 := f.write(t, first)

	// The new file drops a provider, its model, the route using it, a data
	// class and a key, and changes a price.
	second := loadFile(t, "testdata/full.yaml")
	second.Providers = second.Providers[:len(second.Providers)-1]
	second.Models = second.Models[:len(second.Models)-1]
	second.Routes[2].Targets = second.Routes[2].Targets[:1]
	delete(second.DataClasses, "pci")
	second.Keys = second.Keys[:1]
	second.Models[0].Price.Input = 0.28
	r2 := f.write(t, second)
	if !r2.Changed || r2.Previous != r1.Generation || r2.Generation == r1.Generation {
		t.Errorf("second write = %+v, want a new generation replacing %s", r2, r1.Generation)
	}
	if r2.Deleted != r1.Items {
		t.Errorf("deleted %d items, want all %d of the old generation", r2.Deleted, r1.Items)
	}
	keys := f.tableKeys(t)
	if len(keys) != r2.Items+1 {
		t.Errorf("table holds %d items, want %d: %v", len(keys), r2.Items+1, keys)
	}
	for _, k := range keys {
		if strings.Contains(k, r1.Generation) {
			t.Errorf("item of the replaced generation left behind: %s", k)
		}
	}
	got, err := f.source().Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, second) {
		t.Errorf("config read back is not the second file")
	}

	// The same file again: same generation, nothing a reader would notice.
	r3 := f.write(t, second)
	if r3.Changed || r3.Generation != r2.Generation || r3.Deleted != 0 {
		t.Errorf("idempotent write = %+v, want unchanged %s", r3, r2.Generation)
	}
}

func TestWriteRefusesInvalidConfig(t *testing.T) {
	f := newFixture(t)
	c := loadFile(t, "testdata/full.yaml")
	c.Models[0].Provider = "nobody"
	_, err := WriteConfig(context.Background(), f.db, configTable, DefaultConfigName, c, f.clock.Now())
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a config.ValidationError", err)
	}
	if n := len(f.tableKeys(t)); n != 0 {
		t.Errorf("an invalid config left %d items", n)
	}
}

func TestWarmRequestsMakeNoAWSCalls(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, config.Default())
	src := f.source()
	first, err := src.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}

	before := f.calls.Count()
	const warm = 1000
	for i := 0; i < warm; i++ {
		f.clock.Advance(time.Millisecond) // 1 s in all, inside the 5 s TTL
		c, err := src.Config(ctx)
		if err != nil || c != first {
			t.Fatalf("warm call %d: %p, %v; want the loaded copy", i, c, err)
		}
	}
	if got := f.calls.Count() - before; got != 0 {
		t.Errorf("%d warm calls made %d AWS requests, want 0", warm, got)
	}

	// Past the TTL with unchanged content: one GetItem of the head, same pointer.
	f.clock.Advance(5 * time.Second)
	before = f.calls.Count()
	c, err := src.Config(ctx)
	if err != nil || c != first {
		t.Fatalf("refresh of unchanged content: %p, %v; want the same pointer %p", c, err, first)
	}
	if got := f.calls.Count() - before; got != 1 {
		t.Errorf("refresh of unchanged content made %d AWS requests, want 1 (the head)", got)
	}

	// A new generation: head and items are read, and a new pointer served.
	changed := config.Default()
	changed.Models[0].Timeout = config.Duration(7 * time.Second)
	f.write(t, changed)
	f.clock.Advance(6 * time.Second)
	before = f.calls.Count()
	c, err = src.Config(ctx)
	if err != nil || c == first {
		t.Fatalf("refresh after a change: %p, %v; want a new configuration", c, err)
	}
	if got := f.calls.Count() - before; got != 2 {
		t.Errorf("refresh after a change made %d AWS requests, want 2 (head and one query page)", got)
	}
	if c.Models[0].Timeout.D() != 7*time.Second {
		t.Errorf("timeout = %v, want the new 7s", c.Models[0].Timeout.D())
	}
	if len(f.logs.lines(t, "config_changed")) != 1 {
		t.Errorf("want one config_changed log line; logs:\n%s", f.logs)
	}
}

func TestOneRefreshInFlight(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, config.Default())
	src := f.source()
	first, err := src.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	before := f.calls.Count()
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c, err := src.Config(ctx); err != nil || c != first {
				t.Errorf("concurrent Config: %p, %v", c, err)
			}
		}()
	}
	wg.Wait()
	if got := f.calls.Count() - before; got != 1 {
		t.Errorf("50 concurrent callers past the TTL made %d AWS requests, want 1", got)
	}
}

func TestFailStaticWhenDynamoDBStops(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.write(t, config.Default())
	src := f.source()
	first, err := src.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}

	f.moto.Stop()
	for i := 1; i <= 3; i++ {
		f.clock.Advance(6 * time.Second)
		c, err := src.Config(ctx)
		if err != nil || c != first {
			t.Fatalf("refresh %d with DynamoDB down: %p, %v; want the last good copy", i, c, err)
		}
	}
	failures := f.logs.lines(t, "refresh_failed")
	if len(failures) != 3 {
		t.Fatalf("want 3 refresh_failed lines, got %d; logs:\n%s", len(failures), f.logs)
	}
	line := failures[2]
	if line["type"] != "store" || line["Table"] != configTable || line[MetricRefreshFailures] != 1.0 ||
		line["consecutive_failures"] != 3.0 || line["error"] == "" {
		t.Errorf("refresh_failed line = %v", line)
	}
	// The line is an EMF document: the metric and its dimension are top-level members.
	meta, _ := line["_aws"].(map[string]any)
	directives, _ := meta["CloudWatchMetrics"].([]any)
	if meta["Timestamp"] == nil || len(directives) != 1 {
		t.Fatalf("_aws = %v, want an EMF metadata object", line["_aws"])
	}
	d := directives[0].(map[string]any)
	if d["Namespace"] != DefaultNamespace || !reflect.DeepEqual(d["Dimensions"], []any{[]any{"Table"}}) ||
		!strings.Contains(string(mustJSON(d["Metrics"])), `"Name":"ConfigRefreshFailures"`) {
		t.Errorf("EMF directive = %v", d)
	}
	// And one CloudWatch takes as it is: the alarm on ConfigRefreshFailures
	// (template.yaml) reads exactly this metric.
	if err := audit.ValidateEMF(mustJSON(line), f.clock.Now()); err != nil {
		t.Errorf("the refresh_failed line is not valid EMF: %v", err)
	}

	// DynamoDB is back, but empty: no table, then no configuration. Still
	// fail static, until a configuration is written.
	if err := f.moto.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(6 * time.Second)
	if c, err := src.Config(ctx); err != nil || c != first {
		t.Fatalf("refresh with no table: %p, %v; want the last good copy", c, err)
	}
	if err := CreateTables(ctx, f.db, configTable, stateTable); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(6 * time.Second)
	if c, err := src.Config(ctx); err != nil || c != first {
		t.Fatalf("refresh from an empty table: %p, %v; want the last good copy", c, err)
	}
	if got := f.logs.lines(t, "refresh_failed"); !strings.Contains(got[len(got)-1]["error"].(string), "no configuration") {
		t.Errorf("last failure = %v, want the missing configuration named", got[len(got)-1])
	}
	changed := config.Default()
	changed.Routes[0].Timeout = config.Duration(30 * time.Second)
	f.write(t, changed)
	f.clock.Advance(6 * time.Second)
	c, err := src.Config(ctx)
	if err != nil || c == first || c.Routes[0].Timeout.D() != 30*time.Second {
		t.Fatalf("refresh after recovery: %v, %v; want the new configuration", c, err)
	}
	if len(f.logs.lines(t, "refresh_recovered")) != 1 {
		t.Errorf("want one refresh_recovered line; logs:\n%s", f.logs)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestFirstLoadFailsClearly(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		f := newFixture(t)
		f.moto.Stop()
		_, err := f.source().Config(context.Background())
		if err == nil {
			t.Fatal("first load with DynamoDB down succeeded")
		}
		msg := err.Error()
		for _, want := range []string{"cannot load configuration", configTable, "connect"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	})
	t.Run("never seeded", func(t *testing.T) {
		f := newFixture(t)
		_, err := f.source().Config(context.Background())
		if !errors.Is(err, ErrNoConfig) || !errors.Is(err, config.ErrNotConfigured) || !strings.Contains(err.Error(), "scripts/seed") {
			t.Errorf("err = %v, want ErrNoConfig (config.ErrNotConfigured) telling to run scripts/seed", err)
		}
	})
}

// A router deployed before its table is seeded says so without a DynamoDB
// read per request, reports itself not ready, and serves the configuration
// once it is seeded, within one TTL, without a restart.
func TestUnseededTableIsPickedUpWithinTTL(t *testing.T) {
	f := newFixture(t)
	src := f.source()
	ctx := context.Background()
	before := f.calls.Count()
	for range 5 {
		if _, err := src.Config(ctx); !errors.Is(err, config.ErrNotConfigured) {
			t.Fatalf("unseeded: %v", err)
		}
	}
	if n := f.calls.Count() - before; n != 1 {
		t.Errorf("5 requests on an unseeded table made %d DynamoDB calls, want 1 per TTL", n)
	}
	if r := src.Readiness(); r.Ready || !strings.Contains(r.Reason, "scripts/seed") {
		t.Errorf("readiness before seeding: %+v", r)
	}
	if got := len(f.logs.lines(t, "not_seeded")); got != 1 {
		t.Errorf("%d not_seeded lines, want 1", got)
	}

	res := f.write(t, config.Default())
	if _, err := src.Config(ctx); !errors.Is(err, config.ErrNotConfigured) {
		t.Errorf("within the TTL the source looked again: %v", err)
	}
	f.clock.Advance(5 * time.Second)
	c, err := src.Config(ctx)
	if err != nil || c == nil {
		t.Fatalf("one TTL after seeding: %v", err)
	}
	r := src.Readiness()
	if !r.Ready || r.Generation != res.Generation || !r.LoadedAt.Equal(f.clock.Now()) || !r.CheckedAt.Equal(f.clock.Now()) {
		t.Errorf("readiness after seeding: %+v (generation %s)", r, res.Generation)
	}
	// A refresh that finds the same generation moves CheckedAt, not LoadedAt.
	loaded := r.LoadedAt
	f.clock.Advance(6 * time.Second)
	if _, err := src.Config(ctx); err != nil {
		t.Fatal(err)
	}
	if r := src.Readiness(); !r.LoadedAt.Equal(loaded) || !r.CheckedAt.Equal(f.clock.Now()) {
		t.Errorf("after a refresh: %+v", r)
	}
	if got := len(f.logs.lines(t, "not_seeded")); got != 1 {
		t.Errorf("%d not_seeded lines after seeding, want still 1", got)
	}
}

// putGeneration writes c's items and head as WriteConfig would, without its
// validation, as a hand edit or an older writer could.
func putGeneration(t *testing.T, f *fixture, c *config.Config, prev *head) *head {
	t.Helper()
	ctx := context.Background()
	es, err := entities(c)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := contentHash(c)
	if err != nil {
		t.Fatal(err)
	}
	gen := generationOf(hash)
	items := make([]map[string]types.AttributeValue, len(es))
	for i, e := range es {
		if items[i], err = e.item(generationPK(DefaultConfigName, gen)); err != nil {
			t.Fatal(err)
		}
	}
	if err := putItems(ctx, f.db, configTable, items); err != nil {
		t.Fatal(err)
	}
	if err := moveHead(ctx, f.db, configTable, DefaultConfigName, prev, gen, hash, len(items), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := readHead(ctx, f.db, configTable, DefaultConfigName)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestInvalidTableContentIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := f.write(t, config.Default())
	src := f.source()
	first, err := src.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := readHead(ctx, f.db, configTable, DefaultConfigName)
	if err != nil || h.generation != good.Generation {
		t.Fatal(h, err)
	}

	// A generation that does not validate: the running source keeps its copy,
	// a new one refuses to start.
	bad := config.Default()
	bad.Routes[0].Targets[0].Model = "no-such-model"
	putGeneration(t, f, bad, h)
	f.clock.Advance(6 * time.Second)
	if c, err := src.Config(ctx); err != nil || c != first {
		t.Fatalf("invalid content: %p, %v; want the last good copy", c, err)
	}
	failures := f.logs.lines(t, "refresh_failed")
	if len(failures) != 1 || !strings.Contains(failures[0]["error"].(string), "no-such-model") {
		t.Errorf("refresh_failed = %v, want the validation error", failures)
	}
	if _, err := f.source().Config(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("cold load of invalid content: %v, want it refused", err)
	}

	// An item edited by hand no longer matches the hash in the head.
	f.write(t, config.Default())
	_, err = f.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(configTable),
		Key:                       key(generationPK(DefaultConfigName, good.Generation), "model#mock-fast"),
		UpdateExpression:          aws.String("SET #s.#t = :t"),
		ExpressionAttributeNames:  map[string]string{"#s": attrSpec, "#t": "timeout"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":t": str("99s")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.source().Config(ctx); !errors.Is(err, errTorn) {
		t.Errorf("cold load of a hand-edited item: %v, want it refused as not matching its head", err)
	}
}

func TestCodecRefusesUnknownAttributes(t *testing.T) {
	es, err := entities(config.Default())
	if err != nil {
		t.Fatal(err)
	}
	for i := range es {
		if es[i].kind == kindModel {
			es[i].spec = json.RawMessage(`{"id":"mock-fast","provider":"sim","colour":"blue"}`)
			break
		}
	}
	if _, err := assemble(es); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("assemble with an unknown field: %v, want it named", err)
	}
}
