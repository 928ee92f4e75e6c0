// Package audittable keeps the audit trail in a DynamoDB table as well as on
// stdout (ROUTER_AUDIT_TABLE), so an auditor can ask which model served a
// request, or what one key sent where on a given day, without searching logs.
//
// Writing never slows a request: Emit copies the record into a buffer, and
// the buffer goes out in BatchWriteItem calls of up to 25 items, from Run's
// background loop on a local server and from Flush, which a Lambda calls once
// its answer is complete (a frozen execution environment runs no goroutine).
// A write that fails is logged and counted, and kept for the next flush when
// it may succeed; it never reaches the client.
//
// Layout (docs/DYNAMODB.md): one item per request, keyed by request_id, with
// the audit line's own attribute names; the global secondary index by_key_day
// has the partition key key_day ("<key_id>#<YYYY-MM-DD>", UTC) and the sort
// key ts (the time, fixed width), so one Query lists a key's requests of a
// day in order; providers, a string set of every provider an attempt went
// to, narrows that to one provider; expires_at is the TTL.
package audittable

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/store/ddbtable"
)

// Attribute and index names of the table, besides the audit line's own.
const (
	// AttrRequestID is the table's partition key (the audit line's request_id).
	AttrRequestID = "request_id"
	// IndexByKeyDay is the global secondary index by key and day.
	IndexByKeyDay = "by_key_day"
	// AttrKeyDay is the index's partition key: "<key_id>#<YYYY-MM-DD>" in
	// UTC; requests refused before a key was known use the key id "-".
	AttrKeyDay = "key_day"
	// AttrTS is the index's sort key: the request's time in UTC with
	// microseconds, fixed width so that text order is time order.
	AttrTS = "ts"
	// AttrProviders is the set of every provider an attempt went to.
	AttrProviders = "providers"
	// AttrExpires is the TTL attribute (epoch seconds).
	AttrExpires = "expires_at"
)

// NoKey stands for the key id of a request refused before its key was known.
const NoKey = "-"

// tsLayout is AttrTS's format: fixed width, so it sorts as time does.
const tsLayout = "2006-01-02T15:04:05.000000Z"

// Defaults of a Sink.
const (
	// DefaultRetention is how long items live before DynamoDB's TTL removes
	// them (400 days: a year of history plus a month to report on it).
	DefaultRetention = 400 * 24 * time.Hour
	// DefaultFlushTimeout bounds one Flush.
	DefaultFlushTimeout = 3 * time.Second
	// DefaultMaxPending bounds the records held for writing; past it, new
	// records are dropped (and counted), the stdout line still has them.
	DefaultMaxPending = 10000
)

// batchSize is BatchWriteItem's limit of items per call.
const batchSize = 25

// MetricWriteFailures is the EMF metric, dimension Table, counting records
// the sink could not write (or had to drop); each failure logs one line
// carrying it.
const MetricWriteFailures = "AuditTableWriteFailures"

