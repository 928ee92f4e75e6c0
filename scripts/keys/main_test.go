package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/store/dynamo"
	"github.com/llm-router/router/shared/store/file"
)

const baseConfig = `# the router's configuration
providers:
  - {name: sim, type: mock, compliance: [hipaa]}
models:
  - {id: mock-fast, provider: sim, price: {input: 1, output: 2}}
routes:
  - name: demo
    targets: [{model: mock-fast}]
data_classes:
  phi: [hipaa]
keys:
  - id: ops   # the operators' key
    hash: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    routes: ["*"]

# metrics follow
metrics:
  tag_dimensions: [team]
`

const ttl = 5 * time.Second

func noEnv(string) (string, bool) { return "", false }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// records keeps the audit records a router emits.
type records struct {
	mu   sync.Mutex
	recs []audit.Record
}

func (r *records) Emit(rec *audit.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, *rec)
	r.mu.Unlock()
}

func (r *records) last() audit.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.recs[len(r.recs)-1]
}

// router serves a gateway on src as a user would reach it, with a clock for
// the source's cache TTL and the limiter's windows.
func router(t *testing.T, src gateway.ConfigSource, clk *clock) (string, *records) {
	t.Helper()
	recs := &records{}
	gw := &gateway.Gateway{Source: src, Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: noEnv}}, Sink: recs,
		Limiter: &limits.Limiter{Counters: &limits.Memory{Now: clk.Now}, LeaseFor: -1, Now: clk.Now}}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", recs
}

// chat sends one completion with key through the official client; it
// returns the HTTP status (200 or the error's).
func chat(t *testing.T, base, key string) (int, *openai.Error) {
	t.Helper()
	client := openai.NewClient(option.WithBaseURL(base), option.WithAPIKey(key), option.WithMaxRetries(0))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "demo",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}})
	if err == nil {
		return 200, nil
	}
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("chat: %v", err)
	}
	return apiErr.StatusCode, apiErr
}

// keys runs the command and returns its stdout.
func keys(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, noEnv, nil, &out, &errOut); err != nil {
		t.Fatalf("keys %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

func TestCreatedKeysAreRandomAndShownOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(path, []byte(baseConfig), 0o640); err != nil {
		t.Fatal(err)
	}
	a := strings.TrimSpace(keys(t, "create", "-config", path, "-id", "a"))
	b := strings.TrimSpace(keys(t, "create", "-config", path, "-id", "b"))
	for _, k := range []string{a, b} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, KeyPrefix))
		if !strings.HasPrefix(k, KeyPrefix) || err != nil || len(raw) != 32 {
			t.Errorf("key %q is not %s + 256 random bits", k, KeyPrefix)
		}
	}
	if a == b {
		t.Error("two keys are the same")
	}
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256([]byte(a))
	if strings.Contains(string(data), a) || !strings.Contains(string(data), "sha256:"+hex.EncodeToString(sum[:])) {
		t.Errorf("the file should hold the key's hash, never the key:\n%s", data)
	}
	// The rest of the file is untouched, comments included, and so are the
	// keys that did not change.
	if !strings.HasPrefix(string(data), baseConfig[:strings.Index(baseConfig, "keys:")]) ||
		!strings.Contains(string(data), "  - id: ops # the operators' key\n    hash: sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n") ||
		!strings.HasSuffix(string(data), "\n# metrics follow\nmetrics:\n  tag_dimensions: [team]\n") {
		t.Errorf("the file around the keys changed:\n%s", data)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the file's own 0640 kept", info.Mode().Perm())
	}
	listing := keys(t, "list", "-config", path)
	if strings.Contains(listing, a) || strings.Contains(listing, b) || !strings.Contains(listing, "active") {
		t.Errorf("list:\n%s", listing)
	}
	// Anything the router would refuse is refused before a byte is written.
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"create", "-config", path, "-id", "c", "-routes", "nowhere"}, noEnv, nil, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `unknown route "nowhere"`) || out.Len() != 0 {
		t.Errorf("create on an unknown route: %v, printed %q", err, out.String())
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("a refused create changed the file")
	}
	if err := run(context.Background(), []string{"create", "-config", path, "-id", "a"}, noEnv, nil, &out, &errOut); err == nil {
		t.Error("a second key with the same id was created")
	}
}

