package audit_test

import (
	"encoding/json"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/benchmark"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

// These tests read template.yaml's dashboard and alarms and hold every
// metric and dimension they name to the names the code emits, so the two
// cannot drift apart.

// tagMarker stands for the CostTagDimension parameter: any one of the
// configuration's metrics.tag_dimensions.
const tagMarker = "<tag dimension>"

// emitted maps each dimension set the router's code emits (names sorted,
// joined by commas) to the metrics emitted with it.
func emitted() map[string][]string {
	var request []string
	for _, m := range audit.RequestMetrics() {
		request = append(request, m.Name)
	}
	out := map[string][]string{}
	for _, set := range audit.RequestDimensionSets([]string{tagMarker}) {
		out[setKey(set)] = slices.Clone(request)
	}
	for _, set := range audit.CacheDimensionSets() {
		for _, m := range audit.CacheMetrics() {
			out[setKey(set)] = append(out[setKey(set)], m.Name)
		}
	}
	for _, set := range audit.AttemptDimensionSets() {
		out[setKey(set)] = append(out[setKey(set)], audit.MetricFailedAttempts)
	}
	// The benchmark function's lines.
	for _, m := range benchmark.Metrics() {
		out[setKey(benchmark.DimensionSet())] = append(out[setKey(benchmark.DimensionSet())], m.Name)
	}
	out[setKey([]string{audit.DimStatus})] = []string{audit.MetricHealthTargets}
	out["Table"] = []string{audittable.MetricWriteFailures, dynamo.MetricRefreshFailures}
	return out
}

func setKey(dims []string) string {
	s := slices.Clone(dims)
	slices.Sort(s)
	return strings.Join(s, ",")
}

type template struct {
	root, params, resources *yaml.Node
}

func loadTemplate(t *testing.T) *template {
	t.Helper()
	data, err := os.ReadFile("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	tpl := &template{root: doc.Content[0]}
	tpl.params, tpl.resources = field(tpl.root, "Parameters"), field(tpl.root, "Resources")
	if tpl.params == nil || tpl.resources == nil {
		t.Fatal("template.yaml has no Parameters or Resources")
	}
	return tpl
}

// field is the value of key in mapping node n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (tpl *template) resourcesOfType(typ string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(tpl.resources.Content); i += 2 {
		if r := tpl.resources.Content[i+1]; field(r, "Type").Value == typ {
			out[tpl.resources.Content[i].Value] = field(r, "Properties")
		}
	}
	return out
}

func (tpl *template) paramDefault(t *testing.T, name string) string {
	t.Helper()
	d := field(field(tpl.params, name), "Default")
	if d == nil {
		t.Fatalf("parameter %s has no default", name)
	}
	return d.Value
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

// sub resolves a Fn::Sub string as CloudFormation would, with parameters at
// their defaults (CostTagDimension as tagMarker), resources and pseudo
// parameters as placeholders. A name that is none of those fails the test.
func (tpl *template) sub(t *testing.T, s string) string {
	t.Helper()
	out := subVar.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		switch {
		case name == "MetricsNamespace":
			return "NS"
		case name == "CostTagDimension":
			return tagMarker
		case strings.HasPrefix(name, "AWS::"):
			return "pseudo"
		case field(tpl.params, name) != nil:
			return tpl.paramDefault(t, name)
		}
		logical, _, _ := strings.Cut(name, ".")
		if field(tpl.resources, logical) == nil {
			t.Errorf("Fn::Sub names ${%s}: no such parameter or resource", name)
		}
		return "resource:" + name
	})
	return strings.ReplaceAll(out, "${!", "${")
}

// use is one reference to a metric with a dimension set and a statistic.
type use struct {
	where, namespace, metric, dims, stat, groupBy string
	insights                                      bool // a Metrics Insights query, else SEARCH or a metric
}

