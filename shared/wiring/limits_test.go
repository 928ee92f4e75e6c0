package wiring

import (
	"context"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

// Two Lambda execution environments, built as main builds them, share one
// key's rpm and budget through the state table: between them they admit
// exactly rpm requests in the minute, and once each invocation's flush has
// run the budget counter holds exactly the cost the router reported.
func TestLambdaInstancesShareLimits(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	c := s.config(t)
	c.Keys[0].RPM = 5
	c.Keys[0].Budget = &config.Budget{MonthlyUSD: 100}
	db := dynamodb.NewFromConfig(s.aws)
	if _, err := dynamo.WriteConfig(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Mid-minute, so the window cannot end during the test.
	var clock atomic.Int64
	clock.Store(time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	var handlers []lambda.Handler
	for range 2 {
		r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"})
		r.Limits.Now = now
		handlers = append(handlers, lambda.NewHandler(r.LambdaHandler()))
	}
	spent, admitted := 0.0, 0
	for i := range 12 {
		ictx, cancel := invocationContext()
		out, err := handlers[i%2].Invoke(ictx, restEvent("POST", "/v1/chat/completions", chatBody("demo", false)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		switch resp.StatusCode {
		case 200:
			admitted++
			cost, _ := strconv.ParseFloat(header(resp, "X-Router-Cost-Usd"), 64)
			spent += cost
		case 429:
			if !strings.Contains(resp.Body, `"code":"rate_limit_exceeded"`) || header(resp, "Retry-After") != "34" {
				t.Errorf("429 = %s, Retry-After %q", resp.Body, header(resp, "Retry-After"))
			}
		default:
			t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
		}
	}
	if admitted != 5 {
		t.Errorf("two instances admitted %d requests in a minute, want the key's rpm, 5", admitted)
	}
	st := &dynamo.StateStore{DB: db, Table: dynamo.DefaultStateTable}
	held, err := st.Counter(ctx, "usd#key#local-example#202603")
	if err != nil {
		t.Fatal(err)
	}
	if held < spent {
		t.Errorf("budget counter %v is below the %v spent", held, spent)
	}
	// The instances hold claimed shares for their next requests. Once those
	// have sat unused for ReturnIdle, the next invocation's flush (any
	// request, before the execution environment freezes) gives them back,
	// and the counter holds exactly what was spent.
	clock.Add(int64(31 * time.Second))
	for _, h := range handlers {
		ictx, cancel := invocationContext()
		if _, err := h.Invoke(ictx, restEvent("GET", "/v1/models", "")); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	got, err := st.Counter(ctx, "usd#key#local-example#202603")
	if err != nil {
		t.Fatal(err)
	}
	if spent == 0 || math.Abs(got-spent) > 1e-12 {
		t.Errorf("budget counter %v after the idle shares were returned, want the %v spent", got, spent)
	}
	t.Logf("admitted %d, spent %v USD; counter %v while instances held shares, %v after", admitted, spent, held, got)
}

func header(resp events.APIGatewayProxyResponse, name string) string {
	if v, ok := resp.Headers[name]; ok {
		return v
	}
	if vs := resp.MultiValueHeaders[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
