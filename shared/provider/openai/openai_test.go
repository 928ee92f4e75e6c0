package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

func newProvider(t *testing.T, base string) llm.Provider {
	t.Helper()
	p, err := New(&config.Provider{Name: "up", Type: "openai", BaseURL: base, Key: "env:UP_KEY",
		Headers: map[string]string{"HTTP-Referer": "https://example.test"}},
		llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-upstream", k == "UP_KEY"
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(t *testing.T, body string, model, upstream string) *llm.Request {
	t.Helper()
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &llm.Request{Chat: chat, Body: []byte(body), Model: model, Upstream: upstream}
}

func TestChatRelaysBodyAndRewritesModel(t *testing.T) {
	s := openaitest.NewServer("up", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "ok", Usage: openaitest.Usage{Prompt: 100, Completion: 20, Cached: 60}}
	})
	defer s.Close()
	p := newProvider(t, s.BaseURL())
	body := `{"model":"fast","messages":[{"role":"user","content":"hi"}],"logit_bias":{"50256":-100},"service_tier":"flex"}`
	resp, err := p.Chat(context.Background(), request(t, body, "fast", "gpt-4o-mini"))
	if err != nil {
		t.Fatal(err)
	}
	got := s.Received()[0]
	if got.Model != "gpt-4o-mini" {
		t.Errorf("upstream model = %q, want gpt-4o-mini", got.Model)
	}
	var sent map[string]any
	_ = json.Unmarshal(got.Body, &sent)
	if sent["service_tier"] != "flex" || sent["logit_bias"] == nil {
		t.Errorf("fields the router does not interpret were not passed through: %s", got.Body)
	}
	if h := got.Header.Get("Authorization"); h != "Bearer sk-upstream" {
		t.Errorf("Authorization = %q", h)
	}
	if h := got.Header.Get("Http-Referer"); h != "https://example.test" {
		t.Errorf("configured header = %q", h)
	}
	var out struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(resp.Body, &out)
	if out.Model != "fast" {
		t.Errorf("answer model = %q, want the router's model id fast", out.Model)
	}
	want := llm.Usage{PromptTokens: 100, CompletionTokens: 20, CachedTokens: 60}
	if resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
}

