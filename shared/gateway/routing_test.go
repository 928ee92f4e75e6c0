package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// fakes are named loopback OpenAI upstreams.
type fakes map[string]*openaitest.Server

func newFakes(t *testing.T, names ...string) fakes {
	f := fakes{}
	for _, n := range names {
		f[n] = openaitest.NewServer(n, nil)
		t.Cleanup(f[n].Close)
	}
	return f
}

// providers is the providers section for the fakes, each with tags.
func (f fakes) providers(tags map[string]string) string {
	var b strings.Builder
	b.WriteString("providers:\n")
	for n, s := range f {
		fmt.Fprintf(&b, "  - {name: %s, type: openai, base_url: %q, key: \"env:K\", compliance: [%s]}\n", n, s.BaseURL(), tags[n])
	}
	return b.String()
}

// routedHarness serves cfg with a health view (live recent figures for
// conditional targets) whose clock the test moves.
func routedHarness(t *testing.T, cfg string, clock func() time.Time) *harness {
	t.Helper()
	c, err := config.Parse([]byte(cfg))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfg)
	}
	h := &harness{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	h.audit = newRecorder(audit.NewWriter(h.stdout))
	view := &health.View{Source: gateway.Static{C: c}, Now: clock, Log: slog.New(slog.DiscardHandler)}
	h.gw = &gateway.Gateway{Source: gateway.Static{C: c}, Providers: provider.Builtin(), Health: view, Latency: view, Observer: view,
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "sk-up", true }}},
		Sink: h.audit, Log: slog.New(slog.NewJSONHandler(h.stderr, nil))}
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h
}

func askRoute(t *testing.T, h *harness, model, text string, opts ...option.RequestOption) (*audit.Record, error) {
	t.Helper()
	_, err := h.client("x", opts...).Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model,
		MaxTokens: openai.Int(200), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}})
	return h.audit.next(t), err
}

// A request too long for the primary's window goes to a target whose window
// holds it, without calling the primary; too long for every window, it is a
// 400 naming the estimate and the largest window.
func TestContextWindowPicksTargets(t *testing.T) {
	f := newFakes(t, "small", "large")
	h := routedHarness(t, f.providers(nil)+`
models:
  - {id: small-model, provider: small, context_window: 1000, price: {input: 1, output: 1}}
  - {id: large-model, provider: large, context_window: 8000, price: {input: 1, output: 1}}
routes:
  - {name: notes, targets: [{model: small-model}, {model: large-model}]}
`, time.Now)
	short := "Summarise: mild headache."
	long := strings.Repeat("The patient reports intermittent headaches over several weeks. ", 150) // ~1,500 tokens
	huge := strings.Repeat(long, 8)                                                                // ~12,000 tokens

	rec, err := askRoute(t, h, "notes", short)
	if err != nil || rec.Provider != "small" {
		t.Fatalf("short: %v, served by %q; want small", err, rec.Provider)
	}
	rec, err = askRoute(t, h, "notes", long)
	if err != nil || rec.Provider != "large" || len(rec.Attempts) != 1 {
		t.Fatalf("long: %v, served by %q after %d attempts; want large, first try", err, rec.Provider, len(rec.Attempts))
	}
	if f["small"].Calls() != 1 {
		t.Errorf("the small model was called %d times, want 1 (the short request only)", f["small"].Calls())
	}
	_, err = askRoute(t, h, "notes", huge)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != llm.CodeContextLength ||
		!strings.Contains(apiErr.Message, "8000 tokens") {
		t.Fatalf("huge: err = %v; want 400 context_length_exceeded naming the largest window", err)
	}
	if f["small"].Calls()+f["large"].Calls() != 2 {
		t.Errorf("a request no window holds reached an upstream")
	}
	// explain says why the small model is out.
	var explained struct {
		Excluded []struct{ Model, Reason string }
	}
	if err := h.client("x").Post(context.Background(), "router/explain", openai.ChatCompletionNewParams{Model: "notes",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(long)}}, &explained); err != nil {
		t.Fatal(err)
	}
	if len(explained.Excluded) != 1 || explained.Excluded[0].Model != "small-model" || !strings.HasPrefix(explained.Excluded[0].Reason, "context:") {
		t.Errorf("explain excluded %+v, want small-model for context", explained.Excluded)
	}
}