var (
	// searchExpr reads SEARCH('{schema} MetricName="m"', 'stat'[, period]).
	searchExpr = regexp.MustCompile(`SEARCH\('\{([^}]*)\}\s+MetricName="([^"]+)"',\s*'([^']+)'(?:,\s*(\d+))?\)`)
	insightsQ  = regexp.MustCompile(`^SELECT (\w+)\((\w+)\) FROM SCHEMA\("([^"]+)"((?:, \w+)*)\)(?: GROUP BY (\w+))?$`)
	validStat  = regexp.MustCompile(`^(Sum|Average|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$`)
)

// uses finds the metrics an expression reads: SEARCH and Metrics Insights
// queries; metric math over their ids reads nothing new.
func uses(t *testing.T, where, expr string) []use {
	t.Helper()
	var out []use
	for _, m := range searchExpr.FindAllStringSubmatch(expr, -1) {
		schema := strings.Split(m[1], ",")
		for i, name := range schema {
			// A name with characters other than letters, digits and _ must be
			// quoted in a SEARCH schema; the template quotes every name it
			// does not fix itself (the namespace and the tag dimension).
			unq := strings.Trim(name, `"`)
			if unq != name && (len(name) < 2 || name[0] != '"' || name[len(name)-1] != '"') {
				t.Errorf("%s: badly quoted name %s in %s", where, name, expr)
			}
			if unq == name && (i == 0 || unq == tagMarker) {
				t.Errorf("%s: %s is not quoted in the SEARCH schema %s", where, name, m[1])
			}
			schema[i] = unq
		}
		out = append(out, use{where: where, namespace: schema[0], metric: m[2], dims: setKey(schema[1:]), stat: m[3]})
	}
	if strings.HasPrefix(expr, "SELECT") {
		m := insightsQ.FindStringSubmatch(expr)
		if m == nil {
			t.Errorf("%s: a Metrics Insights query this test cannot read: %s", where, expr)
			return out
		}
		dims := strings.Split(strings.TrimPrefix(m[4], ", "), ", ")
		if m[5] != "" && !slices.Contains(dims, m[5]) {
			t.Errorf("%s: GROUP BY %s is not in the schema's dimensions %v", where, m[5], dims)
		}
		out = append(out, use{where: where, namespace: m[3], metric: m[2], dims: setKey(dims), stat: m[1], groupBy: m[5], insights: true})
	}
	if strings.Contains(expr, "SEARCH(") && len(out) == 0 {
		t.Errorf("%s: a SEARCH expression this test cannot read: %s", where, expr)
	}
	return out
}

// check fails a use of a metric, dimension set or namespace the router does
// not emit.
func check(t *testing.T, u use) {
	t.Helper()
	if u.namespace != "NS" {
		t.Errorf("%s: namespace %q, want the MetricsNamespace parameter", u.where, u.namespace)
	}
	metrics, ok := emitted()[u.dims]
	switch {
	case !ok:
		t.Errorf("%s: dimension set [%s] is not one the router emits (%v)", u.where, u.dims, slices.Sorted(maps.Keys(emitted())))
	case !slices.Contains(metrics, u.metric):
		t.Errorf("%s: metric %q is not emitted with dimensions [%s] (those are %v)", u.where, u.metric, u.dims, metrics)
	}
	if !u.insights && !validStat.MatchString(u.stat) || u.insights && !slices.Contains([]string{"SUM", "AVG", "MIN", "MAX", "COUNT"}, u.stat) {
		t.Errorf("%s: statistic %q", u.where, u.stat)
	}
}

// ratio is a metric-math percentage of two expressions, by id.
var ratio = regexp.MustCompile(`^100 \* (\w+) / (\w+)$`)

type dashboard struct {
	Widgets []struct {
		Type       string
		Properties struct {
			Title   string
			Metrics [][]json.RawMessage
			Query   string
			Alarms  []string
		}
	}
}

