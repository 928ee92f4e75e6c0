package config

import (
	"fmt"
	"strings"
)

// Conditions make a target conditional: it is a candidate only while every
// condition set holds, judged at plan time from live health (and, where
// there is none, the latest benchmark run). Conditions only ever remove a
// target; they never add one that compliance left out.
type Conditions struct {
	// P90LatencyBelow: the target's recent 90th-percentile latency (time to
	// its answer's first byte) is below this.
	P90LatencyBelow Duration `yaml:"p90_latency_below,omitempty" json:"p90_latency_below,omitempty"`
	// ErrorRateBelow: the share of its recent attempts that failed, 0 to 1,
	// is below this.
	ErrorRateBelow float64 `yaml:"error_rate_below,omitempty" json:"error_rate_below,omitempty"`
	// MaxCostUSD: this request's estimated cost on the target (its input
	// estimate and max_tokens, else the model's output limit, at the
	// model's price) is at most this.
	MaxCostUSD float64 `yaml:"max_cost_usd,omitempty" json:"max_cost_usd,omitempty"`
}

// Rule sends the requests a route receives that match When to another
// route. A route's rules are tried in order and the first match wins; the
// request keeps every compliance tag the route it addressed requires.
type Rule struct {
	When Match `yaml:"when" json:"when"`
	// Route is the route matching requests go to; its own rules are not
	// applied again.
	Route string `yaml:"route" json:"route"`
}

// Match is what a rule looks at; every field set must hold.
type Match struct {
	// Language of the last user message: ISO 639-1 codes (zh, ja, ko, ar,
	// ru, en, es, …), as the router's detector names them.
	Language []string `yaml:"language,omitempty" json:"language,omitempty"`
	// Script of the last user message: ISO 15924 codes (Hani, Arab, Cyrl,
	// Latn, …).
	Script []string `yaml:"script,omitempty" json:"script,omitempty"`
	// MinInputTokens and MaxInputTokens bound the request's estimated input
	// tokens (0: no bound).
	MinInputTokens int `yaml:"min_input_tokens,omitempty" json:"min_input_tokens,omitempty"`
	MaxInputTokens int `yaml:"max_input_tokens,omitempty" json:"max_input_tokens,omitempty"`
	// HasImages and HasTools: the request has (true) or has no (false)
	// image parts, tools.
	HasImages *bool `yaml:"has_images,omitempty" json:"has_images,omitempty"`
	HasTools  *bool `yaml:"has_tools,omitempty" json:"has_tools,omitempty"`
	// Tags: the request carries each of these tag values.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// DataClass: the request has one of these data classes.
	DataClass []string `yaml:"data_class,omitempty" json:"data_class,omitempty"`
}

// validateRules checks a route's rules and its targets' conditions.
func (c *Config) validateRules(ck *checker, f string, r *Route, routes map[string]*Route) {
	for j, t := range r.Targets {
		if t.When == nil {
			continue
		}
		tf := fmt.Sprintf("%s.targets[%d].when", f, j)
		w := t.When
		if w.P90LatencyBelow == 0 && w.ErrorRateBelow == 0 && w.MaxCostUSD == 0 {
			ck.add(tf, "sets no condition (p90_latency_below, error_rate_below or max_cost_usd)")
		}
		if w.ErrorRateBelow < 0 || w.ErrorRateBelow > 1 {
			ck.add(tf+".error_rate_below", "must be a share between 0 and 1")
		}
		if w.MaxCostUSD < 0 {
			ck.add(tf+".max_cost_usd", "must not be negative")
		}
	}
	for j, rule := range r.Rules {
		rf := fmt.Sprintf("%s.rules[%d]", f, j)
		switch target := routes[rule.Route]; {
		case rule.Route == "":
			ck.add(rf+".route", "is required")
		case rule.Route == r.Name:
			ck.add(rf+".route", "a rule cannot send a route's requests to itself")
		case target == nil:
			ck.add(rf+".route", "unknown route %q (a rule's route must be a route, not a model)", rule.Route)
		}
		m := rule.When
		if len(m.Language) == 0 && len(m.Script) == 0 && m.MinInputTokens == 0 && m.MaxInputTokens == 0 &&
			m.HasImages == nil && m.HasTools == nil && len(m.Tags) == 0 && len(m.DataClass) == 0 {
			ck.add(rf+".when", "matches every request: set at least one condition (or make the route its own)")
		}
		for k, l := range m.Language {
			if len(l) < 2 || len(l) > 3 || strings.ToLower(l) != l {
				ck.add(fmt.Sprintf("%s.when.language[%d]", rf, k), "%q is not a lowercase ISO 639-1 code such as zh or en", l)
			}
		}
		if m.MinInputTokens < 0 || m.MaxInputTokens < 0 {
			ck.add(rf+".when", "token bounds must not be negative")
		}
		if m.MaxInputTokens > 0 && m.MinInputTokens > m.MaxInputTokens {
			ck.add(rf+".when.min_input_tokens", "is above max_input_tokens")
		}
		for k, dc := range m.DataClass {
			if _, ok := c.DataClasses[dc]; !ok {
				ck.add(fmt.Sprintf("%s.when.data_class[%d]", rf, k), "unknown data class %q", dc)
			}
		}
		for name := range m.Tags {
			if !tagPattern.MatchString(name) {
				ck.add(rf+".when.tags", "bad tag name %q", name)
			}
		}
	}
}
