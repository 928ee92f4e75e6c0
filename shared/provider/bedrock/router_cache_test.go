package bedrock_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

const cacheConfig = `
providers:
  - name: bedrock-us
    type: bedrock
    base_url: %s
    region: us-east-1
models:
  - id: sonnet
    provider: bedrock-us
    upstream: us.anthropic.claude-sonnet-4-5-20250929-v1:0
    max_tokens: 16000
    price: {input: 3.30, output: 16.50, cached_input: 0.33, cache_write: 4.125, cache_write_1h: 6.60}
  - id: nova
    provider: bedrock-us
    upstream: us.amazon.nova-2-lite-v1:0
    price: {input: 0.30, output: 2.50, cached_input: 0.075}
  - id: llama
    provider: bedrock-us
    upstream: meta.llama3-70b-instruct-v1:0
    price: {input: 2.65, output: 3.50}
routes:
  - name: claude
    targets: [{model: sonnet}]
  - name: cached
    prompt_cache: auto
    targets: [{model: sonnet}]
  - name: thinker
    reasoning: {default: low, max: medium}
    targets: [{model: sonnet}]
  - name: nova-thinker
    reasoning: {default: medium}
    targets: [{model: nova}]
  - name: plain
    prompt_cache: auto
    reasoning: {default: low}
    targets: [{model: llama}]
`

var longSystem = strings.Repeat("You triage patient messages for a clinic: be brief, cite the protocol. ", 80)

func markedPart(text string, cc map[string]any) openai.ChatCompletionContentPartTextParam {
	p := openai.ChatCompletionContentPartTextParam{Text: text}
	p.SetExtraFields(map[string]any{"cache_control": cc})
	return p
}

func lookupTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "lookup",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"q": map[string]any{"type": "string"}}}})
}

// converse is the last Converse body the fake received.
type converse struct {
	System   []map[string]json.RawMessage `json:"system"`
	Messages []struct {
		Role    string                       `json:"role"`
		Content []map[string]json.RawMessage `json:"content"`
	} `json:"messages"`
	InferenceConfig map[string]any `json:"inferenceConfig"`
	ToolConfig      struct {
		Tools []map[string]json.RawMessage `json:"tools"`
	} `json:"toolConfig"`
	Additional map[string]any `json:"additionalModelRequestFields"`
}

func lastConverse(t *testing.T, rt *router) converse {
	t.Helper()
	var c converse
	if err := rt.fake.Last(t).Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// kinds names each block of a list by its member: text, cachePoint, toolSpec.
func kinds(blocks []map[string]json.RawMessage) string {
	var out []string
	for _, b := range blocks {
		for k, v := range b {
			if k == "cachePoint" && strings.Contains(string(v), `"1h"`) {
				k += "(1h)"
			}
			out = append(out, k)
		}
	}
	return strings.Join(out, ",")
}

// cache_control in OpenAI-shaped requests reaches Bedrock as cachePoint
// blocks after the marked content, for the models Bedrock caches for; a
// model it does not cache for gets none.
func TestRouterCachePoints(t *testing.T) {
	rt := newRouterWith(t, cacheConfig)
	ctx := context.Background()
	user := openai.ChatCompletionUserMessageParam{Content: openai.ChatCompletionUserMessageParamContentUnion{OfString: openai.String("Triage this.")}}
	user.SetExtraFields(map[string]any{"cache_control": map[string]any{"type": "ephemeral"}})
	tool := lookupTool()
	tool.OfFunction.SetExtraFields(map[string]any{"cache_control": map[string]any{"type": "ephemeral", "ttl": "1h"}})
	params := openai.ChatCompletionNewParams{Model: "claude", Tools: []openai.ChatCompletionToolUnionParam{tool},
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage([]openai.ChatCompletionContentPartTextParam{{Text: "Rules: "}, markedPart(longSystem, map[string]any{"type": "ephemeral", "ttl": "1h"})}),
			{OfUser: &user}}}
	if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	rt.audit.next(t)
	c := lastConverse(t, rt)
	if got := kinds(c.ToolConfig.Tools); got != "toolSpec,cachePoint(1h)" {
		t.Errorf("tools = %s", got)
	}
	if got := kinds(c.System); got != "text,text,cachePoint(1h)" {
		t.Errorf("system = %s", got)
	}
	if got := kinds(c.Messages[0].Content); got != "text,cachePoint" {
		t.Errorf("user turn = %s", got)
	}

	params.Model = "plain"
	if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatalf("a model Bedrock does not cache for: %v", err)
	}
	rt.audit.next(t)
	if body := string(rt.fake.Last(t).Body); strings.Contains(body, "cachePoint") || strings.Contains(body, "additionalModelRequestFields") {
		t.Errorf("Llama got cache points or reasoning: %s", body)
	}
}

