package config

import (
	"errors"
	"strings"
	"testing"
)

const budgetBase = `
providers:
  - {name: open, type: mock}
  - {name: safe, type: mock, compliance: [hipaa]}
models:
  - {id: m-open, provider: open}
  - {id: m-safe, provider: safe}
routes:
  - name: main
    targets: [{model: m-open}, {model: m-safe}]
  - name: cheap
    targets: [{model: m-open}]
  - name: cheap-safe
    require: [hipaa]
    targets: [{model: m-safe}]
data_classes:
  phi: [hipaa]
keys:
  - id: k1
    hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    routes: [main]
    budget: {monthly_usd: 100, on_budget: {at: 0.9, route: cheap}}
budgets:
  - {tag: team, value: triage, monthly_usd: 50, on_budget: {at: 0.8, route: cheap}}
  - {tag: team, monthly_usd: 10}
`

func TestBudgetsParse(t *testing.T) {
	c, err := Parse([]byte(budgetBase))
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Keys[0].Budget.OnBudget; d == nil || d.At != 0.9 || d.Route != "cheap" {
		t.Errorf("key on_budget = %+v", d)
	}
	if len(c.Budgets) != 2 || c.Budgets[0].Value != "triage" || c.Budgets[1].Value != "" || c.Budgets[0].OnBudget.Route != "cheap" {
		t.Errorf("budgets = %+v", c.Budgets)
	}
}

func TestBudgetAndKeyErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name       string
		from, to   string
		wantField  string
		wantSubstr string
	}{
		{"zero key budget", "monthly_usd: 100,", "monthly_usd: 0,", "keys[0].budget.monthly_usd", "must be positive"},
		{"downgrade share above 1", "at: 0.9,", "at: 1.5,", "keys[0].budget.on_budget.at", "at most 1"},
		{"downgrade share zero", "at: 0.9,", "at: 0,", "keys[0].budget.on_budget.at", "above 0"},
		{"downgrade to unknown route", "at: 0.9, route: cheap", "at: 0.9, route: nowhere", "keys[0].budget.on_budget.route", `unknown route "nowhere"`},
		{"downgrade without route", "at: 0.9, route: cheap}", "at: 0.9}", "keys[0].budget.on_budget.route", "is required"},
		{"phi key downgraded to a route without hipaa", "routes: [main]\n", "routes: [main]\n    data_class: phi\n", "keys[0].budget.on_budget.route", "could never apply"},
		{"key id with a separator", "id: k1", "id: k#1", "keys[0].id", "must be letters"},
		{"tag budget bad tag", "{tag: team, value: triage", "{tag: 'te am', value: triage", "budgets[0].tag", "bad tag name"},
		{"tag budget not positive", "{tag: team, monthly_usd: 10}", "{tag: team, monthly_usd: -1}", "budgets[1].monthly_usd", "must be positive"},
		{"tag budget twice", "{tag: team, monthly_usd: 10}", "{tag: team, value: triage, monthly_usd: 10}", "budgets[1]", "a second budget"},
		{"tag budget bad downgrade", "at: 0.8, route: cheap", "at: 0.8, route: gone", "budgets[0].on_budget.route", "unknown route"},
		{"tag budget value not printable", "value: triage", "value: \"tri\\u0001age\"", "budgets[0].value", "printable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(budgetBase, tt.from) {
				t.Fatalf("test setup: %q not in the base config", tt.from)
			}
			_, err := Parse([]byte(strings.Replace(budgetBase, tt.from, tt.to, 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.wantField && strings.Contains(fe.Message, tt.wantSubstr) {
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.wantField, tt.wantSubstr)
		})
	}
}

// A phi key may be downgraded to a route that keeps hipaa, and may use a
// route of which only some targets are compliant.
func TestCompliantDowngradeIsValid(t *testing.T) {
	y := strings.Replace(budgetBase, "routes: [main]\n", "routes: [main]\n    data_class: phi\n", 1)
	y = strings.Replace(y, "at: 0.9, route: cheap}", "at: 0.9, route: cheap-safe}", 1)
	if _, err := Parse([]byte(y)); err != nil {
		t.Fatal(err)
	}
}
