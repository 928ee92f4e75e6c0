// Package audit writes what every request leaves behind: one audit line naming
// where the request went and why, and one CloudWatch Embedded Metric Format
// line. Neither ever holds prompt or completion text or a key.
package audit

import (
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/llm-router/router/shared/rawjson"
)

// Record is one request's audit record. Its JSON names are the API's (docs/API.md).
type Record struct {
	RequestID string
	Time      time.Time
	KeyID     string
	Route     string
	DataClass string
	Require   []string
	// RequireFrom says where each required tag came from, in the order
	// they were added: route:NAME, key, header or detector:NAME.
	RequireFrom   []RequireSource
	Model         string
	Provider      string
	UpstreamModel string
	Status        int
	Attempts      []Attempt
	LatencyMs     float64
	TTFBMs        float64
	Usage         Usage
	CostUSD       float64
	// CacheSavingsUSD is what prompt caching saved on the served answer
	// (cost.CacheSavings): a metric only, not an audit line field.
	CacheSavingsUSD float64
	Tags            map[string]string
	Stream          bool
	// ErrorCode is the error code answered, if any.
	ErrorCode string
	// ProviderCompliance is the serving provider's compliance tags.
	ProviderCompliance []string
	// UsageMissing is set when a stream ended without reporting usage, so the
	// cost is unknown rather than zero.
	UsageMissing bool
	// Endpoint is the API path served, e.g. chat.completions.
	Endpoint string
	// ClientRequestID is the X-Client-Request-Id the caller sent, if any.
	ClientRequestID string
	// DowngradedFrom is the route the request asked for when an on_budget
	// rule moved it to Route.
	DowngradedFrom string
	// Rule names the content rule (ROUTE.rules[i]) that sent the request
	// to Route, if one did.
	Rule string
	// Limit names the limit that refused the request (rpm, tpm, budget,
	// budget:TAG=VALUE), if one did.
	Limit string
	// Structured is what the structured-output check made of the answer of
	// a request that asked for JSON (Structured* constants); empty for
	// other requests.
	Structured string
	// Cache is what the response cache did for a request on a route that
	// caches (Cache* constants); empty for other routes.
	Cache string
	// CacheSavedUSD is, on a hit, what the answer served from the cache
	// cost when it was made (CostUSD is 0).
	CacheSavedUSD float64
	// Incomplete is set when the client did not get a complete answer, for
	// any reason but its own request being refused: every upstream failing,
	// the deadline, a stream cut after it started, an idle timeout, the
	// client leaving before the answer was whole.
	Incomplete bool
	// Metrics formats the record's metrics line; nil writes none. It comes
	// with the configuration the request was served under.
	Metrics *EMF
}

// Failed reports whether the request counts in the Errors metric: it did not
// get a complete answer (Incomplete), or the router answered 5xx.
func (r *Record) Failed() bool { return r.Incomplete || r.Status >= 500 }

// RequireSource is one reason a compliance tag is required.
type RequireSource struct {
	Tag, Source string
}

// Usage is the token count of a record.
type Usage struct {
	PromptTokens, CompletionTokens, CachedTokens, CacheWriteTokens int
}

// Attempt is one try of one target.
type Attempt struct {
	Model     string
	Provider  string
	Outcome   string
	Status    int
	LatencyMs float64
	// Failed marks an attempt the provider failed (not the client, not a
	// lost race): each is counted in the FailedAttempts metric.
	Failed bool
}

