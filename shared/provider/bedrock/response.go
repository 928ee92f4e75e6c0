package bedrock

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/llm"
)

var errTrailingData = errors.New("trailing data after the JSON value")

// chatCompletion builds the OpenAI chat.completion for a Converse answer:
// text blocks concatenated into content, toolUse blocks as tool_calls (content
// null when there is no text), reasoning text as reasoning_content, and
// signed or redacted reasoning as thinking_blocks (Claude needs them back in
// a tool loop; redacted bytes go as base64). When the
// request forced answerTool for structured output, that tool's input is the
// content (text beside it is the model's preamble), and the call is not the
// client's.
func chatCompletion(out *bedrockruntime.ConverseOutput, model, id string, created int64, answerTool string) ([]byte, llm.Usage, error) {
	msgOut, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		return nil, llm.Usage{}, errNoOutput
	}
	msg := llm.ResponseMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	answer, answered := "", false
	for _, block := range msgOut.Value.Content {
		switch b := block.(type) {
		case *types.ContentBlockMemberText:
			text.WriteString(b.Value)
		case *types.ContentBlockMemberToolUse:
			args, err := toolArguments(b.Value)
			if err != nil {
				return nil, llm.Usage{}, err
			}
			if answerTool != "" && aws.ToString(b.Value.Name) == answerTool && !answered {
				answer, answered = args, true
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: aws.ToString(b.Value.ToolUseId), Type: "function",
				Function: llm.FunctionCall{Name: aws.ToString(b.Value.Name), Arguments: args}})
		case *types.ContentBlockMemberReasoningContent:
			switch r := b.Value.(type) {
			case *types.ReasoningContentBlockMemberReasoningText:
				reasoning.WriteString(aws.ToString(r.Value.Text))
				if sig := aws.ToString(r.Value.Signature); sig != "" {
					msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "thinking",
						Thinking: aws.ToString(r.Value.Text), Signature: sig})
				}
			case *types.ReasoningContentBlockMemberRedactedContent:
				msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "redacted_thinking",
					Data: base64.StdEncoding.EncodeToString(r.Value)})
			}
		}
	}
	finish := finishReason(out.StopReason)
	switch {
	case answered:
		msg.Content = &answer
		if len(msg.ToolCalls) == 0 && out.StopReason == types.StopReasonToolUse {
			finish = llm.FinishStop
		}
	case text.Len() > 0 || len(msg.ToolCalls) == 0:
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	usage := usageOf(out.Usage)
	body, err := json.Marshal(llm.ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []llm.Choice{{Message: msg, FinishReason: finish, Logprobs: json.RawMessage("null")}},
		Usage:   &usage})
	return body, usage, err
}

// toolArguments is the JSON text of a toolUse input. The SDK decodes the
// input into Go values (numbers kept as json.Number), which encode back to
// the same JSON, keys sorted.
func toolArguments(b types.ToolUseBlock) (string, error) {
	if b.Input == nil {
		return "{}", nil
	}
	data, err := b.Input.MarshalSmithyDocument()
	if err != nil {
		return "", err
	}
	if len(data) == 0 || string(data) == "null" {
		return "{}", nil
	}
	return string(data), nil
}

// finishReason maps Bedrock's stopReason to OpenAI's finish_reason.
// malformed_model_output and malformed_tool_use become "stop": the answer was
// delivered, and the client sees what the model produced; unknown future
// reasons also become "stop".
func finishReason(r types.StopReason) string {
	switch r {
	case types.StopReasonMaxTokens, types.StopReasonModelContextWindowExceeded:
		return llm.FinishLength
	case types.StopReasonToolUse:
		return llm.FinishToolCalls
	case types.StopReasonGuardrailIntervened, types.StopReasonContentFiltered:
		return llm.FinishContentFilter
	}
	return llm.FinishStop
}

// usageOf converts Bedrock's token usage to the router's, where prompt
// tokens include cache reads and writes.
//
// Our reading: Bedrock's inputTokens counts only the tokens not read from or
// written to the prompt cache (as Anthropic's input_tokens does), and
// totalTokens = inputTokens + outputTokens + cacheRead + cacheWrite. The AWS
// API reference does not say either way ("the number of tokens sent in the
// request"); other gateways read it so after real traffic (opencode#38427,
// citing AWS's prompt-caching guide; APISIX #14044). The answer itself
// settles it when it can: if totalTokens equals inputTokens + outputTokens
// while cache tokens are reported, this model counted the cache tokens inside
// inputTokens, and they are not added again.
func usageOf(u *types.TokenUsage) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	in, out := int(aws.ToInt32(u.InputTokens)), int(aws.ToInt32(u.OutputTokens))
	read, write := int(aws.ToInt32(u.CacheReadInputTokens)), int(aws.ToInt32(u.CacheWriteInputTokens))
	prompt := in + read + write
	if total := int(aws.ToInt32(u.TotalTokens)); read+write > 0 && total == in+out {
		prompt = in
	}
	u2 := llm.Usage{PromptTokens: prompt, CompletionTokens: out, CachedTokens: read, CacheWriteTokens: write}
	for _, d := range u.CacheDetails {
		if d.Ttl == types.CacheTTLOneHour {
			u2.CacheWrite1hTokens += int(aws.ToInt32(d.InputTokens))
		}
	}
	u2.CacheWrite1hTokens = min(u2.CacheWrite1hTokens, write)
	return u2
}