func TestDashboardUsesEmittedNames(t *testing.T) {
	tpl := loadTemplate(t)
	if got := tpl.paramDefault(t, "MetricsNamespace"); got != audit.DefaultNamespace {
		t.Errorf("MetricsNamespace defaults to %q, the router to %q", got, audit.DefaultNamespace)
	}
	if tag := tpl.paramDefault(t, "CostTagDimension"); !slices.Contains(config.Default().Metrics.TagDimensions, tag) {
		t.Errorf("CostTagDimension defaults to %q, not a tag dimension of the built-in configuration %v",
			tag, config.Default().Metrics.TagDimensions)
	}
	dash := tpl.resourcesOfType("AWS::CloudWatch::Dashboard")
	if len(dash) != 1 {
		t.Fatalf("%d dashboards", len(dash))
	}
	var bodyNode *yaml.Node
	for _, props := range dash {
		bodyNode = field(props, "DashboardBody")
	}
	if bodyNode == nil || bodyNode.Tag != "!Sub" {
		t.Fatal("DashboardBody is not a !Sub string")
	}
	var d dashboard
	if err := json.Unmarshal([]byte(tpl.sub(t, bodyNode.Value)), &d); err != nil {
		t.Fatalf("DashboardBody is not JSON once substituted: %v", err)
	}

	seen := map[string]map[string]bool{}  // metric -> dimension sets (and "GROUP BY x") it is shown by
	stats := map[string]map[string]bool{} // metric -> statistics
	idMetric := map[string]string{}       // an expression's id -> the one metric it reads
	var ratios []string                   // percentages of two expressions, "a/b"
	lineFields := auditLineFields(t)
	for _, w := range d.Widgets {
		where := "widget " + w.Properties.Title
		switch w.Type {
		case "metric":
			if len(w.Properties.Metrics) == 0 {
				t.Errorf("%s has no metrics", where)
			}
			for _, row := range w.Properties.Metrics {
				var q struct{ Expression, ID string }
				if len(row) != 1 || json.Unmarshal(row[0], &q) != nil || q.Expression == "" {
					t.Errorf("%s: a metrics row that is not one expression: %s", where, row)
					continue
				}
				if r := ratio.FindStringSubmatch(q.Expression); r != nil {
					ratios = append(ratios, r[1]+"/"+r[2])
				}
				if us := uses(t, where, q.Expression); len(us) == 1 {
					idMetric[q.ID] = us[0].metric
				}
				for _, u := range uses(t, where, q.Expression) {
					check(t, u)
					if seen[u.metric] == nil {
						seen[u.metric], stats[u.metric] = map[string]bool{}, map[string]bool{}
					}
					seen[u.metric][u.dims] = true
					if u.groupBy != "" {
						seen[u.metric]["GROUP BY "+u.groupBy] = true
					}
					stats[u.metric][u.stat] = true
				}
			}
		case "log":
			// The audit trail widget reads audit lines by their documented names.
			q := w.Properties.Query
			if !strings.Contains(q, `filter type = "audit"`) {
				t.Errorf("%s does not select audit lines: %s", where, q)
			}
			_, fields, _ := strings.Cut(q, "| fields ")
			fields, _, _ = strings.Cut(fields, " |")
			for _, f := range strings.Split(fields, ", ") {
				if f != "@timestamp" && !lineFields[f] {
					t.Errorf("%s: field %q is not in the audit line", where, f)
				}
			}
		case "alarm":
			for _, a := range w.Properties.Alarms {
				if !strings.HasPrefix(a, "resource:") || !strings.HasSuffix(a, ".Arn") {
					t.Errorf("%s: alarm %q is not an alarm of this template", where, a)
				}
			}
		case "text":
		default:
			t.Errorf("widget type %q", w.Type)
		}
	}

	// What operators need the dashboard to show.
	route, model, tag := setKey([]string{audit.DimRoute}), setKey([]string{audit.DimModel, audit.DimProvider}), tagMarker
	for _, want := range []struct{ metric, by string }{
		{audit.MetricCostUSD, model}, {audit.MetricCostUSD, "GROUP BY " + audit.DimProvider},
		{audit.MetricCostUSD, route}, {audit.MetricCostUSD, tag},
		{audit.MetricRequests, route}, {audit.MetricErrors, route}, {audit.MetricFallbacks, route},
		{audit.MetricLatencyMs, route}, {audit.MetricTTFBMs, route},
		{audit.MetricPromptTokens, model}, {audit.MetricCompletionTokens, model},
		{audit.MetricHealthTargets, audit.DimStatus},
		{benchmark.MetricTTFTMs, model}, {benchmark.MetricP90Ms, model}, {benchmark.MetricPassRate, model},
		{audit.MetricCacheHits, route}, {audit.MetricCacheSavedUSD, route},
		// cache hit rate (cached over prompt tokens) and savings per route
		{audit.MetricCachedTokens, route}, {audit.MetricPromptTokens, route}, {audit.MetricCacheWriteTokens, route},
		{audit.MetricCacheSavingsUSD, route},
	} {
		if !seen[want.metric][want.by] {
			t.Errorf("the dashboard does not show %s by %s", want.metric, want.by)
		}
	}
	// The cache hit rate is cached over prompt tokens.
	hitRate := false
	for _, r := range ratios {
		num, den, _ := strings.Cut(r, "/")
		hitRate = hitRate || idMetric[num] == audit.MetricCachedTokens && idMetric[den] == audit.MetricPromptTokens
	}
	if !hitRate {
		t.Errorf("no widget shows the cache hit rate, 100 * CachedTokens / PromptTokens (ratios: %v)", ratios)
	}
	for _, m := range []string{audit.MetricLatencyMs, audit.MetricTTFBMs} {
		if !stats[m]["p50"] || !stats[m]["p99"] {
			t.Errorf("the dashboard shows %s with %v, want p50 and p99", m, slices.Sorted(maps.Keys(stats[m])))
		}
	}
	for _, m := range slices.Concat(audit.RequestMetrics(), benchmark.Metrics(), audit.CacheMetrics()) {
		if len(seen[m.Name]) == 0 {
			t.Errorf("metric %s is emitted but not on the dashboard", m.Name)
		}
	}
}

