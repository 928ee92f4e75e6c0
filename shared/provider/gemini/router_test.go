package gemini_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/gemini"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/secret"
)

// The router, configured with a gemini provider on the fake and a mock
// fallback, driven by the official OpenAI Go client as a user would.

const routerConfig = `
providers:
  - name: gem
    type: gemini
    base_url: FAKE_URL
    key: env:GEMINI_API_KEY
  - name: backup
    type: mock
    mock: {reply: "Backup answer."}
models:
  - id: gemini-flash
    provider: gem
    upstream: gemini-2.5-flash
    price: {input: 0.30, output: 2.50, cached_input: 0.075}
  - id: backup-model
    provider: backup
    price: {input: 1, output: 1}
routes:
  - name: chat
    targets:
      - {model: gemini-flash}
      - {model: backup-model}
  - name: chat-impatient
    targets:
      - {model: gemini-flash, first_byte_timeout: 100ms}
      - {model: backup-model}
`

// recordSink hands each audit record to the test; the gateway emits it after
// the answer is written, so tests wait on the channel.
type recordSink chan audit.Record

func (s recordSink) Emit(r *audit.Record) { s <- *r }

func (s recordSink) next(t *testing.T) audit.Record {
	t.Helper()
	select {
	case r := <-s:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record")
		return audit.Record{}
	}
}

type harness struct {
	fake   *geminitest.Server
	client openai.Client
	audit  recordSink
}

// newHarness starts the fake and a router in front of it. key is what the
// router resolves GEMINI_API_KEY to ("" for the fake's key).
func newHarness(t *testing.T, key string) *harness {
	t.Helper()
	return newHarnessWith(t, key, routerConfig)
}

// newHarnessWith is newHarness on yaml, whose FAKE_URL is the fake's.
func newHarnessWith(t *testing.T, key, yaml string) *harness {
	t.Helper()
	fake := geminitest.NewServer(geminitest.Options{})
	t.Cleanup(fake.Close)
	if key == "" {
		key = fake.Key()
	}
	cfg, err := config.Parse([]byte(strings.ReplaceAll(yaml, "FAKE_URL", fake.URL)))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	sink := make(recordSink, 8)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"gemini": gemini.New, "mock": mock.New},
		Deps: llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return key, k == "GEMINI_API_KEY"
		}}},
		Sink: sink,
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := g.Init(context.Background()); err != nil {
		t.Fatalf("gateway: %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &harness{fake: fake, client: client, audit: sink}
}

// openAIOnly are request fields that must never reach Gemini.
var openAIOnly = []string{"model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
	"temperature", "tool_choice", "response_format", "n", "user"}

// checkUpstream asserts the fake got a native request carrying the key in its
// header only, and returns the decoded body.
func checkUpstream(t *testing.T, r geminitest.Request, key string) map[string]any {
	t.Helper()
	if r.Header.Get("x-goog-api-key") != key || r.Query.Has("key") || strings.Contains(r.Path+r.Query.Encode(), key) {
		t.Errorf("key placement: header %q, URL %s?%s", r.Header.Get("x-goog-api-key"), r.Path, r.Query.Encode())
	}
	var body map[string]any
	if err := r.Decode(&body); err != nil {
		t.Fatalf("upstream body: %v", err)
	}
	for _, k := range openAIOnly {
		if _, ok := body[k]; ok {
			t.Errorf("upstream body has the OpenAI field %q: %s", k, r.Body)
		}
	}
	if _, ok := body["contents"]; !ok {
		t.Errorf("upstream body has no contents: %s", r.Body)
	}
	return body
}

// cost is the price of usage at gemini-flash's configured price, computed
// here independently of the cost package.
func cost(prompt, cached, completion int) float64 {
	return (float64(prompt-cached)*0.30 + float64(cached)*0.075 + float64(completion)*2.50) / 1e6
}

func TestRouterChat(t *testing.T) {
	h := newHarness(t, "")
	h.fake.Enqueue(geminitest.Reply{Text: []string{"Bonjour", " !"},
		Usage: &geminitest.Usage{Prompt: 1000, Candidates: 200, Thoughts: 100, Cached: 400}})
	var resp *http.Response
	c, err := h.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("Answer in French."),
			openai.UserMessage("Hello"),
		},
		Temperature:         openai.Float(0.2),
		MaxCompletionTokens: openai.Int(64),
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if len(c.Choices) != 1 || c.Choices[0].Message.Content != "Bonjour !" || c.Choices[0].FinishReason != "stop" || c.Model != "gemini-flash" {
		t.Errorf("completion = %s", c.RawJSON())
	}
	if u := c.Usage; u.PromptTokens != 1000 || u.CompletionTokens != 300 || u.TotalTokens != 1300 ||
		u.PromptTokensDetails.CachedTokens != 400 || u.CompletionTokensDetails.ReasoningTokens != 100 {
		t.Errorf("usage = %s", c.Usage.RawJSON())
	}
	wantCost := cost(1000, 400, 300)
	gotCost, err := strconv.ParseFloat(resp.Header.Get("x-router-cost-usd"), 64)
	if err != nil || math.Abs(gotCost-wantCost) > 1e-12 {
		t.Errorf("x-router-cost-usd = %q, want %v", resp.Header.Get("x-router-cost-usd"), wantCost)
	}
	if resp.Header.Get("x-router-provider") != "gem" || resp.Header.Get("x-router-attempts") != "1" {
		t.Errorf("router headers: provider %q attempts %q", resp.Header.Get("x-router-provider"), resp.Header.Get("x-router-attempts"))
	}
	rec := h.audit.next(t)
	if rec.Provider != "gem" || rec.UpstreamModel != "gemini-2.5-flash" || rec.Status != 200 ||
		rec.Usage != (audit.Usage{PromptTokens: 1000, CompletionTokens: 300, CachedTokens: 400}) || math.Abs(rec.CostUSD-wantCost) > 1e-12 {
		t.Errorf("audit = %+v", rec)
	}

	reqs := h.fake.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Fatalf("upstream requests = %+v", reqs)
	}
	body := checkUpstream(t, reqs[0], h.fake.Key())
	want := map[string]any{
		"systemInstruction": map[string]any{"parts": []any{map[string]any{"text": "Answer in French."}}},
		"contents":          []any{map[string]any{"role": "user", "parts": []any{map[string]any{"text": "Hello"}}}},
		"generationConfig":  map[string]any{"temperature": 0.2, "maxOutputTokens": float64(64)},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("upstream body = %s", reqs[0].Body)
	}
}

