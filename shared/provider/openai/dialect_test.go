package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

func dialectProvider(t *testing.T, base, dialect, key string) *Provider {
	t.Helper()
	p, err := New(&config.Provider{Name: "up", Type: "openai", BaseURL: base, Key: key, Dialect: dialect},
		llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-upstream", k == "UP_KEY"
		}}})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

// fakeFor is a fake as strict as the dialect's API, for the dialects whose
// API refuses what it does not know.
func fakeFor(dialect string, script func(openaitest.Received) openaitest.Reply) *openaitest.Server {
	switch dialect {
	case DialectDeepSeek:
		script = openaitest.DeepSeek(script)
	case DialectMistral:
		script = openaitest.Mistral(script)
	case DialectGroq:
		script = openaitest.Groq(script)
	}
	return openaitest.NewServer(dialect, script)
}

func TestDetectDialect(t *testing.T) {
	tests := []struct{ base, want string }{
		{"https://api.openai.com/v1", DialectOpenAI},
		{"https://api.deepseek.com", DialectDeepSeek},
		{"https://api.deepseek.com/v1", DialectDeepSeek},
		{"https://api.mistral.ai/v1", DialectMistral},
		{"https://dashscope-intl.aliyuncs.com/compatible-mode/v1", DialectQwen},
		{"https://dashscope-us.aliyuncs.com/compatible-mode/v1", DialectQwen},
		{"https://dashscope.aliyuncs.com/compatible-mode/v1", DialectQwen},
		{"https://cn-hongkong.dashscope.aliyuncs.com/compatible-mode/v1", DialectQwen},
		{"https://oss.aliyuncs.com/v1", DialectOpenAI},
		{"https://api.groq.com/openai/v1", DialectGroq},
		{"https://API.GROQ.COM/openai/v1", DialectGroq},
		{"https://api.together.xyz/v1", DialectTogether},
		{"https://api.x.ai/v1", DialectXAI},
		{"https://openrouter.ai/api/v1", DialectOpenRouter},
		{"https://api.fireworks.ai/inference/v1", DialectFireworks},
		{"http://localhost:11434/v1", DialectOllama},
		{"http://gpu-box.internal:11434/v1", DialectOllama},
		{"http://localhost:8000/v1", DialectOpenAI}, // vLLM: only when configured
		{"https://api.deepseek.com.evil.example/v1", DialectOpenAI},
		{"::not a url", DialectOpenAI},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			if got := DetectDialect(tt.base); got != tt.want {
				t.Errorf("DetectDialect(%q) = %q, want %q", tt.base, got, tt.want)
			}
		})
	}
	// A configured dialect wins over the host.
	p := dialectProvider(t, "https://api.deepseek.com", DialectVLLM, "")
	if got := p.Dialect(); got != DialectVLLM {
		t.Errorf("configured dialect = %q, want vllm", got)
	}
	if got := dialectProvider(t, "https://api.mistral.ai/v1", "", "").Dialect(); got != DialectMistral {
		t.Errorf("detected dialect = %q, want mistral", got)
	}
}

