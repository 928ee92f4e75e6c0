package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/llm-router/router/shared/engine"
	"io"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/azure"
	"github.com/llm-router/router/shared/provider/azure/azuretest"
	"github.com/llm-router/router/shared/secret"
)

const (
	key        = "azure-test-key-0001"
	deployment = "gpt4o-prod"
)

func keys() *secret.Resolver {
	return &secret.Resolver{Env: func(name string) (string, bool) {
		if name == "AZURE_OPENAI_KEY" {
			return key, true
		}
		return "", false
	}}
}

// newAdapter returns an azure adapter on a fresh fake, configured by p (its
// name, type, base_url and key are filled in).
func newAdapter(t *testing.T, p config.Provider) (llm.Provider, *azuretest.Server) {
	t.Helper()
	fake := azuretest.New(t, key, deployment, "embed-small")
	p.Name, p.Type, p.BaseURL = "aoai", config.TypeAzure, fake.URL
	if p.Key == "" {
		p.Key = "env:AZURE_OPENAI_KEY"
	}
	a, err := azure.New(&p, llm.Deps{HTTP: &http.Client{}, Keys: keys()})
	if err != nil {
		t.Fatal(err)
	}
	return a, fake
}

func chatRequest(t *testing.T, body string) *llm.Request {
	t.Helper()
	c, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &llm.Request{Chat: c, Body: []byte(body), Model: "gpt-4o", Upstream: deployment}
}

func decode(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return v
}

