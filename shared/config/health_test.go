package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHealthPolicyDefaults(t *testing.T) {
	got := HealthPolicy{}.WithDefaults()
	want := HealthPolicy{UnhealthyAfter: 2, HealthyAfter: 2, DegradedFactor: 3,
		DegradedMinLatency: Duration(500 * time.Millisecond), ProbeTimeout: Duration(10 * time.Second),
		StaleAfter: Duration(3 * time.Minute), BreakerFailures: 5, BreakerCooldown: Duration(30 * time.Second)}
	if got != want {
		t.Errorf("defaults = %+v\nwant       %+v", got, want)
	}
	set := HealthPolicy{UnhealthyAfter: 4, BreakerCooldown: Duration(time.Minute)}.WithDefaults()
	if set.UnhealthyAfter != 4 || set.BreakerCooldown.D() != time.Minute || set.HealthyAfter != 2 {
		t.Errorf("set values must survive WithDefaults: %+v", set)
	}
}

func TestHealthPolicyParses(t *testing.T) {
	c, err := Parse([]byte(base + `
health:
  unhealthy_after: 3
  healthy_after: 1
  degraded_factor: 2.5
  degraded_min_latency: 250ms
  probe_timeout: 5s
  stale_after: 5m
  breaker_failures: 10
  breaker_cooldown: 1m
`))
	if err != nil {
		t.Fatal(err)
	}
	want := HealthPolicy{UnhealthyAfter: 3, HealthyAfter: 1, DegradedFactor: 2.5, DegradedMinLatency: Duration(250 * time.Millisecond),
		ProbeTimeout: Duration(5 * time.Second), StaleAfter: Duration(5 * time.Minute), BreakerFailures: 10,
		BreakerCooldown: Duration(time.Minute)}
	if c.Health != want {
		t.Errorf("health = %+v\nwant     %+v", c.Health, want)
	}
}

func TestHealthPolicyErrorsNameTheField(t *testing.T) {
	tests := []struct {
		add, field, substr string
	}{
		{"health: {unhealthy_after: -1}", "health.unhealthy_after", "negative"},
		{"health: {healthy_after: -2}", "health.healthy_after", "negative"},
		{"health: {degraded_factor: 0.5}", "health.degraded_factor", "1 or more"},
		{"health: {probe_timeout: 2m}", "health.probe_timeout", "at most 1m"},
		{"health: {breaker_failures: -1}", "health.breaker_failures", "negative"},
		{"health: {breaker_cooldown: soon}", "health.breaker_cooldown", "bad duration"},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			_, err := Parse([]byte(base + tt.add + "\n"))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.field && strings.Contains(fe.Message, tt.substr) {
					return
				}
			}
			t.Errorf("errors = %v; want %s with %q", err, tt.field, tt.substr)
		})
	}
}

func TestHedgeAfterMustBeShorterThanTheTimeout(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(base, "{model: m2}", "{model: m2, hedge_after: 5s, timeout: 5s}", 1)))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Errors[0].Field != "routes[0].targets[1].hedge_after" {
		t.Errorf("Parse = %v, want routes[0].targets[1].hedge_after", err)
	}
	if _, err := Parse([]byte(strings.Replace(base, "{model: m2}", "{model: m2, hedge_after: 1s, timeout: 5s}", 1))); err != nil {
		t.Errorf("a hedge_after under the timeout: %v", err)
	}
}
