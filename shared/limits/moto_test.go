package limits_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/store/dynamo"
)

const stateTable = "state"

// mid-month, mid-minute: no window ends during a test.
var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// instances starts moto with the state table and returns n limiters, each
// with its own DynamoDB client, as n router instances would have.
func instances(t *testing.T, n int, leaseFor time.Duration) ([]*limits.Limiter, *dynamo.StateStore, *awstest.Moto) {
	t.Helper()
	m := awstest.Start(t)
	db := dynamodb.NewFromConfig(m.Config())
	if err := dynamo.CreateTables(context.Background(), db, "config", stateTable); err != nil {
		t.Fatal(err)
	}
	turn := awstest.Serial(m.Config().HTTPClient)
	ls := make([]*limits.Limiter, n)
	for i := range ls {
		cfg := m.Config()
		cfg.HTTPClient = turn
		store := &dynamo.StateStore{DB: dynamodb.NewFromConfig(cfg), Table: stateTable}
		// A claim waits as long as moto needs: these tests are about what
		// claims decide, and a loaded machine must not turn a slow claim
		// into an outage (TestStoreOutageFailsOpenAndCatchesUp has those).
		ls[i] = &limits.Limiter{Counters: store, LeaseFor: leaseFor, ReturnIdle: -1, Now: fixedNow, ClaimTimeout: time.Minute}
	}
	return ls, &dynamo.StateStore{DB: db, Table: stateTable}, m
}

// N routers' worth of goroutines spend against one budget until it refuses
// them. The spend never exceeds the budget by more than one request's
// reservation (its estimated cost), however claims interleave; and once
// every instance has flushed, the shared counter holds exactly what was
// spent: nothing reserved leaks.
func TestBudgetHoldsAcrossInstances(t *testing.T) {
	for _, tc := range []struct {
		name      string
		leaseFor  time.Duration
		overstate float64 // estimate = cost x overstate
	}{
		{"leases, exact estimates", 0, 1},
		{"leases, estimates above the cost", 0, 1.6},
		{"a claim per request, exact estimates", -1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const routers, perRouter, budget = 6, 6, 5.0
			ls, store, _ := instances(t, routers, tc.leaseFor)
			key := &config.Key{ID: "team-app", Budget: &config.Budget{MonthlyUSD: budget}}
			ctx := context.Background()
			var mu sync.Mutex
			spent, maxCost, maxReserve, admitted := 0.0, 0.0, 0.0, 0
			spend := func(l *limits.Limiter, rng *rand.Rand) bool {
				usd := math.Round((0.005+0.04*rng.Float64())*1e6) / 1e6
				reserve := usd * tc.overstate
				tk, err := l.Admit(ctx, &limits.Query{Key: key, Route: "r",
					Estimate: func(string) (float64, bool) { return reserve, true }})
				if err != nil {
					var r *limits.Refusal
					if !errors.As(err, &r) || r.Code != limits.CodeBudget {
						t.Errorf("refusal = %v", err)
					}
					return false
				}
				if tk.StoreErr != nil {
					t.Errorf("store error: %v", tk.StoreErr)
				}
				tk.Settle(usd, 0, true)
				mu.Lock()
				spent += usd
				maxCost, maxReserve = max(maxCost, usd), max(maxReserve, reserve)
				admitted++
				mu.Unlock()
				return true
			}
			spend(ls[0], rand.New(rand.NewPCG(0, 0)))

			var wg sync.WaitGroup
			for i, l := range ls {
				for g := 0; g < perRouter; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(i), uint64(g)))
						for spend(l, rng) {
						}
					}()
				}
			}
			wg.Wait()
			if over := spent - budget; over > maxReserve+1e-9 {
				t.Errorf("spent %.6f of %.2f: over by %.6f, more than one request's reservation (at most %.6f)", spent, budget, over, maxReserve)
			}
			// Each instance stops with less than one request's need unused.
			if spent < budget-routers*maxReserve {
				t.Errorf("spent only %.6f of %.2f before refusing", spent, budget)
			}
			for _, l := range ls {
				if err := l.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got, err := store.Counter(ctx, "usd#key#team-app#202603")
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-spent) > 1e-6 {
				t.Errorf("counter = %.6f after every instance flushed, want the spend %.6f", got, spent)
			}
			t.Logf("%d requests admitted by %d routers x %d goroutines: spent %.6f of %.2f (max cost %.6f, max reservation %.6f)",
				admitted, routers, perRouter, spent, budget, maxCost, maxReserve)
		})
	}
}

