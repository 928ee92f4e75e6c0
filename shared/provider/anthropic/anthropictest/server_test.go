package anthropictest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
)

// The fake is faithful when the official SDK, which is written against the
// real API, parses everything it says.

const testKey = "sk-ant-test-fidelity"

func newClient(t *testing.T) (*anthropictest.Server, sdk.Client) {
	t.Helper()
	srv := anthropictest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetAPIKey(testKey)
	// No retries: a scripted error must reach the test as it was sent.
	c := sdk.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey(testKey), option.WithMaxRetries(0))
	return srv, c
}

func userParams(text string) sdk.MessageNewParams {
	return sdk.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 256,
		Messages: []sdk.MessageParam{sdk.NewUserMessage(sdk.NewTextBlock(text))}}
}

func TestSDKNonStreaming(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{Text: "Paris is the capital.",
		Usage: &anthropictest.Usage{InputTokens: 12, OutputTokens: 6, CacheCreationInputTokens: 3, CacheReadInputTokens: 40}})

	msg, err := c.Messages.New(context.Background(), userParams("Capital of France?"))
	if err != nil {
		t.Fatalf("Messages.New: %v", err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Type != "text" || msg.Content[0].Text != "Paris is the capital." {
		t.Errorf("content = %+v, want one text block", msg.Content)
	}
	if got, want := msg.StopReason, sdk.StopReasonEndTurn; got != want {
		t.Errorf("stop_reason = %q, want %q", got, want)
	}
	if got, want := string(msg.Model), "claude-sonnet-4-5"; got != want {
		t.Errorf("model = %q, want %q", got, want)
	}
	u := msg.Usage
	if u.InputTokens != 12 || u.OutputTokens != 6 || u.CacheCreationInputTokens != 3 || u.CacheReadInputTokens != 40 {
		t.Errorf("usage = %+v, want 12/6/3/40", u)
	}
	if !strings.Contains(msg.RawJSON(), `"stop_details"`) {
		t.Errorf("stop_details missing from the answer: the fake should send fields real answers carry")
	}

	req, ok := srv.Last()
	if !ok {
		t.Fatal("the server recorded no request")
	}
	if got := req.Header.Get("anthropic-version"); got != "2023-06-01" {
		t.Errorf("recorded anthropic-version = %q, want 2023-06-01", got)
	}
	if got := req.Header.Get("x-api-key"); got != testKey {
		t.Errorf("recorded x-api-key = %q, want the client's key", got)
	}
	if got := req.JSON()["model"]; got != "claude-sonnet-4-5" {
		t.Errorf("recorded model = %v", got)
	}
}

func TestSDKStreamingText(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{Text: "one two three four",
		Usage: &anthropictest.Usage{InputTokens: 20, OutputTokens: 4, CacheReadInputTokens: 7}})

	stream := c.Messages.NewStreaming(context.Background(), userParams("Count."))
	defer stream.Close()
	var msg sdk.Message
	var events []string
	for stream.Next() {
		ev := stream.Current()
		events = append(events, ev.Type)
		if err := msg.Accumulate(ev); err != nil {
			t.Fatalf("Accumulate(%s): %v", ev.Type, err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	wantEvents := []string{"message_start", "content_block_start", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if !slices.Equal(events, wantEvents) {
		t.Errorf("events = %v, want %v (ping is skipped by the SDK)", events, wantEvents)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "one two three four" {
		t.Errorf("accumulated content = %+v", msg.Content)
	}
	if msg.StopReason != sdk.StopReasonEndTurn {
		t.Errorf("stop_reason = %q, want end_turn", msg.StopReason)
	}
	if u := msg.Usage; u.InputTokens != 20 || u.OutputTokens != 4 || u.CacheReadInputTokens != 7 {
		t.Errorf("usage = %+v, want input 20, output 4, cache read 7", u)
	}
	req, _ := srv.Last()
	if got := req.JSON()["stream"]; got != true {
		t.Errorf("recorded stream = %v, want true", got)
	}
}

func TestSDKStreamingToolUse(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{Text: "Let me look.", Thinking: "The user wants weather.",
		ToolUses: []anthropictest.ToolUse{{ID: "toolu_01A", Name: "get_weather", Input: `{"city":"Paris","unit":"°C"}`}}})

	p := userParams("Weather in Paris?")
	p.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "get_weather",
		InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}}}}}
	stream := c.Messages.NewStreaming(context.Background(), p)
	defer stream.Close()
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatalf("Accumulate: %v", err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if len(msg.Content) != 3 {
		t.Fatalf("content = %d blocks, want thinking, text, tool_use", len(msg.Content))
	}
	if b := msg.Content[0]; b.Type != "thinking" || b.Thinking != "The user wants weather." || b.Signature == "" {
		t.Errorf("thinking block = %+v", b)
	}
	tu := msg.Content[2]
	if tu.Type != "tool_use" || tu.ID != "toolu_01A" || tu.Name != "get_weather" {
		t.Fatalf("tool block = %+v", tu)
	}
	var input map[string]string
	if err := json.Unmarshal(tu.Input, &input); err != nil || input["city"] != "Paris" || input["unit"] != "°C" {
		t.Errorf("tool input = %s (%v), want the scripted object", tu.Input, err)
	}
	if msg.StopReason != sdk.StopReasonToolUse {
		t.Errorf("stop_reason = %q, want tool_use", msg.StopReason)
	}
}

