package secret

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
)

// DefaultTTL is how long a fetched secret is trusted before it is fetched again.
const DefaultTTL = 5 * time.Minute

// Cache keeps fetched secrets in memory for TTL, so a warm request makes no
// call to the secret store. A failed refresh keeps serving the previous value
// (fail static); only a secret never fetched fails.
type Cache struct {
	Store Store
	TTL   time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	values  map[string]*value // replaced whole on refresh, never mutated
	loading map[string]chan struct{}
	stale   map[string]bool
}

type value struct {
	raw     string
	fields  map[string]string // nil when the secret is not a JSON object of strings
	fetched time.Time
}

func (c *Cache) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cache) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultTTL
}

// Get returns the value a reference names.
func (c *Cache) Get(ctx context.Context, ref Ref) (string, error) {
	v, err := c.get(ctx, ref.Name)
	if err != nil {
		return "", err
	}
	if ref.Field == "" {
		return v.raw, nil
	}
	if v.fields == nil {
		return "", fmt.Errorf("secret %s is not a JSON object of strings, so #%s cannot be read", ref.Name, ref.Field)
	}
	if s := v.fields[ref.Field]; s != "" {
		return s, nil
	}
	return "", fmt.Errorf("%w: secret %s has no field %q", ErrNotFound, ref.Name, ref.Field)
}

// Invalidate marks a secret for refetching on its next use.
func (c *Cache) Invalidate(id string) {
	c.mu.Lock()
	if c.stale == nil {
		c.stale = map[string]bool{}
	}
	c.stale[id] = true
	c.mu.Unlock()
}

// get returns a fresh value, fetching it when missing, expired or
// invalidated. One fetch per secret is in flight: callers holding an older
// value keep using it meanwhile, callers with none wait for the fetch.
func (c *Cache) get(ctx context.Context, id string) (*value, error) {
	c.mu.Lock()
	v := c.values[id]
	if v != nil && !c.stale[id] && c.now().Sub(v.fetched) < c.ttl() {
		c.mu.Unlock()
		return v, nil
	}
	if wait, busy := c.loading[id]; busy {
		c.mu.Unlock()
		if v != nil {
			return v, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		c.mu.Lock()
		v = c.values[id]
		c.mu.Unlock()
		if v == nil {
			return nil, fmt.Errorf("secret %s could not be fetched", id)
		}
		return v, nil
	}
	if c.loading == nil {
		c.loading = map[string]chan struct{}{}
		c.values = map[string]*value{}
	}
	done := make(chan struct{})
	c.loading[id] = done
	c.mu.Unlock()

	raw, err := c.Store.GetSecret(ctx, id)

	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.loading, id)
	close(done)
	if err != nil {
		if v != nil { // fail static: keep the last good value
			return v, nil
		}
		return nil, fmt.Errorf("secret %s: %w", id, err)
	}
	nv := &value{raw: raw, fetched: c.now()}
	var fields map[string]string
	if json.Unmarshal([]byte(raw), &fields) == nil {
		nv.fields = fields
	}
	c.values[id] = nv
	delete(c.stale, id)
	return nv, nil
}
