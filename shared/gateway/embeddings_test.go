package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

func TestEmbeddingsThroughOpenAIClient(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	defer prim.Close()
	back := openaitest.NewServer("back", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Usage: openaitest.Usage{Prompt: 1000}}
	})
	defer back.Close()
	cfg := fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q}
  - {name: back, type: openai, base_url: %q}
  - {name: claude, type: anthropic, base_url: "http://127.0.0.1:1", key: "env:ANTHROPIC_KEY"}
models:
  - {id: emb-a, provider: prim, upstream: text-embedding-3-small, price: {input: 0.02, output: 0}}
  - {id: emb-b, provider: back, upstream: text-embedding-3-large, price: {input: 0.13, output: 0}}
  - {id: sonnet, provider: claude, price: {input: 1, output: 2}}
routes:
  - name: embed
    targets: [{model: emb-a}, {model: sonnet}, {model: emb-b}]
  - name: chat-only
    targets: [{model: sonnet}]
`, prim.BaseURL(), back.BaseURL())
	h := newHarness(t, cfg, map[string]string{"ANTHROPIC_KEY": "x"})
	var resp *http.Response
	got, err := h.client("unused").Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "embed",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"first", "second"}},
	}, option.WithResponseInto(&resp))
	if err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	if len(got.Data) != 2 || got.Model != "emb-b" || got.Usage.PromptTokens != 1000 {
		t.Errorf("answer: %d vectors, model %q, usage %+v", len(got.Data), got.Model, got.Usage)
	}
	if r := back.Received()[0]; r.Model != "text-embedding-3-large" || r.Path != "/v1/embeddings" {
		t.Errorf("backup got %s for model %q", r.Path, r.Model)
	}
	// 1000 tokens at $0.13 per 1M
	if c := resp.Header.Get("X-Router-Cost-Usd"); c != "0.00013" {
		t.Errorf("cost = %s", c)
	}
	rec := h.audit.next(t)
	if rec.Endpoint != "embeddings" || len(rec.Attempts) != 2 || rec.Attempts[0].Status != 503 || rec.Model != "emb-b" {
		t.Errorf("audit = %+v", rec)
	}

	// A route none of whose targets serves embeddings is a client error.
	_, err = h.client("unused").Embeddings.New(context.Background(), openai.EmbeddingNewParams{
		Model: "chat-only", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "model_not_supported" {
		t.Errorf("chat-only route: %v", err)
	}
	h.audit.next(t)

	for _, bad := range []string{`{"model":"embed"}`, `{"model":"embed","input":[]}`, `{"model":"embed","input":[""]}`, `{"model":"embed","input":{"a":1}}`} {
		resp := h.post(t, "/v1/embeddings", bad, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"param":"input`) {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
		h.audit.next(t)
	}
}
