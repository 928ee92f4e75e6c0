package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/awstest"
)

const ns = "LLMRouterTest"

// putEMF does what CloudWatch Logs does with an EMF line: one datum per
// metric for each dimension set, dimension values and metric values read
// from the line's members.
func putEMF(t *testing.T, cw *cloudwatch.Client, lines [][]byte) {
	t.Helper()
	var data []types.MetricDatum
	for _, line := range lines {
		if err := audit.ValidateEMF(line, time.Now()); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var doc struct {
			AWS struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []audit.Metric
				}
			} `json:"_aws"`
		}
		var members map[string]any
		if json.Unmarshal(line, &doc) != nil || json.Unmarshal(line, &members) != nil {
			t.Fatalf("bad line %s", line)
		}
		for _, d := range doc.AWS.CloudWatchMetrics {
			if d.Namespace != ns {
				t.Fatalf("namespace %s", d.Namespace)
			}
			for _, set := range d.Dimensions {
				var dims []types.Dimension
				for _, name := range set {
					dims = append(dims, types.Dimension{Name: aws.String(name), Value: aws.String(members[name].(string))})
				}
				for _, m := range d.Metrics {
					data = append(data, types.MetricDatum{MetricName: aws.String(m.Name), Dimensions: dims,
						Value: aws.Float64(members[m.Name].(float64)), Unit: types.StandardUnit(m.Unit),
						Timestamp: aws.Time(time.UnixMilli(doc.AWS.Timestamp))})
				}
			}
		}
	}
	for start := 0; start < len(data); start += 500 {
		_, err := cw.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns),
			MetricData: data[start:min(start+500, len(data))]})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// traffic is what the router's EMF lines say of eight requests, one of them
// outside the reported period.
func traffic(now time.Time) [][]byte {
	emf := audit.NewEMF(ns, []string{"team"})
	type req struct {
		ago                        time.Duration
		route, model, provider     string
		team                       string
		prompt, completion, status int
		cost                       float64
	}
	reqs := []req{
		{2 * time.Hour, "triage-low", "deepseek-v4-flash", "deepseek", "triage", 10000, 500, 200, 0.0004424},
		{3 * time.Hour, "triage-low", "deepseek-v4-flash", "deepseek", "triage", 10000, 500, 200, 0.0004424},
		{2 * time.Hour, "triage-high", "claude-sonnet-4-5", "anthropic", "triage", 2600, 40, 200, 0.003375},
		{5 * time.Hour, "triage-high", "claude-sonnet-4-5", "anthropic", "billing", 2600, 40, 200, 0.003375},
		{2 * time.Hour, "triage-low", "gpt-4o-mini", "openai", "", 2000, 300, 200, 0.0003675},
		{4 * time.Hour, "triage-phi", "claude-bedrock", "bedrock", "triage", 130, 5, 200, 0.000231},
		{2 * time.Hour, "doomed", "", "", "", 0, 0, 502, 0},
		{30 * time.Hour, "triage-high", "claude-sonnet-4-5", "anthropic", "triage", 99, 9, 200, 7.5}, // before the period
	}
	var lines [][]byte
	for i, r := range reqs {
		rec := &audit.Record{RequestID: "req_" + strconv.Itoa(i), Time: now.Add(-r.ago), Route: r.route, Model: r.model,
			Provider: r.provider, Status: r.status, CostUSD: r.cost, LatencyMs: 100,
			Usage: audit.Usage{PromptTokens: r.prompt, CompletionTokens: r.completion}}
		if r.team != "" {
			rec.Tags = map[string]string{"team": r.team}
		}
		lines = append(lines, emf.AppendLine(nil, rec))
	}
	return lines
}

