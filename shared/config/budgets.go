package config

import (
	"fmt"
	"slices"
)

// TagBudget is a monthly spending limit (calendar month, UTC) for the requests
// carrying a tag value, e.g. {tag: team, value: triage, monthly_usd: 1000}.
// Request tags are the caller's own x-router-tags merged over its key's tags,
// so a tag budget caps spend attributed to a tag; the key's budget is the
// limit a caller cannot step around.
type TagBudget struct {
	// Tag is the tag name, e.g. team.
	Tag string `yaml:"tag" json:"tag"`
	// Value is the tag value the budget applies to. Empty: every value of the
	// tag has a budget of its own of MonthlyUSD.
	Value string `yaml:"value,omitempty" json:"value,omitempty"`
	// MonthlyUSD is the limit; requests are refused with 429 budget_exceeded
	// once it is spent.
	MonthlyUSD float64 `yaml:"monthly_usd" json:"monthly_usd"`
	// OnBudget, when set, moves the tag's requests to a cheaper route once a
	// share of the budget is spent.
	OnBudget *Downgrade `yaml:"on_budget,omitempty" json:"on_budget,omitempty"`
}

// maxTagValueLen bounds a tag value, as the gateway bounds request tags.
const maxTagValueLen = 128

func (c *Config) validateBudgets(ck *checker) {
	type tagValue struct{ tag, value string }
	seen := map[tagValue]bool{}
	for i, b := range c.Budgets {
		f := fmt.Sprintf("budgets[%d]", i)
		if !tagPattern.MatchString(b.Tag) {
			ck.add(f+".tag", "bad tag name %q (letters, digits, _ . -)", b.Tag)
		}
		if len(b.Value) > maxTagValueLen || !printable(b.Value) {
			ck.add(f+".value", "must be at most %d printable characters", maxTagValueLen)
		}
		if seen[tagValue{b.Tag, b.Value}] {
			ck.add(f, "a second budget for %s=%q", b.Tag, b.Value)
		}
		seen[tagValue{b.Tag, b.Value}] = true
		if b.MonthlyUSD <= 0 {
			ck.add(f+".monthly_usd", "must be positive")
		}
		c.validateDowngrade(ck, f+".on_budget", b.OnBudget, nil)
	}
}

// validateDowngrade checks an on_budget rule. classTags, when set, are the
// compliance tags of the key's default data class: a downgrade route that
// could never serve them would leave the rule without effect, which is a
// configuration mistake worth naming.
func (c *Config) validateDowngrade(ck *checker, f string, d *Downgrade, classTags []string) {
	if d == nil {
		return
	}
	if d.At <= 0 || d.At > 1 {
		ck.add(f+".at", "must be a share of the budget above 0 and at most 1, e.g. 0.9")
	}
	if d.Route == "" {
		ck.add(f+".route", "is required")
		return
	}
	if !c.servable(d.Route, nil) {
		ck.add(f+".route", "unknown route %q", d.Route)
		return
	}
	if len(classTags) > 0 && !c.servable(d.Route, classTags) {
		ck.add(f+".route", "no target of %q has %v, which the key's data class requires, so the downgrade could never apply", d.Route, classTags)
	}
}

// servable reports whether route or model name exists and some target of it
// has every tag of need besides the route's own require.
func (c *Config) servable(name string, need []string) bool {
	provider := func(modelID string) *Provider {
		for i := range c.Models {
			if c.Models[i].ID != modelID {
				continue
			}
			for j := range c.Providers {
				if c.Providers[j].Name == c.Models[i].Provider {
					return &c.Providers[j]
				}
			}
		}
		return nil
	}
	for _, r := range c.Routes {
		if r.Name != name {
			continue
		}
		want := slices.Concat(need, r.Require)
		for _, t := range r.Targets {
			if p := provider(t.Model); p != nil && HasTags(p.Compliance, want) {
				return true
			}
		}
		return false
	}
	p := provider(name)
	return p != nil && HasTags(p.Compliance, need)
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
