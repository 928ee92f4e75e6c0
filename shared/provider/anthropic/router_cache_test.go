package anthropic_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
)

const cacheYAML = `
providers:
  - name: claude-direct
    type: anthropic
    base_url: %s
    key: env:ANTHROPIC_API_KEY
models:
  - id: claude
    provider: claude-direct
    upstream: claude-sonnet-4-5
    max_tokens: 16000
    price: {input: 3, output: 15, cached_input: 0.30, cache_write: 3.75, cache_write_1h: 6}
routes:
  - name: assistant
    targets: [{model: claude}]
  - name: cached
    prompt_cache: auto
    targets: [{model: claude}]
  - name: nocache
    prompt_cache: "off"
    targets: [{model: claude}]
  - name: thinker
    reasoning: {default: low, max: medium}
    targets: [{model: claude}]
`

// longSystem is over Sonnet's minimum cacheable prefix of 1024 tokens.
var longSystem = strings.Repeat("You triage patient messages for a clinic: be brief, cite the protocol. ", 80)

var ephemeral = map[string]any{"type": "ephemeral"}

func marked(text string, cc map[string]any) openai.ChatCompletionContentPartTextParam {
	p := openai.ChatCompletionContentPartTextParam{Text: text}
	p.SetExtraFields(map[string]any{"cache_control": cc})
	return p
}

func lookupTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "lookup",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}})
}

// block is what the fake received at a JSON path of blocks.
func blocks(v any) []map[string]any {
	var out []map[string]any
	list, _ := v.([]any)
	for _, b := range list {
		if m, ok := b.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// ttl is a block's cache_control TTL, "none" without a marker.
func ttl(block map[string]any) any {
	cc, ok := block["cache_control"].(map[string]any)
	if !ok {
		return "none"
	}
	return cc["ttl"]
}

// cache_control written as LiteLLM and OpenRouter take it (a content part,
// a message, a tool) reaches Anthropic as its own markers; a route with
// prompt_cache: off sends none.
func TestRouterCacheControlArrivesAsMarkers(t *testing.T) {
	h := newHarnessWith(t, cacheYAML)
	ctx := context.Background()
	hour := map[string]any{"type": "ephemeral", "ttl": "1h"}
	user := openai.ChatCompletionUserMessageParam{Content: openai.ChatCompletionUserMessageParamContentUnion{OfString: openai.String("Triage this.")}}
	user.SetExtraFields(map[string]any{"cache_control": ephemeral})
	tool := lookupTool()
	tool.OfFunction.SetExtraFields(map[string]any{"cache_control": hour})
	params := openai.ChatCompletionNewParams{Model: "assistant", Tools: []openai.ChatCompletionToolUnionParam{tool},
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage([]openai.ChatCompletionContentPartTextParam{{Text: "Rules: "}, marked(longSystem, hour)}),
			{OfUser: &user}}}
	if _, err := h.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	h.record(t)
	body := h.upstream(t)
	sys := blocks(body["system"])
	if len(sys) != 2 || sys[0]["cache_control"] != nil || ttl(sys[1]) != "1h" {
		t.Errorf("system = %v, want the second block marked for an hour", body["system"])
	}
	msgs := blocks(body["messages"])
	if content := blocks(msgs[0]["content"]); len(content) != 1 || content[0]["cache_control"] == nil {
		t.Errorf("user turn = %v, want its text block marked", msgs[0])
	}
	if tools := blocks(body["tools"]); len(tools) != 1 || ttl(tools[0]) != "1h" {
		t.Errorf("tools = %v, want the tool marked", tools)
	}

	params.Model = "nocache"
	if _, err := h.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	h.record(t)
	req, _ := h.fake.Last()
	if strings.Contains(string(req.Body), "cache_control") {
		t.Errorf("prompt_cache: off sent markers: %s", req.Body)
	}
}

// prompt_cache: auto marks the tools and the system prompt of a client that
// sent no marker. The first request writes the prefix, priced at the
// cache-write rate; a second identical one reads it and costs what
// Anthropic's cache read costs.
func TestRouterPromptCacheAuto(t *testing.T) {
	h := newHarnessWith(t, cacheYAML)
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "cached", Tools: []openai.ChatCompletionToolUnionParam{lookupTool()},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(longSystem), openai.UserMessage("Chest pain since this morning.")}}
	first, err := h.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	rec1 := h.record(t)
	body := h.upstream(t)
	if sys := blocks(body["system"]); len(sys) != 1 || sys[0]["cache_control"] == nil {
		t.Errorf("system = %v, want it marked", body["system"])
	}
	if tools := blocks(body["tools"]); tools[len(tools)-1]["cache_control"] == nil {
		t.Errorf("tools = %v, want the last one marked", tools)
	}
	written := rec1.Usage.CacheWriteTokens
	input := rec1.Usage.PromptTokens - written
	if written < 1024 || rec1.Usage.CachedTokens != 0 {
		t.Fatalf("first request usage %+v: want the prefix written", rec1.Usage)
	}
	if want := expectedCost(input, 0, written, 20); math.Abs(rec1.CostUSD-want) > 1e-9 {
		t.Errorf("first request cost %v, want %v (writes at 3.75/M)", rec1.CostUSD, want)
	}
	if first.Usage.PromptTokens != int64(rec1.Usage.PromptTokens) {
		t.Errorf("client usage %+v, record %+v", first.Usage, rec1.Usage)
	}

	second, err := h.client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	rec2 := h.record(t)
	if rec2.Usage.CachedTokens != written || rec2.Usage.CacheWriteTokens != 0 || rec2.Usage.PromptTokens != rec1.Usage.PromptTokens {
		t.Fatalf("second request usage %+v: want a read of the %d written", rec2.Usage, written)
	}
	if want := expectedCost(input, written, 0, 20); math.Abs(rec2.CostUSD-want) > 1e-9 {
		t.Errorf("second request cost %v, want %v (reads at 0.30/M)", rec2.CostUSD, want)
	}
	if second.Usage.PromptTokensDetails.CachedTokens != int64(written) {
		t.Errorf("client's cached_tokens %d, want %d", second.Usage.PromptTokensDetails.CachedTokens, written)
	}
	// The saving is the read discount: (3 - 0.30) per million read tokens.
	if saved := rec1.CostUSD - rec2.CostUSD; math.Abs(saved-float64(written)*(3.75-0.30)/1e6) > 1e-9 {
		t.Errorf("second request cheaper by %v", saved)
	}
}

