package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// The request's compliance requirement is computed once and only grows: the
// tests below each hold one way it used to shrink, through the official
// client, against loopback OpenAI upstreams that record what reaches them.

const appKey = "sk-router-app-0001"

func keyHash(k string) string {
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// requirementHarness serves cfgYAML (with %[1]q and %[2]q the base URLs of
// a hipaa and a public upstream) with a limiter on in-memory counters.
func requirementHarness(t *testing.T, cfgYAML string) (h *harness, hip, pub *openaitest.Server) {
	t.Helper()
	answer := func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Usage: openaitest.Usage{Prompt: 1000, Completion: 100}}
	}
	hip = openaitest.NewServer("hip", answer)
	pub = openaitest.NewServer("pub", answer)
	t.Cleanup(hip.Close)
	t.Cleanup(pub.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(cfgYAML, hip.BaseURL(), pub.BaseURL())))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h = &harness{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	h.audit = newRecorder(audit.NewWriter(h.stdout))
	h.gw = &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-upstream-" + strings.ToLower(k), true
		}}},
		Sink:    h.audit,
		Limiter: &limits.Limiter{Counters: &limits.Memory{}, LeaseFor: -1, ReturnIdle: -1},
		Log:     slog.New(slog.NewJSONHandler(h.stderr, nil)),
	}
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h, hip, pub
}

const requirementProviders = `
providers:
  - {name: hip, type: openai, base_url: %[1]q, key: "env:HIP", compliance: [hipaa]}
  - {name: pub, type: openai, base_url: %[2]q, key: "env:PUB"}
models:
  # 1000 prompt and 100 completion tokens cost $0.2 on either.
  - {id: hip-model, provider: hip, price: {input: 100, output: 1000}}
  - {id: pub-model, provider: pub, price: {input: 100, output: 1000}}
  - {id: hip-embed, provider: hip, price: {input: 1, output: 0}}
  - {id: pub-embed, provider: pub, price: {input: 1, output: 0}}
data_classes:
  phi: [hipaa]
  internal: []
`

func chatParams(model string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, MaxTokens: openai.Int(100),
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Summarise the visit notes.")}}
}

