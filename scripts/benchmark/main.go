// Command benchmark runs the weekly benchmark once, or reports past runs:
//
//	go run ./scripts/benchmark [-out FILE] [-v]
//	go run ./scripts/benchmark -report [-last N] [-model ID] [-in FILE]
//
// A run is the benchmark function's own code (shared/wiring): the
// configuration as the router reads it (ROUTER_STORE, ROUTER_CONFIG or the
// config table), provider keys from the environment or Secrets Manager. With
// the DynamoDB store its results go to the state table, as the function's
// do; -out also appends them to FILE as JSON lines. It prints the run's
// figures per model; -v shows the function's JSON log on stderr (why calls
// failed or answers did not pass, by prompt name).
//
// -report prints, per model, its latest runs side by side, newest first:
// from the state table, or from FILE with -in. AWS_ENDPOINT_URL points it at
// an emulator. docs/HEALTH.md ("Weekly benchmarks") has the whole picture.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awshttp"
	"github.com/llm-router/router/shared/benchmark"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/store/dynamo"
	"github.com/llm-router/router/shared/wiring"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, nil, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(1)
	}
}

// run is the command. awsCfg, when set, replaces the SDK's default
// configuration chain (tests point it at moto).
func run(ctx context.Context, args []string, env func(string) (string, bool), awsCfg *aws.Config, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	report := fs.Bool("report", false, "print the latest runs per model instead of running")
	last := fs.Int("last", 6, "runs per model in the report")
	model := fs.String("model", "", "report this model only")
	in := fs.String("in", "", "report from this file (a run's -out) instead of the state table")
	out := fs.String("out", "", "also append the run's results to this file, as JSON lines")
	verbose := fs.Bool("v", false, "show the benchmark function's JSON log on stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *last < 1 {
		fs.Usage()
		return errors.New("unexpected arguments")
	}
	s, err := wiring.ParseSettings(env)
	if err != nil {
		return err
	}
	if *report {
		var runs map[key][]health.BenchmarkResult
		if *in != "" {
			runs, err = fromFile(*in, *last)
		} else {
			runs, err = fromTable(ctx, awsCfg, s, *last)
		}
		if err != nil {
			return err
		}
		return printReport(stdout, runs, *model)
	}

	logs := io.Discard
	if *verbose {
		logs = stderr
	}
	b, err := wiring.BuildBenchmark(ctx, wiring.Process{Env: env, Stdout: io.Discard, Stderr: logs, AWS: awsCfg}, s)
	if err != nil {
		return err
	}
	rep, err := b.Runner.Run(ctx)
	if rep != nil {
		printRun(stdout, rep, b.State != nil)
		if *out != "" && len(rep.Results) > 0 {
			if werr := appendFile(*out, rep); werr != nil {
				return werr
			}
			fmt.Fprintf(stdout, "appended to %s\n", *out)
		}
	}
	return err
}

// key names a target.
type key struct{ provider, model string }

// record is one run in a -out file.
type record struct {
	RunID     string              `json:"run_id"`
	RunAt     time.Time           `json:"run_at"`
	DataClass string              `json:"data_class"`
	Results   []result            `json:"results"`
	Skipped   []benchmark.Skipped `json:"skipped,omitempty"`
	NotRun    int                 `json:"not_run,omitempty"`
}

// result is one target's figures in a -out file, named as in the state table.
type result struct {
	Provider         string  `json:"provider"`
	Model            string  `json:"model"`
	Requests         int     `json:"requests"`
	ErrorRate        float64 `json:"error_rate"`
	Checked          int     `json:"checked"`
	PassRate         float64 `json:"pass_rate"`
	TTFTMs           float64 `json:"ttft_ms"`
	P50Ms            float64 `json:"p50_ms"`
	P90Ms            float64 `json:"p90_ms"`
	CostUSD          float64 `json:"cost_usd"`
	Priced           bool    `json:"priced"`
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
}

