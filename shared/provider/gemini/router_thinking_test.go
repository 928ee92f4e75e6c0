package gemini_test

import (
	"context"
	"encoding/json"
	"math"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/llm-router/router/shared/provider/gemini/geminitest"
)

const thinkingConfigYAML = `
providers:
  - name: gem
    type: gemini
    base_url: FAKE_URL
    key: env:GEMINI_API_KEY
models:
  - id: flash
    provider: gem
    upstream: gemini-2.5-flash
    price: {input: 0.30, output: 2.50, cached_input: 0.03}
  - id: pro3
    provider: gem
    upstream: gemini-3-pro-preview
    price: {input: 2, output: 12, cached_input: 0.2}
routes:
  - name: flash-thinking
    reasoning: {default: low, max: medium}
    targets: [{model: flash}]
  - name: pro-thinking
    targets: [{model: pro3}]
`

// reasoning_effort arrives as Gemini's thinkingConfig (a budget on 2.5, a
// level on 3), capped by the route; include_reasoning asks for the thought
// summaries, which come back as reasoning_content. Thought tokens are billed
// as output and cached tokens at the cached rate, as Gemini bills them.
func TestRouterThinking(t *testing.T) {
	h := newHarnessWith(t, "", thinkingConfigYAML)
	ctx := context.Background()
	for _, tt := range []struct {
		route, effort string
		include       bool
		want          string
	}{
		{"flash-thinking", "", false, `{"thinkingBudget":1024}`},
		{"flash-thinking", "high", true, `{"includeThoughts":true,"thinkingBudget":8192}`},
		{"pro-thinking", "low", false, `{"thinkingLevel":"LOW"}`},
		{"pro-thinking", "high", false, `{"thinkingLevel":"HIGH"}`},
	} {
		h.fake.Enqueue(geminitest.Reply{Thought: "Weigh the symptoms.", Text: []string{"Urgent."},
			Usage: &geminitest.Usage{Prompt: 2000, Cached: 1500, Candidates: 10, Thoughts: 300}})
		params := openai.ChatCompletionNewParams{Model: tt.route, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
		if tt.effort != "" {
			params.ReasoningEffort = openai.ReasoningEffort(tt.effort)
		}
		if tt.include {
			params.SetExtraFields(map[string]any{"include_reasoning": true})
		}
		answer, err := h.client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		rec := h.audit.next(t)
		reqs := h.fake.Requests()
		var body struct {
			GenerationConfig struct {
				ThinkingConfig map[string]any `json:"thinkingConfig"`
			} `json:"generationConfig"`
		}
		_ = json.Unmarshal(reqs[len(reqs)-1].Body, &body)
		if got, _ := json.Marshal(body.GenerationConfig.ThinkingConfig); string(got) != tt.want {
			t.Errorf("%+v: thinkingConfig %s, want %s", tt, got, tt.want)
		}
		_, hasReasoning := answer.Choices[0].Message.JSON.ExtraFields["reasoning_content"]
		if hasReasoning != tt.include || answer.Choices[0].Message.Content != "Urgent." {
			t.Errorf("%+v: reasoning in the answer %v, content %q", tt, hasReasoning, answer.Choices[0].Message.Content)
		}
		if rec.Usage.CompletionTokens != 310 || rec.Usage.CachedTokens != 1500 || answer.Usage.CompletionTokensDetails.ReasoningTokens != 300 {
			t.Errorf("%+v: usage %+v, client's reasoning tokens %d", tt, rec.Usage, answer.Usage.CompletionTokensDetails.ReasoningTokens)
		}
		price := map[string][3]float64{"flash-thinking": {0.30, 2.50, 0.03}, "pro-thinking": {2, 12, 0.2}}[tt.route]
		if want := (500*price[0] + 1500*price[2] + 310*price[1]) / 1e6; math.Abs(rec.CostUSD-want) > 1e-9 {
			t.Errorf("%+v: cost %v, want %v", tt, rec.CostUSD, want)
		}
	}
}

// Streamed, the thought summaries reach a client that asked for them, as
// reasoning_content deltas, and no other.
func TestRouterThinkingStream(t *testing.T) {
	h := newHarnessWith(t, "", thinkingConfigYAML)
	for _, include := range []bool{false, true} {
		h.fake.Enqueue(geminitest.Reply{Thought: "Weigh it.", Text: []string{"Urg", "ent."}})
		params := openai.ChatCompletionNewParams{Model: "flash-thinking", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
		if include {
			params.SetExtraFields(map[string]any{"include_reasoning": true})
		}
		stream := h.client.Chat.Completions.NewStreaming(context.Background(), params)
		reasoning, content := "", ""
		for stream.Next() {
			c := stream.Current()
			if len(c.Choices) == 0 {
				continue
			}
			content += c.Choices[0].Delta.Content
			if raw, ok := c.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
				var s string
				_ = json.Unmarshal([]byte(raw.Raw()), &s)
				reasoning += s
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		h.audit.next(t)
		want := ""
		if include {
			want = "Weigh it."
		}
		if reasoning != want || content != "Urgent." {
			t.Errorf("include %v: reasoning %q, content %q", include, reasoning, content)
		}
	}
}
