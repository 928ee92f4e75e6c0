package azure_test

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
	"github.com/llm-router/router/shared/provider/azure"
	"github.com/llm-router/router/shared/provider/azure/azuretest"
	"github.com/llm-router/router/shared/provider/mock"
)

// These tests run the whole router in front of the fake Azure resource, with
// the official OpenAI client as the caller: what a user of the router sees.

const routerConfig = `
providers:
  - name: aoai
    type: azure
    base_url: %s
    api_version: %s
    key: env:AZURE_OPENAI_KEY
  - name: sim
    type: mock
    mock: {reply: "Fallback answer."}
models:
  - id: gpt-4o
    provider: aoai
    upstream: gpt4o-prod
    price: {input: 2.5, output: 10, cached_input: 1.25}
  - id: backup
    provider: sim
    price: {input: 1, output: 1}
routes:
  - name: chat
    targets: [{model: gpt-4o}, {model: backup}]
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
	fake   *azuretest.Server
	audit  records
}

func newRouter(t *testing.T, apiVersion string) *router {
	t.Helper()
	fake := azuretest.New(t, key, deployment)
	cfg, err := config.Parse(fmt.Appendf(nil, routerConfig, fake.URL, apiVersion))
	if err != nil {
		t.Fatal(err)
	}
	recs := make(records, 16)
	g := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: map[string]gateway.ProviderFactory{"azure": azure.New, "mock": mock.New},
		Deps:      llm.Deps{HTTP: &http.Client{}, Keys: keys()},
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

// checkNative asserts a request reached Azure with its own credentials and
// URL and the router's credentials nowhere.
func checkNative(t *testing.T, r azuretest.Request, v1 bool) map[string]any {
	t.Helper()
	if r.Header.Get("Api-Key") != key {
		t.Errorf("api-key %q, want the resource's key", r.Header.Get("Api-Key"))
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		t.Errorf("Authorization %q reached Azure; the router's client key must not leak", auth)
	}
	if r.V1 != v1 || r.Deployment != deployment {
		t.Errorf("got v1=%v deployment %q, want v1=%v %q", r.V1, r.Deployment, v1, deployment)
	}
	body := decode(t, r.Body)
	if body["model"] != deployment {
		t.Errorf("body model %v, want the deployment", body["model"])
	}
	return body
}

func TestRouterChat(t *testing.T) {
	for _, version := range []string{"2024-10-21", "v1"} {
		t.Run(version, func(t *testing.T) {
			rt := newRouter(t, version)
			rt.fake.Push(azuretest.Reply{Text: "Paris.", Usage: azuretest.Usage{Prompt: 1000, Completion: 100, Cached: 400}})
			var resp *http.Response
			got, err := rt.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    "chat",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in one word."), openai.UserMessage("Capital of France?")},
			}, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatal(err)
			}
			if got.Choices[0].Message.Content != "Paris." || got.Model != "gpt-4o" || got.Usage.PromptTokens != 1000 {
				t.Errorf("got %q model %q usage %+v", got.Choices[0].Message.Content, got.Model, got.Usage)
			}
			// (1000-400)*2.5 + 400*1.25 + 100*10 = 3000 micro-USD
			for k, want := range map[string]string{"X-Router-Provider": "aoai", "X-Router-Model": "gpt-4o", "X-Router-Cost-Usd": "0.003"} {
				if v := resp.Header.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			if rec := rt.audit.next(t); rec.Usage.CachedTokens != 400 || rec.CostUSD != 0.003 || rec.UpstreamModel != deployment {
				t.Errorf("audit %+v", rec)
			}
			body := checkNative(t, rt.fake.Last(t), version == "v1")
			msgs, _ := body["messages"].([]any)
			if first, _ := msgs[0].(map[string]any); len(msgs) != 2 || first["role"] != "system" || first["content"] != "Answer in one word." {
				t.Errorf("messages %v, want the system message relayed", msgs)
			}
		})
	}
}

func TestRouterStream(t *testing.T) {
	rt := newRouter(t, "2024-10-21")
	rt.fake.Push(azuretest.Reply{Text: "It is sunny in Paris.", Usage: azuretest.Usage{Prompt: 20, Completion: 6}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	n := 0
	for stream.Next() {
		c := stream.Current()
		if n == 0 && (len(c.Choices) == 0 || c.Choices[0].Delta.Role != "assistant" || c.ID == "") {
			t.Errorf("first chunk %s, want the role chunk: Azure's prompt_filter_results chunk must not reach clients", c.RawJSON())
		}
		if !acc.AddChunk(c) {
			t.Fatalf("the accumulator refused chunk %d: %s", n, c.RawJSON())
		}
		n++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "It is sunny in Paris." || acc.Usage.PromptTokens != 20 || acc.Model != "gpt-4o" {
		t.Errorf("got %q usage %+v model %q", acc.Choices[0].Message.Content, acc.Usage, acc.Model)
	}
	if rec := rt.audit.next(t); !rec.Stream || rec.Usage.CompletionTokens != 6 || rec.UsageMissing || rec.CostUSD != 0.00011 {
		t.Errorf("audit %+v, want a metered stream costing 0.00011", rec)
	}
	body := checkNative(t, rt.fake.Last(t), false)
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] != true {
		t.Errorf("stream_options %v", body["stream_options"])
	}
}

// On an api-version that refuses stream_options the router does not ask
// for usage: the stream works and is audited with its usage missing.
func TestRouterStreamOldAPIVersion(t *testing.T) {
	rt := newRouter(t, "2024-06-01")
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content == "" {
		t.Error("empty answer")
	}
	if rec := rt.audit.next(t); !rec.UsageMissing || rec.Provider != "aoai" {
		t.Errorf("audit %+v, want served by aoai with usage missing", rec)
	}
	if body := checkNative(t, rt.fake.Last(t), false); body["stream_options"] != nil {
		t.Errorf("stream_options %v sent to an api-version that refuses it", body["stream_options"])
	}
}

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:       "get_weather",
	Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
})

func TestRouterToolRoundTrip(t *testing.T) {
	rt := newRouter(t, "2024-10-21")
	rt.fake.Push(
		azuretest.Reply{ToolCalls: []azuretest.ToolCall{{ID: "call_abc", Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		azuretest.Reply{Text: "It is 21°C in Paris."},
	)
	params := openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool}}
	first, err := rt.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	msg := first.Choices[0].Message
	if len(msg.ToolCalls) != 1 || msg.ToolCalls[0].ID != "call_abc" || msg.ToolCalls[0].Function.Arguments != `{"city":"Paris"}` {
		t.Fatalf("tool calls %+v", msg.ToolCalls)
	}
	params.Messages = append(params.Messages, msg.ToParam(), openai.ToolMessage(`{"temp":21}`, "call_abc"))
	second, err := rt.client.Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if second.Choices[0].Message.Content != "It is 21°C in Paris." {
		t.Errorf("final answer %q", second.Choices[0].Message.Content)
	}
	body := checkNative(t, rt.fake.Last(t), false)
	msgs, _ := body["messages"].([]any)
	tool, _ := msgs[2].(map[string]any)
	if len(msgs) != 3 || tool["role"] != "tool" || tool["tool_call_id"] != "call_abc" || tool["content"] != `{"temp":21}` {
		t.Errorf("messages %v, want the tool result relayed as OpenAI's tool message", msgs)
	}
}

func TestRouterStreamedToolCalls(t *testing.T) {
	rt := newRouter(t, "2024-10-21")
	rt.fake.Push(azuretest.Reply{ToolCalls: []azuretest.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: `{"city":"Paris"}`},
		{ID: "call_b", Name: "get_weather", Arguments: `{"city":"Lyon"}`}}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Paris and Lyon?")},
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool}})
	var acc openai.ChatCompletionAccumulator
	var finished []string
	for stream.Next() {
		if !acc.AddChunk(stream.Current()) {
			t.Fatal("the accumulator refused a chunk")
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc.ID)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	calls := acc.Choices[0].Message.ToolCalls
	if len(calls) != 2 || calls[1].ID != "call_b" || calls[1].Function.Arguments != `{"city":"Lyon"}` || acc.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("tool calls %+v finish %q", calls, acc.Choices[0].FinishReason)
	}
	if len(finished) != 2 {
		t.Errorf("JustFinishedToolCall saw %v, want both calls", finished)
	}
}

func TestRouterErrors(t *testing.T) {
	tests := []struct {
		name     string
		err      *azuretest.Error
		fallback bool
		status   int
		code     string
	}{
		{"throttled", azuretest.Throttled(2), true, 0, ""},
		{"unavailable", &azuretest.Error{Status: 503, Code: "ServiceUnavailable", Message: "The service is temporarily unable to process your request."}, true, 0, ""},
		{"server error", &azuretest.Error{Status: 500, Code: "InternalServerError", Message: "The server had an error."}, true, 0, ""},
		{"content filter", azuretest.ContentFilter(), false, 400, "content_filter"},
		{"bad request", &azuretest.Error{Status: 400, Code: "BadRequest", Message: "Invalid value for 'max_tokens'."}, false, 400, "BadRequest"},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, streaming), func(t *testing.T) {
				rt := newRouter(t, "2024-10-21")
				rt.fake.Push(azuretest.Reply{Error: tt.err})
				params := openai.ChatCompletionNewParams{Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
				var resp *http.Response
				var content string
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
					if err != nil || content != "Fallback answer." || resp.Header.Get("X-Router-Provider") != "sim" {
						t.Fatalf("got %v %q, want the mock's answer", err, content)
					}
					if len(rec.Attempts) != 2 || rec.Attempts[0].Provider != "aoai" || rec.Attempts[0].Status != tt.err.Status {
						t.Errorf("attempts %+v, want aoai failing with %d first", rec.Attempts, tt.err.Status)
					}
					return
				}
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != tt.code || apiErr.Type != "invalid_request_error" {
					t.Fatalf("got %v, want an OpenAI-shaped %d %s", err, tt.status, tt.code)
				}
				// The router's words; Azure's own travel as the error's Detail,
				// which the gateway decides to show.
				if !strings.Contains(apiErr.Message, "the provider rejected the request (status 400)") {
					t.Errorf("message %q, want the router's", apiErr.Message)
				}
				if len(rec.Attempts) != 1 || rec.Status != tt.status {
					t.Errorf("audit %+v, want one attempt answered %d", rec, tt.status)
				}
			})
		}
	}
}

func TestRouterMidStreamError(t *testing.T) {
	rt := newRouter(t, "2024-10-21")
	rt.fake.Push(azuretest.Reply{Text: "Half an", StreamError: &azuretest.Error{Code: "server_error", Message: "The server had an error while processing your request."}})
	stream := rt.client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "chat", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	var text string
	for stream.Next() {
		if c := stream.Current(); len(c.Choices) > 0 {
			text += c.Choices[0].Delta.Content
		}
	}
	// The error event is the router's summary, not Azure's text.
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "stream_error") || strings.Contains(err.Error(), "The server had an error") {
		t.Errorf("stream error %v, want the router's stream_error event", err)
	}
	if text != "Half an" {
		t.Errorf("got %q before the error", text)
	}
	if rec := rt.audit.next(t); len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeStreamError {
		t.Errorf("attempts %+v, want one stream_error", rec.Attempts)
	}
}
