package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/health"
)

// StateStore is the health package's shared state: the health function
// keeps probe states in it, routers read them and report breakers.
var (
	_ health.ProbeStore = (*StateStore)(nil)
	_ health.Store      = (*StateStore)(nil)
)

// State table layout: every health item in one partition, so a router reads
// all of them with one Query; one partition per counter, so counters of
// different keys never contend.
const (
	healthPK      = "health"
	counterPrefix = "counter#"
	counterSK     = "counter"
)

// State item attributes.
const (
	attrProvider  = "provider"
	attrModel     = "model"
	attrStatus    = "status"
	attrCheckedAt = "checked_at"
	attrLatency   = "latency_ms"
	attrFailures  = "consecutive_failures"
	attrReason    = "reason"
	attrValue     = "value"
	// Health attributes added for the status rules.
	attrSuccesses = "consecutive_successes"
	attrBaseline  = "baseline_ms"
	attrProbe     = "probe"
	// Breaker attributes; times are epoch milliseconds so conditions can
	// compare them.
	attrState     = "state"
	attrOpenedAt  = "opened_at"
	attrOpenUntil = "open_until"
	attrClosedAt  = "closed_at"
	attrRouter    = "router" // and attrUpdatedAt, shared with the head item
)

// breakerPrefix starts the sort key of a breaker item in the health
// partition. Names cannot start with '#', so it never collides with a
// provider#model health item.
const breakerPrefix = "#breaker#"

// Expiry of state items that nothing rewrites any more (a model removed from
// the configuration): DynamoDB's TTL deletes them a day after their last write.
const stateItemTTL = 24 * time.Hour

// StateStore reads and writes the state table: health per provider and
// model, and counters for rate limits and budgets.
type StateStore struct {
	// DB is the DynamoDB client (required).
	DB DB
	// Table is the state table's name (required).
	Table string
	// Now is the clock for TTLs (default time.Now).
	Now func() time.Time
}

func (s *StateStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Add adds delta to the counter named counterKey and returns its new value,
// in one atomic UpdateItem (ADD), so concurrent routers never lose an
// update; a missing counter starts at zero. With ttl > 0 the counter expires
// ttl after this call (DynamoDB deletes it some time after that, so put the
// window in the key, e.g. rpm#KEY#202601021504). Values are decimal in
// DynamoDB; delta is sent with every digit float64 holds, so sums of
// integers and of short decimals such as USD costs are exact.
func (s *StateStore) Add(ctx context.Context, counterKey string, delta float64, ttl time.Duration) (float64, error) {
	expr := "ADD #v :d"
	names := map[string]string{"#v": attrValue}
	values := map[string]types.AttributeValue{":d": &types.AttributeValueMemberN{Value: strconv.FormatFloat(delta, 'f', -1, 64)}}
	if ttl > 0 {
		expr += " SET #e = :e"
		names["#e"] = AttrExpires
		values[":e"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(s.now().Add(ttl).Unix(), 10)}
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Table),
		Key: key(counterPrefix+counterKey, counterSK), UpdateExpression: aws.String(expr),
		ExpressionAttributeNames: names, ExpressionAttributeValues: values, ReturnValues: types.ReturnValueUpdatedNew})
	if err != nil {
		return 0, fmt.Errorf("dynamo: add to counter %s: %w", counterKey, err)
	}
	v, err := strconv.ParseFloat(numberAttr(out.Attributes, attrValue), 64)
	if err != nil {
		return 0, fmt.Errorf("dynamo: counter %s: %w", counterKey, err)
	}
	return v, nil
}

// Counter returns a counter's value; a missing or expired counter is 0.
func (s *StateStore) Counter(ctx context.Context, counterKey string) (float64, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table),
		Key: key(counterPrefix+counterKey, counterSK), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return 0, fmt.Errorf("dynamo: read counter %s: %w", counterKey, err)
	}
	if out.Item == nil || expired(out.Item, s.now()) {
		return 0, nil
	}
	return strconv.ParseFloat(numberAttr(out.Item, attrValue), 64)
}

