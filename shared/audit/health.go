package audit

import (
	"strconv"
	"time"
)

// The health metric: after each probe round the health-check function
// reports how many targets (provider and model pairs) are in each status, one
// EMF line per status, so the dashboard can stack them and an alarm can watch
// the unhealthy count.
const (
	MetricHealthTargets = "HealthTargets"
	DimStatus           = "Status"
)

// Health statuses, the values of the Status dimension.
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// HealthCounts is how many targets one probe round found in each status.
type HealthCounts struct {
	Healthy, Degraded, Unhealthy int
}

// AppendHealthLines appends three EMF lines, one per status and each ending
// in a newline, giving the number of targets in it at time at. Zero counts
// are written too, so a graph or an alarm sees 0 rather than missing data.
// An empty namespace is DefaultNamespace.
func AppendHealthLines(dst []byte, namespace string, at time.Time, c HealthCounts) []byte {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	for _, s := range [...]struct {
		status string
		n      int
	}{{StatusHealthy, c.Healthy}, {StatusDegraded, c.Degraded}, {StatusUnhealthy, c.Unhealthy}} {
		dst = append(dst, `{"_aws":{"Timestamp":`...)
		dst = strconv.AppendInt(dst, at.UnixMilli(), 10)
		dst = append(dst, `,"CloudWatchMetrics":[`...)
		dst = AppendDirective(dst, namespace, [][]string{{DimStatus}}, []Metric{{MetricHealthTargets, "Count"}})
		dst = append(dst, `]},"`+DimStatus+`":"`...)
		dst = append(dst, s.status...)
		dst = append(dst, `","`+MetricHealthTargets+`":`...)
		dst = strconv.AppendInt(dst, int64(s.n), 10)
		dst = append(dst, "}\n"...)
	}
	return dst
}
