package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/anthropic"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/secret"
)

// These tests run the adapter where users meet it: the official OpenAI client
// talks to the router's handler, which calls the fake Anthropic API.

const (
	upstreamKey = "sk-ant-router-test"
	backupReply = "Answer from the backup."
)

// The model's price, USD per 1M tokens.
const (
	priceInput      = 3.0
	priceOutput     = 15.0
	priceCacheRead  = 0.30
	priceCacheWrite = 3.75
)

const configYAML = `
providers:
  - name: claude-direct
    type: anthropic
    base_url: %s
    key: env:ANTHROPIC_API_KEY
  - name: backup
    type: mock
    mock: {reply: "` + backupReply + `"}
models:
  - id: claude
    provider: claude-direct
    upstream: claude-sonnet-4-5
    max_tokens: 2048
    price: {input: 3, output: 15, cached_input: 0.30, cache_write: 3.75}
  - id: backup
    provider: backup
    price: {input: 0.15, output: 0.60}
routes:
  - name: assistant
    targets:
      - {model: claude}
      - {model: backup}
`

// sink hands each audit record to the test.
type sink chan audit.Record

func (s sink) Emit(r *audit.Record) { s <- *r }

type harness struct {
	fake    *anthropictest.Server
	client  openai.Client
	records sink
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, configYAML)
}

// newHarnessWith serves a router on yaml, whose %s is the fake's URL.
func newHarnessWith(t *testing.T, yaml string) *harness {
	t.Helper()
	fake := anthropictest.NewServer()
	t.Cleanup(fake.Close)
	fake.SetAPIKey(upstreamKey)
	cfg, err := config.Parse(fmt.Appendf(nil, yaml, fake.URL))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	records := make(sink, 16)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"anthropic": anthropic.New, "mock": mock.New},
		Deps: llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			if k == "ANTHROPIC_API_KEY" {
				return upstreamKey, true
			}
			return "", false
		}}},
		Sink: records,
		Log:  slog.New(slog.DiscardHandler),
	}
	if err := g.Init(context.Background()); err != nil {
		t.Fatalf("gateway: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &harness{fake: fake, client: client, records: records}
}

// record waits for the audit record of the request just answered: the
// router emits it after the answer's last byte.
func (h *harness) record(t *testing.T) audit.Record {
	t.Helper()
	select {
	case r := <-h.records:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no audit record")
		return audit.Record{}
	}
}

// upstream is what the fake received, asserting what every Anthropic request
// must carry and no OpenAI-only field must leak into.
func (h *harness) upstream(t *testing.T) map[string]any {
	t.Helper()
	req, ok := h.fake.Last()
	if !ok {
		t.Fatal("the fake received no request")
	}
	if got := req.Header.Get("x-api-key"); got != upstreamKey {
		t.Errorf("x-api-key = %q, want the provider's key", got)
	}
	if req.Header.Get("Authorization") != "" {
		t.Error("an Authorization header reached Anthropic")
	}
	if got := req.Header.Get("anthropic-version"); got != "2023-06-01" {
		t.Errorf("anthropic-version = %q", got)
	}
	body := req.JSON()
	for _, field := range []string{"stream_options", "n", "user", "seed", "response_format", "parallel_tool_calls",
		"max_completion_tokens", "presence_penalty", "frequency_penalty", "stop", "logprobs"} {
		if _, ok := body[field]; ok {
			t.Errorf("OpenAI field %q leaked upstream", field)
		}
	}
	if tc, ok := body["tool_choice"]; ok {
		if _, isObject := tc.(map[string]any); !isObject {
			t.Errorf("tool_choice = %v, want an object", tc)
		}
	}
	msgs, _ := body["messages"].([]any)
	for i, m := range msgs {
		if role := m.(map[string]any)["role"]; role != "user" && role != "assistant" {
			t.Errorf("messages[%d].role = %v upstream", i, role)
		}
	}
	if body["model"] != "claude-sonnet-4-5" {
		t.Errorf("upstream model = %v, want claude-sonnet-4-5", body["model"])
	}
	return body
}

func expectedCost(input, cacheRead, cacheWrite, output int) float64 {
	return (float64(input)*priceInput + float64(cacheRead)*priceCacheRead +
		float64(cacheWrite)*priceCacheWrite + float64(output)*priceOutput) / 1e6
}

func TestRouterChat(t *testing.T) {
	h := newHarness(t)
	h.fake.Enqueue(anthropictest.Reply{Text: "Paris.",
		Usage: &anthropictest.Usage{InputTokens: 100, CacheReadInputTokens: 50, CacheCreationInputTokens: 20, OutputTokens: 30}})

	var httpResp *http.Response
	resp, err := h.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "assistant",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in one word."), openai.UserMessage("Capital of France?")},
	}, option.WithResponseInto(&httpResp))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got := resp.Choices[0].Message.Content; got != "Paris." {
		t.Errorf("content = %q, want Paris.", got)
	}
	if resp.Model != "claude" || resp.Choices[0].FinishReason != "stop" {
		t.Errorf("model %q finish %q, want claude stop", resp.Model, resp.Choices[0].FinishReason)
	}
	u := resp.Usage
	if u.PromptTokens != 170 || u.CompletionTokens != 30 || u.TotalTokens != 200 || u.PromptTokensDetails.CachedTokens != 50 {
		t.Errorf("usage = prompt %d completion %d total %d cached %d, want 170/30/200/50",
			u.PromptTokens, u.CompletionTokens, u.TotalTokens, u.PromptTokensDetails.CachedTokens)
	}
	wantCost := expectedCost(100, 50, 20, 30) // 0.00084
	gotCost, err := strconv.ParseFloat(httpResp.Header.Get("x-router-cost-usd"), 64)
	if err != nil || math.Abs(gotCost-wantCost) > 1e-12 {
		t.Errorf("x-router-cost-usd = %q, want %v", httpResp.Header.Get("x-router-cost-usd"), wantCost)
	}
	if p := httpResp.Header.Get("x-router-provider"); p != "claude-direct" {
		t.Errorf("x-router-provider = %q", p)
	}

	body := h.upstream(t)
	if body["system"] != "Answer in one word." {
		t.Errorf("upstream system = %v", body["system"])
	}
	if body["max_tokens"] != float64(2048) {
		t.Errorf("upstream max_tokens = %v, want the model's 2048", body["max_tokens"])
	}
	if msgs := body["messages"].([]any); len(msgs) != 1 {
		t.Errorf("upstream messages = %v, want only the user's", msgs)
	}

	rec := h.record(t)
	if rec.Provider != "claude-direct" || rec.UpstreamModel != "claude-sonnet-4-5" || rec.Status != 200 {
		t.Errorf("audit provider %q upstream %q status %d", rec.Provider, rec.UpstreamModel, rec.Status)
	}
	if rec.Usage != (audit.Usage{PromptTokens: 170, CompletionTokens: 30, CachedTokens: 50, CacheWriteTokens: 20}) {
		t.Errorf("audit usage = %+v", rec.Usage)
	}
	if math.Abs(rec.CostUSD-wantCost) > 1e-12 {
		t.Errorf("audit cost = %v, want %v", rec.CostUSD, wantCost)
	}
}

