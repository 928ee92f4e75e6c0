// Command cost-report prints what the router spent in a period, per model,
// provider, route and tag, from the CloudWatch metrics the router emits
// (CostUSD, Requests, PromptTokens, CompletionTokens):
//
//	go run ./scripts/cost-report [-month 2026-03 | -start 2026-03-01 -end 2026-03-15 | -days 30]
//	                             [-namespace LLMRouter] [-format table|csv]
//
// It lists the metrics of the namespace (ListMetrics), so new models, routes
// and tag values need no flag, and sums them hour by hour (GetMetricData,
// period 3600, statistic Sum) over the period, whose ends are rounded out to
// whole hours. Providers are the sum of their models; the total is the sum
// of the routes (every request is counted once per dimension set). Tags are
// the configuration's metrics.tag_dimensions; requests without the tag show
// as "untagged". CloudWatch keeps hourly data for 455 days.
// AWS_ENDPOINT_URL points it at an emulator.
package main

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llm-router/router/shared/awshttp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/llm-router/router/shared/audit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, time.Now(), nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "cost-report:", err)
		os.Exit(1)
	}
}

// CloudWatch is the part of the CloudWatch client the report uses.
type CloudWatch interface {
	cloudwatch.ListMetricsAPIClient
	cloudwatch.GetMetricDataAPIClient
}

var _ CloudWatch = (*cloudwatch.Client)(nil)

// run is the command. awsCfg, when set, replaces the SDK's default
// configuration chain (tests point it at moto).
func run(ctx context.Context, args []string, env func(string) (string, bool), now time.Time, awsCfg *aws.Config, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cost-report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defNS := audit.DefaultNamespace
	if v, ok := env("ROUTER_METRICS_NAMESPACE"); ok && v != "" {
		defNS = v
	}
	ns := fs.String("namespace", defNS, "CloudWatch namespace (ROUTER_METRICS_NAMESPACE)")
	month := fs.String("month", "", "a calendar month in UTC, YYYY-MM")
	start := fs.String("start", "", "start, YYYY-MM-DD (UTC) or RFC 3339")
	end := fs.String("end", "", "end, exclusive, YYYY-MM-DD (UTC) or RFC 3339 (default: now)")
	days := fs.Int("days", 30, "the last N days, when neither -month nor -start is given")
	format := fs.String("format", "table", "table or csv")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if *format != "table" && *format != "csv" {
		return fmt.Errorf("-format %q: want table or csv", *format)
	}
	from, to, err := period(now, *month, *start, *end, *days)
	if err != nil {
		return err
	}
	cfg, err := awshttp.Config(ctx, awsCfg)
	if err != nil {
		return err
	}
	awsCfg = &cfg
	rep, err := Build(ctx, cloudwatch.NewFromConfig(*awsCfg, func(o *cloudwatch.Options) {
		if awsCfg.BaseEndpoint != nil {
			// Emulators (moto, LocalStack) speak CloudWatch's query protocol,
			// which AWS still serves, not the CBOR the SDK now sends.
			o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
		}
	}), *ns, from, to)
	if err != nil {
		return err
	}
	if *format == "csv" {
		return rep.CSV(stdout)
	}
	return rep.Table(stdout)
}

// period works out [from, to) from the flags, rounded out to whole hours.
func period(now time.Time, month, start, end string, days int) (time.Time, time.Time, error) {
	var from, to time.Time
	switch {
	case month != "" && (start != "" || end != ""):
		return from, to, errors.New("-month and -start/-end exclude each other")
	case month != "":
		m, err := time.Parse("2006-01", month)
		if err != nil {
			return from, to, fmt.Errorf("-month %q: want YYYY-MM", month)
		}
		from, to = m, m.AddDate(0, 1, 0)
	case start != "":
		var err error
		if from, err = parseTime(start); err != nil {
			return from, to, fmt.Errorf("-start: %w", err)
		}
		to = now
		if end != "" {
			if to, err = parseTime(end); err != nil {
				return from, to, fmt.Errorf("-end: %w", err)
			}
		}
	default:
		if days <= 0 {
			return from, to, fmt.Errorf("-days %d: want a positive number", days)
		}
		to = now
		from = now.AddDate(0, 0, -days)
	}
	from = from.UTC().Truncate(time.Hour)
	if t := to.UTC().Truncate(time.Hour); t.Before(to) {
		to = t.Add(time.Hour)
	} else {
		to = t
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("empty period %s to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q: want YYYY-MM-DD or RFC 3339", s)
	}
	return t, nil
}

// Row is the spend of one model, provider, route or tag value.
type Row struct {
	// Kind is model, provider, route or tag:NAME.
	Kind string
	// Name is the model id, provider, route or tag value.
	Name string
	// Provider is the model's provider (model rows only).
	Provider                                 string
	Requests, PromptTokens, CompletionTokens float64
	CostUSD                                  float64
}

