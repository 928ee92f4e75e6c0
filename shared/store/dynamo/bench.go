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

// Benchmark results (docs/DYNAMODB.md, "Benchmark items"): each run of a
// target is kept in a partition of the target's own, sorted by run time, and
// the latest one is copied into the health partition, so routers read it
// with the Query they already make.
const (
	// benchPrefix starts a target's history partition: bench#provider#model.
	benchPrefix = "bench#"
	// benchLatestPrefix starts the latest result's sort key in the health
	// partition. Names cannot start with '#', so it never collides with a
	// probe item.
	benchLatestPrefix = "#bench#"
)

// How long benchmark items live. A run is kept for comparisons over a year;
// the latest result stops steering routing once five weekly runs were
// missed (the function stopped, or the model left the configuration).
const (
	BenchmarkHistoryTTL = 400 * 24 * time.Hour
	BenchmarkLatestTTL  = 35 * 24 * time.Hour
)

// Benchmark item attributes (provider, model and the TTL are shared with
// the health items).
const (
	attrRunAt        = "run_at" // epoch milliseconds, so conditions compare it
	attrRunID        = "run_id"
	attrDataClass    = "data_class"
	attrRequests     = "requests"
	attrErrorRate    = "error_rate"
	attrChecked      = "checked"
	attrPassRate     = "pass_rate"
	attrTTFT         = "ttft_ms"
	attrP50          = "p50_ms"
	attrP90          = "p90_ms"
	attrCost         = "cost_usd"
	attrPriced       = "priced"
	attrPromptTokens = "prompt_tokens"
	attrComplTokens  = "completion_tokens"
)

func benchHistoryPK(provider, model string) string { return benchPrefix + provider + "#" + model }

func benchLatestSK(provider, model string) string { return benchLatestPrefix + provider + "#" + model }

// benchRunSK orders a target's runs by time: fixed-width UTC, so text order
// is time order, then the run id, so two runs in one millisecond both stay.
func benchRunSK(r health.BenchmarkResult) string {
	return r.RunAt.UTC().Format("2006-01-02T15:04:05.000Z") + "#" + r.RunID
}

func num(v float64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatFloat(v, 'f', -1, 64)}
}

func intNum(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// benchItem is r's attributes besides the key, expiring ttl after the run.
func benchItem(r health.BenchmarkResult, ttl time.Duration) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrProvider: str(r.Provider), attrModel: str(r.Model), attrRunAt: intNum(r.RunAt.UnixMilli()),
		attrRunID: str(r.RunID), attrDataClass: str(r.DataClass), attrRequests: intNum(int64(r.Requests)),
		attrErrorRate: num(r.ErrorRate), attrChecked: intNum(int64(r.Checked)), attrPassRate: num(r.PassRate),
		attrTTFT: num(r.TTFTMs), attrP50: num(r.P50Ms), attrP90: num(r.P90Ms), attrCost: num(r.CostUSD),
		attrPriced: &types.AttributeValueMemberBOOL{Value: r.Priced}, attrPromptTokens: intNum(int64(r.PromptTokens)),
		attrComplTokens: intNum(int64(r.CompletionTokens)),
		AttrExpires:     intNum(r.RunAt.Add(ttl).Unix()),
	}
}

// PutBenchmark records one target's result of a run: a history item of its
// own, then the latest result in the health partition, unless a later run
// already wrote one there (two overlapping runs leave the later's figures).
func (s *StateStore) PutBenchmark(ctx context.Context, r health.BenchmarkResult) error {
	if r.Provider == "" || r.Model == "" || r.RunAt.IsZero() || r.RunID == "" {
		return errors.New("dynamo: a benchmark result needs its provider, model, run time and run id")
	}
	what := healthSK(r.Provider, r.Model)
	hist := benchItem(r, BenchmarkHistoryTTL)
	hist[AttrPK], hist[AttrSK] = str(benchHistoryPK(r.Provider, r.Model)), str(benchRunSK(r))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: hist}); err != nil {
		return fmt.Errorf("dynamo: write benchmark run of %s: %w", what, err)
	}
	latest := benchItem(r, BenchmarkLatestTTL)
	latest[AttrPK], latest[AttrSK] = str(healthPK), str(benchLatestSK(r.Provider, r.Model))
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: latest,
		ConditionExpression:       aws.String("attribute_not_exists(#at) OR #at <= :at"),
		ExpressionAttributeNames:  map[string]string{"#at": attrRunAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": intNum(r.RunAt.UnixMilli())}})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return fmt.Errorf("dynamo: write latest benchmark of %s: %w", what, err)
	}
	return nil
}

// BenchmarkRuns reads a target's runs, the latest first, at most limit of
// them (0: all), with one Query (paged).
func (s *StateStore) BenchmarkRuns(ctx context.Context, provider, model string, limit int) ([]health.BenchmarkResult, error) {
	in := &dynamodb.QueryInput{TableName: aws.String(s.Table), KeyConditionExpression: aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(benchHistoryPK(provider, model))},
		ScanIndexForward:          aws.Bool(false)}
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, 1000)))
	}
	var out []health.BenchmarkResult
	now := s.now()
	for {
		page, err := s.DB.Query(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("dynamo: read benchmark runs of %s: %w", healthSK(provider, model), err)
		}
		for _, item := range page.Items {
			if expired(item, now) {
				continue
			}
			r, err := benchmarkOf(item)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
			if limit > 0 && len(out) == limit {
				return out, nil
			}
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// isBenchLatest reports a latest-benchmark item of the health partition.
func isBenchLatest(item map[string]types.AttributeValue) bool {
	return strings.HasPrefix(stringAttr(item, AttrSK), benchLatestPrefix)
}

func benchmarkOf(item map[string]types.AttributeValue) (health.BenchmarkResult, error) {
	r := health.BenchmarkResult{Provider: stringAttr(item, attrProvider), Model: stringAttr(item, attrModel),
		RunID: stringAttr(item, attrRunID), DataClass: stringAttr(item, attrDataClass)}
	bad := func(what string) (health.BenchmarkResult, error) {
		return health.BenchmarkResult{}, fmt.Errorf("dynamo: benchmark item %s %s: bad %s",
			stringAttr(item, AttrPK), stringAttr(item, AttrSK), what)
	}
	if r.Provider == "" || r.Model == "" {
		return bad(attrProvider)
	}
	ms, err := strconv.ParseInt(numberAttr(item, attrRunAt), 10, 64)
	if err != nil {
		return bad(attrRunAt)
	}
	r.RunAt = time.UnixMilli(ms).UTC()
	for _, f := range []struct {
		name string
		dst  *float64
	}{{attrErrorRate, &r.ErrorRate}, {attrPassRate, &r.PassRate}, {attrTTFT, &r.TTFTMs}, {attrP50, &r.P50Ms},
		{attrP90, &r.P90Ms}, {attrCost, &r.CostUSD}} {
		if *f.dst, err = strconv.ParseFloat(numberAttr(item, f.name), 64); err != nil {
			return bad(f.name)
		}
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{attrRequests, &r.Requests}, {attrChecked, &r.Checked}, {attrPromptTokens, &r.PromptTokens},
		{attrComplTokens, &r.CompletionTokens}} {
		if *f.dst, err = strconv.Atoi(numberAttr(item, f.name)); err != nil {
			return bad(f.name)
		}
	}
	if v, ok := item[attrPriced].(*types.AttributeValueMemberBOOL); ok {
		r.Priced = v.Value
	}
	return r, nil
}
