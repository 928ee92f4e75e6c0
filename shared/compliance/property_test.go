package compliance

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const (
	defaultRequests = 10000
	// requestsPerCase is the traffic one router gets: enough for a few
	// keys to spend their budgets into a downgrade.
	requestsPerCase = 100
	// caseWorkers routers run at once; most of their time is spent waiting
	// on hung attempts, not on the CPU.
	caseWorkers = 16
	// shrinkTrials bounds the re-runs spent reducing one counterexample.
	shrinkTrials = 400
)

// counts are what a run exercised.
type counts struct {
	requests, refused, required, phi, downgrades, fallbacks, violations, stray, rejected int
	// endpoints and served count requests by kind, all and those answered 200.
	endpoints, served map[string]int
	statuses          map[int]int
}

func (n *counts) add(c *Case, r *run, vss [][]violation) {
	for i := range c.Reqs {
		q, got := &c.Reqs[i], &r.got[i]
		n.requests++
		what := q.endpoint()
		if q.Stream {
			what += " stream"
		}
		n.endpoints[what]++
		if got.status == 200 {
			n.served[what]++
		}
		n.statuses[got.status]++
		e := expect(&c.Cfg, q)
		if e.refused() {
			n.refused++
		} else {
			tags := len(e.classes)
			if e.route != nil {
				tags += len(e.route.Require)
			}
			if tags > 0 {
				n.required++
			}
			if _, ok := e.classes["hipaa"]; ok {
				n.phi++
			}
		}
		if got.audit != nil && got.audit.DowngradedFrom != "" {
			n.downgrades++
		}
		if len(got.hits) > 1 || got.audit != nil && len(got.audit.Attempts) > 1 {
			n.fallbacks++
		}
		if len(vss[i]) > 0 {
			n.violations++
		}
	}
	n.stray += r.stray
}

func (n *counts) String() string {
	var st []string
	for _, s := range sortedInts(n.statuses) {
		st = append(st, fmt.Sprintf("%d:%d", s, n.statuses[s]))
	}
	var eps []string
	for _, e := range endpoints {
		eps = append(eps, fmt.Sprintf("%s %d (%d served)", e, n.endpoints[e], n.served[e]))
	}
	return fmt.Sprintf("requests %d (%s); refused by the rules %d; "+
		"with required tags %d, phi (hipaa) %d; budget downgrades seen %d; fallbacks or hedges %d; "+
		"requests with violations %d; statuses %s; configs redrawn after the router refused them %d; upstream requests without a marker %d",
		n.requests, strings.Join(eps, ", "), n.refused,
		n.required, n.phi, n.downgrades, n.fallbacks, n.violations, strings.Join(st, " "), n.rejected, n.stray)
}

// endpoints are the kinds of request the generator sends, as counts
// names them.
var endpoints = []string{"chat.completions", "chat.completions stream", "responses", "responses stream",
	"messages", "messages stream", "embeddings"}

func sortedInts(m map[int]int) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// example is one request that showed a violation, in its case.
type example struct {
	c   *Case
	req int
	v   violation
}

