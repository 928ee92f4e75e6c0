package main

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
	"github.com/llm-router/router/shared/wiring"
)

const upstreamKey = "sk-test-benchmark-upstream"

// slowDelay is the slow upstream's time before it answers: a floor under
// every latency the benchmark measures on it.
const slowDelay = 300 * time.Millisecond

// answers gives right answers, or a wrong one to the exact prompt.
func answers(delay time.Duration, wrongExact bool) func(openaitest.Received) openaitest.Reply {
	return func(r openaitest.Received) openaitest.Reply {
		reply := openaitest.Reply{Delay: delay, Text: "The printer needs toner."}
		switch body := string(r.Body); {
		case strings.Contains(body, `"response_format"`):
			reply.Text = `{"name":"Ada","city":"Paris"}`
		case strings.Contains(body, "2+2") && wrongExact:
			reply.Text = "It is 4."
		case strings.Contains(body, "2+2"):
			reply.Text = "4"
		}
		return reply
	}
}

const benchConfig = `
providers:
  - {name: quick, type: openai, base_url: "QUICK_URL", key: "secret:#openai", compliance: [zdr]}
  - {name: steady, type: openai, dialect: openai, base_url: "STEADY_URL", key: "secret:#openai", compliance: [zdr, hipaa]}
  - {name: retains, type: openai, base_url: "RETAINS_URL", key: "secret:#openai"}
models:
  - {id: quick-mini, provider: quick, price: {input: 1, output: 2}}
  # Unpriced here: the list-price catalog prices it as OpenAI's gpt-4o-mini.
  - {id: steady-mini, provider: steady, upstream: gpt-4o-mini}
  - {id: retains-mini, provider: retains, price: {input: 1, output: 1}}
routes:
  - name: chat
    strategy: latency
    targets: [{model: steady-mini}, {model: quick-mini}]
  - name: archive
    targets: [{model: retains-mini}]
data_classes:
  phi: [hipaa]
  benchmark: [zdr]
schemas:
  contact:
    type: object
    properties: {name: {type: string}, city: {type: string}}
    required: [name, city]
benchmarks:
  data_class: benchmark
  runs: 2
  timeout: 10s
  prompts:
    - {name: triage-short, messages: [{role: user, content: "Summarise: the printer is out of toner."}], max_tokens: 64}
    - {name: json-extract, messages: [{role: user, content: "Ada lives in Paris. Give her name and city."}], schema: contact}
    - {name: exact, messages: [{role: user, content: "What is 2+2? Answer with the number only."}], expect: "4"}
`

