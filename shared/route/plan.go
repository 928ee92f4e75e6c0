package route

import (
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/llm-router/router/shared/config"
)

// Health tells the planner whether a target may receive traffic now.
type Health interface {
	// Usable reports whether provider/model may be tried, and if not, why.
	Usable(provider, model string) (ok bool, reason string)
}

// LatencyEstimator gives a recent latency estimate for the latency strategy.
type LatencyEstimator interface {
	// Estimate returns the estimate and whether there is one.
	Estimate(provider, model string) (time.Duration, bool)
}

// Input is what a routing decision depends on.
type Input struct {
	Route *Route
	// Require is every compliance tag the request needs: its data class's and
	// the route's own, combined.
	Require []string
	// Seed drives the weighted strategy; the same seed gives the same order.
	Seed uint64
	// PromptTokens and OutputTokens are estimates for the cost strategy.
	PromptTokens, OutputTokens int
	// Check, when set, leaves out targets that cannot serve this request,
	// with the reason: an endpoint their provider lacks (capability), a
	// context window too small for it (context), a condition that does not
	// hold (condition). It runs after compliance and before health.
	Check func(*Target) (ok bool, why string)
}

// Decision is the ordered list of targets to try and why others were left out.
type Decision struct {
	Route      string
	Strategy   string
	Require    []string
	Candidates []*Target
	Excluded   []Exclusion
	// Panic is set when every target that could take the request is
	// unhealthy: they are the candidates all the same (their exclusions
	// are not listed), since a request that tries them recovers as soon as
	// they do, where one that refuses waits out a cooldown.
	Panic bool
}

// Exclusion names a target left out and the reason.
type Exclusion struct {
	Model    string `json:"model"`
	Provider string `json:"provider"`
	Reason   string `json:"reason"`
}

// Exclusion reasons start with one of these words, so tools can group them.
const (
	ReasonCompliance = "compliance"
	ReasonUnhealthy  = "unhealthy"
	ReasonCapability = "capability"
	ReasonContext    = "context"
	ReasonCondition  = "condition"
)

// Plan decides the candidates of a request. Compliance is checked first and
// unconditionally: no later step, panic included, can add a target back.
func Plan(in Input, h Health, lat LatencyEstimator) Decision {
	r := in.Route
	d := Decision{Route: r.Name, Strategy: r.Strategy, Require: in.Require,
		Candidates: make([]*Target, 0, len(r.Targets))}
	var unhealthy []Exclusion
	var sick []*Target
	for _, t := range r.Targets {
		if ok, missing := Compliant(t, in.Require); !ok {
			d.Excluded = append(d.Excluded, Exclusion{Model: t.Model.ID, Provider: t.Provider.Name,
				Reason: ReasonCompliance + ": provider " + t.Provider.Name + " lacks " + missing})
			continue
		}
		if in.Check != nil {
			if ok, why := in.Check(t); !ok {
				d.Excluded = append(d.Excluded, Exclusion{Model: t.Model.ID, Provider: t.Provider.Name, Reason: why})
				continue
			}
		}
		if h != nil {
			if ok, why := h.Usable(t.Provider.Name, t.Model.ID); !ok {
				unhealthy = append(unhealthy, Exclusion{Model: t.Model.ID, Provider: t.Provider.Name,
					Reason: ReasonUnhealthy + ": " + why})
				sick = append(sick, t)
				continue
			}
		}
		d.Candidates = append(d.Candidates, t)
	}
	if len(d.Candidates) == 0 && len(sick) > 0 {
		d.Candidates, d.Panic = sick, true
	} else {
		d.Excluded = append(d.Excluded, unhealthy...)
	}
	switch r.Strategy {
	case config.StrategyWeighted:
		orderWeighted(d.Candidates, in.Seed)
	case config.StrategyCost:
		orderByCost(d.Candidates, in.PromptTokens, in.OutputTokens)
	case config.StrategyLatency:
		orderByLatency(d.Candidates, lat, in.Seed)
	}
	return d
}

// CompliantTargets reports whether any target of the route satisfies the
// compliance tags, whatever its health: when none does the answer is 403, not 502.
func (d *Decision) CompliantTargets() bool {
	if len(d.Candidates) > 0 {
		return true
	}
	for _, e := range d.Excluded {
		if !strings.HasPrefix(e.Reason, ReasonCompliance) {
			return true
		}
	}
	return false
}

// OnlyExcludedFor reports whether there are exclusions for the first
// reason and every exclusion is for one of the reasons given.
func (d *Decision) OnlyExcludedFor(reason string, also ...string) bool {
	seen := false
	for _, e := range d.Excluded {
		switch {
		case strings.HasPrefix(e.Reason, reason):
			seen = true
		case !slices.ContainsFunc(also, func(r string) bool { return strings.HasPrefix(e.Reason, r) }):
			return false
		}
	}
	return seen
}

