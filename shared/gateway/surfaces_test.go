package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// The endpoints and chat features added for SDK parity, each through the
// official client as a user calls it.

// TestEmbeddingsBase64AnswersTheRealVectors asks for base64 embeddings,
// what OpenAI's Python and Node SDKs send by default, and checks the answer
// is base64 that decodes to the provider's own vectors: from the mock, from
// a compatible API that ignores encoding_format and answers floats, and from
// OpenAI itself, which answers base64.
func TestEmbeddingsBase64AnswersTheRealVectors(t *testing.T) {
	compat := openaitest.NewServer("compat", nil)
	defer compat.Close()
	native := openaitest.NewServer("native", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Base64: true} })
	defer native.Close()
	h := newHarness(t, fmt.Sprintf(`
providers:
  - {name: sim, type: mock}
  - {name: compat, type: openai, dialect: vllm, base_url: %q}
  - {name: native, type: openai, base_url: %q}
models:
  - {id: sim-embed, provider: sim}
  - {id: compat-embed, provider: compat, price: {input: 0.01, output: 0}}
  - {id: native-embed, provider: native, upstream: text-embedding-3-small, price: {input: 0.02, output: 0}}
routes:
  - {name: sim, targets: [{model: sim-embed}]}
  - {name: compat, targets: [{model: compat-embed}]}
  - {name: native, targets: [{model: native-embed}]}
`, compat.BaseURL(), native.BaseURL()), nil)
	ctx := context.Background()
	embed := func(route, format string) *openai.CreateEmbeddingResponse {
		t.Helper()
		got, err := h.client("unused").Embeddings.New(ctx, openai.EmbeddingNewParams{Model: route,
			Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
			EncodingFormat: openai.EmbeddingNewParamsEncodingFormat(format)})
		if err != nil {
			t.Fatalf("%s, %s: %v", route, format, err)
		}
		h.audit.next(t)
		return got
	}
	simFloats := embed("sim", "float")

	tests := []struct {
		route    string
		upstream *openaitest.Server
		// sent is the encoding_format the upstream must be asked for.
		sent string
		want [][]float64
	}{
		{"sim", nil, "", [][]float64{simFloats.Data[0].Embedding, simFloats.Data[1].Embedding}},
		{"compat", compat, "float", [][]float64{openaitest.EmbeddingVector, openaitest.EmbeddingVector}},
		{"native", native, "base64", [][]float64{openaitest.EmbeddingVector, openaitest.EmbeddingVector}},
	}
	for _, tt := range tests {
		t.Run(tt.route, func(t *testing.T) {
			got := embed(tt.route, "base64")
			if len(got.Data) != len(tt.want) {
				t.Fatalf("%d vectors, want %d", len(got.Data), len(tt.want))
			}
			for i, d := range got.Data {
				if raw := d.JSON.Embedding.Raw(); !strings.HasPrefix(raw, `"`) {
					t.Errorf("vector %d is %.40s…, want a base64 string", i, raw)
				}
				if !sameFloat32(d.Embedding, tt.want[i]) {
					t.Errorf("vector %d = %v, want %v", i, d.Embedding, tt.want[i])
				}
			}
			if tt.upstream != nil {
				var sent struct {
					EncodingFormat string `json:"encoding_format"`
				}
				r := tt.upstream.Received()
				if err := json.Unmarshal(r[len(r)-1].Body, &sent); err != nil || sent.EncodingFormat != tt.sent {
					t.Errorf("upstream was asked for encoding_format %q, want %q (%v)", sent.EncodingFormat, tt.sent, err)
				}
			}
		})
	}
}

// sameFloat32 reports whether got holds want's values at float32 precision,
// which is what base64 embeddings carry.
func sameFloat32(got, want []float64) bool {
	if len(got) != len(want) || len(got) == 0 {
		return false
	}
	for i := range got {
		if float32(got[i]) != float32(want[i]) || math.IsNaN(got[i]) {
			return false
		}
	}
	return true
}