func TestAlarmsUseEmittedNames(t *testing.T) {
	tpl := loadTemplate(t)
	alarms := tpl.resourcesOfType("AWS::CloudWatch::Alarm")
	read := map[string][]string{} // alarm -> metrics it reads
	for name, props := range alarms {
		where := "alarm " + name
		if metrics := field(props, "Metrics"); metrics != nil {
			returned := 0
			for _, q := range metrics.Content {
				if rd := field(q, "ReturnData"); rd != nil && rd.Value == "true" {
					returned++
				}
				expr := field(q, "Expression")
				if expr == nil {
					t.Errorf("%s: a query without an expression", where)
					continue
				}
				if field(q, "Period") == nil {
					t.Errorf("%s: %s has no Period", where, expr.Value)
				}
				value := expr.Value
				if expr.Tag == "!Sub" {
					value = tpl.sub(t, value)
				}
				for _, u := range uses(t, where, value) {
					check(t, u)
					read[name] = append(read[name], u.metric)
				}
			}
			if returned != 1 {
				t.Errorf("%s returns %d series, want 1", where, returned)
			}
			continue
		}
		ns, metric := field(props, "Namespace"), field(props, "MetricName")
		if ns != nil && strings.HasPrefix(ns.Value, "AWS/") {
			// An AWS service's metric (the health function's Errors): the
			// infra template tests check it names a function of the stack.
			read[name] = append(read[name], ns.Value+" "+metric.Value)
			continue
		}
		if ns == nil || metric == nil || ns.Tag != "!Ref" || ns.Value != "MetricsNamespace" {
			t.Errorf("%s: want Namespace !Ref MetricsNamespace and a MetricName", where)
			continue
		}
		var dims []string
		for _, d := range field(props, "Dimensions").Content {
			dims = append(dims, field(d, "Name").Value)
		}
		check(t, use{where: where, namespace: "NS", metric: metric.Value, dims: setKey(dims), stat: field(props, "Statistic").Value})
		read[name] = append(read[name], metric.Value)
	}
	for alarm, want := range map[string][]string{
		// Errors and Fallbacks are 0 or 1 per request: their average is the
		// share of requests, so the rate alarms read nothing else.
		"ErrorRateAlarm":               {audit.MetricErrors},
		"FallbackRateAlarm":            {audit.MetricFallbacks},
		"MonthlyCostAlarm":             {audit.MetricCostUSD},
		"FailedAttemptsAlarm":          {audit.MetricFailedAttempts},
		"ConfigRefreshFailuresAlarm":   {dynamo.MetricRefreshFailures},
		"AuditTableWriteFailuresAlarm": {audittable.MetricWriteFailures},
		"UnhealthyTargetsAlarm":        {audit.MetricHealthTargets},
		"HealthCheckFailuresAlarm":     {"AWS/Lambda Errors"},
		"BenchmarkFailuresAlarm":       {"AWS/Lambda Errors"},
	} {
		got := slices.Sorted(slices.Values(read[alarm]))
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("%s reads %v, want %v", alarm, got, want)
		}
	}
	if th := field(alarms["MonthlyCostAlarm"], "Threshold"); th == nil || th.Tag != "!Ref" || th.Value != "MonthlyCostThreshold" {
		t.Error("the cost alarm's threshold is not the MonthlyCostThreshold parameter")
	}
}

