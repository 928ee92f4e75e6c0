package wiring

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/store/dynamo"
)

// routerKey is the key of infra/config.events.yaml, published for local use.
const routerKey = "sk-router-local-example"

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr string
	}{
		{name: "local defaults", env: nil,
			want: Settings{Store: StoreFile, ConfigTable: "llm-router-config", StateTable: "llm-router-state", CacheTTL: 5 * time.Second,
				SecretID: "llm-router/provider-keys"}},
		{name: "lambda defaults to dynamodb", env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001", "ROUTER_STREAMING": "1"},
			want: Settings{OnLambda: true, Store: StoreDynamoDB, ConfigTable: "llm-router-config", StateTable: "llm-router-state",
				CacheTTL: 5 * time.Second, Streaming: true, SecretID: "llm-router/provider-keys"}},
		{name: "store override and tables", env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "ROUTER_STORE": "file",
			"ROUTER_CONFIG": "/etc/r.yaml", "ROUTER_CONFIG_TABLE": "c", "ROUTER_STATE_TABLE": "s", "ROUTER_CACHE_TTL": "250ms",
			"ROUTER_METRICS_NAMESPACE": "Ns", "PORT": "9000", "ROUTER_SECRET_ID": "team/keys"},
			want: Settings{OnLambda: true, Store: StoreFile, ConfigPath: "/etc/r.yaml", ConfigTable: "c", StateTable: "s",
				CacheTTL: 250 * time.Millisecond, Namespace: "Ns", Port: "9000", SecretID: "team/keys"}},
		{name: "local dynamodb", env: map[string]string{"ROUTER_STORE": "dynamodb"},
			want: Settings{Store: StoreDynamoDB, ConfigTable: "llm-router-config", StateTable: "llm-router-state", CacheTTL: 5 * time.Second,
				SecretID: "llm-router/provider-keys"}},
		{name: "bad store", env: map[string]string{"ROUTER_STORE": "redis"}, wantErr: "ROUTER_STORE"},
		{name: "bad ttl", env: map[string]string{"ROUTER_CACHE_TTL": "soon"}, wantErr: "ROUTER_CACHE_TTL"},
		{name: "negative ttl", env: map[string]string{"ROUTER_CACHE_TTL": "-1s"}, wantErr: "ROUTER_CACHE_TTL"},
		{name: "bad streaming", env: map[string]string{"ROUTER_STREAMING": "yes please"}, wantErr: "ROUTER_STREAMING"},
		{name: "lambda timeout, tracing, daemon", env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "ROUTER_FUNCTION_TIMEOUT": "300",
			"ROUTER_TRACING": "1", "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"},
			want: Settings{OnLambda: true, Store: StoreDynamoDB, ConfigTable: "llm-router-config", StateTable: "llm-router-state",
				CacheTTL: 5 * time.Second, SecretID: "llm-router/provider-keys", FunctionTimeout: 300 * time.Second, Tracing: true,
				XRayDaemon: "169.254.79.129:2000"}},
		{name: "sam local answers buffered", env: map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "ROUTER_STREAMING": "1", "AWS_SAM_LOCAL": "true"},
			want: Settings{OnLambda: true, Store: StoreDynamoDB, ConfigTable: "llm-router-config", StateTable: "llm-router-state",
				CacheTTL: 5 * time.Second, SecretID: "llm-router/provider-keys", SAMLocal: true}},
		{name: "bad function timeout", env: map[string]string{"ROUTER_FUNCTION_TIMEOUT": "forever"}, wantErr: "ROUTER_FUNCTION_TIMEOUT"},
		{name: "bad tracing", env: map[string]string{"ROUTER_TRACING": "maybe"}, wantErr: "ROUTER_TRACING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSettings(envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// stack is moto with both tables, the provider-keys secret, a loopback
// OpenAI-compatible upstream, and a client counting every AWS request.
type stack struct {
	moto     *awstest.Moto
	aws      aws.Config
	calls    *awstest.CountingClient
	upstream *openaitest.Server
}

const upstreamKey = "sk-test-upstream-key"

func newStack(t *testing.T) *stack {
	t.Helper()
	s := newUnseededStack(t)
	db := dynamodb.NewFromConfig(s.aws)
	if _, err := dynamo.WriteConfig(context.Background(), db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, s.config(t), time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// newUnseededStack is a stack as a fresh deployment leaves it: tables and the
// secret, no configuration in the config table.
func newUnseededStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{moto: awstest.Start(t)}
	s.aws = s.moto.Config()
	s.calls = &awstest.CountingClient{Base: s.aws.HTTPClient}
	s.aws.HTTPClient = s.calls
	s.upstream = openaitest.NewServer("openai", nil)
	t.Cleanup(s.upstream.Close)
	ctx := context.Background()
	db := dynamodb.NewFromConfig(s.aws)
	if err := dynamo.CreateTables(ctx, db, dynamo.DefaultConfigTable, dynamo.DefaultStateTable); err != nil {
		t.Fatal(err)
	}
	_, err := secretsmanager.NewFromConfig(s.aws).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String("llm-router/provider-keys"), SecretString: aws.String(`{"openai":"` + upstreamKey + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// config is infra/config.events.yaml plus a route to the loopback upstream whose
// key is in Secrets Manager.
func (s *stack) config(t *testing.T) *config.Config {
	t.Helper()
	c, err := config.LoadFile("../../infra/config.events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: config.TypeOpenAI, BaseURL: s.upstream.BaseURL(),
		Key: "secret:llm-router/provider-keys#openai"})
	c.Models = append(c.Models, config.Model{ID: "gpt-4o-mini", Provider: "openai", Price: &config.Price{Input: 0.15, Output: 0.6}})
	c.Routes = append(c.Routes, config.Route{Name: "upstream", Targets: []config.Target{{Model: "gpt-4o-mini"}}})
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *stack) build(t *testing.T, env map[string]string) (*Router, *bytes.Buffer) {
	t.Helper()
	settings, err := ParseSettings(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := Build(context.Background(), Process{Env: envOf(env), Stdout: io.Discard, Stderr: &lockedWriter{w: &stderr}, AWS: &s.aws}, settings)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, stderr.String())
	}
	return r, &stderr
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func chatBody(model string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": "one two three"}}})
	return string(b)
}

func restEvent(method, path, body string) []byte {
	ev := events.APIGatewayProxyRequest{Resource: path, Path: path, HTTPMethod: method, Body: body,
		MultiValueHeaders: map[string][]string{"Authorization": {"Bearer " + routerKey}, "Content-Type": {"application/json"}},
		RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", RequestID: "r1", HTTPMethod: method, ResourcePath: path,
			DomainName: "abc123def4.execute-api.us-east-1.amazonaws.com"}}
	b, _ := json.Marshal(ev)
	return b
}

func invocationContext() (context.Context, context.CancelFunc) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv"})
	return context.WithTimeout(ctx, time.Minute)
}

// TestLambdaEndToEnd: configuration from DynamoDB, the provider key from
// Secrets Manager, the router built as main builds it on Lambda, and a chat
// completion that reaches the upstream with that key, buffered and streamed.
// Warm requests then make no AWS call at all.
func TestLambdaEndToEnd(t *testing.T) {
	s := newStack(t)
	for _, streaming := range []string{"0", "1"} {
		t.Run("ROUTER_STREAMING="+streaming, func(t *testing.T) {
			r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_STREAMING": streaming,
				"ROUTER_CACHE_TTL": "1m"})
			if r.Source == nil || !r.Gateway.RequireKeys {
				t.Fatal("on Lambda the router must read DynamoDB and require keys")
			}
			h := lambda.NewHandler(r.LambdaHandler())
			invoke := func() (status float64, body string) {
				ctx, cancel := invocationContext()
				defer cancel()
				out, err := h.Invoke(ctx, restEvent("POST", "/v1/chat/completions", chatBody("upstream", false)))
				if err != nil {
					t.Fatal(err)
				}
				if streaming == "0" {
					var resp events.APIGatewayProxyResponse
					if err := json.Unmarshal(out, &resp); err != nil {
						t.Fatal(err)
					}
					return float64(resp.StatusCode), resp.Body
				}
				i := bytes.Index(out, make([]byte, 8))
				var prelude map[string]any
				if i < 0 || json.Unmarshal(out[:i], &prelude) != nil {
					t.Fatalf("no prelude in %q", out)
				}
				return prelude["statusCode"].(float64), string(out[i+8:])
			}
			before := len(s.upstream.Received())
			first := s.calls.Count()
			status, body := invoke()
			first = s.calls.Count() - first
			if status != 200 || !strings.Contains(body, `"model":"gpt-4o-mini"`) {
				t.Fatalf("chat = %v %s", status, body)
			}
			got := s.upstream.Received()
			if len(got) != before+1 || got[len(got)-1].Header.Get("Authorization") != "Bearer "+upstreamKey {
				t.Fatalf("upstream did not receive the key from Secrets Manager: %v", got[len(got)-1].Header)
			}

			calls := s.calls.Count()
			const warm = 50
			for i := 0; i < warm; i++ {
				if status, body := invoke(); status != 200 {
					t.Fatalf("warm request %d: %v %s", i, status, body)
				}
			}
			n := s.calls.Count() - calls
			if n != 0 {
				t.Errorf("%d warm requests made %d AWS calls, want 0", warm, n)
			}
			t.Logf("AWS calls: first request %d (the provider key), %d warm requests %d", first, warm, n)
		})
	}
}

