package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

// demo runs on the built-in simulator: no keys, no network.
const demo = `
providers:
  - {name: sim-east, type: mock, mock: {latency: 30ms}}
  - {name: sim-west, type: mock, mock: {latency: 5ms, fail_rate: 0.5, seed: 3}}
  - {name: sim-phi, type: mock, compliance: [hipaa], mock: {reply: "4"}}
models:
  - {id: east-large, provider: sim-east, price: {input: 2.5, output: 10}}
  - {id: west-small, provider: sim-west, price: {input: 0.15, output: 0.6}}
  - {id: phi-only, provider: sim-phi}
routes:
  - name: chat
    strategy: latency
    targets: [{model: east-large}, {model: west-small}]
  - name: notes
    targets: [{model: phi-only}]
data_classes:
  phi: [hipaa]
  benchmark: [hipaa]
schemas:
  contact:
    type: object
    properties: {name: {type: string}, city: {type: string}}
    required: [name, city]
benchmarks:
  data_class: BENCH_CLASS
  runs: 2
  prompts:
    - {name: triage-short, messages: [{role: user, content: "Summarise: the printer is out of toner."}], max_tokens: 64}
    - {name: json-extract, messages: [{role: user, content: "Ada lives in Paris. Give her name and city."}], schema: contact}
    - {name: exact, messages: [{role: user, content: "What is 2+2? Answer with the number only."}], expect: "4"}
`

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// rows returns the report's data rows (a date, then the figures) per model
// heading.
func rows(out string) map[string][]string {
	got := map[string][]string{}
	var model string
	row := regexp.MustCompile(`^  \d{4}-\d{2}-\d{2} \d{2}:\d{2}  `)
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line != "" && !strings.HasPrefix(line, " "):
			model = line
		case row.MatchString(line):
			got[model] = append(got[model], strings.Join(strings.Fields(line)[2:], " "))
		}
	}
	return got
}

// A local run reads a file configuration, skips what the class forbids,
// appends its results to -out, and -report -in prints them per model.
func TestLocalRunAndReportFromFile(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(demo, "BENCH_CLASS", "benchmark", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "runs.jsonl")
	env := envOf(map[string]string{"ROUTER_CONFIG": cfgPath})
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		var out, errOut bytes.Buffer
		if err := run(ctx, []string{"-out", results}, env, nil, &out, &errOut); err != nil {
			t.Fatalf("run: %v\n%s", err, errOut.String())
		}
		// The class requires hipaa: only phi-only's provider has it.
		if !strings.Contains(out.String(), "skipped east-large (sim-east): compliance: provider sim-east lacks hipaa (data class benchmark)") ||
			!strings.Contains(out.String(), "phi-only (sim-phi)") || !strings.Contains(out.String(), "not stored") || errOut.Len() != 0 {
			t.Errorf("run output:\n%s\nstderr:\n%s", out.String(), errOut.String())
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"-report", "-in", results}, env, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	got := rows(out.String())
	// The simulator answers "4" to everything: the exact prompt passes,
	// the schema prompt does not; it has no price, so no cost.
	r := got["phi-only (sim-phi)"]
	if len(got) != 1 || len(r) != 2 || !strings.HasSuffix(r[0], "0% 50% -") || !strings.HasSuffix(r[1], "0% 50% -") {
		t.Errorf("report:\n%s", out.String())
	}
}

// With the DynamoDB store a run reads the config table and writes the state
// table; -report reads each model's latest runs back, newest first.
func TestRunsAndReportFromTheStateTable(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	if err := dynamo.CreateTables(ctx, db, "cfg", "st"); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(strings.Replace(strings.Replace(demo, "BENCH_CLASS", "open", 1), "  benchmark: [hipaa]\n", "  open: []\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.WriteConfig(ctx, db, "cfg", dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	env := envOf(map[string]string{"ROUTER_STORE": "dynamodb", "ROUTER_CONFIG_TABLE": "cfg", "ROUTER_STATE_TABLE": "st"})
	for i := 0; i < 3; i++ {
		var out, errOut bytes.Buffer
		if err := run(ctx, nil, env, &cfg, &out, &errOut); err != nil {
			t.Fatalf("run %d: %v\n%s", i, err, errOut.String())
		}
		if !strings.Contains(out.String(), "3 of 3 results written to the state table") {
			t.Errorf("run output:\n%s", out.String())
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"-report", "-last", "2"}, env, &cfg, &out, &out); err != nil {
		t.Fatal(err)
	}
	got := rows(out.String())
	if len(got) != 3 {
		t.Fatalf("report:\n%s", out.String())
	}
	for model, rs := range got {
		if len(rs) != 2 {
			t.Errorf("%s: %d runs, want the last 2", model, len(rs))
		}
	}
	// Priced models show their cost; the simulator's fail_rate shows as errors.
	if east := got["east-large (sim-east)"][0]; !regexp.MustCompile(`^[0-9.]+ [0-9.]+ [0-9.]+ 0% 50% 0\.[0-9]{6}$`).MatchString(east) {
		t.Errorf("east-large: %q", east)
	}
	if west := strings.Fields(got["west-small (sim-west)"][0]); len(west) != 6 || west[3] == "0%" {
		t.Errorf("west-small: %q, want failed calls", west)
	}
	out.Reset()
	if err := run(ctx, []string{"-report", "-model", "west-small"}, env, &cfg, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got := rows(out.String()); len(got) != 1 || len(got["west-small (sim-west)"]) != 3 {
		t.Errorf("report of west-small:\n%s", out.String())
	}
}