// TestWeeklyScheduleThroughBootstrap runs the real bootstrap, as Lambda runs
// it, against a loopback Runtime API and moto: two invocations of
// events/benchmark-schedule.json measure every model of the routes under
// the benchmark class (the provider without its tag gets nothing) and leave
// two runs per model in the state table, the latest in the health
// partition. A router built as main builds it then orders its latency route
// by those results, with no live traffic yet.
func TestWeeklyScheduleThroughBootstrap(t *testing.T) {
	bin := awstest.BuildBootstrap(t, ".")

	m := awstest.Start(t)
	awsCfg := m.Config()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsCfg)
	if err := dynamo.CreateTables(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultStateTable); err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("llm-router/provider-keys"), SecretString: aws.String(`{"openai":"` + upstreamKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	quick := openaitest.NewServer("quick", answers(0, false))
	steady := openaitest.NewServer("steady", answers(slowDelay, true))
	retains := openaitest.NewServer("retains", answers(0, false))
	for _, s := range []*openaitest.Server{quick, steady, retains} {
		defer s.Close()
	}
	yaml := strings.NewReplacer("QUICK_URL", quick.BaseURL(), "STEADY_URL", steady.BaseURL(), "RETAINS_URL", retains.BaseURL()).Replace(benchConfig)
	c, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.WriteConfig(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}

	fn := awstest.StartFunction(t, bin, append(m.Env(), "AWS_LAMBDA_FUNCTION_NAME=llm-router-BenchmarkFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256")...)
	rt, stdout, stderr := fn.RT, fn.Stdout, fn.Stderr

	payload, err := os.ReadFile("../../events/benchmark-schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		_, body, err := rt.Invoke(payload, time.Minute).Result(wctx)
		cancel()
		if err != nil || string(body) != "null" {
			t.Fatalf("invocation %d: %q, %v", i+1, body, err)
		}
	}

	// Two runs per model: 2 runs of 3 prompts each, one model at a time.
	if quick.Calls() != 12 || steady.Calls() != 12 || retains.Calls() != 0 {
		t.Errorf("calls: quick %d, steady %d, retains %d; want 12, 12 and none (no zdr)", quick.Calls(), steady.Calls(), retains.Calls())
	}
	if got := steady.Received()[0].Header.Get("Authorization"); got != "Bearer "+upstreamKey {
		t.Errorf("the key from Secrets Manager did not reach the upstream: %q", got)
	}

	state := &dynamo.StateStore{DB: db, Table: dynamo.DefaultStateTable}
	snap, err := state.ReadHealthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]health.BenchmarkResult{}
	for _, b := range snap.Benchmarks {
		latest[b.Model] = b
	}
	if len(latest) != 2 {
		t.Fatalf("latest benchmarks %+v, want quick-mini and steady-mini", snap.Benchmarks)
	}
	prices, err := cost.DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	catalog := prices.Price(&c.Providers[1], &c.Models[1])
	perCall := llm.Usage{PromptTokens: 10, CompletionTokens: 5} // the fake's usage
	for _, w := range []struct {
		model    string
		passRate float64
		price    *config.Price
	}{{"quick-mini", 1, c.Models[0].Price}, {"steady-mini", 0.5, catalog}} {
		runs, err := state.BenchmarkRuns(ctx, w.model[:strings.Index(w.model, "-")], w.model, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) != 2 || !runs[0].RunAt.After(runs[1].RunAt) || runs[0] != latest[w.model] {
			t.Errorf("%s: runs %+v, latest %+v", w.model, runs, latest[w.model])
			continue
		}
		r := runs[0]
		wantCost := 6 * cost.USD(w.price, perCall)
		if r.Requests != 6 || r.ErrorRate != 0 || r.Checked != 4 || r.PassRate != w.passRate || !r.Priced ||
			math.Abs(r.CostUSD-wantCost) > 1e-12 || r.PromptTokens != 60 || r.DataClass != "benchmark" {
			t.Errorf("%s = %+v (cost want %v)", w.model, r, wantCost)
		}
	}
	slow := latest["steady-mini"]
	if slow.TTFTMs < float64(slowDelay.Milliseconds()) || slow.P90Ms < slow.TTFTMs {
		t.Errorf("steady-mini waits %v before answering, yet measured ttft %v, p90 %v", slowDelay, slow.TTFTMs, slow.P90Ms)
	}

	// One EMF line per model and run, for the dashboard; the skipped target
	// is reported in the log; no key and no prompt text is output.
	out := stdout.String()
	if n := strings.Count(out, `"Dimensions":[["Model","Provider"]],"Metrics":[{"Name":"BenchmarkTTFTMs"`); n != 4 {
		t.Errorf("%d benchmark metric lines, want 4:\n%s", n, out)
	}
	logs := stderr.String()
	if !strings.Contains(logs, `"msg":"benchmark target skipped"`) || !strings.Contains(logs, `"reason":"compliance: provider retains lacks zdr (data class benchmark)"`) {
		t.Errorf("the skipped target is not reported:\n%s", logs)
	}
	for _, secret := range []string{upstreamKey, "printer", "Paris", "2+2"} {
		if strings.Contains(out+logs, secret) {
			t.Errorf("%q is in the function's output", secret)
		}
	}

	// A router built as main builds it reads the results with its health
	// and, with no live sample yet, orders the latency route by benchmark
	// time to first token: the explain endpoint shows it.
	env := map[string]string{"ROUTER_STORE": "dynamodb"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	settings, err := wiring.ParseSettings(lookup)
	if err != nil {
		t.Fatal(err)
	}
	router, err := wiring.Build(ctx, wiring.Process{Env: lookup, Stdout: io.Discard, Stderr: io.Discard, AWS: &awsCfg}, settings)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(router.Gateway)
	defer srv.Close()
	byTTFT := []string{"quick-mini", "steady-mini"}
	slices.SortStableFunc(byTTFT, func(a, b string) int {
		switch {
		case latest[a].TTFTMs < latest[b].TTFTMs:
			return -1
		case latest[a].TTFTMs > latest[b].TTFTMs:
			return 1
		}
		return 0
	})
	inOrder, explored := 0, 0
	for i := 0; i < 20; i++ {
		got := explain(t, srv.URL, "bench-order-"+strconv.Itoa(i))
		switch {
		case slices.Equal(got, byTTFT):
			inOrder++
		case slices.Equal(got, []string{byTTFT[1], byTTFT[0]}):
			explored++ // the starvation guard sends a few requests to another target first
		default:
			t.Errorf("explain candidates %v, want %v (benchmark ttft %v and %v)", got, byTTFT,
				latest[byTTFT[0]].TTFTMs, latest[byTTFT[1]].TTFTMs)
		}
	}
	if inOrder < 15 {
		t.Errorf("%d of 20 requests in the benchmarks' order, %d explored", inOrder, explored)
	}
}

// explain returns the candidate models of route chat for a named request.
func explain(t *testing.T, base, id string) []string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/router/explain",
		strings.NewReader(`{"model":"chat","messages":[{"role":"user","content":"x"}]}`))
	req.Header.Set("X-Client-Request-Id", id)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Candidates []struct{ Model string }
		Excluded   []struct{ Model, Reason string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, c := range out.Candidates {
		models = append(models, c.Model)
	}
	return models
}
