package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// wait bounds every wait on the child processes.
const wait = 30 * time.Second

const upstreamKey = "sk-test-bootstrap-upstream"

// answer is one invocation's HTTP answer, from either response format.
type answer struct {
	status int
	header map[string]string // canonical names; multi-valued joined with ", "
	body   string
}

// expectation is what one events/ file must produce.
type expectation struct {
	status int
	header map[string]string // exact values
	body   []string          // substrings, in order
	// streamingOnly events need the streaming handler (Function URLs).
	streamingOnly bool
	// noRequestID: the liveness probe answers without a request id.
	noRequestID bool
}

// eventExpectations covers every file in events/ the router serves; the
// test fails on a file missing here.
func eventExpectations() map[string]expectation {
	return map[string]expectation{
		"chat.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json", "X-Router-Route": "demo", "X-Router-Model": "mock-fast",
				"X-Router-Provider": "sim", "X-Router-Attempts": "1"},
			body: []string{`"object":"chat.completion"`, `"model":"mock-fast"`, `"content":"This is a simulated answer."`, `"usage":{`}},
		"chat-stream.json": {status: 200,
			header: map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Router-Route": "demo",
				"X-Router-Model": "mock-fast"},
			body: []string{"data: {", `"object":"chat.completion.chunk"`, `"content":"This`, `"usage":{"prompt_tokens"`, "data: [DONE]\n\n"}},
		"chat-tools.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json", "X-Router-Route": "demo"},
			body:   []string{`"tool_calls":[`, `"name":"get_weather"`, `"finish_reason":"tool_calls"`}},
		"models.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`"object":"list"`, `"id":"demo"`, `"id":"mock-fast"`}},
		"explain.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`"route":"demo"`, `"key_id":"local-example"`, `"data_class":"phi"`, `"require":["hipaa"]`, `"model":"mock-fast"`}},
		"health.json": {status: 200,
			body: []string{`"object":"list"`, `"model":"mock-fast"`, `"status":"healthy"`}},
		"healthz.json": {status: 200, noRequestID: true, body: []string{`{"status":"ok"}`}},
		"bad-request.json": {status: 400,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`"type":"invalid_request_error"`}},
		"unauthorized.json": {status: 401,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`"type":"authentication_error"`, `"code":"invalid_api_key"`}},
		"responses-stream.json": {status: 200,
			header: map[string]string{"Content-Type": "text/event-stream", "X-Router-Route": "demo", "X-Router-Model": "mock-fast"},
			body: []string{"event: response.created\n", "event: response.output_text.delta\n", `"delta":"This`,
				"event: response.completed\n", `"usage":{"input_tokens"`}},
		"messages.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json", "X-Router-Route": "demo"},
			body:   []string{`"type":"message"`, `"role":"assistant"`, `"text":"This is a simulated answer."`, `"stop_reason":"end_turn"`}},
		"model.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`{"id":"mock-fast","object":"model"`, `"owned_by":"sim"`}},
		// API Gateway passes repeated header lines in multiValueHeaders:
		// every x-router-data-class line counts.
		"explain-repeated-data-class.json": {status: 200,
			header: map[string]string{"Content-Type": "application/json"},
			body:   []string{`"data_class":"internal,phi"`, `"require":["hipaa"]`}},
		"functionurl-chat-stream.json": {status: 200, streamingOnly: true,
			header: map[string]string{"Content-Type": "text/event-stream", "X-Router-Route": "demo"},
			body:   []string{`"object":"chat.completion.chunk"`, "data: [DONE]\n\n"}},
	}
}