// A provider's own context-length error moves to the next target with a
// larger window; targets whose window is no larger are not tried.
func TestProviderContextErrorFallsBackToALargerWindow(t *testing.T) {
	f := newFakes(t, "a", "b", "c")
	f["a"].SetScript(func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Status: 400, ErrType: "invalid_request_error", ErrCode: "context_length_exceeded",
			ErrMessage: "This model's maximum context length is 4000 tokens."}
	})
	h := routedHarness(t, f.providers(nil)+`
models:
  - {id: a-model, provider: a, context_window: 4000, price: {input: 1, output: 1}}
  - {id: b-model, provider: b, context_window: 4000, price: {input: 1, output: 1}}
  - {id: c-model, provider: c, context_window: 128000, price: {input: 1, output: 1}}
routes:
  - {name: notes, targets: [{model: a-model}, {model: b-model}, {model: c-model}]}
`, time.Now)
	rec, err := askRoute(t, h, "notes", "Summarise the attached record.")
	if err != nil || rec.Provider != "c" {
		t.Fatalf("%v, served by %q; want c", err, rec.Provider)
	}
	if f["b"].Calls() != 0 || len(rec.Attempts) != 2 || rec.Attempts[0].Outcome != audit.OutcomeContextLimit {
		t.Errorf("b called %d times; attempts %+v; want a (context_exceeded) then c", f["b"].Calls(), rec.Attempts)
	}
}

// A conditional target is skipped while its recent p90 is above its bound,
// and used again once those figures are old and it answers fast.
func TestConditionalTargetFollowsItsLatency(t *testing.T) {
	f := newFakes(t, "fast", "slow")
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	delay := 150 * time.Millisecond
	f["slow"].SetScript(func(openaitest.Received) openaitest.Reply {
		mu.Lock()
		defer mu.Unlock()
		return openaitest.Reply{Delay: delay}
	})
	h := routedHarness(t, f.providers(nil)+`
models:
  - {id: maybe, provider: slow, price: {input: 1, output: 1}}
  - {id: always, provider: fast, price: {input: 1, output: 1}}
routes:
  - name: triage
    targets:
      - {model: maybe, when: {p90_latency_below: 100ms}}
      - {model: always}
`, clock)
	// No figures yet: the condition is not held against it.
	if rec, err := askRoute(t, h, "triage", "hi"); err != nil || rec.Provider != "slow" {
		t.Fatalf("first: %v, served by %q; want slow (no figures yet)", err, rec.Provider)
	}
	// It took 150 ms: above the bound, it is skipped.
	for i := range 3 {
		rec, err := askRoute(t, h, "triage", "hi")
		if err != nil || rec.Provider != "fast" || len(rec.Attempts) != 1 {
			t.Fatalf("request %d: %v, served by %q after %d attempts; want fast, the conditional target skipped", i, err, rec.Provider, len(rec.Attempts))
		}
	}
	if f["slow"].Calls() != 1 {
		t.Fatalf("slow called %d times while its p90 was above the bound", f["slow"].Calls())
	}
	// It recovers; once its figures are older than the window, it is
	// measured again, and kept.
	mu.Lock()
	delay, now = 0, now.Add(3*time.Minute)
	mu.Unlock()
	for i := range 3 {
		if rec, err := askRoute(t, h, "triage", "hi"); err != nil || rec.Provider != "slow" {
			t.Fatalf("after recovery, request %d: %v, served by %q; want slow", i, err, rec.Provider)
		}
	}
}

