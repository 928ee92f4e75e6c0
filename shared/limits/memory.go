package limits

import (
	"context"
	"sync"
	"time"
)

// Memory is Counters in this process's memory, for a local router with the
// file store: one instance, so its counts are the whole truth. Counters past
// their TTL start again at zero.
type Memory struct {
	// Now is the clock of TTLs (default time.Now).
	Now func() time.Time

	mu        sync.Mutex
	m         map[string]memoryCounter
	pruneFrom int // size at which expired counters are next removed
}

type memoryCounter struct {
	value   float64
	expires time.Time
}

var _ Counters = (*Memory)(nil)

// Add adds delta to a counter and returns its new value.
func (m *Memory) Add(_ context.Context, key string, delta float64, ttl time.Duration) (float64, error) {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]memoryCounter)
	}
	c := m.m[key]
	if !c.expires.IsZero() && !now.Before(c.expires) {
		c = memoryCounter{}
	}
	c.value += delta
	if ttl > 0 {
		c.expires = now.Add(ttl)
	}
	m.m[key] = c
	if len(m.m) > max(m.pruneFrom, 1024) {
		for k, v := range m.m {
			if !v.expires.IsZero() && !now.Before(v.expires) {
				delete(m.m, k)
			}
		}
		m.pruneFrom = 2 * len(m.m)
	}
	return c.value, nil
}

// Value is a counter's current value (0 when missing or expired).
func (m *Memory) Value(key string) float64 {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.m[key]
	if !c.expires.IsZero() && !now.Before(c.expires) {
		return 0
	}
	return c.value
}
