package dynamo

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/health"
)

func (f *fixture) state() *StateStore {
	return &StateStore{DB: f.db, Table: stateTable, Now: f.clock.Now}
}

func TestConcurrentCounterAddsLoseNothing(t *testing.T) {
	f := newFixture(t)
	// moto applies ADD as a read-modify-write; awstest.Serial gives it
	// DynamoDB's atomicity, so what is tested is that the store uses ADD (a
	// read-then-write in the store would still lose updates), with the
	// goroutines as concurrent as before.
	cfg := f.moto.Config()
	cfg.HTTPClient = awstest.Serial(cfg.HTTPClient)
	s := &StateStore{DB: dynamodb.NewFromConfig(cfg), Table: stateTable, Now: f.clock.Now}
	ctx := context.Background()
	const goroutines, adds = 16, 25
	if v, err := s.Add(ctx, "rpm#k1#202601020304", 1, time.Minute); err != nil || v != 1 {
		t.Fatalf("first Add = %v, %v; want 1", v, err)
	}
	var wg sync.WaitGroup
	seen := make(chan float64, goroutines*adds)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < adds; i++ {
				v, err := s.Add(ctx, "rpm#k1#202601020304", 1, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				seen <- v
			}
		}()
	}
	wg.Wait()
	close(seen)
	got, err := s.Counter(ctx, "rpm#k1#202601020304")
	if err != nil {
		t.Fatal(err)
	}
	if got != 1+goroutines*adds {
		t.Errorf("counter = %v after %d adds of 1, want %d", got, 1+goroutines*adds, 1+goroutines*adds)
	}
	// Every caller got its own value: each ADD returns the counter as it left it.
	distinct := map[float64]bool{}
	for v := range seen {
		if distinct[v] {
			t.Errorf("two adds returned %v", v)
		}
		distinct[v] = true
		if v < 2 || v > 1+goroutines*adds {
			t.Errorf("an add returned %v, outside 2..%d", v, 1+goroutines*adds)
		}
	}
}

func TestCounterDecimalsAndTTL(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	for _, d := range []float64{0.00042, 0.1, 0.2} {
		if _, err := s.Add(ctx, "usd#k1#202601", d, 40*24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Counter(ctx, "usd#k1#202601")
	if err != nil {
		t.Fatal(err)
	}
	if got != 0.30042 { // exact in DynamoDB's decimal arithmetic, unlike float64 0.1+0.2
		t.Errorf("sum = %v, want 0.30042", got)
	}
	out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stateTable),
		Key: key(counterPrefix+"usd#k1#202601", counterSK)})
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(f.clock.Now().Add(40*24*time.Hour).Unix(), 10)
	if got := numberAttr(out.Item, AttrExpires); got != want {
		t.Errorf("%s = %q, want %q", AttrExpires, got, want)
	}
	// Past its TTL a counter reads as zero, even before DynamoDB deletes it.
	f.clock.Advance(41 * 24 * time.Hour)
	if got, err := s.Counter(ctx, "usd#k1#202601"); err != nil || got != 0 {
		t.Errorf("expired counter = %v, %v; want 0", got, err)
	}
	if got, err := s.Counter(ctx, "never-written"); err != nil || got != 0 {
		t.Errorf("missing counter = %v, %v; want 0", got, err)
	}
}

