package audittable_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/awstest"
)

const table = "llm-router-audit-test"

func newTable(t *testing.T) (*awstest.Moto, *dynamodb.Client) {
	t.Helper()
	m := awstest.Start(t)
	db := dynamodb.NewFromConfig(m.Config())
	if err := audittable.CreateTable(t.Context(), db, table); err != nil {
		t.Fatal(err)
	}
	return m, db
}

var day = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

// full is a record with every field set.
func full() *audit.Record {
	return &audit.Record{RequestID: "req_00000000000000a1", Time: day, KeyID: "triage-app", Route: "triage-phi",
		DataClass: "phi", Require: []string{"hipaa"},
		RequireFrom: []audit.RequireSource{{Tag: "hipaa", Source: "route:triage-phi"}, {Tag: "hipaa", Source: "key"}}, Model: "claude-sonnet-bedrock", Provider: "bedrock",
		UpstreamModel: "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Status: 200,
		Attempts: []audit.Attempt{
			{Model: "claude-sonnet-4-5", Provider: "anthropic", Outcome: audit.OutcomeFirstByteTimeout, Status: 504, LatencyMs: 3000.25},
			{Model: "claude-sonnet-bedrock", Provider: "bedrock", Outcome: audit.OutcomeOK, Status: 200, LatencyMs: 812.5}},
		LatencyMs: 3813.75, TTFBMs: 3400.5,
		Usage:   audit.Usage{PromptTokens: 2600, CompletionTokens: 40, CachedTokens: 2000, CacheWriteTokens: 500},
		CostUSD: 0.003375, CacheSavingsUSD: 0.005025, Tags: map[string]string{"team": "triage", "feature": "notes"}, Stream: true,
		ErrorCode: "", Endpoint: "chat.completions", ClientRequestID: "client-7", ProviderCompliance: []string{"hipaa"},
		UsageMissing: true, DowngradedFrom: "triage-high", Limit: "budget:team=triage",
		Structured: audit.StructuredRepaired, Incomplete: true, Rule: "triage.rules[0]", Cache: audit.CacheHit, CacheSavedUSD: 0.0042}
}

// Every field of the record is set in full, so a field added to the audit
// line later fails TestItemIsTheAuditLine until the item carries it too.
func TestFullSetsEveryField(t *testing.T) {
	r := full()
	r.ErrorCode = "x"
	v := reflect.ValueOf(r).Elem()
	for i := range v.NumField() {
		if name := v.Type().Field(i).Name; name != "Metrics" && v.Field(i).IsZero() {
			t.Errorf("full() leaves audit.Record.%s unset", name)
		}
	}
}

// The item has exactly the audit line's names plus
// the index and TTL attributes, and reads back into the same audit line.
func TestItemIsTheAuditLine(t *testing.T) {
	rec := full()
	rec.ErrorCode = "x"
	var line map[string]any
	if err := json.Unmarshal(rec.AppendJSON(nil), &line); err != nil {
		t.Fatal(err)
	}
	item := audittable.Item(rec, 1)
	got := slices.Sorted(maps.Keys(item))
	want := slices.Sorted(maps.Keys(line))
	want = slices.DeleteFunc(want, func(k string) bool { return k == "type" })
	want = append(want, audittable.AttrKeyDay, audittable.AttrTS, audittable.AttrProviders, audittable.AttrExpires)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("item attributes\n got %v\nwant %v", got, want)
	}
	back, err := audittable.Record(item)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := rec.AppendJSON(nil), back.AppendJSON(nil); !bytes.Equal(a, b) {
		t.Errorf("round trip\n got %s\nwant %s", b, a)
	}
}

