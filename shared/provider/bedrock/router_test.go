package bedrock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/mock"
	"github.com/llm-router/router/shared/secret"
)

// These tests run the whole router in front of the fake Bedrock, with the
// official OpenAI client as the caller: what a user of the router sees.

const routerConfig = `
providers:
  - name: bedrock-us
    type: bedrock
    base_url: %s
    region: us-east-1
  - name: sim
    type: mock
    mock: {reply: "Fallback answer."}
models:
  - id: claude-sonnet
    provider: bedrock-us
    upstream: anthropic.claude-3-5-sonnet-20240620-v1:0
    price: {input: 3, output: 15, cached_input: 0.3, cache_write: 3.75}
  - id: titan-embed
    provider: bedrock-us
    upstream: amazon.titan-embed-text-v2:0
    price: {input: 0.02, output: 0}
  - id: backup
    provider: sim
    price: {input: 1, output: 1}
routes:
  - name: chat
    targets: [{model: claude-sonnet}, {model: backup}]
`

// records captures audit records; the gateway emits one when a request is
// done, which for a stream is after the client read [DONE].
type records chan audit.Record

func (r records) Emit(rec *audit.Record) { r <- *rec }

func (r records) next(t *testing.T) audit.Record {
	t.Helper()
	select {
	case rec := <-r:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record within 10s")
		return audit.Record{}
	}
}

type router struct {
	client openai.Client
	fake   *bedrocktest.Server
	audit  records
}

func newRouter(t *testing.T) *router {
	t.Helper()
	return newRouterWith(t, routerConfig)
}

// newRouterWith serves a router on yaml, whose %s is the fake's URL.
func newRouterWith(t *testing.T, yaml string) *router {
	t.Helper()
	awsEnv(t)
	fake := bedrocktest.New(t)
	cfg, err := config.Parse(fmt.Appendf(nil, yaml, fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	recs := make(records, 16)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"bedrock": bedrock.New, "mock": mock.New},
		Deps:      llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(string) (string, bool) { return "", false }}},
		Sink:      recs,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := g.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &router{client: client, fake: fake, audit: recs}
}

// bedrockBody is the subset of a Converse body the tests look at.
type bedrockBody struct {
	System   []map[string]any `json:"system"`
	Messages []struct {
		Role    string           `json:"role"`
		Content []map[string]any `json:"content"`
	} `json:"messages"`
	InferenceConfig map[string]any `json:"inferenceConfig"`
	ToolConfig      map[string]any `json:"toolConfig"`
}