func TestHealthVersionedWrites(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	h, found, err := s.GetHealth(ctx, "deepseek", "deepseek-v3")
	if err != nil || found || h.Version != 0 {
		t.Fatalf("GetHealth of a new target = %+v, %v, %v", h, found, err)
	}
	h.Status, h.CheckedAt, h.LatencyMs, h.Reason = health.StatusHealthy, f.clock.Now(), 212.5, ""
	v, err := s.PutHealth(ctx, h)
	if err != nil || v != 1 {
		t.Fatalf("first PutHealth = %d, %v; want version 1", v, err)
	}

	// Two health checks read version 1 and both write: the second loses.
	a, _, _ := s.GetHealth(ctx, "deepseek", "deepseek-v3")
	b := a
	a.Status, a.ConsecutiveFailures, a.Reason = health.StatusDegraded, 1, "status 503"
	b.Status = health.StatusHealthy
	if _, err := s.PutHealth(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHealth(ctx, b); !errors.Is(err, health.ErrVersionConflict) {
		t.Fatalf("stale PutHealth: %v, want ErrVersionConflict", err)
	}
	// A second "first" write of the same target is also a conflict.
	if _, err := s.PutHealth(ctx, health.ProbeState{Provider: "deepseek", Model: "deepseek-v3", Status: health.StatusHealthy}); !errors.Is(err, health.ErrVersionConflict) {
		t.Errorf("create over an existing item: %v, want ErrVersionConflict", err)
	}

	got, found, err := s.GetHealth(ctx, "deepseek", "deepseek-v3")
	if err != nil || !found {
		t.Fatal(got, found, err)
	}
	want := health.ProbeState{Provider: "deepseek", Model: "deepseek-v3", Status: health.StatusDegraded, CheckedAt: f.clock.Now(),
		LatencyMs: 212.5, ConsecutiveFailures: 1, Reason: "status 503", Version: 2}
	if !got.CheckedAt.Equal(want.CheckedAt) {
		t.Errorf("checked_at = %v, want %v", got.CheckedAt, want.CheckedAt)
	}
	got.CheckedAt = want.CheckedAt
	if got != want {
		t.Errorf("health read back = %+v\nwant %+v", got, want)
	}

	if _, err := s.PutHealth(ctx, health.ProbeState{Provider: "anthropic", Status: health.StatusUnhealthy, CheckedAt: f.clock.Now(),
		ConsecutiveFailures: 3, Reason: "connection refused"}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Provider != "anthropic" || all[0].Model != "" || all[1].Model != "deepseek-v3" {
		t.Errorf("ListHealth = %+v, want the provider-level and the model-level item", all)
	}
}

// The health attributes beyond the documented ones round-trip, and items written
// before they existed still read.
func TestHealthStatusRuleAttributes(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	h := health.ProbeState{Provider: "p", Model: "m", Status: health.StatusUnhealthy, CheckedAt: f.clock.Now(), LatencyMs: 12.5,
		ConsecutiveFailures: 0, ConsecutiveSuccesses: 1, BaselineMs: 220.25, Probe: "chat", Reason: "recovering: 1 of 2 good probes"}
	if _, err := s.PutHealth(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.GetHealth(ctx, "p", "m")
	if err != nil {
		t.Fatal(err)
	}
	h.Version, got.CheckedAt = 1, h.CheckedAt
	if got != h {
		t.Errorf("read back %+v\nwant      %+v", got, h)
	}
	// The item expires a day after its last write, so a model removed from
	// the configuration leaves nothing behind.
	out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stateTable), Key: key(healthPK, healthSK("p", "m"))})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := numberAttr(out.Item, AttrExpires), strconv.FormatInt(f.clock.Now().Add(24*time.Hour).Unix(), 10); got != want {
		t.Errorf("%s = %s, want %s", AttrExpires, got, want)
	}
	// The layout docs/DYNAMODB.md gives, whatever health names things.
	if got := stringAttr(out.Item, attrStatus); got != "unhealthy" {
		t.Errorf("%s = %q, want unhealthy", attrStatus, got)
	}
	// An item of the first layout (no successes, baseline or probe).
	old := key(healthPK, healthSK("q", "m"))
	old[attrProvider], old[attrModel], old[attrStatus] = str("q"), str("m"), str(health.StatusHealthy)
	old[attrCheckedAt] = str(f.clock.Now().Format(time.RFC3339Nano))
	old[attrLatency] = &types.AttributeValueMemberN{Value: "10"}
	old[attrFailures] = &types.AttributeValueMemberN{Value: "0"}
	old[attrReason] = str("")
	old[attrVersion] = &types.AttributeValueMemberN{Value: "7"}
	if _, err := f.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(stateTable), Item: old}); err != nil {
		t.Fatal(err)
	}
	if q, found, err := s.GetHealth(ctx, "q", "m"); err != nil || !found || q.Version != 7 || q.Probe != "" || q.BaselineMs != 0 {
		t.Errorf("old-layout item = %+v, %v, %v", q, found, err)
	}
}

