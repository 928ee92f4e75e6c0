package route

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
)

func table(t *testing.T, yaml string) *Table {
	t.Helper()
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return Compile(c)
}

const cfg = `
providers:
  - {name: a, type: mock, compliance: [hipaa]}
  - {name: b, type: mock}
models:
  - {id: ma, provider: a, price: {input: 3, output: 15}}
  - {id: mb, provider: b, price: {input: 0.1, output: 0.4}}
  - {id: mc, provider: b}
routes:
  - name: w
    strategy: weighted
    targets: [{model: ma, weight: 3}, {model: mb, weight: 1}]
  - name: c
    strategy: cost
    targets: [{model: mc}, {model: ma}, {model: mb}]
  - name: o
    targets: [{model: mb, first_byte_timeout: 1s}, {model: ma}]
`

func names(ts []*Target) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Model.ID)
	}
	return strings.Join(s, ",")
}

func TestWeightedShares(t *testing.T) {
	tb := table(t, cfg)
	r, _ := tb.Lookup("w")
	first := map[string]int{}
	const n = 20000
	for seed := uint64(0); seed < n; seed++ {
		d := Plan(Input{Route: r, Seed: seed}, nil, nil)
		if len(d.Candidates) != 2 {
			t.Fatalf("candidates = %s", names(d.Candidates))
		}
		first[d.Candidates[0].Model.ID]++
	}
	// Weight 3 of 4: the first pick should be ma three times in four.
	if share := float64(first["ma"]) / n; math.Abs(share-0.75) > 0.02 {
		t.Errorf("ma first in %.3f of requests, want 0.75±0.02", share)
	}
	// The same seed gives the same order.
	a := Plan(Input{Route: r, Seed: 42}, nil, nil)
	b := Plan(Input{Route: r, Seed: 42}, nil, nil)
	if names(a.Candidates) != names(b.Candidates) {
		t.Error("the same seed gave two orders")
	}
}

func TestCostOrderPutsUnpricedLast(t *testing.T) {
	r, _ := table(t, cfg).Lookup("c")
	d := Plan(Input{Route: r, PromptTokens: 1000, OutputTokens: 100}, nil, nil)
	if got := names(d.Candidates); got != "mb,ma,mc" {
		t.Errorf("order = %s, want mb,ma,mc", got)
	}
}

type down map[string]string

func (d down) Usable(provider, model string) (bool, string) {
	why, bad := d[model]
	return !bad, why
}

func TestComplianceBeforeHealth(t *testing.T) {
	r, _ := table(t, cfg).Lookup("o")
	// The only compliant target is unhealthy: it is tried all the same
	// (panic), and the non-compliant one, healthy, never is.
	d := Plan(Input{Route: r, Require: []string{"hipaa"}}, down{"ma": "3 failed probes"}, nil)
	if got := names(d.Candidates); got != "ma" || !d.Panic || len(d.Excluded) != 1 {
		t.Fatalf("decision = %+v; want panic with ma only", d)
	}
	if !strings.HasPrefix(d.Excluded[0].Reason, ReasonCompliance) {
		t.Errorf("reasons = %+v", d.Excluded)
	}
	if !d.CompliantTargets() {
		t.Error("a compliant target exists, so the answer is not 403")
	}
	// With a healthy compliant target left, the unhealthy one is excluded.
	d = Plan(Input{Route: r}, down{"ma": "3 failed probes"}, nil)
	if got := names(d.Candidates); got != "mb" || d.Panic || len(d.Excluded) != 1 || !strings.HasPrefix(d.Excluded[0].Reason, ReasonUnhealthy) {
		t.Fatalf("decision = %+v; want mb, ma excluded as unhealthy", d)
	}
	d = Plan(Input{Route: r, Require: []string{"pci"}}, nil, nil)
	if d.CompliantTargets() {
		t.Error("no target has pci")
	}
}

type estimates map[string]time.Duration

func (e estimates) Estimate(_, model string) (time.Duration, bool) {
	d, ok := e[model]
	return d, ok
}

func TestLatencyOrder(t *testing.T) {
	r, _ := table(t, cfg).Lookup("c")
	est := estimates{"ma": 50 * time.Millisecond, "mb": 300 * time.Millisecond}
	const n = 20000
	explored := map[string]int{}
	for seed := uint64(0); seed < n; seed++ {
		ts := slices.Clone(r.Targets)
		orderByLatency(ts, est, seed)
		got := names(ts)
		switch got {
		case "mc,ma,mb": // mc has no estimate yet, then fastest first
		case "ma,mc,mb", "mb,mc,ma":
			// Exploration: another target first, the rest in estimate order.
			explored[ts[0].Model.ID]++
		default:
			t.Fatalf("seed %d: order = %s", seed, got)
		}
		again := slices.Clone(r.Targets)
		orderByLatency(again, est, seed)
		if names(again) != got {
			t.Fatalf("seed %d gave %s then %s", seed, got, names(again))
		}
	}
	total := explored["ma"] + explored["mb"]
	if share := float64(total) / n; math.Abs(share-LatencyExploreShare) > 0.01 {
		t.Errorf("explored in %.3f of requests, want %.2f±0.01", share, LatencyExploreShare)
	}
	// Evenly among the non-first targets, so the slowest is sampled too.
	if explored["ma"] < total/3 || explored["mb"] < total/3 {
		t.Errorf("explored targets = %v, want both about half", explored)
	}
}

// The latency strategy orders what compliance and health left: an
// unhealthy or non-compliant target is never put back, however fast.
func TestLatencyOrdersOnlyEligibleTargets(t *testing.T) {
	tb := table(t, `
providers:
  - {name: a, type: mock, compliance: [hipaa]}
  - {name: b, type: mock, compliance: [hipaa]}
  - {name: c, type: mock}
models:
  - {id: ma, provider: a}
  - {id: mb, provider: b}
  - {id: mc, provider: c}
routes:
  - {name: l, strategy: latency, targets: [{model: ma}, {model: mb}, {model: mc}]}
`)
	r, _ := tb.Lookup("l")
	est := estimates{"ma": 900 * time.Millisecond, "mb": 100 * time.Millisecond, "mc": time.Millisecond}
	for seed := uint64(0); seed < 2000; seed++ {
		d := Plan(Input{Route: r, Require: []string{"hipaa"}, Seed: seed}, down{"mb": "3 failed probes"}, est)
		if got := names(d.Candidates); got != "ma" {
			t.Fatalf("seed %d: candidates = %s, want ma only (mb unhealthy, mc lacks hipaa)", seed, got)
		}
	}
}

func TestCompliant(t *testing.T) {
	hipaa := &Target{Provider: &config.Provider{Name: "a", Compliance: []string{"hipaa", "soc2"}}}
	none := &Target{Provider: &config.Provider{Name: "b"}}
	for _, tc := range []struct {
		t           *Target
		require     []string
		ok          bool
		wantMissing string
	}{
		{hipaa, nil, true, ""},
		{none, nil, true, ""},
		{hipaa, []string{"hipaa"}, true, ""},
		{hipaa, []string{"soc2", "hipaa"}, true, ""},
		{hipaa, []string{"hipaa", "gdpr"}, false, "gdpr"},
		{none, []string{"hipaa", "gdpr"}, false, "hipaa, gdpr"},
	} {
		ok, missing := Compliant(tc.t, tc.require)
		if ok != tc.ok || missing != tc.wantMissing {
			t.Errorf("Compliant(%s, %v) = %v, %q; want %v, %q", tc.t.Provider.Name, tc.require, ok, missing, tc.ok, tc.wantMissing)
		}
	}
}
