package gateway_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
)

// choicesOf collects a stream's text per choice index and which choices
// finished.
func choicesOf(t *testing.T, s interface {
	Next() bool
	Current() openai.ChatCompletionChunk
	Err() error
}) (texts map[int64]string, finished map[int64]string, ids []string, usage openai.CompletionUsage) {
	t.Helper()
	texts, finished = map[int64]string{}, map[int64]string{}
	for s.Next() {
		c := s.Current()
		if !slices.Contains(ids, c.ID) {
			ids = append(ids, c.ID)
		}
		for _, ch := range c.Choices {
			texts[ch.Index] += ch.Delta.Content
			if ch.FinishReason != "" {
				finished[ch.Index] = ch.FinishReason
			}
		}
		if c.Usage.TotalTokens > 0 {
			usage = c.Usage
		}
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return texts, finished, ids, usage
}

// TestTwoChoices asks for n = 2: the mock answers one choice per call, so
// the router makes two calls; so does Anthropic, whose usage and cost are
// then the sum of both calls.
func TestTwoChoices(t *testing.T) {
	claude := anthropictest.NewServer()
	defer claude.Close()
	h := newHarness(t, fmt.Sprintf(`
providers:
  - {name: sim, type: mock, mock: {reply: "Two roads diverged."}}
  - {name: claude, type: anthropic, base_url: %q, key: "env:ANTHROPIC_KEY"}
models:
  - {id: fast, provider: sim}
  - {id: sonnet, provider: claude, upstream: claude-sonnet-4-5, price: {input: 3, output: 15}}
routes:
  - {name: sim, targets: [{model: fast}]}
  - {name: claude, targets: [{model: sonnet}]}
`, claude.URL), map[string]string{"ANTHROPIC_KEY": "sk-ant"})
	ctx := context.Background()
	params := func(route string) openai.ChatCompletionNewParams {
		return openai.ChatCompletionNewParams{Model: route, Messages: userMessage("A poem, please."), N: openai.Int(2)}
	}

	t.Run("mock", func(t *testing.T) {
		got, err := h.client("unused").Chat.Completions.New(ctx, params("sim"))
		if err != nil {
			t.Fatal(err)
		}
		h.audit.next(t)
		if len(got.Choices) != 2 {
			t.Fatalf("%d choices, want 2: %s", len(got.Choices), got.RawJSON())
		}
		for i, c := range got.Choices {
			if c.Index != int64(i) || c.Message.Content != "Two roads diverged." || c.FinishReason != "stop" {
				t.Errorf("choice %d: %s", i, c.RawJSON())
			}
		}
	})
	t.Run("mock stream", func(t *testing.T) {
		texts, finished, ids, _ := choicesOf(t, h.client("unused").Chat.Completions.NewStreaming(ctx, params("sim")))
		h.audit.next(t)
		want := map[int64]string{0: "Two roads diverged.", 1: "Two roads diverged."}
		if fmt.Sprint(texts) != fmt.Sprint(want) || len(finished) != 2 || len(ids) != 1 {
			t.Errorf("texts %v, finished %v, ids %v: want two whole choices under one id", texts, finished, ids)
		}
	})

	// One call costs 10 input and 20 output tokens (the fake's usage): $330e-6.
	const oneCall = (10*3 + 20*15) / 1e6
	t.Run("anthropic", func(t *testing.T) {
		before := len(claude.Requests())
		got, err := h.client("unused").Chat.Completions.New(ctx, params("claude"))
		if err != nil {
			t.Fatal(err)
		}
		rec := h.audit.next(t)
		reqs := claude.Requests()[before:]
		if len(reqs) != 2 {
			t.Fatalf("Anthropic got %d calls, want 2", len(reqs))
		}
		for _, r := range reqs {
			if _, ok := r.JSON()["n"]; ok {
				t.Errorf("n reached Anthropic: %s", r.Body)
			}
		}
		if len(got.Choices) != 2 || got.Choices[0].Index != 0 || got.Choices[1].Index != 1 ||
			got.Choices[0].Message.Content != anthropictest.DefaultText || got.Choices[1].Message.Content != anthropictest.DefaultText {
			t.Errorf("answer: %s", got.RawJSON())
		}
		if got.Usage.PromptTokens != 20 || got.Usage.CompletionTokens != 40 {
			t.Errorf("usage (%d, %d), want the sum of two calls (20, 40)", got.Usage.PromptTokens, got.Usage.CompletionTokens)
		}
		if rec.Usage.PromptTokens != 20 || rec.Usage.CompletionTokens != 40 || math.Abs(rec.CostUSD-2*oneCall) > 1e-12 {
			t.Errorf("audit usage %+v cost %g, want (20, 40) and %g", rec.Usage, rec.CostUSD, 2*oneCall)
		}
	})
	t.Run("anthropic stream", func(t *testing.T) {
		before := len(claude.Requests())
		p := params("claude")
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		texts, finished, ids, usage := choicesOf(t, h.client("unused").Chat.Completions.NewStreaming(ctx, p))
		rec := h.audit.next(t)
		if n := len(claude.Requests()) - before; n != 2 {
			t.Errorf("Anthropic got %d calls, want 2", n)
		}
		want := map[int64]string{0: anthropictest.DefaultText, 1: anthropictest.DefaultText}
		if fmt.Sprint(texts) != fmt.Sprint(want) || len(finished) != 2 || len(ids) != 1 {
			t.Errorf("texts %v, finished %v, ids %v", texts, finished, ids)
		}
		if usage.PromptTokens != 20 || usage.CompletionTokens != 40 || math.Abs(rec.CostUSD-2*oneCall) > 1e-12 {
			t.Errorf("usage (%d, %d), audit cost %g, want (20, 40) and %g", usage.PromptTokens, usage.CompletionTokens, rec.CostUSD, 2*oneCall)
		}
	})
}