// prompt_cache: auto puts cache points after the tools and the system
// prompt; an identical second request reads what the first wrote, and
// each is priced at Bedrock's cache rates.
func TestRouterPromptCacheAuto(t *testing.T) {
	rt := newRouterWith(t, cacheConfig)
	ctx := context.Background()
	rt.fake.Push(bedrocktest.Reply{Text: "Urgent.", Usage: bedrocktest.Usage{Output: 20}}, bedrocktest.Reply{Text: "Urgent.", Usage: bedrocktest.Usage{Output: 20}})
	params := openai.ChatCompletionNewParams{Model: "cached", Tools: []openai.ChatCompletionToolUnionParam{lookupTool()},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(longSystem), openai.UserMessage("Chest pain since this morning.")}}
	if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	rec1 := rt.audit.next(t)
	c := lastConverse(t, rt)
	if kinds(c.ToolConfig.Tools) != "toolSpec,cachePoint" || kinds(c.System) != "text,cachePoint" {
		t.Errorf("tools %s, system %s: want each followed by a cache point", kinds(c.ToolConfig.Tools), kinds(c.System))
	}
	w := rec1.Usage.CacheWriteTokens
	input := rec1.Usage.PromptTokens - w
	if w < 1024 || rec1.Usage.CachedTokens != 0 {
		t.Fatalf("first usage %+v", rec1.Usage)
	}
	if want := (float64(input)*3.30 + float64(w)*4.125 + 20*16.50) / 1e6; math.Abs(rec1.CostUSD-want) > 1e-9 {
		t.Errorf("first cost %v, want %v", rec1.CostUSD, want)
	}
	if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
		t.Fatal(err)
	}
	rec2 := rt.audit.next(t)
	if rec2.Usage.CachedTokens != w || rec2.Usage.CacheWriteTokens != 0 || rec2.Usage.PromptTokens != rec1.Usage.PromptTokens {
		t.Fatalf("second usage %+v, want a read of %d", rec2.Usage, w)
	}
	if want := (float64(input)*3.30 + float64(w)*0.33 + 20*16.50) / 1e6; math.Abs(rec2.CostUSD-want) > 1e-9 {
		t.Errorf("second cost %v, want %v", rec2.CostUSD, want)
	}
}

