package compliance

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// gen draws random cases. Every configuration it makes is meant to pass the
// router's validation; one that does not is redrawn.
type gen struct{ r *rand.Rand }

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

// subset returns between lo and len(xs) elements of xs, in order.
func subset[T any](g *gen, xs []T, lo int) []T {
	n := lo + g.r.IntN(len(xs)-lo+1)
	idx := g.r.Perm(len(xs))[:n]
	slices.Sort(idx)
	out := make([]T, 0, n)
	for _, i := range idx {
		out = append(out, xs[i])
	}
	return out
}

// hasAll reports whether have includes every tag of want.
func hasAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// servable reports whether some target of route name has every tag of
// extra besides the route's require (the documented validation of a key's
// downgrade route).
func servable(c *Config, name string, extra []string) bool {
	r := c.route(name)
	if r == nil {
		return false
	}
	want := slices.Concat(extra, r.Require)
	for _, t := range r.Targets {
		if m := c.model(t.Model); m != nil && hasAll(c.provider(m.Provider).Compliance, want) {
			return true
		}
	}
	return false
}

// reqCost is what one answer costs on model m.
func reqCost(m *Model) float64 {
	if m.Price == nil {
		return 0
	}
	return (usagePrompt*m.Price.Input + usageCompletion*m.Price.Output) / 1e6
}

func (g *gen) config() Config {
	c := Config{DataClasses: dataClasses()}
	np := 3 + g.r.IntN(4)
	for i := range np {
		p := Provider{Name: fmt.Sprintf("p%d", i+1), Type: "openai", Key: fmt.Sprintf("env:UPSTREAM_KEY_P%d", i+1),
			Timeout: pick(g, []string{"150ms", "200ms"})}
		for _, t := range []string{"hipaa", "gdpr", "soc2"} {
			if g.chance(0.45) {
				p.Compliance = append(p.Compliance, t)
			}
		}
		c.Providers = append(c.Providers, p)
	}
	if g.chance(0.9) && !slices.ContainsFunc(c.Providers, func(p Provider) bool { return slices.Contains(p.Compliance, "hipaa") }) {
		p := &c.Providers[g.r.IntN(np)]
		p.Compliance = append([]string{"hipaa"}, p.Compliance...)
	}
	for i := range c.Providers {
		for k := range 1 + g.r.IntN(2) {
			m := Model{ID: fmt.Sprintf("m%d%c", i+1, 'a'+k), Provider: c.Providers[i].Name,
				Price: &Price{Input: pick(g, []float64{0, 0.1, 1, 3, 10}), Output: pick(g, []float64{0, 0.4, 2, 10, 30})}}
			if g.chance(0.7) {
				m.MaxTokens = 32
			}
			c.Models = append(c.Models, m)
		}
	}
	ids := make([]string, len(c.Models))
	for i, m := range c.Models {
		ids[i] = m.ID
	}
	nr := 2 + g.r.IntN(4)
	for i := range nr {
		r := Route{Name: fmt.Sprintf("r%d", i+1), Strategy: pick(g, []string{"", "ordered", "weighted", "cost"}), Timeout: "3s"}
		n := 1 + g.r.IntN(min(4, len(ids)))
		for _, id := range g.r.Perm(len(ids))[:n] {
			t := Target{Model: ids[id]}
			if g.chance(0.8) {
				t.Timeout = pick(g, []string{"60ms", "100ms", "150ms", "200ms"})
			}
			if g.chance(0.25) {
				t.HedgeAfter = pick(g, []string{"15ms", "30ms", "45ms"})
			}
			if g.chance(0.15) {
				t.FirstByteTimeout = pick(g, []string{"30ms", "50ms"})
			}
			if r.Strategy == "weighted" {
				t.Weight = 1 + g.r.IntN(5)
			}
			r.Targets = append(r.Targets, t)
		}
		// A require one of the targets can meet, often hipaa.
		if g.chance(0.6) {
			var hipaa []string
			for _, p := range c.targetProviders(&r) {
				if slices.Contains(c.provider(p).Compliance, "hipaa") {
					hipaa = append(hipaa, p)
				}
			}
			var from []string
			if len(hipaa) > 0 && g.chance(0.6) {
				from = c.provider(pick(g, hipaa)).Compliance
				r.Require = []string{"hipaa"}
			} else {
				from = c.provider(pick(g, c.targetProviders(&r))).Compliance
			}
			for _, t := range from {
				if !slices.Contains(r.Require, t) && g.chance(0.4) {
					r.Require = append(r.Require, t)
				}
			}
		}
		if g.chance(0.3) {
			r.Structured = &Structured{OnInvalid: pick(g, []string{"fallback", "repair", "fallback", "error"})}
		}
		c.Routes = append(c.Routes, r)
	}
	names := make([]string, len(c.Routes))
	typical := 0.0
	for i, r := range c.Routes {
		names[i] = r.Name
	}
	for i := range c.Models {
		typical += reqCost(&c.Models[i]) / float64(len(c.Models))
	}
	typical = max(typical, 1e-4)
	downgrade := func(extra []string) *Downgrade {
		var ok, weaker []string
		for _, n := range names {
			if servable(&c, n, extra) {
				ok = append(ok, n)
				if !slices.Contains(c.route(n).Require, "hipaa") {
					weaker = append(weaker, n)
				}
			}
		}
		if len(ok) == 0 {
			return nil
		}
		d := &Downgrade{At: pick(g, []float64{0.05, 0.2, 0.4, 0.6, 0.8}), Route: pick(g, ok)}
		if len(weaker) > 0 && g.chance(0.7) {
			d.Route = pick(g, weaker)
		}
		return d
	}
	nk := 2 + g.r.IntN(3)
	for i := range nk {
		k := Key{ID: fmt.Sprintf("k%d", i+1)}
		k.Hash = keyHash(k.ID)
		k.DataClass = pick(g, []string{"", "", "phi", "phi", "eu", "internal"})
		if g.chance(0.35) {
			k.Routes = []string{"*"}
		} else {
			k.Routes = subset(g, names, 1)
			if g.chance(0.1) {
				k.Routes = append(k.Routes, "*")
			}
		}
		if g.chance(0.4) {
			s := subset(g, ids, 1)
			k.Models = s[:min(len(s), 1+g.r.IntN(3))]
		}
		if g.chance(0.3) {
			k.Tags = map[string]string{"team": pick(g, []string{"a", "b"})}
		}
		if g.chance(0.55) {
			k.Budget = &Budget{MonthlyUSD: typical * (2 + 10*g.r.Float64())}
			if g.chance(0.85) {
				k.Budget.OnBudget = downgrade(dataClasses()[k.DataClass])
			}
		}
		c.Keys = append(c.Keys, k)
	}
	if g.chance(0.35) {
		values := subset(g, []string{"a", "b", ""}, 1)
		for _, v := range values[:min(len(values), 1+g.r.IntN(2))] {
			b := TagBudget{Tag: "team", Value: v, MonthlyUSD: typical * (2 + 10*g.r.Float64())}
			if g.chance(0.8) {
				b.OnBudget = downgrade(nil)
			}
			c.Budgets = append(c.Budgets, b)
		}
	}
	return c
}