// A one-hour breakpoint's write is priced at the one-hour rate.
func TestRouterOneHourCacheWrite(t *testing.T) {
	h := newHarnessWith(t, cacheYAML)
	params := openai.ChatCompletionNewParams{Model: "assistant",
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage([]openai.ChatCompletionContentPartTextParam{marked(longSystem, map[string]any{"type": "ephemeral", "ttl": "1h"})}),
			openai.UserMessage("Fever for three days.")}}
	if _, err := h.client.Chat.Completions.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	rec := h.record(t)
	w := rec.Usage.CacheWriteTokens
	if w < 1024 {
		t.Fatalf("usage %+v: want a write", rec.Usage)
	}
	input := rec.Usage.PromptTokens - w
	if want := (float64(input)*3 + float64(w)*6 + 20*15) / 1e6; math.Abs(rec.CostUSD-want) > 1e-9 {
		t.Errorf("cost %v, want %v (one-hour writes at 6/M)", rec.CostUSD, want)
	}
}

// reasoning_effort arrives as thinking with the effort's budget, capped by
// the route's max; a route default applies when the client names none.
// Thinking tokens are in Anthropic's output tokens and priced as output.
func TestRouterThinking(t *testing.T) {
	h := newHarnessWith(t, cacheYAML)
	ctx := context.Background()
	for _, tt := range []struct {
		effort     string
		wantBudget float64
	}{{"", 2048}, {"medium", 8192}, {"high", 8192}} {
		h.fake.Enqueue(anthropictest.Reply{Thinking: "Weigh the symptoms.", Text: "Urgent.",
			Usage: &anthropictest.Usage{InputTokens: 100, OutputTokens: 900}})
		params := openai.ChatCompletionNewParams{Model: "thinker", Temperature: openai.Float(0.2),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
		if tt.effort != "" {
			params.ReasoningEffort = openai.ReasoningEffort(tt.effort)
		}
		answer, err := h.client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("effort %q: %v", tt.effort, err)
		}
		rec := h.record(t)
		body := h.upstream(t)
		th, _ := body["thinking"].(map[string]any)
		if th["type"] != "enabled" || th["budget_tokens"] != tt.wantBudget {
			t.Errorf("effort %q: thinking = %v, want a budget of %v", tt.effort, body["thinking"], tt.wantBudget)
		}
		if _, ok := body["temperature"]; ok {
			t.Errorf("effort %q: temperature sent with thinking", tt.effort)
		}
		if answer.Choices[0].Message.Content != "Urgent." || rec.Usage.CompletionTokens != 900 {
			t.Errorf("effort %q: answer %q, completion tokens %d", tt.effort, answer.Choices[0].Message.Content, rec.Usage.CompletionTokens)
		}
		if want := (100*3 + 900*15) / 1e6; math.Abs(rec.CostUSD-want) > 1e-9 {
			t.Errorf("effort %q: cost %v, want %v", tt.effort, rec.CostUSD, want)
		}
	}
}

