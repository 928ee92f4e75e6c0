// Package cachetable keeps the response cache in a DynamoDB table
// (ROUTER_CACHE_TABLE), shared by every router instance.
//
// Layout (docs/DYNAMODB.md): one item per cached answer, keyed by pk, the
// hex SHA-256 the gateway computes from the request (never the request
// itself); body is the answer's chat.completion JSON as binary, with its
// usage, the model and provider that wrote it and its cost; expires_at
// (epoch seconds) is both checked on every read, since DynamoDB deletes
// expired items lazily, and the table's TTL attribute, which cleans them
// up.
//
// A read is one GetItem on the request's path. Writes never slow a request:
// Put keeps the item, and Flush writes what is kept with PutItem, which a
// Lambda calls once its answer has gone (a frozen execution environment
// runs no goroutine) and a local server runs on a timer (Run). A write that
// fails is logged and dropped: the next identical request misses and stores
// it again.
package cachetable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/store/ddbtable"
)

// Attribute names of an item.
const (
	AttrKey              = "pk"
	AttrBody             = "body"
	AttrModel            = "model"
	AttrProvider         = "provider"
	AttrCostUSD          = "cost_usd"
	AttrPromptTokens     = "prompt_tokens"
	AttrCompletionTokens = "completion_tokens"
	AttrCachedTokens     = "cached_tokens"
	AttrCacheWriteTokens = "cache_write_tokens"
	AttrReasoningTokens  = "reasoning_tokens"
	// AttrExpires is the expiry in epoch seconds, and the TTL attribute.
	AttrExpires = "expires_at"
)

// Defaults of a Table.
const (
	// DefaultGetTimeout bounds the lookup a cached request waits for: a
	// slow table makes it a miss, not a slow answer.
	DefaultGetTimeout = time.Second
	// DefaultFlushTimeout bounds one Flush.
	DefaultFlushTimeout = 3 * time.Second
	// DefaultMaxPendingBytes bounds the answers kept for writing; past it,
	// new ones are dropped.
	DefaultMaxPendingBytes = 16 << 20
)

// DB is the part of the DynamoDB client the table uses.
type DB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Table is a respcache.Store in DynamoDB.
type Table struct {
	db    DB
	table string

	// GetTimeout, FlushTimeout and MaxPendingBytes override the defaults.
	GetTimeout      time.Duration
	FlushTimeout    time.Duration
	MaxPendingBytes int
	// Log receives write and read failures (default slog.Default()); never
	// an answer's text.
	Log *slog.Logger

	mu      sync.Mutex
	pending []pendingPut
	size    int
	kick    chan struct{}
	writeMu sync.Mutex // one write-out at a time

	written, failed, dropped uint64
}

type pendingPut struct {
	key   string
	entry *respcache.Entry
}

var _ respcache.Store = (*Table)(nil)

// New returns the store of table through db.
func New(db DB, table string) *Table {
	return &Table{db: db, table: table, kick: make(chan struct{}, 1)}
}

// Table is the table's name.
func (t *Table) Table() string { return t.table }

// Get reads the entry under key with one eventually consistent GetItem; an
// item past its expires_at is a miss whether or not DynamoDB has deleted it.
func (t *Table) Get(ctx context.Context, key string, now time.Time) (*respcache.Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, t.getTimeout())
	defer cancel()
	out, err := t.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(t.table),
		Key: map[string]types.AttributeValue{AttrKey: &types.AttributeValueMemberS{Value: key}}})
	if err != nil {
		return nil, fmt.Errorf("cachetable: get from %s: %w", t.table, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	e, err := decode(out.Item)
	if err != nil {
		return nil, fmt.Errorf("cachetable: item in %s: %w", t.table, err)
	}
	if now.Unix() >= e.Expires.Unix() {
		return nil, nil
	}
	return e, nil
}

// Put keeps e to be written by the next Flush. An answer over
// respcache.MaxBody is skipped; past MaxPendingBytes, new entries are
// dropped (and counted).
func (t *Table) Put(_ context.Context, key string, e *respcache.Entry) error {
	if len(e.Body) > respcache.MaxBody {
		return nil
	}
	t.mu.Lock()
	if t.size+len(e.Body) > t.maxPendingBytes() {
		t.dropped++
		t.mu.Unlock()
		return nil
	}
	t.pending = append(t.pending, pendingPut{key: key, entry: e})
	t.size += len(e.Body)
	t.mu.Unlock()
	select {
	case t.kick <- struct{}{}:
	default:
	}
	return nil
}

// Pending is the number of entries waiting to be written.
func (t *Table) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

// Stats counts entries written, entries whose write failed and entries
// dropped for want of room, since the start.
type Stats struct{ Written, Failed, Dropped uint64 }

// Stats returns the table's counters.
func (t *Table) Stats() Stats {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return Stats{Written: t.written, Failed: t.failed, Dropped: t.dropped}
}

// Flush writes every entry kept, within FlushTimeout. It returns nil: a
// failed write is logged and dropped, and never becomes a request's.
func (t *Table) Flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), t.flushTimeout())
	defer cancel()
	t.writeOut(ctx)
	return nil
}

