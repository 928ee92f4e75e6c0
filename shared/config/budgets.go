package config

// TagBudget is a monthly spending limit for requests carrying a tag value.
type TagBudget struct{}

func (c *Config) validateBudgets(ck *checker) {}
