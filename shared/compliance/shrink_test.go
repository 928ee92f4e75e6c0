package compliance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// goal is what a shrunk case must still show: a violation of this kind
// with exactly these causes.
type goal struct {
	kind   int
	causes string
}

func (g goal) met(vss [][]violation) bool {
	for _, vs := range vss {
		for _, v := range vs {
			if v.kind == g.kind && v.cause() == g.causes {
				return true
			}
		}
	}
	return false
}

// shrunk is a case reduced as far as the shrinker got, with its last run.
type shrunk struct {
	c      *Case
	r      *run
	vss    [][]violation
	trials int
}

// try runs a candidate and reports whether it still shows the goal.
func (rn *runner) try(c *Case, g goal) (*run, [][]violation, bool) {
	r, err := rn.run(c)
	if err != nil {
		return nil, nil, false
	}
	vss := verdicts(c, r)
	return r, vss, g.met(vss)
}

// shrink removes requests, keys, routes, targets, providers, headers and
// script entries one at a time, keeping each removal after which a fresh
// router still shows the goal, until nothing more can go or trials run out.
func (rn *runner) shrink(c *Case, g goal, trials int) *shrunk {
	cur := c.clone()
	normalize(cur)
	r, vss, ok := rn.try(cur, g)
	if !ok {
		return nil
	}
	s := &shrunk{c: cur, r: r, vss: vss, trials: 1}
	accept := func(cand *Case) bool {
		normalize(cand)
		if len(cand.Reqs) == 0 || same(cand, s.c) || s.trials >= trials {
			return false
		}
		s.trials++
		r, vss, ok := rn.try(cand, g)
		if ok {
			s.c, s.r, s.vss = cand, r, vss
		}
		return ok
	}
	for progress := true; progress && s.trials < trials; {
		progress = false
		// Requests first, in halving chunks: most of a case is traffic that
		// only spent budget or did nothing.
		for size := len(s.c.Reqs) / 2; size >= 1; size /= 2 {
			for start := 0; start < len(s.c.Reqs); {
				cand := s.c.clone()
				end := min(start+size, len(cand.Reqs))
				cand.Reqs = slices.Delete(cand.Reqs, start, end)
				if accept(cand) {
					progress = true
				} else {
					start += size
				}
			}
		}
		es := edits(s.c)
		for i := 0; i < len(es); i++ {
			cand := s.c.clone()
			es[i](cand)
			if accept(cand) {
				progress = true
				// The same position now holds the next element.
				es = edits(s.c)
				i--
			}
		}
	}
	return s
}