// expired reports an item whose TTL has passed but which DynamoDB has not
// deleted yet (deletion can lag by days).
func expired(item map[string]types.AttributeValue, now time.Time) bool {
	e := numberAttr(item, AttrExpires)
	if e == "" {
		return false
	}
	sec, err := strconv.ParseInt(e, 10, 64)
	return err == nil && now.Unix() >= sec
}

func healthSK(provider, model string) string { return provider + "#" + model }

// GetHealth reads one health item; found is false when it was never written.
func (s *StateStore) GetHealth(ctx context.Context, provider, model string) (h health.ProbeState, found bool, err error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table),
		Key: key(healthPK, healthSK(provider, model)), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return health.ProbeState{}, false, fmt.Errorf("dynamo: read health of %s: %w", healthSK(provider, model), err)
	}
	if out.Item == nil {
		return health.ProbeState{Provider: provider, Model: model}, false, nil
	}
	h, err = healthOf(out.Item)
	return h, err == nil, err
}

// ListHealth reads every health item (one Query, paged).
func (s *StateStore) ListHealth(ctx context.Context) ([]health.ProbeState, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.Table), KeyConditionExpression: aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(healthPK)}}
	var hs []health.ProbeState
	for {
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: list health: %w", err)
		}
		for _, item := range out.Items {
			if strings.HasPrefix(stringAttr(item, AttrSK), breakerPrefix) || isBenchLatest(item) {
				continue
			}
			h, err := healthOf(item)
			if err != nil {
				return nil, err
			}
			hs = append(hs, h)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return hs, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// PutHealth writes h if the item's version is still h.Version (for a new
// item, that it does not exist), and returns the version written. Two
// overlapping health-check invocations cannot overwrite each other's newer
// result: the later writer gets ErrVersionConflict.
func (s *StateStore) PutHealth(ctx context.Context, h health.ProbeState) (int64, error) {
	item := key(healthPK, healthSK(h.Provider, h.Model))
	item[attrProvider] = str(h.Provider)
	item[attrModel] = str(h.Model)
	item[attrStatus] = str(h.Status)
	item[attrCheckedAt] = str(h.CheckedAt.UTC().Format(time.RFC3339Nano))
	item[attrLatency] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(h.LatencyMs, 'f', -1, 64)}
	item[attrFailures] = &types.AttributeValueMemberN{Value: strconv.Itoa(h.ConsecutiveFailures)}
	item[attrReason] = str(h.Reason)
	item[attrSuccesses] = &types.AttributeValueMemberN{Value: strconv.Itoa(h.ConsecutiveSuccesses)}
	item[attrBaseline] = &types.AttributeValueMemberN{Value: strconv.FormatFloat(h.BaselineMs, 'f', -1, 64)}
	if h.Probe != "" {
		item[attrProbe] = str(h.Probe)
	}
	item[AttrExpires] = &types.AttributeValueMemberN{Value: strconv.FormatInt(h.CheckedAt.Add(stateItemTTL).Unix(), 10)}
	next := h.Version + 1
	item[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(next, 10)}
	in := &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}
	if h.Version == 0 {
		in.ConditionExpression = aws.String("attribute_not_exists(#pk)")
		in.ExpressionAttributeNames = map[string]string{"#pk": AttrPK}
	} else {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{
			":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(h.Version, 10)}}
	}
	_, err := s.DB.PutItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return 0, fmt.Errorf("dynamo: health of %s: %w", healthSK(h.Provider, h.Model), health.ErrVersionConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("dynamo: write health of %s: %w", healthSK(h.Provider, h.Model), err)
	}
	return next, nil
}