// reasoning_effort becomes the model's own reasoning field: Claude's
// thinking budget (the route's ceiling capping the client's effort, the
// route's default when the client names none), Nova 2's maxReasoningEffort;
// thinking tokens are billed as output.
func TestRouterReasoning(t *testing.T) {
	rt := newRouterWith(t, cacheConfig)
	ctx := context.Background()
	for _, tt := range []struct {
		route, effort string
		want          string // additionalModelRequestFields as JSON
	}{
		{"thinker", "", `{"thinking":{"budget_tokens":2048,"type":"enabled"}}`},
		{"thinker", "high", `{"thinking":{"budget_tokens":8192,"type":"enabled"}}`},
		{"nova-thinker", "", `{"reasoningConfig":{"maxReasoningEffort":"medium","type":"enabled"}}`},
		{"nova-thinker", "minimal", `{"reasoningConfig":{"maxReasoningEffort":"low","type":"enabled"}}`},
	} {
		rt.fake.Push(bedrocktest.Reply{Reasoning: "Weigh it.", Text: "Urgent.", Usage: bedrocktest.Usage{Input: 100, Output: 900}})
		params := openai.ChatCompletionNewParams{Model: tt.route, Temperature: openai.Float(0.2),
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
		if tt.effort != "" {
			params.ReasoningEffort = openai.ReasoningEffort(tt.effort)
		}
		if _, err := rt.client.Chat.Completions.New(ctx, params); err != nil {
			t.Fatalf("%s %q: %v", tt.route, tt.effort, err)
		}
		rec := rt.audit.next(t)
		c := lastConverse(t, rt)
		if got, _ := json.Marshal(c.Additional); string(got) != tt.want {
			t.Errorf("%s %q: additionalModelRequestFields %s, want %s", tt.route, tt.effort, got, tt.want)
		}
		if tt.route == "thinker" {
			if _, ok := c.InferenceConfig["temperature"]; ok || c.InferenceConfig["maxTokens"] != float64(16000) {
				t.Errorf("inferenceConfig %v: want maxTokens 16000 and no temperature", c.InferenceConfig)
			}
			if want := (100*3.30 + 900*16.50) / 1e6; math.Abs(rec.CostUSD-want) > 1e-9 || rec.Usage.CompletionTokens != 900 {
				t.Errorf("cost %v (%+v), want %v", rec.CostUSD, rec.Usage, want)
			}
		}
	}
}

// A tool loop with Claude's signed reasoning through the router: the client
// that asks for it gets thinking_blocks and sends them back; the fake checks
// the signature and the final turn. Without them the loop goes on without
// thinking.
func TestRouterReasoningToolLoop(t *testing.T) {
	rt := newRouterWith(t, cacheConfig)
	ctx := context.Background()
	rt.fake.Push(bedrocktest.Reply{Reasoning: "I need the protocol.", RedactedReasoning: []byte("enc"),
		ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: "lookup", Input: `{"q":"chest pain"}`}}})
	params := openai.ChatCompletionNewParams{Model: "thinker", Tools: []openai.ChatCompletionToolUnionParam{lookupTool()},
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Chest pain?")}}
	params.SetExtraFields(map[string]any{"include_reasoning": true})
	stream := rt.client.Chat.Completions.NewStreaming(ctx, params)
	var acc openai.ChatCompletionAccumulator
	var thinking []any
	for stream.Next() {
		c := stream.Current()
		acc.AddChunk(c)
		if len(c.Choices) > 0 {
			if raw, ok := c.Choices[0].Delta.JSON.ExtraFields["thinking_blocks"]; ok {
				var part []any
				_ = json.Unmarshal([]byte(raw.Raw()), &part)
				thinking = append(thinking, part...)
			}
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	rt.audit.next(t)
	msg := acc.Choices[0].Message
	if len(thinking) != 2 || len(msg.ToolCalls) != 1 {
		t.Fatalf("thinking blocks %v, tool calls %v", thinking, msg.ToolCalls)
	}
	asst := msg.ToAssistantMessageParam()
	asst.SetExtraFields(map[string]any{"thinking_blocks": thinking})
	loop := params
	loop.Messages = append(append([]openai.ChatCompletionMessageParamUnion(nil), params.Messages...),
		openai.ChatCompletionMessageParamUnion{OfAssistant: &asst}, openai.ToolMessage("Protocol 7.", msg.ToolCalls[0].ID))
	rt.fake.Push(bedrocktest.Reply{Text: "Go to the emergency room."})
	if _, err := rt.client.Chat.Completions.New(ctx, loop); err != nil {
		t.Fatalf("the loop with its reasoning sent back: %v", err)
	}
	rt.audit.next(t)
	c := lastConverse(t, rt)
	if c.Additional == nil || len(c.Messages) != 3 || kinds(c.Messages[1].Content) != "reasoningContent,reasoningContent,toolUse" {
		t.Errorf("loop sent %v, assistant turn %s", c.Additional, kinds(c.Messages[1].Content))
	}

	bare := msg.ToAssistantMessageParam()
	loop.Messages[1] = openai.ChatCompletionMessageParamUnion{OfAssistant: &bare}
	rt.fake.Push(bedrocktest.Reply{Text: "Go to the emergency room."})
	if _, err := rt.client.Chat.Completions.New(ctx, loop); err != nil {
		t.Fatalf("a loop without its reasoning: %v", err)
	}
	rt.audit.next(t)
	if c := lastConverse(t, rt); c.Additional != nil {
		t.Errorf("thinking %v, want it off for a loop whose reasoning was dropped", c.Additional)
	}
}
