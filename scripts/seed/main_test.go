package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/awstest"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/store/dynamo"
)

func noEnv(string) (string, bool) { return "", false }

func TestSeedWritesWhatTheRouterReads(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	ctx := context.Background()
	var out, errOut bytes.Buffer
	args := []string{"-config", "../../infra/config.events.yaml", "-create-tables", "-config-table", "cfg", "-state-table", "st"}
	if err := run(ctx, args, noEnv, &cfg, &out, &errOut); err != nil {
		t.Fatalf("seed: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "written as generation") {
		t.Errorf("output = %q", out.String())
	}
	want, err := config.LoadFile("../../infra/config.events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src := &dynamo.ConfigSource{DB: dynamodb.NewFromConfig(cfg), Table: "cfg"}
	got, err := src.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the router reads a different configuration than the file")
	}
	// Both tables exist: the state table takes counters.
	st := &dynamo.StateStore{DB: dynamodb.NewFromConfig(cfg), Table: "st"}
	if _, err := st.Add(ctx, "probe", 1, 0); err != nil {
		t.Errorf("state table: %v", err)
	}

	out.Reset()
	if err := run(ctx, args, noEnv, &cfg, &out, &errOut); err != nil || !strings.Contains(out.String(), "unchanged") {
		t.Errorf("second seed of the same file: %q, %v", out.String(), err)
	}
}

func TestSeedRefusesAnInvalidFile(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	yaml := "providers:\n  - {name: p, type: openai, key: sk-literal}\nmodels:\n  - {id: m, provider: p}\nroutes: []\n"
	if err := os.WriteFile(bad, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"-config", bad, "-create-tables", "-config-table", "cfg", "-state-table", "st"}, noEnv, &cfg, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "providers[0].key") {
		t.Fatalf("err = %v, want the invalid field named", err)
	}
	// Validation comes before any AWS call: not even the tables were created.
	tables, lerr := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
	if lerr != nil || len(tables.TableNames) != 0 {
		t.Errorf("tables after a refused file: %v, %v", tables, lerr)
	}
}

// A model no price covers is refused as the routers would refuse it, before
// anything is written.
func TestSeedRefusesAnUnpricedModel(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	ctx := context.Background()
	bad := filepath.Join(t.TempDir(), "unpriced.yaml")
	yaml := "providers:\n  - {name: vllm, type: openai, base_url: \"http://10.0.0.5:8000/v1\"}\nmodels:\n  - {id: homegrown, provider: vllm}\nroutes: []\n"
	if err := os.WriteFile(bad, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"-config", bad, "-create-tables", "-config-table", "cfg", "-state-table", "st"}, noEnv, &cfg, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "models[0] (homegrown)") || !strings.Contains(err.Error(), "no price") {
		t.Fatalf("err = %v, want the unpriced model named", err)
	}
	tables, lerr := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{})
	if lerr != nil || len(tables.TableNames) != 0 {
		t.Errorf("tables after a refused file: %v, %v", tables, lerr)
	}
}

func TestSeedNeedsAFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), nil, noEnv, nil, &out, &errOut); err == nil || !strings.Contains(err.Error(), "-config") {
		t.Errorf("err = %v", err)
	}
}

// Seeding a file without a keys: section keeps the keys scripts/keys wrote
// to the table; keys: [] removes them.
func TestSeedKeepsTheTablesKeys(t *testing.T) {
	m := awstest.Start(t)
	cfg := m.Config()
	ctx := context.Background()
	db := dynamodb.NewFromConfig(cfg)
	var out, errOut bytes.Buffer
	args := []string{"-config", "../../infra/config.events.yaml", "-create-tables", "-config-table", "cfg", "-state-table", "st"}
	if err := run(ctx, args, noEnv, &cfg, &out, &errOut); err != nil {
		t.Fatalf("seed: %v", err)
	}
	withKeys, _ := dynamo.ReadConfig(ctx, db, "cfg", dynamo.DefaultConfigName)
	if len(withKeys.Keys) == 0 {
		t.Fatal("the events config has no keys to keep")
	}
	dir := t.TempDir()
	noKeys, _ := os.ReadFile("../../infra/config.events.yaml")
	text := string(noKeys)
	text = text[:strings.Index(text, "\nkeys:")] + "\n"
	text = strings.Replace(text, "timeout: 10s", "timeout: 12s", 1) // a real change to the routing
	path := filepath.Join(dir, "routes.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(ctx, []string{"-config", path, "-config-table", "cfg"}, noEnv, &cfg, &out, &errOut); err != nil {
		t.Fatalf("seed without keys: %v", err)
	}
	got, _ := dynamo.ReadConfig(ctx, db, "cfg", dynamo.DefaultConfigName)
	if !reflect.DeepEqual(got.Keys, withKeys.Keys) || got.Models[0].Timeout == withKeys.Models[0].Timeout {
		t.Errorf("keys %v (want kept), timeout %v (want changed): %s", got.Keys, got.Models[0].Timeout, out.String())
	}
	if !strings.Contains(out.String(), "keeping the") {
		t.Errorf("the command did not say it kept the keys: %q", out.String())
	}
	if err := os.WriteFile(path, []byte(text+"keys: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"-config", path, "-config-table", "cfg"}, noEnv, &cfg, &out, &errOut); err != nil {
		t.Fatalf("seed with keys: []: %v", err)
	}
	if got, _ := dynamo.ReadConfig(ctx, db, "cfg", dynamo.DefaultConfigName); len(got.Keys) != 0 {
		t.Errorf("keys: [] left %d keys", len(got.Keys))
	}
}