func appendFile(path string, rep *benchmark.Report) error {
	rec := record{RunID: rep.RunID, RunAt: rep.RunAt, DataClass: rep.DataClass, Skipped: rep.Skipped, NotRun: rep.NotRun}
	for _, r := range rep.Results {
		rec.Results = append(rec.Results, result{Provider: r.Provider, Model: r.Model, Requests: r.Requests, ErrorRate: r.ErrorRate,
			Checked: r.Checked, PassRate: r.PassRate, TTFTMs: r.TTFTMs, P50Ms: r.P50Ms, P90Ms: r.P90Ms, CostUSD: r.CostUSD,
			Priced: r.Priced, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens})
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func fromFile(path string, last int) (map[key][]health.BenchmarkResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	runs := map[key][]health.BenchmarkResult{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		for _, r := range rec.Results {
			k := key{r.Provider, r.Model}
			runs[k] = append(runs[k], health.BenchmarkResult{Provider: r.Provider, Model: r.Model, RunAt: rec.RunAt, RunID: rec.RunID,
				DataClass: rec.DataClass, Requests: r.Requests, ErrorRate: r.ErrorRate, Checked: r.Checked, PassRate: r.PassRate,
				TTFTMs: r.TTFTMs, P50Ms: r.P50Ms, P90Ms: r.P90Ms, CostUSD: r.CostUSD, Priced: r.Priced,
				PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for k, rs := range runs {
		slices.SortStableFunc(rs, func(a, b health.BenchmarkResult) int { return b.RunAt.Compare(a.RunAt) })
		runs[k] = rs[:min(len(rs), last)]
	}
	return runs, nil
}

// fromTable reads the targets that have a latest result in the health
// partition, then each one's runs from its own partition.
func fromTable(ctx context.Context, awsCfg *aws.Config, s wiring.Settings, last int) (map[key][]health.BenchmarkResult, error) {
	cfg, err := awshttp.Config(ctx, awsCfg)
	if err != nil {
		return nil, err
	}
	st := &dynamo.StateStore{DB: dynamodb.NewFromConfig(cfg), Table: s.StateTable}
	snap, err := st.ReadHealthState(ctx)
	if err != nil {
		return nil, err
	}
	runs := map[key][]health.BenchmarkResult{}
	for _, b := range snap.Benchmarks {
		rs, err := st.BenchmarkRuns(ctx, b.Provider, b.Model, last)
		if err != nil {
			return nil, err
		}
		runs[key{b.Provider, b.Model}] = rs
	}
	return runs, nil
}

func printReport(w io.Writer, runs map[key][]health.BenchmarkResult, only string) error {
	keys := make([]key, 0, len(runs))
	for k := range runs {
		if only == "" || k.model == only {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintln(w, "no benchmark runs")
		return err
	}
	slices.SortFunc(keys, func(a, b key) int { return strings.Compare(a.model+"\x00"+a.provider, b.model+"\x00"+b.provider) })
	for i, k := range keys {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s)\n", k.model, k.provider)
		fmt.Fprintf(w, "  %-16s  %8s  %8s  %8s  %6s  %6s  %10s\n", "run (UTC)", "ttft ms", "p50 ms", "p90 ms", "errors", "passed", "cost USD")
		for _, r := range runs[k] {
			fmt.Fprintf(w, "  %-16s  %s\n", r.RunAt.UTC().Format("2006-01-02 15:04"), figures(r))
		}
	}
	return nil
}

// figures is a result's columns: "-" where a figure does not exist.
func figures(r health.BenchmarkResult) string {
	lat := func(v float64) string {
		if r.ErrorRate >= 1 {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	pass, usd := "-", "-"
	if r.Checked > 0 {
		pass = fmt.Sprintf("%.0f%%", 100*r.PassRate)
	}
	if r.Priced {
		usd = fmt.Sprintf("%.6f", r.CostUSD)
	}
	return fmt.Sprintf("%8s  %8s  %8s  %6s  %6s  %10s", lat(r.TTFTMs), lat(r.P50Ms), lat(r.P90Ms),
		fmt.Sprintf("%.0f%%", 100*r.ErrorRate), pass, usd)
}

func printRun(w io.Writer, rep *benchmark.Report, stored bool) {
	fmt.Fprintf(w, "run %s at %s, data class %s\n", rep.RunID, rep.RunAt.Format(time.RFC3339), rep.DataClass)
	fmt.Fprintf(w, "  %-24s  %8s  %8s  %8s  %6s  %6s  %10s\n", "model (provider)", "ttft ms", "p50 ms", "p90 ms", "errors", "passed", "cost USD")
	var total float64
	for _, r := range rep.Results {
		fmt.Fprintf(w, "  %-24s  %s\n", r.Model+" ("+r.Provider+")", figures(r))
		total += r.CostUSD
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "  skipped %s (%s): %s\n", s.Model, s.Provider, s.Reason)
	}
	if rep.NotRun > 0 {
		fmt.Fprintf(w, "  %d calls did not fit before the deadline\n", rep.NotRun)
	}
	switch {
	case stored:
		fmt.Fprintf(w, "  %d of %d results written to the state table; the run cost %.6f USD (priced models)\n",
			rep.Written, len(rep.Results), total)
	default:
		fmt.Fprintf(w, "  not stored (file store: ROUTER_STORE=dynamodb writes to the state table, -out to a file); the run cost %.6f USD (priced models)\n", total)
	}
}
