package wiring

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

// The benchmark function of an unseeded stack, or of a configuration
// without a benchmarks section, succeeds at once: a weekly failure would
// only be counted and alarmed on.
func TestBenchmarkBeforeSeedingAndWithoutBenchmarks(t *testing.T) {
	s := newUnseededStack(t)
	env := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}
	settings, err := ParseSettings(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedWriter
	var buf strings.Builder
	logs.w = &buf
	b, err := BuildBenchmark(context.Background(), Process{Env: envOf(env), Stdout: &logs, Stderr: &logs, AWS: &s.aws}, settings)
	if err != nil {
		t.Fatalf("BuildBenchmark on an unseeded table: %v", err)
	}
	if b.State == nil || b.Runner.Store == nil {
		t.Error("the DynamoDB store does not write to the state table")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := b.Handle(ctx, events.EventBridgeEvent{ID: "ev"}); err != nil {
		t.Errorf("Handle before seeding: %v", err)
	}

	// Seeded, without a benchmarks section: nothing to measure, no failure.
	if _, err := dynamo.WriteConfig(ctx, b.State.DB, settings.ConfigTable, dynamo.DefaultConfigName, config.Default(), time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err = BuildBenchmark(ctx, Process{Env: envOf(env), Stdout: &logs, Stderr: &logs, AWS: &s.aws}, settings)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Handle(ctx, events.EventBridgeEvent{ID: "ev"}); err != nil {
		t.Errorf("Handle without benchmarks: %v", err)
	}
	logs.mu.Lock()
	out := buf.String()
	logs.mu.Unlock()
	if !strings.Contains(out, `"event":"not_seeded"`) || !strings.Contains(out, "the configuration has no benchmarks section") {
		t.Errorf("logs:\n%s", out)
	}
}