// rpm holds across instances: within one minute, N routers admit exactly the
// limit between them, never more; the next minute starts afresh.
func TestRPMHoldsAcrossInstances(t *testing.T) {
	const routers, perRouter, rpm = 6, 6, 240
	ls, _, _ := instances(t, routers, 0)
	var now atomic.Pointer[time.Time]
	start := testNow
	now.Store(&start)
	for _, l := range ls {
		l.Now = func() time.Time { return *now.Load() }
	}
	key := &config.Key{ID: "busy", RPM: rpm}
	ctx := context.Background()
	minute := func() int64 {
		var admitted atomic.Int64
		if _, err := ls[0].Admit(ctx, &limits.Query{Key: key, Route: "r"}); err == nil {
			admitted.Add(1)
		}
		var wg sync.WaitGroup
		for _, l := range ls {
			for g := 0; g < perRouter; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						_, err := l.Admit(ctx, &limits.Query{Key: key, Route: "r"})
						if err != nil {
							return
						}
						admitted.Add(1)
					}
				}()
			}
		}
		wg.Wait()
		return admitted.Load()
	}
	if got := minute(); got != rpm {
		t.Errorf("admitted %d in one minute across %d routers, want exactly rpm = %d", got, routers, rpm)
	}
	next := testNow.Add(time.Minute)
	now.Store(&next)
	if got := minute(); got != rpm {
		t.Errorf("the next minute admitted %d, want %d", got, rpm)
	}
}

// When the state table cannot be reached the router keeps serving on what
// it knows (fail open, logged once a second), and the spend it admitted
// meanwhile is added to the counter once the table answers again.
func TestStoreOutageFailsOpenAndCatchesUp(t *testing.T) {
	ls, store, m := instances(t, 1, -1)
	l := ls[0]
	l.ClaimTimeout = 0 // the default: an outage is what this test is about
	key := &config.Key{ID: "k", RPM: 100, Budget: &config.Budget{MonthlyUSD: 10}}
	ctx := context.Background()
	q := &limits.Query{Key: key, Route: "r", Estimate: func(string) (float64, bool) { return 0.5, true }}
	tk, err := l.Admit(ctx, q)
	if err != nil || tk.StoreErr != nil {
		t.Fatalf("before the outage: %v %v", err, tk.StoreErr)
	}
	tk.Settle(0.5, 0, true)

	m.Stop()
	for i := 0; i < 3; i++ {
		tk, err := l.Admit(ctx, q)
		if err != nil {
			t.Fatalf("during the outage, request %d refused: %v", i, err)
		}
		if i == 0 && tk.StoreErr == nil {
			t.Error("the first request of the outage reported no store error")
		}
		tk.Settle(0.5, 0, true)
	}
	if err := l.Flush(ctx); err == nil {
		t.Error("flush during the outage reported no error")
	}

	if err := m.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := dynamo.CreateTables(ctx, dynamodb.NewFromConfig(m.Config()), "config", stateTable); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("flush after the outage: %v", err)
	}
	// moto restarted empty: the counter holds what was owed, 3 x 0.5.
	got, err := store.Counter(ctx, "usd#key#k#202603")
	if err != nil || got != 1.5 {
		t.Errorf("counter = %v (%v), want the 1.5 spent during the outage", got, err)
	}
}

// A counter seen spent stays refused while the store is unreachable.
func TestOutageKeepsASpentBudgetRefused(t *testing.T) {
	ls, _, m := instances(t, 1, -1)
	l := ls[0]
	l.ClaimTimeout = 0 // the default: an outage is what this test is about
	key := &config.Key{ID: "k", Budget: &config.Budget{MonthlyUSD: 1}}
	ctx := context.Background()
	q := &limits.Query{Key: key, Route: "r", Estimate: func(string) (float64, bool) { return 0.6, true }}
	for i := 0; i < 2; i++ {
		tk, err := l.Admit(ctx, q)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		tk.Settle(0.6, 0, true)
	}
	if _, err := l.Admit(ctx, q); err == nil {
		t.Fatal("the spent budget admitted a request")
	}
	m.Stop()
	l.RecheckAfter = time.Nanosecond // let it try the store, which fails
	l.Now = func() time.Time { return testNow.Add(time.Minute) }
	for i := 0; i < 3; i++ {
		var r *limits.Refusal
		if _, err := l.Admit(ctx, q); !errors.As(err, &r) || r.Code != limits.CodeBudget {
			t.Fatalf("during the outage, request %d: %v; want budget_exceeded", i, err)
		}
	}
}

// An outage makes limits per instance, never unlimited: with the state table
// unreachable from the first request, an instance admits no more than one
// whole budget (and one minute's rpm) on its own before refusing.
func TestOutageNeverUnlimited(t *testing.T) {
	ls, _, m := instances(t, 1, -1)
	l := ls[0]
	l.ClaimTimeout = 0 // the default: an outage is what this test is about
	m.Stop()
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		key   *config.Key
		cost  float64
		limit int
	}{
		{"budget", &config.Key{ID: "b", Budget: &config.Budget{MonthlyUSD: 2}}, 0.5, 4},
		{"rpm", &config.Key{ID: "r", RPM: 5}, 0, 5},
	} {
		q := &limits.Query{Key: tc.key, Route: "r", Estimate: func(string) (float64, bool) { return tc.cost, true }}
		admitted := 0
		for i := 0; i < 3*tc.limit; i++ {
			tk, err := l.Admit(ctx, q)
			if err != nil {
				continue
			}
			admitted++
			tk.Settle(tc.cost, 0, true)
		}
		if admitted != tc.limit {
			t.Errorf("%s: %d admitted during the outage, want %d (one limit's worth)", tc.name, admitted, tc.limit)
		}
	}
}