func TestRouterStream(t *testing.T) {
	tests := []struct {
		name      string
		wantUsage bool
	}{
		{"with include_usage", true},
		{"without include_usage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "")
			h.fake.Enqueue(geminitest.Reply{Text: []string{"Un", ", deux", ", trois."}, Usage: &geminitest.Usage{Prompt: 50, Candidates: 6}})
			params := openai.ChatCompletionNewParams{Model: "chat",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count to three in French")}}
			if tt.wantUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			stream := h.client.Chat.Completions.NewStreaming(context.Background(), params)
			var acc openai.ChatCompletionAccumulator
			chunks := 0
			for stream.Next() {
				ch := stream.Current()
				if ch.Model != "gemini-flash" {
					t.Errorf("chunk model = %q, want gemini-flash", ch.Model)
				}
				acc.AddChunk(ch)
				chunks++
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if got := acc.Choices[0].Message.Content; got != "Un, deux, trois." || acc.Choices[0].FinishReason != "stop" {
				t.Errorf("accumulated %q finishing %q", got, acc.Choices[0].FinishReason)
			}
			wantChunks, wantTotal := 3, int64(0)
			if tt.wantUsage {
				wantChunks, wantTotal = 4, 56
			}
			if chunks != wantChunks || acc.Usage.TotalTokens != wantTotal {
				t.Errorf("chunks %d with usage total %d, want %d and %d", chunks, acc.Usage.TotalTokens, wantChunks, wantTotal)
			}
			// The router meters the stream either way.
			rec := h.audit.next(t)
			if !rec.Stream || rec.Usage.PromptTokens != 50 || rec.Usage.CompletionTokens != 6 || rec.UsageMissing ||
				math.Abs(rec.CostUSD-cost(50, 0, 6)) > 1e-12 {
				t.Errorf("audit = %+v", rec)
			}
			r := h.fake.Requests()[0]
			if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query.Get("alt") != "sse" {
				t.Errorf("upstream = %s?%s", r.Path, r.Query.Encode())
			}
			checkUpstream(t, r, h.fake.Key())
		})
	}
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather in a city"),
	Parameters: openai.FunctionParameters{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
})

func TestRouterToolRoundTrip(t *testing.T) {
	h := newHarness(t, "")
	h.fake.Enqueue(
		geminitest.Reply{Calls: []geminitest.Call{{Name: "get_weather", Args: map[string]any{"city": "Paris"}, ThoughtSignature: []byte("sig")}}},
		geminitest.Reply{Text: []string{"It is 21°C in Paris."}},
	)
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")}
	params := openai.ChatCompletionNewParams{Model: "chat", Messages: msgs,
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool}}

	first, err := h.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatalf("first turn: %v", err)
	}
	choice := first.Choices[0]
	if choice.FinishReason != "tool_calls" || len(choice.Message.ToolCalls) != 1 {
		t.Fatalf("first answer = %s", first.RawJSON())
	}
	call := choice.Message.ToolCalls[0]
	if call.ID == "" || call.Function.Name != "get_weather" || call.Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("tool call = %s", call.RawJSON())
	}

	params.Messages = append(msgs, choice.Message.ToParam(), openai.ToolMessage(`{"temp":21,"unit":"C"}`, call.ID))
	final, err := h.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatalf("second turn: %v", err)
	}
	if final.Choices[0].Message.Content != "It is 21°C in Paris." || final.Choices[0].FinishReason != "stop" {
		t.Errorf("final answer = %s", final.RawJSON())
	}

	reqs := h.fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream saw %d requests, want 2", len(reqs))
	}
	body := checkUpstream(t, reqs[1], h.fake.Key())
	tools, _ := json.Marshal(body["tools"])
	if want := `[{"functionDeclarations":[{"description":"Current weather in a city","name":"get_weather","parametersJsonSchema":{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}}]}]`; string(tools) != want {
		t.Errorf("tools = %s, want %s", tools, want)
	}
	contents, _ := json.Marshal(body["contents"])
	// openai-go rebuilds the assistant message without extra_content, so the
	// call goes back with Gemini's documented skip sentinel, and without the
	// synthesized id.
	want := `[{"parts":[{"text":"Weather in Paris?"}],"role":"user"},` +
		`{"parts":[{"functionCall":{"args":{"city":"Paris"},"name":"get_weather"},"thoughtSignature":"skip_thought_signature_validator"}],"role":"model"},` +
		`{"parts":[{"functionResponse":{"name":"get_weather","response":{"output":{"temp":21,"unit":"C"}}}}],"role":"user"}]`
	if string(contents) != want {
		t.Errorf("contents = %s\nwant       %s", contents, want)
	}
}