func TestRequest(t *testing.T) {
	tests := []struct {
		name       string
		provider   config.Provider
		body       string
		stream     bool
		wantPath   string
		wantQuery  string // api-version, "" for none
		wantBody   string // what Azure receives
		wantHeader map[string]string
	}{
		{"chat, default api-version, body relayed with the deployment as model",
			config.Provider{},
			`{"model":"gpt-4o","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}],"seed":7,"logit_bias":{"50256":-100},"data_sources":[{"type":"azure_search"}],"user":"u1"}`, false,
			"/openai/deployments/gpt4o-prod/chat/completions", azure.DefaultAPIVersion,
			`{"model":"gpt4o-prod","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"}],"seed":7,"logit_bias":{"50256":-100},"data_sources":[{"type":"azure_search"}],"user":"u1"}`,
			map[string]string{"Api-Key": key, "Authorization": "", "Content-Type": "application/json"}},
		{"configured headers are sent",
			config.Provider{APIVersion: "2025-04-01-preview", Headers: map[string]string{"X-Ms-Client-Request-Id": "abc"}},
			`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`, false,
			"/openai/deployments/gpt4o-prod/chat/completions", "2025-04-01-preview",
			`{"model":"gpt4o-prod","messages":[{"role":"user","content":"Hi"}]}`,
			map[string]string{"X-Ms-Client-Request-Id": "abc"}},
		{"v1 surface: no api-version, the model names the deployment",
			config.Provider{APIVersion: "v1"},
			`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`, false,
			"/openai/v1/chat/completions", "",
			`{"model":"gpt4o-prod","messages":[{"role":"user","content":"Hi"}]}`, map[string]string{"Api-Key": key}},
		{"stream asks for usage",
			config.Provider{},
			`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`, true,
			"/openai/deployments/gpt4o-prod/chat/completions", azure.DefaultAPIVersion,
			`{"model":"gpt4o-prod","stream":true,"messages":[{"role":"user","content":"Hi"}],"stream_options":{"include_usage":true}}`,
			map[string]string{"Accept": "text/event-stream"}},
		{"stream keeps the client's other stream options",
			config.Provider{APIVersion: "v1"},
			`{"model":"gpt-4o","stream":true,"stream_options":{"include_obfuscation":false},"messages":[{"role":"user","content":"Hi"}]}`, true,
			"/openai/v1/chat/completions", "",
			`{"model":"gpt4o-prod","stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},"messages":[{"role":"user","content":"Hi"}]}`, nil},
		{"the router's extensions removed, OpenAI's prompt_cache_key and reasoning_effort kept",
			config.Provider{APIVersion: "v1"},
			`{"model":"gpt-4o","messages":[{"role":"system","content":[{"type":"text","text":"Rules.","cache_control":{"type":"ephemeral"}}]},` +
				`{"role":"assistant","content":"x","thinking_blocks":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"Hi","cache_control":{"type":"ephemeral"}}],` +
				`"tools":[{"type":"function","function":{"name":"f"},"cache_control":{"type":"ephemeral"}}],"include_reasoning":true,"prompt_cache_key":"k","reasoning_effort":"low"}`, false,
			"/openai/v1/chat/completions", "",
			`{"model":"gpt4o-prod","messages":[{"role":"system","content":[{"type":"text","text":"Rules."}]},{"role":"assistant","content":"x"},{"role":"user","content":"Hi"}],` +
				`"tools":[{"type":"function","function":{"name":"f"}}],"prompt_cache_key":"k","reasoning_effort":"low"}`, nil},
		{"stream on an api-version without stream_options",
			config.Provider{APIVersion: "2024-06-01"},
			`{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`, true,
			"/openai/deployments/gpt4o-prod/chat/completions", "2024-06-01",
			`{"model":"gpt4o-prod","stream":true,"messages":[{"role":"user","content":"Hi"}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t, tt.provider)
			req := chatRequest(t, tt.body)
			if tt.stream {
				st, err := p.Stream(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				for {
					if _, err := st.Next(); err != nil {
						if !errors.Is(err, io.EOF) {
							t.Fatal(err)
						}
						break
					}
				}
				st.Close()
			} else if _, err := p.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			r := fake.Last(t)
			if r.Path != tt.wantPath || r.Query.Get("api-version") != tt.wantQuery || (tt.wantQuery == "" && r.Query.Has("api-version")) {
				t.Errorf("got %s ?%s, want %s api-version=%s", r.Path, r.Query.Encode(), tt.wantPath, tt.wantQuery)
			}
			if got, want := decode(t, r.Body), decode(t, []byte(tt.wantBody)); !reflect.DeepEqual(got, want) {
				t.Errorf("Azure received\n%s\nwant\n%s", r.Body, tt.wantBody)
			}
			for k, want := range tt.wantHeader {
				if got := r.Header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// A route's prompt_cache_key (set in the parsed request by its auto policy)
// reaches Azure; the client's own wins. A deployment named after a model
// that refuses reasoning_effort is not sent one.
func TestRequestRouteCacheKey(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`, "route"},
		{`{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"prompt_cache_key":"mine"}`, "mine"},
	} {
		p, fake := newAdapter(t, config.Provider{})
		req := chatRequest(t, tt.body)
		chat := *req.Chat
		if chat.PromptCacheKey == "" {
			chat.PromptCacheKey = "route"
		}
		req.Chat = &chat
		if _, err := p.Chat(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if got := decode(t, fake.Last(t).Body)["prompt_cache_key"]; got != tt.want {
			t.Errorf("prompt_cache_key = %v, want %q", got, tt.want)
		}
	}
	fake := azuretest.New(t, key, "gpt-4o-mini")
	p, err := azure.New(&config.Provider{Name: "aoai", Type: config.TypeAzure, BaseURL: fake.URL, Key: "env:AZURE_OPENAI_KEY"},
		llm.Deps{HTTP: &http.Client{}, Keys: keys()})
	if err != nil {
		t.Fatal(err)
	}
	req := chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}],"reasoning_effort":"low"}`)
	req.Upstream = "gpt-4o-mini"
	if _, err := p.Chat(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, sent := decode(t, fake.Last(t).Body)["reasoning_effort"]; sent {
		t.Error("reasoning_effort sent to a gpt-4o-mini deployment")
	}
}

// The body is relayed, not re-encoded: bytes the router does not rewrite
// reach Azure as the client wrote them.
func TestRequestBytesPreserved(t *testing.T) {
	p, fake := newAdapter(t, config.Provider{})
	body := `{"model":"gpt4o-prod","messages":[{"role":"user","content":"x\u00e9 \"q\""}],"temperature":0.70}`
	if _, err := p.Chat(context.Background(), &llm.Request{Chat: mustParse(t, body), Body: []byte(body), Model: "gpt-4o", Upstream: deployment}); err != nil {
		t.Fatal(err)
	}
	if got := string(fake.Last(t).Body); got != body {
		t.Errorf("Azure received %s, want the client's bytes %s", got, body)
	}
}

func mustParse(t *testing.T, body string) *llm.ChatRequest {
	t.Helper()
	c, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		name       string
		reply      azuretest.Reply
		wantFinish string
		wantUsage  llm.Usage
	}{
		{"text", azuretest.Reply{Text: "Bonjour.", Usage: azuretest.Usage{Prompt: 100, Completion: 5, Cached: 40}}, "stop",
			llm.Usage{PromptTokens: 100, CompletionTokens: 5, CachedTokens: 40}},
		{"content filter finish passes through", azuretest.Reply{Text: "I cannot", FinishReason: "content_filter"}, "content_filter", llm.Usage{}},
		{"tool calls", azuretest.Reply{ToolCalls: []azuretest.ToolCall{{ID: "call_1", Name: "f", Arguments: "{}"}}}, "tool_calls", llm.Usage{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t, config.Provider{})
			fake.Push(tt.reply)
			resp, err := p.Chat(context.Background(), chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Model   string `json:"model"`
				Choices []struct {
					FinishReason string         `json:"finish_reason"`
					Filter       map[string]any `json:"content_filter_results"`
				} `json:"choices"`
				PromptFilter []any `json:"prompt_filter_results"`
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Model != "gpt-4o" || got.Choices[0].FinishReason != tt.wantFinish {
				t.Errorf("got model %q finish %q, want gpt-4o and %q", got.Model, got.Choices[0].FinishReason, tt.wantFinish)
			}
			if len(got.PromptFilter) == 0 || got.Choices[0].Filter == nil {
				t.Error("Azure's content-filter annotations were dropped")
			}
			if tt.wantUsage != (llm.Usage{}) && resp.Usage != tt.wantUsage {
				t.Errorf("usage %+v, want %+v", resp.Usage, tt.wantUsage)
			}
		})
	}
}

func TestStream(t *testing.T) {
	tests := []struct {
		name       string
		reply      azuretest.Reply
		wantText   string
		wantFinish string
	}{
		{"text", azuretest.Reply{Text: "It is sunny.", Usage: azuretest.Usage{Prompt: 9, Completion: 3}}, "It is sunny.", "stop"},
		{"content filter finish", azuretest.Reply{Text: "Well", FinishReason: "content_filter", Usage: azuretest.Usage{Prompt: 9, Completion: 1}}, "Well", "content_filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t, config.Provider{})
			fake.Push(tt.reply)
			st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var chunks []llm.ChunkResponse
			var usage *llm.Usage
			for {
				c, err := st.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				var cr llm.ChunkResponse
				if err := json.Unmarshal(c.Data, &cr); err != nil {
					t.Fatal(err)
				}
				if len(cr.Choices) == 0 && !c.UsageOnly {
					t.Errorf("a chunk with no choice and no usage reached the router: %s", c.Data)
				}
				if c.UsageOnly {
					usage = c.Usage
				}
				if cr.Model != "gpt-4o" {
					t.Errorf("chunk model %q, want gpt-4o: %s", cr.Model, c.Data)
				}
				chunks = append(chunks, cr)
			}
			if len(chunks) == 0 || len(chunks[0].Choices) == 0 || chunks[0].Choices[0].Delta.Role != "assistant" {
				t.Fatalf("first chunk %+v, want the role chunk (Azure's prompt_filter_results chunk dropped)", chunks)
			}
			var text, finish string
			for _, c := range chunks {
				for _, ch := range c.Choices {
					if ch.Delta.Content != nil {
						text += *ch.Delta.Content
					}
					if ch.FinishReason != nil {
						finish = *ch.FinishReason
					}
				}
			}
			if text != tt.wantText || finish != tt.wantFinish {
				t.Errorf("got %q finish %q, want %q %q", text, finish, tt.wantText, tt.wantFinish)
			}
			if want := (llm.Usage{PromptTokens: tt.reply.Usage.Prompt, CompletionTokens: tt.reply.Usage.Completion}); usage == nil || *usage != want {
				t.Errorf("usage chunk %+v, want %+v", usage, want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name        string
		reply       azuretest.Reply
		upstream    string
		wantStatus  int
		wantCode    string
		wantType    string
		wantParam   string
		wantRetry   time.Duration
		wantFallbak bool
	}{
		{"content filter is a 400", azuretest.Reply{Error: azuretest.ContentFilter()}, deployment, 400, "content_filter", "invalid_request_error", "prompt", 0, false},
		{"throttled", azuretest.Reply{Error: azuretest.Throttled(6)}, deployment, 429, "429", "rate_limit_error", "", 6 * time.Second, true},
		{"server error", azuretest.Reply{Error: &azuretest.Error{Status: 500, Code: "InternalServerError", Message: "The server had an error."}}, deployment, 500, "InternalServerError", "api_error", "", 0, true},
		{"unavailable", azuretest.Reply{Error: &azuretest.Error{Status: 503, Code: "ServiceUnavailable", Message: "The service is temporarily unable to process your request."}}, deployment, 503, "ServiceUnavailable", "api_error", "", 0, true},
		{"unknown deployment", azuretest.Reply{}, "nope", 404, "DeploymentNotFound", "invalid_request_error", "", 0, true},
	}
	for _, tt := range tests {
		for _, streaming := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tt.name, streaming), func(t *testing.T) {
				p, fake := newAdapter(t, config.Provider{})
				fake.Push(tt.reply)
				req := chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)
				req.Upstream = tt.upstream
				var err error
				if streaming {
					_, err = p.Stream(context.Background(), req)
				} else {
					_, err = p.Chat(context.Background(), req)
				}
				e := llm.AsError(err)
				if e == nil || e.Status != tt.wantStatus || e.Code != tt.wantCode || e.Type != tt.wantType || e.Param != tt.wantParam || e.Provider != "aoai" {
					t.Fatalf("got %#v, want %d %s %s param %q", err, tt.wantStatus, tt.wantCode, tt.wantType, tt.wantParam)
				}
				if e.RetryAfter != tt.wantRetry || engine.FallsBack(e) != tt.wantFallbak {
					t.Errorf("RetryAfter %v Retryable %v, want %v %v", e.RetryAfter, engine.FallsBack(e), tt.wantRetry, tt.wantFallbak)
				}
			})
		}
	}
	t.Run("error mid-stream", func(t *testing.T) {
		p, fake := newAdapter(t, config.Provider{})
		fake.Push(azuretest.Reply{Text: "Half", StreamError: &azuretest.Error{Code: "server_error", Message: "The server had an error while processing your request."}})
		st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"Hi"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		for {
			if _, err = st.Next(); err != nil {
				break
			}
		}
		if e := llm.AsError(err); e == nil || e.Detail != "The server had an error while processing your request." || e.Provider != "aoai" ||
			e.Message != llm.UpstreamMessage(502, llm.KindUpstream) {
			t.Errorf("got %#v, want Azure's in-stream error as Detail, with the router's message", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		fake := azuretest.New(t, "another-key")
		p, err := azure.New(&config.Provider{Name: "aoai", Type: "azure", BaseURL: fake.URL, Key: "env:AZURE_OPENAI_KEY"}, llm.Deps{Keys: keys()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
		if e := llm.AsError(err); e == nil || e.Status != 401 || e.Kind != llm.KindAuth {
			t.Errorf("got %#v, want a 401", err)
		}
	})
	t.Run("key not resolvable", func(t *testing.T) {
		p, fake := newAdapter(t, config.Provider{Key: "env:MISSING_KEY"})
		_, err := p.Chat(context.Background(), chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
		if e := llm.AsError(err); e == nil || e.Code != "provider_key_unavailable" {
			t.Errorf("got %#v, want provider_key_unavailable", err)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("%d requests reached Azure without a key", n)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		fake := azuretest.New(t, key)
		fake.Close()
		p, err := azure.New(&config.Provider{Name: "aoai", Type: "azure", BaseURL: fake.URL, Key: "env:AZURE_OPENAI_KEY"}, llm.Deps{Keys: keys()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`))
		if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable {
			t.Errorf("got %#v, want KindUnavailable", err)
		}
	})
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name      string
		provider  config.Provider
		wantPath  string
		wantQuery string
		wantBody  string // "" for a GET
	}{
		{"default: list models", config.Provider{}, "/openai/models", azure.DefaultAPIVersion, ""},
		{"v1: list models", config.Provider{APIVersion: "v1"}, "/openai/v1/models", "", ""},
		{"chat: one token at the deployment", config.Provider{Probe: "chat"}, "/openai/deployments/gpt4o-prod/chat/completions", azure.DefaultAPIVersion,
			`{"model":"gpt4o-prod","messages":[{"role":"user","content":"ping"}],"max_completion_tokens":1}`},
		{"chat on an old api-version uses max_tokens", config.Provider{Probe: "chat", APIVersion: "2024-06-01"}, "/openai/deployments/gpt4o-prod/chat/completions", "2024-06-01",
			`{"model":"gpt4o-prod","messages":[{"role":"user","content":"ping"}],"max_tokens":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t, tt.provider)
			if err := p.(llm.Prober).Probe(context.Background(), deployment); err != nil {
				t.Fatal(err)
			}
			r := fake.Last(t)
			if r.Path != tt.wantPath || r.Query.Get("api-version") != tt.wantQuery || r.Header.Get("Api-Key") != key {
				t.Errorf("probe sent %s %s?%s api-key %q", r.Method, r.Path, r.Query.Encode(), r.Header.Get("Api-Key"))
			}
			if tt.wantBody != "" && !reflect.DeepEqual(decode(t, r.Body), decode(t, []byte(tt.wantBody))) {
				t.Errorf("probe body %s, want %s", r.Body, tt.wantBody)
			}
		})
	}
	t.Run("a refused key fails the probe", func(t *testing.T) {
		fake := azuretest.New(t, "another-key")
		p, _ := azure.New(&config.Provider{Name: "aoai", Type: "azure", BaseURL: fake.URL, Key: "env:AZURE_OPENAI_KEY"}, llm.Deps{Keys: keys()})
		if e := llm.AsError(p.(llm.Prober).Probe(context.Background(), deployment)); e == nil || e.Status != 401 {
			t.Errorf("got %#v, want 401", e)
		}
	})
}

func TestEmbed(t *testing.T) {
	for _, version := range []string{"", "v1"} {
		t.Run("api-version "+version, func(t *testing.T) {
			p, fake := newAdapter(t, config.Provider{APIVersion: version})
			body := `{"model":"embed","input":["a b","c"],"dimensions":8}`
			resp, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{Body: []byte(body), Input: []string{"a b", "c"},
				Model: "embed", Upstream: "embed-small", Dimensions: 8})
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Model string `json:"model"`
				Data  []struct {
					Embedding []float32 `json:"embedding"`
				} `json:"data"`
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatal(err)
			}
			if got.Model != "embed" || len(got.Data) != 2 || len(got.Data[0].Embedding) != 8 || resp.Usage.PromptTokens != 3 {
				t.Errorf("got model %q %d vectors, usage %+v", got.Model, len(got.Data), resp.Usage)
			}
			r := fake.Last(t)
			if r.Deployment != "embed-small" || decode(t, r.Body)["model"] != "embed-small" || r.Operation != "embeddings" {
				t.Errorf("Azure got %s deployment %q body %s", r.Path, r.Deployment, r.Body)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		p       config.Provider
		wantErr string
	}{
		{"no key", config.Provider{BaseURL: "https://r.openai.azure.com"}, "key is required"},
		{"bad api-version", config.Provider{BaseURL: "https://r.openai.azure.com", Key: "env:K", APIVersion: "latest"}, "api_version"},
		{"base with /openai", config.Provider{BaseURL: "https://r.openai.azure.com/openai/", Key: "env:K"}, ""},
		{"preview version", config.Provider{BaseURL: "https://r.openai.azure.com", Key: "env:K", APIVersion: "2025-04-01-preview"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.Name, tt.p.Type = "aoai", "azure"
			_, err := azure.New(&tt.p, llm.Deps{})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	// A base URL given with /openai reaches the same paths.
	fake := azuretest.New(t, key, deployment)
	p, err := azure.New(&config.Provider{Name: "aoai", Type: "azure", BaseURL: fake.URL + "/openai/", Key: "env:AZURE_OPENAI_KEY"}, llm.Deps{Keys: keys()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Chat(context.Background(), chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)); err != nil {
		t.Fatal(err)
	}
	if got := fake.Last(t).Path; got != "/openai/deployments/gpt4o-prod/chat/completions" {
		t.Errorf("path %s", got)
	}
}

// The gateway times the first byte through an httptrace in the context.
func TestFirstByteTrace(t *testing.T) {
	p, _ := newAdapter(t, config.Provider{})
	got := false
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotFirstResponseByte: func() { got = true }})
	if _, err := p.Chat(ctx, chatRequest(t, `{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}`)); err != nil || !got {
		t.Errorf("err %v, first byte seen %v; want the trace called", err, got)
	}
}
