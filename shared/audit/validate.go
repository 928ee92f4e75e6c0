package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Limits of the CloudWatch Embedded Metric Format specification and of the
// CloudWatch API it feeds (PutMetricData's Dimension, MetricDatum and
// namespace rules), which ValidateEMF enforces.
const (
	// MaxDimensionsPerSet is the most dimension keys one DimensionSet may hold.
	MaxDimensionsPerSet = 30
	// MaxMetricsPerDirective is the most MetricDefinitions one directive may hold.
	MaxMetricsPerDirective = 100
	// MaxValuesPerMetric is the most values a metric's array may hold.
	MaxValuesPerMetric = 100
	// MaxNamespaceLen, MaxDimensionNameLen and MaxDimensionValueLen are
	// CloudWatch's length limits; MaxMetricNameLen is the EMF libraries'.
	MaxNamespaceLen      = 255
	MaxDimensionNameLen  = 255
	MaxDimensionValueLen = 1024
	MaxMetricNameLen     = 1024
	// MaxEventBytes is the CloudWatch Logs event size the line must fit in
	// (256 KiB, the long-standing limit; newer accounts allow 1 MiB).
	MaxEventBytes = 256 << 10
	// maxTimestampAge and maxTimestampAhead bound the Timestamp CloudWatch
	// accepts: two weeks back, two hours ahead.
	maxTimestampAge   = 14 * 24 * time.Hour
	maxTimestampAhead = 2 * time.Hour
)

// StandardUnits returns CloudWatch's fixed list of units (StandardUnit), the
// only ones a metric may name; a test holds it equal to the AWS SDK's.
func StandardUnits() []string {
	return []string{
		"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
		"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
		"Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
		"Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
		"Count/Second", "None",
	}
}

// ValidateEMF checks one log line against the Embedded Metric Format
// specification: a JSON object and nothing else; an _aws member holding a
// millisecond Timestamp and CloudWatchMetrics directives, with no other
// members; each directive a valid Namespace, DimensionSets of at most 30 keys
// and at most 100 MetricDefinitions with units from CloudWatch's list; every
// dimension a top-level string member (ASCII, not blank, within length) and
// every metric a top-level number or array of at most 100 numbers. With a
// non-zero now, the Timestamp must also be one CloudWatch accepts (two weeks
// back to two hours ahead). It returns every problem found, joined.
func ValidateEMF(line []byte, now time.Time) error {
	v := &emfCheck{}
	v.check(line, now)
	return errors.Join(v.errs...)
}

type emfCheck struct{ errs []error }

func (v *emfCheck) fail(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf(format, args...))
}

func (v *emfCheck) check(line []byte, now time.Time) {
	if len(line) > MaxEventBytes {
		v.fail("the line is %d bytes, over the %d of a CloudWatch Logs event", len(line), MaxEventBytes)
	}
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&root); err != nil || root == nil {
		v.fail("not a JSON object: %v", err)
		return
	}
	if dec.More() {
		v.fail("data after the JSON object")
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		v.fail("no _aws member")
		return
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(rawAWS, &meta); err != nil || meta == nil {
		v.fail("_aws is not an object")
		return
	}
	for k := range meta {
		if k != "Timestamp" && k != "CloudWatchMetrics" && k != "LogGroupName" {
			v.fail("_aws has the member %q the specification does not define", k)
		}
	}
	v.timestamp(meta["Timestamp"], now)
	var directives []map[string]json.RawMessage
	if err := json.Unmarshal(meta["CloudWatchMetrics"], &directives); err != nil || meta["CloudWatchMetrics"] == nil {
		v.fail("_aws.CloudWatchMetrics is not an array of objects")
		return
	}
	for i, d := range directives {
		v.directive(fmt.Sprintf("CloudWatchMetrics[%d]", i), d, root)
	}
}

