package wiring

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/store/dynamo"
)

const auditTable = "llm-router-audit"

// withAuditTable is newStack with the audit table created and mock-fast left
// unpriced in the configuration, so its cost comes from the pricing catalog.
func withAuditTable(t *testing.T) *stack {
	t.Helper()
	s := newStack(t)
	db := dynamodb.NewFromConfig(s.aws)
	if err := audittable.CreateTable(t.Context(), db, auditTable); err != nil {
		t.Fatal(err)
	}
	c := s.config(t)
	for i := range c.Models {
		if c.Models[i].ID == "mock-fast" {
			c.Models[i].Price = nil
		}
	}
	if _, err := dynamo.WriteConfig(t.Context(), db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLambdaWritesTheAuditTable: with ROUTER_AUDIT_TABLE set, each record is
// in the table when the invocation returns (buffered) or its body ends
// (streamed), because the adapter's per-invocation flush covers the table;
// and an unpriced model is priced from the catalog.
func TestLambdaWritesTheAuditTable(t *testing.T) {
	s := withAuditTable(t)
	db := dynamodb.NewFromConfig(s.aws)
	for _, streaming := range []string{"0", "1"} {
		t.Run("ROUTER_STREAMING="+streaming, func(t *testing.T) {
			r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_STREAMING": streaming,
				"ROUTER_AUDIT_TABLE": auditTable, "ROUTER_AUDIT_RETENTION_DAYS": "7"})
			if r.AuditTable == nil || r.AuditTable.Table() != auditTable {
				t.Fatal("ROUTER_AUDIT_TABLE did not build the table sink")
			}
			h := lambda.NewHandler(r.LambdaHandler())
			ctx, cancel := invocationContext()
			defer cancel()
			start := time.Now()
			out, err := h.Invoke(ctx, restEvent("POST", "/v1/chat/completions", chatBody("demo", streaming == "1")))
			if err != nil {
				t.Fatal(err)
			}
			id := requestID(t, out, streaming == "1")
			t.Logf("invocation with the table flush against moto: %v", time.Since(start))

			rec, err := audittable.Get(t.Context(), db, auditTable, id)
			if err != nil {
				t.Fatalf("request %s: %v", id, err)
			}
			// mock-fast at the catalog's 0.15 / 0.60 per 1M tokens.
			want := (float64(rec.Usage.PromptTokens)*0.15 + float64(rec.Usage.CompletionTokens)*0.60) / 1e6
			if rec.Model != "mock-fast" || rec.Provider != "sim" || rec.KeyID != "local-example" || rec.Status != 200 ||
				rec.Usage.PromptTokens == 0 || math.Abs(rec.CostUSD-want) > 1e-12 || rec.Stream != (streaming == "1") {
				t.Errorf("audit table record %+v, want mock-fast on sim costing %v", rec, want)
			}
			if st := r.AuditTable.Stats(); st.Written != 1 || st.Failed != 0 {
				t.Errorf("table stats %+v", st)
			}
		})
	}
}

// requestID reads x-request-id from a Lambda answer.
func requestID(t *testing.T, out []byte, streamed bool) string {
	t.Helper()
	if !streamed {
		var resp events.APIGatewayProxyResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatal(err)
		}
		if v := resp.MultiValueHeaders["X-Request-Id"]; len(v) == 1 {
			return v[0]
		}
		return resp.Headers["X-Request-Id"]
	}
	i := bytes.Index(out, make([]byte, 8))
	var prelude struct {
		Headers           map[string]string   `json:"headers"`
		MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
	}
	if i < 0 || json.Unmarshal(out[:i], &prelude) != nil {
		t.Fatalf("no prelude in %q", out)
	}
	if v := prelude.MultiValueHeaders["X-Request-Id"]; len(v) == 1 {
		return v[0]
	}
	return prelude.Headers["X-Request-Id"]
}

// TestLocalServerWritesTheAuditTable: the local server's background loop
// writes the table, and a shutdown flushes what is left.
func TestLocalServerWritesTheAuditTable(t *testing.T) {
	s := withAuditTable(t)
	r, _ := s.build(t, map[string]string{"ROUTER_STORE": "dynamodb", "ROUTER_AUDIT_TABLE": auditTable})
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
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec, err := audittable.Get(t.Context(), dynamodb.NewFromConfig(s.aws), auditTable, id); err != nil || rec.Route != "demo" {
		t.Errorf("record %+v, %v", rec, err)
	}
}

func TestAuditSettings(t *testing.T) {
	s, err := ParseSettings(envOf(map[string]string{"ROUTER_AUDIT_TABLE": "t", "ROUTER_AUDIT_RETENTION_DAYS": "0"}))
	if err != nil || s.AuditTable != "t" || s.AuditRetention >= 0 {
		t.Errorf("settings %+v, %v: want the table and no expiry", s, err)
	}
	if s, err = ParseSettings(envOf(map[string]string{"ROUTER_AUDIT_RETENTION_DAYS": "30"})); err != nil || s.AuditRetention != 30*24*time.Hour {
		t.Errorf("settings %+v, %v", s, err)
	}
	for env, want := range map[string]string{"ROUTER_AUDIT_RETENTION_DAYS": "ROUTER_AUDIT_RETENTION_DAYS", "ROUTER_METRICS_NAMESPACE": "ROUTER_METRICS_NAMESPACE"} {
		bad := map[string]string{"ROUTER_AUDIT_RETENTION_DAYS": "a year", "ROUTER_METRICS_NAMESPACE": "AWS/Lambda"}
		if _, err := ParseSettings(envOf(map[string]string{env: bad[env]})); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: err = %v", env, bad[env], err)
		}
	}
}