// Representative requests. toolHistory holds tool calls made by other
// providers (Anthropic's toolu_…, OpenAI's call_…) and one by Mistral itself.
const (
	plainRequest = `{"model":"fast","messages":[{"role":"developer","content":"Answer in French."},` +
		`{"role":"user","content":"Bonjour?","name":"alice"}],"max_completion_tokens":64,"seed":7,"logprobs":true,` +
		`"top_logprobs":2,"logit_bias":{"50256":-100},"user":"u-1","metadata":{"team":"a"},"store":false,` +
		`"service_tier":"auto","parallel_tool_calls":false,"reasoning_effort":"low","temperature":0.2,"enable_thinking":true}`

	toolHistory = `{"model":"fast","messages":[{"role":"system","content":"You are terse."},` +
		`{"role":"user","content":"Weather in Paris and Rome?"},` +
		`{"role":"assistant","content":null,"refusal":null,"reasoning_content":"Two cities, two calls.","tool_calls":[` +
		`{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
		`{"id":"call_abc123XYZ","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},` +
		`{"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"14C, rain"},` +
		`{"role":"tool","tool_call_id":"call_abc123XYZ","content":"21C, sun"},` +
		`{"role":"assistant","content":"Now Oslo.","reasoning_content":"One more.","tool_calls":[` +
		`{"id":"D681PevKs","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},` +
		`{"role":"tool","tool_call_id":"D681PevKs","content":"3C"},` +
		`{"role":"user","content":"Summarise."}],` +
		`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],` +
		`"tool_choice":"auto"}`

	streamRequest = `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}],"seed":1,"max_tokens":10,"max_completion_tokens":20}`

	streamWithOptions = `{"model":"fast","stream":true,"stream_options":{"include_obfuscation":false},"messages":[{"role":"user","content":"hi"}]}`
)

// The ids Mistral receives for the other providers' ids of toolHistory.
// They are pinned: the same history must give the same ids in every
// release, or Mistral's prompt cache stops matching resent conversations.
const (
	mistralIDToolu = "V1Ae7XqgO"
	mistralIDCall  = "8w3WnGXEt"
)

func TestDialectBodies(t *testing.T) {
	relayDialects := []string{DialectOpenAI, DialectQwen, DialectTogether, DialectFireworks, DialectXAI,
		DialectOpenRouter, DialectOllama, DialectVLLM}
	tests := []struct {
		name   string
		body   string
		stream bool
		// want is the body each dialect sends; a dialect not listed relays
		// (the body is byte for byte what plain openai sends).
		want map[string]string
		// rawStatus is what the strict fake answers the plain OpenAI body,
		// proving it would have failed without the dialect.
		rawStatus map[string]int
	}{
		{
			name: "sampling and unsupported fields", body: plainRequest,
			want: map[string]string{
				// DeepSeek, and Groq and xAI for a model that is not one of
				// their reasoning ones, take no reasoning_effort.
				DialectDeepSeek: `{"model":"up-model","messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Bonjour?","name":"alice"}],"max_tokens":64,"seed":7,"logprobs":true,"top_logprobs":2,"logit_bias":{"50256":-100},"user":"u-1","metadata":{"team":"a"},"store":false,"service_tier":"auto","parallel_tool_calls":false,"temperature":0.2,"enable_thinking":true}`,
				DialectMistral:  `{"model":"up-model","messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Bonjour?"}],"max_tokens":64,"random_seed":7,"parallel_tool_calls":false,"temperature":0.2}`,
				DialectGroq:     `{"model":"up-model","messages":[{"role":"developer","content":"Answer in French."},{"role":"user","content":"Bonjour?"}],"max_completion_tokens":64,"seed":7,"user":"u-1","metadata":{"team":"a"},"store":false,"service_tier":"auto","parallel_tool_calls":false,"temperature":0.2,"enable_thinking":true}`,
				DialectXAI:      `{"model":"up-model","messages":[{"role":"developer","content":"Answer in French."},{"role":"user","content":"Bonjour?","name":"alice"}],"max_completion_tokens":64,"seed":7,"logprobs":true,"top_logprobs":2,"logit_bias":{"50256":-100},"user":"u-1","metadata":{"team":"a"},"store":false,"service_tier":"auto","parallel_tool_calls":false,"temperature":0.2,"enable_thinking":true}`,
				// OpenRouter's own form.
				DialectOpenRouter: `{"reasoning":{"effort":"low"},"model":"up-model","messages":[{"role":"developer","content":"Answer in French."},{"role":"user","content":"Bonjour?","name":"alice"}],"max_completion_tokens":64,"seed":7,"logprobs":true,"top_logprobs":2,"logit_bias":{"50256":-100},"user":"u-1","metadata":{"team":"a"},"store":false,"service_tier":"auto","parallel_tool_calls":false,"temperature":0.2,"enable_thinking":true}`,
			},
			rawStatus: map[string]int{DialectDeepSeek: 422, DialectMistral: 422, DialectGroq: 400},
		},
		{
			name: "tool history from other providers", body: toolHistory,
			want: map[string]string{
				DialectMistral: `{"model":"up-model","messages":[{"role":"system","content":"You are terse."},` +
					`{"role":"user","content":"Weather in Paris and Rome?"},` +
					`{"role":"assistant","content":null,"tool_calls":[` +
					`{"id":"` + mistralIDToolu + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
					`{"id":"` + mistralIDCall + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},` +
					`{"role":"tool","tool_call_id":"` + mistralIDToolu + `","content":"14C, rain"},` +
					`{"role":"tool","tool_call_id":"` + mistralIDCall + `","content":"21C, sun"},` +
					`{"role":"assistant","content":"Now Oslo.","tool_calls":[` +
					`{"id":"D681PevKs","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},` +
					`{"role":"tool","tool_call_id":"D681PevKs","content":"3C"},` +
					`{"role":"user","content":"Summarise."}],` +
					`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],` +
					`"tool_choice":"auto"}`,
				DialectGroq: `{"model":"up-model","messages":[{"role":"system","content":"You are terse."},` +
					`{"role":"user","content":"Weather in Paris and Rome?"},` +
					`{"role":"assistant","content":null,"tool_calls":[` +
					`{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
					`{"id":"call_abc123XYZ","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},` +
					`{"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"14C, rain"},` +
					`{"role":"tool","tool_call_id":"call_abc123XYZ","content":"21C, sun"},` +
					`{"role":"assistant","content":"Now Oslo.","tool_calls":[` +
					`{"id":"D681PevKs","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},` +
					`{"role":"tool","tool_call_id":"D681PevKs","content":"3C"},` +
					`{"role":"user","content":"Summarise."}],` +
					`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],` +
					`"tool_choice":"auto"}`,
				// DeepSeek keeps reasoning_content: it is a relay here.
			},
			rawStatus: map[string]int{DialectMistral: 422, DialectGroq: 400},
		},
		{
			name: "stream", body: streamRequest, stream: true,
			want: map[string]string{
				DialectDeepSeek: `{"model":"up-model","stream":true,"messages":[{"role":"user","content":"hi"}],"seed":1,"max_tokens":20,"stream_options":{"include_usage":true}}`,
				DialectMistral:  `{"model":"up-model","stream":true,"messages":[{"role":"user","content":"hi"}],"random_seed":1,"max_tokens":20}`,
				DialectGroq:     `{"model":"up-model","stream":true,"messages":[{"role":"user","content":"hi"}],"seed":1,"max_tokens":10,"max_completion_tokens":20,"stream_options":{"include_usage":true}}`,
			},
			rawStatus: map[string]int{DialectMistral: 422},
		},
		{
			name: "stream with the client's own options", body: streamWithOptions, stream: true,
			want: map[string]string{
				DialectMistral: `{"model":"up-model","stream":true,"messages":[{"role":"user","content":"hi"}]}`,
				DialectGroq:    `{"model":"up-model","stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`,
			},
			rawStatus: map[string]int{DialectMistral: 422},
		},
	}
	dialects := append([]string{DialectDeepSeek, DialectMistral, DialectGroq}, relayDialects...)
	for _, tt := range tests {
		for _, dialect := range dialects {
			t.Run(tt.name+"/"+dialect, func(t *testing.T) {
				s := fakeFor(dialect, nil)
				defer s.Close()
				req := request(t, tt.body, "fast", "up-model")
				if err := send(dialectProvider(t, s.BaseURL(), dialect, "env:UP_KEY"), req, tt.stream); err != nil {
					t.Fatalf("the %s fake refused what the dialect sent: %v", dialect, err)
				}
				got := s.Received()[0].Body
				want, edited := tt.want[dialect]
				if !edited {
					relay, err := RequestBody(req, tt.stream)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, relay) {
						t.Errorf("sent\n%s\nwant the relayed body\n%s", got, relay)
					}
					return
				}
				if !sameJSON(t, got, []byte(want)) {
					t.Errorf("sent\n%s\nwant\n%s", got, want)
				}
				if status, ok := tt.rawStatus[dialect]; ok {
					err := send(dialectProvider(t, s.BaseURL(), DialectOpenAI, "env:UP_KEY"), req, tt.stream)
					if e := llm.AsError(err); e == nil || e.Status != status {
						t.Errorf("the plain OpenAI body to the %s fake: err = %v, want status %d (the fake is not strict)", dialect, err, status)
					}
				}
			})
		}
	}
}

// send makes one attempt and reads a stream to its end.
func send(p *Provider, req *llm.Request, stream bool) error {
	ctx := context.Background()
	if !stream {
		_, err := p.Chat(ctx, req)
		return err
	}
	st, err := p.Stream(ctx, req)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		if _, err := st.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("not JSON: %v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// The relay dialects, and DeepSeek when nothing needs changing, cost exactly
// what plain OpenAI costs: the same bytes and the same allocations.
func TestRelayPathUnchanged(t *testing.T) {
	for _, dialect := range []string{DialectOpenAI, DialectQwen, DialectOpenRouter, DialectOllama, DialectDeepSeek} {
		for _, stream := range []bool{false, true} {
			t.Run(dialect+"/stream="+strconv.FormatBool(stream), func(t *testing.T) {
				body := toolHistory
				if stream {
					body = streamWithOptions
				}
				req := request(t, body, "fast", "up-model")
				d := newDialect(dialect)
				got, err := d.body(req, stream)
				if err != nil {
					t.Fatal(err)
				}
				want, _ := RequestBody(req, stream)
				if !bytes.Equal(got, want) {
					t.Errorf("body = %s, want the relay's %s", got, want)
				}
				if raceEnabled {
					return
				}
				viaDialect := testing.AllocsPerRun(50, func() { _, _ = d.body(req, stream) })
				relay := testing.AllocsPerRun(50, func() { _, _ = RequestBody(req, stream) })
				if viaDialect != relay {
					t.Errorf("allocations = %v, want the relay's %v", viaDialect, relay)
				}
			})
		}
	}
}

func TestMistralToolIDs(t *testing.T) {
	t.Run("format, pairing and stability", func(t *testing.T) {
		for _, in := range []string{"toolu_01A09q90qw90lq917835lq9", "call_abc123XYZ", "call_0fypS1hVX", "x", "", "ünïcode-id"} {
			ids := newToolIDs(nil)
			got := ids.id(in)
			if !validToolID(got) {
				t.Errorf("id(%q) = %q, not [a-zA-Z0-9]{9}", in, got)
			}
			if again := ids.id(in); again != got {
				t.Errorf("id(%q) gave %q then %q within one request", in, got, again)
			}
			if other := newToolIDs(nil).id(in); other != got {
				t.Errorf("id(%q) = %q in one request and %q in another", in, got, other)
			}
		}
		if got := newToolIDs(nil).id("toolu_01A09q90qw90lq917835lq9"); got != mistralIDToolu {
			t.Errorf("toolu id -> %q, want the pinned %q", got, mistralIDToolu)
		}
	})
	t.Run("the model's own ids are kept", func(t *testing.T) {
		ids := newToolIDs(nil)
		for _, in := range []string{"D681PevKs", "abcdefghi", "012345678"} {
			if got := ids.id(in); got != in {
				t.Errorf("id(%q) = %q, want it unchanged", in, got)
			}
		}
	})
	t.Run("collision with a valid id of the request", func(t *testing.T) {
		// The request already holds, as a valid id of its own, the id
		// call_1 would hash to; call_1 must get another one.
		taken := hashToolID("call_1", 0)
		chat := &llm.ChatRequest{Messages: []llm.Message{
			{Role: "assistant", ToolCalls: []llm.ToolCall{{ID: "call_1"}, {ID: taken}}},
		}}
		ids := newToolIDs(chat)
		got := ids.id("call_1")
		if got == taken || !validToolID(got) {
			t.Errorf("id(call_1) = %q, want a valid id other than the taken %q", got, taken)
		}
		if ids.id(taken) != taken {
			t.Errorf("the valid id %q was changed", taken)
		}
	})
	t.Run("distinct inputs give distinct ids", func(t *testing.T) {
		ids := newToolIDs(nil)
		seen := map[string]string{}
		for i := range 5000 {
			in := "call_" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + string(rune(i))
			out := ids.id(in)
			if prev, ok := seen[out]; ok && prev != in {
				t.Fatalf("%q and %q both became %q", prev, in, out)
			}
			seen[out] = in
		}
	})
}

func TestGroqRefusesSeveralChoices(t *testing.T) {
	s := fakeFor(DialectGroq, nil)
	defer s.Close()
	p := dialectProvider(t, s.BaseURL(), DialectGroq, "env:UP_KEY")
	tests := []struct {
		name       string
		body       string
		wantStatus int // 0: accepted
	}{
		{"n=2", `{"model":"fast","n":2,"messages":[{"role":"user","content":"hi"}]}`, http.StatusBadRequest},
		{"n=1", `{"model":"fast","n":1,"messages":[{"role":"user","content":"hi"}]}`, 0},
		{"no n", `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Calls()
			_, err := p.Chat(context.Background(), request(t, tt.body, "fast", "llama-3.3-70b-versatile"))
			if tt.wantStatus == 0 {
				if err != nil {
					t.Fatalf("err = %v, want the request sent", err)
				}
				return
			}
			e := llm.AsError(err)
			if e == nil || e.Status != tt.wantStatus || e.Param != "n" || e.Kind != llm.KindInvalidRequest || !strings.Contains(e.Message, "Groq") {
				t.Fatalf("err = %v, want a 400 on n naming Groq", err)
			}
			if s.Calls() != before {
				t.Error("the request was sent upstream anyway")
			}
		})
	}
}

func TestDialectAnswers(t *testing.T) {
	tests := []struct {
		name      string
		dialect   string
		reply     openaitest.Reply
		wantUsage llm.Usage
		wantIn    string // a fragment the relayed answer must hold
		wantErr   *llm.Error
	}{
		{name: "deepseek cache hits and reasoning", dialect: DialectDeepSeek,
			reply:     openaitest.Reply{Text: "Paris.", Reasoning: "Capital of France.", Usage: openaitest.Usage{Prompt: 100, Completion: 10, Cached: 64}},
			wantUsage: llm.Usage{PromptTokens: 100, CompletionTokens: 10, CachedTokens: 64}, wantIn: `"reasoning_content":"Capital of France."`},
		{name: "qwen cached tokens and reasoning", dialect: DialectQwen,
			reply:     openaitest.Reply{Text: "Paris.", Reasoning: "Easy.", Usage: openaitest.Usage{Prompt: 50, Completion: 5, Cached: 32}},
			wantUsage: llm.Usage{PromptTokens: 50, CompletionTokens: 5, CachedTokens: 32}, wantIn: `"reasoning_content":"Easy."`},
		{name: "deepseek blank lines while queued", dialect: DialectDeepSeek,
			reply:     openaitest.Reply{Text: "late", KeepAlive: ": keep-alive", Usage: openaitest.Usage{Prompt: 3, Completion: 1}},
			wantUsage: llm.Usage{PromptTokens: 3, CompletionTokens: 1}, wantIn: `"content":"late"`},
		{name: "openrouter error in a 200", dialect: DialectOpenRouter,
			reply:   openaitest.Reply{Status: 402, InBand: true, ErrMessage: "Insufficient credits"},
			wantErr: &llm.Error{Status: 402, Code: "402", Detail: "Insufficient credits"}},
		{name: "vllm flat error", dialect: DialectVLLM,
			reply:   openaitest.Reply{Status: 404, Flat: true, ErrType: "NotFoundError", ErrMessage: "The model `llama` does not exist."},
			wantErr: &llm.Error{Status: 404, Type: "invalid_request_error", Detail: "The model `llama` does not exist."}},
		{name: "mistral flat error", dialect: DialectMistral,
			reply:   openaitest.Reply{Status: 429, Flat: true, ErrType: "rate_limited", ErrCode: "1300", ErrMessage: "Requests rate limit exceeded"},
			wantErr: &llm.Error{Status: 429, Type: "rate_limit_error", Code: "1300", Detail: "Requests rate limit exceeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openaitest.NewServer(tt.dialect, func(openaitest.Received) openaitest.Reply { return tt.reply })
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), tt.dialect, "env:UP_KEY")
			resp, err := p.Chat(context.Background(), request(t, `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, "fast", "up-model"))
			if tt.wantErr != nil {
				e := llm.AsError(err)
				if e == nil || e.Status != tt.wantErr.Status || e.Code != tt.wantErr.Code || e.Detail != tt.wantErr.Detail ||
					e.Message != llm.UpstreamMessage(e.Status, e.Kind) || (tt.wantErr.Type != "" && e.Type != tt.wantErr.Type) || e.Provider != "up" {
					t.Fatalf("err = %#v, want %+v from provider up", e, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Usage != tt.wantUsage {
				t.Errorf("usage = %+v, want %+v", resp.Usage, tt.wantUsage)
			}
			if !bytes.Contains(resp.Body, []byte(tt.wantIn)) || !bytes.Contains(resp.Body, []byte(`"model":"fast"`)) {
				t.Errorf("answer %s lacks %s or the router's model", resp.Body, tt.wantIn)
			}
		})
	}
}

func TestDialectStreams(t *testing.T) {
	tests := []struct {
		name      string
		dialect   string
		reply     openaitest.Reply
		wantUsage *llm.Usage
		wantText  string // concatenated content deltas
		wantReas  string // concatenated reasoning_content deltas
		wantErr   *llm.Error
		// usageOnlyLast: the stream ends with OpenAI's usage-only chunk.
		usageOnlyLast bool
	}{
		{name: "deepseek keep-alive comments, reasoning and cache hits", dialect: DialectDeepSeek,
			reply:     openaitest.Reply{Text: "Bonjour à tous", Reasoning: "French greeting.", Usage: openaitest.Usage{Prompt: 40, Completion: 6, Cached: 32}},
			wantUsage: &llm.Usage{PromptTokens: 40, CompletionTokens: 6, CachedTokens: 32}, wantText: "Bonjour à tous", wantReas: "French greeting.",
			usageOnlyLast: true},
		{name: "groq usage under x_groq", dialect: DialectGroq,
			reply:     openaitest.Reply{Text: "fast answer", Usage: openaitest.Usage{Prompt: 12, Completion: 2}},
			wantUsage: &llm.Usage{PromptTokens: 12, CompletionTokens: 2}, wantText: "fast answer", usageOnlyLast: true},
		{name: "mistral usage in the last chunk", dialect: DialectMistral,
			reply:     openaitest.Reply{Text: "bonjour", Usage: openaitest.Usage{Prompt: 7, Completion: 1}},
			wantUsage: &llm.Usage{PromptTokens: 7, CompletionTokens: 1}, wantText: "bonjour"},
		{name: "openrouter processing comments", dialect: DialectOpenRouter,
			reply:     openaitest.Reply{Text: "routed answer", KeepAlive: ": OPENROUTER PROCESSING", Usage: openaitest.Usage{Prompt: 9, Completion: 2}},
			wantUsage: &llm.Usage{PromptTokens: 9, CompletionTokens: 2}, wantText: "routed answer", usageOnlyLast: true},
		{name: "openrouter error event after the first chunk", dialect: DialectOpenRouter,
			reply:    openaitest.Reply{Text: "partial answer", Status: 502, InBand: true, ErrMessage: "Provider returned error", KeepAlive: ": OPENROUTER PROCESSING"},
			wantText: "partial ", wantErr: &llm.Error{Status: 502, Code: "502", Detail: "Provider returned error"}},
		{name: "ollama usage chunk", dialect: DialectOllama,
			reply:     openaitest.Reply{Text: "local answer", Usage: openaitest.Usage{Prompt: 5, Completion: 2}},
			wantUsage: &llm.Usage{PromptTokens: 5, CompletionTokens: 2}, wantText: "local answer", usageOnlyLast: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeFor(tt.dialect, func(openaitest.Received) openaitest.Reply { return tt.reply })
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), tt.dialect, "")
			st, err := p.Stream(context.Background(), request(t, `{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}`, "fast", "up-model"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var text, reasoning strings.Builder
			var usage *llm.Usage
			lastUsageOnly := false
			for {
				c, err := st.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					e := llm.AsError(err)
					if tt.wantErr == nil || e == nil || e.Status != tt.wantErr.Status || e.Code != tt.wantErr.Code || e.Detail != tt.wantErr.Detail {
						t.Fatalf("stream error %v, want %+v", err, tt.wantErr)
					}
					tt.wantErr = nil
					break
				}
				var chunk llm.ChunkResponse
				if err := json.Unmarshal(c.Data, &chunk); err != nil || chunk.Model != "fast" {
					t.Fatalf("chunk %s: model %q, err %v", c.Data, chunk.Model, err)
				}
				for _, ch := range chunk.Choices {
					if ch.Delta.Content != nil {
						text.WriteString(*ch.Delta.Content)
					}
					reasoning.WriteString(ch.Delta.ReasoningContent)
				}
				if c.Usage != nil {
					u := *c.Usage
					usage = &u
				}
				lastUsageOnly = c.UsageOnly
				if c.UsageOnly && (len(chunk.Choices) != 0 || chunk.Usage == nil || *chunk.Usage != *c.Usage) {
					t.Errorf("usage-only chunk %s does not carry its usage in OpenAI's form", c.Data)
				}
			}
			if lastUsageOnly != tt.usageOnlyLast {
				t.Errorf("last chunk usage-only = %v, want %v", lastUsageOnly, tt.usageOnlyLast)
			}
			if tt.wantErr != nil {
				t.Fatalf("no error, want %+v", tt.wantErr)
			}
			if text.String() != tt.wantText || reasoning.String() != tt.wantReas {
				t.Errorf("text %q reasoning %q, want %q and %q", text.String(), reasoning.String(), tt.wantText, tt.wantReas)
			}
			if !reflect.DeepEqual(usage, tt.wantUsage) {
				t.Errorf("usage = %+v, want %+v", usage, tt.wantUsage)
			}
		})
	}
}

// Local servers run without a key: none is configured, none is sent.
func TestNoKeyForLocalServers(t *testing.T) {
	for _, dialect := range []string{DialectOllama, DialectVLLM} {
		t.Run(dialect, func(t *testing.T) {
			s := openaitest.NewServer(dialect, nil)
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), dialect, "")
			if _, err := p.Chat(context.Background(), request(t, `{"model":"fast","messages":[{"role":"user","content":"hi"}]}`, "fast", "llama3.2")); err != nil {
				t.Fatal(err)
			}
			if h := s.Received()[0].Header.Get("Authorization"); h != "" {
				t.Errorf("Authorization = %q, want none", h)
			}
			if err := p.Probe(context.Background(), ""); err != nil {
				t.Errorf("probe: %v", err)
			}
		})
	}
}

// Groq puts a stream's usage under x_groq in its last chunk; the stream
// turns it into OpenAI's usage-only chunk, once, unless Groq sent one too.
func TestGroqStreamUsage(t *testing.T) {
	const (
		content = `data: {"id":"chatcmpl-g","object":"chat.completion.chunk","created":1730000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}` + "\n\n"
		last    = `data: {"id":"chatcmpl-g","object":"chat.completion.chunk","created":1730000000,"model":"llama-3.3-70b-versatile","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_01","usage":{"queue_time":0.01,"prompt_tokens":12,"prompt_time":0.002,"completion_tokens":3,"completion_time":0.01,"total_tokens":15,"total_time":0.012}}}` + "\n\n"
		openai  = `data: {"id":"chatcmpl-g","object":"chat.completion.chunk","created":1730000000,"model":"llama-3.3-70b-versatile","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}` + "\n\n"
		done    = "data: [DONE]\n\n"
	)
	tests := []struct {
		name      string
		xGroq     bool
		sse       string
		wantKinds string // per chunk: c content, u carries usage, U usage-only
	}{
		{"x_groq only", true, content + last + done, "cuU"},
		{"x_groq only, no [DONE]", true, content + last, "cuU"},
		{"x_groq and an OpenAI usage chunk", true, content + last + openai + done, "cuU"},
		{"another dialect ignores x_groq", false, content + last + done, "cc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st llm.Stream = NewStream("groq", io.NopCloser(strings.NewReader(tt.sse)), "m", "")
			if tt.xGroq {
				st = &groqStream{Stream: st.(*Stream)}
			}
			var kinds strings.Builder
			for {
				c, err := st.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case c.UsageOnly:
					kinds.WriteByte('U')
					var chunk llm.ChunkResponse
					if err := json.Unmarshal(c.Data, &chunk); err != nil || chunk.Model != "m" || chunk.ID != "chatcmpl-g" || chunk.Created != 1730000000 ||
						chunk.Usage == nil || chunk.Usage.Total() != 15 {
						t.Errorf("usage chunk %s (%v)", c.Data, err)
					}
				case c.Usage != nil:
					kinds.WriteByte('u')
				default:
					kinds.WriteByte('c')
				}
				if c.Usage != nil && (c.Usage.PromptTokens != 12 || c.Usage.CompletionTokens != 3) {
					t.Errorf("usage = %+v, want 12 + 3", *c.Usage)
				}
			}
			if got := kinds.String(); got != tt.wantKinds {
				t.Errorf("chunks = %q, want %q", got, tt.wantKinds)
			}
		})
	}
}