// callable is what a key would usually address: its routes, or a model.
func (g *gen) name(c *Config, k *Key) string {
	if g.chance(0.12) {
		if len(k.Models) > 0 && g.chance(0.5) {
			return pick(g, k.Models)
		}
		return pick(g, c.Models).ID
	}
	var routes []string
	for _, r := range k.Routes {
		if r != "*" {
			routes = append(routes, r)
		}
	}
	if len(routes) == 0 || g.chance(0.05) {
		return pick(g, c.Routes).Name
	}
	return pick(g, routes)
}

func (g *gen) classLine() []string {
	classes := []string{"phi", "eu", "internal"}
	line := []string{pick(g, classes)}
	if g.chance(0.35) {
		line = append(line, pick(g, classes))
	}
	if g.chance(0.015) {
		line = append(line, "restricted") // declared nowhere
	}
	return line
}

func (g *gen) outcome() outcome {
	// How often an upstream does each thing with an attempt.
	weights := [numOutcomes]int{
		answer: 30, invalidOut: 8, status400: 3, status429: 8, status500: 6, status503: 10, status529: 6,
		closeConn: 6, hang: 5, midError: 6, midClose: 5, earlyError: 6,
	}
	total := 0
	for _, w := range weights {
		total += w
	}
	n := g.r.IntN(total)
	for o, w := range weights {
		if n < w {
			return outcome(o)
		}
		n -= w
	}
	return answer
}

func (g *gen) request(c *Config) Request {
	k := &c.Keys[g.r.IntN(len(c.Keys))]
	r := Request{Auth: []string{k.ID}, Model: g.name(c, k)}
	switch {
	case len(c.Keys) > 1 && g.chance(0.03):
		other := pick(g, c.Keys).ID
		for other == k.ID {
			other = pick(g, c.Keys).ID
		}
		r.Auth = append(r.Auth, other)
	case g.chance(0.02):
		r.Auth = append(r.Auth, k.ID)
	}
	r.Embeddings = g.chance(0.2)
	if !r.Embeddings {
		r.API = pick(g, []string{"", "", "responses", "messages"})
		r.Stream = g.chance(0.35)
		r.JSON = g.chance(0.35)
		if g.chance(0.5) {
			r.MaxTokens = 16
		}
	}
	switch {
	case g.chance(0.12):
		r.RouteHeader = []string{r.Model}
		r.Model = pick(g, c.Routes).Name
	case g.chance(0.04):
		r.RouteHeader = []string{g.name(c, k), g.name(c, k)}
	}
	for range pick(g, []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3}) {
		r.Classes = append(r.Classes, g.classLine())
	}
	if g.chance(0.3) {
		r.Tags = append(r.Tags, "team="+pick(g, []string{"a", "b"}))
		if g.chance(0.15) {
			r.Tags = append(r.Tags, "team="+pick(g, []string{"a", "b"}))
		}
	}
	for _, p := range c.Providers {
		if g.chance(0.45) {
			if r.Script == nil {
				r.Script = map[string][]outcome{}
			}
			for range 1 + g.r.IntN(2) {
				r.Script[p.Name] = append(r.Script[p.Name], g.outcome())
			}
		}
	}
	return r
}

func (g *gen) newCase(requests int) *Case {
	c := &Case{Cfg: g.config(), Parallel: 1}
	if g.chance(0.15) {
		c.Dead = []string{pick(g, c.Cfg.Providers).Name}
	}
	if g.chance(0.4) {
		c.Parallel = 4
	}
	for range requests {
		c.Reqs = append(c.Reqs, g.request(&c.Cfg))
	}
	return c
}
