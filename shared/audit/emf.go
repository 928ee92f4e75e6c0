package audit

import (
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/rawjson"
)

// Metric names, units and dimensions of the EMF line. The dashboard and
// alarms in template.yaml use exactly these names, and a test reads the
// template to hold them to it.
const (
	MetricRequests         = "Requests"
	MetricErrors           = "Errors"
	MetricFallbacks        = "Fallbacks"
	MetricLatencyMs        = "LatencyMs"
	MetricTTFBMs           = "TimeToFirstByteMs"
	MetricPromptTokens     = "PromptTokens"
	MetricCompletionTokens = "CompletionTokens"
	// MetricCachedTokens counts prompt tokens read from a provider's
	// prompt cache, MetricCacheWriteTokens those written to it; both are
	// part of PromptTokens.
	MetricCachedTokens     = "CachedTokens"
	MetricCacheWriteTokens = "CacheWriteTokens"
	MetricCostUSD          = "CostUSD"
	// MetricCacheSavingsUSD is what prompt caching saved: what the cached
	// and cache-written tokens would have cost at the input price, less
	// what they cost (negative for a request that only wrote).
	MetricCacheSavingsUSD = "CacheSavingsUSD"
	// MetricFailedAttempts counts attempts that failed, on a line of its
	// own per failed attempt with the [Model, Provider] of the target that
	// failed (which is not the one that served the request).
	MetricFailedAttempts = "FailedAttempts"
	// MetricCacheHits (0 or 1: its average is the hit rate) and
	// MetricCacheSavedUSD (what hits saved) are on the lines of requests on
	// routes that cache, in a directive of their own with [Route] only, so
	// routes without a cache create no metric for them.
	MetricCacheHits     = "CacheHits"
	MetricCacheSavedUSD = "CacheSavedUSD"

	DimRoute    = "Route"
	DimModel    = "Model"
	DimProvider = "Provider"

	// DefaultNamespace is the CloudWatch namespace when none is configured.
	DefaultNamespace = "LLMRouter"
	// NoValue fills a dimension the request did not reach (e.g. no model for a
	// request refused before routing): CloudWatch needs a non-empty value.
	NoValue = "none"
)

// Metric is one EMF metric definition.
type Metric struct{ Name, Unit string }

// RequestMetrics lists every metric of a request's line with its CloudWatch
// unit, in the line's order.
func RequestMetrics() []Metric {
	return []Metric{
		{MetricRequests, "Count"},
		{MetricErrors, "Count"},
		{MetricFallbacks, "Count"},
		{MetricLatencyMs, "Milliseconds"},
		{MetricTTFBMs, "Milliseconds"},
		{MetricPromptTokens, "Count"},
		{MetricCompletionTokens, "Count"},
		{MetricCachedTokens, "Count"},
		{MetricCacheWriteTokens, "Count"},
		{MetricCostUSD, "None"},
		{MetricCacheSavingsUSD, "None"},
	}
}

// CacheMetrics lists the metrics of a request on a route that caches, with
// their units, in the line's order.
func CacheMetrics() []Metric {
	return []Metric{{MetricCacheHits, "Count"}, {MetricCacheSavedUSD, "None"}}
}

// CacheDimensionSets are the dimension sets of the cache metrics.
func CacheDimensionSets() [][]string { return [][]string{{DimRoute}} }

// RequestDimensionSets are the dimension sets of a request's line: [Route],
// [Model, Provider], then one per tag dimension, in that order.
func RequestDimensionSets(tagDimensions []string) [][]string {
	sets := [][]string{{DimRoute}, {DimModel, DimProvider}}
	for _, d := range tagDimensions {
		sets = append(sets, []string{d})
	}
	return sets
}

// EMF formats metric lines for one namespace and set of tag dimensions.
type EMF struct {
	// directive is the constant "_aws" prefix up to the Timestamp value and the
	// rest of the directive after it, precomputed once per configuration.
	head, tail []byte
	// cacheTail is tail with the cache metrics' directive too.
	cacheTail []byte
	// attemptTail is the directive of a failed attempt's line.
	attemptTail []byte
	tagDims     []string
	// allowed holds, per tag dimension (same index as tagDims), the values
	// that may become dimension values; nil means any value (NewEMF).
	allowed []map[string]struct{}
}