func (v *emfCheck) timestamp(raw json.RawMessage, now time.Time) {
	var ms float64
	if err := json.Unmarshal(raw, &ms); err != nil || raw == nil {
		v.fail("_aws.Timestamp is not a number")
		return
	}
	if ms < 0 || ms != math.Trunc(ms) {
		v.fail("_aws.Timestamp %v is not a whole number of milliseconds since the epoch", ms)
		return
	}
	if now.IsZero() {
		return
	}
	t := time.UnixMilli(int64(ms))
	if t.Before(now.Add(-maxTimestampAge)) || t.After(now.Add(maxTimestampAhead)) {
		v.fail("_aws.Timestamp %s is outside what CloudWatch accepts (two weeks back to two hours ahead of %s)",
			t.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
}

func (v *emfCheck) directive(at string, d map[string]json.RawMessage, root map[string]json.RawMessage) {
	for k := range d {
		if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
			v.fail("%s has the member %q the specification does not define", at, k)
		}
	}
	var ns string
	if err := json.Unmarshal(d["Namespace"], &ns); err != nil || d["Namespace"] == nil {
		v.fail("%s.Namespace is not a string", at)
	} else if msg := namespaceProblem(ns); msg != "" {
		v.fail("%s.Namespace %q %s", at, ns, msg)
	}

	var sets [][]string
	if err := json.Unmarshal(d["Dimensions"], &sets); err != nil || d["Dimensions"] == nil {
		v.fail("%s.Dimensions is not an array of arrays of strings", at)
	}
	for i, set := range sets {
		if len(set) > MaxDimensionsPerSet {
			v.fail("%s.Dimensions[%d] has %d keys, over %d", at, i, len(set), MaxDimensionsPerSet)
		}
		seen := make(map[string]bool, len(set))
		for _, name := range set {
			if seen[name] {
				v.fail("%s.Dimensions[%d] names %q twice", at, i, name)
			}
			seen[name] = true
			v.dimension(at, name, root)
		}
	}

	var metrics []map[string]json.RawMessage
	if err := json.Unmarshal(d["Metrics"], &metrics); err != nil || d["Metrics"] == nil {
		v.fail("%s.Metrics is not an array of objects", at)
	}
	if len(metrics) > MaxMetricsPerDirective {
		v.fail("%s.Metrics has %d definitions, over %d", at, len(metrics), MaxMetricsPerDirective)
	}
	names := make(map[string]bool, len(metrics))
	for i, m := range metrics {
		v.metric(fmt.Sprintf("%s.Metrics[%d]", at, i), m, root, names)
	}
}

// namespaceProblem says what is wrong with a namespace, or "".
func namespaceProblem(ns string) string {
	switch {
	case strings.TrimSpace(ns) == "":
		return "is empty"
	case len(ns) > MaxNamespaceLen:
		return fmt.Sprintf("is over %d characters", MaxNamespaceLen)
	case strings.HasPrefix(ns, "AWS/"):
		return "uses the AWS/ prefix CloudWatch reserves for AWS services"
	case ns[0] == ':':
		return "starts with a colon"
	}
	for _, c := range []byte(ns) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._#:/- ", c) >= 0) {
			return fmt.Sprintf("has the character %q (letters, digits and . _ # : / - only)", c)
		}
	}
	return ""
}

func (v *emfCheck) dimension(at, name string, root map[string]json.RawMessage) {
	switch {
	case strings.TrimSpace(name) == "", !ascii(name), len(name) > MaxDimensionNameLen, name[0] == ':':
		v.fail("%s: dimension name %q must be printable ASCII, not blank, at most %d characters, not starting with ':'",
			at, name, MaxDimensionNameLen)
		return
	case name == "_aws":
		v.fail("%s: _aws cannot be a dimension", at)
		return
	}
	raw, ok := root[name]
	if !ok {
		v.fail("%s: dimension %q is not a top-level member", at, name)
		return
	}
	var value string
	if err := json.Unmarshal(raw, &value); err != nil {
		v.fail("%s: dimension %q is %s, not a string", at, name, raw)
		return
	}
	if strings.TrimSpace(value) == "" || !ascii(value) || len(value) > MaxDimensionValueLen {
		v.fail("%s: dimension %q has the value %q: it must be printable ASCII, not blank, at most %d characters",
			at, name, value, MaxDimensionValueLen)
	}
}

func (v *emfCheck) metric(at string, m map[string]json.RawMessage, root map[string]json.RawMessage, names map[string]bool) {
	for k := range m {
		if k != "Name" && k != "Unit" && k != "StorageResolution" {
			v.fail("%s has the member %q the specification does not define", at, k)
		}
	}
	var name string
	if err := json.Unmarshal(m["Name"], &name); err != nil || m["Name"] == nil || strings.TrimSpace(name) == "" || len(name) > MaxMetricNameLen {
		v.fail("%s.Name is not a metric name (a string of 1 to %d characters)", at, MaxMetricNameLen)
		return
	}
	if names[name] {
		v.fail("%s: metric %q is defined twice", at, name)
	}
	names[name] = true
	if raw, ok := m["Unit"]; ok {
		var unit string
		if err := json.Unmarshal(raw, &unit); err != nil || !slices.Contains(StandardUnits(), unit) {
			v.fail("%s: metric %q has the unit %s, not one of CloudWatch's units", at, name, raw)
		}
	}
	if raw, ok := m["StorageResolution"]; ok {
		var res int
		if err := json.Unmarshal(raw, &res); err != nil || res != 1 && res != 60 {
			v.fail("%s: metric %q has StorageResolution %s; want 1 or 60", at, name, raw)
		}
	}
	raw, ok := root[name]
	if !ok {
		v.fail("%s: metric %q is not a top-level member", at, name)
		return
	}
	var one float64
	if json.Unmarshal(raw, &one) == nil {
		return
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		v.fail("%s: metric %q is %s, not a number or an array of numbers", at, name, raw)
		return
	}
	if len(many) > MaxValuesPerMetric {
		v.fail("%s: metric %q has %d values, over %d", at, name, len(many), MaxValuesPerMetric)
	}
}

// ascii reports whether s is printable ASCII, as CloudWatch requires of
// dimension names and values.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// CheckNamespace reports whether ns is a namespace CloudWatch accepts, so a
// bad ROUTER_METRICS_NAMESPACE is refused at start rather than every metric
// being dropped by CloudWatch without a word.
func CheckNamespace(ns string) error {
	if msg := namespaceProblem(ns); msg != "" {
		return fmt.Errorf("CloudWatch namespace %q %s", ns, msg)
	}
	return nil
}
