package openaitest

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

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

// A stream spaced by Gap, or ended early by End, is still OpenAI's wire
// format as far as the SDK can tell: the spaced one completes, and each early
// end reaches the caller the way it would from a real upstream.
func TestGapAndEndThroughSDK(t *testing.T) {
	s := NewServer("fake", func(r Received) Reply {
		switch r.Model {
		case "slow":
			return Reply{Text: "one two three", Gap: 5 * time.Millisecond}
		case "queued":
			return Reply{Text: "late", KeepAlive: ": keep-alive", Gap: 5 * time.Millisecond}
		case "hang":
			return Reply{Text: "one two three", End: EndHang, EndAfter: 1}
		case "cut":
			return Reply{Text: "one two three", End: EndCut, EndAfter: 0}
		}
		return Reply{Text: "one two three", End: EndError, EndAfter: 2, Status: http.StatusBadGateway, ErrMessage: "upstream died"}
	})
	defer s.Close()
	client := openai.NewClient(option.WithBaseURL(s.BaseURL()), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}

	got, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "queued", Messages: msgs})
	if err != nil || got.Choices[0].Message.Content != "late" {
		t.Errorf("plain answer after blank lines and a gap: %v, %+v", err, got)
	}

	tests := []struct {
		model    string
		wantText string
		wantErr  bool
	}{
		{model: "slow", wantText: "one two three"},
		{model: "cut", wantText: "", wantErr: true},
		{model: "error", wantText: "one two ", wantErr: true},
		{model: "hang", wantText: "one ", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: tt.model, Messages: msgs})
			var text string
			for stream.Next() {
				for _, c := range stream.Current().Choices {
					text += c.Delta.Content
				}
				if tt.model == "hang" && text == tt.wantText {
					// The fake now holds the stream until the client leaves.
					cancel()
				}
			}
			if text != tt.wantText || (stream.Err() != nil) != tt.wantErr {
				t.Errorf("text %q err %v; want %q, error %v", text, stream.Err(), tt.wantText, tt.wantErr)
			}
		})
	}
}
