package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/secret"
)

// limitedHarness is a harness whose gateway has a limiter on in-memory
// counters, and counts the calls that reach each provider.
func limitedHarness(t *testing.T, cfgYAML string, now func() time.Time) (*harness, *limits.Limiter, map[string]*atomic.Int64) {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	calls := map[string]*atomic.Int64{}
	for _, p := range cfg.Providers {
		calls[p.Name] = &atomic.Int64{}
	}
	lim := &limits.Limiter{Counters: &limits.Memory{Now: now}, LeaseFor: -1, ReturnIdle: -1, Now: now}
	h := &harness{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	h.audit = newRecorder(audit.NewWriter(h.stdout))
	h.gw = &gateway.Gateway{
		Source: gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{config.TypeMock: func(p *config.Provider, d llm.Deps) (llm.Provider, error) {
			inner, err := mock.New(p, d)
			return counted{inner, calls[p.Name]}, err
		}, config.TypeOpenAI: provider.Builtin()[config.TypeOpenAI]},
		Deps:    llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink:    h.audit,
		Limiter: lim,
		Log:     slog.New(slog.NewJSONHandler(h.stderr, nil)),
	}
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h, lim, calls
}

func limitsConfig(keys string) string {
	return `
providers:
  - {name: pricey, type: mock, compliance: [hipaa]}
  - {name: cheap, type: mock}
  - {name: cheap-safe, type: mock, compliance: [hipaa]}
models:
  - {id: big, provider: pricey, price: {input: 1000, output: 2000}}
  - {id: small, provider: cheap, price: {input: 10, output: 20}}
  - {id: small-safe, provider: cheap-safe, price: {input: 10, output: 20}}
routes:
  - name: main
    targets: [{model: big}]
  - name: economy
    targets: [{model: small}]
  - name: economy-safe
    require: [hipaa]
    targets: [{model: small-safe}]
data_classes:
  phi: [hipaa]
budgets:
  - {tag: team, value: triage, monthly_usd: 0.5}
keys:
` + keys
}

func fixedClock() func() time.Time {
	t := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)
	return func() time.Time { return t }
}

func chatWith(t *testing.T, h *harness, key, model string, opts ...option.RequestOption) (*http.Response, error) {
	t.Helper()
	var resp *http.Response
	opts = append(opts, option.WithResponseInto(&resp))
	_, err := h.client(key).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
		Messages: userMessage("hello"), MaxTokens: openai.Int(20)}, opts...)
	return resp, err
}

// A key over its rpm gets the API's 429 through the official client,
// with Retry-After, before any provider is called, and the audit line says
// which limit refused it.
func TestRateLimitThroughOpenAIClient(t *testing.T) {
	h, _, calls := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"], rpm: 2}`, hashOf("sk-app"))), fixedClock())
	for i := 0; i < 2; i++ {
		if _, err := chatWith(t, h, "sk-app", "economy"); err != nil {
			t.Fatal(err)
		}
		h.audit.next(t)
	}
	_, err := chatWith(t, h, "sk-app", "economy")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Type != "rate_limit_error" || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("third request: %v", err)
	}
	if got := apiErr.Response.Header.Get("Retry-After"); got != "34" {
		t.Errorf("Retry-After = %q, want 34 (seconds to the minute's end)", got)
	}
	if n := calls["cheap"].Load(); n != 2 {
		t.Errorf("provider calls = %d, want 2: the refused request must not reach it", n)
	}
	rec := h.audit.next(t)
	if rec.Status != 429 || rec.Limit != "rpm" || rec.ErrorCode != "rate_limit_exceeded" || len(rec.Attempts) != 0 {
		t.Errorf("audit = status %d limit %q code %q attempts %d", rec.Status, rec.Limit, rec.ErrorCode, len(rec.Attempts))
	}
}

