package cachetable_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/respcache/cachetable"
	"github.com/llm-router/router/shared/respcache/storetest"
)

const table = "llm-router-cache-test"

// newTable is the table in a fresh moto, and a counter of the requests
// the table's client sends.
func newTable(t *testing.T) (*cachetable.Table, *awstest.CountingClient, *dynamodb.Client) {
	t.Helper()
	m := awstest.Start(t)
	admin := dynamodb.NewFromConfig(m.Config())
	if err := cachetable.CreateTable(t.Context(), admin, table); err != nil {
		t.Fatal(err)
	}
	cfg := m.Config()
	calls := &awstest.CountingClient{Base: cfg.HTTPClient}
	cfg.HTTPClient = calls
	return cachetable.New(dynamodb.NewFromConfig(cfg), table), calls, admin
}

// The table behaves as the in-memory store does.
func TestTableStore(t *testing.T) {
	tb, _, _ := newTable(t)
	storetest.Run(t, tb, func() { _ = tb.Flush() })
	if st := tb.Stats(); st.Failed != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A lookup is one GetItem; Put sends nothing until Flush, which sends one
// PutItem per entry.
func TestCalls(t *testing.T) {
	tb, calls, _ := newTable(t)
	ctx := context.Background()
	base := calls.Count()
	if e, err := tb.Get(ctx, "k1", storetest.Epoch); e != nil || err != nil {
		t.Fatalf("get: %+v, %v", e, err)
	}
	if n := calls.Count() - base; n != 1 {
		t.Errorf("a lookup sent %d requests, want 1 GetItem", n)
	}
	base = calls.Count()
	_ = tb.Put(ctx, "k1", storetest.Entry("a", time.Hour))
	_ = tb.Put(ctx, "k2", storetest.Entry("b", time.Hour))
	if n := calls.Count() - base; n != 0 || tb.Pending() != 2 {
		t.Errorf("put sent %d requests with %d pending; want none sent, 2 pending", n, tb.Pending())
	}
	_ = tb.Flush()
	if n := calls.Count() - base; n != 2 || tb.Pending() != 0 {
		t.Errorf("flush sent %d requests, %d left pending; want 2, none", n, tb.Pending())
	}
	if st := tb.Stats(); st.Written != 2 {
		t.Errorf("stats %+v", st)
	}
	base = calls.Count()
	_ = tb.Flush()
	if n := calls.Count() - base; n != 0 {
		t.Errorf("a flush with nothing pending sent %d requests", n)
	}
}

// An item DynamoDB has not deleted yet is not served past its expires_at,
// and the item holds the answer, its usage and cost, and nothing of the
// request but the key.
func TestItem(t *testing.T) {
	tb, _, admin := newTable(t)
	ctx := context.Background()
	e := storetest.Entry("Paris.", time.Minute)
	_ = tb.Put(ctx, "k", e)
	_ = tb.Flush()
	out, err := admin.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table),
		Key: map[string]types.AttributeValue{cachetable.AttrKey: &types.AttributeValueMemberS{Value: "k"}}})
	if err != nil || out.Item == nil {
		t.Fatalf("item: %v", err)
	}
	want := []string{cachetable.AttrKey, cachetable.AttrBody, cachetable.AttrModel, cachetable.AttrProvider, cachetable.AttrCostUSD,
		cachetable.AttrPromptTokens, cachetable.AttrCompletionTokens, cachetable.AttrCachedTokens, cachetable.AttrCacheWriteTokens,
		cachetable.AttrReasoningTokens, cachetable.AttrExpires}
	if got := slices.Sorted(maps.Keys(out.Item)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("attributes %v, want %v", got, want)
	}
	if b, ok := out.Item[cachetable.AttrBody].(*types.AttributeValueMemberB); !ok || !bytes.Equal(b.Value, e.Body) {
		t.Errorf("body %v", out.Item[cachetable.AttrBody])
	}
	if x, ok := out.Item[cachetable.AttrExpires].(*types.AttributeValueMemberN); !ok || x.Value != "1773480473" {
		t.Errorf("expires_at %v, want the epoch seconds of %v", out.Item[cachetable.AttrExpires], e.Expires)
	}
	if got, err := tb.Get(ctx, "k", e.Expires.Add(time.Hour)); got != nil || err != nil {
		t.Errorf("an expired item still in the table was served: %+v, %v", got, err)
	}
}

// A table that cannot be written or read costs a log line and a miss,
// never a request; no answer text reaches the log.
func TestFailures(t *testing.T) {
	m := awstest.Start(t)
	var logs bytes.Buffer
	tb := cachetable.New(dynamodb.NewFromConfig(m.Config()), "no-such-table")
	tb.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	ctx := context.Background()
	if e, err := tb.Get(ctx, "k", storetest.Epoch); e != nil || err == nil {
		t.Errorf("get from a missing table: %+v, %v; want an error", e, err)
	}
	_ = tb.Put(ctx, "k", storetest.Entry("secret answer text", time.Minute))
	if err := tb.Flush(); err != nil {
		t.Errorf("flush returned %v; failures are logged, not returned", err)
	}
	if st := tb.Stats(); st.Failed != 1 || st.Written != 0 || tb.Pending() != 0 {
		t.Errorf("stats %+v, pending %d; want the write failed and dropped", st, tb.Pending())
	}
	if !strings.Contains(logs.String(), "response cache write failed") || strings.Contains(logs.String(), "secret answer") {
		t.Errorf("log: %s", logs.String())
	}

	small := cachetable.New(dynamodb.NewFromConfig(m.Config()), "no-such-table")
	small.MaxPendingBytes = 200
	_ = small.Put(ctx, "a", storetest.Entry("a", time.Minute))
	_ = small.Put(ctx, "b", storetest.Entry("b", time.Minute))
	if st := small.Stats(); small.Pending() != 1 || st.Dropped != 1 {
		t.Errorf("over the pending bound: %d pending, stats %+v; want 1 kept, 1 dropped", small.Pending(), st)
	}
}

// Run writes soon after a Put, and once more when it stops.
func TestRun(t *testing.T) {
	tb, _, _ := newTable(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tb.Run(ctx, time.Hour); close(done) }()
	_ = tb.Put(context.Background(), "k", storetest.Entry("a", time.Minute))
	cancel()
	<-done
	if e, err := tb.Get(context.Background(), "k", storetest.Epoch); e == nil || err != nil {
		t.Errorf("after Run stopped: %+v, %v", e, err)
	}
}
