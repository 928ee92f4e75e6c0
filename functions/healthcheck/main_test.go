package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
)

const upstreamKey = "sk-test-healthcheck-upstream"

// TestScheduleEventThroughBootstrap runs the real bootstrap, as Lambda runs
// it, against a loopback Runtime API and moto: events/schedule.json starts
// an invocation that probes the configuration from the config table in
// rounds ROUTER_HEALTH_INTERVAL apart, stops before the invocation's
// deadline, and leaves each model's health in the state table.
func TestScheduleEventThroughBootstrap(t *testing.T) {
	bin := awstest.BuildBootstrap(t, ".")

	m := awstest.Start(t)
	awsCfg := m.Config()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(awsCfg)
	if err := dynamo.CreateTables(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultStateTable); err != nil {
		t.Fatal(err)
	}
	if _, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("llm-router/provider-keys"), SecretString: aws.String(`{"openai":"` + upstreamKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	upstream := openaitest.NewServer("openai", nil)
	defer upstream.Close()
	c, err := config.LoadFile("../../infra/config.events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Providers = append(c.Providers,
		config.Provider{Name: "openai", Type: config.TypeOpenAI, BaseURL: upstream.BaseURL(),
			Key: "secret:llm-router/provider-keys#openai", Probe: "chat"},
		config.Provider{Name: "down", Type: config.TypeOpenAI, BaseURL: openaitest.ClosedURL(),
			Key: "secret:llm-router/provider-keys#openai"})
	c.Models = append(c.Models, config.Model{ID: "gpt-4o-mini", Provider: "openai"}, config.Model{ID: "gone", Provider: "down"})
	c.Health = config.HealthPolicy{ProbeTimeout: config.Duration(500 * time.Millisecond)}
	if _, err := dynamo.WriteConfig(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}

	fn := awstest.StartFunction(t, bin, append(m.Env(), "ROUTER_HEALTH_INTERVAL=1s",
		"AWS_LAMBDA_FUNCTION_NAME=llm-router-HealthCheckFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256")...)
	rt, stdout, stderr := fn.RT, fn.Stdout, fn.Stderr

	payload, err := os.ReadFile("../../events/schedule.json")
	if err != nil {
		t.Fatal(err)
	}
	// A 5 s deadline fits rounds at 0, 1 and 2 s (each needs its 500ms
	// probe timeout and 2 s for writes); the one at 3 s would not.
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, body, err := rt.Invoke(payload, 5*time.Second).Result(wctx)
	if err != nil || string(body) != "null" {
		t.Fatalf("invocation: %q, %v", body, err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the invocation ran past its deadline: %v", took)
	}

	state := &dynamo.StateStore{DB: db, Table: dynamo.DefaultStateTable}
	items, err := state.ListHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]health.ProbeState{}
	for _, h := range items {
		got[h.Provider+"/"+h.Model] = h
	}
	want := map[string]struct {
		status, probe, reason string
	}{
		"sim/mock-fast":      {health.StatusHealthy, "models", ""},
		"openai/gpt-4o-mini": {health.StatusHealthy, "chat", ""},
		"down/gone":          {health.StatusUnhealthy, "models", "could not connect (3 failed probes in a row)"},
	}
	if len(got) != len(want) {
		t.Errorf("health items = %v, want %d", got, len(want))
	}
	for k, w := range want {
		h := got[k]
		if h.Status != w.status || h.Probe != w.probe || h.Reason != w.reason || h.Version != 3 {
			t.Errorf("%s = %+v, want %s (%s) after 3 rounds, reason %q", k, h, w.status, w.probe, w.reason)
		}
	}
	// The chat probe reached the upstream with the key from Secrets Manager.
	rec := upstream.Received()
	if len(rec) != 3 || rec[0].Header.Get("Authorization") != "Bearer "+upstreamKey || !strings.Contains(string(rec[0].Body), `"max_completion_tokens":1`) {
		t.Errorf("upstream received %d probes; first: %+v", len(rec), rec)
	}
	// Each round's status counts reach CloudWatch as EMF lines on stdout:
	// "down" is unhealthy from the second round (unhealthy_after: 2).
	out := stdout.String()
	if strings.Count(out, `"Status":"unhealthy","HealthTargets":0}`) != 1 ||
		strings.Count(out, `"Status":"unhealthy","HealthTargets":1}`) != 2 || strings.Count(out, `"Status":"healthy","HealthTargets":2}`) != 2 {
		t.Errorf("health metrics on stdout:\n%s", out)
	}
	logs := stderr.String()
	if n := strings.Count(logs, `"msg":"health round"`); n != 3 {
		t.Errorf("%d health rounds logged, want 3", n)
	}
	if strings.Contains(logs+stdout.String(), upstreamKey) {
		t.Error("the provider key is in the function's output")
	}
}
