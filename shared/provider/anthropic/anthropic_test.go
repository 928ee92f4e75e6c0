package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/llm-router/router/shared/engine"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
)

const fakeKey = "sk-ant-fake-0123"

// keys is a KeyResolver that counts lookups.
type keys struct {
	mu    sync.Mutex
	calls int
	err   error
}

func (k *keys) Resolve(_ context.Context, ref string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls++
	if k.err != nil {
		return "", k.err
	}
	if ref != "env:ANTHROPIC_API_KEY" {
		return "", errors.New("unknown reference")
	}
	return fakeKey, nil
}

func (k *keys) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.calls
}

func newProvider(t *testing.T, srv *anthropictest.Server, k *keys, baseSuffix string) *Provider {
	t.Helper()
	p, err := New(&config.Provider{Name: "claude-direct", Type: config.TypeAnthropic, BaseURL: srv.URL + baseSuffix,
		Key: "env:ANTHROPIC_API_KEY", Headers: map[string]string{"anthropic-beta": "test-beta-2025"}},
		llm.Deps{HTTP: &http.Client{}, Keys: k})
	if err != nil {
		t.Fatal(err)
	}
	prov := p.(*Provider)
	prov.now = func() time.Time { return time.Unix(1700000000, 0) }
	return prov
}

func fakeServer(t *testing.T) *anthropictest.Server {
	t.Helper()
	srv := anthropictest.NewServer()
	t.Cleanup(srv.Close)
	srv.SetAPIKey(fakeKey)
	return srv
}

func TestChatAgainstFake(t *testing.T) {
	for _, suffix := range []string{"", "/", "/v1", "/v1/"} {
		t.Run("base_url"+suffix, func(t *testing.T) {
			srv := fakeServer(t)
			k := &keys{}
			p := newProvider(t, srv, k, suffix)
			srv.Enqueue(anthropictest.Reply{Text: "Bonjour",
				Usage: &anthropictest.Usage{InputTokens: 9, OutputTokens: 2, CacheReadInputTokens: 30}})
			req := chatRequest(t, `{"model":"claude","messages":[{"role":"system","content":"French."},{"role":"user","content":"Hello"}]}`, 512)

			resp, err := p.Chat(context.Background(), req)
			if err != nil {
				t.Fatalf("Chat: %v", err)
			}
			want := `{"id":"msg_fake1","object":"chat.completion","created":1700000000,"model":"claude",` +
				`"choices":[{"index":0,"message":{"role":"assistant","content":"Bonjour","refusal":null},"finish_reason":"stop","logprobs":null}],` +
				`"usage":{"prompt_tokens":39,"completion_tokens":2,"total_tokens":41,"prompt_tokens_details":{"cached_tokens":30,"cache_write_tokens":0}}}`
			if !jsonEqual(t, resp.Body, want) {
				t.Errorf("body = %s\nwant %s", resp.Body, want)
			}
			if want := (llm.Usage{PromptTokens: 39, CompletionTokens: 2, CachedTokens: 30}); resp.Usage != want {
				t.Errorf("usage = %+v, want %+v", resp.Usage, want)
			}
			got, _ := srv.Last()
			if got.Path != "/v1/messages" || got.Method != http.MethodPost {
				t.Errorf("request = %s %s, want POST /v1/messages", got.Method, got.Path)
			}
			for h, want := range map[string]string{"x-api-key": fakeKey, "anthropic-version": "2023-06-01",
				"content-type": "application/json", "anthropic-beta": "test-beta-2025", "authorization": ""} {
				if v := got.Header.Get(h); v != want {
					t.Errorf("header %s = %q, want %q", h, v, want)
				}
			}
			if !jsonEqual(t, got.Body, `{"model":"claude-sonnet-4-5","max_tokens":512,"system":"French.","messages":[{"role":"user","content":[{"type":"text","text":"Hello"}]}]}`) {
				t.Errorf("upstream body = %s", got.Body)
			}
			if _, err := p.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if k.count() != 2 {
				t.Errorf("key resolved %d times for 2 requests, want once per request", k.count())
			}
		})
	}
}