func healthOf(item map[string]types.AttributeValue) (health.ProbeState, error) {
	h := health.ProbeState{Provider: stringAttr(item, attrProvider), Model: stringAttr(item, attrModel),
		Status: stringAttr(item, attrStatus), Reason: stringAttr(item, attrReason)}
	bad := func(what string) (health.ProbeState, error) {
		return health.ProbeState{}, fmt.Errorf("dynamo: health item %s: bad %s", stringAttr(item, AttrSK), what)
	}
	var err error
	if h.CheckedAt, err = time.Parse(time.RFC3339Nano, stringAttr(item, attrCheckedAt)); err != nil {
		return bad(attrCheckedAt)
	}
	if h.LatencyMs, err = strconv.ParseFloat(numberAttr(item, attrLatency), 64); err != nil {
		return bad(attrLatency)
	}
	if h.ConsecutiveFailures, err = strconv.Atoi(numberAttr(item, attrFailures)); err != nil {
		return bad(attrFailures)
	}
	if h.Version, err = strconv.ParseInt(numberAttr(item, attrVersion), 10, 64); err != nil {
		return bad(attrVersion)
	}
	if h.Provider == "" {
		return bad(attrProvider)
	}
	// Attributes added after the first layout: absent on older items.
	if v := numberAttr(item, attrSuccesses); v != "" {
		if h.ConsecutiveSuccesses, err = strconv.Atoi(v); err != nil {
			return bad(attrSuccesses)
		}
	}
	if v := numberAttr(item, attrBaseline); v != "" {
		if h.BaselineMs, err = strconv.ParseFloat(v, 64); err != nil {
			return bad(attrBaseline)
		}
	}
	h.Probe = stringAttr(item, attrProbe)
	return h, nil
}

func breakerSK(provider, model string) string { return breakerPrefix + provider + "#" + model }

func epochMs(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}