func TestRouterStreamText(t *testing.T) {
	for _, includeUsage := range []bool{true, false} {
		t.Run("include_usage="+strconv.FormatBool(includeUsage), func(t *testing.T) {
			h := newHarness(t)
			h.fake.Enqueue(anthropictest.Reply{Text: "The quick brown fox.",
				Usage: &anthropictest.Usage{InputTokens: 40, CacheReadInputTokens: 1000, OutputTokens: 5}})
			params := openai.ChatCompletionNewParams{Model: "assistant",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Say the phrase.")}}
			if includeUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			stream := h.client.Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			sawUsageChunk := false
			for stream.Next() {
				c := stream.Current()
				acc.AddChunk(c)
				if len(c.Choices) == 0 {
					sawUsageChunk = true
				}
				if c.Model != "claude" {
					t.Errorf("chunk model = %q", c.Model)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if got := acc.Choices[0].Message.Content; got != "The quick brown fox." {
				t.Errorf("content = %q", got)
			}
			if acc.Choices[0].FinishReason != "stop" {
				t.Errorf("finish = %q", acc.Choices[0].FinishReason)
			}
			if sawUsageChunk != includeUsage {
				t.Errorf("usage chunk seen = %v, want %v", sawUsageChunk, includeUsage)
			}
			if includeUsage && (acc.Usage.PromptTokens != 1040 || acc.Usage.CompletionTokens != 5 || acc.Usage.PromptTokensDetails.CachedTokens != 1000) {
				t.Errorf("usage = %+v", acc.Usage)
			}
			body := h.upstream(t)
			if body["stream"] != true {
				t.Errorf("upstream stream = %v", body["stream"])
			}
			// Metered either way: the router asks Anthropic for usage whatever the client wants.
			rec := h.record(t)
			if !rec.Stream || rec.Usage != (audit.Usage{PromptTokens: 1040, CompletionTokens: 5, CachedTokens: 1000}) {
				t.Errorf("audit stream %v usage %+v", rec.Stream, rec.Usage)
			}
			if want := expectedCost(40, 1000, 0, 5); math.Abs(rec.CostUSD-want) > 1e-12 {
				t.Errorf("audit cost = %v, want %v", rec.CostUSD, want)
			}
		})
	}
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "get_weather",
		Description: openai.String("Current weather in a city"),
		Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}})
}

func TestRouterToolRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.fake.Enqueue(
		anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{ID: "toolu_01A", Name: "get_weather", Input: `{"city":"Paris"}`}}},
		anthropictest.Reply{Text: "It is 21°C in Paris."},
	)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{
		Model:             "claude",
		Messages:          []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools:             []openai.ChatCompletionToolUnionParam{weatherTool()},
		ToolChoice:        openai.ChatCompletionToolChoiceOptionUnionParam{OfAuto: openai.String("required")},
		ParallelToolCalls: openai.Bool(false),
	}
	first, err := h.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	msg := first.Choices[0].Message
	if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 {
		t.Fatalf("first turn = finish %q with %d tool calls", first.Choices[0].FinishReason, len(msg.ToolCalls))
	}
	call := msg.ToolCalls[0]
	if call.ID != "toolu_01A" || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("tool call = %+v", call)
	}
	body := h.upstream(t)
	wantTC := map[string]any{"type": "any", "disable_parallel_tool_use": true}
	if got, _ := json.Marshal(body["tool_choice"]); string(got) != mustJSON(wantTC) {
		t.Errorf("upstream tool_choice = %s, want %s", got, mustJSON(wantTC))
	}
	tools := body["tools"].([]any)
	if schema := tools[0].(map[string]any)["input_schema"].(map[string]any); schema["type"] != "object" {
		t.Errorf("upstream input_schema = %v", schema)
	}
	h.record(t)

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temp_c":21}`, call.ID))
	params.ToolChoice = openai.ChatCompletionToolChoiceOptionUnionParam{}
	second, err := h.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if got := second.Choices[0].Message.Content; got != "It is 21°C in Paris." {
		t.Errorf("final answer = %q", got)
	}
	body = h.upstream(t)
	want := `[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},` +
		`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris"}}]},` +
		`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":"{\"temp_c\":21}"}]}]`
	if got := mustJSON(body["messages"]); got != mustJSON(mustParse(want)) {
		t.Errorf("upstream messages =\n%s\nwant\n%s", got, mustJSON(mustParse(want)))
	}
	h.record(t)
}

func TestRouterStreamToolCalls(t *testing.T) {
	h := newHarness(t)
	h.fake.Enqueue(anthropictest.Reply{Text: "Checking both.", ToolUses: []anthropictest.ToolUse{
		{ID: "toolu_P", Name: "get_weather", Input: `{"city":"Paris"}`},
		{ID: "toolu_R", Name: "get_weather", Input: `{"city":"Rome, Italy"}`},
	}})
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "assistant",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris and Rome?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool()},
	})
	var acc openai.ChatCompletionAccumulator
	var finished []string
	for stream.Next() {
		acc.AddChunk(stream.Current())
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc.ID+" "+tc.Arguments)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	m := acc.Choices[0].Message
	if m.Content != "Checking both." || acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("content %q finish %q", m.Content, acc.Choices[0].FinishReason)
	}
	if len(m.ToolCalls) != 2 {
		t.Fatalf("tool calls = %+v, want 2", m.ToolCalls)
	}
	for i, want := range [][2]string{{"toolu_P", `{"city":"Paris"}`}, {"toolu_R", `{"city":"Rome, Italy"}`}} {
		if got := m.ToolCalls[i]; got.ID != want[0] || got.Function.Arguments != want[1] || got.Function.Name != "get_weather" {
			t.Errorf("tool call %d = %s %s %s, want %s", i, got.ID, got.Function.Name, got.Function.Arguments, want)
		}
	}
	if len(finished) != 2 {
		t.Errorf("JustFinishedToolCall saw %v, want both calls", finished)
	}
	h.upstream(t)
	h.record(t)
}

