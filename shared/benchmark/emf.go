package benchmark

import (
	"strconv"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/rawjson"
)

// Metric names of the benchmark function's EMF lines, one line per target
// and run with the dimensions [Model, Provider]. The dashboard in
// template.yaml uses exactly these names (shared/audit's template tests
// hold it to them).
const (
	MetricTTFTMs    = "BenchmarkTTFTMs"
	MetricP50Ms     = "BenchmarkP50Ms"
	MetricP90Ms     = "BenchmarkP90Ms"
	MetricErrorRate = "BenchmarkErrorRate"
	MetricPassRate  = "BenchmarkPassRate"
	MetricCostUSD   = "BenchmarkCostUSD"
)

// Metrics lists every metric a benchmark line may carry, with its unit.
// Rates are percentages.
func Metrics() []audit.Metric {
	return []audit.Metric{
		{Name: MetricTTFTMs, Unit: "Milliseconds"},
		{Name: MetricP50Ms, Unit: "Milliseconds"},
		{Name: MetricP90Ms, Unit: "Milliseconds"},
		{Name: MetricErrorRate, Unit: "Percent"},
		{Name: MetricPassRate, Unit: "Percent"},
		{Name: MetricCostUSD, Unit: "None"},
	}
}

// DimensionSet is the dimension set of a benchmark line.
func DimensionSet() []string { return []string{audit.DimModel, audit.DimProvider} }

// AppendMetricLine appends r's EMF line, ending in a newline, timestamped
// with the run's start. A figure that does not exist is left out rather
// than sent as 0: latencies when no call succeeded, the pass rate when no
// prompt has a check, the cost when the model has no price. An empty
// namespace is audit's default.
func AppendMetricLine(dst []byte, namespace string, r health.BenchmarkResult) []byte {
	if namespace == "" {
		namespace = audit.DefaultNamespace
	}
	type value struct {
		m audit.Metric
		v float64
	}
	var vals []value
	for _, m := range Metrics() {
		switch m.Name {
		case MetricTTFTMs:
			if r.ErrorRate < 1 {
				vals = append(vals, value{m, r.TTFTMs})
			}
		case MetricP50Ms:
			if r.ErrorRate < 1 {
				vals = append(vals, value{m, r.P50Ms})
			}
		case MetricP90Ms:
			if r.ErrorRate < 1 {
				vals = append(vals, value{m, r.P90Ms})
			}
		case MetricErrorRate:
			vals = append(vals, value{m, 100 * r.ErrorRate})
		case MetricPassRate:
			if r.Checked > 0 {
				vals = append(vals, value{m, 100 * r.PassRate})
			}
		case MetricCostUSD:
			if r.Priced {
				vals = append(vals, value{m, r.CostUSD})
			}
		}
	}
	dst = append(dst, `{"_aws":{"Timestamp":`...)
	dst = strconv.AppendInt(dst, r.RunAt.UnixMilli(), 10)
	metrics := make([]audit.Metric, len(vals))
	for i, v := range vals {
		metrics[i] = v.m
	}
	dst = append(dst, `,"CloudWatchMetrics":[`...)
	dst = audit.AppendDirective(dst, namespace, [][]string{DimensionSet()}, metrics)
	dst = append(dst, `]},"type":"benchmark","run_id":`...)
	dst = rawjson.AppendString(dst, r.RunID)
	dst = append(dst, `,"`+audit.DimModel+`":`...)
	dst = rawjson.AppendString(dst, r.Model)
	dst = append(dst, `,"`+audit.DimProvider+`":`...)
	dst = rawjson.AppendString(dst, r.Provider)
	for _, v := range vals {
		dst = append(dst, ',', '"')
		dst = append(dst, v.m.Name...)
		dst = append(dst, '"', ':')
		dst = strconv.AppendFloat(dst, v.v, 'f', -1, 64)
	}
	return append(dst, "}\n"...)
}