// DB is the part of the DynamoDB client the sink uses.
type DB interface {
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

var _ DB = (*dynamodb.Client)(nil)

// Sink writes audit records to the table. It implements audit.Sink.
type Sink struct {
	db    DB
	table string

	// Retention sets each item's expires_at after its time (default
	// DefaultRetention; negative: items never expire).
	Retention time.Duration
	// FlushTimeout bounds one Flush (default DefaultFlushTimeout).
	FlushTimeout time.Duration
	// MaxPending bounds the buffer (default DefaultMaxPending).
	MaxPending int
	// Namespace is the CloudWatch namespace of the failure metric.
	Namespace string
	// Log receives failures (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	pending []audit.Record
	spare   []audit.Record // the last write-out's buffer, reused for the next records
	kick    chan struct{}

	writeMu  sync.Mutex // one write-out at a time
	retryAt  time.Time  // after a failed write, flushes wait until then
	backoff  time.Duration
	written  uint64
	failed   uint64
	dropped  uint64
	unlogged uint64 // dropped records not yet reported
}

// New returns a sink writing to table through db.
func New(db DB, table string) *Sink {
	return &Sink{db: db, table: table, kick: make(chan struct{}, 1)}
}

// Table is the table's name.
func (s *Sink) Table() string { return s.table }

// Emit keeps a copy of r for the next write. It takes a lock and copies the
// record's attempts and tags; it never waits for DynamoDB.
func (s *Sink) Emit(r *audit.Record) {
	cp := *r
	cp.Metrics = nil
	cp.Attempts = slices.Clone(r.Attempts)
	cp.Tags = maps.Clone(r.Tags)
	s.mu.Lock()
	if len(s.pending) >= s.maxPending() {
		s.dropped++
		s.unlogged++
		s.mu.Unlock()
		return
	}
	s.pending = append(s.pending, cp)
	full := len(s.pending) >= batchSize
	s.mu.Unlock()
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Pending is the number of records waiting to be written.
func (s *Sink) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Stats counts records written, records that failed to write (kept for a
// retry while the buffer has room) and records dropped, since the start.
type Stats struct{ Written, Failed, Dropped uint64 }

// Stats returns the sink's counters.
func (s *Sink) Stats() Stats {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Written: s.written, Failed: s.failed, Dropped: s.dropped}
}

// Flush writes everything buffered, within FlushTimeout. A Lambda calls it
// at the end of each invocation. After a failed write it does nothing until
// a backoff has passed, so an outage of DynamoDB costs an invocation at most
// one timeout per backoff period. It returns nil: failures are logged and
// counted, and never become the request's.
func (s *Sink) Flush() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.flushTimeout())
	defer cancel()
	s.writeOut(ctx)
	return nil
}

// Run writes the buffer every interval, and at once when a batch is full,
// until ctx ends; then it flushes once more. A local server runs it.
func (s *Sink) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = s.Flush()
			return
		case <-t.C:
		case <-s.kick:
		}
		wctx, cancel := context.WithTimeout(ctx, s.flushTimeout())
		s.writeOut(wctx)
		cancel()
	}
}

// writeOut sends what is pending in batches; what could not be written and
// may succeed later goes back to the front of the buffer.
func (s *Sink) writeOut(ctx context.Context) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now()
	s.mu.Lock()
	if now.Before(s.retryAt) || len(s.pending) == 0 && s.unlogged == 0 {
		s.mu.Unlock()
		return
	}
	recs := s.pending
	s.pending, s.spare = s.spare[:0], nil
	dropped := s.unlogged
	s.unlogged = 0
	s.mu.Unlock()

	var retry []audit.Record
	var failed int
	var lastErr error
	for start := 0; start < len(recs); start += batchSize {
		batch := recs[start:min(start+batchSize, len(recs))]
		left, err := s.writeBatch(ctx, batch, now)
		if err == nil {
			s.written += uint64(len(batch) - len(left))
			continue
		}
		lastErr = err
		s.written += uint64(len(batch) - len(left))
		failed += len(left)
		if retryable(err) {
			retry = append(retry, left...)
		}
		if ctx.Err() != nil {
			// Out of time: keep the rest for the next flush untried.
			retry = append(retry, recs[min(start+batchSize, len(recs)):]...)
			break
		}
	}
	s.failed += uint64(failed)
	// Retried records were copied out: the buffer can take new ones.
	clear(recs)
	s.mu.Lock()
	s.spare = recs[:0]
	s.mu.Unlock()
	if lastErr == nil {
		s.backoff = 0
	} else {
		s.backoff = min(max(2*s.backoff, time.Second), time.Minute)
		s.retryAt = now.Add(s.backoff)
	}
	if len(retry) > 0 {
		s.mu.Lock()
		// Retried records go first; the buffer stays bounded.
		room := max(s.maxPending()-len(s.pending), 0)
		if len(retry) > room {
			dropped += uint64(len(retry) - room)
			s.dropped += uint64(len(retry) - room)
			retry = retry[:room]
		}
		s.pending = append(retry, s.pending...)
		s.mu.Unlock()
	}
	if failed > 0 || dropped > 0 {
		s.logFailure(ctx, lastErr, failed, dropped, len(retry))
	}
}