// ReadHealthState reads every probe result, shared breaker and latest
// benchmark result with one Query (paged), eventually consistent: routers
// call it once per cache TTL. A benchmark result past its expiry, which
// DynamoDB may not have deleted yet, is left out.
func (s *StateStore) ReadHealthState(ctx context.Context) (health.Snapshot, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.Table), KeyConditionExpression: aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(healthPK)}}
	var st health.Snapshot
	now := s.now()
	for {
		out, err := s.DB.Query(ctx, in)
		if err != nil {
			return health.Snapshot{}, fmt.Errorf("dynamo: read health: %w", err)
		}
		for _, item := range out.Items {
			if isBenchLatest(item) {
				if expired(item, now) {
					continue
				}
				b, err := benchmarkOf(item)
				if err != nil {
					return health.Snapshot{}, err
				}
				st.Benchmarks = append(st.Benchmarks, b)
				continue
			}
			if strings.HasPrefix(stringAttr(item, AttrSK), breakerPrefix) {
				b, err := breakerOf(item)
				if err != nil {
					return health.Snapshot{}, err
				}
				st.Breakers = append(st.Breakers, b)
				continue
			}
			h, err := healthOf(item)
			if err != nil {
				return health.Snapshot{}, err
			}
			st.Probes = append(st.Probes, h)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return st, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// OpenBreaker records that b.Router opened the breaker of b's target until
// b.OpenUntil. It never shortens an opening another router reported with a
// later end: it reports applied false then.
func (s *StateStore) OpenBreaker(ctx context.Context, b health.SharedBreaker) (applied bool, err error) {
	in := &dynamodb.UpdateItemInput{TableName: aws.String(s.Table), Key: key(healthPK, breakerSK(b.Provider, b.Model)),
		UpdateExpression: aws.String("SET #provider = :provider, #model = :model, #state = :state, #opened = :opened, " +
			"#until = :until, #failures = :failures, #reason = :reason, #router = :router, #updated = :updated, #expires = :expires"),
		ConditionExpression: aws.String("attribute_not_exists(#until) OR #until < :until"),
		ExpressionAttributeNames: map[string]string{"#provider": attrProvider, "#model": attrModel, "#state": attrState,
			"#opened": attrOpenedAt, "#until": attrOpenUntil, "#failures": attrFailures, "#reason": attrReason,
			"#router": attrRouter, "#updated": attrUpdatedAt, "#expires": AttrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{":provider": str(b.Provider), ":model": str(b.Model),
			":state": str(health.BreakerOpen), ":opened": epochMs(b.OpenedAt), ":until": epochMs(b.OpenUntil),
			":failures": &types.AttributeValueMemberN{Value: strconv.Itoa(b.Failures)}, ":reason": str(b.Reason),
			":router": str(b.Router), ":updated": epochMs(s.now()),
			":expires": &types.AttributeValueMemberN{Value: strconv.FormatInt(b.OpenUntil.Add(stateItemTTL).Unix(), 10)}},
	}
	return s.conditionalUpdate(ctx, in, "open breaker of "+healthSK(b.Provider, b.Model))
}

// CloseBreaker records that b.Router closed the breaker of b's target at
// b.ClosedAt, ending the opening it knew of, made at since. An opening
// reported after since is evidence the closing never saw and stays: applied
// is false then.
func (s *StateStore) CloseBreaker(ctx context.Context, b health.SharedBreaker, since time.Time) (applied bool, err error) {
	in := &dynamodb.UpdateItemInput{TableName: aws.String(s.Table), Key: key(healthPK, breakerSK(b.Provider, b.Model)),
		UpdateExpression: aws.String("SET #provider = :provider, #model = :model, #state = :state, #closed = :closed, " +
			"#router = :router, #updated = :updated, #expires = :expires"),
		ConditionExpression: aws.String("attribute_not_exists(#opened) OR #opened <= :since"),
		ExpressionAttributeNames: map[string]string{"#provider": attrProvider, "#model": attrModel, "#state": attrState,
			"#closed": attrClosedAt, "#opened": attrOpenedAt, "#router": attrRouter, "#updated": attrUpdatedAt, "#expires": AttrExpires},
		ExpressionAttributeValues: map[string]types.AttributeValue{":provider": str(b.Provider), ":model": str(b.Model),
			":state": str(health.BreakerClosed), ":closed": epochMs(b.ClosedAt), ":since": epochMs(since),
			":router": str(b.Router), ":updated": epochMs(s.now()),
			":expires": &types.AttributeValueMemberN{Value: strconv.FormatInt(b.ClosedAt.Add(stateItemTTL).Unix(), 10)}},
	}
	return s.conditionalUpdate(ctx, in, "close breaker of "+healthSK(b.Provider, b.Model))
}

func (s *StateStore) conditionalUpdate(ctx context.Context, in *dynamodb.UpdateItemInput, what string) (bool, error) {
	_, err := s.DB.UpdateItem(ctx, in)
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("dynamo: %s: %w", what, err)
	}
	return true, nil
}

func breakerOf(item map[string]types.AttributeValue) (health.SharedBreaker, error) {
	b := health.SharedBreaker{Provider: stringAttr(item, attrProvider), Model: stringAttr(item, attrModel), State: stringAttr(item, attrState),
		Reason: stringAttr(item, attrReason), Router: stringAttr(item, attrRouter)}
	bad := func(what string) (health.SharedBreaker, error) {
		return health.SharedBreaker{}, fmt.Errorf("dynamo: breaker item %s: bad %s", stringAttr(item, AttrSK), what)
	}
	times := []struct {
		name string
		dst  *time.Time
	}{{attrOpenedAt, &b.OpenedAt}, {attrOpenUntil, &b.OpenUntil}, {attrClosedAt, &b.ClosedAt}, {attrUpdatedAt, &b.UpdatedAt}}
	for _, t := range times {
		v := numberAttr(item, t.name)
		if v == "" {
			continue
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return bad(t.name)
		}
		*t.dst = time.UnixMilli(ms)
	}
	if v := numberAttr(item, attrFailures); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return bad(attrFailures)
		}
		b.Failures = n
	}
	if b.Provider == "" || (b.State != health.BreakerOpen && b.State != health.BreakerClosed) {
		return bad(attrState)
	}
	return b, nil
}
