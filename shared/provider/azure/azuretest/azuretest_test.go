package azuretest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/azure"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/provider/azure/azuretest"
)

// The official openai-go client with its azure options is the judge of the
// fake's fidelity: what it sends is what Azure expects, and what it parses
// from the fake it would parse from Azure.

const key = "azure-test-key-0001"

func azureClient(s *azuretest.Server, version string) *openai.Client {
	c := openai.NewClient(azure.WithEndpoint(s.URL, version), azure.WithAPIKey(key), azure.WithUnsafeAllowHTTP(),
		option.WithMaxRetries(0))
	return &c
}

func TestChat(t *testing.T) {
	s := azuretest.New(t, key, "gpt4o-prod")
	s.Push(azuretest.Reply{Text: "Bonjour.", Usage: azuretest.Usage{Prompt: 11, Completion: 3, Cached: 4}})
	got, err := azureClient(s, "2024-10-21").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt4o-prod", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content != "Bonjour." || got.Usage.PromptTokens != 11 || got.Usage.PromptTokensDetails.CachedTokens != 4 {
		t.Errorf("got %q usage %+v", got.Choices[0].Message.Content, got.Usage)
	}
	if _, ok := got.JSON.ExtraFields["prompt_filter_results"]; !ok {
		t.Error("no prompt_filter_results in the answer: Azure always sends them")
	}
	r := s.Last(t)
	if r.Path != "/openai/deployments/gpt4o-prod/chat/completions" || r.APIVersion != "2024-10-21" || r.Deployment != "gpt4o-prod" {
		t.Errorf("SDK called %s ?api-version=%s, deployment %q", r.Path, r.APIVersion, r.Deployment)
	}
	if r.Header.Get("Api-Key") != key || r.Header.Get("Authorization") != "" {
		t.Errorf("got api-key %q Authorization %q, want the key in api-key only", r.Header.Get("Api-Key"), r.Header.Get("Authorization"))
	}
}

func TestStream(t *testing.T) {
	s := azuretest.New(t, key)
	s.Push(azuretest.Reply{Text: "It is sunny in Paris.", Usage: azuretest.Usage{Prompt: 9, Completion: 6}})
	stream := azureClient(s, "2024-10-21").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather?")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	first := true
	for stream.Next() {
		c := stream.Current()
		if first {
			if len(c.Choices) != 0 || c.ID != "" {
				t.Errorf("first chunk %s, want Azure's prompt_filter_results chunk", c.RawJSON())
			}
			first = false
		}
		acc.AddChunk(c)
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.Choices[0].Message.Content != "It is sunny in Paris." || acc.Usage.CompletionTokens != 6 || acc.Choices[0].FinishReason != "stop" {
		t.Errorf("got %q usage %+v finish %q", acc.Choices[0].Message.Content, acc.Usage, acc.Choices[0].FinishReason)
	}
}

func TestToolCalls(t *testing.T) {
	s := azuretest.New(t, key)
	calls := []azuretest.ToolCall{{ID: "call_1", Name: "get_weather", Arguments: `{"city":"Paris"}`}}
	s.Push(azuretest.Reply{ToolCalls: calls}, azuretest.Reply{ToolCalls: calls})
	params := openai.ChatCompletionNewParams{Model: "gpt4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather?")}}
	got, err := azureClient(s, "2024-10-21").Chat.Completions.New(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	if tc := got.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != `{"city":"Paris"}` || got.Choices[0].FinishReason != "tool_calls" {
		t.Errorf("got %+v", got.Choices[0])
	}
	stream := azureClient(s, "2024-10-21").Chat.Completions.NewStreaming(context.Background(), params)
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if tc := acc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].ID != "call_1" || tc[0].Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("streamed tool calls %+v", tc)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		version    string
		key        string
		reply      *azuretest.Reply
		streamOpts bool
		wantStatus int
		wantCode   string
	}{
		{"throttled", "2024-10-21", key, &azuretest.Reply{Error: azuretest.Throttled(6)}, false, 429, "429"},
		{"content filter", "2024-10-21", key, &azuretest.Reply{Error: azuretest.ContentFilter()}, false, 400, "content_filter"},
		{"wrong key", "2024-10-21", "wrong", nil, false, 401, "401"},
		{"unknown deployment", "2024-10-21", key, nil, false, 404, "DeploymentNotFound"},
		{"stream_options on an old api-version", "2024-06-01", key, nil, true, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := azuretest.New(t, key, "gpt4o")
			if tt.reply != nil {
				s.Push(*tt.reply)
			}
			model := "gpt4o"
			if tt.wantCode == "DeploymentNotFound" {
				model = "nope"
			}
			client := openai.NewClient(azure.WithEndpoint(s.URL, tt.version), azure.WithAPIKey(tt.key), azure.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
			params := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}}
			var err error
			if tt.streamOpts {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
				stream := client.Chat.Completions.NewStreaming(context.Background(), params)
				for stream.Next() {
				}
				err = stream.Err()
			} else {
				_, err = client.Chat.Completions.New(context.Background(), params)
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode {
				t.Fatalf("got %v, want status %d code %q", err, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode == "429" && apiErr.Response.Header.Get("Retry-After-Ms") != "6000" {
				t.Errorf("retry-after-ms %q, want 6000", apiErr.Response.Header.Get("Retry-After-Ms"))
			}
			if tt.wantCode == "content_filter" && apiErr.Param != "prompt" {
				t.Errorf("param %q, want prompt", apiErr.Param)
			}
		})
	}
}

