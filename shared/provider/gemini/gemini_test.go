package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/llm-router/router/shared/engine"
	"io"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
)

const keyRef = "env:GEMINI_API_KEY"

// testKeys resolves keyRef to a fixed key and counts the calls.
type testKeys struct {
	key   string
	err   error
	calls atomic.Int32
}

func (k *testKeys) Resolve(_ context.Context, ref string) (string, error) {
	k.calls.Add(1)
	if ref != keyRef {
		return "", errors.New("unexpected key reference " + ref)
	}
	return k.key, k.err
}

func newFake(t *testing.T, opts geminitest.Options) *geminitest.Server {
	t.Helper()
	srv := geminitest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func newProvider(t *testing.T, srv *geminitest.Server, keys llm.KeyResolver) *Provider {
	t.Helper()
	p, err := New(&config.Provider{Name: "gem", Type: config.TypeGemini, BaseURL: srv.URL, Key: keyRef},
		llm.Deps{HTTP: srv.Client(), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return p.(*Provider)
}

func chatRequest(t *testing.T, body string) *llm.Request {
	t.Helper()
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatalf("ParseChat: %v", err)
	}
	return &llm.Request{Chat: chat, Body: []byte(body), Model: "client-model", Upstream: "gemini-2.5-flash", MaxTokens: 4096}
}

// nativeFields are the only top-level members a generateContent body may have
// as the adapter writes it.
var nativeFields = []string{"contents", "systemInstruction", "tools", "toolConfig", "generationConfig"}

// checkNative asserts what every upstream request must look like: the key in
// x-goog-api-key and nowhere in the URL, a JSON body with only Gemini fields.
func checkNative(t *testing.T, r geminitest.Request, key string) map[string]json.RawMessage {
	t.Helper()
	if got := r.Header.Get("x-goog-api-key"); got != key {
		t.Errorf("x-goog-api-key = %q, want the resolved key", got)
	}
	if r.Query.Has("key") || strings.Contains(r.Path, key) {
		t.Errorf("the key is in the URL: %s?%s", r.Path, r.Query.Encode())
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("an Authorization header was sent; Gemini's key goes in x-goog-api-key")
	}
	var body map[string]json.RawMessage
	if err := r.Decode(&body); err != nil {
		t.Fatalf("body is not a JSON object: %v", err)
	}
	for k := range body {
		if !slices.Contains(nativeFields, k) {
			t.Errorf("body has %q, which is not a Gemini generateContent field", k)
		}
	}
	return body
}

func TestChat(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	keys := &testKeys{key: srv.Key()}
	p := newProvider(t, srv, keys)
	srv.Enqueue(geminitest.Reply{Text: []string{"Bonjour", " !"}, ResponseID: "r-9",
		Usage: &geminitest.Usage{Prompt: 20, Candidates: 4, Thoughts: 6, Cached: 8, ToolUsePrompt: 2}})

	req := chatRequest(t, `{"model":"route-x","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Salut"}],
		"temperature":0.3,"max_tokens":50,"user":"u1","stop":["END"]}`)
	resp, err := p.Chat(context.Background(), req)
	if err != nil {
		t.Fatalf("Chat: %v", err)
	}
	var got llm.ChatResponse
	if err := json.Unmarshal(resp.Body, &got); err != nil {
		t.Fatalf("answer %s: %v", resp.Body, err)
	}
	if got.Object != "chat.completion" || got.Model != "client-model" || got.ID != "chatcmpl-r-9" || len(got.Choices) != 1 ||
		got.Choices[0].Message.Content == nil || *got.Choices[0].Message.Content != "Bonjour !" || got.Choices[0].FinishReason != "stop" {
		t.Errorf("answer = %s", resp.Body)
	}
	wantUsage := llm.Usage{PromptTokens: 22, CompletionTokens: 10, CachedTokens: 8, ReasoningTokens: 6}
	if resp.Usage != wantUsage || got.Usage == nil || *got.Usage != wantUsage {
		t.Errorf("usage = %+v (body %+v), want %+v", resp.Usage, got.Usage, wantUsage)
	}
	if n := keys.calls.Load(); n != 1 {
		t.Errorf("key resolved %d times, want once per request", n)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
	body := checkNative(t, r, srv.Key())
	want := `{"systemInstruction":{"parts":[{"text":"Be terse."}]},"contents":[{"role":"user","parts":[{"text":"Salut"}]}],
		"generationConfig":{"temperature":0.3,"maxOutputTokens":50,"stopSequences":["END"]}}`
	if !jsonEqual(t, r.Body, []byte(want)) {
		t.Errorf("body = %s\nwant %s", r.Body, want)
	}
	if _, ok := body["generationConfig"]; !ok {
		t.Error("no generationConfig")
	}
}

func TestStreamAgainstFake(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	p := newProvider(t, srv, &testKeys{key: srv.Key()})
	srv.Enqueue(geminitest.Reply{Thought: "hmm", Text: []string{"one", " two", " three"},
		Usage: &geminitest.Usage{Prompt: 6, Candidates: 3, Thoughts: 1}})
	req := chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Count"}],"stream":true,"stream_options":{"include_usage":true}}`)

	st, err := p.Stream(context.Background(), req)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer st.Close()
	var text strings.Builder
	var finish string
	var usage *llm.Usage
	for {
		c, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		var ch llm.ChunkResponse
		if err := json.Unmarshal(c.Data, &ch); err != nil {
			t.Fatalf("chunk %s: %v", c.Data, err)
		}
		if ch.Object != "chat.completion.chunk" || ch.Model != "client-model" {
			t.Errorf("chunk header = %s", c.Data)
		}
		if c.UsageOnly {
			usage = c.Usage
			continue
		}
		for _, choice := range ch.Choices {
			if choice.Delta.Content != nil {
				text.WriteString(*choice.Delta.Content)
			}
			if choice.FinishReason != nil {
				finish = *choice.FinishReason
			}
		}
	}
	if text.String() != "one two three" || finish != "stop" {
		t.Errorf("streamed %q finishing %q, want %q and stop", text.String(), finish, "one two three")
	}
	if want := (llm.Usage{PromptTokens: 6, CompletionTokens: 4, ReasoningTokens: 1}); usage == nil || *usage != want {
		t.Errorf("usage = %+v, want %+v", usage, want)
	}
	r := srv.Requests()[0]
	if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query.Get("alt") != "sse" {
		t.Errorf("request = %s?%s", r.Path, r.Query.Encode())
	}
	checkNative(t, r, srv.Key())
}

// TestStreamEndings covers the ways a Gemini stream ends badly, end to end.
func TestStreamEndings(t *testing.T) {
	tests := []struct {
		name     string
		reply    geminitest.Reply
		wantCode string
		wantStat int
	}{
		{"in-stream error", geminitest.Reply{Text: []string{"Hel"}, StreamError: geminitest.NewError(503, "")}, "service_unavailable", 503},
		{"bare in-stream error", geminitest.Reply{Text: []string{"Hel"}, StreamError: geminitest.NewError(500, ""), StreamErrorBare: true}, "internal_error", 500},
		{"truncated", geminitest.Reply{Text: []string{"Hel"}, Truncate: true}, "stream_truncated", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, geminitest.Options{})
			p := newProvider(t, srv, &testKeys{key: srv.Key()})
			srv.Enqueue(tt.reply)
			st, err := p.Stream(context.Background(), chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Hi"}],"stream":true}`))
			if err != nil {
				t.Fatalf("Stream: %v", err)
			}
			defer st.Close()
			c, err := st.Next()
			if err != nil || !strings.Contains(string(c.Data), `"content":"Hel"`) {
				t.Fatalf("first chunk = %s, %v; want the text", c.Data, err)
			}
			_, err = st.Next()
			e := llm.AsError(err)
			if e == nil || e.Code != tt.wantCode || e.Status != tt.wantStat || e.Provider != "gem" {
				t.Errorf("end = %v, want %s (%d) from gem", err, tt.wantCode, tt.wantStat)
			}
		})
	}
}

// TestUpstreamErrors checks each class of Gemini error status, for plain and
// streamed requests alike: the status and kind the gateway decides on.
func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		name      string
		reply     geminitest.Reply
		wrongKey  bool
		wantStat  int
		wantKind  llm.Kind
		wantCode  string
		retryable bool
		wantAfter time.Duration
	}{
		{"rate limited", geminitest.Reply{Error: geminitest.NewError(429, "")}, false, 429, llm.KindRateLimited, "rate_limit_exceeded", true, 17 * time.Second},
		{"unavailable", geminitest.Reply{Error: geminitest.NewError(503, "")}, false, 503, llm.KindOverloaded, "service_unavailable", true, 0},
		{"internal", geminitest.Reply{Error: geminitest.NewError(500, "")}, false, 500, llm.KindUpstream, "internal_error", true, 0},
		{"deadline", geminitest.Reply{Error: geminitest.NewError(504, "")}, false, 504, llm.KindTimeout, "timeout", true, 0},
		{"invalid argument", geminitest.Reply{Error: geminitest.NewError(400, "Request contains an invalid argument.")}, false, 400, llm.KindInvalidRequest, "invalid_argument", false, 0},
		{"permission denied", geminitest.Reply{Error: geminitest.NewError(403, "")}, false, 403, llm.KindPermission, "permission_denied", true, 0},
		{"not found", geminitest.Reply{Error: geminitest.NewError(404, "models/x is not found")}, false, 404, llm.KindNotFound, "model_not_found", true, 0},
		{"bad key", geminitest.Reply{}, true, 401, llm.KindAuth, "invalid_api_key", true, 0},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += "/stream"
			}
			t.Run(name, func(t *testing.T) {
				srv := newFake(t, geminitest.Options{})
				key := srv.Key()
				if tt.wrongKey {
					key = "not-the-key"
				}
				p := newProvider(t, srv, &testKeys{key: key})
				srv.Enqueue(tt.reply)
				req := chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`)
				var err error
				if stream {
					var st llm.Stream
					if st, err = p.Stream(context.Background(), req); st != nil {
						t.Error("Stream returned a stream with an error status")
						st.Close()
					}
				} else {
					_, err = p.Chat(context.Background(), req)
				}
				e := llm.AsError(err)
				if e == nil {
					t.Fatalf("err = %v, want an *llm.Error", err)
				}
				if e.Status != tt.wantStat || e.Kind != tt.wantKind || e.Code != tt.wantCode || engine.FallsBack(e) != tt.retryable ||
					e.RetryAfter != tt.wantAfter || e.Provider != "gem" || e.Message == "" {
					t.Errorf("got %d %v %q retryable=%v after=%v provider=%q message=%q; want %d %v %q retryable=%v after=%v",
						e.Status, e.Kind, e.Code, engine.FallsBack(e), e.RetryAfter, e.Provider, e.Message,
						tt.wantStat, tt.wantKind, tt.wantCode, tt.retryable, tt.wantAfter)
				}
			})
		}
	}
}

func TestSlowFirstByte(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	p := newProvider(t, srv, &testKeys{key: srv.Key()})
	for _, stream := range []bool{false, true} {
		srv.Enqueue(geminitest.Reply{Delay: time.Minute}) // simulated latency; the context ends first
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		req := chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`)
		var err error
		if stream {
			_, err = p.Stream(ctx, req)
		} else {
			_, err = p.Chat(ctx, req)
		}
		cancel()
		if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("stream=%v: err = %v, want an unavailable error wrapping the deadline", stream, err)
		}
	}
}

