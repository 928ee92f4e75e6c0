// Package infra holds the files the router compiles in from this directory:
// the list-price catalog (pricing.yaml), so a Lambda prices requests with no
// file on disk and no network call.
package infra

import _ "embed"

//go:embed pricing.yaml
var pricing string

// PricingYAML is the text of infra/pricing.yaml, the list-price catalog that
// shared/cost parses.
func PricingYAML() []byte { return []byte(pricing) }
