package openaitest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The official SDK is the judge of the fake's fidelity: if it parses what the
// fake sends, the fake speaks OpenAI's wire format.
func TestFakeSpeaksOpenAI(t *testing.T) {
	s := NewServer("fake", func(r Received) Reply {
		if r.Model == "broken" {
			return Reply{Status: http.StatusTooManyRequests, ErrType: "requests", ErrCode: "rate_limit_exceeded", ErrMessage: "Rate limit reached", RetryAfter: "2"}
		}
		if r.Model == "tools" {
			return Reply{ToolCall: "get_weather", ToolArgs: `{"city":"Paris"}`}
		}
		return Reply{Text: "Hi there friend", Usage: Usage{Prompt: 12, Completion: 3, Cached: 4}}
	})
	defer s.Close()
	client := openai.NewClient(option.WithBaseURL(s.BaseURL()), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}

	got, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: msgs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got.Choices[0].Message.Content != "Hi there friend" || got.Usage.PromptTokensDetails.CachedTokens != 4 {
		t.Errorf("completion = %q, cached %d; want the scripted text and 4 cached tokens", got.Choices[0].Message.Content, got.Usage.PromptTokensDetails.CachedTokens)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: msgs,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if acc.Choices[0].Message.Content != "Hi there friend" || acc.Usage.TotalTokens != 15 {
		t.Errorf("stream = %q, usage %d; want the scripted text and 15 tokens", acc.Choices[0].Message.Content, acc.Usage.TotalTokens)
	}

	stream = client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "tools", Messages: msgs})
	acc = openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("tool stream: %v", err)
	}
	if tc := acc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Arguments != `{"city":"Paris"}` {
		t.Errorf("tool calls = %+v", tc)
	}

	_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "broken", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Code != "rate_limit_exceeded" {
		t.Fatalf("error = %v; want a 429 rate_limit_exceeded", err)
	}
}
