// Package compliance holds a black-box property test of the router's first
// promise: a request's data class and its routes' require decide which
// providers may ever see it, through fallbacks, hedges, structured-output
// repairs and budget downgrades.
//
// The test builds the router exactly as main does (shared/wiring, a YAML
// file, environment through Process), serves it over HTTP, and points it at
// loopback OpenAI-compatible upstreams that log every request they receive.
// Requests go to every endpoint that reaches a provider: Chat Completions,
// Responses and Anthropic Messages (each plain and streamed; Messages with
// its key in x-api-key) and Embeddings.
// Its oracle is a model of the rules written from the documentation, not
// from the router's packages, so it does not share their assumptions: it
// imports none of gateway, route or limits. The package has no code of its
// own; a directory of its own keeps that independence visible and lets the
// long mode run alone:
//
//	go test -race -count=1 -run Property ./shared/compliance
//	PROPERTY_REQUESTS=200000 go test -race -count=1 -timeout 1h -run Property ./shared/compliance
//	PROPERTY_SEED=12345 go test -race -count=1 -run Property ./shared/compliance
//
// A seed gives the same configurations, requests and upstream scripts;
// what depends on timing (hedges, attempt timeouts, requests in flight
// together) may differ between runs.
package compliance
