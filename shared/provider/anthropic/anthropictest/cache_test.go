package anthropictest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"

	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
)

// longRules is a system prompt over Sonnet's 1024-token minimum.
var longRules = strings.Repeat("Answer as a triage nurse would, briefly and precisely. ", 100)

func cachedParams(ttl sdk.CacheControlEphemeralTTL) sdk.MessageNewParams {
	p := userParams("Patient has a headache.")
	cc := sdk.NewCacheControlEphemeralParam()
	cc.TTL = ttl
	p.System = []sdk.TextBlockParam{{Text: longRules, CacheControl: cc}}
	return p
}

// The official SDK's breakpoints: the first request writes the prefix, an
// identical second reads it, as Anthropic reports them; a one-hour write
// is reported under cache_creation's one-hour count.
func TestSDKPromptCache(t *testing.T) {
	_, c := newClient(t)
	ctx := context.Background()
	first, err := c.Messages.New(ctx, cachedParams(""))
	if err != nil {
		t.Fatal(err)
	}
	w := first.Usage.CacheCreationInputTokens
	if w < 1024 || first.Usage.CacheReadInputTokens != 0 || first.Usage.CacheCreation.Ephemeral5mInputTokens != w {
		t.Fatalf("first: %+v, want a write of the system prompt", first.Usage)
	}
	second, err := c.Messages.New(ctx, cachedParams(""))
	if err != nil {
		t.Fatal(err)
	}
	if u := second.Usage; u.CacheReadInputTokens != w || u.CacheCreationInputTokens != 0 || u.InputTokens != first.Usage.InputTokens {
		t.Errorf("second: %+v, want a read of %d", u, w)
	}

	_, c2 := newClient(t)
	hour, err := c2.Messages.New(ctx, cachedParams(sdk.CacheControlEphemeralTTLTTL1h))
	if err != nil {
		t.Fatal(err)
	}
	if u := hour.Usage; u.CacheCreation.Ephemeral1hInputTokens != u.CacheCreationInputTokens || u.CacheCreationInputTokens < 1024 {
		t.Errorf("one-hour write: %+v", u)
	}

	// A prefix under the model's minimum is not cached.
	short := userParams("hi")
	short.System = []sdk.TextBlockParam{{Text: "Be brief.", CacheControl: sdk.NewCacheControlEphemeralParam()}}
	msg, err := c.Messages.New(ctx, short)
	if err != nil || msg.Usage.CacheCreationInputTokens != 0 {
		t.Errorf("short prefix: %+v (%v)", msg.Usage, err)
	}
}

func badRequest(t *testing.T, err error, want string) {
	t.Helper()
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Error(), want) {
		t.Errorf("error = %v, want a 400 saying %q", err, want)
	}
}

// What the real API refuses about breakpoints and thinking, the fake does.
func TestSDKRefusals(t *testing.T) {
	_, c := newClient(t)
	ctx := context.Background()
	eph := sdk.NewCacheControlEphemeralParam()
	five := userParams("x")
	five.System = []sdk.TextBlockParam{{Text: "a", CacheControl: eph}, {Text: "b", CacheControl: eph}, {Text: "c", CacheControl: eph},
		{Text: "d", CacheControl: eph}, {Text: "e", CacheControl: eph}}
	_, err := c.Messages.New(ctx, five)
	badRequest(t, err, "A maximum of 4 blocks with cache_control")

	order := userParams("x")
	hour := sdk.NewCacheControlEphemeralParam()
	hour.TTL = sdk.CacheControlEphemeralTTLTTL1h
	order.System = []sdk.TextBlockParam{{Text: "a", CacheControl: eph}, {Text: "b", CacheControl: hour}}
	_, err = c.Messages.New(ctx, order)
	badRequest(t, err, "must not come after a ttl='5m'")

	think := userParams("x")
	think.MaxTokens = 4096
	think.Thinking = sdk.ThinkingConfigParamOfEnabled(2048)
	think.Temperature = sdk.Float(0.5)
	_, err = c.Messages.New(ctx, think)
	badRequest(t, err, "`temperature` may only be set to 1")

	think.Temperature = sdk.Float(1)
	think.MaxTokens = 2048
	_, err = c.Messages.New(ctx, think)
	badRequest(t, err, "`max_tokens` must be greater than `thinking.budget_tokens`")

	think.MaxTokens = 4096
	think.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "f", InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{}}}}}
	think.ToolChoice = sdk.ToolChoiceUnionParam{OfAny: &sdk.ToolChoiceAnyParam{}}
	_, err = c.Messages.New(ctx, think)
	badRequest(t, err, "Thinking may not be enabled when tool_choice forces tool use")
}

// A thinking block goes back with the signature the fake gave it; a tool
// loop without it, or with another signature, is refused.
func TestSDKThinkingRoundTrip(t *testing.T) {
	srv, c := newClient(t)
	ctx := context.Background()
	srv.Enqueue(anthropictest.Reply{Thinking: "Use the tool.", RedactedThinking: "ZW5jcnlwdGVk",
		ToolUses: []anthropictest.ToolUse{{ID: "toolu_1", Name: "f", Input: `{}`}}})
	p := userParams("Weather?")
	p.MaxTokens = 4096
	p.Thinking = sdk.ThinkingConfigParamOfEnabled(2048)
	p.Tools = []sdk.ToolUnionParam{{OfTool: &sdk.ToolParam{Name: "f", InputSchema: sdk.ToolInputSchemaParam{Properties: map[string]any{}}}}}
	first, err := c.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Content) != 3 || first.Content[1].Type != "redacted_thinking" || first.Content[0].Signature != anthropictest.Sign("Use the tool.") {
		t.Fatalf("first = %+v", first.Content)
	}
	result := sdk.NewUserMessage(sdk.NewToolResultBlock("toolu_1", "sun", false))
	loop := p
	loop.Messages = append(append([]sdk.MessageParam(nil), p.Messages...), first.ToParam(), result)
	if _, err := c.Messages.New(ctx, loop); err != nil {
		t.Errorf("the loop with its thinking blocks: %v", err)
	}

	dropped := p
	dropped.Messages = append(append([]sdk.MessageParam(nil), p.Messages...),
		sdk.NewAssistantMessage(sdk.NewToolUseBlock("toolu_1", map[string]any{}, "f")), result)
	_, err = c.Messages.New(ctx, dropped)
	badRequest(t, err, "a final `assistant` message must start with a thinking block")

	forged := first.ToParam()
	forged.Content[0].OfThinking.Signature = "forged"
	bad := p
	bad.Messages = append(append([]sdk.MessageParam(nil), p.Messages...), forged, result)
	_, err = c.Messages.New(ctx, bad)
	badRequest(t, err, "Invalid `signature` in `thinking` block")
}