// Embeddings are relayed the same way whatever the dialect.
func TestEmbedRelay(t *testing.T) {
	for _, dialect := range config.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := openaitest.NewServer(dialect, nil)
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), dialect, "env:UP_KEY")
			body := `{"model":"emb","input":["a","b"],"encoding_format":"float","dimensions":256}`
			resp, err := p.Embed(context.Background(), &llm.EmbeddingRequest{Body: []byte(body), Input: []string{"a", "b"},
				Model: "emb", Upstream: "text-embedding-3-small", Dimensions: 256})
			if err != nil {
				t.Fatal(err)
			}
			want := `{"model":"text-embedding-3-small","input":["a","b"],"encoding_format":"float","dimensions":256}`
			if got := s.Received()[0].Body; string(got) != want {
				t.Errorf("sent %s, want %s", got, want)
			}
			var out struct {
				Model string `json:"model"`
				Data  []any  `json:"data"`
			}
			if err := json.Unmarshal(resp.Body, &out); err != nil || out.Model != "emb" || len(out.Data) != 2 || resp.Usage.PromptTokens != 16 {
				t.Errorf("answer %s usage %+v, want two embeddings from model emb and 16 prompt tokens", resp.Body, resp.Usage)
			}
		})
	}
}

// The adapter knows every dialect configuration accepts, and no other.
func TestDialectNamesMatchConfig(t *testing.T) {
	known := []string{DialectOpenAI, DialectDeepSeek, DialectMistral, DialectQwen, DialectGroq, DialectTogether,
		DialectXAI, DialectOpenRouter, DialectFireworks, DialectOllama, DialectVLLM}
	got := append([]string(nil), config.Dialects...)
	slices.Sort(got)
	slices.Sort(known)
	if !slices.Equal(got, known) {
		t.Errorf("config.Dialects = %v, the adapter knows %v", got, known)
	}
}