func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     anthropictest.Reply
		wantStat  int
		wantKind  llm.Kind
		wantCode  string
		wantRetry time.Duration
	}{
		{"overloaded", anthropictest.Reply{Status: 529}, 529, llm.KindOverloaded, "overloaded_error", 0},
		{"rate limited with retry-after", anthropictest.Reply{Status: 429, RetryAfter: 7}, 429, llm.KindRateLimited, "rate_limit_exceeded", 7 * time.Second},
		{"server error", anthropictest.Reply{Status: 500}, 500, llm.KindUpstream, "api_error", 0},
		{"bad request", anthropictest.Reply{Status: 400, ErrorMessage: "messages.0: bad"}, 400, llm.KindInvalidRequest, "", 0},
		{"billing", anthropictest.Reply{Status: 402}, 402, llm.KindPermission, "insufficient_quota", 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name + "/chat"
			if stream {
				name = tt.name + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				srv := fakeServer(t)
				p := newProvider(t, srv, &keys{}, "")
				srv.Enqueue(tt.reply)
				req := chatRequest(t, `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`, 0)
				var err error
				if stream {
					var st llm.Stream
					st, err = p.Stream(context.Background(), req)
					if st != nil {
						t.Error("Stream returned a stream with its error")
					}
				} else {
					_, err = p.Chat(context.Background(), req)
				}
				e := llm.AsError(err)
				if e == nil {
					t.Fatalf("error = %v, want *llm.Error", err)
				}
				if e.Status != tt.wantStat || e.Kind != tt.wantKind || e.Code != tt.wantCode || e.Provider != "claude-direct" || e.RetryAfter != tt.wantRetry {
					t.Errorf("got status %d kind %v code %q provider %q retry-after %v\nwant status %d kind %v code %q provider claude-direct retry-after %v",
						e.Status, e.Kind, e.Code, e.Provider, e.RetryAfter, tt.wantStat, tt.wantKind, tt.wantCode, tt.wantRetry)
				}
			})
		}
	}
}

func TestStreamAgainstFake(t *testing.T) {
	srv := fakeServer(t)
	p := newProvider(t, srv, &keys{}, "")
	srv.Enqueue(anthropictest.Reply{Text: "It is sunny.", ToolUses: []anthropictest.ToolUse{{ID: "toolu_X", Name: "get_weather", Input: `{"city":"Paris"}`}},
		Usage: &anthropictest.Usage{InputTokens: 50, OutputTokens: 12, CacheCreationInputTokens: 8}})
	req := chatRequest(t, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Weather?"}],`+
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]}`, 0)
	st, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer st.Close()
	var text, args string
	var finish string
	var usage *llm.Usage
	n := 0
	for {
		c, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		n++
		var chunk llm.ChunkResponse
		if err := json.Unmarshal(c.Data, &chunk); err != nil {
			t.Fatalf("chunk %s: %v", c.Data, err)
		}
		if chunk.Model != "claude" || chunk.Object != "chat.completion.chunk" {
			t.Errorf("chunk model %q object %q", chunk.Model, chunk.Object)
		}
		if c.UsageOnly {
			usage = c.Usage
			if len(chunk.Choices) != 0 {
				t.Errorf("usage chunk has choices: %s", c.Data)
			}
			continue
		}
		for _, ch := range chunk.Choices {
			if ch.Delta.Content != nil {
				text += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				args += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				finish = *ch.FinishReason
			}
		}
	}
	if text != "It is sunny." || args != `{"city":"Paris"}` || finish != "tool_calls" {
		t.Errorf("text %q args %q finish %q", text, args, finish)
	}
	if want := (llm.Usage{PromptTokens: 58, CompletionTokens: 12, CacheWriteTokens: 8}); usage == nil || *usage != want {
		t.Errorf("usage = %+v, want %+v", usage, want)
	}
	got, _ := srv.Last()
	if m := got.JSON(); m["stream"] != true {
		t.Errorf("upstream stream = %v, want true", m["stream"])
	}
	if a := got.Header.Get("Accept"); a != "text/event-stream" {
		t.Errorf("Accept = %q", a)
	}
}

func TestInStreamError(t *testing.T) {
	srv := fakeServer(t)
	p := newProvider(t, srv, &keys{}, "")
	srv.Enqueue(anthropictest.Reply{Text: "Once upon a time", StreamError: "overloaded_error"})
	st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Story"}]}`, 0))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer st.Close()
	var last error
	for range 10 {
		if _, last = st.Next(); last != nil {
			break
		}
	}
	e := llm.AsError(last)
	if e == nil || e.Status != 529 || e.Kind != llm.KindOverloaded || e.Provider != "claude-direct" {
		t.Errorf("error = %#v, want 529 overloaded from claude-direct", last)
	}
}