// checkNative asserts a request reached Bedrock SigV4-signed and in
// Converse's shape, with nothing of OpenAI's body in it.
func checkNative(t *testing.T, r bedrocktest.Request) bedrockBody {
	t.Helper()
	auth := r.Header.Get("Authorization")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/us-east-1/bedrock/aws4_request") {
		t.Errorf("Authorization %q is not a SigV4 signature for bedrock in us-east-1", auth)
	}
	if r.Header.Get("X-Amz-Date") == "" {
		t.Error("no X-Amz-Date: the request was not signed")
	}
	var top map[string]any
	if err := r.Decode(&top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"model", "stream", "stream_options", "max_tokens", "temperature", "tools", "tool_choice", "n", "user"} {
		if _, leaked := top[k]; leaked {
			t.Errorf("OpenAI field %q reached Bedrock: %s", k, r.Body)
		}
	}
	var b bedrockBody
	if err := r.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRouterChat(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(bedrocktest.Reply{Text: "Paris.", Usage: bedrocktest.Usage{Input: 10, Output: 5, CacheRead: 100, CacheWrite: 20}})
	var resp *http.Response
	got, err := rt.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:       "chat",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in one word."), openai.UserMessage("Capital of France?")},
		MaxTokens:   openai.Int(50),
		Temperature: openai.Float(0.5),
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != "Paris." || got.Choices[0].FinishReason != "stop" || got.Model != "claude-sonnet" {
		t.Errorf("got %q finish %q model %q, want Paris., stop, claude-sonnet", got.Choices[0].Message.Content, got.Choices[0].FinishReason, got.Model)
	}
	if u := got.Usage; u.PromptTokens != 130 || u.CompletionTokens != 5 || u.TotalTokens != 135 || u.PromptTokensDetails.CachedTokens != 100 {
		t.Errorf("got usage %+v, want 130 prompt (100 cached), 5 completion", u)
	}
	// 10*3 + 100*0.3 + 20*3.75 + 5*15 = 210 micro-USD
	for k, want := range map[string]string{"X-Router-Provider": "bedrock-us", "X-Router-Model": "claude-sonnet",
		"X-Router-Attempts": "1", "X-Router-Cost-Usd": "0.00021"} {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	rec := rt.audit.next(t)
	if rec.Provider != "bedrock-us" || rec.UpstreamModel != "anthropic.claude-3-5-sonnet-20240620-v1:0" || rec.Usage.PromptTokens != 130 ||
		rec.Usage.CachedTokens != 100 || rec.CostUSD != 0.00021 || rec.Status != 200 {
		t.Errorf("audit record %+v", rec)
	}
	b := checkNative(t, rt.fake.Last(t))
	if len(b.System) != 1 || b.System[0]["text"] != "Answer in one word." {
		t.Errorf("system blocks %v, want the system message", b.System)
	}
	if len(b.Messages) != 1 || b.Messages[0].Role != "user" || b.Messages[0].Content[0]["text"] != "Capital of France?" {
		t.Errorf("messages %+v, want one user text", b.Messages)
	}
	if b.InferenceConfig["maxTokens"] != float64(50) || b.InferenceConfig["temperature"] != 0.5 {
		t.Errorf("inferenceConfig %v, want maxTokens 50, temperature 0.5", b.InferenceConfig)
	}
}

func TestRouterStream(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(bedrocktest.Reply{Text: "It is sunny in Paris today.", Usage: bedrocktest.Usage{Input: 20, Output: 7}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:         "chat",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatalf("the accumulator refused chunk %d", chunks)
		}
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "It is sunny in Paris today." {
		t.Errorf("got %q", got)
	}
	if acc.Choices[0].FinishReason != "stop" || acc.Usage.PromptTokens != 20 || acc.Usage.CompletionTokens != 7 || acc.Model != "claude-sonnet" {
		t.Errorf("got finish %q usage %+v model %q", acc.Choices[0].FinishReason, acc.Usage, acc.Model)
	}
	rec := rt.audit.next(t)
	if !rec.Stream || rec.Usage.PromptTokens != 20 || rec.CostUSD != 0.000165 || rec.UsageMissing {
		t.Errorf("audit record %+v, want a metered stream costing 0.000165", rec)
	}
	if r := rt.fake.Last(t); r.Operation != "converse-stream" {
		t.Errorf("operation %q, want converse-stream", r.Operation)
	} else {
		checkNative(t, r)
	}
}

// A stream the client did not ask usage for is still metered: the usage
// chunk is hidden from the client, not lost.
func TestRouterStreamHidesUsage(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(bedrocktest.Reply{Text: "Hi there.", Usage: bedrocktest.Usage{Input: 4, Output: 2}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) == 0 {
			t.Errorf("the client got a usage-only chunk it did not ask for: %s", c.RawJSON())
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if rec := rt.audit.next(t); rec.Usage.PromptTokens != 4 || rec.Usage.CompletionTokens != 2 {
		t.Errorf("audit usage %+v, want 4/2", rec.Usage)
	}
}

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("Current weather for a city"),
	Parameters: shared.FunctionParameters{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
})

func TestRouterToolRoundTrip(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(
		bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris"}`}}},
		bedrocktest.Reply{Text: "It is 21°C in Paris."},
	)
	params := openai.ChatCompletionNewParams{
		Model:    "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
	}
	first, err := rt.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Choices[0].Message
	if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID != "tooluse_1" ||
		msg.ToolCalls[0].Function.Name != "get_weather" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("got finish %q tool calls %+v, want get_weather(Paris)", first.Choices[0].FinishReason, msg.ToolCalls)
	}
	b := checkNative(t, rt.fake.Last(t))
	if tools, _ := b.ToolConfig["tools"].([]any); len(tools) != 1 {
		t.Errorf("toolConfig %v, want the one tool", b.ToolConfig)
	}

	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temp":21}`, msg.ToolCalls[0].ID))
	second, err := rt.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if got := second.Choices[0].Message.Content; got != "It is 21°C in Paris." {
		t.Errorf("final answer %q", got)
	}
	b = checkNative(t, rt.fake.Last(t))
	if len(b.Messages) != 3 || b.Messages[1].Role != "assistant" || b.Messages[2].Role != "user" {
		t.Fatalf("messages %+v, want user, assistant(toolUse), user(toolResult)", b.Messages)
	}
	use, _ := b.Messages[1].Content[0]["toolUse"].(map[string]any)
	result, _ := b.Messages[2].Content[0]["toolResult"].(map[string]any)
	if use["toolUseId"] != "tooluse_1" || use["name"] != "get_weather" || fmt.Sprint(use["input"]) != "map[city:Paris]" {
		t.Errorf("toolUse %v", use)
	}
	if result["toolUseId"] != "tooluse_1" || fmt.Sprint(result["content"]) != "[map[json:map[temp:21]]]" {
		t.Errorf("toolResult %v, want the JSON result for tooluse_1", result)
	}
}

func TestRouterStreamedToolCalls(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{
		{ID: "tooluse_a", Name: "get_weather", Input: `{"city":"Paris"}`},
		{ID: "tooluse_b", Name: "get_weather", Input: `{"city":"Lyon"}`}}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model:    "chat",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris and Lyon?")},
		Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
	})
	var acc openai.ChatCompletionAccumulator
	var finished []string
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatal("the accumulator refused a chunk")
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc.ID+" "+tc.Name+" "+tc.Arguments)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[0].ID != "tooluse_a" || calls[0].Function.Arguments != `{"city":"Paris"}` ||
		calls[1].ID != "tooluse_b" || calls[1].Function.Arguments != `{"city":"Lyon"}` {
		t.Errorf("accumulated tool calls %+v", calls)
	}
	if len(finished) != 2 || finished[0] != `tooluse_a get_weather {"city":"Paris"}` {
		t.Errorf("JustFinishedToolCall saw %q", finished)
	}
	if acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("finish %q, want tool_calls", acc.Choices[0].FinishReason)
	}
}

