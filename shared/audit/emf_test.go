package audit_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
)

// emfDoc is the part of an EMF line the tests read back.
type emfDoc struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []audit.Metric
		}
	} `json:"_aws"`
}

func decodeLine(t *testing.T, line []byte) (emfDoc, map[string]any) {
	t.Helper()
	var doc emfDoc
	var members map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if err := json.Unmarshal(line, &members); err != nil {
		t.Fatal(err)
	}
	if len(doc.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("%d directives in %s", len(doc.AWS.CloudWatchMetrics), line)
	}
	return doc, members
}

func TestRequestLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	e := audit.NewEMF("Team/Router", []string{"team", "feature", "site"})
	rec := &audit.Record{RequestID: "req_1", Time: at, Route: "triage-low", Model: "deepseek-v4-flash", Provider: "deepseek",
		Status: 200, LatencyMs: 812.5, TTFBMs: 120, CostUSD: 0.00042, CacheSavingsUSD: 0.000108,
		Usage: audit.Usage{PromptTokens: 1000, CompletionTokens: 50, CachedTokens: 800, CacheWriteTokens: 100},
		Tags:  map[string]string{"team": "triage", "feature": "Überweisung", "other": "kept out"},
		Attempts: []audit.Attempt{{Model: "mistral-large", Outcome: audit.OutcomeError, Status: 503},
			{Model: "deepseek-v4-flash", Outcome: audit.OutcomeOK, Status: 200}}}
	line := e.AppendLine(nil, rec)
	if err := audit.ValidateEMF(line, at); err != nil {
		t.Fatalf("%s\n%v", line, err)
	}
	doc, m := decodeLine(t, line)
	d := doc.AWS.CloudWatchMetrics[0]
	if doc.AWS.Timestamp != at.UnixMilli() || d.Namespace != "Team/Router" {
		t.Errorf("timestamp %d namespace %q", doc.AWS.Timestamp, d.Namespace)
	}
	if want := audit.RequestDimensionSets([]string{"team", "feature", "site"}); !reflect.DeepEqual(d.Dimensions, want) {
		t.Errorf("dimension sets %v, want %v", d.Dimensions, want)
	}
	if !reflect.DeepEqual(d.Metrics, audit.RequestMetrics()) {
		t.Errorf("metrics %v, want %v", d.Metrics, audit.RequestMetrics())
	}
	want := map[string]any{"Route": "triage-low", "Model": "deepseek-v4-flash", "Provider": "deepseek",
		// A tag the request did not carry is "untagged"; a value CloudWatch
		// would refuse is made ASCII; a tag that is no dimension stays out.
		"team": "triage", "feature": "_berweisung", "site": "untagged",
		"Requests": 1.0, "Errors": 0.0, "Fallbacks": 1.0, "LatencyMs": 812.5, "TimeToFirstByteMs": 120.0,
		"PromptTokens": 1000.0, "CompletionTokens": 50.0, "CachedTokens": 800.0, "CacheWriteTokens": 100.0,
		"CostUSD": 0.00042, "CacheSavingsUSD": 0.000108, "request_id": "req_1", "status": 200.0}
	delete(m, "_aws")
	if !reflect.DeepEqual(m, want) {
		t.Errorf("members\n got %v\nwant %v", m, want)
	}
}

func TestRequestLineEdges(t *testing.T) {
	at := time.Now()
	e := audit.NewEMF("", []string{"team"})
	tests := []struct {
		name string
		rec  audit.Record
		want map[string]any
	}{
		{"refused before routing", audit.Record{Status: 401},
			map[string]any{"Route": "none", "Model": "none", "Provider": "none", "team": "untagged", "Errors": 0.0, "Fallbacks": 0.0}},
		{"all targets failed", audit.Record{Route: "r", Status: 502, Attempts: make([]audit.Attempt, 3)},
			map[string]any{"Model": "none", "Errors": 1.0, "Fallbacks": 1.0}},
		{"blank tag", audit.Record{Route: "r", Model: "m", Provider: "p", Status: 200, Tags: map[string]string{"team": "  "}},
			map[string]any{"team": "untagged", "Errors": 0.0}},
		{"control characters", audit.Record{Route: "r", Status: 200, Tags: map[string]string{"team": "a\tb"}},
			map[string]any{"team": "a_b"}},
		{"long tag", audit.Record{Route: "r", Status: 200, Tags: map[string]string{"team": strings.Repeat("é", 700)}},
			map[string]any{"team": strings.Repeat("_", 700)}},
		{"not a number", audit.Record{Route: "r", Status: 200, LatencyMs: math.Inf(1), TTFBMs: math.NaN()},
			map[string]any{"LatencyMs": 0.0, "TimeToFirstByteMs": 0.0}},
	}
	for _, tt := range tests {
		tt.rec.Time = at
		line := e.AppendLine(nil, &tt.rec)
		if err := audit.ValidateEMF(line, at); err != nil {
			t.Errorf("%s: %s\n%v", tt.name, line, err)
			continue
		}
		doc, m := decodeLine(t, line)
		if doc.AWS.CloudWatchMetrics[0].Namespace != audit.DefaultNamespace {
			t.Errorf("%s: namespace %q", tt.name, doc.AWS.CloudWatchMetrics[0].Namespace)
		}
		for k, v := range tt.want {
			if m[k] != v {
				t.Errorf("%s: %s = %v, want %v", tt.name, k, m[k], v)
			}
		}
	}
}