func TestRouterStreamedToolCalls(t *testing.T) {
	h := newHarness(t, "")
	h.fake.Enqueue(geminitest.Reply{Text: []string{"Checking."}, Calls: []geminitest.Call{
		{Name: "get_weather", Args: map[string]any{"city": "Paris"}},
		{ID: "g-7", Name: "get_weather", Args: map[string]any{"city": "Lyon"}},
	}})
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris and Lyon?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool}})
	var acc openai.ChatCompletionAccumulator
	var finished []string
	for stream.Next() {
		acc.AddChunk(stream.Current())
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc.Name+tc.Arguments)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	msg := acc.Choices[0].Message
	type call struct{ ID, Name, Args string }
	var got []call
	for _, tc := range msg.ToolCalls {
		got = append(got, call{tc.ID, tc.Function.Name, tc.Function.Arguments})
	}
	if len(got) != 2 || got[0].ID == "" || got[0].ID == got[1].ID {
		t.Fatalf("tool calls = %+v, want two with distinct ids", got)
	}
	got[0].ID = "" // synthesized: checked above
	want := []call{{"", "get_weather", `{"city":"Paris"}`}, {"g-7", "get_weather", `{"city":"Lyon"}`}}
	if !reflect.DeepEqual(got, want) || msg.Content != "Checking." || acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("accumulated %+v content %q finish %q, want %+v", got, msg.Content, acc.Choices[0].FinishReason, want)
	}
	if !slices.Contains(finished, `get_weather{"city":"Paris"}`) {
		t.Errorf("finished tool calls seen = %q", finished)
	}
}

