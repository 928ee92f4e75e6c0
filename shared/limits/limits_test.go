package limits

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// counting counts the calls that reach a Counters.
type counting struct {
	Counters
	n atomic.Int64
}

func (c *counting) Add(ctx context.Context, key string, delta float64, ttl time.Duration) (float64, error) {
	c.n.Add(1)
	return c.Counters.Add(ctx, key, delta, ttl)
}

func newLimiter(leaseFor time.Duration) (*Limiter, *Memory, *clock) {
	clk := &clock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
	mem := &Memory{Now: clk.Now}
	return &Limiter{Counters: mem, LeaseFor: leaseFor, Now: clk.Now}, mem, clk
}

func fixed(usd float64) func(string) (float64, bool) {
	return func(string) (float64, bool) { return usd, true }
}

func refusal(t *testing.T, err error) *Refusal {
	t.Helper()
	var r *Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error = %v, want a *Refusal", err)
	}
	return r
}

func TestRPMWindow(t *testing.T) {
	l, _, clk := newLimiter(-1)
	key := &config.Key{ID: "k", RPM: 3}
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := l.Admit(ctx, &Query{Key: key, Route: "r"}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := l.Admit(ctx, &Query{Key: key, Route: "r"})
	r := refusal(t, err)
	if r.Code != CodeRateLimit || r.Limit != "rpm" || r.RetryAfter != 34*time.Second {
		t.Errorf("refusal = %+v; want rate_limit_exceeded, rpm, retry after 34s (the minute's end)", r)
	}
	clk.Add(34 * time.Second)
	if _, err := l.Admit(ctx, &Query{Key: key, Route: "r"}); err != nil {
		t.Errorf("the next minute: %v", err)
	}
}

func TestTPMSettlesRealTokens(t *testing.T) {
	l, _, _ := newLimiter(-1)
	key := &config.Key{ID: "k", TPM: 1000}
	ctx := context.Background()
	// Each request reserves 400 tokens and uses 100: settled, four fit where
	// the reservations alone would allow two.
	for i := 0; i < 4; i++ {
		tk, err := l.Admit(ctx, &Query{Key: key, Route: "r", Tokens: 400})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		tk.Settle(0, 100, true)
	}
	// 400 used; three reservations of 400 in flight: the third crosses the
	// limit (600 then under 1000), the fourth is refused.
	for i := 0; i < 2; i++ {
		if _, err := l.Admit(ctx, &Query{Key: key, Route: "r", Tokens: 400}); err != nil {
			t.Fatalf("in flight %d: %v", i, err)
		}
	}
	if _, err := l.Admit(ctx, &Query{Key: key, Route: "r", Tokens: 400}); refusal(t, err).Limit != "tpm" {
		t.Errorf("refusal %v, want tpm", err)
	}
}

func TestBudgetRefusesOnceSpentAndChargesRealCost(t *testing.T) {
	l, mem, clk := newLimiter(-1)
	l.ReturnIdle = -1
	key := &config.Key{ID: "k", Budget: &config.Budget{MonthlyUSD: 1}}
	ctx := context.Background()
	spent := 0.0
	for i := 0; ; i++ {
		tk, err := l.Admit(ctx, &Query{Key: key, Route: "r", Estimate: fixed(0.3)})
		if err != nil {
			r := refusal(t, err)
			if r.Code != CodeBudget || r.Limit != "budget" {
				t.Errorf("refusal = %+v", r)
			}
			// From 2026-03-14T15:09:26Z to April 1st.
			if want := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC).Sub(clk.Now()); r.RetryAfter != want {
				t.Errorf("retry after %v, want %v", r.RetryAfter, want)
			}
			break
		}
		tk.Settle(0.25, 0, true)
		spent += 0.25
		if i > 10 {
			t.Fatal("the budget never refused")
		}
	}
	// 0.25 x 4 = 1.00: the fourth request was admitted while 0.75 was spent
	// (its estimate crossed the limit); the fifth found it spent.
	if spent != 1 {
		t.Errorf("spent %v before the refusal, want 1", spent)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mem.Value("usd#key#k#202603"); math.Abs(got-spent) > 1e-12 {
		t.Errorf("counter = %v after flush, want the real spend %v", got, spent)
	}
}

func TestUnknownUsageKeepsTheReservation(t *testing.T) {
	l, mem, _ := newLimiter(-1)
	l.ReturnIdle = -1
	key := &config.Key{ID: "k", Budget: &config.Budget{MonthlyUSD: 10}}
	tk, err := l.Admit(context.Background(), &Query{Key: key, Route: "r", Estimate: fixed(0.5)})
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(0, 0, false)
	tk.Settle(0, 0, true) // a second settle changes nothing
	_ = l.Flush(context.Background())
	if got := mem.Value("usd#key#k#202603"); got != 0.5 {
		t.Errorf("counter = %v, want the 0.5 reserved for a request of unknown cost", got)
	}
}

func TestDowngrade(t *testing.T) {
	l, _, _ := newLimiter(-1)
	key := &config.Key{ID: "k", Budget: &config.Budget{MonthlyUSD: 10, OnBudget: &config.Downgrade{At: 0.5, Route: "cheap"}}}
	ctx := context.Background()
	costs := map[string]float64{"main": 2, "cheap": 0.5}
	ok := map[string]bool{"main": true, "cheap": true}
	estimate := func(r string) (float64, bool) { return costs[r], ok[r] }
	routes := []string{}
	for i := 0; i < 6; i++ {
		tk, err := l.Admit(ctx, &Query{Key: key, Route: "main", Estimate: estimate})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		routes = append(routes, tk.Route)
		if tk.Route == "cheap" && tk.DowngradedFrom != "main" {
			t.Errorf("downgraded from %q", tk.DowngradedFrom)
		}
		tk.Settle(costs[tk.Route], 0, true)
	}
	// 2+2+2 = 6 of 10 spent before the fourth request (60%): cheap from then on.
	want := []string{"main", "main", "main", "cheap", "cheap", "cheap"}
	for i := range want {
		if routes[i] != want[i] {
			t.Fatalf("routes = %v, want %v", routes, want)
		}
	}
	// A downgrade route that could not take the request is not used.
	ok["cheap"] = false
	tk, err := l.Admit(ctx, &Query{Key: key, Route: "main", Estimate: estimate})
	if err != nil || tk.Route != "main" || tk.DowngradedFrom != "" {
		t.Errorf("with the downgrade route unable to serve: %+v, %v", tk, err)
	}
}

func TestTagBudgets(t *testing.T) {
	l, mem, _ := newLimiter(-1)
	l.ReturnIdle = -1
	key := &config.Key{ID: "k"}
	budgets := []config.TagBudget{
		{Tag: "team", Value: "triage", MonthlyUSD: 1},
		{Tag: "feature", MonthlyUSD: 0.5}, // each feature on its own
	}
	ctx := context.Background()
	admit := func(tags map[string]string) error {
		tk, err := l.Admit(ctx, &Query{Key: key, Budgets: budgets, Tags: tags, Route: "r", Estimate: fixed(0.5)})
		if err == nil {
			tk.Settle(0.5, 0, true)
		}
		return err
	}
	if err := admit(map[string]string{"team": "triage", "feature": "a/b#c"}); err != nil {
		t.Fatal(err)
	}
	if err := admit(map[string]string{"team": "other", "feature": "a/b#c"}); refusal(t, err).Limit != "budget:feature=a/b#c" {
		t.Errorf("feature a/b#c spent: %v", err)
	}
	if err := admit(map[string]string{"team": "triage", "feature": "x"}); err != nil {
		t.Fatalf("feature x has its own budget: %v", err)
	}
	if err := admit(map[string]string{"team": "triage"}); refusal(t, err).Limit != "budget:team=triage" {
		t.Errorf("team triage spent: %v", err)
	}
	if err := admit(map[string]string{"team": "other"}); err != nil {
		t.Errorf("no budget applies to team other: %v", err)
	}
	_ = l.Flush(ctx)
	if got := mem.Value("usd#tag#team=triage#202603"); got != 1 {
		t.Errorf("team=triage counter = %v, want 1", got)
	}
	if got := mem.Value("usd#tag#feature=a%2Fb%23c#202603"); got != 0.5 {
		t.Errorf("feature counter = %v, want 0.5 (value escaped in the counter's name)", got)
	}
}

// A refusal by a later limit gives back what earlier limits reserved: a key
// over budget does not also use up its rpm.
func TestRefusalReleasesEarlierReservations(t *testing.T) {
	l, mem, _ := newLimiter(-1)
	key := &config.Key{ID: "k", RPM: 100, Budget: &config.Budget{MonthlyUSD: 0.1}}
	ctx := context.Background()
	tk, err := l.Admit(ctx, &Query{Key: key, Route: "r", Estimate: fixed(0.1)})
	if err != nil {
		t.Fatal(err)
	}
	tk.Settle(0.1, 0, true)
	for i := 0; i < 20; i++ {
		if _, err := l.Admit(ctx, &Query{Key: key, Route: "r", Estimate: fixed(0.1)}); refusal(t, err).Code != CodeBudget {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if got := mem.Value("rpm#k#202603141509"); got != 2 {
		t.Errorf("rpm counter = %v; want 2 (one admitted, one slot claimed and kept locally for the refused ones)", got)
	}
}

// With leases, a busy key costs a store call per many requests, not per
// request.
func TestLeasesSaveRoundTrips(t *testing.T) {
	l, mem, clk := newLimiter(0)
	c := &counting{Counters: mem}
	l.Counters = c
	key := &config.Key{ID: "k", RPM: 6000, Budget: &config.Budget{MonthlyUSD: 1000}}
	ctx := context.Background()
	const n = 1000
	for i := 0; i < n; i++ {
		tk, err := l.Admit(ctx, &Query{Key: key, Route: "r", Estimate: fixed(0.01)})
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		tk.Settle(0.008, 0, true)
		clk.Add(20 * time.Millisecond) // 50 requests a second
	}
	if got := c.n.Load(); got > n/10 {
		t.Errorf("%d store calls for %d requests; want at most %d", got, n, n/10)
	}
	t.Logf("%d requests, %d store calls", n, c.n.Load())
}

// Explain asks without reserving or calling the store, and sees a downgrade
// the instance knows about.
func TestDryRun(t *testing.T) {
	l, mem, _ := newLimiter(-1)
	c := &counting{Counters: mem}
	l.Counters = c
	key := &config.Key{ID: "k", RPM: 10, Budget: &config.Budget{MonthlyUSD: 1, OnBudget: &config.Downgrade{At: 0.5, Route: "cheap"}}}
	ctx := context.Background()
	tk, err := l.Admit(ctx, &Query{Key: key, Route: "main", Estimate: fixed(0.6), DryRun: true})
	if err != nil || tk.Route != "main" || c.n.Load() != 0 {
		t.Fatalf("dry run on a fresh instance: %+v %v, %d store calls", tk, err, c.n.Load())
	}
	real, err := l.Admit(ctx, &Query{Key: key, Route: "main", Estimate: fixed(0.6)})
	if err != nil {
		t.Fatal(err)
	}
	real.Settle(0.6, 0, true)
	calls := c.n.Load()
	tk, err = l.Admit(ctx, &Query{Key: key, Route: "main", Estimate: fixed(0.6), DryRun: true})
	if err != nil || tk.Route != "cheap" || c.n.Load() != calls {
		t.Errorf("dry run after 60%% spent: %+v %v; store calls %d -> %d", tk, err, calls, c.n.Load())
	}
}

func TestNoLimitsNoWork(t *testing.T) {
	l, mem, _ := newLimiter(0)
	c := &counting{Counters: mem}
	l.Counters = c
	tk, err := l.Admit(context.Background(), &Query{Key: &config.Key{ID: "k"}, Route: "r"})
	if err != nil || tk.Route != "r" || c.n.Load() != 0 {
		t.Errorf("%+v %v %d", tk, err, c.n.Load())
	}
	tk.Settle(1, 1, true)
	if tk, err := l.Admit(context.Background(), &Query{Route: "r"}); err != nil || tk.Route != "r" {
		t.Errorf("no key: %+v %v", tk, err)
	}
}

// Concurrent admissions on one instance never exceed the limit.
func TestConcurrentAdmissionsOneInstance(t *testing.T) {
	l, _, _ := newLimiter(0)
	key := &config.Key{ID: "k", RPM: 500}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := l.Admit(context.Background(), &Query{Key: key, Route: "r"}); err == nil {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := admitted.Load(); got != 500 {
		t.Errorf("admitted %d of 1600 with rpm 500, want exactly 500", got)
	}
}

// BenchmarkAdmit is a warm request's admission and settlement for a key with
// rpm, tpm and a budget: served from the instance's claimed share.
func BenchmarkAdmit(b *testing.B) {
	l, _, _ := newLimiter(0)
	key := &config.Key{ID: "k", RPM: 1 << 30, TPM: 1 << 40, Budget: &config.Budget{MonthlyUSD: 1e12}}
	q := &Query{Key: key, Route: "r", Tokens: 300, Estimate: fixed(0.001)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tk, err := l.Admit(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		tk.Settle(0.0008, 250, true)
	}
}