// Breaker items live in the health partition: one Query reads probes and
// breakers; ListHealth still returns probe results only. An opening never
// shortens a later one; a closing never undoes an opening newer than the
// trial that closed it.
func TestBreakerItems(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	now := f.clock.Now()
	if _, err := s.PutHealth(ctx, health.ProbeState{Provider: "p", Model: "m", Status: health.StatusHealthy, CheckedAt: now}); err != nil {
		t.Fatal(err)
	}
	open := health.SharedBreaker{Provider: "p", Model: "m", State: health.BreakerOpen, OpenedAt: now, OpenUntil: now.Add(30 * time.Second),
		Failures: 5, Reason: "5 failed attempts in a row (last: error)", Router: "a"}
	if ok, err := s.OpenBreaker(ctx, open); err != nil || !ok {
		t.Fatalf("OpenBreaker = %v, %v", ok, err)
	}
	// b opened it too, but its opening ends earlier: a's stands.
	early := open
	early.OpenedAt, early.OpenUntil, early.Router = now.Add(-time.Second), now.Add(10*time.Second), "b"
	if ok, err := s.OpenBreaker(ctx, early); err != nil || ok {
		t.Fatalf("an earlier-ending opening was applied: %v, %v", ok, err)
	}
	st, err := s.ReadHealthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Probes) != 1 || len(st.Breakers) != 1 {
		t.Fatalf("state = %+v", st)
	}
	got := st.Breakers[0]
	if got.State != health.BreakerOpen || got.Router != "a" || !got.OpenUntil.Equal(open.OpenUntil) || !got.OpenedAt.Equal(open.OpenedAt) ||
		got.Failures != 5 || got.Reason != open.Reason || !got.UpdatedAt.Equal(now) {
		t.Errorf("breaker = %+v", got)
	}
	if got := rawBreakerState(t, f, "p", "m"); got != "open" {
		t.Errorf("stored %s = %q, want open", attrState, got)
	}
	if hs, err := s.ListHealth(ctx); err != nil || len(hs) != 1 {
		t.Errorf("ListHealth = %+v, %v; want the probe item only", hs, err)
	}
	// A trial that began before the opening cannot close it...
	closing := health.SharedBreaker{Provider: "p", Model: "m", State: health.BreakerClosed, ClosedAt: now.Add(time.Second), Router: "c"}
	if ok, err := s.CloseBreaker(ctx, closing, now.Add(-time.Second)); err != nil || ok {
		t.Fatalf("a closing older than the opening was applied: %v, %v", ok, err)
	}
	// ...one that began after it can.
	closing.ClosedAt = now.Add(31 * time.Second)
	if ok, err := s.CloseBreaker(ctx, closing, now.Add(30*time.Second)); err != nil || !ok {
		t.Fatalf("CloseBreaker = %v, %v", ok, err)
	}
	st, err = s.ReadHealthState(ctx)
	if err != nil || len(st.Breakers) != 1 || st.Breakers[0].State != health.BreakerClosed || !st.Breakers[0].ClosedAt.Equal(closing.ClosedAt) ||
		st.Breakers[0].Router != "c" {
		t.Errorf("after closing: %+v, %v", st.Breakers, err)
	}
	if got := rawBreakerState(t, f, "p", "m"); got != "closed" {
		t.Errorf("stored %s = %q, want closed", attrState, got)
	}
	// Opening again later works (its end is after the old one's).
	again := open
	again.OpenedAt, again.OpenUntil = now.Add(40*time.Second), now.Add(70*time.Second)
	if ok, err := s.OpenBreaker(ctx, again); err != nil || !ok {
		t.Errorf("reopening = %v, %v", ok, err)
	}
}

// rawBreakerState is a breaker item's state attribute as stored.
func rawBreakerState(t *testing.T, f *fixture, provider, model string) string {
	t.Helper()
	out, err := f.db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(stateTable),
		Key: key(healthPK, breakerSK(provider, model)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	return stringAttr(out.Item, attrState)
}
