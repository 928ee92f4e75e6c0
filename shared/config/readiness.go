package config

import "time"

// Readiness says whether a router has a configuration to serve and how fresh
// it is: what /v1/router/health shows next to the targets' health. Stores
// that read a shared table report it (the DynamoDB store's ConfigSource);
// a fixed configuration is always ready.
type Readiness struct {
	// Ready is true once a configuration is being served. A router that is
	// not ready answers routed requests 503 router_not_configured.
	Ready bool `json:"ready"`
	// Generation names the configuration served (the store's content hash).
	Generation string `json:"generation,omitempty"`
	// LoadedAt is when this router first served that generation.
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	// CheckedAt is the last time the store was read successfully; a router
	// serving a stale copy (the store unreachable) shows an old CheckedAt
	// and RefreshFailures above zero.
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// RefreshFailures counts failed refreshes in a row since CheckedAt.
	RefreshFailures int `json:"refresh_failures,omitempty"`
	// Reason says why the router is not ready.
	Reason string `json:"reason,omitempty"`
}