func TestCostReport(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	now := time.Now()
	putEMF(t, cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) // moto's protocol
	}), traffic(now))
	env := func(k string) (string, bool) { return ns, k == "ROUTER_METRICS_NAMESPACE" }
	start := now.Add(-24 * time.Hour).UTC().Format(time.RFC3339)

	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"-start", start, "-format", "csv"}, env, now, &cfg, &out, &errs); err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "start,end,dimension,value,provider,requests,prompt_tokens,completion_tokens,cost_usd" {
		t.Fatalf("header %v", rows[0])
	}
	type key struct{ kind, name, provider string }
	type sums struct{ requests, prompt, completion, cost float64 }
	got := map[key]sums{}
	for _, r := range rows[1:] {
		f := func(i int) float64 { v, _ := strconv.ParseFloat(r[i], 64); return v }
		got[key{r[2], r[3], r[4]}] = sums{f(5), f(6), f(7), f(8)}
	}
	// Worked out by hand from traffic(), without the request before the period.
	want := map[key]sums{
		{"model", "deepseek-v4-flash", "deepseek"}:  {2, 20000, 1000, 0.0008848},
		{"model", "claude-sonnet-4-5", "anthropic"}: {2, 5200, 80, 0.00675},
		{"model", "gpt-4o-mini", "openai"}:          {1, 2000, 300, 0.0003675},
		{"model", "claude-bedrock", "bedrock"}:      {1, 130, 5, 0.000231},
		{"model", "none", "none"}:                   {1, 0, 0, 0},
		{"provider", "deepseek", ""}:                {2, 20000, 1000, 0.0008848},
		{"provider", "anthropic", ""}:               {2, 5200, 80, 0.00675},
		{"provider", "openai", ""}:                  {1, 2000, 300, 0.0003675},
		{"provider", "bedrock", ""}:                 {1, 130, 5, 0.000231},
		{"provider", "none", ""}:                    {1, 0, 0, 0},
		{"route", "triage-low", ""}:                 {3, 22000, 1300, 0.0012523},
		{"route", "triage-high", ""}:                {2, 5200, 80, 0.00675},
		{"route", "triage-phi", ""}:                 {1, 130, 5, 0.000231},
		{"route", "doomed", ""}:                     {1, 0, 0, 0},
		{"tag:team", "triage", ""}:                  {4, 22730, 1045, 0.0044908},
		{"tag:team", "billing", ""}:                 {1, 2600, 40, 0.003375},
		{"tag:team", "untagged", ""}:                {2, 2000, 300, 0.0003675},
		{"total", "all requests", ""}:               {7, 27330, 1385, 0.0082333},
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no row %v", k)
			continue
		}
		if g.requests != w.requests || g.prompt != w.prompt || g.completion != w.completion || math.Abs(g.cost-w.cost) > 1e-9 {
			t.Errorf("%v: got %+v, want %+v", k, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(got), len(want), got)
	}

	out.Reset()
	if err := run(context.Background(), []string{"-start", start}, env, now, &cfg, &out, &errs); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, s := range []string{"total: 0.008233 USD over 7 requests", "MODEL", "PROVIDER", "ROUTE", "TAG:TEAM",
		"claude-sonnet-4-5 (anthropic)", "untagged", "82.0%"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	// Most expensive first within a section.
	if i, j := strings.Index(table, "triage-high"), strings.Index(table, "triage-low"); i < 0 || j < 0 || i > j {
		t.Errorf("routes not ordered by cost:\n%s", table)
	}
	t.Logf("\n%s", table)
}

func TestPeriod(t *testing.T) {
	now := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	tests := []struct {
		month, start, end string
		days              int
		from, to          string
		err               string
	}{
		{month: "2026-02", from: "2026-02-01T00:00:00Z", to: "2026-03-01T00:00:00Z"},
		{start: "2026-03-01", from: "2026-03-01T00:00:00Z", to: "2026-03-14T10:00:00Z"},
		{start: "2026-03-01T08:30:00Z", end: "2026-03-02", from: "2026-03-01T08:00:00Z", to: "2026-03-02T00:00:00Z"},
		{days: 7, from: "2026-03-07T09:00:00Z", to: "2026-03-14T10:00:00Z"},
		{month: "2026-13", err: "-month"},
		{month: "2026-02", start: "2026-01-01", err: "exclude"},
		{start: "March", err: "-start"},
		{start: "2026-03-02", end: "2026-03-01", err: "empty period"},
		{days: -1, err: "-days"},
	}
	for _, tt := range tests {
		from, to, err := period(now, tt.month, tt.start, tt.end, tt.days)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%+v: err %v, want %q", tt, err, tt.err)
			}
			continue
		}
		if err != nil || from.Format(time.RFC3339) != tt.from || to.Format(time.RFC3339) != tt.to {
			t.Errorf("%+v: %v to %v (%v)", tt, from, to, err)
		}
	}
}