// Attempt outcomes. Before an attempt commits (a whole answer, or a stream's
// first chunk with content) every failure but rejected and invalid_output
// (under the error policy) moves to the next target; after it, a failure
// ends the request.
const (
	OutcomeOK               = "ok"
	OutcomeError            = "error"              // a retryable upstream error: 408, 5xx, 52x, 529, an error event before content
	OutcomeRateLimited      = "rate_limited"       // 429 from the upstream
	OutcomeAuthFailed       = "auth_failed"        // 401 or 403: the upstream refused the router's own credentials
	OutcomeModelNotFound    = "model_not_found"    // 404: the upstream does not serve the model (retired, misnamed)
	OutcomeRejected         = "rejected"           // a client error the upstream reported about the request; not retried
	OutcomeUnavailable      = "unavailable"        // could not connect
	OutcomeFirstByteTimeout = "first_byte_timeout" // no content within the target's first_byte_timeout
	OutcomeTimeout          = "timeout"            // no content (a stream) or no whole answer within the target's timeout
	OutcomeInvalidOutput    = "invalid_output"     // the answer failed the structured-output check
	OutcomeContextLimit     = "context_exceeded"   // the upstream found the request longer than the model's context window
	OutcomeUnsupported      = "unsupported"        // the adapter cannot send the request as it is to this provider (a remote image URL, a role)
	OutcomeStreamError      = "stream_error"       // the upstream failed after the stream committed
	OutcomeIdleTimeout      = "idle_timeout"       // no chunk within stream_idle_timeout after the stream committed
	OutcomeDeadline         = "deadline"           // the request's own deadline passed
	OutcomeCancelled        = "cancelled"          // the client went away
	OutcomeHedgeLost        = "hedge_lost"         // a hedge that started after the winner and lost: says nothing of its speed
	OutcomeOutpaced         = "outpaced"           // started before the winner, which answered first: too slow
)

// What the structured-output check made of a request's answer (Record.Structured).
const (
	StructuredValid     = "valid"     // the answer was the JSON, and matched
	StructuredExtracted = "extracted" // the JSON was found in fences or prose, and matched
	StructuredRepaired  = "repaired"  // the first answer failed; the repair attempt matched
	StructuredInvalid   = "invalid"   // no answer matched: the client got an error
)

// What the response cache did for a request (Record.Cache).
const (
	CacheHit    = "hit"    // answered from the cache: no provider was called
	CacheMiss   = "miss"   // asked of a provider; a complete answer was offered to the cache
	CacheBypass = "bypass" // the cache was neither read nor written: Cache-Control: no-cache, or a data class the route does not cache
)