// A budget downgrade moves a request to a cheaper route, but the route it
// asked for required hipaa: the requirement keeps that, so the downgrade
// route, whose only target lacks hipaa, cannot take it and the request
// stays where it was. Key budgets and tag budgets alike.
func TestBudgetDowngradeKeepsTheRouteRequire(t *testing.T) {
	for _, tc := range []struct {
		name, budget, tags string
	}{
		{"key budget", `budget: {monthly_usd: 1, on_budget: {at: 0.3, route: economy}}`, ""},
		{"tag budget", "", "team=notes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := requirementProviders + `
routes:
  - {name: phi-notes, require: [hipaa], targets: [{model: hip-model}]}
  - {name: economy, targets: [{model: pub-model}]}
keys:
  - {id: app, hash: "` + keyHash(appKey) + `", routes: [phi-notes, economy], ` + tc.budget + `}
`
			if tc.tags != "" {
				cfg += "budgets:\n  - {tag: team, value: notes, monthly_usd: 1, on_budget: {at: 0.3, route: economy}}\n"
			}
			h, hip, pub := requirementHarness(t, cfg)
			client := h.client(appKey, option.WithHeader("X-Router-Tags", tc.tags))
			// Four requests spend $0.8 of $1: from the second on, the budget
			// is past its downgrade share.
			for i := range 4 {
				if _, err := client.Chat.Completions.New(context.Background(), chatParams("phi-notes")); err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				rec := h.audit.next(t)
				if rec.Provider != "hip" || rec.DowngradedFrom != "" || !slices.Equal(rec.Require, []string{"hipaa"}) {
					t.Fatalf("request %d: served by %q, downgraded from %q, require %v; want hip, no downgrade, [hipaa]",
						i, rec.Provider, rec.DowngradedFrom, rec.Require)
				}
			}
			if hip.Calls() != 4 || pub.Calls() != 0 {
				t.Fatalf("hip got %d calls, pub %d; want 4 and 0", hip.Calls(), pub.Calls())
			}
		})
	}
}

// The downgrade still happens where the requirement allows it: a route
// without require moves to the cheaper route once the share is spent.
func TestBudgetDowngradeWithoutRequire(t *testing.T) {
	h, hip, pub := requirementHarness(t, requirementProviders+`
routes:
  - {name: notes, targets: [{model: hip-model}]}
  - {name: economy, targets: [{model: pub-model}]}
keys:
  - {id: app, hash: "`+keyHash(appKey)+`", routes: [notes, economy], budget: {monthly_usd: 1, on_budget: {at: 0.3, route: economy}}}
`)
	client := h.client(appKey)
	for i := range 3 {
		if _, err := client.Chat.Completions.New(context.Background(), chatParams("notes")); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		h.audit.next(t)
	}
	if hip.Calls() == 0 || pub.Calls() == 0 {
		t.Fatalf("hip got %d calls, pub %d; want both (the downgrade applies once the share is spent)", hip.Calls(), pub.Calls())
	}
}

// Every x-router-data-class field line is read, comma lists included, on
// every routed endpoint: a request that says internal on one line and phi
// on the next is phi.
func TestRepeatedDataClassLines(t *testing.T) {
	cfg := requirementProviders + `
routes:
  # The public target comes first: only the requirement keeps it out.
  - {name: main, targets: [{model: pub-model}, {model: hip-model}]}
  - {name: embed, targets: [{model: pub-embed}, {model: hip-embed}]}
keys:
  - {id: app, hash: "` + keyHash(appKey) + `", routes: ["*"]}
`
	forms := []struct {
		name string
		opts []option.RequestOption
	}{
		{"two lines", []option.RequestOption{option.WithHeaderAdd("X-Router-Data-Class", "internal"),
			option.WithHeaderAdd("X-Router-Data-Class", "phi")}},
		{"comma list", []option.RequestOption{option.WithHeader("X-Router-Data-Class", "internal, phi")}},
		{"comma list on the second line", []option.RequestOption{option.WithHeaderAdd("X-Router-Data-Class", "internal"),
			option.WithHeaderAdd("X-Router-Data-Class", "internal,phi")}},
	}
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			h, hip, pub := requirementHarness(t, cfg)
			client := h.client(appKey, form.opts...)
			ctx := context.Background()
			check := func(endpoint string) {
				t.Helper()
				rec := h.audit.next(t)
				if rec.Provider != "hip" || !slices.Equal(rec.Require, []string{"hipaa"}) || rec.DataClass != "internal,phi" {
					t.Errorf("%s: served by %q, require %v, data_class %q; want hip, [hipaa], internal,phi",
						endpoint, rec.Provider, rec.Require, rec.DataClass)
				}
				if want := []audit.RequireSource{{Tag: "hipaa", Source: "header"}}; !slices.Equal(rec.RequireFrom, want) {
					t.Errorf("%s: require_from %v, want %v", endpoint, rec.RequireFrom, want)
				}
			}

			if _, err := client.Chat.Completions.New(ctx, chatParams("main")); err != nil {
				t.Fatal(err)
			}
			check("chat")
			s := client.Chat.Completions.NewStreaming(ctx, chatParams("main"))
			for s.Next() {
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			check("stream")
			if _, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "embed",
				Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("visit notes")}}); err != nil {
				t.Fatal(err)
			}
			check("embeddings")
			if pub.Calls() != 0 || hip.Calls() != 3 {
				t.Fatalf("pub got %d calls, hip %d; want 0 and 3", pub.Calls(), hip.Calls())
			}

			var explained struct {
				Require    []string
				DataClass  string `json:"data_class"`
				Candidates []struct{ Provider string }
			}
			if err := client.Post(ctx, "router/explain", chatParams("main"), &explained); err != nil {
				t.Fatal(err)
			}
			if len(explained.Candidates) != 1 || explained.Candidates[0].Provider != "hip" ||
				!slices.Equal(explained.Require, []string{"hipaa"}) || explained.DataClass != "internal,phi" {
				t.Errorf("explain: %+v; want only hip, require [hipaa], data_class internal,phi", explained)
			}
		})
	}
}

// A key with routes ["*"] may use every route and no model directly: a
// model id carries no route's require, so it would be a way around one.
func TestStarRoutesDoNotGrantModels(t *testing.T) {
	h, hip, pub := requirementHarness(t, requirementProviders+`
routes:
  - {name: phi-notes, require: [hipaa], targets: [{model: hip-model}]}
keys:
  - {id: app, hash: "`+keyHash(appKey)+`", routes: ["*"]}
  - {id: direct, hash: "`+keyHash("sk-router-direct")+`", routes: ["*"], models: [pub-model]}
`)
	_, err := h.client(appKey).Chat.Completions.New(context.Background(), chatParams("pub-model"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden || apiErr.Code != "route_not_allowed" {
		t.Fatalf("direct model with routes [*]: err = %v; want 403 route_not_allowed", err)
	}
	h.audit.next(t)
	if pub.Calls() != 0 {
		t.Fatalf("pub got %d calls", pub.Calls())
	}
	if _, err := h.client("sk-router-direct").Chat.Completions.New(context.Background(), chatParams("pub-model")); err != nil {
		t.Fatalf("a model listed under models: %v", err)
	}
	if rec := h.audit.next(t); rec.Provider != "pub" {
		t.Fatalf("served by %q, want pub", rec.Provider)
	}
	if _, err := h.client(appKey).Chat.Completions.New(context.Background(), chatParams("phi-notes")); err != nil {
		t.Fatal(err)
	}
	if rec := h.audit.next(t); rec.Provider != "hip" || hip.Calls() != 1 {
		t.Fatalf("served by %q, hip calls %d", rec.Provider, hip.Calls())
	}

	// /v1/models agrees: routes only for the first key.
	page, err := h.client(appKey).Models.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{"phi-notes"}) {
		t.Errorf("models listed for routes [*]: %v, want [phi-notes]", ids)
	}
}

// x-router-route and authorization have one value: two different field
// lines are refused before anything is sent; the same value twice is one.
func TestSingleValueHeaders(t *testing.T) {
	h, hip, pub := requirementHarness(t, requirementProviders+`
routes:
  - {name: phi-notes, require: [hipaa], targets: [{model: hip-model}]}
  - {name: economy, targets: [{model: pub-model}]}
keys:
  - {id: app, hash: "`+keyHash(appKey)+`", routes: ["*"]}
`)
	for _, tc := range []struct {
		name      string
		opts      []option.RequestOption
		wantParam string
	}{
		{"two routes", []option.RequestOption{option.WithHeaderAdd("X-Router-Route", "phi-notes"),
			option.WithHeaderAdd("X-Router-Route", "economy")}, "x-router-route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, stream := range []bool{false, true} {
				var err error
				if stream {
					s := h.client(appKey, tc.opts...).Chat.Completions.NewStreaming(context.Background(), chatParams("phi-notes"))
					for s.Next() {
					}
					err = s.Err()
				} else {
					_, err = h.client(appKey, tc.opts...).Chat.Completions.New(context.Background(), chatParams("phi-notes"))
				}
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "ambiguous_header" ||
					apiErr.Param != tc.wantParam {
					t.Fatalf("stream %v: err = %v; want 400 ambiguous_header param %s", stream, err, tc.wantParam)
				}
				h.audit.next(t)
			}
		})
	}
	// Two keys: the SDK sets one Authorization line, so this one is sent raw.
	for _, path := range []string{"/v1/chat/completions", "/v1/embeddings", "/v1/router/explain"} {
		req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(`{"model":"phi-notes","input":"x","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header["Authorization"] = []string{"Bearer " + appKey, "Bearer sk-someone-else"}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Code, Param string } }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || body.Error.Code != "ambiguous_header" || body.Error.Param != "authorization" {
			t.Fatalf("%s with two keys: status %d, error %+v; want 400 ambiguous_header param authorization", path, resp.StatusCode, body.Error)
		}
		if path != "/v1/router/explain" {
			h.audit.next(t)
		}
	}
	if hip.Calls()+pub.Calls() != 0 {
		t.Fatalf("upstreams got %d calls, want 0", hip.Calls()+pub.Calls())
	}
	_, err := h.client(appKey, option.WithHeaderAdd("X-Router-Route", "phi-notes"), option.WithHeaderAdd("X-Router-Route", "phi-notes")).
		Chat.Completions.New(context.Background(), chatParams("economy"))
	if err != nil {
		t.Fatalf("the same route twice: %v", err)
	}
	if rec := h.audit.next(t); rec.Route != "phi-notes" || rec.Provider != "hip" {
		t.Fatalf("route %q provider %q, want phi-notes on hip", rec.Route, rec.Provider)
	}
}

// The audit line names where each required tag came from.
func TestRequireFromInTheAuditLine(t *testing.T) {
	h, _, _ := requirementHarness(t, requirementProviders+`
routes:
  - {name: phi-notes, require: [hipaa], targets: [{model: hip-model}]}
keys:
  - {id: app, hash: "`+keyHash(appKey)+`", routes: ["*"], data_class: phi}
`)
	if _, err := h.client(appKey, option.WithHeader("X-Router-Data-Class", "phi")).Chat.Completions.New(context.Background(), chatParams("phi-notes")); err != nil {
		t.Fatal(err)
	}
	rec := h.audit.next(t)
	var line struct {
		Require     []string            `json:"require"`
		RequireFrom map[string][]string `json:"require_from"`
	}
	if err := json.Unmarshal(rec.AppendJSON(nil), &line); err != nil {
		t.Fatal(err)
	}
	if got, want := line.RequireFrom["hipaa"], []string{"route:phi-notes", "key", "header"}; !slices.Equal(got, want) || !slices.Equal(line.Require, []string{"hipaa"}) {
		t.Fatalf("require %v, require_from %v; want [hipaa] from %v", line.Require, line.RequireFrom, want)
	}
}
