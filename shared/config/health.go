package config

// HealthPolicy tunes health checks and circuit breaking. Zero values take the
// defaults.
type HealthPolicy struct{}

func (c *Config) validateHealth(ck *checker) {}