func subsetOf(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// better orders examples for shrinking: the strongest kind, the fewest
// causes, the shortest run up to it.
func (e example) better(o example) bool {
	if e.v.kind != o.v.kind {
		return e.v.kind < o.v.kind
	}
	if len(e.v.causes) != len(o.v.causes) {
		return len(e.v.causes) < len(o.v.causes)
	}
	return e.req < o.req
}

func envInt(t *testing.T, name string, def uint64) uint64 {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// TestPropertyNoRequestReachesANonCompliantProvider drives routers built as
// main builds them with random configurations, failure scripts and
// requests, and checks every request against a model of the documented
// rules: no provider lacking a required tag ever receives it, and a
// request the rules refuse reaches no provider.
func TestPropertyNoRequestReachesANonCompliantProvider(t *testing.T) {
	seed := envInt(t, "PROPERTY_SEED", rand.Uint64())
	total := int(envInt(t, "PROPERTY_REQUESTS", defaultRequests))
	t.Logf("seed %d (replay with PROPERTY_SEED=%d), %d requests", seed, seed, total)

	rn := &runner{dir: t.TempDir()}
	n := &counts{endpoints: map[string]int{}, served: map[string]int{}, statuses: map[int]int{}}
	best := map[string]example{}
	var firstReject error
	var mu sync.Mutex

	cases := (total + requestsPerCase - 1) / requestsPerCase
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range caseWorkers {
		wg.Go(func() {
			for i := range jobs {
				size := min(requestsPerCase, total-i*requestsPerCase)
				// A configuration the router refuses is redrawn: the
				// generator's model of validation is the test's, not the
				// router's.
				var c *Case
				var r *run
				var err error
				for try := range 5 {
					g := &gen{r: rand.New(rand.NewPCG(seed, uint64(i)<<8|uint64(try)))}
					c = g.newCase(size)
					if r, err = rn.run(c); err == nil {
						break
					}
					mu.Lock()
					n.rejected++
					if firstReject == nil {
						firstReject = err
					}
					mu.Unlock()
				}
				if err != nil {
					continue
				}
				vss := verdicts(c, r)
				mu.Lock()
				n.add(c, r, vss)
				for j, vs := range vss {
					for _, v := range vs {
						e := example{c: c, req: j, v: v}
						if old, ok := best[v.cause()]; !ok || e.better(old) {
							best[v.cause()] = e
						}
					}
				}
				mu.Unlock()
			}
		})
	}
	for i := range cases {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	t.Logf("counts: %s", n)
	if firstReject != nil {
		t.Logf("the router refused %d generated configurations; the first: %v", n.rejected, firstReject)
	}
	if n.requests < total/2 {
		t.Fatalf("only %d of %d requests ran: the router refused most generated configurations", n.requests, total)
	}
	// The generator must reach what the property is about, or a pass
	// says nothing.
	if total >= 1000 {
		for what, got := range map[string]int{"budget downgrades": n.downgrades, "phi requests": n.phi, "fallbacks": n.fallbacks} {
			if got == 0 {
				t.Errorf("no %s in %d requests: the generator does not exercise them", what, n.requests)
			}
		}
		for _, e := range endpoints {
			if n.served[e] == 0 {
				t.Errorf("no %s request served in %d: the generator does not exercise them", e, n.requests)
			}
		}
	}

	// A combination of causes is left out when part of it is a cause of
	// its own: that part explains it.
	causes := make([]string, 0, len(best))
	for cause, ex := range best {
		explained := false
		for other, o := range best {
			explained = explained || other != cause && subsetOf(o.v.causes, ex.v.causes)
		}
		if !explained {
			causes = append(causes, cause)
		}
	}
	slices.SortFunc(causes, func(a, b string) int {
		if best[a].v.kind != best[b].v.kind {
			return best[a].v.kind - best[b].v.kind
		}
		return strings.Compare(a, b)
	})
	reports := make([]string, len(causes))
	var sw sync.WaitGroup
	sem := make(chan struct{}, 3)
	for i, cause := range causes {
		sw.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i] = counterexample(rn, cause, best[cause])
		})
	}
	sw.Wait()
	for _, r := range reports {
		t.Error(r)
	}
}

// counterexample shrinks ex and renders it.
func counterexample(rn *runner, cause string, ex example) string {
	g := goal{kind: ex.v.kind, causes: cause}
	head := fmt.Sprintf("VIOLATION [%s] caused by %s\n  first seen: request #%d: %s\n",
		kindName(g.kind), cause, ex.req, ex.v)
	c := ex.c.clone()
	c.Reqs = c.Reqs[:ex.req+1]
	s := rn.shrink(c, g, shrinkTrials)
	if s == nil {
		s = rn.shrink(ex.c, g, shrinkTrials)
	}
	if s == nil {
		return head + "  (a fresh router did not show it again: timing-dependent)\n"
	}
	return head + fmt.Sprintf("  shrunk counterexample (%d re-runs):\n", s.trials) + describe(s)
}