// Report is the spend of a period.
type Report struct {
	Namespace string
	From, To  time.Time
	Rows      []Row
}

// reported are the metrics the report sums, in Row's order.
func reported() []string {
	return []string{audit.MetricRequests, audit.MetricPromptTokens, audit.MetricCompletionTokens, audit.MetricCostUSD}
}

// maxQueries is GetMetricData's limit of queries per call.
const maxQueries = 500

// Build reads the period's metrics from CloudWatch.
func Build(ctx context.Context, cw CloudWatch, namespace string, from, to time.Time) (*Report, error) {
	rep := &Report{Namespace: namespace, From: from, To: to}
	// Every series that ever had a cost: its dimensions say what it is.
	var series [][]types.Dimension
	p := cloudwatch.NewListMetricsPaginator(cw, &cloudwatch.ListMetricsInput{Namespace: aws.String(namespace),
		MetricName: aws.String(audit.MetricCostUSD)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list metrics of %s: %w", namespace, err)
		}
		for _, m := range page.Metrics {
			if _, ok := rowOf(m.Dimensions); ok && !slices.ContainsFunc(series, func(d []types.Dimension) bool {
				return sameDimensions(d, m.Dimensions)
			}) {
				series = append(series, m.Dimensions)
			}
		}
	}
	var queries []types.MetricDataQuery
	for i, dims := range series {
		row, _ := rowOf(dims)
		rep.Rows = append(rep.Rows, row)
		for j, name := range reported() {
			queries = append(queries, types.MetricDataQuery{Id: aws.String(fmt.Sprintf("s%d_%d", i, j)), ReturnData: aws.Bool(true),
				MetricStat: &types.MetricStat{Period: aws.Int32(3600), Stat: aws.String("Sum"),
					Metric: &types.Metric{Namespace: aws.String(namespace), MetricName: aws.String(name), Dimensions: dims}}})
		}
	}
	for start := 0; start < len(queries); start += maxQueries {
		batch := queries[start:min(start+maxQueries, len(queries))]
		dp := cloudwatch.NewGetMetricDataPaginator(cw, &cloudwatch.GetMetricDataInput{MetricDataQueries: batch,
			StartTime: aws.Time(from), EndTime: aws.Time(to)})
		for dp.HasMorePages() {
			page, err := dp.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("get metric data: %w", err)
			}
			for _, r := range page.MetricDataResults {
				var i, j int
				if _, err := fmt.Sscanf(aws.ToString(r.Id), "s%d_%d", &i, &j); err != nil || i >= len(rep.Rows) || j >= len(reported()) {
					continue
				}
				var sum float64
				for _, v := range r.Values {
					sum += v
				}
				row := &rep.Rows[i]
				switch reported()[j] {
				case audit.MetricRequests:
					row.Requests += sum
				case audit.MetricPromptTokens:
					row.PromptTokens += sum
				case audit.MetricCompletionTokens:
					row.CompletionTokens += sum
				case audit.MetricCostUSD:
					row.CostUSD += sum
				}
			}
		}
	}
	rep.Rows = slices.DeleteFunc(rep.Rows, func(r Row) bool { return r.Requests == 0 && r.CostUSD == 0 })
	rep.addProviders()
	rep.sort()
	return rep, nil
}

// rowOf tells what a series is from its dimensions: a model (Model and
// Provider), a route (Route) or a tag value (one other dimension).
func rowOf(dims []types.Dimension) (Row, bool) {
	get := func(name string) string {
		for _, d := range dims {
			if aws.ToString(d.Name) == name {
				return aws.ToString(d.Value)
			}
		}
		return ""
	}
	switch {
	case len(dims) == 2 && get(audit.DimModel) != "" && get(audit.DimProvider) != "":
		return Row{Kind: "model", Name: get(audit.DimModel), Provider: get(audit.DimProvider)}, true
	case len(dims) == 1 && aws.ToString(dims[0].Name) == audit.DimRoute:
		return Row{Kind: "route", Name: aws.ToString(dims[0].Value)}, true
	case len(dims) == 1:
		return Row{Kind: "tag:" + aws.ToString(dims[0].Name), Name: aws.ToString(dims[0].Value)}, true
	}
	return Row{}, false
}

// sameDimensions reports whether two series have the same dimensions, in
// any order (ListMetrics may list a series more than once).
func sameDimensions(a, b []types.Dimension) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y types.Dimension) bool {
			return aws.ToString(x.Name) == aws.ToString(y.Name) && aws.ToString(x.Value) == aws.ToString(y.Value)
		}) {
			return false
		}
	}
	return true
}

