package providertest

import (
	"net/http"
	"strings"
)

// Placeholders a fake's scripted error message may hold, replaced with what
// the request carried: some upstreams quote the request back in errors (the
// key they were sent, the prompt), and the router must pass none of it on.
const (
	// QuoteAuth is replaced with the request's credential headers as
	// received ("Authorization: Bearer sk-…", "X-Api-Key: …").
	QuoteAuth = "{auth}"
	// QuoteKey is replaced with those headers' values alone, without
	// "Bearer ": the key as an upstream quotes it in "Incorrect API key
	// provided: …".
	QuoteKey = "{key}"
	// QuoteBody is replaced with the request's body as received.
	QuoteBody = "{body}"
)

// Quote fills msg's placeholders from a request a fake received.
func Quote(msg string, h http.Header, body []byte) string {
	if !strings.Contains(msg, "{") {
		return msg
	}
	var auth, keys []string
	// The headers providers take keys and signatures in.
	for _, name := range [...]string{"Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key", "X-Amz-Security-Token"} {
		if v := h.Get(name); v != "" {
			auth = append(auth, name+": "+v)
			keys = append(keys, strings.TrimPrefix(v, "Bearer "))
		}
	}
	msg = strings.ReplaceAll(msg, QuoteAuth, strings.Join(auth, "; "))
	msg = strings.ReplaceAll(msg, QuoteKey, strings.Join(keys, " "))
	return strings.ReplaceAll(msg, QuoteBody, string(body))
}