// TestResponsesEndpointServes sends a Responses API request with openai-go's
// Responses client to the mock.
func TestResponsesEndpointServes(t *testing.T) {
	h := newHarness(t, `
providers: [{name: sim, type: mock, mock: {reply: "Hello from the router."}}]
models: [{id: fast, provider: sim}]
routes: [{name: chat, targets: [{model: fast}]}]
`, nil)
	var hr *http.Response
	resp, err := h.client("unused").Responses.New(context.Background(), responses.ResponseNewParams{Model: "chat",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")}}, option.WithResponseInto(&hr))
	if err != nil {
		t.Fatalf("responses: %v", err)
	}
	if resp.Object != "response" || resp.Status != "completed" || resp.OutputText() != "Hello from the router." ||
		!strings.HasPrefix(resp.ID, "resp_") {
		t.Errorf("answer: %s", resp.RawJSON())
	}
	if got := hr.Header.Get("X-Router-Model"); got != "fast" {
		t.Errorf("X-Router-Model = %q", got)
	}
	if rec := h.audit.next(t); rec.Endpoint != "responses" || rec.Status != 200 {
		t.Errorf("audit endpoint %q status %d", rec.Endpoint, rec.Status)
	}
}

// TestModelsRetrieve reads one model with models.retrieve: what the key may
// use is answered, what it may not is a 404 like an unknown id, so a key
// learns nothing of the rest.
func TestModelsRetrieve(t *testing.T) {
	h := newHarness(t, `
providers: [{name: sim, type: mock}]
models: [{id: fast, provider: sim}, {id: slow, provider: sim}]
routes:
  - {name: granted, targets: [{model: fast}]}
  - {name: other, targets: [{model: slow}]}
keys:
  - {id: app, hash: "`+hashOf("sk-app")+`", routes: [granted], models: [slow]}
`, nil)
	tests := []struct {
		id, owner string
		status    int // 0: found
	}{
		{"granted", "llm-router", 0},
		{"slow", "sim", 0},
		{"other", "", 404},
		{"fast", "", 404},
		{"nonexistent", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			m, err := h.client("sk-app").Models.Get(context.Background(), tt.id)
			var apiErr *openai.Error
			switch {
			case tt.status == 0 && err != nil:
				t.Fatalf("retrieve: %v", err)
			case tt.status == 0:
				if m.ID != tt.id || m.Object != "model" || m.OwnedBy != tt.owner {
					t.Errorf("got %s", m.RawJSON())
				}
			case !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status || apiErr.Code != "model_not_found":
				t.Errorf("got %v, want a %d model_not_found", err, tt.status)
			}
		})
	}
	_, err := h.client("sk-wrong").Models.Get(context.Background(), "granted")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Errorf("a wrong key: %v, want a 401", err)
	}
}

// TestErrorAnswersNameRouteAndAttempts checks that a failed request's
// answer says which route it was and how many attempts were made, on every
// endpoint, whenever the route is known.
func TestErrorAnswersNameRouteAndAttempts(t *testing.T) {
	h := newHarness(t, `
providers:
  - {name: down-a, type: mock, mock: {fail_rate: 1, fail_status: 503}}
  - {name: down-b, type: mock, mock: {fail_rate: 1, fail_status: 500}}
models: [{id: a, provider: down-a}, {id: b, provider: down-b}]
routes:
  - {name: broken, targets: [{model: a}, {model: b}]}
  - {name: closed, targets: [{model: a}]}
keys:
  - {id: app, hash: "`+hashOf("sk-app")+`", routes: [broken]}
`, nil)
	chat := `{"model":"%s","messages":[{"role":"user","content":"hi"}]%s}`
	tests := []struct {
		name, path, body string
		status           int
		route, attempts  string // "" : the header must be absent
	}{
		{"chat", "/v1/chat/completions", fmt.Sprintf(chat, "broken", ""), 0, "broken", "2"},
		{"chat stream", "/v1/chat/completions", fmt.Sprintf(chat, "broken", `,"stream":true`), 0, "broken", "2"},
		{"embeddings", "/v1/embeddings", `{"model":"broken","input":"hi"}`, 0, "broken", "2"},
		{"responses", "/v1/responses", `{"model":"broken","input":"hi"}`, 0, "broken", "2"},
		{"messages", "/v1/messages", `{"model":"broken","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`, 0, "broken", "2"},
		{"route not granted", "/v1/chat/completions", fmt.Sprintf(chat, "closed", ""), 403, "closed", "0"},
		{"unknown route", "/v1/chat/completions", fmt.Sprintf(chat, "nowhere", ""), 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.post(t, tt.path, tt.body, map[string]string{"Authorization": "Bearer sk-app"})
			body, _ := io.ReadAll(resp.Body)
			if strings.Contains(string(body), "unknown_url") {
				t.Fatalf("no such endpoint: %s", body)
			}
			h.audit.next(t)
			if resp.StatusCode < 400 || tt.status != 0 && resp.StatusCode != tt.status {
				t.Errorf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("X-Router-Route"); got != tt.route {
				t.Errorf("X-Router-Route = %q, want %q", got, tt.route)
			}
			if got := resp.Header.Get("X-Router-Attempts"); got != tt.attempts {
				t.Errorf("X-Router-Attempts = %q, want %q", got, tt.attempts)
			}
		})
	}
}