func TestWriteAndQuery(t *testing.T) {
	_, db := newTable(t)
	s := audittable.New(db, table)
	s.Retention = 30 * 24 * time.Hour

	served := full()
	// Same key and day: one served by openai, one that failed over from
	// openai to mistral, one of another key, one the next day, one refused
	// before its key was known.
	mk := func(id, key string, at time.Time, providers ...string) *audit.Record {
		r := &audit.Record{RequestID: id, Time: at, KeyID: key, Route: "triage-low", Status: 200}
		for i, p := range providers {
			outcome := audit.OutcomeError
			if i == len(providers)-1 {
				outcome, r.Provider, r.Model = audit.OutcomeOK, p, p+"-model"
			}
			r.Attempts = append(r.Attempts, audit.Attempt{Model: p + "-model", Provider: p, Outcome: outcome})
		}
		return r
	}
	recs := []*audit.Record{served,
		mk("req_b", "triage-app", day.Add(time.Hour), "openai"),
		mk("req_c", "triage-app", day.Add(2*time.Hour), "openai", "mistral"),
		mk("req_d", "billing-app", day, "openai"),
		mk("req_e", "triage-app", day.Add(24*time.Hour), "openai"),
		{RequestID: "req_f", Time: day, Status: 401, ErrorCode: "invalid_api_key"},
	}
	for _, r := range recs {
		s.Emit(r)
	}
	// Emit copied the record: changes after it do not reach the table.
	served.Attempts[0].Provider = "changed"
	served.Tags["team"] = "changed"
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st != (audittable.Stats{Written: 6}) || s.Pending() != 0 {
		t.Fatalf("stats %+v pending %d", st, s.Pending())
	}

	ctx := t.Context()
	got, err := audittable.Get(ctx, db, table, "req_00000000000000a1")
	if err != nil {
		t.Fatal(err)
	}
	if want := full(); !bytes.Equal(got.AppendJSON(nil), want.AppendJSON(nil)) {
		t.Errorf("read back\n%s\nwant\n%s", got.AppendJSON(nil), want.AppendJSON(nil))
	}
	if _, err := audittable.Get(ctx, db, table, "req_nope"); !errors.Is(err, audittable.ErrNotFound) {
		t.Errorf("unknown request: %v", err)
	}

	ids := func(rs []audit.Record) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.RequestID)
		}
		return out
	}
	for _, tt := range []struct {
		key, provider string
		day           time.Time
		want          []string
	}{
		{"triage-app", "", day, []string{"req_00000000000000a1", "req_b", "req_c"}},
		{"triage-app", "openai", day, []string{"req_b", "req_c"}}, // req_c failed over from openai: it still went there
		{"triage-app", "mistral", day, []string{"req_c"}},
		{"triage-app", "anthropic", day, []string{"req_00000000000000a1"}},
		{"triage-app", "gemini", day, nil},
		{"triage-app", "", day.Add(24 * time.Hour), []string{"req_e"}},
		{"billing-app", "openai", day, []string{"req_d"}},
		{audittable.NoKey, "", day, []string{"req_f"}},
	} {
		rs, err := audittable.KeyDay(ctx, db, table, tt.key, tt.day, tt.provider)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids(rs), tt.want) {
			t.Errorf("key %s day %s provider %q: %v, want %v", tt.key, tt.day.Format(time.DateOnly), tt.provider, ids(rs), tt.want)
		}
	}

	// The TTL runs from the request's time.
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{audittable.AttrRequestID: &types.AttributeValueMemberS{Value: "req_b"}}})
	if err != nil {
		t.Fatal(err)
	}
	exp, _ := out.Item[audittable.AttrExpires].(*types.AttributeValueMemberN)
	if want := strconv.FormatInt(day.Add(time.Hour+30*24*time.Hour).Unix(), 10); exp == nil || exp.Value != want {
		t.Errorf("expires_at %v, want %s", out.Item[audittable.AttrExpires], want)
	}
}

// notifyingDB is the real client, telling the test the size of each
// BatchWriteItem call once it has been answered.
type notifyingDB struct {
	*dynamodb.Client
	calls chan int
}

func (d notifyingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	out, err := d.Client.BatchWriteItem(ctx, in, opts...)
	d.calls <- len(in.RequestItems[table])
	return out, err
}

func records(n int, prefix string) []*audit.Record {
	out := make([]*audit.Record, n)
	for i := range out {
		out[i] = &audit.Record{RequestID: prefix + strconv.Itoa(i), Time: day, KeyID: "k", Status: 200}
	}
	return out
}

func drain(ch chan int) []int {
	var out []int
	for {
		select {
		case n := <-ch:
			out = append(out, n)
		default:
			return out
		}
	}
}