// addProviders sums the model rows by provider.
func (r *Report) addProviders() {
	byName := map[string]*Row{}
	var order []string
	for _, m := range r.Rows {
		if m.Kind != "model" {
			continue
		}
		p, ok := byName[m.Provider]
		if !ok {
			p = &Row{Kind: "provider", Name: m.Provider}
			byName[m.Provider] = p
			order = append(order, m.Provider)
		}
		p.Requests += m.Requests
		p.PromptTokens += m.PromptTokens
		p.CompletionTokens += m.CompletionTokens
		p.CostUSD += m.CostUSD
	}
	for _, name := range order {
		r.Rows = append(r.Rows, *byName[name])
	}
}

// kindRank orders the report's sections.
func kindRank(kind string) int {
	switch kind {
	case "model":
		return 0
	case "provider":
		return 1
	case "route":
		return 2
	}
	return 3
}

func (r *Report) sort() {
	slices.SortFunc(r.Rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), strings.Compare(a.Kind, b.Kind),
			cmp.Compare(b.CostUSD, a.CostUSD), strings.Compare(a.Name, b.Name), strings.Compare(a.Provider, b.Provider))
	})
}

// Total is the period's whole spend and traffic: the sum of the routes.
func (r *Report) Total() Row {
	t := Row{Kind: "total", Name: "all requests"}
	for _, row := range r.Rows {
		if row.Kind == "route" {
			t.Requests += row.Requests
			t.PromptTokens += row.PromptTokens
			t.CompletionTokens += row.CompletionTokens
			t.CostUSD += row.CostUSD
		}
	}
	return t
}

// usd rounds a sum of costs to 1e-9 USD, below any price's precision, to
// keep float noise out of the output.
func usd(v float64) float64 { return math.Round(v*1e9) / 1e9 }

// Table writes the report for a reader: one section per kind, most
// expensive first, each with its share of the total.
func (r *Report) Table(w io.Writer) error {
	total := r.Total()
	fmt.Fprintf(w, "LLM router spend, %s to %s (UTC), namespace %s\n", r.From.Format("2006-01-02 15:04"),
		r.To.Format("2006-01-02 15:04"), r.Namespace)
	fmt.Fprintf(w, "total: %s USD over %.0f requests (%.0f prompt and %.0f completion tokens)\n",
		strconv.FormatFloat(usd(total.CostUSD), 'f', 6, 64), total.Requests, total.PromptTokens, total.CompletionTokens)
	// One section per kind: names left-aligned, numbers right-aligned.
	for start := 0; start < len(r.Rows); {
		end := start
		for end < len(r.Rows) && r.Rows[end].Kind == r.Rows[start].Kind {
			end++
		}
		cells := [][]string{{strings.ToUpper(r.Rows[start].Kind), "REQUESTS", "PROMPT TOKENS", "COMPLETION TOKENS", "COST USD", "SHARE"}}
		for _, row := range r.Rows[start:end] {
			name := row.Name
			if row.Provider != "" {
				name += " (" + row.Provider + ")"
			}
			share := 0.0
			if total.CostUSD > 0 {
				share = 100 * row.CostUSD / total.CostUSD
			}
			cells = append(cells, []string{name, fmt.Sprintf("%.0f", row.Requests), fmt.Sprintf("%.0f", row.PromptTokens),
				fmt.Sprintf("%.0f", row.CompletionTokens), fmt.Sprintf("%.6f", usd(row.CostUSD)), fmt.Sprintf("%.1f%%", share)})
		}
		width := make([]int, len(cells[0]))
		for _, c := range cells {
			for i, v := range c {
				width[i] = max(width[i], len(v))
			}
		}
		fmt.Fprintln(w)
		for _, c := range cells {
			line := fmt.Sprintf("%-*s", width[0], c[0])
			for i := 1; i < len(c); i++ {
				line += fmt.Sprintf("  %*s", width[i], c[i])
			}
			fmt.Fprintln(w, line)
		}
		start = end
	}
	if len(r.Rows) == 0 {
		fmt.Fprintln(w, "\nno requests in the period")
	}
	return nil
}

// CSV writes one line per row, and a total, with a header.
func (r *Report) CSV(w io.Writer) error {
	c := csv.NewWriter(w)
	from, to := r.From.Format(time.RFC3339), r.To.Format(time.RFC3339)
	_ = c.Write([]string{"start", "end", "dimension", "value", "provider", "requests", "prompt_tokens", "completion_tokens", "cost_usd"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, row := range append(slices.Clone(r.Rows), r.Total()) {
		_ = c.Write([]string{from, to, row.Kind, row.Name, row.Provider, num(row.Requests), num(row.PromptTokens),
			num(row.CompletionTokens), num(usd(row.CostUSD))})
	}
	c.Flush()
	return c.Error()
}