// TestCompletionIDsAreUnique sends requests to two simulated providers,
// plain and streamed: no two answers may share an id, as clients and logs
// key on them.
func TestCompletionIDsAreUnique(t *testing.T) {
	h := newHarness(t, `
providers: [{name: sim-a, type: mock}, {name: sim-b, type: mock}]
models: [{id: a, provider: sim-a}, {id: b, provider: sim-b}]
routes: [{name: route-a, targets: [{model: a}]}, {name: route-b, targets: [{model: b}]}]
`, nil)
	ctx := context.Background()
	seen := map[string]string{}
	add := func(id, what string) {
		t.Helper()
		if id == "" {
			t.Errorf("%s: no id", what)
		} else if prev, dup := seen[id]; dup {
			t.Errorf("%s has id %s, as %s had", what, id, prev)
		}
		seen[id] = what
	}
	for i := range 3 {
		for _, route := range []string{"route-a", "route-b"} {
			p := openai.ChatCompletionNewParams{Model: route, Messages: userMessage("hi")}
			got, err := h.client("unused").Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			h.audit.next(t)
			add(got.ID, fmt.Sprintf("plain #%d on %s", i, route))
			_, _, ids, _ := choicesOf(t, h.client("unused").Chat.Completions.NewStreaming(ctx, p))
			h.audit.next(t)
			if len(ids) != 1 {
				t.Errorf("stream #%d on %s has ids %v, want one", i, route, ids)
			}
			for _, id := range ids {
				add(id, fmt.Sprintf("stream #%d on %s", i, route))
			}
		}
	}
}

// TestEmbeddingsBase64OnTranslatingAdapters checks the adapters that encode
// base64 themselves (Gemini, Bedrock Titan): the base64 answer decodes to
// the vectors the same provider answers as floats.
func TestEmbeddingsBase64OnTranslatingAdapters(t *testing.T) {
	awsTestEnv(t)
	gem := geminitest.NewServer(geminitest.Options{})
	defer gem.Close()
	br := bedrocktest.New(t)
	h := newHarness(t, fmt.Sprintf(`
providers:
  - {name: gem, type: gemini, base_url: %q, key: "env:GEMINI_KEY"}
  - {name: br, type: bedrock, base_url: %q, region: us-east-1}
models:
  - {id: gem-embed, provider: gem, upstream: gemini-embedding-001, price: {input: 0.15, output: 0}}
  - {id: titan, provider: br, upstream: "amazon.titan-embed-text-v2:0", price: {input: 0.02, output: 0}}
routes:
  - {name: gemini, targets: [{model: gem-embed}]}
  - {name: bedrock, targets: [{model: titan}]}
`, gem.URL, br.URL), map[string]string{"GEMINI_KEY": gem.Key()})
	for _, route := range []string{"gemini", "bedrock"} {
		t.Run(route, func(t *testing.T) {
			embed := func(format string) *openai.CreateEmbeddingResponse {
				t.Helper()
				got, err := h.client("unused").Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: route,
					Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
					EncodingFormat: openai.EmbeddingNewParamsEncodingFormat(format)})
				if err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				h.audit.next(t)
				return got
			}
			floats, b64 := embed("float"), embed("base64")
			if len(b64.Data) != 2 || len(floats.Data) != 2 {
				t.Fatalf("%d and %d vectors, want 2", len(b64.Data), len(floats.Data))
			}
			for i, d := range b64.Data {
				if raw := d.JSON.Embedding.Raw(); !strings.HasPrefix(raw, `"`) {
					t.Errorf("vector %d is %.40s…, want a base64 string", i, raw)
				}
				if !sameFloat32(d.Embedding, floats.Data[i].Embedding) {
					t.Errorf("vector %d = %v, want %v", i, d.Embedding, floats.Data[i].Embedding)
				}
			}
		})
	}
}
