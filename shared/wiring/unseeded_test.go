package wiring

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/lambdaapi"
	"github.com/llm-router/router/shared/store/dynamo"
	"github.com/llm-router/router/shared/trace/xray"
)

// A stack deployed before its configuration: the router starts, answers
// liveness, answers routed requests 503 router_not_configured, and serves the
// configuration seeded afterwards within one cache TTL, without a restart.
func TestLambdaRouterBeforeSeeding(t *testing.T) {
	for _, streaming := range []string{"0", "1"} {
		t.Run("ROUTER_STREAMING="+streaming, func(t *testing.T) {
			s := newUnseededStack(t)
			r, logs := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_STREAMING": streaming,
				"ROUTER_CACHE_TTL": "1m"})
			var clock atomic.Int64
			clock.Store(time.Now().UnixNano())
			r.Source.Now = func() time.Time { return time.Unix(0, clock.Load()) }
			h := lambda.NewHandler(r.LambdaHandler())
			invoke := func(method, path, body string) (int, string) {
				t.Helper()
				ctx, cancel := invocationContext()
				defer cancel()
				out, err := h.Invoke(ctx, restEvent(method, path, body))
				if err != nil {
					t.Fatal(err)
				}
				return decodeAnswer(t, streaming == "1", out)
			}
			if status, body := invoke("GET", "/healthz", ""); status != 200 || body != `{"status":"ok"}` {
				t.Errorf("/healthz before seeding: %d %s", status, body)
			}
			for _, path := range []string{"/v1/chat/completions", "/v1/embeddings", "/v1/router/explain"} {
				status, body := invoke("POST", path, chatBody("demo", false))
				var e struct {
					Error struct{ Type, Code, Message string }
				}
				_ = json.Unmarshal([]byte(body), &e)
				if status != 503 || e.Error.Type != "api_error" || e.Error.Code != "router_not_configured" ||
					!strings.Contains(e.Error.Message, "scripts/seed") {
					t.Errorf("%s before seeding: %d %s", path, status, body)
				}
			}
			if !strings.Contains(logs.String(), `"event":"not_seeded"`) {
				t.Errorf("no not_seeded line in the log:\n%s", logs)
			}

			// Seed; within the TTL nothing changes, one TTL later it serves.
			db := dynamodb.NewFromConfig(s.aws)
			if _, err := dynamo.WriteConfig(context.Background(), db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName,
				s.config(t), time.Now()); err != nil {
				t.Fatal(err)
			}
			if status, _ := invoke("POST", "/v1/chat/completions", chatBody("demo", false)); status != 503 {
				t.Errorf("within the TTL of the last look: %d", status)
			}
			clock.Add(int64(time.Minute))
			if status, body := invoke("POST", "/v1/chat/completions", chatBody("demo", false)); status != 200 ||
				!strings.Contains(body, `"model":"mock-fast"`) {
				t.Errorf("one TTL after seeding: %d %s", status, body)
			}
			if rd := r.Source.Readiness(); !rd.Ready || rd.Generation == "" {
				t.Errorf("readiness after seeding: %+v", rd)
			}
		})
	}
}

// decodeAnswer reads a buffered or streamed answer's status and body.
func decodeAnswer(t *testing.T, streamed bool, out []byte) (int, string) {
	t.Helper()
	if !streamed {
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return resp.StatusCode, resp.Body
	}
	i := strings.Index(string(out), "\x00\x00\x00\x00\x00\x00\x00\x00")
	var prelude struct{ StatusCode int }
	if i < 0 || json.Unmarshal(out[:i], &prelude) != nil {
		t.Fatalf("no prelude in %q", out)
	}
	return prelude.StatusCode, string(out[i+8:])
}

// The health function of an unseeded stack succeeds at once, so the schedule
// does not turn a fresh deployment into failures and retries.
func TestHealthCheckBeforeSeeding(t *testing.T) {
	s := newUnseededStack(t)
	env := map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}
	settings, err := ParseSettings(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedWriter
	var buf strings.Builder
	logs.w = &buf
	hc, err := BuildHealthCheck(context.Background(), Process{Env: envOf(env), Stdout: &logs, Stderr: &logs, AWS: &s.aws}, settings)
	if err != nil {
		t.Fatalf("BuildHealthCheck on an unseeded table: %v", err)
	}
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := hc.Handle(ctx, events.EventBridgeEvent{ID: "ev"})
		cancel()
		if err != nil {
			t.Errorf("Handle before seeding: %v", err)
		}
	}
	logs.mu.Lock()
	out := buf.String()
	logs.mu.Unlock()
	if n := strings.Count(out, `"event":"not_seeded"`); n != 1 {
		t.Errorf("%d not_seeded lines over 3 invocations, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "health round failed") {
		t.Errorf("a round ran and failed:\n%s", out)
	}
}

// The Lambda deadline reaches the gateway: its ceiling is the function's
// timeout less the adapter's margin. Tracing wires the X-Ray emitter.
func TestLambdaDeadlineAndTracing(t *testing.T) {
	s := newStack(t)
	daemon, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_FUNCTION_TIMEOUT": "300",
		"ROUTER_TRACING": "1", "AWS_XRAY_DAEMON_ADDRESS": "tcp:127.0.0.1:1 udp:" + daemon.LocalAddr().String()})
	if want := 300*time.Second - lambdaapi.DefaultDeadlineMargin; r.Gateway.MaxDuration != want {
		t.Errorf("MaxDuration = %v, want %v", r.Gateway.MaxDuration, want)
	}
	if r.Lambda.DeadlineMargin != lambdaapi.DefaultDeadlineMargin {
		t.Errorf("adapter margin %v", r.Lambda.DeadlineMargin)
	}
	em, ok := r.Gateway.Tracer.(*xray.Emitter)
	if !ok {
		t.Fatalf("Tracer = %T, want the X-Ray emitter", r.Gateway.Tracer)
	}
	_, span := em.Start(xray.WithHeader(context.Background(), "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"), "request")
	span.End(nil)
	buf := make([]byte, 4096)
	if err := daemon.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := daemon.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), `"parent_id":"53995c3f42cd8ad8"`) {
		t.Errorf("daemon got %q, %v", buf[:n], err)
	}
	plain, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"})
	if plain.Gateway.Tracer != nil || plain.Gateway.MaxDuration != 0 {
		t.Errorf("without ROUTER_TRACING and ROUTER_FUNCTION_TIMEOUT: tracer %v, ceiling %v", plain.Gateway.Tracer, plain.Gateway.MaxDuration)
	}
}
