package openaitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// The new reply options still speak a wire format the official SDK parses,
// and carry what they promise.
func TestReplyOptionsThroughSDK(t *testing.T) {
	s := NewServer("fake", func(r Received) Reply {
		switch r.Model {
		case "deepseek":
			return Reply{Text: "Paris.", Reasoning: "France's capital.", CacheHitTokens: true, KeepAlive: ": keep-alive",
				Usage: Usage{Prompt: 100, Completion: 10, Cached: 64}}
		case "groq":
			return Reply{Text: "fast", XGroqUsage: true, Usage: Usage{Prompt: 12, Completion: 3}}
		case "mistral":
			return Reply{ToolCall: "get_weather", ToolArgs: `{"city":"Paris"}`, ToolCallID: "D681PevKs", UsageInLastChunk: true,
				Usage: Usage{Prompt: 20, Completion: 9}}
		}
		return Reply{Text: "partial answer", Status: 502, InBand: true, ErrMessage: "Provider returned error", KeepAlive: ": OPENROUTER PROCESSING"}
	})
	defer s.Close()
	client := openai.NewClient(option.WithBaseURL(s.BaseURL()), option.WithAPIKey("sk-test"), option.WithMaxRetries(0))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}
	withUsage := openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}

	t.Run("deepseek answer", func(t *testing.T) {
		got, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "deepseek", Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if rc := got.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw(); rc != `"France's capital."` {
			t.Errorf("reasoning_content = %s", rc)
		}
		var usage map[string]any
		_ = json.Unmarshal([]byte(got.Usage.RawJSON()), &usage)
		if usage["prompt_cache_hit_tokens"] != 64.0 || usage["prompt_cache_miss_tokens"] != 36.0 || usage["prompt_tokens_details"] != nil {
			t.Errorf("usage = %s, want DeepSeek's cache fields only", got.Usage.RawJSON())
		}
	})
	t.Run("deepseek stream with keep-alive comments", func(t *testing.T) {
		resp, err := http.Post(s.BaseURL()+"/chat/completions", "application/json",
			strings.NewReader(`{"model":"deepseek","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := bytes.Count(raw, []byte(": keep-alive\n\n")); n < 3 {
			t.Errorf("%d keep-alive comments, want one before every event", n)
		}
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "deepseek", Messages: msgs, StreamOptions: withUsage})
		var acc openai.ChatCompletionAccumulator
		var reasoning strings.Builder
		for stream.Next() {
			c := stream.Current()
			acc.AddChunk(c)
			if len(c.Choices) > 0 {
				var s string
				_ = json.Unmarshal([]byte(c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"].Raw()), &s)
				reasoning.WriteString(s)
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if acc.Choices[0].Message.Content != "Paris." || reasoning.String() != "France's capital." || acc.Usage.TotalTokens != 110 {
			t.Errorf("content %q reasoning %q usage %d", acc.Choices[0].Message.Content, reasoning.String(), acc.Usage.TotalTokens)
		}
	})
	t.Run("groq usage under x_groq", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "groq", Messages: msgs, StreamOptions: withUsage})
		var xGroq string
		chunks := 0
		for stream.Next() {
			c := stream.Current()
			chunks++
			if c.JSON.Usage.Valid() {
				t.Errorf("chunk %d has an OpenAI usage: %s", chunks, c.RawJSON())
			}
			if f, ok := c.JSON.ExtraFields["x_groq"]; ok {
				xGroq = f.Raw()
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		var x struct {
			Usage struct {
				Total int `json:"total_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(xGroq), &x); err != nil || x.Usage.Total != 15 {
			t.Errorf("x_groq = %s, want usage with 15 tokens", xGroq)
		}
	})
	t.Run("mistral usage in the last chunk", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "mistral", Messages: msgs})
		var acc openai.ChatCompletionAccumulator
		var last openai.ChatCompletionChunk
		for stream.Next() {
			last = stream.Current()
			acc.AddChunk(last)
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if len(last.Choices) != 1 || last.Choices[0].FinishReason != "tool_calls" || last.Usage.TotalTokens != 29 {
			t.Errorf("last chunk = %s, want the finish chunk with usage", last.RawJSON())
		}
		if tc := acc.Choices[0].Message.ToolCalls; len(tc) != 1 || tc[0].ID != "D681PevKs" {
			t.Errorf("tool calls = %+v", tc)
		}
	})
	t.Run("openrouter error in a 200", func(t *testing.T) {
		resp, err := http.Post(s.BaseURL()+"/chat/completions", "application/json",
			strings.NewReader(`{"model":"openrouter","messages":[{"role":"user","content":"hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || body.Error.Code != 502 || body.Error.Message != "Provider returned error" {
			t.Errorf("status %d, error %+v", resp.StatusCode, body.Error)
		}
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "openrouter", Messages: msgs})
		for stream.Next() {
		}
		if err := stream.Err(); err == nil || !strings.Contains(err.Error(), "Provider returned error") {
			t.Errorf("stream err = %v, want the in-band error", err)
		}
	})
}

// The strict wrappers refuse what the real APIs refuse, with their bodies,
// and accept what they accept.
func TestStrictDialects(t *testing.T) {
	tests := []struct {
		name       string
		wrap       func(func(Received) Reply) func(Received) Reply
		body       string
		wantStatus int    // 0: accepted
		wantInBody string // a fragment of the error body
	}{
		{"mistral accepts its own fields", Mistral,
			`{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"random_seed":1,"max_tokens":5,"safe_prompt":true}`, 0, ""},
		{"mistral refuses stream_options", Mistral,
			`{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"u"}]}`, 422, `"loc":["body","stream_options"]`},
		{"mistral refuses max_completion_tokens", Mistral,
			`{"model":"m","max_completion_tokens":5,"messages":[{"role":"user","content":"u"}]}`, 422, `"msg":"Extra inputs are not permitted"`},
		{"mistral refuses a name on a user message", Mistral,
			`{"model":"m","messages":[{"role":"user","content":"u","name":"al"}]}`, 422, `"loc":["body","messages",0,"user","name"]`},
		{"mistral refuses reasoning_content", Mistral,
			`{"model":"m","messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","reasoning_content":"r"},{"role":"user","content":"u"}]}`, 422, `"reasoning_content"`},
		{"mistral refuses the developer role", Mistral,
			`{"model":"m","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u"}]}`, 422, `union_tag_invalid`},
		{"mistral refuses another provider's tool call id", Mistral,
			`{"model":"m","messages":[{"role":"user","content":"u"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_0fypS1hVX","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_0fypS1hVX","content":"r"}]}`,
			400, `"message":"Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9."`},
		{"mistral accepts its own tool call id", Mistral,
			`{"model":"m","messages":[{"role":"user","content":"u"},{"role":"assistant","content":null,"tool_calls":[{"id":"D681PevKs","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"D681PevKs","content":"r"}]}`, 0, ""},
		{"mistral refuses an unknown reasoning effort", Mistral,
			`{"model":"m","reasoning_effort":"medium","messages":[{"role":"user","content":"u"}]}`, 422, `"loc":["body","reasoning_effort"]`},
		{"groq refuses logprobs", Groq,
			`{"model":"g","logprobs":true,"messages":[{"role":"user","content":"u"}]}`, 400, `property 'logprobs' is unsupported`},
		{"groq refuses n above 1", Groq,
			`{"model":"g","n":2,"messages":[{"role":"user","content":"u"}]}`, 400, `'n' : number must be at most 1`},
		{"groq refuses a message name", Groq,
			`{"model":"g","messages":[{"role":"user","content":"u","name":"al"}]}`, 400, `property 'name' is unsupported`},
		{"groq refuses reasoning_content", Groq,
			`{"model":"g","messages":[{"role":"user","content":"u"},{"role":"assistant","content":"a","reasoning_content":"r"}]}`, 400, `for 'role:assistant'`},
		{"groq accepts OpenAI's other fields", Groq,
			`{"model":"g","n":1,"seed":3,"max_completion_tokens":9,"stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"developer","content":"d"},{"role":"user","content":"u"}]}`, 0, ""},
		{"deepseek refuses the developer role", DeepSeek,
			`{"model":"d","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u"}]}`, 422, "unknown variant `developer`"},
		{"deepseek refuses a tool call turn without its reasoning", DeepSeek,
			`{"model":"d","messages":[{"role":"user","content":"u"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"r"}]}`,
			400, "must be passed back to the API"},
		{"deepseek accepts the reasoning back", DeepSeek,
			`{"model":"d","messages":[{"role":"user","content":"u"},{"role":"assistant","content":null,"reasoning_content":"think","tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"r"}]}`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewServer("strict", tt.wrap(nil))
			defer s.Close()
			resp, err := http.Post(s.BaseURL()+"/chat/completions", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantStatus := tt.wantStatus
			if wantStatus == 0 {
				wantStatus = http.StatusOK
			}
			if resp.StatusCode != wantStatus || !bytes.Contains(body, []byte(tt.wantInBody)) {
				t.Errorf("got %d %s, want %d with %s", resp.StatusCode, body, wantStatus, tt.wantInBody)
			}
		})
	}
}