// edits lists every single simplification of c, each as a change to a
// copy of c.
func edits(c *Case) []func(*Case) {
	var es []func(*Case)
	add := func(f func(*Case)) { es = append(es, f) }
	for i := range c.Cfg.Keys {
		add(func(c *Case) { c.Cfg.Keys = slices.Delete(c.Cfg.Keys, i, i+1) })
	}
	for i := range c.Cfg.Routes {
		add(func(c *Case) { c.Cfg.Routes = slices.Delete(c.Cfg.Routes, i, i+1) })
	}
	for i := range c.Cfg.Providers {
		add(func(c *Case) { c.Cfg.Providers = slices.Delete(c.Cfg.Providers, i, i+1) })
	}
	for i, r := range c.Cfg.Routes {
		for j := range r.Targets {
			add(func(c *Case) { c.Cfg.Routes[i].Targets = slices.Delete(c.Cfg.Routes[i].Targets, j, j+1) })
		}
	}
	for i := range c.Cfg.Models {
		add(func(c *Case) { c.Cfg.Models = slices.Delete(c.Cfg.Models, i, i+1) })
	}
	for i := range c.Cfg.Budgets {
		add(func(c *Case) { c.Cfg.Budgets = slices.Delete(c.Cfg.Budgets, i, i+1) })
	}
	if c.Parallel > 1 {
		add(func(c *Case) { c.Parallel = 1 })
	}
	for i := range c.Dead {
		add(func(c *Case) { c.Dead = slices.Delete(c.Dead, i, i+1) })
	}
	for i := range c.Reqs {
		r := &c.Reqs[i]
		req := func(f func(r *Request)) { add(func(c *Case) { f(&c.Reqs[i]) }) }
		if len(r.Auth) > 1 {
			for j := range r.Auth {
				req(func(r *Request) { r.Auth = slices.Delete(r.Auth, j, j+1) })
			}
		}
		if len(r.RouteHeader) == 1 && r.Model != r.RouteHeader[0] {
			// The same request with the name in the body only.
			req(func(r *Request) { r.Model, r.RouteHeader = r.RouteHeader[0], nil })
		}
		for j := range r.RouteHeader {
			req(func(r *Request) { r.RouteHeader = slices.Delete(r.RouteHeader, j, j+1) })
		}
		for j, line := range r.Classes {
			req(func(r *Request) { r.Classes = slices.Delete(r.Classes, j, j+1) })
			if len(line) > 1 {
				for k := range line {
					req(func(r *Request) { r.Classes[j] = slices.Delete(r.Classes[j], k, k+1) })
				}
			}
		}
		for j := range r.Tags {
			req(func(r *Request) { r.Tags = slices.Delete(r.Tags, j, j+1) })
		}
		if r.API != "" {
			req(func(r *Request) { r.API = "" })
		}
		if r.Stream {
			req(func(r *Request) { r.Stream = false })
		}
		if r.JSON {
			req(func(r *Request) { r.JSON = false })
		}
		if r.MaxTokens > 0 {
			req(func(r *Request) { r.MaxTokens = 0 })
		}
		for _, p := range sortedKeys(r.Script) {
			req(func(r *Request) { delete(r.Script, p) })
			for j := range r.Script[p] {
				req(func(r *Request) { r.Script[p] = slices.Delete(r.Script[p], j, j+1) })
			}
		}
	}
	for i, k := range c.Cfg.Keys {
		key := func(f func(k *Key)) { add(func(c *Case) { f(&c.Cfg.Keys[i]) }) }
		if k.Budget != nil {
			key(func(k *Key) { k.Budget = nil })
			// A smaller budget needs less traffic before it downgrades.
			key(func(k *Key) { k.Budget.MonthlyUSD = simpler(k.Budget.MonthlyUSD / 4) })
			key(func(k *Key) { k.Budget.MonthlyUSD = simpler(k.Budget.MonthlyUSD) })
			if k.Budget.OnBudget != nil {
				key(func(k *Key) { k.Budget.OnBudget = nil })
				key(func(k *Key) { k.Budget.OnBudget.At = 0.05 })
			}
		}
		if len(k.Routes) > 1 {
			for j := range k.Routes {
				key(func(k *Key) { k.Routes = slices.Delete(k.Routes, j, j+1) })
			}
		}
		for j := range k.Models {
			key(func(k *Key) { k.Models = slices.Delete(k.Models, j, j+1) })
		}
		if k.Tags != nil {
			key(func(k *Key) { k.Tags = nil })
		}
		if k.DataClass != "" {
			key(func(k *Key) { k.DataClass = "" })
		}
	}
	for i, b := range c.Cfg.Budgets {
		add(func(c *Case) { c.Cfg.Budgets[i].MonthlyUSD = simpler(c.Cfg.Budgets[i].MonthlyUSD / 4) })
		add(func(c *Case) { c.Cfg.Budgets[i].MonthlyUSD = simpler(c.Cfg.Budgets[i].MonthlyUSD) })
		if b.OnBudget != nil {
			add(func(c *Case) { c.Cfg.Budgets[i].OnBudget = nil })
			add(func(c *Case) { c.Cfg.Budgets[i].OnBudget.At = 0.05 })
		}
	}
	for i, m := range c.Cfg.Models {
		if m.MaxTokens != 0 {
			add(func(c *Case) { c.Cfg.Models[i].MaxTokens = 0 })
		}
		if m.Price != nil && (m.Price.Input != 0 || m.Price.Output != 0) {
			add(func(c *Case) { c.Cfg.Models[i].Price = &Price{} })
		}
	}
	for i, r := range c.Cfg.Routes {
		route := func(f func(r *Route)) { add(func(c *Case) { f(&c.Cfg.Routes[i]) }) }
		if r.Strategy != "" {
			route(func(r *Route) { r.Strategy = "" })
		}
		if r.Structured != nil {
			route(func(r *Route) { r.Structured = nil })
		}
		if r.Timeout != "" {
			route(func(r *Route) { r.Timeout = "" })
		}
		for j := range r.Require {
			route(func(r *Route) { r.Require = slices.Delete(r.Require, j, j+1) })
		}
		for j, t := range r.Targets {
			if t != (Target{Model: t.Model}) {
				route(func(r *Route) { r.Targets[j] = Target{Model: r.Targets[j].Model} })
			}
		}
	}
	for i, p := range c.Cfg.Providers {
		for j := range p.Compliance {
			add(func(c *Case) {
				c.Cfg.Providers[i].Compliance = slices.Delete(c.Cfg.Providers[i].Compliance, j, j+1)
			})
		}
	}
	return es
}

// simpler rounds a price to one significant digit, for a readable budget.
func simpler(usd float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(usd, 'e', 0, 64), 64)
	return v
}