// TestRouterErrors drives each class of Gemini error through the router: the
// retryable ones fall back to the mock target; the others come back to the
// client as OpenAI-shaped errors through the SDK's error type.
func TestRouterErrors(t *testing.T) {
	tests := []struct {
		name      string
		route     string
		key       string // "" for the right key
		reply     geminitest.Reply
		stream    bool
		user      openai.ChatCompletionMessageParamUnion
		fallback  string // the first attempt's outcome when the backup answers
		wantState int    // the first attempt's status in the audit record
		// when the error reaches the client:
		wantStatus int
		wantType   string
		wantCode   string
		wantMsg    string
	}{
		{name: "429 falls back", route: "chat", reply: geminitest.Reply{Error: geminitest.NewError(429, "")}, fallback: audit.OutcomeRateLimited, wantState: 429},
		{name: "503 falls back", route: "chat", reply: geminitest.Reply{Error: geminitest.NewError(503, "")}, fallback: audit.OutcomeError, wantState: 503},
		{name: "500 falls back", route: "chat", reply: geminitest.Reply{Error: geminitest.NewError(500, "")}, fallback: audit.OutcomeError, wantState: 500},
		{name: "503 falls back when streaming", route: "chat", stream: true, reply: geminitest.Reply{Error: geminitest.NewError(503, "")}, fallback: audit.OutcomeError, wantState: 503},
		{name: "stream closed before its first chunk falls back", route: "chat", stream: true,
			reply: geminitest.Reply{Thought: "thinking", Text: []string{""}, Truncate: true}, fallback: audit.OutcomeError, wantState: 502},
		{name: "slow first byte falls back", route: "chat-impatient", reply: geminitest.Reply{Delay: time.Minute}, fallback: audit.OutcomeFirstByteTimeout, wantState: 504},
		{name: "400 is the client's", route: "chat", reply: geminitest.Reply{Error: geminitest.NewError(400, "Request contains an invalid argument.")},
			wantStatus: 400, wantType: "invalid_request_error", wantCode: "invalid_argument", wantMsg: "the provider rejected the request (status 400)"},
		// Gemini cannot take a remote image URL (the router does not fetch
		// it); the backup can.
		{name: "remote image falls back", route: "chat", user: openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: "https://example.com/cat.png"})}),
			fallback: audit.OutcomeUnsupported, wantState: 400},
		// Gemini says 400 API_KEY_INVALID: the router's own key, not the
		// client's, so the backup serves.
		{name: "bad provider key falls back", route: "chat", key: "revoked-key", fallback: audit.OutcomeAuthFailed, wantState: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.key)
			h.fake.Enqueue(tt.reply)
			user := tt.user
			if user == (openai.ChatCompletionMessageParamUnion{}) {
				user = openai.UserMessage("Hi")
			}
			params := openai.ChatCompletionNewParams{Model: openai.ChatModel(tt.route), Messages: []openai.ChatCompletionMessageParamUnion{user}}
			var resp *http.Response
			var content string
			var err error
			if tt.stream {
				stream := h.client.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
				var acc openai.ChatCompletionAccumulator
				for stream.Next() {
					acc.AddChunk(stream.Current())
				}
				if err = stream.Err(); err == nil && len(acc.Choices) > 0 {
					content = acc.Choices[0].Message.Content
				}
			} else {
				var c *openai.ChatCompletion
				if c, err = h.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp)); err == nil {
					content = c.Choices[0].Message.Content
				}
			}
			rec := h.audit.next(t)

			if tt.wantStatus == 0 { // a fallback is expected
				if err != nil {
					t.Fatalf("request failed: %v", err)
				}
				if content != "Backup answer." || resp.Header.Get("x-router-provider") != "backup" || resp.Header.Get("x-router-attempts") != "2" {
					t.Errorf("answer %q from %q after %q attempts, want the backup's after 2", content,
						resp.Header.Get("x-router-provider"), resp.Header.Get("x-router-attempts"))
				}
				if len(rec.Attempts) != 2 || rec.Attempts[0].Provider != "gem" ||
					rec.Attempts[0].Outcome != tt.fallback || rec.Attempts[0].Status != tt.wantState {
					t.Errorf("attempts = %+v, want gem %s (%d) then backup", rec.Attempts, tt.fallback, tt.wantState)
				}
				return
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want an *openai.Error", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Type != tt.wantType || apiErr.Code != tt.wantCode || !strings.Contains(apiErr.Message, tt.wantMsg) {
				t.Errorf("error = %d %q %q %q, want %d %q %q containing %q",
					apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, tt.wantStatus, tt.wantType, tt.wantCode, tt.wantMsg)
			}
			if len(rec.Attempts) > 1 {
				t.Errorf("attempts = %+v; a client error must not fall back", rec.Attempts)
			}
		})
	}
}

// TestRouterStreamFailsAfterFirstChunk: once a chunk has reached the client
// there is no fallback; a truncated Gemini stream ends the client's stream
// with an error event, and the audit record says so.
func TestRouterStreamFailsAfterFirstChunk(t *testing.T) {
	h := newHarness(t, "")
	h.fake.Enqueue(geminitest.Reply{Text: []string{"Once upon"}, Truncate: true})
	stream := h.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell a story")}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	err := stream.Err()
	if err == nil || !strings.Contains(err.Error(), "stream_error") {
		t.Errorf("stream error = %v, want the stream_error event", err)
	}
	if len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "Once upon" {
		t.Errorf("content before the error = %+v", acc.Choices)
	}
	rec := h.audit.next(t)
	if len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeStreamError || rec.ErrorCode != "stream_error" || !rec.Incomplete {
		t.Errorf("audit attempts %+v error %q, want one stream_error attempt", rec.Attempts, rec.ErrorCode)
	}
}