// TestBootstrap runs the real bootstrap binary, as Lambda runs it, against a
// loopback Runtime API, with its configuration in DynamoDB (moto) written by
// the seed command and a provider key in Secrets Manager. Every file in
// events/ goes through it, buffered and streamed.
func TestBootstrap(t *testing.T) {
	dir := t.TempDir()
	bootstrap := goBuild(t, dir, "bootstrap", ".")
	seed := goBuild(t, dir, "seed", "../../scripts/seed")
	health := goBuild(t, dir, "healthcheck", "../healthcheck")

	m := awstest.Start(t)
	awsCfg := m.Config()
	upstream := openaitest.NewServer("openai", nil)
	t.Cleanup(upstream.Close)
	if _, err := secretsmanager.NewFromConfig(awsCfg).CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("llm-router/provider-keys"), SecretString: aws.String(`{"openai":"` + upstreamKey + `"}`)}); err != nil {
		t.Fatal(err)
	}
	cfgFile := writeConfig(t, dir, upstream.BaseURL())
	out, err := runCmd(seed, m.Env(), "-config", cfgFile, "-create-tables")
	if err != nil || !strings.Contains(out, "written as generation") {
		t.Fatalf("seed: %v\n%s", err, out)
	}

	files, err := filepath.Glob("../../events/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	for _, streaming := range []bool{false, true} {
		mode := map[bool]string{false: "buffered", true: "streaming"}[streaming]
		t.Run(mode, func(t *testing.T) {
			fn := startFunction(t, bootstrap, m.Env(), streaming)
			expect := eventExpectations()
			for _, file := range files {
				name := filepath.Base(file)
				want, ok := expect[name]
				switch {
				case name == "schedule.json":
					continue // the health function's event, below
				case name == "benchmark-schedule.json":
					continue // the benchmark function's (functions/benchmark tests it)
				case !ok:
					t.Errorf("events/%s has no expectation in this test", name)
					continue
				case want.streamingOnly && !streaming:
					continue // a Function URL needs the streaming handler
				}
				t.Run(name, func(t *testing.T) {
					payload, err := os.ReadFile(file)
					if err != nil {
						t.Fatal(err)
					}
					got := fn.invoke(t, payload)
					check(t, got, want)
				})
			}
			t.Run("secret key reaches the upstream", func(t *testing.T) {
				before := len(upstream.Received())
				got := fn.invoke(t, restEvent(t, chatBody("upstream", false)))
				check(t, got, expectation{status: 200, header: map[string]string{"X-Router-Provider": "openai"},
					body: []string{`"model":"gpt-4o-mini"`}})
				rec := upstream.Received()
				if len(rec) != before+1 || rec[len(rec)-1].Header.Get("Authorization") != "Bearer "+upstreamKey {
					t.Errorf("the upstream did not get the key from Secrets Manager")
				}
			})
			t.Run("audit lines flushed per invocation", func(t *testing.T) {
				// The Lambda path runs no background flusher: lines on stdout
				// prove each invocation flushed its own.
				fn.waitStdout(t, `"type":"audit"`, `"route":"upstream"`)
				fn.waitStdout(t, `"_aws":{`, `"CloudWatchMetrics"`)
			})
			if streaming {
				t.Run("chunks arrive before the upstream ends", func(t *testing.T) {
					chunksBeforeEnd(t, fn, upstream)
				})
			}
		})
	}

	t.Run("health function takes the schedule event", func(t *testing.T) {
		fn := startFunction(t, health, m.Env(), false)
		payload, err := os.ReadFile("../../events/schedule.json")
		if err != nil {
			t.Fatal(err)
		}
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(payload, &ev); err != nil || ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" {
			t.Fatalf("schedule.json = %+v, %v", ev, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		// A 20 s deadline leaves room for one probe round, not for the
		// second one 30 s later (functions/healthcheck tests the rounds).
		_, body, err := fn.rt.Invoke(payload, 20*time.Second).Result(ctx)
		if err != nil || string(body) != "null" {
			t.Errorf("health function: %q, %v", body, err)
		}
	})
}

// chunksBeforeEnd proves the answer streams through the real runtime client:
// the upstream holds its last chunk until the test has read the earlier ones
// from the body the binary is still POSTing to the Runtime API.
func chunksBeforeEnd(t *testing.T, fn *function, upstream *openaitest.Server) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free)
	upstream.SetScript(func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "one two three", Release: release}
	})
	defer upstream.SetScript(nil)
	inv := fn.rt.Invoke(restEvent(t, chatBody("upstream", true)), time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ct, body, err := inv.Response(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("content type = %q", ct)
	}
	r := bufio.NewReader(body)
	early := make(chan []byte, 1)
	go func() {
		var b []byte
		for !bytes.Contains(b, []byte(`"content":"two "`)) {
			line, err := r.ReadBytes('\n')
			b = append(b, line...)
			if err != nil {
				break
			}
		}
		early <- b
	}()
	select {
	case b := <-early:
		if !bytes.Contains(b, []byte(`"content":"two "`)) || bytes.Contains(b, []byte(`"three"`)) {
			t.Fatalf("before release: %q", b)
		}
	case <-ctx.Done():
		t.Fatal("no chunk arrived while the upstream held its last one: the answer is buffered")
	}
	free()
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rest, []byte(`"content":"three"`)) || !bytes.HasSuffix(rest, []byte("data: [DONE]\n\n")) {
		t.Errorf("after release: %q", rest)
	}
}

func check(t *testing.T, got answer, want expectation) {
	t.Helper()
	if got.status != want.status {
		t.Errorf("status = %d, want %d; body %s", got.status, want.status, got.body)
	}
	if got.header["X-Request-Id"] == "" && !want.noRequestID {
		t.Errorf("no X-Request-Id header: %v", got.header)
	}
	for k, v := range want.header {
		if got.header[k] != v {
			t.Errorf("header %s = %q, want %q", k, got.header[k], v)
		}
	}
	rest := got.body
	for _, s := range want.body {
		i := strings.Index(rest, s)
		if i < 0 {
			t.Errorf("body lacks %q (in order); body:\n%s", s, got.body)
			return
		}
		rest = rest[i+len(s):]
	}
}

