package dynamo

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/health"
)

func benchResult(provider, model, id string, at time.Time, ttft float64) health.BenchmarkResult {
	return health.BenchmarkResult{Provider: provider, Model: model, RunAt: at, RunID: id, DataClass: "benchmark",
		Requests: 9, ErrorRate: 1.0 / 9, Checked: 6, PassRate: 5.0 / 6, TTFTMs: ttft, P50Ms: ttft * 3, P90Ms: ttft * 5,
		CostUSD: 0.000123, Priced: true, PromptTokens: 812, CompletionTokens: 301}
}

// A run's result goes to the target's own partition, sorted by run time,
// and the latest one into the health partition, where ReadHealthState (the
// routers' one Query) returns it beside probes and breakers, and ListHealth
// (the health function's) leaves it out.
func TestBenchmarkItems(t *testing.T) {
	f := newFixture(t)
	s := f.state()
	ctx := context.Background()
	now := f.clock.Now().UTC().Truncate(time.Millisecond)
	week := 7 * 24 * time.Hour
	if _, err := s.PutHealth(ctx, health.ProbeState{Provider: "openai", Model: "gpt-4o-mini", Status: health.StatusHealthy, CheckedAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBreaker(ctx, health.SharedBreaker{Provider: "openai", Model: "gpt-4o-mini", State: health.BreakerOpen,
		OpenedAt: now, OpenUntil: now.Add(30 * time.Second), Failures: 5, Router: "r"}); err != nil {
		t.Fatal(err)
	}
	first := benchResult("openai", "gpt-4o-mini", "run1", now.Add(-week), 420.5)
	second := benchResult("openai", "gpt-4o-mini", "run2", now, 380.25)
	other := benchResult("anthropic", "claude-haiku", "run2", now, 510)
	other.Priced, other.CostUSD, other.Checked, other.PassRate = false, 0, 0, 0
	for _, r := range []health.BenchmarkResult{first, second, other} {
		if err := s.PutBenchmark(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A run that overlapped and finished late does not replace the later
	// run's latest result; its own history item is kept.
	late := benchResult("openai", "gpt-4o-mini", "run1b", now.Add(-time.Hour), 999)
	if err := s.PutBenchmark(ctx, late); err != nil {
		t.Fatal(err)
	}

	runs, err := s.BenchmarkRuns(ctx, "openai", "gpt-4o-mini", 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []health.BenchmarkResult{second, late, first}; !reflect.DeepEqual(runs, want) {
		t.Errorf("runs, latest first:\n got %+v\nwant %+v", runs, want)
	}
	if runs, err := s.BenchmarkRuns(ctx, "openai", "gpt-4o-mini", 1); err != nil || len(runs) != 1 || runs[0].RunID != "run2" {
		t.Errorf("the last run = %+v, %v", runs, err)
	}

	st, err := s.ReadHealthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Probes) != 1 || len(st.Breakers) != 1 {
		t.Errorf("probes %+v, breakers %+v", st.Probes, st.Breakers)
	}
	got := map[string]health.BenchmarkResult{}
	for _, b := range st.Benchmarks {
		got[b.Provider+"/"+b.Model] = b
	}
	if len(got) != 2 || !reflect.DeepEqual(got["openai/gpt-4o-mini"], second) || !reflect.DeepEqual(got["anthropic/claude-haiku"], other) {
		t.Errorf("latest benchmarks = %+v", st.Benchmarks)
	}
	if hs, err := s.ListHealth(ctx); err != nil || len(hs) != 1 {
		t.Errorf("ListHealth = %+v, %v; want the probe item only", hs, err)
	}

	// The keys and expiries docs/DYNAMODB.md gives.
	item := func(pk, sk string) map[string]string {
		out, err := f.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(stateTable), Key: key(pk, sk)})
		if err != nil || out.Item == nil {
			t.Fatalf("no item %s / %s: %v", pk, sk, err)
		}
		return map[string]string{"run_at": numberAttr(out.Item, "run_at"), "expires_at": numberAttr(out.Item, AttrExpires),
			"ttft_ms": numberAttr(out.Item, "ttft_ms")}
	}
	hist := item("bench#openai#gpt-4o-mini", now.Format("2006-01-02T15:04:05.000Z")+"#run2")
	if hist["expires_at"] != strconv.FormatInt(now.Add(400*24*time.Hour).Unix(), 10) || hist["run_at"] != strconv.FormatInt(now.UnixMilli(), 10) ||
		hist["ttft_ms"] != "380.25" {
		t.Errorf("history item %v", hist)
	}
	if latest := item("health", "#bench#openai#gpt-4o-mini"); latest["expires_at"] != strconv.FormatInt(now.Add(35*24*time.Hour).Unix(), 10) {
		t.Errorf("latest item %v", latest)
	}

	// Five missed weekly runs later the latest result no longer counts, even
	// before DynamoDB deletes it; the history stays for a year.
	f.clock.Advance(36 * 24 * time.Hour)
	if st, err := s.ReadHealthState(ctx); err != nil || len(st.Benchmarks) != 0 || len(st.Probes) != 1 {
		t.Errorf("after 36 days: %+v, %v", st, err)
	}
	if runs, err := s.BenchmarkRuns(ctx, "openai", "gpt-4o-mini", 0); err != nil || len(runs) != 3 {
		t.Errorf("history after 36 days: %d runs, %v", len(runs), err)
	}
	f.clock.Advance(400 * 24 * time.Hour)
	if runs, err := s.BenchmarkRuns(ctx, "openai", "gpt-4o-mini", 0); err != nil || len(runs) != 0 {
		t.Errorf("history after 436 days: %+v, %v", runs, err)
	}
	if err := s.PutBenchmark(ctx, health.BenchmarkResult{Provider: "openai", Model: "gpt-4o-mini"}); err == nil {
		t.Error("a result without its run time and id was written")
	}
}

// docs/DYNAMODB.md gives the benchmark items' keys, condition and expiries
// as the code has them.
func TestBenchmarkItemsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/DYNAMODB.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"`" + benchHistoryPK("<provider>", "<model>") + "`",
		"`" + benchLatestSK("<provider>", "<model>") + "`",
		"`" + strings.NewReplacer("#at", attrRunAt, ":at", ":"+attrRunAt).Replace("attribute_not_exists(#at) OR #at <= :at") + "`",
		fmt.Sprintf("plus %d days", int(BenchmarkHistoryTTL.Hours()/24)),
		fmt.Sprintf("plus %d days", int(BenchmarkLatestTTL.Hours()/24)),
		"`<run time, 2006-01-02T15:04:05.000Z>#<run_id>`",
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/DYNAMODB.md does not say %s", want)
		}
	}
	for _, attr := range []string{attrRunAt, attrRunID, attrDataClass, attrRequests, attrErrorRate, attrChecked, attrPassRate,
		attrTTFT, attrP50, attrP90, attrCost, attrPriced, attrPromptTokens, attrComplTokens} {
		if !strings.Contains(string(doc), "`"+attr+"`") {
			t.Errorf("docs/DYNAMODB.md does not name the attribute %s", attr)
		}
	}
}