// Run writes what is kept every interval, and soon after each Put, until
// ctx ends; then it flushes once more. A local server runs it.
func (t *Table) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = t.Flush()
			return
		case <-tick.C:
		case <-t.kick:
		}
		_ = t.Flush()
	}
}

func (t *Table) writeOut(ctx context.Context) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.mu.Lock()
	puts := t.pending
	t.pending, t.size = nil, 0
	t.mu.Unlock()
	var failed int
	var lastErr error
	for _, p := range puts {
		_, err := t.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.table), Item: Item(p.key, p.entry)})
		if err != nil {
			failed++
			lastErr = err
			continue
		}
		t.written++
	}
	if failed > 0 {
		t.mu.Lock()
		t.failed += uint64(failed)
		t.mu.Unlock()
		t.log().LogAttrs(ctx, slog.LevelError, "response cache write failed; those answers will be asked of a provider again",
			slog.String("type", "cache_table"), slog.String("table", t.table), slog.Int("failed", failed),
			slog.String("error", lastErr.Error()))
	}
}

// Item is the table item of e under key.
func Item(key string, e *respcache.Entry) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		AttrKey:              &types.AttributeValueMemberS{Value: key},
		AttrBody:             &types.AttributeValueMemberB{Value: e.Body},
		AttrModel:            &types.AttributeValueMemberS{Value: e.Model},
		AttrProvider:         &types.AttributeValueMemberS{Value: e.Provider},
		AttrCostUSD:          &types.AttributeValueMemberN{Value: strconv.FormatFloat(finite(e.CostUSD), 'f', -1, 64)},
		AttrPromptTokens:     num(int64(e.Usage.PromptTokens)),
		AttrCompletionTokens: num(int64(e.Usage.CompletionTokens)),
		AttrCachedTokens:     num(int64(e.Usage.CachedTokens)),
		AttrCacheWriteTokens: num(int64(e.Usage.CacheWriteTokens)),
		AttrReasoningTokens:  num(int64(e.Usage.ReasoningTokens)),
		AttrExpires:          num(e.Expires.Unix()),
	}
}

var errMalformed = errors.New("malformed cache item")

func decode(item map[string]types.AttributeValue) (*respcache.Entry, error) {
	body, ok := item[AttrBody].(*types.AttributeValueMemberB)
	if !ok {
		return nil, errMalformed
	}
	e := &respcache.Entry{Body: body.Value, Model: str(item, AttrModel), Provider: str(item, AttrProvider)}
	ints := []struct {
		name string
		dst  *int
	}{{AttrPromptTokens, &e.Usage.PromptTokens}, {AttrCompletionTokens, &e.Usage.CompletionTokens},
		{AttrCachedTokens, &e.Usage.CachedTokens}, {AttrCacheWriteTokens, &e.Usage.CacheWriteTokens},
		{AttrReasoningTokens, &e.Usage.ReasoningTokens}}
	for _, f := range ints {
		n, err := number(item, f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = int(n)
	}
	exp, err := number(item, AttrExpires)
	if err != nil {
		return nil, err
	}
	e.Expires = time.Unix(int64(exp), 0)
	if e.CostUSD, err = number(item, AttrCostUSD); err != nil {
		return nil, err
	}
	return e, nil
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func number(item map[string]types.AttributeValue, name string) (float64, error) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("%w: no number %s", errMalformed, name)
	}
	f, err := strconv.ParseFloat(v.Value, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", errMalformed, name, err)
	}
	return f, nil
}

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func finite(f float64) float64 {
	if f != f || f > 1e300 || f < -1e300 {
		return 0
	}
	return f
}

func (t *Table) log() *slog.Logger {
	if t.Log != nil {
		return t.Log
	}
	return slog.Default()
}

func (t *Table) getTimeout() time.Duration {
	if t.GetTimeout > 0 {
		return t.GetTimeout
	}
	return DefaultGetTimeout
}

func (t *Table) flushTimeout() time.Duration {
	if t.FlushTimeout > 0 {
		return t.FlushTimeout
	}
	return DefaultFlushTimeout
}

func (t *Table) maxPendingBytes() int {
	if t.MaxPendingBytes > 0 {
		return t.MaxPendingBytes
	}
	return DefaultMaxPendingBytes
}

// CreateTable creates the table with its TTL when it is missing, as
// template.yaml does; it is for local emulators (moto, DynamoDB Local).
func CreateTable(ctx context.Context, db Admin, table string) error {
	err := ddbtable.Ensure(ctx, db, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(AttrKey), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(AttrKey), KeyType: types.KeyTypeHash}},
	}, AttrExpires)
	if err != nil {
		return fmt.Errorf("cachetable: %w", err)
	}
	return nil
}

// Admin is what CreateTable needs.
type Admin = ddbtable.Admin