// Budgets are charged the cost the router computed, refuse with
// budget_exceeded before any provider is called, tell SDKs not to retry,
// and apply per tag as well as per key.
func TestBudgetThroughOpenAIClient(t *testing.T) {
	h, lim, calls := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"], budget: {monthly_usd: 1}}
  - {id: triage, hash: %q, routes: ["*"], tags: {team: triage}}`, hashOf("sk-app"), hashOf("sk-triage"))), fixedClock())
	spent := 0.0
	for i := 0; ; i++ {
		resp, err := chatWith(t, h, "sk-app", "main")
		if err != nil {
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Code != "budget_exceeded" {
				t.Fatalf("request %d: %v", i, err)
			}
			if apiErr.Response.Header.Get("X-Should-Retry") != "false" {
				t.Error("a budget refusal should tell SDKs not to retry")
			}
			if rec := h.audit.next(t); rec.Limit != "budget" || rec.Status != 429 {
				t.Errorf("audit limit %q status %d", rec.Limit, rec.Status)
			}
			break
		}
		cost, _ := strconv.ParseFloat(resp.Header.Get("X-Router-Cost-Usd"), 64)
		spent += cost
		h.audit.next(t)
		if i > 100 {
			t.Fatal("the budget never refused")
		}
	}
	if int64(len(h.audit.emitted)) != 0 || calls["pricey"].Load() == 0 {
		t.Fatalf("calls %d", calls["pricey"].Load())
	}
	// Never more than one request over: the refusal came once the spend had
	// reached the budget.
	if spent < 1 || spent > 1+0.1 {
		t.Errorf("spent %v with a budget of 1", spent)
	}
	if err := lim.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mem := lim.Counters.(*limits.Memory)
	if got := mem.Value("usd#key#app#202603"); math.Abs(got-spent) > 1e-9 {
		t.Errorf("budget counter %v, want the cost the router reported, %v", got, spent)
	}

	// The tag budget (team=triage, 0.5 USD) binds the triage key, whose
	// tags carry it.
	n := 0
	for ; n < 100; n++ {
		if _, err := chatWith(t, h, "sk-triage", "main"); err != nil {
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.Code != "budget_exceeded" || !strings.Contains(apiErr.Message, "team=triage") {
				t.Fatalf("triage: %v", err)
			}
			break
		}
		h.audit.next(t)
	}
	if rec := h.audit.next(t); rec.Limit != "budget:team=triage" {
		t.Errorf("audit limit %q", rec.Limit)
	}
	// Its request tags cannot point it at another value's budget: the tag
	// budget caps what is attributed to team=triage, and the request is
	// simply attributed elsewhere (docs/SECURITY.md).
	if _, err := chatWith(t, h, "sk-triage", "main", option.WithHeader("x-router-tags", "team=other")); err != nil {
		t.Errorf("with another team's tag: %v", err)
	}
	h.audit.next(t)
}

// The on_budget rule moves a key to its cheaper route once the share is
// spent, the audit line records it, and the request's compliance tags still
// decide where it may go: a phi request stays on a route that can take it.
func TestDowngradeKeepsCompliance(t *testing.T) {
	h, _, calls := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: [main], budget: {monthly_usd: 1, on_budget: {at: 0.3, route: economy}}}
  - {id: clinic, hash: %q, routes: [main], data_class: phi, budget: {monthly_usd: 1, on_budget: {at: 0.3, route: economy-safe}}}`,
		hashOf("sk-app"), hashOf("sk-clinic"))), fixedClock())
	var routes []string
	for i := 0; i < 24; i++ {
		resp, err := chatWith(t, h, "sk-app", "main")
		if err != nil {
			t.Fatal(err)
		}
		rec := h.audit.next(t)
		routes = append(routes, resp.Header.Get("X-Router-Route"))
		if rec.Route == "economy" && rec.DowngradedFrom != "main" {
			t.Errorf("downgraded request: audit route %q downgraded_from %q", rec.Route, rec.DowngradedFrom)
		}
	}
	if routes[0] != "main" || routes[len(routes)-1] != "economy" {
		t.Errorf("routes = %v: want main until 30%% of the budget is spent, then economy", routes)
	}

	// A phi request of a key without a phi default: the economy route has no
	// hipaa target, so the downgrade does not apply and the request stays on
	// main, whose provider has hipaa.
	before := calls["cheap"].Load()
	for i := 0; i < 3; i++ {
		resp, err := chatWith(t, h, "sk-app", "main", option.WithHeader("x-router-data-class", "phi"))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("X-Router-Provider"); got != "pricey" {
			t.Errorf("phi request served by %s", got)
		}
		if rec := h.audit.next(t); rec.DowngradedFrom != "" || strings.Join(rec.Require, ",") != "hipaa" {
			t.Errorf("phi audit: downgraded_from %q require %v", rec.DowngradedFrom, rec.Require)
		}
	}
	if calls["cheap"].Load() != before {
		t.Error("a phi request reached the provider without hipaa")
	}

	// A phi key downgraded to a route that keeps hipaa goes there.
	for i := 0; i < 24; i++ {
		resp, err := chatWith(t, h, "sk-clinic", "main")
		if err != nil {
			t.Fatal(err)
		}
		rec := h.audit.next(t)
		if p := resp.Header.Get("X-Router-Provider"); p != "pricey" && p != "cheap-safe" {
			t.Fatalf("clinic served by %s", p)
		}
		if i == 23 && (rec.Route != "economy-safe" || rec.DowngradedFrom != "main" || strings.Join(rec.ProviderCompliance, ",") != "hipaa") {
			t.Errorf("clinic's last request: route %q from %q, provider tags %v", rec.Route, rec.DowngradedFrom, rec.ProviderCompliance)
		}
	}

	// Explain shows the route the real request takes.
	resp := h.post(t, "/v1/router/explain", `{"model":"main","messages":[{"role":"user","content":"x"}]}`,
		map[string]string{"Authorization": "Bearer sk-app"})
	var ex struct{ Route string }
	if err := json.NewDecoder(resp.Body).Decode(&ex); err != nil || ex.Route != "economy" {
		t.Errorf("explain route = %q (%v), want economy", ex.Route, err)
	}
	if n := h.audit.pending(); n != 0 {
		t.Errorf("explain left %d audit records", n)
	}
}

