// Package clients runs the official Node SDKs (openai, the Vercel AI SDK,
// LangChain, Anthropic's) against the router as a user runs it: the local
// server built by shared/wiring on the built-in default configuration, on a
// free loopback port. A second router, on a configuration with keys and a
// rate limit, gives the SDKs their typed errors. The Node tests are in
// test/; `make test` installs their packages (npm ci) and runs this.
package clients

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-router/router/shared/wiring"
)

// Keys of the router with keys, passed to the Node tests.
var keys = map[string]string{
	"ROUTER_KEY":                   "sk-conformance-app",
	"ROUTER_LIMITED_OPENAI_KEY":    "sk-conformance-limited-openai",
	"ROUTER_LIMITED_ANTHROPIC_KEY": "sk-conformance-limited-anthropic",
}

func hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// keyedConfig is a mock-backed router with keys; a limited key may make one
// request a minute.
func keyedConfig() string {
	return fmt.Sprintf(`
providers:
  - {name: sim, type: mock}
models:
  - {id: mock-fast, provider: sim}
routes:
  - {name: demo, targets: [{model: mock-fast}]}
keys:
  - {id: app, hash: %q, routes: ["*"]}
  - {id: limited-openai, hash: %q, routes: ["*"], rpm: 1}
  - {id: limited-anthropic, hash: %q, routes: ["*"], rpm: 1}
`, hash(keys["ROUTER_KEY"]), hash(keys["ROUTER_LIMITED_OPENAI_KEY"]), hash(keys["ROUTER_LIMITED_ANTHROPIC_KEY"]))
}

// skipOrFail skips where Node or its packages are not installed for a bare
// go test, and fails under make test (which installs them and sets
// CLIENTS_REQUIRED) or CI: there a missing install must not pass as a
// skipped test.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CLIENTS_REQUIRED") == "1" || os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// startRouter serves a router built as the router command builds it, with
// env as its whole environment, on a free loopback port, and returns its
// root URL and its log.
func startRouter(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	settings, err := wiring.ParseSettings(lookup)
	if err != nil {
		t.Fatal(err)
	}
	stderr := &syncBuffer{}
	r, err := wiring.Build(context.Background(), wiring.Process{Env: lookup, Stdout: io.Discard, Stderr: stderr}, settings)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	})
	return "http://" + ln.Addr().String(), stderr
}

// syncBuffer keeps a router's log, written from its goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClientSDKs(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join("node_modules", ".package-lock.json")); err != nil {
		skipOrFail(t, "scripts/clients/node_modules is missing: run npm ci there (make test does)")
	}
	files, err := filepath.Glob(filepath.Join("test", "*.test.mjs"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Node tests in test/: %v", err)
	}

	open, openLog := startRouter(t, nil)
	cfg := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(cfg, []byte(keyedConfig()), 0o600); err != nil {
		t.Fatal(err)
	}
	keyed, keyedLog := startRouter(t, map[string]string{"ROUTER_CONFIG": cfg})

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"--test", "--test-reporter=spec"}, files...)...)
	// Only what the tests need: no provider keys or proxies of this machine.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1",
		"ROUTER_URL=" + open, "ROUTER_KEYED_URL=" + keyed}
	for k, v := range keys {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s\nrouter log (default config):\n%s\nrouter log (keyed config):\n%s", err, out, openLog, keyedLog)
	}
	// The runner's summary (# tests, # pass, ...) says what ran.
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "ℹ ") || strings.HasPrefix(line, "# ") {
			t.Log(line)
		}
	}
}