// writeBatch writes up to 25 records with BatchWriteItem, retrying the
// unprocessed items DynamoDB hands back (throttling) a few times. It returns
// the records left unwritten with the error.
func (s *Sink) writeBatch(ctx context.Context, batch []audit.Record, now time.Time) ([]audit.Record, error) {
	reqs := make([]types.WriteRequest, len(batch))
	byID := make(map[string]int, len(batch))
	for i := range batch {
		reqs[i] = types.WriteRequest{PutRequest: &types.PutRequest{Item: Item(&batch[i], s.expiry(batch[i].Time, now))}}
		byID[batch[i].RequestID] = i
	}
	wait := 10 * time.Millisecond
	for try := 0; ; try++ {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: reqs}})
		if err != nil {
			return recordsOf(batch, reqs, byID), err
		}
		reqs = out.UnprocessedItems[s.table]
		if len(reqs) == 0 {
			return nil, nil
		}
		if try == 4 {
			return recordsOf(batch, reqs, byID), errUnprocessed
		}
		select {
		case <-ctx.Done():
			return recordsOf(batch, reqs, byID), ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
}

var errUnprocessed = errors.New("DynamoDB left items unprocessed after retries (throttled)")

// recordsOf maps write requests back to their records.
func recordsOf(batch []audit.Record, reqs []types.WriteRequest, byID map[string]int) []audit.Record {
	out := make([]audit.Record, 0, len(reqs))
	for _, w := range reqs {
		if w.PutRequest == nil {
			continue
		}
		if id, ok := w.PutRequest.Item[AttrRequestID].(*types.AttributeValueMemberS); ok {
			if i, ok := byID[id.Value]; ok {
				out = append(out, batch[i])
			}
		}
	}
	return out
}

// retryable tells failures worth another try (throttling, a server error, the
// network, a timeout) from those that would fail again (a missing table,
// denied access, an invalid item): those records are dropped.
func retryable(err error) bool {
	if errors.Is(err, errUnprocessed) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		return true // no answer: the network
	}
	switch api.ErrorCode() {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
		"InternalServerError", "ServiceUnavailable", "LimitExceededException":
		return true
	}
	return api.ErrorFault() == smithy.FaultServer
}

func (s *Sink) expiry(at, now time.Time) int64 {
	r := s.Retention
	if r == 0 {
		r = DefaultRetention
	}
	if r < 0 {
		return 0
	}
	if at.IsZero() {
		at = now
	}
	return at.Add(r).Unix()
}

// logFailure logs one line that is also an EMF document, so CloudWatch
// counts AuditTableWriteFailures (dimension Table) and an alarm can watch it.
func (s *Sink) logFailure(ctx context.Context, err error, failed int, dropped uint64, kept int) {
	ns := s.Namespace
	if ns == "" {
		ns = audit.DefaultNamespace
	}
	msg := "error"
	if err != nil {
		msg = err.Error()
	}
	aws := slog.Group("_aws", slog.Int64("Timestamp", s.now().UnixMilli()),
		slog.Any("CloudWatchMetrics", []map[string]any{{"Namespace": ns, "Dimensions": [][]string{{"Table"}},
			"Metrics": []map[string]string{{"Name": MetricWriteFailures, "Unit": "Count"}}}}))
	s.log().LogAttrs(ctx, slog.LevelError, "audit table write failed; the records are on stdout and kept for a retry while there is room",
		slog.String("type", "audit_table"), slog.String("Table", s.table), slog.Int("failed", failed),
		slog.Uint64("dropped", dropped), slog.Int("kept", kept), slog.String("error", msg),
		slog.Int64(MetricWriteFailures, int64(failed)+int64(dropped)), aws)
}

func (s *Sink) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Sink) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Sink) maxPending() int {
	if s.MaxPending > 0 {
		return s.MaxPending
	}
	return DefaultMaxPending
}

func (s *Sink) flushTimeout() time.Duration {
	if s.FlushTimeout > 0 {
		return s.FlushTimeout
	}
	return DefaultFlushTimeout
}