func TestRouterErrors(t *testing.T) {
	tests := []struct {
		exception string
		fallback  bool
		status    int // for errors that come back to the client
		typ       string
	}{
		{"ThrottlingException", true, 0, ""},
		{"ServiceUnavailableException", true, 0, ""},
		{"InternalServerException", true, 0, ""},
		{"ModelTimeoutException", true, 0, ""},
		{"ValidationException", false, 400, "invalid_request_error"},
		// The model is gone or the router's credentials are refused: another
		// provider may serve, and the client's own key was fine.
		{"ResourceNotFoundException", true, 0, ""},
		{"AccessDeniedException", true, 0, ""},
		// The model failed the request: another may serve it.
		{"ModelErrorException", true, 0, ""},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.exception, streaming), func(t *testing.T) {
				rt := newRouter(t)
				rt.fake.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: tt.exception, Message: "simulated " + tt.exception}})
				params := openai.ChatCompletionNewParams{Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
				var content string
				var resp *http.Response
				var err error
				if streaming {
					stream := rt.client.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
					var acc openai.ChatCompletionAccumulator
					for stream.Next() {
						acc.AddChunk(stream.Current())
					}
					if err = stream.Err(); err == nil {
						content = acc.Choices[0].Message.Content
					}
				} else {
					var got *openai.ChatCompletion
					if got, err = rt.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp)); err == nil {
						content = got.Choices[0].Message.Content
					}
				}
				rec := rt.audit.next(t)
				if tt.fallback {
					if err != nil || content != "Fallback answer." || resp.Header.Get("X-Router-Provider") != "sim" || resp.Header.Get("X-Router-Attempts") != "2" {
						t.Fatalf("got %v %q, want the mock's answer after one failed attempt", err, content)
					}
					if len(rec.Attempts) != 2 || rec.Attempts[0].Provider != "bedrock-us" || rec.Attempts[0].Status != bedrocktest.StatusOf(tt.exception) {
						t.Errorf("audit attempts %+v, want bedrock-us failing with %d first", rec.Attempts, bedrocktest.StatusOf(tt.exception))
					}
					return
				}
				var apiErr *openai.Error
				// The router's words; Bedrock's own travel as the error's
				// Detail, which the gateway decides to show.
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Type != tt.typ ||
					!strings.Contains(apiErr.Message, fmt.Sprintf("(status %d)", tt.status)) {
					t.Fatalf("got %v, want an OpenAI-shaped %d %s in the router's words", err, tt.status, tt.typ)
				}
				if len(rec.Attempts) != 1 || rec.Status != tt.status {
					t.Errorf("audit %+v, want one attempt answered %d", rec, tt.status)
				}
				if n := len(rt.fake.Requests()); n != 1 {
					t.Errorf("Bedrock was called %d times, want once", n)
				}
			})
		}
	}
}