// Keep removes the candidates for which keep reports false, recording why.
func (d *Decision) Keep(keep func(*Target) (ok bool, why string)) {
	kept := d.Candidates[:0]
	for _, t := range d.Candidates {
		if ok, why := keep(t); !ok {
			d.Excluded = append(d.Excluded, Exclusion{Model: t.Model.ID, Provider: t.Provider.Name, Reason: why})
			continue
		}
		kept = append(kept, t)
	}
	d.Candidates = kept
}

func missingTags(have, want []string) string {
	var missing []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			missing = append(missing, w)
		}
	}
	return strings.Join(missing, ", ")
}

// orderWeighted draws a weighted random order without replacement
// (Efraimidis-Spirakis: sort by u^(1/w)), so the first target is chosen in
// proportion to its weight and the rest remain as fallbacks.
func orderWeighted(ts []*Target, seed uint64) {
	if len(ts) < 2 {
		return
	}
	keys := make([]float64, len(ts))
	s := seed
	for i, t := range ts {
		s = splitmix64(s)
		u := (float64(s>>11) + 0.5) / (1 << 53) // in (0,1)
		keys[i] = math.Log(u) / float64(t.Weight)
	}
	sort.Sort(byKeyDesc{ts, keys})
}

type byKeyDesc struct {
	ts   []*Target
	keys []float64
}

func (b byKeyDesc) Len() int           { return len(b.ts) }
func (b byKeyDesc) Less(i, j int) bool { return b.keys[i] > b.keys[j] }
func (b byKeyDesc) Swap(i, j int) {
	b.ts[i], b.ts[j] = b.ts[j], b.ts[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	z := x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// DefaultOutputEstimate is the completion size the cost strategy assumes when
// the request sets no limit.
const DefaultOutputEstimate = 512

// orderByCost puts the cheapest expected request first; unpriced models go
// last, since their cost is unknown, not zero. Ties keep configuration order.
func orderByCost(ts []*Target, promptTokens, outputTokens int) {
	if outputTokens <= 0 {
		outputTokens = DefaultOutputEstimate
	}
	cost := func(t *Target) float64 {
		p := t.Model.Price
		if p == nil {
			return math.Inf(1)
		}
		return float64(promptTokens)*p.Input + float64(outputTokens)*p.Output
	}
	slices.SortStableFunc(ts, func(a, b *Target) int {
		ca, cb := cost(a), cost(b)
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0
	})
}

// LatencyExploreShare is the share of requests on a latency route that go
// first to a target other than the fastest, chosen evenly among the others.
// Without it a target that was slow once would never get the requests whose
// latency could show it is fast again: the starvation guard. A target that
// fails is not explored more: the breaker and probes keep it out.
const LatencyExploreShare = 0.05

// orderByLatency puts the fastest recent estimate first; targets without an
// estimate go first of all, so they get the samples that give them one. Then,
// for LatencyExploreShare of seeds, one of the other targets is moved to the
// front (the fastest becomes its first fallback). The seed decides, so the
// order is repeatable, and explain shows what the request does.
func orderByLatency(ts []*Target, lat LatencyEstimator, seed uint64) {
	if lat == nil || len(ts) < 2 {
		return
	}
	var buf [8]byEstimate
	ps := buf[:0]
	for _, t := range ts {
		d, ok := lat.Estimate(t.Provider.Name, t.Model.ID)
		if !ok {
			d = -1
		}
		ps = append(ps, byEstimate{t, d})
	}
	slices.SortStableFunc(ps, func(a, b byEstimate) int {
		switch {
		case a.est < b.est:
			return -1
		case a.est > b.est:
			return 1
		}
		return 0
	})
	for i := range ps {
		ts[i] = ps[i].t
	}
	// An independent draw from the same seed as the weighted strategy's.
	x := splitmix64(seed ^ 0x6c6174656e6379) // "latency"
	if u := float64(x>>11) / (1 << 53); u < LatencyExploreShare {
		i := 1 + int(splitmix64(x)%uint64(len(ts)-1))
		explored := ts[i]
		copy(ts[1:i+1], ts[:i])
		ts[0] = explored
	}
}

// byEstimate is a target with its latency estimate (-1: none).
type byEstimate struct {
	t   *Target
	est time.Duration
}

// Compliant is the one compliance check: every place that chooses or admits
// a target for a request (the plan, each attempt, a hedge, a budget
// downgrade's estimate, explain) asks it. t may receive a request that
// requires require when its provider has every one of those tags; missing
// names the others.
func Compliant(t *Target, require []string) (ok bool, missing string) {
	if m := missingTags(t.Provider.Compliance, require); m != "" {
		return false, m
	}
	return true, ""
}