// auditLineFields are the names of a full audit line.
func auditLineFields(t *testing.T) map[string]bool {
	t.Helper()
	r := &audit.Record{Provider: "p", ErrorCode: "e", Endpoint: "x", ClientRequestID: "c", UsageMissing: true,
		Usage: audit.Usage{CacheWriteTokens: 1}, Cache: audit.CacheHit}
	var m map[string]any
	if err := json.Unmarshal(r.AppendJSON(nil), &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

// The template's audit table has the keys, index and TTL attribute the code
// writes and queries, and the router may write to it.
func TestAuditTableMatchesTheCode(t *testing.T) {
	tpl := loadTemplate(t)
	table := field(tpl.resources, "AuditLogTable")
	props := field(table, "Properties")
	if table == nil || field(table, "Condition").Value != "WithAuditTable" {
		t.Fatal("no conditional AuditLogTable")
	}
	keys := func(schema *yaml.Node) map[string]string {
		out := map[string]string{}
		for _, k := range schema.Content {
			out[field(k, "KeyType").Value] = field(k, "AttributeName").Value
		}
		return out
	}
	if got := keys(field(props, "KeySchema")); got["HASH"] != audittable.AttrRequestID || len(got) != 1 {
		t.Errorf("table key %v, want %s", got, audittable.AttrRequestID)
	}
	gsis := field(props, "GlobalSecondaryIndexes").Content
	if len(gsis) != 1 || field(gsis[0], "IndexName").Value != audittable.IndexByKeyDay {
		t.Fatalf("indexes %v", gsis)
	}
	if got := keys(field(gsis[0], "KeySchema")); got["HASH"] != audittable.AttrKeyDay || got["RANGE"] != audittable.AttrTS {
		t.Errorf("index keys %v", got)
	}
	if ttl := field(field(props, "TimeToLiveSpecification"), "AttributeName"); ttl == nil || ttl.Value != audittable.AttrExpires {
		t.Errorf("TTL attribute %v, want %s", ttl, audittable.AttrExpires)
	}
	env := field(field(field(field(tpl.root, "Globals"), "Function"), "Environment"), "Variables")
	if v := field(env, "ROUTER_AUDIT_TABLE"); v == nil || v.Tag != "!If" || !strings.Contains(nodeText(v), "AuditLogTable") {
		t.Errorf("ROUTER_AUDIT_TABLE is not set from AuditLogTable")
	}
	role := nodeText(field(tpl.resources, "RouterRole"))
	if !strings.Contains(role, "dynamodb:BatchWriteItem") || !strings.Contains(role, "AuditLogTable.Arn") {
		t.Error("RouterRole may not BatchWriteItem to the audit table")
	}
}

// nodeText is a node's scalars, joined.
func nodeText(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	s := n.Value
	for _, c := range n.Content {
		s += " " + nodeText(c)
	}
	return s
}
