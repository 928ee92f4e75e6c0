package bedrocktest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	"github.com/aws/smithy-go"

	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

const sonnet45 = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"

var longRules = strings.Repeat("Answer as a triage nurse would, briefly and precisely. ", 100)

func cachedInput(ttl types.CacheTTL) *bedrockruntime.ConverseInput {
	return &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: userText("Headache."),
		System: []types.SystemContentBlock{&types.SystemContentBlockMemberText{Value: longRules},
			&types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault, Ttl: ttl}}}}
}

// The SDK's cache points: a write, then an identical request's read, with
// the writes by TTL in cacheDetails.
func TestConversePromptCache(t *testing.T) {
	s := bedrocktest.New(t)
	c := sdkClient(s)
	ctx := context.Background()
	first, err := c.Converse(ctx, cachedInput(""))
	if err != nil {
		t.Fatal(err)
	}
	w := aws.ToInt32(first.Usage.CacheWriteInputTokens)
	if w < 1024 || aws.ToInt32(first.Usage.CacheReadInputTokens) != 0 {
		t.Fatalf("first usage %+v", first.Usage)
	}
	second, err := c.Converse(ctx, cachedInput(""))
	if err != nil {
		t.Fatal(err)
	}
	if u := second.Usage; aws.ToInt32(u.CacheReadInputTokens) != w || aws.ToInt32(u.CacheWriteInputTokens) != 0 ||
		aws.ToInt32(u.InputTokens) != aws.ToInt32(first.Usage.InputTokens) {
		t.Errorf("second usage %+v, want a read of %d", u, w)
	}
	hour, err := sdkClient(bedrocktest.New(t)).Converse(ctx, cachedInput(types.CacheTTLOneHour))
	if err != nil {
		t.Fatal(err)
	}
	if d := hour.Usage.CacheDetails; len(d) != 1 || d[0].Ttl != types.CacheTTLOneHour || aws.ToInt32(d[0].InputTokens) < 1024 {
		t.Errorf("cache details %+v", d)
	}
}

func validation(t *testing.T, err error, want string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" || !strings.Contains(api.ErrorMessage(), want) {
		t.Errorf("error %v, want a ValidationException saying %q", err, want)
	}
}

func TestConverseRefusals(t *testing.T) {
	s := bedrocktest.New(t)
	c := sdkClient(s)
	ctx := context.Background()
	point := &types.SystemContentBlockMemberCachePoint{Value: types.CachePointBlock{Type: types.CachePointTypeDefault}}
	in := cachedInput("")
	in.ModelId = aws.String("meta.llama3-70b-instruct-v1:0")
	_, err := c.Converse(ctx, in)
	validation(t, err, "did not allow prompt caching")

	five := cachedInput("")
	for range 4 {
		five.System = append(five.System, &types.SystemContentBlockMemberText{Value: "more"}, point)
	}
	_, err = c.Converse(ctx, five)
	validation(t, err, "exceeds the maximum of 4")

	think := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: userText("x"),
		InferenceConfig:              &types.InferenceConfiguration{MaxTokens: aws.Int32(4096), Temperature: aws.Float32(0.5)},
		AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}})}
	_, err = c.Converse(ctx, think)
	validation(t, err, "`temperature` may only be set to 1")
	think.InferenceConfig = &types.InferenceConfiguration{MaxTokens: aws.Int32(2048)}
	_, err = c.Converse(ctx, think)
	validation(t, err, "must be greater than `thinking.budget_tokens`")

	nova := &bedrockruntime.ConverseInput{ModelId: aws.String("us.amazon.nova-2-lite-v1:0"), Messages: userText("x"),
		AdditionalModelRequestFields: document.NewLazyDocument(map[string]any{"reasoningConfig": map[string]any{"type": "enabled", "maxReasoningEffort": "extreme"}})}
	_, err = c.Converse(ctx, nova)
	validation(t, err, "maxReasoningEffort")
}

// Claude's signed reasoning goes back in a tool loop as it came; without
// it, or with another signature, the loop is refused.
func TestConverseReasoningRoundTrip(t *testing.T) {
	s := bedrocktest.New(t)
	c := sdkClient(s)
	ctx := context.Background()
	s.Push(bedrocktest.Reply{Reasoning: "Use the tool.", RedactedReasoning: []byte("enc"),
		ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: "f", Input: `{}`}}})
	thinking := document.NewLazyDocument(map[string]any{"thinking": map[string]any{"type": "enabled", "budget_tokens": 2048}})
	tools := &types.ToolConfiguration{Tools: []types.Tool{&types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String("f"),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})}}}}}
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(sonnet45), Messages: userText("Weather?"), ToolConfig: tools,
		InferenceConfig: &types.InferenceConfiguration{MaxTokens: aws.Int32(4096)}, AdditionalModelRequestFields: thinking}
	out, err := c.Converse(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	answer := out.Output.(*types.ConverseOutputMemberMessage).Value
	if len(answer.Content) != 3 {
		t.Fatalf("content %+v, want reasoning, redacted reasoning, tool use", answer.Content)
	}
	result := types.Message{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberToolResult{
		Value: types.ToolResultBlock{ToolUseId: aws.String("tu1"), Content: []types.ToolResultContentBlock{&types.ToolResultContentBlockMemberText{Value: "sun"}}}}}}
	loop := *in
	loop.Messages = append(append([]types.Message(nil), in.Messages...), answer, result)
	if _, err := c.Converse(ctx, &loop); err != nil {
		t.Errorf("the loop with its reasoning: %v", err)
	}
	dropped := loop
	dropped.Messages = append(append([]types.Message(nil), in.Messages...),
		types.Message{Role: types.ConversationRoleAssistant, Content: answer.Content[2:]}, result)
	_, err = c.Converse(ctx, &dropped)
	validation(t, err, "must start with a thinking block")

	forged := types.Message{Role: types.ConversationRoleAssistant, Content: append([]types.ContentBlock{
		&types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
			Value: types.ReasoningTextBlock{Text: aws.String("Use the tool."), Signature: aws.String("forged")}}}}, answer.Content[2:]...)}
	bad := loop
	bad.Messages = append(append([]types.Message(nil), in.Messages...), forged, result)
	_, err = c.Converse(ctx, &bad)
	validation(t, err, "signature")
}