// TestStreamedChunksArriveBeforeTheUpstreamEnds goes through the router as
// main builds it: the upstream holds its last chunk until the test has read
// the earlier ones from the response reader the Lambda runtime would post.
func TestStreamedChunksArriveBeforeTheUpstreamEnds(t *testing.T) {
	s := newStack(t)
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // runs before the upstream's Close, which waits for its handlers
	s.upstream.SetScript(func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "one two three", Release: release}
	})
	r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_STREAMING": "1"})
	ctx, cancel := invocationContext()
	defer cancel()
	resp, err := r.Lambda.Stream(ctx, restEvent("POST", "/v1/chat/completions", chatBody("upstream", true)))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp)
	early := readUntil(t, br, `"content":"two "`)
	if !bytes.Contains(early, []byte("text/event-stream")) || bytes.Contains(early, []byte("[DONE]")) {
		t.Fatalf("before release: %q", early)
	}
	free()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rest, []byte(`"content":"three"`)) || !bytes.HasSuffix(rest, []byte("data: [DONE]\n\n")) {
		t.Errorf("after release: %q", rest)
	}
}

func readUntil(t *testing.T, r *bufio.Reader, marker string) []byte {
	t.Helper()
	got := make(chan []byte, 1)
	go func() {
		var b []byte
		for !bytes.Contains(b, []byte(marker)) {
			line, err := r.ReadBytes('\n')
			b = append(b, line...)
			if err != nil {
				break
			}
		}
		got <- b
	}()
	select {
	case b := <-got:
		if !bytes.Contains(b, []byte(marker)) {
			t.Fatalf("stream ended before %q: %q", marker, b)
		}
		return b
	case <-time.After(10 * time.Second):
		t.Fatalf("%q did not arrive while the upstream held its last chunk: the answer is buffered", marker)
	}
	return nil
}