// Streams settle when they end, with the usage the provider reported.
func TestStreamSettlesItsCost(t *testing.T) {
	h, lim, _ := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"], tpm: 100000, budget: {monthly_usd: 100}}`,
		hashOf("sk-app"))), fixedClock())
	client := h.client("sk-app")
	total := 0.0
	tokens := 0
	for i := 0; i < 3; i++ {
		s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "main",
			Messages: userMessage("hello"), MaxTokens: openai.Int(50)})
		for s.Next() {
		}
		if err := s.Err(); err != nil {
			t.Fatal(err)
		}
		rec := h.audit.next(t)
		total += rec.CostUSD
		tokens += rec.Usage.PromptTokens + rec.Usage.CompletionTokens
	}
	if err := lim.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	mem := lim.Counters.(*limits.Memory)
	if got := mem.Value("usd#key#app#202603"); total == 0 || math.Abs(got-total) > 1e-9 {
		t.Errorf("budget counter %v, want the streams' cost %v", got, total)
	}
	// The minute's tokens hold the real usage, plus at most one request's
	// reservation the instance keeps for its next request.
	if got := mem.Value("tpm#app#202603141509"); got < float64(tokens) || got > float64(tokens)+100 {
		t.Errorf("tpm counter %v, want the %d tokens used and less than one reservation more", got, tokens)
	}
}

// Requests with too many or too large headers are refused at the edge.
func TestHeaderLimits(t *testing.T) {
	h, _, calls := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"]}`, hashOf("sk-app"))), fixedClock())
	body := `{"model":"economy","messages":[{"role":"user","content":"hi"}]}`
	many := map[string]string{"Authorization": "Bearer sk-app"}
	for i := 0; i < 120; i++ {
		many[fmt.Sprintf("X-Filler-%d", i)] = "x"
	}
	big := map[string]string{"Authorization": "Bearer sk-app", "X-Filler": strings.Repeat("x", 40<<10)}
	for name, hdrs := range map[string]map[string]string{"many": many, "large": big} {
		resp := h.post(t, "/v1/chat/completions", body, hdrs)
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 431 || !strings.Contains(string(data), `"code":"request_header_fields_too_large"`) {
			t.Errorf("%s headers: %d %s", name, resp.StatusCode, data)
		}
	}
	if calls["cheap"].Load() != 0 {
		t.Error("a provider was called")
	}
	if resp := h.post(t, "/v1/chat/completions", body, map[string]string{"Authorization": "Bearer sk-app"}); resp.StatusCode != 200 {
		t.Errorf("a normal request: %d", resp.StatusCode)
	}
}

// Concurrent requests of one key never pass its budget by more than one
// request: admission reserves each request's estimate before the call.
func TestConcurrentRequestsOneBudget(t *testing.T) {
	h, _, _ := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"], budget: {monthly_usd: 2}}`,
		hashOf("sk-app"))), fixedClock())
	var mu sync.Mutex
	spent, biggest := 0.0, 0.0
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				resp, err := chatWith(t, h, "sk-app", "main")
				if err != nil {
					return
				}
				cost, _ := strconv.ParseFloat(resp.Header.Get("X-Router-Cost-Usd"), 64)
				mu.Lock()
				spent += cost
				biggest = max(biggest, cost)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if spent > 2+biggest {
		t.Errorf("spent %v of a budget of 2, more than one request (%v) over", spent, biggest)
	}
	if spent < 2-biggest*16 {
		t.Errorf("spent only %v of 2", spent)
	}
}

// BenchmarkHandlerLimits is BenchmarkHandlerMock for a keyed request, without
// and with rpm, tpm and a budget enforced by a limiter serving from its
// claimed share (the warm path: no store call).
func BenchmarkHandlerLimits(b *testing.B) {
	for _, limited := range []bool{false, true} {
		b.Run(fmt.Sprintf("limits=%v", limited), func(b *testing.B) {
			key := fmt.Sprintf(`{id: app, hash: %q, routes: ["*"]}`, hashOf("sk-bench"))
			if limited {
				key = fmt.Sprintf(`{id: app, hash: %q, routes: ["*"], rpm: 1000000000, tpm: 1000000000, budget: {monthly_usd: 1000000000}}`, hashOf("sk-bench"))
			}
			gw := benchGateway(b, `
providers: [{name: sim, type: mock}]
models: [{id: m, provider: sim, price: {input: 0.15, output: 0.6}}]
routes: [{name: bench, targets: [{model: m, first_byte_timeout: 2s}]}]
keys: [`+key+`]
`, nil)
			if limited {
				gw.Limiter = &limits.Limiter{Counters: &limits.Memory{}}
			}
			body := []byte(benchBody)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer sk-bench")
				w := httptest.NewRecorder()
				gw.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