func TestRouterFallback(t *testing.T) {
	tests := []struct {
		status int
		stream bool
	}{
		{529, false}, {500, false}, {429, false}, {529, true}, {429, true},
		// The router's own key refused, the model retired: the backup serves.
		{401, false}, {403, true}, {404, false}, {404, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d stream=%v", tt.status, tt.stream), func(t *testing.T) {
			h := newHarness(t)
			h.fake.Enqueue(anthropictest.Reply{Status: tt.status, RetryAfter: 1})
			params := openai.ChatCompletionNewParams{Model: "assistant",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
			var content string
			if tt.stream {
				s := h.client.Chat.Completions.NewStreaming(context.Background(), params)
				var acc openai.ChatCompletionAccumulator
				for s.Next() {
					acc.AddChunk(s.Current())
				}
				if err := s.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				content = acc.Choices[0].Message.Content
			} else {
				resp, err := h.client.Chat.Completions.New(context.Background(), params)
				if err != nil {
					t.Fatalf("chat: %v", err)
				}
				content = resp.Choices[0].Message.Content
			}
			if content != backupReply {
				t.Errorf("content = %q, want the backup's answer", content)
			}
			rec := h.record(t)
			if len(rec.Attempts) != 2 {
				t.Fatalf("attempts = %+v, want 2", rec.Attempts)
			}
			want := map[int]string{429: audit.OutcomeRateLimited, 401: audit.OutcomeAuthFailed, 403: audit.OutcomeAuthFailed,
				404: audit.OutcomeModelNotFound}[tt.status]
			if want == "" {
				want = audit.OutcomeError
			}
			if a := rec.Attempts[0]; a.Provider != "claude-direct" || a.Status != tt.status || a.Outcome != want {
				t.Errorf("first attempt = %+v, want claude-direct %s %d", a, want, tt.status)
			}
			if rec.Provider != "backup" {
				t.Errorf("served by %q, want backup", rec.Provider)
			}
		})
	}
}

func TestRouterClientErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      *anthropictest.Reply // nil: the adapter refuses before calling
		params     func(*openai.ChatCompletionNewParams)
		wantStatus int
		wantType   string
		wantParam  string
		wantCalls  int
	}{
		{name: "upstream 400", reply: &anthropictest.Reply{Status: 400, ErrorMessage: "messages: roles must alternate between user and assistant"},
			wantStatus: 400, wantType: "invalid_request_error", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.reply != nil {
				h.fake.Enqueue(*tt.reply)
			}
			params := openai.ChatCompletionNewParams{Model: "assistant",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
			if tt.params != nil {
				tt.params(&params)
			}
			_, err := h.client.Chat.Completions.New(context.Background(), params)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Type != tt.wantType || apiErr.Param != tt.wantParam || apiErr.Message == "" {
				t.Errorf("got %d %q param %q message %q, want %d %q param %q", apiErr.StatusCode, apiErr.Type, apiErr.Param,
					apiErr.Message, tt.wantStatus, tt.wantType, tt.wantParam)
			}
			if n := len(h.fake.Requests()); n != tt.wantCalls {
				t.Errorf("the fake got %d requests, want %d", n, tt.wantCalls)
			}
			rec := h.record(t)
			if len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeRejected {
				t.Errorf("attempts = %+v, want one rejected (no fallback on a client error)", rec.Attempts)
			}
		})
	}
}

// TestRouterInStreamError: once text has reached the client there is no
// fallback; the stream ends with an error the SDK reports.
func TestRouterInStreamError(t *testing.T) {
	h := newHarness(t)
	h.fake.Enqueue(anthropictest.Reply{Text: "Once upon a time", StreamError: "overloaded_error"})
	s := h.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "assistant",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("A story")}})
	var text string
	for s.Next() {
		for _, c := range s.Current().Choices {
			text += c.Delta.Content
		}
	}
	if s.Err() == nil {
		t.Fatal("the stream ended without an error")
	}
	if text != "Once " {
		t.Errorf("text before the error = %q", text)
	}
	rec := h.record(t)
	if len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeStreamError || rec.Attempts[0].Status != 529 {
		t.Errorf("attempts = %+v, want one stream_error with 529", rec.Attempts)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func mustParse(s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}