// lifecycle creates a key with the command, uses it through the router with
// the official client, revokes it and sees it refused once the cache TTL has
// passed, then rotates a second key.
func lifecycle(t *testing.T, store []string, src gateway.ConfigSource, clk *clock) {
	base, recs := router(t, src, clk)
	key := strings.TrimSpace(keys(t, append([]string{"create", "-id", "app", "-routes", "demo", "-rpm", "2", "-tags", "team=triage"}, store...)...))
	clk.Add(ttl)
	if status, err := chat(t, base, key); status != 200 {
		t.Fatalf("the new key: %d %v", status, err)
	}
	if rec := recs.last(); rec.KeyID != "app" || rec.Tags["team"] != "triage" {
		t.Errorf("audit key %q tags %v", rec.KeyID, rec.Tags)
	}
	// The key's limits came with it: rpm 2.
	if status, _ := chat(t, base, key); status != 200 {
		t.Fatalf("second request: %d", status)
	}
	if status, err := chat(t, base, key); status != 429 || err.Code != "rate_limit_exceeded" || err.Response.Header.Get("Retry-After") == "" {
		t.Errorf("third request in a minute with rpm 2: %d %v", status, err)
	}
	clk.Add(time.Minute)

	keys(t, append([]string{"revoke", "-id", "app"}, store...)...)
	clk.Add(ttl)
	if status, err := chat(t, base, key); status != 401 || err.Code != "invalid_api_key" || !strings.Contains(err.Message, "revoked") {
		t.Errorf("revoked key after the TTL: %d %v", status, err)
	}
	if listing := keys(t, append([]string{"list"}, store...)...); !strings.Contains(listing, "revoked") || strings.Contains(listing, key) {
		t.Errorf("list after revoke:\n%s", listing)
	}

	old := strings.TrimSpace(keys(t, append([]string{"create", "-id", "batch"}, store...)...))
	clk.Add(ttl)
	if status, _ := chat(t, base, old); status != 200 {
		t.Fatalf("second key: %d", status)
	}
	fresh := strings.TrimSpace(keys(t, append([]string{"rotate", "-id", "batch"}, store...)...))
	clk.Add(ttl)
	if status, _ := chat(t, base, old); status != 401 {
		t.Errorf("the rotated-out key still works: %d", status)
	}
	if status, err := chat(t, base, fresh); status != 200 {
		t.Errorf("the rotated key: %d %v", status, err)
	}
	if rec := recs.last(); rec.KeyID != "batch" {
		t.Errorf("a rotated key keeps its id: audit says %q", rec.KeyID)
	}
}

func TestKeyLifecycleFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(path, []byte(baseConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)}
	src := &file.Source{Path: path, TTL: ttl, Now: clk.Now}
	lifecycle(t, []string{"-config", path}, src, clk)
}

func TestKeyLifecycleDynamoDB(t *testing.T) {
	m := awstest.Start(t)
	m.SetEnv(t) // the command finds moto through the SDK's default chain, as a user's shell would
	cfg := m.Config()
	db := dynamodb.NewFromConfig(cfg)
	ctx := context.Background()
	if err := dynamo.CreateTables(ctx, db, "cfg", "state"); err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse([]byte(baseConfig))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamo.WriteConfig(ctx, db, "cfg", dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 3, 14, 15, 9, 0, 0, time.UTC)}
	src := &dynamo.ConfigSource{DB: db, Table: "cfg", TTL: ttl, Now: clk.Now}
	lifecycle(t, []string{"-table", "cfg"}, src, clk)

	// The table holds hashes only, and the key items say what list says.
	got, err := (&dynamo.ConfigSource{DB: db, Table: "cfg"}).Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range got.Keys {
		ids = append(ids, k.ID)
		if !strings.HasPrefix(k.Hash, "sha256:") {
			t.Errorf("key %s stored as %q", k.ID, k.Hash)
		}
	}
	if strings.Join(ids, ",") != "ops,app,batch" || !got.Keys[1].Disabled || got.Keys[1].RPM != 2 {
		t.Errorf("keys in the table: %+v", got.Keys)
	}
}
