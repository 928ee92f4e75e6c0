package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/store/dynamo"
)

// TestBootstrapBeforeSeeding runs the real bootstrap binaries as a fresh
// deployment leaves them: tables created by the stack, nothing seeded yet.
// The router answers liveness and 503 router_not_configured, then serves the
// configuration once the real seed command wrote it, without a restart; the
// health function's first invocation succeeds.
func TestBootstrapBeforeSeeding(t *testing.T) {
	dir := t.TempDir()
	bootstrap := goBuild(t, dir, "bootstrap", ".")
	seed := goBuild(t, dir, "seed", "../../scripts/seed")
	health := goBuild(t, dir, "healthcheck", "../healthcheck")
	m := awstest.Start(t)
	if err := dynamo.CreateTables(context.Background(), dynamodb.NewFromConfig(m.Config()), dynamo.DefaultConfigTable,
		dynamo.DefaultStateTable); err != nil {
		t.Fatal(err)
	}
	// A cache TTL far shorter than running seed, so the configuration it
	// writes is read by the next invocation.
	env := append(m.Env(), "ROUTER_CACHE_TTL=1ms")
	event := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../../events", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	t.Run("health function", func(t *testing.T) {
		fn := startFunction(t, health, env, false)
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		_, body, err := fn.rt.Invoke(event("schedule.json"), 20*time.Second).Result(ctx)
		if err != nil || string(body) != "null" {
			t.Errorf("first invocation before seeding: %q, %v\n%s", body, err, fn.stderr)
		}
		if ie := fn.rt.InitError(); ie != nil {
			t.Errorf("init error: %s", ie)
		}
		if n := strings.Count(fn.stderr.String(), `"event":"not_seeded"`); n != 1 {
			t.Errorf("%d not_seeded lines, want 1:\n%s", n, fn.stderr)
		}
	})

	fns := map[bool]*function{false: startFunction(t, bootstrap, env, false), true: startFunction(t, bootstrap, env, true)}
	for _, streaming := range []bool{false, true} {
		fn := fns[streaming]
		mode := map[bool]string{false: "buffered", true: "streaming"}[streaming]
		check(t, fn.invoke(t, event("healthz.json")), expectation{status: 200, noRequestID: true, body: []string{`{"status":"ok"}`}})
		got := fn.invoke(t, event("chat.json"))
		var e struct {
			Error struct{ Message, Type, Code string }
		}
		if err := json.Unmarshal([]byte(got.body), &e); err != nil || got.status != 503 || e.Error.Type != "api_error" ||
			e.Error.Code != "router_not_configured" || !strings.Contains(e.Error.Message, "scripts/seed") {
			t.Errorf("%s: chat before seeding = %d %s", mode, got.status, got.body)
		}
		if ie := fn.rt.InitError(); ie != nil {
			t.Errorf("%s: init error: %s", mode, ie)
		}
	}

	out, err := runCmd(seed, m.Env(), "-config", "../../infra/config.events.yaml")
	if err != nil || !strings.Contains(out, "written as generation") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	for _, streaming := range []bool{false, true} {
		got := fns[streaming].invoke(t, event("chat.json"))
		check(t, got, eventExpectations()["chat.json"])
	}
}
