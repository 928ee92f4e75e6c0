package wiring

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
)

func TestParseHealthInterval(t *testing.T) {
	s, err := ParseSettings(envOf(map[string]string{"ROUTER_HEALTH_INTERVAL": "10s"}))
	if err != nil || s.HealthInterval != 10*time.Second {
		t.Errorf("ROUTER_HEALTH_INTERVAL=10s: %v, %v", s.HealthInterval, err)
	}
	if s, _ := ParseSettings(envOf(nil)); s.HealthInterval != 0 {
		t.Errorf("unset: %v, want 0 (the checker's 30s default)", s.HealthInterval)
	}
	for _, bad := range []string{"soon", "-5s", "0s"} {
		if _, err := ParseSettings(envOf(map[string]string{"ROUTER_HEALTH_INTERVAL": bad})); err == nil ||
			!strings.Contains(err.Error(), "ROUTER_HEALTH_INTERVAL") {
			t.Errorf("ROUTER_HEALTH_INTERVAL=%s: %v", bad, err)
		}
	}
}

// The Lambda router, built as main builds it, reads the state table's
// health at start (an unhealthy target is skipped from the first request)
// and writes its breaker's opening at the end of the invocation that
// opened it, since a frozen environment runs nothing afterwards.
func TestLambdaRouterHealth(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(s.aws)
	c := s.config(t)
	c.Health = config.HealthPolicy{BreakerFailures: 2}
	if _, err := dynamo.WriteConfig(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	state := &dynamo.StateStore{DB: db, Table: dynamo.DefaultStateTable}
	if _, err := state.PutHealth(ctx, health.ProbeState{Provider: "sim", Model: "mock-fast", Status: health.StatusUnhealthy,
		CheckedAt: time.Now(), ConsecutiveFailures: 2, Reason: "status 503 (overloaded) (2 failed probes in a row)"}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_CACHE_TTL": "1m"})
	if r.Health == nil || r.Gateway.Health != r.Health || r.Gateway.Observer != r.Health || r.Health.Store == nil {
		t.Fatal("the gateway's health is not the state table's view")
	}
	h := lambda.NewHandler(r.LambdaHandler())
	invoke := func(model string) events.APIGatewayProxyResponse {
		t.Helper()
		ictx, cancel := invocationContext()
		defer cancel()
		out, err := h.Invoke(ictx, restEvent("POST", "/v1/chat/completions", chatBody(model, false)))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// Read at start: the mock is unhealthy, but it is demo's only target,
	// so it is tried all the same (and answers): a route whose every target
	// is marked down still recovers the moment they do.
	if resp := invoke("demo"); resp.StatusCode != 200 {
		t.Errorf("demo with its only target unhealthy: %d %s", resp.StatusCode, resp.Body)
	}

	// The upstream fails: two invocations open the breaker (breaker_failures: 2).
	s.upstream.SetScript(func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	for i := 0; i < 2; i++ {
		if resp := invoke("upstream"); resp.StatusCode != 502 {
			t.Fatalf("invocation %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	st, err := state.ReadHealthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Breakers) != 1 || st.Breakers[0].Provider != "openai" || st.Breakers[0].State != health.BreakerOpen ||
		!strings.Contains(st.Breakers[0].Reason, "2 failed attempts in a row") {
		t.Errorf("after the invocation that opened it, the shared breakers are %+v", st.Breakers)
	}
}