// After the first chunk the answer belongs to Bedrock: an exception then ends
// the stream with an error event, with no fallback.
func TestRouterMidStreamException(t *testing.T) {
	rt := newRouter(t)
	rt.fake.Push(bedrocktest.Reply{Text: "Half an", StreamError: &bedrocktest.Exception{Name: "ModelStreamErrorException", Message: "the model stopped"}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	var text string
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text += c.Choices[0].Delta.Content
		}
	}
	if text != "Half an" {
		t.Errorf("got %q before the error, want %q", text, "Half an")
	}
	// The error event is the router's summary, not Bedrock's text.
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "stream_error") || strings.Contains(err.Error(), "the model stopped") {
		t.Errorf("stream error %v, want the router's stream_error event", err)
	}
	rec := rt.audit.next(t)
	if len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeStreamError || rec.Attempts[0].Status != 424 {
		t.Errorf("audit attempts %+v, want one stream_error (424)", rec.Attempts)
	}
}

func TestRouterEmbeddings(t *testing.T) {
	rt := newRouter(t)
	var resp *http.Response
	got, err := rt.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model:      "titan-embed",
		Input:      openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello world", "good morning"}},
		Dimensions: openai.Int(256),
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || len(got.Data[1].Embedding) != 256 || got.Data[1].Index != 1 || got.Model != "titan-embed" {
		t.Fatalf("got %d vectors (%d dims) model %q", len(got.Data), len(got.Data[0].Embedding), got.Model)
	}
	if want := bedrocktest.Embedding("good morning", 256); float32(got.Data[1].Embedding[0]) != want[0] {
		t.Errorf("vector 1 is not Titan's for its input")
	}
	if got.Usage.PromptTokens != 4 || resp.Header.Get("X-Router-Cost-Usd") != "0.00000008" {
		t.Errorf("usage %+v cost %q, want 4 tokens costing 0.00000008", got.Usage, resp.Header.Get("X-Router-Cost-Usd"))
	}
	for _, r := range rt.fake.Requests() {
		checkSigned(t, r)
	}
}

func checkSigned(t *testing.T, r bedrocktest.Request) {
	t.Helper()
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/bedrock/aws4_request") {
		t.Errorf("Authorization %q is not a SigV4 signature for bedrock", auth)
	}
}