// function is a bootstrap process with its Runtime API.
type function struct {
	rt       *awstest.RuntimeAPI
	cmd      *exec.Cmd
	stdout   *syncBuffer
	stderr   *syncBuffer
	stream   bool
	waitExit chan struct{}
}

func startFunction(t *testing.T, bin string, env []string, streaming bool) *function {
	t.Helper()
	rt, err := awstest.NewRuntimeAPI()
	if err != nil {
		t.Fatal(err)
	}
	f := &function{rt: rt, stdout: &syncBuffer{}, stderr: &syncBuffer{}, stream: streaming, waitExit: make(chan struct{})}
	f.cmd = exec.Command(bin)
	f.cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+rt.Addr, "ROUTER_STREAMING="+map[bool]string{false: "0", true: "1"}[streaming],
		"AWS_LAMBDA_FUNCTION_NAME=llm-router-RouterFunction", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=1024")
	f.cmd.Stdout, f.cmd.Stderr = f.stdout, f.stderr
	if err := f.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.cmd.Wait(); close(f.waitExit) }()
	t.Cleanup(func() {
		_ = f.cmd.Process.Kill()
		<-f.waitExit
		_ = rt.Close()
		if t.Failed() {
			t.Logf("function stderr:\n%s", f.stderr.String())
		}
	})
	return f
}

// invoke sends one event and decodes the answer in the function's format.
func (f *function) invoke(t *testing.T, payload []byte) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ct, raw, err := f.rt.Invoke(payload, time.Minute).Result(ctx)
	if err != nil {
		t.Fatalf("invocation failed: %v\nstderr:\n%s", err, f.stderr.String())
	}
	a := answer{header: map[string]string{}}
	if !f.stream {
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(raw, &resp); err != nil {
			t.Fatalf("buffered answer is not an API Gateway proxy response: %v\n%s", err, raw)
		}
		a.status, a.body = resp.StatusCode, resp.Body
		for k, v := range resp.Headers {
			a.header[k] = v
		}
		for k, v := range resp.MultiValueHeaders {
			a.header[k] = strings.Join(v, ", ")
		}
		return a
	}
	if ct != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("streamed answer's content type = %q", ct)
	}
	i := bytes.Index(raw, make([]byte, 8))
	if i < 0 {
		t.Fatalf("streamed answer has no 8-NUL delimiter: %q", raw)
	}
	var prelude struct {
		StatusCode        int                 `json:"statusCode"`
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	}
	if err := json.Unmarshal(raw[:i], &prelude); err != nil {
		t.Fatalf("prelude %q: %v", raw[:i], err)
	}
	a.status, a.body = prelude.StatusCode, string(raw[i+8:])
	for k, v := range prelude.Headers {
		a.header[k] = v
	}
	for k, v := range prelude.MultiValueHeaders {
		a.header[k] = strings.Join(v, ", ")
	}
	return a
}

// waitStdout waits until a stdout line holds all parts. The child writes
// through a pipe, so the line can reach the buffer a moment after the
// invocation's answer; each write to the buffer wakes the wait.
func (f *function) waitStdout(t *testing.T, parts ...string) {
	t.Helper()
	timeout := time.NewTimer(wait)
	defer timeout.Stop()
	for {
		text, changed := f.stdout.snapshot()
		for _, line := range strings.Split(text, "\n") {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(line, p)
			}
			if all {
				return
			}
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("no stdout line with %q; stdout:\n%s", parts, text)
		}
	}
}

func goBuild(t *testing.T, dir, name, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func runCmd(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// writeConfig writes infra/config.events.yaml plus a route "upstream" to the
// loopback OpenAI-compatible server, whose key is in Secrets Manager.
func writeConfig(t *testing.T, dir, baseURL string) string {
	t.Helper()
	c, err := config.LoadFile("../../infra/config.events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.Providers = append(c.Providers, config.Provider{Name: "openai", Type: config.TypeOpenAI, BaseURL: baseURL,
		Key: "secret:llm-router/provider-keys#openai"})
	c.Models = append(c.Models, config.Model{ID: "gpt-4o-mini", Provider: "openai", Price: &config.Price{Input: 0.15, Output: 0.6}})
	c.Routes = append(c.Routes, config.Route{Name: "upstream", Targets: []config.Target{{Model: "gpt-4o-mini"}}})
	data, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func chatBody(model string, stream bool) string {
	b, _ := json.Marshal(map[string]any{"model": model, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": "Say one two three."}}})
	return string(b)
}

// restEvent is events/chat.json with another body.
func restEvent(t *testing.T, body string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../../events/chat.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev["body"] = body
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// syncBuffer collects a child's output; snapshot's channel closes at the
// next write.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
