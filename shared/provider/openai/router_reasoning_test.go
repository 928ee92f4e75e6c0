package openai_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// routerWith serves a router on a configuration whose providers' base URL
// is fake's (%[1]s in yaml).
func routerWith(t *testing.T, yaml string, fake *openaitest.Server) *router {
	t.Helper()
	cfg, err := config.Parse(fmt.Appendf(nil, yaml, fake.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	rec := make(records, 16)
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-up", k == "UP_KEY"
		}}},
		Sink: rec,
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &router{client: openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0)),
		records: rec}
}

// The model's reasoning reaches a chat client only when it asks with
// include_reasoning: true, streamed or not; the answer is otherwise whole,
// and the upstream never sees the member.
func TestRouterReasoningOnlyWhenAsked(t *testing.T) {
	fake := strictFake("deepseek", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "Paris.", Reasoning: "France's capital is Paris.", Usage: openaitest.Usage{Prompt: 10, Completion: 20}}
	})
	defer fake.Close()
	rt := newRouter(t, "deepseek", fake)
	ctx := context.Background()
	for _, asked := range []bool{false, true} {
		params := openai.ChatCompletionNewParams{Model: "r", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Capital of France?")}}
		if asked {
			params.SetExtraFields(map[string]any{"include_reasoning": true})
		}
		answer, err := rt.client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		rt.records.next(t)
		_, has := answer.Choices[0].Message.JSON.ExtraFields["reasoning_content"]
		if has != asked || answer.Choices[0].Message.Content != "Paris." {
			t.Errorf("asked %v: reasoning_content present %v, content %q", asked, has, answer.Choices[0].Message.Content)
		}

		stream := rt.client.Chat.Completions.NewStreaming(ctx, params)
		reasoning, content := "", ""
		for stream.Next() {
			c := stream.Current()
			if len(c.Choices) == 0 {
				continue
			}
			content += c.Choices[0].Delta.Content
			if rc, ok := c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var s string
				_ = json.Unmarshal([]byte(rc.Raw()), &s)
				reasoning += s
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		rec := rt.records.next(t)
		want := ""
		if asked {
			want = "France's capital is Paris."
		}
		if reasoning != want || content != "Paris." {
			t.Errorf("asked %v: streamed reasoning %q, content %q", asked, reasoning, content)
		}
		if rec.Usage.CompletionTokens != 20 || rec.Incomplete {
			t.Errorf("asked %v: record %+v", asked, rec.Usage)
		}
	}
	for i, r := range fake.Received() {
		if bytes.Contains(r.Body, []byte("include_reasoning")) {
			t.Errorf("request %d carried include_reasoning to DeepSeek: %s", i, r.Body)
		}
	}
}

const policyYAML = `
providers: [{name: up, type: openai, base_url: %q, key: "env:UP_KEY"}]
models:
  - {id: o4, provider: up, upstream: o4-mini, price: {input: 1.1, output: 4.4, cached_input: 0.275}}
  - {id: mini, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6, cached_input: 0.075}}
routes:
  - name: agent
    prompt_cache: auto
    reasoning: {default: low, max: medium}
    targets: [{model: o4}]
  - name: chat
    prompt_cache: auto
    reasoning: {default: low}
    targets: [{model: mini}]
`

// A route's policy through the router, against a fake as strict as
// OpenAI: the default effort and the ceiling reach o4-mini, gpt-4o-mini
// (which refuses reasoning_effort) gets none, and auto sends the route's
// name as prompt_cache_key unless the client sent its own.
func TestRouterPolicyOnOpenAI(t *testing.T) {
	fake := openaitest.NewServer("openai", openaitest.OpenAI(func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "ok", Usage: openaitest.Usage{Prompt: 2000, Completion: 10, Cached: 1536}}
	}))
	defer fake.Close()
	rt := routerWith(t, policyYAML, fake)
	ctx := context.Background()
	for _, tt := range []struct {
		route, effort, key  string
		wantEffort, wantKey string
	}{
		{"agent", "", "", "low", "agent"},
		{"agent", "high", "", "medium", "agent"},
		{"agent", "minimal", "mine", "minimal", "mine"},
		{"chat", "", "", "", "chat"},
	} {
		params := openai.ChatCompletionNewParams{Model: tt.route, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
		if tt.effort != "" {
			params.ReasoningEffort = openai.ReasoningEffort(tt.effort)
		}
		if tt.key != "" {
			params.PromptCacheKey = openai.String(tt.key)
		}
		if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		rec := rt.records.next(t)
		var sent struct {
			Effort string `json:"reasoning_effort"`
			Key    string `json:"prompt_cache_key"`
		}
		all := fake.Received()
		_ = json.Unmarshal(all[len(all)-1].Body, &sent)
		if sent.Effort != tt.wantEffort || sent.Key != tt.wantKey {
			t.Errorf("%+v: sent effort %q key %q", tt, sent.Effort, sent.Key)
		}
		if rec.Usage.CachedTokens != 1536 {
			t.Errorf("%+v: cached tokens %d", tt, rec.Usage.CachedTokens)
		}
	}
}