// AppendJSON appends the record's audit line (no newline) to dst.
func (r *Record) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"type":"audit","request_id":`...)
	dst = rawjson.AppendString(dst, r.RequestID)
	dst = append(dst, `,"time":"`...)
	dst = r.Time.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","key_id":`...)
	dst = rawjson.AppendString(dst, r.KeyID)
	dst = append(dst, `,"route":`...)
	dst = rawjson.AppendString(dst, r.Route)
	dst = append(dst, `,"data_class":`...)
	dst = rawjson.AppendString(dst, r.DataClass)
	dst = append(dst, `,"require":`...)
	dst = appendStrings(dst, r.Require)
	if len(r.RequireFrom) > 0 {
		dst = append(dst, `,"require_from":`...)
		dst = appendRequireFrom(dst, r)
	}
	dst = append(dst, `,"model":`...)
	dst = rawjson.AppendString(dst, r.Model)
	dst = append(dst, `,"provider":`...)
	dst = rawjson.AppendString(dst, r.Provider)
	dst = append(dst, `,"upstream_model":`...)
	dst = rawjson.AppendString(dst, r.UpstreamModel)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	dst = append(dst, `,"attempts":[`...)
	for i, a := range r.Attempts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"model":`...)
		dst = rawjson.AppendString(dst, a.Model)
		dst = append(dst, `,"provider":`...)
		dst = rawjson.AppendString(dst, a.Provider)
		dst = append(dst, `,"outcome":`...)
		dst = rawjson.AppendString(dst, a.Outcome)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(a.Status), 10)
		dst = append(dst, `,"latency_ms":`...)
		dst = appendFloat(dst, a.LatencyMs)
		dst = append(dst, '}')
	}
	dst = append(dst, `],"latency_ms":`...)
	dst = appendFloat(dst, r.LatencyMs)
	dst = append(dst, `,"ttfb_ms":`...)
	dst = appendFloat(dst, r.TTFBMs)
	dst = append(dst, `,"prompt_tokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.PromptTokens), 10)
	dst = append(dst, `,"completion_tokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.CompletionTokens), 10)
	dst = append(dst, `,"cached_tokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.CachedTokens), 10)
	if r.Usage.CacheWriteTokens > 0 {
		dst = append(dst, `,"cache_write_tokens":`...)
		dst = strconv.AppendInt(dst, int64(r.Usage.CacheWriteTokens), 10)
	}
	dst = append(dst, `,"cost_usd":`...)
	dst = appendFloat(dst, r.CostUSD)
	dst = append(dst, `,"tags":{`...)
	keys := make([]string, 0, len(r.Tags))
	for k := range r.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, k)
		dst = append(dst, ':')
		dst = rawjson.AppendString(dst, r.Tags[k])
	}
	dst = append(dst, `},"stream":`...)
	dst = strconv.AppendBool(dst, r.Stream)
	if r.Endpoint != "" {
		dst = append(dst, `,"endpoint":`...)
		dst = rawjson.AppendString(dst, r.Endpoint)
	}
	if r.ClientRequestID != "" {
		dst = append(dst, `,"client_request_id":`...)
		dst = rawjson.AppendString(dst, r.ClientRequestID)
	}
	if r.ErrorCode != "" {
		dst = append(dst, `,"error_code":`...)
		dst = rawjson.AppendString(dst, r.ErrorCode)
	}
	if r.Provider != "" {
		dst = append(dst, `,"provider_compliance":`...)
		dst = appendStrings(dst, r.ProviderCompliance)
	}
	if r.UsageMissing {
		dst = append(dst, `,"usage_missing":true`...)
	}
	if r.Incomplete {
		dst = append(dst, `,"incomplete":true`...)
	}
	if r.DowngradedFrom != "" {
		dst = append(dst, `,"downgraded_from":`...)
		dst = rawjson.AppendString(dst, r.DowngradedFrom)
	}
	if r.Rule != "" {
		dst = append(dst, `,"rule":`...)
		dst = rawjson.AppendString(dst, r.Rule)
	}
	if r.Limit != "" {
		dst = append(dst, `,"limit":`...)
		dst = rawjson.AppendString(dst, r.Limit)
	}
	if r.Structured != "" {
		dst = append(dst, `,"structured":`...)
		dst = rawjson.AppendString(dst, r.Structured)
	}
	if r.Cache != "" {
		dst = append(dst, `,"cache":`...)
		dst = rawjson.AppendString(dst, r.Cache)
	}
	if r.Cache == CacheHit {
		dst = append(dst, `,"cache_saved_usd":`...)
		dst = appendFloat(dst, r.CacheSavedUSD)
	}
	return append(dst, '}')
}

// SourcesOf yields where the required tag came from, in the order the sources
// were added. An iterator rather than a slice keeps the audit line writer
// free of allocations.
func (r *Record) SourcesOf(tag string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for _, f := range r.RequireFrom {
			if f.Tag == tag && !yield(f.Source) {
				return
			}
		}
	}
}

// appendRequireFrom writes {"TAG":["SOURCE",...],...} with tags in require's
// order and each tag's sources in the order they were added.
func appendRequireFrom(dst []byte, r *Record) []byte {
	dst = append(dst, '{')
	for i, tag := range r.Require {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, tag)
		dst = append(dst, ":["...)
		n := 0
		for source := range r.SourcesOf(tag) {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = rawjson.AppendString(dst, source)
			n++
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = rawjson.AppendString(dst, s)
	}
	return append(dst, ']')
}

// appendFloat writes a finite number in plain decimal; NaN and infinities,
// which JSON cannot hold, are written as 0.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, '0')
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}
