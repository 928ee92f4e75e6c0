package config

import (
	"fmt"
	"time"
)

// HealthPolicy tunes health checks and circuit breaking (docs/HEALTH.md).
// Zero values take the defaults named on each field; WithDefaults fills them.
type HealthPolicy struct {
	// UnhealthyAfter is N: a target is marked unhealthy after this many
	// consecutive failed probes (default 2, one minute at the 30 s schedule).
	UnhealthyAfter int `yaml:"unhealthy_after,omitempty" json:"unhealthy_after,omitempty"`
	// HealthyAfter is M: an unhealthy target is healthy again after this many
	// consecutive good probes (default 2).
	HealthyAfter int `yaml:"healthy_after,omitempty" json:"healthy_after,omitempty"`
	// DegradedFactor marks a target degraded when a good probe takes more than
	// this many times its own recent normal (the average of its recent good
	// probes) (default 3). It must be 1 or more.
	DegradedFactor float64 `yaml:"degraded_factor,omitempty" json:"degraded_factor,omitempty"`
	// DegradedMinLatency is the probe latency below which a target is never
	// called degraded, so 20 ms against a normal of 5 ms is not news (default 500ms).
	DegradedMinLatency Duration `yaml:"degraded_min_latency,omitempty" json:"degraded_min_latency,omitempty"`
	// ProbeTimeout bounds one probe; a probe that takes longer failed
	// (default 10s, at most 1m).
	ProbeTimeout Duration `yaml:"probe_timeout,omitempty" json:"probe_timeout,omitempty"`
	// StaleAfter is how old a probe result may be and still count: an older
	// one (the health function stopped) no longer keeps a target out
	// (default 3m, six missed rounds).
	StaleAfter Duration `yaml:"stale_after,omitempty" json:"stale_after,omitempty"`
	// BreakerFailures opens a target's circuit breaker after this many
	// consecutive failed attempts on live traffic (default 5).
	BreakerFailures int `yaml:"breaker_failures,omitempty" json:"breaker_failures,omitempty"`
	// BreakerCooldown is how long an open breaker keeps a target out before
	// one trial request may test it (default 30s).
	BreakerCooldown Duration `yaml:"breaker_cooldown,omitempty" json:"breaker_cooldown,omitempty"`
}

// Defaults of HealthPolicy.
const (
	DefaultUnhealthyAfter     = 2
	DefaultHealthyAfter       = 2
	DefaultDegradedFactor     = 3.0
	DefaultDegradedMinLatency = 500 * time.Millisecond
	DefaultProbeTimeout       = 10 * time.Second
	DefaultStaleAfter         = 3 * time.Minute
	DefaultBreakerFailures    = 5
	DefaultBreakerCooldown    = 30 * time.Second
	// MaxProbeTimeout keeps a probe inside one round of the one-minute schedule.
	MaxProbeTimeout = time.Minute
)

// WithDefaults returns the policy with every unset field at its default.
func (h HealthPolicy) WithDefaults() HealthPolicy {
	if h.UnhealthyAfter == 0 {
		h.UnhealthyAfter = DefaultUnhealthyAfter
	}
	if h.HealthyAfter == 0 {
		h.HealthyAfter = DefaultHealthyAfter
	}
	if h.DegradedFactor == 0 {
		h.DegradedFactor = DefaultDegradedFactor
	}
	if h.DegradedMinLatency == 0 {
		h.DegradedMinLatency = Duration(DefaultDegradedMinLatency)
	}
	if h.ProbeTimeout == 0 {
		h.ProbeTimeout = Duration(DefaultProbeTimeout)
	}
	if h.StaleAfter == 0 {
		h.StaleAfter = Duration(DefaultStaleAfter)
	}
	if h.BreakerFailures == 0 {
		h.BreakerFailures = DefaultBreakerFailures
	}
	if h.BreakerCooldown == 0 {
		h.BreakerCooldown = Duration(DefaultBreakerCooldown)
	}
	return h
}

func (c *Config) validateHealth(ck *checker) {
	h := c.Health
	if h.UnhealthyAfter < 0 {
		ck.add("health.unhealthy_after", "must not be negative")
	}
	if h.HealthyAfter < 0 {
		ck.add("health.healthy_after", "must not be negative")
	}
	if h.DegradedFactor != 0 && h.DegradedFactor < 1 {
		ck.add("health.degraded_factor", "must be 1 or more (a factor below 1 would call a normal probe slow)")
	}
	if h.ProbeTimeout.D() > MaxProbeTimeout {
		ck.add("health.probe_timeout", "must be at most %s: a round of probes runs inside the one-minute schedule", MaxProbeTimeout)
	}
	if h.BreakerFailures < 0 {
		ck.add("health.breaker_failures", "must not be negative")
	}
	// hedge_after is a health-and-latency setting on a route target; it is
	// checked here with the rest of this file's settings.
	for i, r := range c.Routes {
		for j, t := range r.Targets {
			if t.HedgeAfter == 0 {
				continue
			}
			// The timeout in force: the target's, else its model's, else its
			// provider's, else the default.
			var m *Model
			var p *Provider
			for k := range c.Models {
				if c.Models[k].ID == t.Model {
					m = &c.Models[k]
				}
			}
			if m != nil {
				for k := range c.Providers {
					if c.Providers[k].Name == m.Provider {
						p = &c.Providers[k]
					}
				}
			}
			if m == nil || p == nil {
				continue // reported as an unknown model or provider
			}
			if limit := AttemptTimeout(p, m, &t); t.HedgeAfter.D() >= limit {
				ck.add(fmt.Sprintf("routes[%d].targets[%d].hedge_after", i, j),
					"must be shorter than the target's timeout (%s), or the hedge could never start", limit)
			}
		}
	}
}