// A tool loop with thinking: a client that asks for the reasoning gets the
// signed thinking blocks, sends them back, and Anthropic (the fake checks
// signatures and the final turn's first block) accepts the loop, streamed
// or not. A client that drops them has its loop continued without thinking.
func TestRouterThinkingToolLoop(t *testing.T) {
	h := newHarnessWith(t, cacheYAML)
	ctx := context.Background()
	script := anthropictest.Reply{Thinking: "I need the protocol.", RedactedThinking: "ZW5jcnlwdGVk",
		ToolUses: []anthropictest.ToolUse{{ID: "toolu_1", Name: "lookup", Input: `{"q":"chest pain"}`}}}
	for _, stream := range []bool{false, true} {
		h.fake.Enqueue(script)
		params := openai.ChatCompletionNewParams{Model: "thinker", Tools: []openai.ChatCompletionToolUnionParam{lookupTool()},
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
		params.SetExtraFields(map[string]any{"include_reasoning": true})
		var msg openai.ChatCompletionMessage
		var thinking []any
		if stream {
			s := h.client.Chat.Completions.NewStreaming(ctx, params)
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				c := s.Current()
				acc.AddChunk(c)
				if len(c.Choices) > 0 {
					if raw, ok := c.Choices[0].Delta.JSON.ExtraFields["thinking_blocks"]; ok {
						var part []any
						_ = json.Unmarshal([]byte(raw.Raw()), &part)
						thinking = append(thinking, part...)
					}
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			msg = acc.Choices[0].Message
		} else {
			answer, err := h.client.Chat.Completions.New(ctx, params)
			if err != nil {
				t.Fatal(err)
			}
			msg = answer.Choices[0].Message
			_ = json.Unmarshal([]byte(msg.JSON.ExtraFields["thinking_blocks"].Raw()), &thinking)
		}
		h.record(t)
		if len(thinking) != 2 || len(msg.ToolCalls) != 1 {
			t.Fatalf("stream %v: thinking blocks %v, tool calls %v", stream, thinking, msg.ToolCalls)
		}
		asst := msg.ToAssistantMessageParam()
		asst.SetExtraFields(map[string]any{"thinking_blocks": thinking})
		h.fake.Enqueue(anthropictest.Reply{Text: "Go to the emergency room."})
		params.Messages = append(params.Messages, openai.ChatCompletionMessageParamUnion{OfAssistant: &asst},
			openai.ToolMessage("Protocol 7: chest pain is urgent.", msg.ToolCalls[0].ID))
		final, err := h.client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("stream %v: the loop with the thinking blocks sent back: %v", stream, err)
		}
		h.record(t)
		if final.Choices[0].Message.Content != "Go to the emergency room." {
			t.Errorf("final = %q", final.Choices[0].Message.Content)
		}
		if body := h.upstream(t); body["thinking"] == nil {
			t.Errorf("stream %v: thinking off in the loop", stream)
		}
	}

	// The same loop without the blocks.
	h.fake.Enqueue(anthropictest.Reply{Text: "Go to the emergency room."})
	params := openai.ChatCompletionNewParams{Model: "thinker", Tools: []openai.ChatCompletionToolUnionParam{lookupTool()},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "toolu_1",
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "lookup", Arguments: `{"q":"chest pain"}`}}}}}},
			openai.ToolMessage("Protocol 7.", "toolu_1")}}
	if _, err := h.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatalf("a loop without its thinking blocks: %v", err)
	}
	h.record(t)
	if body := h.upstream(t); body["thinking"] != nil {
		t.Errorf("thinking = %v, want it off for a loop whose blocks were dropped", body["thinking"])
	}
}