func TestBatchesOf25(t *testing.T) {
	_, client := newTable(t)
	db := notifyingDB{client, make(chan int, 16)}
	s := audittable.New(db, table)
	for _, r := range records(60, "req_") {
		s.Emit(r)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := drain(db.calls); !slices.Equal(got, []int{25, 25, 10}) {
		t.Errorf("BatchWriteItem calls of %v items, want 25, 25, 10", got)
	}
	if st := s.Stats(); st.Written != 60 {
		t.Errorf("stats %+v", st)
	}
	rs, err := audittable.KeyDay(t.Context(), client, table, "k", day, "")
	if err != nil || len(rs) != 60 {
		t.Errorf("%d records read back, %v", len(rs), err)
	}
}

// Run writes a full batch without waiting for its interval, and flushes the
// rest when it stops.
func TestRun(t *testing.T) {
	_, client := newTable(t)
	db := notifyingDB{client, make(chan int, 16)}
	s := audittable.New(db, table)
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() { s.Run(ctx, time.Hour); close(stopped) }()
	for _, r := range records(25, "req_full_") {
		s.Emit(r)
	}
	select {
	case n := <-db.calls:
		if n != 25 {
			t.Errorf("first write of %d items, want 25", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a full batch was not written")
	}
	for _, r := range records(3, "req_rest_") {
		s.Emit(r)
	}
	cancel()
	<-stopped
	if got := drain(db.calls); !slices.Equal(got, []int{3}) {
		t.Errorf("writes at stop %v, want one of 3", got)
	}
	if st := s.Stats(); st.Written != 28 || s.Pending() != 0 {
		t.Errorf("stats %+v, pending %d", st, s.Pending())
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// An outage of DynamoDB: the flush gives up within its timeout, logs a line
// that is an EMF document counting the failures, keeps the records, does not
// try again before its backoff, and writes them once DynamoDB is back.
func TestOutage(t *testing.T) {
	m, client := newTable(t)
	db := notifyingDB{client, make(chan int, 16)}
	var logs bytes.Buffer
	clk := &clock{now: time.Now()}
	s := audittable.New(db, table)
	s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	s.Now = clk.Now
	s.FlushTimeout = 2 * time.Second
	s.Namespace = "LLMRouterTest"

	m.Stop()
	for _, r := range records(3, "req_out_") {
		s.Emit(r)
	}
	start := time.Now()
	if err := s.Flush(); err != nil {
		t.Fatalf("Flush surfaced %v", err)
	}
	if d := time.Since(start); d > s.FlushTimeout+time.Second {
		t.Errorf("a flush during the outage took %v, over its %v timeout", d, s.FlushTimeout)
	}
	if st := s.Stats(); st.Failed != 3 || st.Written != 0 || s.Pending() != 3 {
		t.Fatalf("stats %+v pending %d, want 3 failed and kept", st, s.Pending())
	}
	line := bytes.TrimSpace(logs.Bytes())
	if err := audit.ValidateEMF(line, clk.Now()); err != nil {
		t.Errorf("failure log line %s is not valid EMF: %v", line, err)
	}
	var logged map[string]any
	_ = json.Unmarshal(line, &logged)
	if logged[audittable.MetricWriteFailures] != 3.0 || logged["Table"] != table || logged["kept"] != 3.0 {
		t.Errorf("failure log line %s", line)
	}
	drain(db.calls)

	// Within the backoff nothing is tried.
	logs.Reset()
	_ = s.Flush()
	if got := drain(db.calls); len(got) != 0 || s.Pending() != 3 {
		t.Errorf("a flush within the backoff made calls %v (pending %d)", got, s.Pending())
	}

	if err := m.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := audittable.CreateTable(t.Context(), client, table); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Second)
	_ = s.Flush()
	if st := s.Stats(); st.Written != 3 || s.Pending() != 0 {
		t.Errorf("after the outage: stats %+v pending %d", st, s.Pending())
	}
	if _, err := audittable.Get(t.Context(), client, table, "req_out_2"); err != nil {
		t.Error(err)
	}
}

// A table that does not exist will not appear on a retry: the records are
// counted as failed and not kept.
func TestMissingTableDropsRecords(t *testing.T) {
	m := awstest.Start(t)
	var logs bytes.Buffer
	s := audittable.New(dynamodb.NewFromConfig(m.Config()), "no-such-table")
	s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	for _, r := range records(2, "req_") {
		s.Emit(r)
	}
	_ = s.Flush()
	if st := s.Stats(); st.Failed != 2 || s.Pending() != 0 {
		t.Errorf("stats %+v pending %d", st, s.Pending())
	}
	if !strings.Contains(logs.String(), "ResourceNotFoundException") {
		t.Errorf("log %s", logs.String())
	}
}

func TestBufferIsBounded(t *testing.T) {
	_, client := newTable(t)
	var logs bytes.Buffer
	s := audittable.New(client, table)
	s.MaxPending = 2
	s.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	for _, r := range records(3, "req_") {
		s.Emit(r)
	}
	if st := s.Stats(); st.Dropped != 1 || s.Pending() != 2 {
		t.Fatalf("stats %+v pending %d", st, s.Pending())
	}
	_ = s.Flush()
	if st := s.Stats(); st.Written != 2 || !strings.Contains(logs.String(), `"dropped":1`) {
		t.Errorf("stats %+v log %s", st, logs.String())
	}
}