// A dialect's edits match members by their decoded names: a model sent
// under an escaped name is replaced, not passed on beside the upstream's, and
// an escaped role is edited like a plain one.
func TestDialectEditsReadEscapedNames(t *testing.T) {
	body := `{"mod\u0065l":"fast","messages":[{"r\u006fle":"developer","content":"Be brief."},{"role":"user","content":"hi"}],"max_completion_tokens":5}`
	for _, dialect := range []string{DialectDeepSeek, DialectMistral, DialectGroq} {
		t.Run(dialect, func(t *testing.T) {
			s := openaitest.NewServer(dialect, nil)
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), dialect, "env:UP_KEY")
			if _, err := p.Chat(context.Background(), request(t, body, "fast", "up-model")); err != nil {
				t.Fatal(err)
			}
			got := s.Received()[0].Body
			models := 0
			dec := json.NewDecoder(bytes.NewReader(got))
			for {
				tok, err := dec.Token()
				if err != nil {
					break
				}
				if tok == "model" {
					models++
				}
			}
			var sent struct {
				Model    string `json:"model"`
				Messages []struct {
					Role string `json:"role"`
				} `json:"messages"`
			}
			if err := json.Unmarshal(got, &sent); err != nil || models != 1 || sent.Model != "up-model" {
				t.Errorf("upstream got %s: %d model members, model %q; want one, up-model", got, models, sent.Model)
			}
			if dialect != DialectGroq && sent.Messages[0].Role != "system" {
				t.Errorf("upstream got role %q for the developer message, want system", sent.Messages[0].Role)
			}
		})
	}
}

// A request the gateway clamped to the model's output cap (llm.Request.
// ClampOutput) reaches the upstream with the cap, on the relay path and
// through a dialect's edits.
func TestClampedOutputReachesUpstream(t *testing.T) {
	body := `{"model":"fast","messages":[{"role":"user","content":"hi"}],"max_completion_tokens":100000}`
	for _, dialect := range []string{DialectOpenAI, DialectMistral} {
		t.Run(dialect, func(t *testing.T) {
			s := openaitest.NewServer(dialect, nil)
			defer s.Close()
			p := dialectProvider(t, s.BaseURL(), dialect, "env:UP_KEY")
			req, err := request(t, body, "fast", "up-model").ClampOutput(16384)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Chat(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			var sent map[string]any
			if err := json.Unmarshal(s.Received()[0].Body, &sent); err != nil {
				t.Fatal(err)
			}
			limit := sent["max_completion_tokens"]
			if dialect == DialectMistral {
				limit = sent["max_tokens"]
			}
			if limit != 16384.0 {
				t.Errorf("upstream got %v, want the cap 16384", s.Received()[0].Body)
			}
		})
	}
}