// Content rules send a request to the sub-route of the first rule it
// matches: Chinese and Japanese to their own routes, the rest stays.
func TestContentRulesByLanguage(t *testing.T) {
	f := newFakes(t, "qwen", "jp", "default")
	h := routedHarness(t, f.providers(nil)+`
models:
  - {id: qwen-model, provider: qwen, price: {input: 1, output: 1}}
  - {id: jp-model, provider: jp, price: {input: 1, output: 1}}
  - {id: default-model, provider: default, price: {input: 1, output: 1}}
routes:
  - name: triage-medium
    rules:
      - {when: {language: [zh]}, route: triage-zh}
      - {when: {language: [ja]}, route: triage-ja}
    targets: [{model: default-model}]
  - {name: triage-zh, targets: [{model: qwen-model}]}
  - {name: triage-ja, targets: [{model: jp-model}]}
`, time.Now)
	for _, tc := range []struct{ text, provider, route, rule string }{
		{"患者主诉头痛三天，伴有恶心，无发热。请评估严重程度。", "qwen", "triage-zh", "triage-medium.rules[0]"},
		{"患者は三日間の頭痛を訴えています。吐き気があり、発熱はありません。", "jp", "triage-ja", "triage-medium.rules[1]"},
		{"The patient reports a headache for three days with nausea and no fever.", "default", "triage-medium", ""},
	} {
		rec, err := askRoute(t, h, "triage-medium", tc.text)
		if err != nil || rec.Provider != tc.provider || rec.Route != tc.route || rec.Rule != tc.rule {
			t.Errorf("%.20q: %v; served by %q on %q by rule %q; want %q on %q by %q", tc.text, err, rec.Provider, rec.Route, rec.Rule,
				tc.provider, tc.route, tc.rule)
		}
	}
}

// The route a request addressed keeps its require when a rule moves it: a
// PHI request never reaches a provider without hipaa through a rule.
func TestContentRuleKeepsCompliance(t *testing.T) {
	f := newFakes(t, "open-zh", "safe-zh", "safe")
	h := routedHarness(t, f.providers(map[string]string{"safe-zh": "hipaa", "safe": "hipaa"})+`
models:
  - {id: open-zh-model, provider: open-zh, price: {input: 1, output: 1}}
  - {id: safe-zh-model, provider: safe-zh, price: {input: 1, output: 1}}
  - {id: safe-model, provider: safe, price: {input: 1, output: 1}}
data_classes:
  phi: [hipaa]
routes:
  - name: phi-triage
    require: [hipaa]
    rules: [{when: {language: [zh]}, route: zh}]
    targets: [{model: safe-model}]
  - {name: zh, targets: [{model: open-zh-model}, {model: safe-zh-model}]}
`, time.Now)
	rec, err := askRoute(t, h, "phi-triage", "患者主诉头痛三天，伴有恶心，无发热。", option.WithHeader("X-Router-Data-Class", "phi"))
	if err != nil || rec.Provider != "safe-zh" || rec.Route != "zh" {
		t.Fatalf("%v; served by %q on %q; want safe-zh on zh", err, rec.Provider, rec.Route)
	}
	if f["open-zh"].Calls() != 0 {
		t.Errorf("the provider without hipaa got %d calls", f["open-zh"].Calls())
	}
	// Without the phi header the route's own require still holds.
	rec, err = askRoute(t, h, "phi-triage", "患者主诉头痛三天。")
	if err != nil || rec.Provider != "safe-zh" || f["open-zh"].Calls() != 0 {
		t.Fatalf("%v; served by %q; open-zh calls %d", err, rec.Provider, f["open-zh"].Calls())
	}
}

// When every target refuses the request as it is (each context window too
// small, or nothing that can take it as sent), the client gets a 400 to fix
// its request, not a 502 outage, and it counts as no error in the metrics.
func TestEveryTargetRefusingTheRequestIsA400(t *testing.T) {
	f := newFakes(t, "a", "b")
	for _, n := range []string{"a", "b"} {
		f[n].SetScript(func(openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Status: 400, ErrType: "invalid_request_error", ErrCode: "context_length_exceeded",
				ErrMessage: "This model's maximum context length is 4000 tokens."}
		})
	}
	h := routedHarness(t, f.providers(nil)+`
models:
  - {id: a-model, provider: a, price: {input: 1, output: 1}}
  - {id: b-model, provider: b, price: {input: 1, output: 1}}
routes:
  - {name: notes, targets: [{model: a-model}, {model: b-model}]}
`, time.Now)
	rec, err := askRoute(t, h, "notes", "Summarise the attached record.")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != llm.CodeContextLength {
		t.Fatalf("err = %v; want 400 context_length_exceeded", err)
	}
	if len(rec.Attempts) != 2 || rec.Incomplete || rec.Failed() {
		t.Errorf("attempts %+v incomplete %v; want both tried, no error counted", rec.Attempts, rec.Incomplete)
	}
}