// Item is the table item of a record: the audit line's fields under the same
// names, plus the index and TTL attributes. expires is epoch seconds (0: none).
func Item(r *audit.Record, expires int64) map[string]types.AttributeValue {
	keyID := r.KeyID
	if keyID == "" {
		keyID = NoKey
	}
	t := r.Time.UTC()
	item := map[string]types.AttributeValue{
		AttrRequestID:       str(r.RequestID),
		"time":              str(t.Format(time.RFC3339Nano)),
		"key_id":            str(r.KeyID),
		"route":             str(r.Route),
		"data_class":        str(r.DataClass),
		"require":           strList(r.Require),
		"model":             str(r.Model),
		"provider":          str(r.Provider),
		"upstream_model":    str(r.UpstreamModel),
		"status":            num(int64(r.Status)),
		"attempts":          attempts(r.Attempts),
		"latency_ms":        flt(r.LatencyMs),
		"ttfb_ms":           flt(r.TTFBMs),
		"prompt_tokens":     num(int64(r.Usage.PromptTokens)),
		"completion_tokens": num(int64(r.Usage.CompletionTokens)),
		"cached_tokens":     num(int64(r.Usage.CachedTokens)),
		"cost_usd":          flt(r.CostUSD),
		"tags":              strMap(r.Tags),
		"stream":            &types.AttributeValueMemberBOOL{Value: r.Stream},
		AttrKeyDay:          str(keyID + "#" + t.Format(time.DateOnly)),
		AttrTS:              str(t.Format(tsLayout)),
	}
	if r.Usage.CacheWriteTokens > 0 {
		item["cache_write_tokens"] = num(int64(r.Usage.CacheWriteTokens))
	}
	for k, v := range map[string]string{"endpoint": r.Endpoint, "client_request_id": r.ClientRequestID, "error_code": r.ErrorCode,
		"downgraded_from": r.DowngradedFrom, "limit": r.Limit, "structured": r.Structured, "rule": r.Rule, "cache": r.Cache} {
		if v != "" {
			item[k] = str(v)
		}
	}
	if r.Provider != "" {
		item["provider_compliance"] = strList(r.ProviderCompliance)
	}
	if r.Cache == audit.CacheHit {
		item["cache_saved_usd"] = flt(r.CacheSavedUSD)
	}
	if r.UsageMissing {
		item["usage_missing"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if r.Incomplete {
		item["incomplete"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if len(r.RequireFrom) > 0 {
		from := make(map[string]types.AttributeValue, len(r.Require))
		for _, tag := range r.Require {
			from[tag] = strList(slices.Collect(r.SourcesOf(tag)))
		}
		item["require_from"] = &types.AttributeValueMemberM{Value: from}
	}
	var providers []string
	for _, a := range r.Attempts {
		if a.Provider != "" && !slices.Contains(providers, a.Provider) {
			providers = append(providers, a.Provider)
		}
	}
	if len(providers) > 0 {
		item[AttrProviders] = &types.AttributeValueMemberSS{Value: providers}
	}
	if expires > 0 {
		item[AttrExpires] = num(expires)
	}
	return item
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// flt writes a number in plain decimal; NaN and infinities, which DynamoDB
// cannot hold, are written as 0, as the audit line does.
func flt(f float64) types.AttributeValue {
	if f != f || f > 1e300 || f < -1e300 {
		f = 0
	}
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(f, 'f', -1, 64)}
}

func strList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func strMap(m map[string]string) types.AttributeValue {
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = str(v)
	}
	return &types.AttributeValueMemberM{Value: out}
}

func attempts(as []audit.Attempt) types.AttributeValue {
	l := make([]types.AttributeValue, len(as))
	for i, a := range as {
		l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"model": str(a.Model), "provider": str(a.Provider), "outcome": str(a.Outcome),
			"status": num(int64(a.Status)), "latency_ms": flt(a.LatencyMs)}}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// CreateTable creates the table with its index and TTL when it is missing,
// as template.yaml does; it is for local emulators (moto, DynamoDB Local).
func CreateTable(ctx context.Context, db Admin, table string) error {
	err := ddbtable.Ensure(ctx, db, &dynamodb.CreateTableInput{ // the schema template.yaml's AuditTable has
		TableName:   aws.String(table),
		BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrRequestID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrKeyDay), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(AttrTS), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrRequestID), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByKeyDay),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(AttrKeyDay), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrTS), KeyType: types.KeyTypeRange}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}, AttrExpires)
	if err != nil {
		return fmt.Errorf("audittable: %w", err)
	}
	return nil
}

// Admin is what CreateTable needs.
type Admin = ddbtable.Admin