func TestKeyUnavailable(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	p := newProvider(t, srv, &testKeys{err: errors.New("secret store down")})
	_, err := p.Chat(context.Background(), chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`))
	if e := llm.AsError(err); e == nil || e.Code != "provider_key_unavailable" || e.Status != 502 || !engine.FallsBack(e) {
		t.Errorf("err = %v, want a retryable 502 provider_key_unavailable", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("fake saw %d requests, want none", n)
	}
}

func TestRejectedBeforeSending(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	p := newProvider(t, srv, &testKeys{key: srv.Key()})
	_, err := p.Chat(context.Background(), chatRequest(t, `{"model":"m","messages":[{"role":"user","content":[
		{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`))
	if e := llm.AsError(err); e == nil || e.Status != 400 || e.Code != "unsupported_image_url" || e.Provider != "gem" {
		t.Errorf("err = %v, want a 400 unsupported_image_url from gem", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("fake saw %d requests, want none: remote images are never fetched or forwarded", n)
	}
}

// TestThoughtSignatureRoundTrip plays a tool loop against a fake that, like
// Gemini 3, refuses unsigned function calls: once with a client that echoes
// the assistant message verbatim (the signature returns) and once with one
// that drops extra_content (the documented skip sentinel is sent).
func TestThoughtSignatureRoundTrip(t *testing.T) {
	sig := []byte("signature-of-the-call")
	tests := []struct {
		name     string
		verbatim bool
		wantSig  string
	}{
		{"echoed verbatim", true, base64.StdEncoding.EncodeToString(sig)},
		{"extra_content dropped", false, skipSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, geminitest.Options{RequireThoughtSignatures: true})
			p := newProvider(t, srv, &testKeys{key: srv.Key()})
			srv.Enqueue(geminitest.Reply{Calls: []geminitest.Call{{Name: "get_weather", Args: map[string]any{"city": "Paris"}, ThoughtSignature: sig}}},
				geminitest.Reply{Text: []string{"21°C"}})
			tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]`
			first, err := p.Chat(context.Background(), chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Weather?"}],`+tools+`}`))
			if err != nil {
				t.Fatalf("first turn: %v", err)
			}
			var answer struct {
				Choices []struct {
					Message      json.RawMessage `json:"message"`
					FinishReason string          `json:"finish_reason"`
				} `json:"choices"`
			}
			if err := json.Unmarshal(first.Body, &answer); err != nil || len(answer.Choices) != 1 || answer.Choices[0].FinishReason != "tool_calls" {
				t.Fatalf("first answer = %s (%v), want one tool_calls choice", first.Body, err)
			}
			var msg llm.ResponseMessage
			if err := json.Unmarshal(answer.Choices[0].Message, &msg); err != nil || len(msg.ToolCalls) != 1 {
				t.Fatalf("message = %s, want one tool call", answer.Choices[0].Message)
			}
			assistant := answer.Choices[0].Message
			if !tt.verbatim {
				assistant, _ = json.Marshal(msg) // llm.ToolCall has no extra_content
			}
			body := `{"model":"m","messages":[{"role":"user","content":"Weather?"},` + string(assistant) +
				`,{"role":"tool","tool_call_id":"` + msg.ToolCalls[0].ID + `","content":"{\"temp\":21}"}],` + tools + `}`
			second, err := p.Chat(context.Background(), chatRequest(t, body))
			if err != nil {
				t.Fatalf("second turn: %v", err)
			}
			if !strings.Contains(string(second.Body), "21°C") {
				t.Errorf("second answer = %s", second.Body)
			}
			var sent struct {
				Contents []struct {
					Role  string
					Parts []struct {
						ThoughtSignature string
						FunctionCall     *struct{ ID, Name string }
						FunctionResponse *struct {
							ID, Name string
							Response map[string]any
						}
					}
				}
			}
			if err := srv.Requests()[1].Decode(&sent); err != nil {
				t.Fatal(err)
			}
			model, user := sent.Contents[1].Parts[0], sent.Contents[2].Parts[0]
			if model.FunctionCall == nil || model.FunctionCall.Name != "get_weather" || model.FunctionCall.ID != "" || model.ThoughtSignature != tt.wantSig {
				t.Errorf("model turn part = %+v, want get_weather without an id and signature %q", model, tt.wantSig)
			}
			if user.FunctionResponse == nil || user.FunctionResponse.Name != "get_weather" ||
				!reflect.DeepEqual(user.FunctionResponse.Response, map[string]any{"output": map[string]any{"temp": float64(21)}}) {
				t.Errorf("function response = %+v", user.FunctionResponse)
			}
		})
	}
}

func TestProbe(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	if err := newProvider(t, srv, &testKeys{key: srv.Key()}).Probe(context.Background(), "gemini-2.5-flash"); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	r := srv.Requests()[0]
	if r.Method != http.MethodGet || r.Path != "/v1beta/models" || r.Query.Get("pageSize") != "1" || r.Header.Get("x-goog-api-key") != srv.Key() {
		t.Errorf("probe request = %s %s?%s", r.Method, r.Path, r.Query.Encode())
	}
	err := newProvider(t, srv, &testKeys{key: "stale-key"}).Probe(context.Background(), "")
	if e := llm.AsError(err); e == nil || e.Kind != llm.KindAuth || e.Status != 401 {
		t.Errorf("Probe with a bad key = %v, want a 401 auth error", err)
	}
}

func TestBaseURL(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	tests := []struct {
		base string
		want string
	}{
		{srv.URL, "/v1beta/models/gemini-2.5-flash:generateContent"},
		{srv.URL + "/", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{srv.URL + "/v1beta", "/v1beta/models/gemini-2.5-flash:generateContent"},
		{srv.URL + "/v1/", "/v1/models/gemini-2.5-flash:generateContent"},
	}
	for _, tt := range tests {
		p, _ := New(&config.Provider{Name: "gem", BaseURL: tt.base, Key: keyRef}, llm.Deps{HTTP: srv.Client(), Keys: &testKeys{key: srv.Key()}})
		if _, err := p.Chat(context.Background(), chatRequest(t, `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`)); err != nil {
			t.Fatalf("base %q: %v", tt.base, err)
		}
		reqs := srv.Requests()
		if got := reqs[len(reqs)-1].Path; got != tt.want {
			t.Errorf("base %q: path %q, want %q", tt.base, got, tt.want)
		}
	}
	p, _ := New(&config.Provider{Name: "gem"}, llm.Deps{})
	if got, want := p.(*Provider).modelURL("models/gemini-2.5-pro", ":generateContent"),
		"https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:generateContent"; got != want {
		t.Errorf("default URL = %q, want %q", got, want)
	}
}

func TestEmbed(t *testing.T) {
	tests := []struct {
		name     string
		req      llm.EmbeddingRequest
		wantDims int
		wantToks int
	}{
		{"float, default size", llm.EmbeddingRequest{Input: []string{"hello world", "ok"}}, 8, 3 + 1},
		{"dimensions", llm.EmbeddingRequest{Input: []string{"héllo"}, Dimensions: 4}, 4, 2},
		{"base64", llm.EmbeddingRequest{Input: []string{"a", "bb", "ccc"}, Dimensions: 3, EncodingFormat: "base64"}, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, geminitest.Options{})
			p := newProvider(t, srv, &testKeys{key: srv.Key()})
			req := tt.req
			req.Model, req.Upstream = "embed-model", "gemini-embedding-001"
			resp, err := p.Embed(context.Background(), &req)
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			var got struct {
				Object string
				Data   []struct {
					Object    string
					Index     int
					Embedding json.RawMessage
				}
				Model string
				Usage struct {
					PromptTokens int `json:"prompt_tokens"`
					TotalTokens  int `json:"total_tokens"`
				}
			}
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatalf("answer %s: %v", resp.Body, err)
			}
			if got.Object != "list" || got.Model != "embed-model" || len(got.Data) != len(req.Input) {
				t.Fatalf("answer = %s", resp.Body)
			}
			for i, d := range got.Data {
				want := geminitest.Vector(req.Input[i], tt.wantDims)
				if d.Object != "embedding" || d.Index != i || !slices.Equal(decodeVector(t, d.Embedding), want) {
					t.Errorf("data[%d] = %s, want index %d and %v", i, d.Embedding, i, want)
				}
			}
			if got.Usage.PromptTokens != tt.wantToks || got.Usage.TotalTokens != tt.wantToks || resp.Usage.PromptTokens != tt.wantToks {
				t.Errorf("usage = %+v / %+v, want %d prompt tokens", got.Usage, resp.Usage, tt.wantToks)
			}
			r := srv.Requests()[0]
			if r.Path != "/v1beta/models/gemini-embedding-001:batchEmbedContents" || r.Header.Get("x-goog-api-key") != srv.Key() || r.Query.Has("key") {
				t.Errorf("request = %s?%s", r.Path, r.Query.Encode())
			}
			var sent batchEmbedRequest
			if err := r.Decode(&sent); err != nil || len(sent.Requests) != len(req.Input) ||
				sent.Requests[0].Model != "models/gemini-embedding-001" || sent.Requests[0].OutputDimensionality != req.Dimensions {
				t.Errorf("body = %s", r.Body)
			}
		})
	}
}

// decodeVector reads an embedding written as floats or as OpenAI's base64 of
// little-endian float32s.
func decodeVector(t *testing.T, raw json.RawMessage) []float32 {
	t.Helper()
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b)%4 != 0 {
			t.Fatalf("bad base64 embedding %q", s)
		}
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return v
	}
	var v []float32
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("bad embedding %s", raw)
	}
	return v
}