func TestHealthLines(t *testing.T) {
	at := time.Date(2026, 1, 2, 10, 0, 30, 0, time.UTC)
	out := audit.AppendHealthLines([]byte("before\n"), "LLMRouter", at, audit.HealthCounts{Healthy: 7, Unhealthy: 2})
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != 4 || lines[0] != "before" {
		t.Fatalf("lines %q", lines)
	}
	want := map[string]float64{audit.StatusHealthy: 7, audit.StatusDegraded: 0, audit.StatusUnhealthy: 2}
	for _, line := range lines[1:] {
		if err := audit.ValidateEMF([]byte(line), at); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		doc, m := decodeLine(t, []byte(line))
		d := doc.AWS.CloudWatchMetrics[0]
		if !reflect.DeepEqual(d.Dimensions, [][]string{{audit.DimStatus}}) ||
			!reflect.DeepEqual(d.Metrics, []audit.Metric{{Name: audit.MetricHealthTargets, Unit: "Count"}}) {
			t.Errorf("directive %+v", d)
		}
		status, _ := m[audit.DimStatus].(string)
		n, ok := want[status]
		if !ok || m[audit.MetricHealthTargets] != n {
			t.Errorf("line %s, want %s = %v", line, status, n)
		}
		delete(want, status)
	}
	if len(want) != 0 {
		t.Errorf("no line for %v", want)
	}
}

type countSink struct{ n int }

func (c *countSink) Emit(*audit.Record) { c.n++ }

func TestSinks(t *testing.T) {
	var buf bytes.Buffer
	w := audit.NewWriter(&buf)
	other := &countSink{}
	audit.Sinks{w, other}.Emit(&audit.Record{RequestID: "req_x", Time: time.Now()})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if other.n != 1 || !strings.Contains(buf.String(), `"request_id":"req_x"`) {
		t.Errorf("the second sink got %d records; the writer wrote %q", other.n, buf.String())
	}
}

// With an allow-list, a caller's tag value becomes a dimension value only if
// the configuration lists it; anything else is "other", so the metrics a
// stack pays for are fixed by its configuration.
func TestBoundedTagValues(t *testing.T) {
	at := time.Now()
	e := audit.NewBoundedEMF("", []string{"team", "feature"}, map[string][]string{"team": {"triage", "billing"}})
	for _, tt := range []struct {
		tags          map[string]string
		team, feature string
	}{
		{map[string]string{"team": "triage", "feature": "refill"}, "triage", "other"},
		{map[string]string{"team": "billing"}, "billing", "untagged"},
		{map[string]string{"team": "patient-4711"}, "other", "untagged"},
		{map[string]string{"team": "  "}, "untagged", "untagged"},
		{map[string]string{"team": "Triage"}, "other", "untagged"},
	} {
		line := e.AppendLine(nil, &audit.Record{Route: "r", Status: 200, Time: at, Tags: tt.tags})
		if err := audit.ValidateEMF(line, at); err != nil {
			t.Fatalf("%s\n%v", line, err)
		}
		_, m := decodeLine(t, line)
		if m["team"] != tt.team || m["feature"] != tt.feature {
			t.Errorf("tags %v: team %v feature %v, want %s and %s", tt.tags, m["team"], m["feature"], tt.team, tt.feature)
		}
	}
	if audit.OtherValue != config.OtherTagValue || audit.UntaggedValue != config.UntaggedTagValue {
		t.Error("the configuration reserves other tag values than the metrics line uses")
	}
}

// A request on a route that caches carries a second directive, [Route]
// only, counting the hit and what it saved; other requests carry none.
func TestCacheLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	e := audit.NewEMF("NS", []string{"team"})
	for _, tt := range []struct {
		cache        string
		hits, saved  float64
		directives   int
		costOnTheHit float64
	}{
		{"", 0, 0, 1, 0.002},
		{audit.CacheMiss, 0, 0, 2, 0.002},
		{audit.CacheBypass, 0, 0, 2, 0.002},
		{audit.CacheHit, 1, 0.002, 2, 0},
	} {
		rec := &audit.Record{RequestID: "req_1", Time: at, Route: "faq", Model: "m", Provider: "p", Status: 200,
			CostUSD: tt.costOnTheHit, Cache: tt.cache}
		if tt.cache == audit.CacheHit {
			rec.CacheSavedUSD = 0.002
		}
		line := e.AppendLine(nil, rec)
		if err := audit.ValidateEMF(line, at); err != nil {
			t.Fatalf("%q: %s\n%v", tt.cache, line, err)
		}
		var doc emfDoc
		var m map[string]any
		if json.Unmarshal(line, &doc) != nil || json.Unmarshal(line, &m) != nil {
			t.Fatalf("%s", line)
		}
		if len(doc.AWS.CloudWatchMetrics) != tt.directives {
			t.Fatalf("%q: %d directives in %s", tt.cache, len(doc.AWS.CloudWatchMetrics), line)
		}
		if tt.directives == 1 {
			if _, ok := m[audit.MetricCacheHits]; ok {
				t.Errorf("a route without a cache counts CacheHits: %s", line)
			}
			continue
		}
		d := doc.AWS.CloudWatchMetrics[1]
		if d.Namespace != "NS" || !reflect.DeepEqual(d.Dimensions, audit.CacheDimensionSets()) || !reflect.DeepEqual(d.Metrics, audit.CacheMetrics()) {
			t.Errorf("%q: cache directive %+v", tt.cache, d)
		}
		if m[audit.MetricCacheHits] != tt.hits || m[audit.MetricCacheSavedUSD] != tt.saved || m[audit.MetricCostUSD] != tt.costOnTheHit {
			t.Errorf("%q: CacheHits %v CacheSavedUSD %v CostUSD %v", tt.cache, m[audit.MetricCacheHits], m[audit.MetricCacheSavedUSD], m[audit.MetricCostUSD])
		}
	}
}
