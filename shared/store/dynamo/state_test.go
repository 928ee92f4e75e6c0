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
)

func (f *fixture) state() *StateStore {
	return &StateStore{DB: f.db, Table: stateTable, Now: f.clock.Now}
}

func TestConcurrentCounterAddsLoseNothing(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	const goroutines, adds = 16, 25
	// The counter exists before the contention starts: moto_server (not
	// DynamoDB) can lose one of two ADDs that race to create an item.
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
	// Every caller got a value the counter passed through. (DynamoDB returns
	// each ADD's own result; moto_server may return a value a concurrent ADD
	// already moved past, so distinctness is not asserted.)
	for v := range seen {
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
	h.Status, h.CheckedAt, h.LatencyMs, h.Reason = StatusHealthy, f.clock.Now(), 212.5, ""
	v, err := s.PutHealth(ctx, h)
	if err != nil || v != 1 {
		t.Fatalf("first PutHealth = %d, %v; want version 1", v, err)
	}

	// Two health checks read version 1 and both write: the second loses.
	a, _, _ := s.GetHealth(ctx, "deepseek", "deepseek-v3")
	b := a
	a.Status, a.ConsecutiveFailures, a.Reason = StatusDegraded, 1, "status 503"
	b.Status = StatusHealthy
	if _, err := s.PutHealth(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutHealth(ctx, b); !errors.Is(err, ErrVersionConflict) {
		t.Fatalf("stale PutHealth: %v, want ErrVersionConflict", err)
	}
	// A second "first" write of the same target is also a conflict.
	if _, err := s.PutHealth(ctx, Health{Provider: "deepseek", Model: "deepseek-v3", Status: StatusHealthy}); !errors.Is(err, ErrVersionConflict) {
		t.Errorf("create over an existing item: %v, want ErrVersionConflict", err)
	}

	got, found, err := s.GetHealth(ctx, "deepseek", "deepseek-v3")
	if err != nil || !found {
		t.Fatal(got, found, err)
	}
	want := Health{Provider: "deepseek", Model: "deepseek-v3", Status: StatusDegraded, CheckedAt: f.clock.Now(),
		LatencyMs: 212.5, ConsecutiveFailures: 1, Reason: "status 503", Version: 2}
	if !got.CheckedAt.Equal(want.CheckedAt) {
		t.Errorf("checked_at = %v, want %v", got.CheckedAt, want.CheckedAt)
	}
	got.CheckedAt = want.CheckedAt
	if got != want {
		t.Errorf("health read back = %+v\nwant %+v", got, want)
	}

	if _, err := s.PutHealth(ctx, Health{Provider: "anthropic", Status: StatusUnhealthy, CheckedAt: f.clock.Now(),
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