func TestEmbedErrors(t *testing.T) {
	srv := newFake(t, geminitest.Options{})
	p := newProvider(t, srv, &testKeys{key: srv.Key()})
	tests := []struct {
		name      string
		req       llm.EmbeddingRequest
		reply     *geminitest.Reply
		wantStat  int
		wantParam string
	}{
		{"no input", llm.EmbeddingRequest{}, nil, 400, "input"},
		{"bad format", llm.EmbeddingRequest{Input: []string{"a"}, EncodingFormat: "int8"}, nil, 400, "encoding_format"},
		{"rate limited", llm.EmbeddingRequest{Input: []string{"a"}}, &geminitest.Reply{Error: geminitest.NewError(429, "")}, 429, ""},
		{"empty text refused upstream", llm.EmbeddingRequest{Input: []string{""}}, nil, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reply != nil {
				srv.Enqueue(*tt.reply)
			}
			req := tt.req
			req.Model, req.Upstream = "e", "gemini-embedding-001"
			_, err := p.Embed(context.Background(), &req)
			if e := llm.AsError(err); e == nil || e.Status != tt.wantStat || e.Param != tt.wantParam || e.Provider != "gem" {
				t.Errorf("err = %v, want status %d param %q from gem", err, tt.wantStat, tt.wantParam)
			}
		})
	}
}