func TestStreamError(t *testing.T) {
	s := azuretest.New(t, key)
	s.Push(azuretest.Reply{Text: "Half", StreamError: &azuretest.Error{Code: "server_error", Message: "The server had an error while processing your request."}})
	stream := azureClient(s, "2024-10-21").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	for stream.Next() {
	}
	if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "The server had an error") {
		t.Errorf("got %v, want the in-stream error", err)
	}
}

func TestEmbeddings(t *testing.T) {
	s := azuretest.New(t, key)
	got, err := azureClient(s, "2024-10-21").Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "embed-small", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a b", "c"}}, Dimensions: openai.Int(64)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) != 2 || len(got.Data[0].Embedding) != 64 || got.Usage.PromptTokens != 3 {
		t.Errorf("got %d vectors of %d, usage %+v", len(got.Data), len(got.Data[0].Embedding), got.Usage)
	}
	if r := s.Last(t); r.Path != "/openai/deployments/embed-small/embeddings" {
		t.Errorf("path %s", r.Path)
	}
}

// The v1 surface is OpenAI's API under /openai/v1/, reached with a plain
// OpenAI client; the body's model names the deployment.
func TestV1Surface(t *testing.T) {
	s := azuretest.New(t, key, "gpt4o-prod")
	client := openai.NewClient(option.WithBaseURL(s.URL+"/openai/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
	got, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "gpt4o-prod", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Choices[0].Message.Content == "" {
		t.Error("empty answer")
	}
	if r := s.Last(t); !r.V1 || r.Deployment != "gpt4o-prod" || r.Query.Has("api-version") {
		t.Errorf("got %+v, want v1 with deployment gpt4o-prod and no api-version", r)
	}
	models, err := client.Models.List(context.Background())
	if err != nil || len(models.Data) != 1 {
		t.Errorf("models: %v %+v", err, models)
	}
}

func TestModelsList(t *testing.T) {
	s := azuretest.New(t, key)
	for _, tt := range []struct {
		key  string
		want int
	}{{key, http.StatusOK}, {"wrong", http.StatusUnauthorized}} {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/openai/models?api-version=2024-10-21", nil)
		req.Header.Set("api-key", tt.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("key %q: got %d, want %d", tt.key, resp.StatusCode, tt.want)
		}
	}
}