func TestSDKErrors(t *testing.T) {
	tests := []struct {
		name       string
		reply      anthropictest.Reply
		wantStatus int
		wantType   string
	}{
		{"overloaded", anthropictest.Reply{Status: 529}, 529, "overloaded_error"},
		{"rate limited", anthropictest.Reply{Status: 429, RetryAfter: 7}, 429, "rate_limit_error"},
		{"billing", anthropictest.Reply{Status: 402}, 402, "billing_error"},
		{"server error", anthropictest.Reply{Status: 500}, 500, "api_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newClient(t)
			srv.Enqueue(tt.reply)
			_, err := c.Messages.New(context.Background(), userParams("hi"))
			var apiErr *sdk.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("error = %v, want *anthropic.Error", err)
			}
			if apiErr.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.wantStatus)
			}
			if got := string(apiErr.Type()); got != tt.wantType {
				t.Errorf("type = %q, want %q", got, tt.wantType)
			}
			if apiErr.RequestID == "" {
				t.Error("no request-id header on the error")
			}
			if tt.reply.RetryAfter > 0 {
				if got := apiErr.Response.Header.Get("retry-after"); got != "7" {
					t.Errorf("retry-after = %q, want 7", got)
				}
			}
		})
	}
}

func TestSDKInStreamError(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{Text: "partial answer", StreamError: "overloaded_error"})
	stream := c.Messages.NewStreaming(context.Background(), userParams("hi"))
	defer stream.Close()
	var text string
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "content_block_delta" {
			text += ev.Delta.Text
		}
	}
	var apiErr *sdk.Error
	if !errors.As(stream.Err(), &apiErr) {
		t.Fatalf("stream error = %v, want *anthropic.Error", stream.Err())
	}
	if got := string(apiErr.Type()); got != "overloaded_error" {
		t.Errorf("type = %q, want overloaded_error", got)
	}
	if apiErr.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200: an in-stream error arrives on an accepted answer", apiErr.StatusCode)
	}
	if text != "partial " {
		t.Errorf("text before the error = %q, want the first word", text)
	}
}

// An error event right after message_start, before any content block, is
// what an overloaded model sends once it has accepted a stream: the SDK
// sees the start and then the error.
func TestSDKErrorBeforeContent(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{StreamError: "overloaded_error"})
	stream := c.Messages.NewStreaming(context.Background(), userParams("hi"))
	defer stream.Close()
	var events []string
	for stream.Next() {
		events = append(events, stream.Current().Type)
	}
	var apiErr *sdk.Error
	if !errors.As(stream.Err(), &apiErr) || string(apiErr.Type()) != "overloaded_error" {
		t.Fatalf("stream error = %v, want an overloaded_error", stream.Err())
	}
	if !slices.Equal(events, []string{"message_start"}) {
		t.Errorf("events = %v, want only message_start before the error", events)
	}
}

// A stream spaced by Gap is the same stream, delivered slowly.
func TestSDKStreamingWithGap(t *testing.T) {
	srv, c := newClient(t)
	srv.Enqueue(anthropictest.Reply{Text: "one two three", Gap: 5 * time.Millisecond})
	stream := c.Messages.NewStreaming(context.Background(), userParams("Count."))
	defer stream.Close()
	var msg sdk.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil || len(msg.Content) != 1 || msg.Content[0].Text != "one two three" {
		t.Errorf("content %+v, err %v; want one two three", msg.Content, err)
	}
}

// TestValidation checks that the fake refuses what the real API refuses, so
// adapter tests catch requests Anthropic would reject.
func TestValidation(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		status  int
		typ     string
	}{
		{"valid", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`, nil, 200, ""},
		{"no key", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"x-api-key": ""}, 401, "authentication_error"},
		{"wrong key", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"x-api-key": "sk-wrong"}, 401, "authentication_error"},
		{"no version", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"anthropic-version": ""}, 400, "invalid_request_error"},
		{"openai field", `{"model":"m","max_tokens":5,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"no max_tokens", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"system role", `{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"temperature over 1", `{"model":"m","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"string tool_choice", `{"model":"m","max_tokens":5,"tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}`, nil, 400, "invalid_request_error"},
		{"empty text", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, nil, 400, "invalid_request_error"},
		{"tool result after text", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},` +
			`{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"t1"}]}]}`, nil, 400, "invalid_request_error"},
		{"tool use unanswered", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},` +
			`{"role":"user","content":"go on"}]}`, nil, 400, "invalid_request_error"},
		{"prefill ending in whitespace", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"Sure, "}]}`,
			nil, 400, "invalid_request_error"},
		{"tool round trip", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},` +
			`{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"42"},{"type":"text","text":"thanks"}]}]}`, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := anthropictest.NewServer()
			defer srv.Close()
			srv.SetAPIKey(testKey)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("x-api-key", testKey)
			req.Header.Set("anthropic-version", "2023-06-01")
			req.Header.Set("content-type", "application/json")
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if resp.Header.Get("request-id") == "" {
				t.Error("no request-id header")
			}
			if tt.typ == "" {
				return
			}
			var body struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if body.Type != "error" || body.Error.Type != tt.typ || body.Error.Message == "" || body.RequestID == "" {
				t.Errorf("error body = %+v, want type error / %s with a message and request_id", body, tt.typ)
			}
		})
	}
}