func TestTransportAndKeyFailures(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		srv := anthropictest.NewServer()
		srv.Close()
		p := newProvider(t, srv, &keys{}, "")
		_, err := p.Chat(context.Background(), chatRequest(t, `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`, 0))
		if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable || !engine.FallsBack(e) {
			t.Errorf("error = %v, want a retryable unavailable error", err)
		}
	})
	t.Run("key not loadable", func(t *testing.T) {
		srv := fakeServer(t)
		p := newProvider(t, srv, &keys{err: errors.New("secret store down")}, "")
		_, err := p.Chat(context.Background(), chatRequest(t, `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`, 0))
		if e := llm.AsError(err); e == nil || e.Code != "provider_key_unavailable" {
			t.Errorf("error = %v, want provider_key_unavailable", err)
		}
		if n := len(srv.Requests()); n != 0 {
			t.Errorf("%d requests reached the upstream without a key", n)
		}
	})
	t.Run("slow first byte ends with the context", func(t *testing.T) {
		srv := fakeServer(t)
		p := newProvider(t, srv, &keys{}, "")
		srv.Enqueue(anthropictest.Reply{Delay: time.Minute})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Stream(ctx, chatRequest(t, `{"model":"claude","stream":true,"messages":[{"role":"user","content":"Hi"}]}`, 0))
		if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want unavailable wrapping the deadline", err)
		}
	})
}

// TestFirstByteTrace checks the request carries the caller's context: the
// gateway measures the first byte with an httptrace in it.
func TestFirstByteTrace(t *testing.T) {
	srv := fakeServer(t)
	p := newProvider(t, srv, &keys{}, "")
	got := make(chan struct{}, 1)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotFirstResponseByte: func() {
		select {
		case got <- struct{}{}:
		default:
		}
	}})
	if _, err := p.Chat(ctx, chatRequest(t, `{"model":"claude","messages":[{"role":"user","content":"Hi"}]}`, 0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-got:
	default:
		t.Error("GotFirstResponseByte was not called: the request did not carry the context")
	}
}

func TestProbe(t *testing.T) {
	srv := fakeServer(t)
	p := newProvider(t, srv, &keys{}, "")
	if err := p.Probe(context.Background(), "claude-sonnet-4-5"); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	got, _ := srv.Last()
	if got.Method != http.MethodGet || got.Path != "/v1/models" || got.Header.Get("x-api-key") != fakeKey ||
		got.Header.Get("anthropic-version") != APIVersion {
		t.Errorf("probe request = %s %s with key %t", got.Method, got.Path, got.Header.Get("x-api-key") == fakeKey)
	}
	srv.SetAPIKey("sk-ant-rotated")
	err := p.Probe(context.Background(), "claude-sonnet-4-5")
	if e := llm.AsError(err); e == nil || e.Status != 401 || e.Kind != llm.KindAuth {
		t.Errorf("probe with a refused key = %v, want 401 auth", err)
	}
}
