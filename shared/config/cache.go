package config

import "time"

// Cache makes a route answer identical requests from a cache for a while,
// without calling a provider. The key is a hash of the parsed request (its
// parameters and messages), the route and its targets' models, the request's
// data classes and compliance requirement, and the caller's key id unless
// Shared is set.
type Cache struct {
	// TTL is how long an answer is served from the cache (1s to 168h).
	TTL Duration `yaml:"ttl" json:"ttl"`
	// Shared serves an answer to every key that may use the route; by
	// default an answer is only served to the key whose request made it.
	Shared bool `yaml:"shared,omitempty" json:"shared,omitempty"`
	// CachePHI caches requests that carry a data class (phi or any other);
	// by default such requests are neither served from nor stored in the
	// cache.
	CachePHI bool `yaml:"cache_phi,omitempty" json:"cache_phi,omitempty"`
}

// Bounds of Cache.TTL: a second is the precision of the DynamoDB item's
// expiry; a week keeps stale answers from living on.
const (
	MinCacheTTL = time.Second
	MaxCacheTTL = 7 * 24 * time.Hour
)

func validateCache(ck *checker, f string, c *Cache) {
	if c == nil {
		return
	}
	switch ttl := c.TTL.D(); {
	case ttl == 0:
		ck.add(f+".ttl", "is required (e.g. 10m)")
	case ttl < MinCacheTTL:
		ck.add(f+".ttl", "%s is below the minimum of 1s", ttl)
	case ttl > MaxCacheTTL:
		ck.add(f+".ttl", "%s is above the maximum of 168h (7 days)", ttl)
	}
}
