package messages

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/llm-router/router/shared/llm"
)

// fakeEngine stands in for the router's engine behind this package: a fixed
// tool call, or fixed text once the conversation holds the tool's result.
// The model "busy" is refused as overloaded; "flaky" fails after its first
// streamed chunk.
type fakeEngine struct {
	mu   sync.Mutex
	seen []*llm.ChatRequest
}

func (f *fakeEngine) answer(c *llm.ChatRequest) (string, []string) {
	if c.Messages[len(c.Messages)-1].Role == "tool" {
		return choice(`{"role":"assistant","content":"It is 21°C in Paris."}`, "stop"),
			[]string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"It is 21°C"}`, ""),
				chunk(`{"content":" in Paris."}`, ""), chunk(`{}`, "stop"), usageChunk}
	}
	return choice(`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"toolu_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`, "tool_calls"),
		[]string{chunk(`{"role":"assistant","content":"Let me check."}`, ""),
			chunk(`{"tool_calls":[{"index":0,"id":"toolu_w1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
			chunk(`{}`, "tool_calls"), usageChunk}
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/v1/messages/count_tokens" {
		c, e := ParseCountTokens(body)
		if e != nil {
			writeError(w, e)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(AppendCount(nil, len(c.Messages)*10))
		return
	}
	req, e := Parse(body)
	if e != nil {
		writeError(w, e)
		return
	}
	if req.Chat.Model == "busy" {
		writeError(w, &llm.Error{Kind: llm.KindOverloaded, Status: 503, Message: "all targets are overloaded"})
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, req.Chat)
	f.mu.Unlock()
	completion, chunks := f.answer(req.Chat)
	if !req.Stream() {
		out, err := Render(nil, req, []byte(chatCompletion(completion)), streamUsage)
		if err != nil {
			writeError(w, &llm.Error{Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	s := NewStream(req)
	for i, c := range chunks {
		out, err := s.Chunk(nil, []byte(c))
		if err != nil {
			_, _ = w.Write(s.Fail(nil, &llm.Error{Message: "bad chunk"}))
			return
		}
		_, _ = w.Write(out)
		if req.Chat.Model == "flaky" && i == 1 {
			_, _ = w.Write(s.Fail(nil, &llm.Error{Kind: llm.KindOverloaded, Status: 529, Message: "Overloaded"}))
			return
		}
	}
	_, _ = w.Write(s.Finish(nil, nil))
}

func writeError(w http.ResponseWriter, e *llm.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(Status(e))
	_, _ = w.Write(AppendError(nil, e))
}

func sdkClient(t *testing.T) (anthropic.Client, *fakeEngine) {
	eng := &fakeEngine{}
	srv := httptest.NewServer(eng)
	t.Cleanup(srv.Close)
	return anthropic.NewClient(option.WithBaseURL(srv.URL), option.WithAPIKey("test"), option.WithMaxRetries(0)), eng
}

var weatherTool = anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{Name: "get_weather", Description: anthropic.String("Current weather"),
	InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"city": map[string]any{"type": "string"}}, Required: []string{"city"}}}}

// TestSDKToolLoop drives the translation with anthropic-sdk-go: a tool call,
// then the answer once the tool's result is sent back with the previous
// message as the SDK turns it into a parameter.
func TestSDKToolLoop(t *testing.T) {
	client, eng := sdkClient(t)
	ctx := context.Background()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 1024,
		System:   []anthropic.TextBlockParam{{Text: "Be terse."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
		Tools:    []anthropic.ToolUnionParam{weatherTool}, Metadata: anthropic.MetadataParam{UserID: anthropic.String("u-1")}}
	msg, err := client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "tool_use" || len(msg.Content) != 2 || msg.Content[1].Type != "tool_use" {
		t.Fatalf("first answer: %s", msg.RawJSON())
	}
	use := msg.Content[1].AsToolUse()
	var input struct{ City string }
	if err := json.Unmarshal(use.Input, &input); err != nil || input.City != "Paris" || use.ID != "toolu_w1" || use.Name != "get_weather" {
		t.Errorf("tool_use %+v input %+v (%v)", use, input, err)
	}
	if msg.Usage.InputTokens != 276 || msg.Usage.CacheReadInputTokens != 1024 || msg.Usage.OutputTokens != 40 {
		t.Errorf("usage %+v", msg.Usage)
	}

	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, `{"temp":21}`, false)))
	msg, err = client.Messages.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "end_turn" || msg.Content[0].Text != "It is 21°C in Paris." {
		t.Errorf("second answer: %s", msg.RawJSON())
	}
	last := eng.seen[len(eng.seen)-1]
	roles := ""
	for _, m := range last.Messages {
		roles += m.Role + " "
	}
	if roles != "system user assistant tool " || last.Messages[2].ToolCalls[0].Function.Arguments != `{"city":"Paris"}` ||
		last.Messages[2].Content.Text != "Let me check." || last.Messages[3].ToolCallID != "toolu_w1" || last.User != "u-1" ||
		*last.MaxCompletionTokens != 1024 {
		t.Errorf("the engine saw %q: %+v", roles, last)
	}
}

// TestSDKStreaming runs the loop with NewStreaming and the SDK's own
// accumulation.
func TestSDKStreaming(t *testing.T) {
	client, _ := sdkClient(t)
	ctx := context.Background()
	params := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 1024,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))},
		Tools:    []anthropic.ToolUnionParam{weatherTool}}
	stream := client.Messages.NewStreaming(ctx, params)
	var msg anthropic.Message
	for stream.Next() {
		if err := msg.Accumulate(stream.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if msg.StopReason != "tool_use" || len(msg.Content) != 2 || msg.Content[0].Text != "Let me check." ||
		string(msg.Content[1].Input) != `{"city":"Paris"}` || msg.Usage.OutputTokens != 40 || msg.Usage.InputTokens != 276 {
		t.Fatalf("accumulated %s", msg.RawJSON())
	}

	params.Messages = append(params.Messages, msg.ToParam(),
		anthropic.NewUserMessage(anthropic.NewToolResultBlock(msg.Content[1].ID, `{"temp":21}`, false)))
	stream = client.Messages.NewStreaming(ctx, params)
	text := ""
	for stream.Next() {
		ev := stream.Current()
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" {
			text += ev.Delta.Text
		}
	}
	if err := stream.Err(); err != nil || text != "It is 21°C in Paris." {
		t.Errorf("streamed %q (%v)", text, err)
	}
}

// TestSDKErrors: refusals and failures reach the SDK as its own errors.
func TestSDKErrors(t *testing.T) {
	client, _ := sdkClient(t)
	ctx := context.Background()
	user := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hi"))}

	_, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "claude", MaxTokens: 100, Messages: user,
		Tools: []anthropic.ToolUnionParam{{OfWebSearchTool20250305: &anthropic.WebSearchTool20250305Param{}}}})
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Type() != "invalid_request_error" {
		t.Errorf("server tool: %v", err)
	}

	_, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "busy", MaxTokens: 100, Messages: user})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 529 || apiErr.Type() != "overloaded_error" {
		t.Errorf("overloaded: %v", err)
	}

	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "flaky", MaxTokens: 100, Messages: user})
	n := 0
	for stream.Next() {
		n++
	}
	err = stream.Err()
	if err == nil || n == 0 {
		t.Fatalf("after %d events: %v, want the error event", n, err)
	}
	if !errors.As(err, &apiErr) || apiErr.Type() != "overloaded_error" {
		t.Errorf("stream error %v, want an overloaded_error", err)
	}

	count, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "claude", Messages: user,
		System: anthropic.MessageCountTokensParamsSystemUnion{OfString: anthropic.String("s")}})
	if err != nil || count.InputTokens != 20 {
		t.Errorf("count_tokens = %+v, %v", count, err)
	}
}