func same(a, b *Case) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// normalize removes what an edit left dangling: models of removed
// providers, targets of removed models, empty routes, references to removed
// routes, models and keys, and requests no key or name is left for.
func normalize(c *Case) {
	for changed := true; changed; {
		before, _ := json.Marshal(c)
		cfg := &c.Cfg
		cfg.Models = slices.DeleteFunc(cfg.Models, func(m Model) bool { return cfg.provider(m.Provider) == nil })
		for i := range cfg.Routes {
			r := &cfg.Routes[i]
			r.Targets = slices.DeleteFunc(r.Targets, func(t Target) bool { return cfg.model(t.Model) == nil })
		}
		cfg.Routes = slices.DeleteFunc(cfg.Routes, func(r Route) bool { return len(r.Targets) == 0 })
		known := func(name string) bool { return cfg.route(name) != nil || cfg.model(name) != nil }
		for i := range cfg.Keys {
			k := &cfg.Keys[i]
			k.Routes = slices.DeleteFunc(k.Routes, func(r string) bool { return r != "*" && cfg.route(r) == nil })
			k.Models = slices.DeleteFunc(k.Models, func(m string) bool { return cfg.model(m) == nil })
			if k.Budget != nil && k.Budget.OnBudget != nil && !known(k.Budget.OnBudget.Route) {
				k.Budget.OnBudget = nil
			}
		}
		for i := range cfg.Budgets {
			if b := &cfg.Budgets[i]; b.OnBudget != nil && !known(b.OnBudget.Route) {
				b.OnBudget = nil
			}
		}
		c.Dead = slices.DeleteFunc(c.Dead, func(p string) bool { return cfg.provider(p) == nil })
		for i := range c.Reqs {
			r := &c.Reqs[i]
			r.Auth = slices.DeleteFunc(r.Auth, func(id string) bool { return cfg.key(id) == nil })
			r.RouteHeader = slices.DeleteFunc(r.RouteHeader, func(n string) bool { return !known(n) })
			if !known(r.Model) && len(r.RouteHeader) > 0 {
				r.Model = r.RouteHeader[0] // the header decides; keep the body readable
			}
			r.Classes = slices.DeleteFunc(r.Classes, func(l []string) bool { return len(l) == 0 })
			for p := range r.Script {
				if cfg.provider(p) == nil || len(r.Script[p]) == 0 {
					delete(r.Script, p)
				}
			}
			if len(r.Script) == 0 {
				r.Script = nil
			}
		}
		c.Reqs = slices.DeleteFunc(c.Reqs, func(r Request) bool {
			return len(r.Auth) == 0 || (!known(r.Model) && len(r.RouteHeader) == 0)
		})
		after, _ := json.Marshal(c)
		changed = string(before) != string(after)
	}
}

// describe prints a case as a counterexample: the configuration as YAML,
// then each request as curl would send it, with its upstream script and
// what happened.
func describe(s *shrunk) string {
	var b strings.Builder
	c := s.c
	fmt.Fprintf(&b, "config (router.yaml; each base_url is the provider's loopback upstream on a fresh port")
	if len(c.Dead) > 0 {
		fmt.Fprintf(&b, "; %v refuse connections", c.Dead)
	}
	fmt.Fprintf(&b, "; keys are %s):\n", `sk-test-<id>`)
	cfg := c.Cfg
	for i := range cfg.Providers {
		cfg.Providers[i].BaseURL = "http://127.0.0.1:PORT/v1"
	}
	for _, line := range strings.Split(strings.TrimRight(string(cfg.yaml()), "\n"), "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	if c.Parallel > 1 {
		fmt.Fprintf(&b, "requests (%d in flight at a time):\n", c.Parallel)
	} else {
		fmt.Fprintf(&b, "requests, in order:\n")
	}
	for i := range c.Reqs {
		r := &c.Reqs[i]
		m := s.r.markers[i]
		fmt.Fprintf(&b, "  #%d curl -sN $ROUTER%s", i, r.path())
		h := r.header(m)
		for _, name := range sortedKeys(h) {
			if name == "Content-Type" {
				continue
			}
			for _, v := range h[name] {
				fmt.Fprintf(&b, " -H '%s: %s'", name, v)
			}
		}
		fmt.Fprintf(&b, " -d '%s'\n", r.body(m))
		if len(r.Script) > 0 {
			var parts []string
			for _, p := range sortedKeys(r.Script) {
				var os []string
				for _, o := range r.Script[p] {
					os = append(os, o.String())
				}
				parts = append(parts, p+": "+strings.Join(os, ", "))
			}
			fmt.Fprintf(&b, "     upstream script: %s (then answers)\n", strings.Join(parts, "; "))
		}
		got := s.r.got[i]
		fmt.Fprintf(&b, "     -> status %d; upstreams that received it: %v", got.status, got.hits)
		if a := got.audit; a != nil {
			var tried []string
			for _, at := range a.Attempts {
				tried = append(tried, at.Provider+":"+at.Outcome)
			}
			fmt.Fprintf(&b, "; audit: route=%s", a.Route)
			if a.DowngradedFrom != "" {
				fmt.Fprintf(&b, " downgraded_from=%s", a.DowngradedFrom)
			}
			fmt.Fprintf(&b, " require=%v attempts=%v", a.Require, tried)
			if a.ErrorCode != "" {
				fmt.Fprintf(&b, " error_code=%s", a.ErrorCode)
			}
		}
		b.WriteString("\n")
		for _, v := range s.vss[i] {
			fmt.Fprintf(&b, "     VIOLATION %s\n", v)
		}
	}
	return b.String()
}
