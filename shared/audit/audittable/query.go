package audittable

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/llm-router/router/shared/audit"
)

// Reader is the part of the DynamoDB client the queries use.
type Reader interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

var _ Reader = (*dynamodb.Client)(nil)

// ErrNotFound means the table holds no record of that request: a wrong id,
// a record past its retention, or one not yet flushed.
var ErrNotFound = errors.New("no audit record of that request in the table")

// Get reads the record of one request.
func Get(ctx context.Context, db Reader, table, requestID string) (*audit.Record, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{AttrRequestID: str(requestID)}})
	if err != nil {
		return nil, fmt.Errorf("audittable: get %s: %w", requestID, err)
	}
	if out.Item == nil {
		return nil, ErrNotFound
	}
	return Record(out.Item)
}

// KeyDay lists the records of one key on one day (UTC), oldest first: one
// Query of the by_key_day index, paged. With provider set, only the requests
// with an attempt sent to that provider are returned, served there or not (a
// filter: DynamoDB still reads, and bills, the key's whole day). keyID NoKey
// lists the requests refused before their key was known.
func KeyDay(ctx context.Context, db Reader, table, keyID string, day time.Time, provider string) ([]audit.Record, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(table), IndexName: aws.String(IndexByKeyDay),
		KeyConditionExpression:    aws.String("#kd = :kd"),
		ExpressionAttributeNames:  map[string]string{"#kd": AttrKeyDay},
		ExpressionAttributeValues: map[string]types.AttributeValue{":kd": str(keyID + "#" + day.UTC().Format(time.DateOnly))}}
	if provider != "" {
		in.FilterExpression = aws.String("contains(#p, :p)")
		in.ExpressionAttributeNames["#p"] = AttrProviders
		in.ExpressionAttributeValues[":p"] = str(provider)
	}
	var out []audit.Record
	p := dynamodb.NewQueryPaginator(db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("audittable: query %s on %s: %w", keyID, day.Format(time.DateOnly), err)
		}
		for _, item := range page.Items {
			r, err := Record(item)
			if err != nil {
				return nil, err
			}
			out = append(out, *r)
		}
	}
	return out, nil
}

// Record reads an item back into the audit record it was written from.
func Record(item map[string]types.AttributeValue) (*audit.Record, error) {
	d := decoder{item: item}
	r := &audit.Record{
		RequestID:     d.str(AttrRequestID),
		KeyID:         d.str("key_id"),
		Route:         d.str("route"),
		DataClass:     d.str("data_class"),
		Require:       d.strs("require"),
		Model:         d.str("model"),
		Provider:      d.str("provider"),
		UpstreamModel: d.str("upstream_model"),
		Status:        int(d.num("status")),
		LatencyMs:     d.num("latency_ms"),
		TTFBMs:        d.num("ttfb_ms"),
		Usage: audit.Usage{PromptTokens: int(d.num("prompt_tokens")), CompletionTokens: int(d.num("completion_tokens")),
			CachedTokens: int(d.num("cached_tokens")), CacheWriteTokens: int(d.num("cache_write_tokens"))},
		CostUSD:            d.num("cost_usd"),
		Stream:             d.bool("stream"),
		Endpoint:           d.str("endpoint"),
		ClientRequestID:    d.str("client_request_id"),
		ErrorCode:          d.str("error_code"),
		ProviderCompliance: d.strs("provider_compliance"),
		UsageMissing:       d.bool("usage_missing"),
		DowngradedFrom:     d.str("downgraded_from"),
		Limit:              d.str("limit"),
		Structured:         d.str("structured"),
		Incomplete:         d.bool("incomplete"),
		Rule:               d.str("rule"),
		Cache:              d.str("cache"),
		CacheSavedUSD:      d.num("cache_saved_usd"),
	}
	if m, ok := item["require_from"].(*types.AttributeValueMemberM); ok {
		// Grouped by tag in require's order, as the audit line shows it.
		for _, tag := range r.Require {
			sources, _ := m.Value[tag].(*types.AttributeValueMemberL)
			if sources == nil {
				continue
			}
			for _, v := range sources.Value {
				if sv, ok := v.(*types.AttributeValueMemberS); ok {
					r.RequireFrom = append(r.RequireFrom, audit.RequireSource{Tag: tag, Source: sv.Value})
				}
			}
		}
	}
	if t := d.str("time"); t != "" {
		var err error
		if r.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			d.fail("time", err)
		}
	}
	if m, ok := item["tags"].(*types.AttributeValueMemberM); ok {
		r.Tags = make(map[string]string, len(m.Value))
		for k, v := range m.Value {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				r.Tags[k] = s.Value
			}
		}
	}
	if l, ok := item["attempts"].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				continue
			}
			a := decoder{item: m.Value}
			r.Attempts = append(r.Attempts, audit.Attempt{Model: a.str("model"), Provider: a.str("provider"),
				Outcome: a.str("outcome"), Status: int(a.num("status")), LatencyMs: a.num("latency_ms")})
			if a.err != nil {
				d.fail("attempts", a.err)
			}
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("audittable: item %s: %w", r.RequestID, d.err)
	}
	return r, nil
}

// decoder reads typed attributes, keeping the first malformed one.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(name string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", name, err)
	}
}

func (d *decoder) str(name string) string {
	if v, ok := d.item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func (d *decoder) num(name string) float64 {
	v, ok := d.item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	f, err := strconv.ParseFloat(v.Value, 64)
	if err != nil {
		d.fail(name, err)
	}
	return f
}

func (d *decoder) bool(name string) bool {
	v, ok := d.item[name].(*types.AttributeValueMemberBOOL)
	return ok && v.Value
}

func (d *decoder) strs(name string) []string {
	l, ok := d.item[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}
