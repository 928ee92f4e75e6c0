// Package route decides where a request may go: it compiles routes, removes
// targets that lack the request's compliance tags or are unhealthy, and orders
// the rest by the route's strategy. The same Plan serves real requests and the
// explain endpoint, so explain cannot disagree with what a request would do.
package route

import (
	"fmt"
	"strconv"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/detect"
)

// Table is a compiled configuration: every route and model, resolved.
type Table struct {
	routes      map[string]*Route
	models      map[string]*config.Model
	providers   map[string]*config.Provider
	dataClasses map[string][]string
	// detectors holds the compiled detectors of each class that has some.
	detectors map[string]*detect.Set
	// Names lists routes then models, in configuration order, for /v1/models.
	Names []string
}

// Route is a compiled route. A model id used directly is an implicit route
// with that single target.
type Route struct {
	Name     string
	Strategy string
	Require  []string
	// Timeout bounds the time until an answer commits, across attempts.
	Timeout time.Duration
	// StreamIdle bounds the wait for each chunk once a stream has begun.
	StreamIdle time.Duration
	// MaxDuration bounds the whole request; 0: the deployment's limit.
	MaxDuration time.Duration
	Targets     []*Target
	Implicit    bool
	// Rules send matching requests to other routes; the first match wins.
	Rules []Rule
	// Detect lists the data classes whose detectors scan the route's
	// requests; each has a Set in Table.Detectors.
	Detect []string
	// Fitted is set when a target has a context window or conditions: the
	// plan then checks each target against the request. Routes without
	// either skip that check altogether.
	Fitted bool
	// Cache, when set, answers identical requests from the response cache.
	Cache *config.Cache
	// Policy is what the route changes in each attempt's request
	// (prompt caching, reasoning effort).
	Policy Policy
}

// Rule is a compiled content rule of a route.
type Rule struct {
	When config.Match
	// Route is where matching requests go.
	Route *Route
	// Name identifies the rule in the audit record and explain:
	// ROUTE.rules[i].
	Name string
}

// Target is one resolved target of a route.
type Target struct {
	Model    *config.Model
	Provider *config.Provider
	// FirstByteTimeout is 0 when unset (no first-byte threshold).
	FirstByteTimeout time.Duration
	// Timeout is the total time for one attempt.
	Timeout    time.Duration
	Weight     int
	HedgeAfter time.Duration
	// When, when set, makes the target a candidate only while its
	// conditions hold.
	When *config.Conditions
}

// Compile resolves a validated configuration. It compiles each data class's
// detectors once; config.Validate refuses every detector configuration that
// would not compile, so Compile panics only on a configuration that was never
// validated (the file and DynamoDB stores validate everything they load).
func Compile(c *config.Config) *Table {
	t := &Table{
		routes:      make(map[string]*Route, len(c.Routes)+len(c.Models)),
		models:      make(map[string]*config.Model, len(c.Models)),
		providers:   make(map[string]*config.Provider, len(c.Providers)),
		dataClasses: make(map[string][]string, len(c.DataClasses)),
		detectors:   make(map[string]*detect.Set),
	}
	for name, dc := range c.DataClasses {
		t.dataClasses[name] = dc.Require
		set, err := c.CompileDetectors(name)
		if err != nil {
			panic(fmt.Sprintf("route: data class %s: %v (the configuration was not validated)", name, err))
		}
		if set != nil {
			t.detectors[name] = set
		}
	}
	for i := range c.Providers {
		t.providers[c.Providers[i].Name] = &c.Providers[i]
	}
	for i := range c.Models {
		t.models[c.Models[i].ID] = &c.Models[i]
	}
	for i := range c.Routes {
		r := &c.Routes[i]
		cr := &Route{Name: r.Name, Strategy: r.Strategy, Require: r.Require, Timeout: r.Timeout.D(),
			StreamIdle: r.StreamIdleTimeout.D(), MaxDuration: r.MaxDuration.D(), Detect: r.Detect, Cache: r.Cache, Policy: compilePolicy(r)}
		if cr.Strategy == "" {
			cr.Strategy = config.StrategyOrdered
		}
		if cr.Timeout == 0 {
			cr.Timeout = config.DefaultRouteTimeout
		}
		if cr.StreamIdle == 0 {
			cr.StreamIdle = config.DefaultStreamIdle
		}
		for j := range r.Targets {
			if tg := t.target(&r.Targets[j]); tg != nil {
				cr.Targets = append(cr.Targets, tg)
				cr.Fitted = cr.Fitted || tg.When != nil || tg.Model.ContextWindow > 0
			}
		}
		t.routes[r.Name] = cr
		t.Names = append(t.Names, r.Name)
	}
	// Rules name other routes: resolved once every route exists.
	for i := range c.Routes {
		r := &c.Routes[i]
		cr := t.routes[r.Name]
		for j, rule := range r.Rules {
			if to := t.routes[rule.Route]; to != nil && to != cr {
				cr.Rules = append(cr.Rules, Rule{When: rule.When, Route: to, Name: r.Name + ".rules[" + strconv.Itoa(j) + "]"})
			}
		}
	}
	for i := range c.Models {
		m := &c.Models[i]
		tg := t.target(&config.Target{Model: m.ID})
		if tg == nil {
			continue
		}
		t.routes[m.ID] = &Route{Name: m.ID, Strategy: config.StrategyOrdered, Timeout: config.DefaultRouteTimeout,
			StreamIdle: config.DefaultStreamIdle, Targets: []*Target{tg}, Implicit: true, Fitted: m.ContextWindow > 0}
		t.Names = append(t.Names, m.ID)
	}
	return t
}

func (t *Table) target(ct *config.Target) *Target {
	m := t.models[ct.Model]
	if m == nil {
		return nil
	}
	p := t.providers[m.Provider]
	if p == nil {
		return nil
	}
	return &Target{Model: m, Provider: p, FirstByteTimeout: ct.FirstByteTimeout.D(),
		Timeout: config.AttemptTimeout(p, m, ct), Weight: ct.EffectiveWeight(), HedgeAfter: ct.HedgeAfter.D(), When: ct.When}
}

// Lookup finds a route, or a model used as an implicit route.
func (t *Table) Lookup(name string) (*Route, bool) {
	r, ok := t.routes[name]
	return r, ok
}

// Model returns a model by id.
func (t *Table) Model(id string) *config.Model { return t.models[id] }

// Provider returns a provider by name.
func (t *Table) Provider(name string) *config.Provider { return t.providers[name] }

// DataClass returns the compliance tags a data class requires.
func (t *Table) DataClass(name string) (tags []string, ok bool) {
	tags, ok = t.dataClasses[name]
	return tags, ok
}

// Detectors returns the compiled detectors of a data class, nil when the class
// has none or does not exist (a nil Set matches nothing). A request on a key
// or route whose detect: lists the class is treated as the class when
// Detectors(class).MatchChat finds one.
func (t *Table) Detectors(class string) *detect.Set { return t.detectors[class] }