func TestStreamAsksForUsageAndRewritesModel(t *testing.T) {
	s := openaitest.NewServer("up", nil)
	defer s.Close()
	p := newProvider(t, s.BaseURL())
	st, err := p.Stream(context.Background(), request(t, `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "fast", "gpt-4o"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var usageChunks, chunks int
	var usage llm.Usage
	for {
		c, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		chunks++
		var head struct {
			Model string `json:"model"`
		}
		if err := json.Unmarshal(c.Data, &head); err != nil || head.Model != "fast" {
			t.Errorf("chunk model = %q (%v), want fast: %s", head.Model, err, c.Data)
		}
		if c.UsageOnly {
			usageChunks++
			usage = *c.Usage
		}
	}
	var sent struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(s.Received()[0].Body, &sent)
	if !sent.StreamOptions.IncludeUsage {
		t.Error("the router did not ask the upstream for stream usage")
	}
	if usageChunks != 1 || usage.PromptTokens != 10 || usage.CompletionTokens != 5 {
		t.Errorf("usage chunks = %d, usage %+v", usageChunks, usage)
	}
	if chunks < 4 {
		t.Errorf("only %d chunks", chunks)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantStatus int
		wantType   string
		wantCode   string
		wantDetail string
	}{
		{"openai nested", 429, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			429, "rate_limit_error", "rate_limit_exceeded", "Rate limit reached"},
		{"mistral flat", 400, `{"object":"error","message":"Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9.","type":"invalid_request_error","param":null,"code":null}`,
			400, "invalid_request_error", "", "Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a length of 9."},
		{"openrouter numeric code in a 200", 502, `{"error":{"code":402,"message":"Insufficient credits"}}`,
			402, "invalid_request_error", "402", "Insufficient credits"},
		{"html from a proxy", 503, `<html>Service Unavailable</html>`, 503, "api_error", "", ""},
		{"auth", 401, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`,
			401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided"},
		// Mistral's validation errors carry pydantic details in message; the
		// input (which may quote the prompt) is left out.
		{"mistral 422 detail object", 422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","stream_options","include_usage"],"msg":"Extra inputs are not permitted","input":true,"url":"https://errors.pydantic.dev/2.10/v/extra_forbidden"}]},"type":"invalid_request_error","param":null,"code":null}`,
			422, "invalid_request_error", "", "stream_options.include_usage: Extra inputs are not permitted"},
		{"mistral 422 with message index", 422, `{"object":"error","message":{"detail":[{"type":"extra_forbidden","loc":["body","messages",3,"assistant","reasoning_content"],"msg":"Extra inputs are not permitted","input":"secret prompt text"},{"type":"extra_forbidden","loc":["body","max_completion_tokens"],"msg":"Extra inputs are not permitted","input":32000}]},"type":"invalid_request_error","param":null,"code":null}`,
			422, "invalid_request_error", "", "messages.3.assistant.reasoning_content: Extra inputs are not permitted; max_completion_tokens: Extra inputs are not permitted"},
		{"mistral newer body", 422, `{"object":"Error","detail":[{"type":"extra_forbidden","loc":["body","tools"],"msg":"Extra inputs are not permitted","input":[]}],"message":[{"type":"extra_forbidden","loc":["body","tools"],"msg":"Extra inputs are not permitted","input":[]}],"type":"invalid_request_error","code":3001}`,
			422, "invalid_request_error", "3001", "tools: Extra inputs are not permitted"},
		{"mistral 2024 json in a string", 422, `{"object":"error","message":"{\"detail\":[{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"frequency_penalty\"],\"msg\":\"Extra inputs are not permitted\",\"input\":0.0}]}","type":"internal_error_proxy","param":null,"code":"1000"}`,
			422, "invalid_request_error", "1000", "frequency_penalty: Extra inputs are not permitted"},
		{"vllm flat", 400, `{"object":"error","message":"This model's maximum context length is 4096 tokens.","type":"BadRequestError","param":null,"code":400}`,
			400, "invalid_request_error", "400", "This model's maximum context length is 4096 tokens."},
		{"plain string error", 404, `{"error":"model \"llama3\" not found, try pulling it first"}`,
			404, "invalid_request_error", "", `model "llama3" not found, try pulling it first`},
		{"fastapi detail", 422, `{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}`,
			422, "invalid_request_error", "", "messages: field required"},
		{"deepseek", 400, `{"error":{"message":"The reasoning_content in the thinking mode must be passed back to the API.","type":"invalid_request_error","param":null,"code":"invalid_request_error"}}`,
			400, "invalid_request_error", "invalid_request_error", "The reasoning_content in the thinking mode must be passed back to the API."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseError(tt.status, []byte(tt.body))
			if e.Status != tt.wantStatus || e.Type != tt.wantType || e.Code != tt.wantCode || e.Detail != tt.wantDetail {
				t.Errorf("got status %d type %q code %q detail %q; want %d %q %q %q", e.Status, e.Type, e.Code, e.Detail,
					tt.wantStatus, tt.wantType, tt.wantCode, tt.wantDetail)
			}
			if want := llm.UpstreamMessage(e.Status, e.Kind); e.Message != want {
				t.Errorf("message %q, want the router's %q", e.Message, want)
			}
		})
	}
}

func TestStreamErrorEvent(t *testing.T) {
	body := io.NopCloser(strings.NewReader("data: {\"id\":\"x\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n" +
		": OPENROUTER PROCESSING\n\n" +
		"data: {\"error\":{\"code\":502,\"message\":\"model down\"}}\n\n"))
	st := NewStream("or", body, "m", "")
	if _, err := st.Next(); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	_, err := st.Next()
	e := llm.AsError(err)
	if e == nil || e.Status != 502 || e.Detail != "model down" || e.Provider != "or" {
		t.Fatalf("in-stream error = %v, want a 502 from or", err)
	}
}

func TestStreamTruncated(t *testing.T) {
	st := NewStream("up", io.NopCloser(strings.NewReader("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n")), "m", "")
	if _, err := st.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(); llm.AsError(err) == nil || llm.AsError(err).Code != "stream_truncated" {
		t.Fatalf("err = %v, want stream_truncated", err)
	}
	// A finished stream without [DONE] (some compatible servers) ends cleanly.
	st = NewStream("up", io.NopCloser(strings.NewReader("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\": \"stop\"}]}\n\n")), "m", "")
	if _, err := st.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("err = %v, want EOF", err)
	}
}
