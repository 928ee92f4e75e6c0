package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

const table = "llm-router-audit"

// keys of the router: two apps.
var keys = map[string]string{"triage-app": "sk-triage-test", "billing-app": "sk-billing-test"}

func routerConfig() string {
	hash := func(k string) string { s := sha256.Sum256([]byte(k)); return "sha256:" + hex.EncodeToString(s[:]) }
	return `
providers:
  - {name: openai, type: mock, mock: {fail_rate: 1, fail_status: 503}}
  - {name: bedrock, type: mock, compliance: [hipaa], mock: {reply: "Noted."}}
models:
  - {id: gpt-4o, provider: openai, price: {input: 2.5, output: 10}}
  - {id: claude-bedrock, provider: bedrock, price: {input: 3.3, output: 16.5}}
routes:
  - {name: notes, targets: [{model: gpt-4o}, {model: claude-bedrock}]}
  - {name: notes-phi, require: [hipaa], targets: [{model: gpt-4o}, {model: claude-bedrock}]}
data_classes: {phi: [hipaa]}
keys:
  - {id: triage-app, hash: "` + hash(keys["triage-app"]) + `", routes: ["*"], tags: {team: triage}}
  - {id: billing-app, hash: "` + hash(keys["billing-app"]) + `", routes: ["*"], tags: {team: billing}}
`
}

// traffic serves a router whose audit records go to the table (through the
// same sink the router uses) and sends requests through it with the
// official client; it returns the request ids by name.
func traffic(t *testing.T, cfg aws.Config) map[string]string {
	t.Helper()
	c, err := config.Parse([]byte(routerConfig()))
	if err != nil {
		t.Fatal(err)
	}
	sink := audittable.New(dynamodb.NewFromConfig(cfg), table)
	done := make(chan struct{}, 8)
	gw := &gateway.Gateway{Source: gateway.Static{C: c}, Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink: audit.Sinks{sink, emitted(done)}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	ids := map[string]string{}
	send := func(name, key, route string, headers ...string) {
		client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(keys[key]), option.WithMaxRetries(0))
		opts := []option.RequestOption{}
		for i := 0; i+1 < len(headers); i += 2 {
			opts = append(opts, option.WithHeader(headers[i], headers[i+1]))
		}
		var resp *http.Response
		_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: route,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Patient note: chest pain since Tuesday.")}},
			append(opts, option.WithResponseInto(&resp))...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ids[name] = resp.Header.Get("X-Request-Id")
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("no audit record")
		}
	}
	// openai always fails: a plain request falls back to bedrock; a PHI
	// request never goes to openai at all.
	send("fallback", "triage-app", "notes")
	send("phi", "triage-app", "notes-phi", "x-router-data-class", "phi")
	send("other key", "billing-app", "notes")
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
	if st := sink.Stats(); st.Written != 3 {
		t.Fatalf("table stats %+v", st)
	}
	return ids
}

type emitted chan struct{}

func (s emitted) Emit(*audit.Record) { s <- struct{}{} }

func cmd(t *testing.T, cfg aws.Config, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	env := func(k string) (string, bool) { return table, k == "ROUTER_AUDIT_TABLE" }
	if err := run(context.Background(), args, env, &cfg, &out, &errs); err != nil {
		t.Fatalf("audit %v: %v\n%s", args, err, errs.String())
	}
	return out.String()
}

func TestAuditCommands(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	if out := cmd(t, cfg, "create-table"); !strings.Contains(out, "ready") {
		t.Fatalf("create-table: %s", out)
	}
	cmd(t, cfg, "create-table") // idempotent
	ids := traffic(t, cfg)
	today := time.Now().UTC().Format(time.DateOnly)

	t.Run("which model handled request X", func(t *testing.T) {
		out := cmd(t, cfg, "request", ids["phi"])
		for _, want := range []string{"request   " + ids["phi"], "key triage-app", "route     notes-phi, data class phi, required compliance hipaa",
			"served by claude-bedrock on bedrock (upstream model claude-bedrock; provider compliance hipaa)",
			"1. claude-bedrock on bedrock: ok, status 200", "tags      team=triage"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "gpt-4o") || strings.Contains(out, "chest pain") {
			t.Errorf("a PHI request shows a non-compliant attempt or prompt text:\n%s", out)
		}
		out = cmd(t, cfg, "request", ids["fallback"])
		if !strings.Contains(out, "1. gpt-4o on openai: error, status 503") || !strings.Contains(out, "2. claude-bedrock on bedrock: ok") {
			t.Errorf("fallback attempts missing:\n%s", out)
		}
	})

	t.Run("json is the audit line", func(t *testing.T) {
		var line map[string]any
		if err := json.Unmarshal([]byte(cmd(t, cfg, "request", "-json", ids["fallback"])), &line); err != nil {
			t.Fatal(err)
		}
		if line["type"] != "audit" || line["request_id"] != ids["fallback"] || line["model"] != "claude-bedrock" ||
			line["key_id"] != "triage-app" || len(line["attempts"].([]any)) != 2 {
			t.Errorf("line %v", line)
		}
	})

	t.Run("every request of key K on day D that went to provider P", func(t *testing.T) {
		out := cmd(t, cfg, "key", "-key", "triage-app", "-day", today, "-provider", "openai")
		if !strings.Contains(out, ids["fallback"]) || strings.Contains(out, ids["phi"]) || strings.Contains(out, ids["other key"]) ||
			!strings.Contains(out, "1 requests of key triage-app on "+today+" with an attempt sent to openai") {
			t.Errorf("key triage-app, provider openai:\n%s", out)
		}
		out = cmd(t, cfg, "key", "-key", "triage-app", "-day", today, "-provider", "bedrock")
		if !strings.Contains(out, ids["fallback"]) || !strings.Contains(out, ids["phi"]) || !strings.Contains(out, "2 requests") ||
			!strings.Contains(out, "openai>bedrock") {
			t.Errorf("key triage-app, provider bedrock:\n%s", out)
		}
		lines := strings.Split(strings.TrimSpace(cmd(t, cfg, "key", "-json", "-key", "billing-app", "-day", today)), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], ids["other key"]) {
			t.Errorf("key billing-app: %q", lines)
		}
		yesterday := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly)
		if out := cmd(t, cfg, "key", "-key", "triage-app", "-day", yesterday); !strings.Contains(out, "0 requests") {
			t.Errorf("another day:\n%s", out)
		}
	})

	t.Run("errors", func(t *testing.T) {
		var out, errs bytes.Buffer
		none := func(string) (string, bool) { return "", false }
		for _, args := range [][]string{nil, {"request"}, {"request", "-table", table, "req_missing"}, {"key", "-table", table},
			{"key", "-table", table, "-key", "k", "-day", "14/03/2026"}, {"nope", "-table", table}, {"request", "x"}} {
			if err := run(context.Background(), args, none, &cfg, &out, &errs); err == nil {
				t.Errorf("audit %v succeeded", args)
			}
		}
		err := run(context.Background(), []string{"request", "-table", table, "req_missing"}, none, &cfg, &out, &errs)
		if err == nil || !strings.Contains(err.Error(), "no audit record") {
			t.Errorf("unknown request: %v", err)
		}
	})
}