// OtherValue is the dimension value of a tag value outside the allow-list of
// NewBoundedEMF: the caller chose the value, so it must not choose a metric.
const OtherValue = "other"

// NewBoundedEMF prepares the metric line format with an allow-list of tag
// values per tag dimension (config.Config.DimensionValues): a value outside
// it is counted as OtherValue, so the number of CloudWatch metrics is fixed
// by the configuration, whatever callers send. A dimension missing from
// allowed admits no value.
func NewBoundedEMF(namespace string, tagDimensions []string, allowed map[string][]string) *EMF {
	e := NewEMF(namespace, tagDimensions)
	e.allowed = make([]map[string]struct{}, len(tagDimensions))
	for i, d := range tagDimensions {
		set := make(map[string]struct{}, len(allowed[d]))
		for _, v := range allowed[d] {
			set[v] = struct{}{}
		}
		e.allowed[i] = set
	}
	return e
}

// NewEMF prepares the metric line format with any tag value as a dimension
// value (tests and tools; the router uses NewBoundedEMF).
func NewEMF(namespace string, tagDimensions []string) *EMF {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	e := &EMF{tagDims: tagDimensions}
	e.head = []byte(`{"_aws":{"Timestamp":`)
	tail := AppendDirective([]byte(`,"CloudWatchMetrics":[`), namespace, RequestDimensionSets(tagDimensions), RequestMetrics())
	e.tail = append(tail[:len(tail):len(tail)], "]}"...)
	ct := AppendDirective(append(tail, ','), namespace, CacheDimensionSets(), CacheMetrics())
	e.cacheTail = append(ct, "]}"...)
	at := AppendDirective([]byte(`,"CloudWatchMetrics":[`), namespace, AttemptDimensionSets(), []Metric{{MetricFailedAttempts, "Count"}})
	e.attemptTail = append(at, "]}"...)
	return e
}