// A configuration's benchmarks section is stored in the settings item and
// reads back equal; one without it hashes as before the section existed
// (TestListFormClassesStoreAsBefore pins that hash).
func TestBenchmarksSectionRoundTrip(t *testing.T) {
	f := newFixture(t)
	want := loadFile(t, "testdata/full.yaml")
	want.Benchmarks = &config.Benchmarks{DataClass: "internal", Runs: 2, Concurrency: 3, Timeout: config.Duration(45 * time.Second),
		Prompts: []config.BenchmarkPrompt{
			{Name: "short", Messages: []config.BenchmarkMessage{{Role: "user", Content: "Say hello."}}, MaxTokens: 16},
			{Name: "invoice", Messages: []config.BenchmarkMessage{{Role: "system", Content: "JSON only."}, {Role: "user", Content: "Invoice INV-7 for 12.50."}},
				Schema: "invoice"},
			{Name: "exact", Messages: []config.BenchmarkMessage{{Role: "user", Content: "2+2?"}}, Expect: "4"},
		}}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	res := f.write(t, want)
	if res.Items != 22 { // the same items as without the section: it lives in the settings item
		t.Errorf("items = %d, want 22", res.Items)
	}
	got, err := f.source().Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back %+v, want %+v", got.Benchmarks, want.Benchmarks)
	}
}