// TestLocalServerOnDynamoDB: ROUTER_STORE=dynamodb works outside Lambda too
// (AWS_ENDPOINT_URL in real use), keys enforced by the configuration's own
// keys.
func TestLocalServerOnDynamoDB(t *testing.T) {
	s := newStack(t)
	r, _ := s.build(t, map[string]string{"ROUTER_STORE": "dynamodb"})
	if r.Gateway.RequireKeys {
		t.Error("a local router does not require keys")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/chat/completions", strings.NewReader(chatBody("demo", false)))
	req.Header.Set("Authorization", "Bearer "+routerKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Router-Route") != "demo" {
		t.Errorf("local chat on DynamoDB config = %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestBuildFailsClearly(t *testing.T) {
	t.Run("no DynamoDB", func(t *testing.T) {
		m := awstest.Start(t)
		cfg := m.Config()
		m.Stop()
		settings, _ := ParseSettings(envOf(map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}))
		_, err := Build(context.Background(), Process{Env: envOf(nil), Stdout: io.Discard, Stderr: io.Discard, AWS: &cfg}, settings)
		if err == nil || !strings.Contains(err.Error(), "cannot load configuration") || !strings.Contains(err.Error(), "llm-router-config") {
			t.Errorf("err = %v, want a clear first-load failure naming the table", err)
		}
	})
	t.Run("lambda without keys", func(t *testing.T) {
		dir := t.TempDir()
		path := dir + "/open.yaml"
		if err := os.WriteFile(path, config.DefaultYAML(), 0o600); err != nil {
			t.Fatal(err)
		}
		settings, _ := ParseSettings(envOf(map[string]string{"AWS_LAMBDA_RUNTIME_API": "x", "ROUTER_STORE": "file", "ROUTER_CONFIG": path}))
		cfg := aws.Config{Region: "us-east-1"}
		_, err := Build(context.Background(), Process{Env: envOf(nil), Stdout: io.Discard, Stderr: io.Discard, AWS: &cfg}, settings)
		if !errors.Is(err, config.ErrNoKeys) {
			t.Errorf("err = %v, want ErrNoKeys: the Lambda never runs open", err)
		}
	})
	t.Run("bad file", func(t *testing.T) {
		settings, _ := ParseSettings(envOf(map[string]string{"ROUTER_CONFIG": "/nonexistent/router.yaml"}))
		_, err := Build(context.Background(), Process{Env: envOf(nil), Stdout: io.Discard, Stderr: io.Discard}, settings)
		if err == nil || !strings.Contains(err.Error(), "/nonexistent/router.yaml") {
			t.Errorf("err = %v", err)
		}
	})
}