// AppendDirective appends one directive of an EMF line's CloudWatchMetrics
// list: metrics in namespace, reported for each of the dimension sets.
func AppendDirective(dst []byte, namespace string, sets [][]string, metrics []Metric) []byte {
	dst = append(dst, `{"Namespace":`...)
	dst = rawjson.AppendString(dst, namespace)
	dst = append(dst, `,"Dimensions":[`...)
	for i, set := range sets {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendStrings(dst, set)
	}
	dst = append(dst, `],"Metrics":[`...)
	for i, m := range metrics {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"Name":`...)
		dst = rawjson.AppendString(dst, m.Name)
		dst = append(dst, `,"Unit":`...)
		dst = rawjson.AppendString(dst, m.Unit)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// AttemptDimensionSets are the dimension sets of a failed attempt's line.
func AttemptDimensionSets() [][]string { return [][]string{{DimModel, DimProvider}} }

// TagDimensions returns the request tags that are dimensions.
func (e *EMF) TagDimensions() []string { return e.tagDims }

// UntaggedValue is the dimension value of a tag dimension the request did not carry.
const UntaggedValue = "untagged"

// AppendLine appends the metrics line of a record (no newline). Errors counts
// requests that did not get a complete answer (Record.Failed: 5xx, a stream
// cut after it started, the client leaving before the end; not a request
// refused as the caller's own fault); Fallbacks is 1 when more than one
// target was tried. A request on a route that caches (Record.Cache set)
// also counts CacheHits and CacheSavedUSD by [Route].
func (e *EMF) AppendLine(dst []byte, r *Record) []byte {
	dst = append(dst, e.head...)
	dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
	if r.Cache != "" {
		dst = append(dst, e.cacheTail...)
	} else {
		dst = append(dst, e.tail...)
	}
	dst = append(dst, `,"Route":`...)
	dst = rawjson.AppendString(dst, dimensionValue(r.Route, NoValue))
	dst = append(dst, `,"Model":`...)
	dst = rawjson.AppendString(dst, dimensionValue(r.Model, NoValue))
	dst = append(dst, `,"Provider":`...)
	dst = rawjson.AppendString(dst, dimensionValue(r.Provider, NoValue))
	for i, d := range e.tagDims {
		dst = append(dst, ',')
		dst = rawjson.AppendString(dst, d)
		dst = append(dst, ':')
		dst = rawjson.AppendString(dst, e.tagValue(i, r.Tags[d]))
	}
	errs, fallbacks := 0, 0
	if r.Failed() {
		errs = 1
	}
	if len(r.Attempts) > 1 {
		fallbacks = 1
	}
	dst = append(dst, `,"Requests":1,"Errors":`...)
	dst = strconv.AppendInt(dst, int64(errs), 10)
	dst = append(dst, `,"Fallbacks":`...)
	dst = strconv.AppendInt(dst, int64(fallbacks), 10)
	dst = append(dst, `,"LatencyMs":`...)
	dst = appendFloat(dst, r.LatencyMs)
	dst = append(dst, `,"TimeToFirstByteMs":`...)
	dst = appendFloat(dst, r.TTFBMs)
	dst = append(dst, `,"PromptTokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.PromptTokens), 10)
	dst = append(dst, `,"CompletionTokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.CompletionTokens), 10)
	dst = append(dst, `,"CachedTokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.CachedTokens), 10)
	dst = append(dst, `,"CacheWriteTokens":`...)
	dst = strconv.AppendInt(dst, int64(r.Usage.CacheWriteTokens), 10)
	dst = append(dst, `,"CostUSD":`...)
	dst = appendFloat(dst, r.CostUSD)
	dst = append(dst, `,"CacheSavingsUSD":`...)
	dst = appendFloat(dst, r.CacheSavingsUSD)
	if r.Cache != "" {
		hit, saved := 0, 0.0
		if r.Cache == CacheHit {
			hit, saved = 1, r.CacheSavedUSD
		}
		dst = append(dst, `,"CacheHits":`...)
		dst = strconv.AppendInt(dst, int64(hit), 10)
		dst = append(dst, `,"CacheSavedUSD":`...)
		dst = appendFloat(dst, saved)
	}
	// High-cardinality context stays out of dimensions but searchable in Logs Insights.
	dst = append(dst, `,"request_id":`...)
	dst = rawjson.AppendString(dst, r.RequestID)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	return append(dst, '}')
}

// AppendAttemptLines appends one metrics line per failed attempt of r, each
// ending in a newline: FailedAttempts 1 under the [Model, Provider] of the
// target that failed, which for a fallback is not the one that served.
func (e *EMF) AppendAttemptLines(dst []byte, r *Record) []byte {
	for _, a := range r.Attempts {
		if !a.Failed {
			continue
		}
		dst = append(dst, e.head...)
		dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
		dst = append(dst, e.attemptTail...)
		dst = append(dst, `,"Model":`...)
		dst = rawjson.AppendString(dst, dimensionValue(a.Model, NoValue))
		dst = append(dst, `,"Provider":`...)
		dst = rawjson.AppendString(dst, dimensionValue(a.Provider, NoValue))
		dst = append(dst, `,"`+MetricFailedAttempts+`":1,"outcome":`...)
		dst = rawjson.AppendString(dst, a.Outcome)
		dst = append(dst, `,"status":`...)
		dst = strconv.AppendInt(dst, int64(a.Status), 10)
		dst = append(dst, `,"request_id":`...)
		dst = rawjson.AppendString(dst, r.RequestID)
		dst = append(dst, "}\n"...)
	}
	return dst
}

// tagValue is the dimension value of tag dimension i for the request's value v.
func (e *EMF) tagValue(i int, v string) string {
	if e.allowed != nil && strings.TrimSpace(v) != "" {
		if _, ok := e.allowed[i][v]; !ok {
			return OtherValue
		}
	}
	return dimensionValue(v, UntaggedValue)
}

// dimensionValue is v as CloudWatch accepts a dimension value: printable
// ASCII, not blank, at most MaxDimensionValueLen bytes. Tag values come from a
// request header and may hold anything: each character outside printable
// ASCII becomes '_', and an empty or blank value becomes missing (NoValue or
// UntaggedValue). The audit line keeps the value as it came.
func dimensionValue(v, missing string) string {
	if len(v) <= MaxDimensionValueLen && ascii(v) && strings.TrimSpace(v) != "" {
		return v
	}
	var b strings.Builder
	for _, c := range v {
		if b.Len() == MaxDimensionValueLen {
			break
		}
		if c < 0x20 || c > 0x7e {
			c = '_'
		}
		b.WriteRune(c)
	}
	if strings.TrimSpace(b.String()) == "" {
		return missing
	}
	return b.String()
}
