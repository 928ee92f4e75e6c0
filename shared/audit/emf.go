package audit

import (
	"strconv"

	"github.com/llm-router/router/shared/rawjson"
)

// Metric names, units and dimensions of the EMF line. The dashboard and alarms
// in template.yaml use exactly these names.
const (
	MetricRequests         = "Requests"
	MetricErrors           = "Errors"
	MetricFallbacks        = "Fallbacks"
	MetricLatencyMs        = "LatencyMs"
	MetricTTFBMs           = "TimeToFirstByteMs"
	MetricPromptTokens     = "PromptTokens"
	MetricCompletionTokens = "CompletionTokens"
	MetricCostUSD          = "CostUSD"

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

// Metrics lists every metric of the line with its CloudWatch unit.
var Metrics = []Metric{
	{MetricRequests, "Count"},
	{MetricErrors, "Count"},
	{MetricFallbacks, "Count"},
	{MetricLatencyMs, "Milliseconds"},
	{MetricTTFBMs, "Milliseconds"},
	{MetricPromptTokens, "Count"},
	{MetricCompletionTokens, "Count"},
	{MetricCostUSD, "None"},
}

// EMF formats metric lines for one namespace and set of tag dimensions.
type EMF struct {
	// directive is the constant "_aws" prefix up to the Timestamp value and the
	// rest of the directive after it, precomputed once per configuration.
	head, tail []byte
	tagDims    []string
}

// NewEMF prepares the metric line format.
func NewEMF(namespace string, tagDimensions []string) *EMF {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	e := &EMF{tagDims: tagDimensions}
	e.head = []byte(`{"_aws":{"Timestamp":`)
	tail := []byte(`,"CloudWatchMetrics":[{"Namespace":`)
	tail = rawjson.AppendString(tail, namespace)
	tail = append(tail, `,"Dimensions":[["Route"],["Model","Provider"]`...)
	for _, d := range tagDimensions {
		tail = append(tail, ",["...)
		tail = rawjson.AppendString(tail, d)
		tail = append(tail, ']')
	}
	tail = append(tail, `],"Metrics":[`...)
	for i, m := range Metrics {
		if i > 0 {
			tail = append(tail, ',')
		}
		tail = append(tail, `{"Name":"`...)
		tail = append(tail, m.Name...)
		tail = append(tail, `","Unit":"`...)
		tail = append(tail, m.Unit...)
		tail = append(tail, `"}`...)
	}
	e.tail = append(tail, `]}]}`...)
	return e
}

// TagDimensions returns the request tags that are dimensions.
func (e *EMF) TagDimensions() []string { return e.tagDims }

// UntaggedValue is the dimension value of a tag dimension the request did not carry.
const UntaggedValue = "untagged"

// AppendLine appends the metrics line of a record (no newline). Errors counts
// answers of status 500 and above (the router's or its providers' failures,
// not the caller's); Fallbacks is 1 when more than one target was tried.
func (e *EMF) AppendLine(dst []byte, r *Record) []byte {
	dst = append(dst, e.head...)
	dst = strconv.AppendInt(dst, r.Time.UnixMilli(), 10)
	dst = append(dst, e.tail...)
	dst = append(dst, `,"Route":`...)
	dst = rawjson.AppendString(dst, orNone(r.Route))
	dst = append(dst, `,"Model":`...)
	dst = rawjson.AppendString(dst, orNone(r.Model))
	dst = append(dst, `,"Provider":`...)
	dst = rawjson.AppendString(dst, orNone(r.Provider))
	for _, d := range e.tagDims {
		dst = append(dst, ',')
		dst = rawjson.AppendString(dst, d)
		dst = append(dst, ':')
		v := r.Tags[d]
		if v == "" {
			v = UntaggedValue
		}
		dst = rawjson.AppendString(dst, v)
	}
	errs, fallbacks := 0, 0
	if r.Status >= 500 {
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
	dst = append(dst, `,"CostUSD":`...)
	dst = appendFloat(dst, r.CostUSD)
	// High-cardinality context stays out of dimensions but searchable in Logs Insights.
	dst = append(dst, `,"request_id":`...)
	dst = rawjson.AppendString(dst, r.RequestID)
	dst = append(dst, `,"status":`...)
	dst = strconv.AppendInt(dst, int64(r.Status), 10)
	return append(dst, '}')
}

func orNone(s string) string {
	if s == "" {
		return NoValue
	}
	return s
}
