package anthropic

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// toOpenAIFinishReason maps Anthropic's stop_reason to OpenAI's finish_reason.
// pause_turn (a server tool paused a long turn) ends the answer here: the
// router does not continue turns on the client's behalf.
func toOpenAIFinishReason(stopReason string) string {
	switch stopReason {
	case "max_tokens", "model_context_window_exceeded":
		return llm.FinishLength
	case "tool_use":
		return llm.FinishToolCalls
	case "refusal":
		return llm.FinishContentFilter
	}
	return llm.FinishStop // end_turn, stop_sequence, pause_turn, and any new reason
}

// toOpenAIUsage converts Anthropic's usage. input_tokens excludes cache reads
// and writes, while OpenAI's prompt_tokens includes its cached tokens, so the
// three are added up.
func toOpenAIUsage(u usage) llm.Usage {
	in, cacheWrite, cacheRead := deref(u.InputTokens), deref(u.CacheCreationInputTokens), deref(u.CacheReadInputTokens)
	out := llm.Usage{PromptTokens: in + cacheWrite + cacheRead, CompletionTokens: u.OutputTokens,
		CachedTokens: cacheRead, CacheWriteTokens: cacheWrite}
	if cc := u.CacheCreation; cc != nil {
		out.CacheWrite1hTokens = min(cc.Ephemeral1h, cacheWrite)
	}
	return out
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// badResponse is the error for an answer that is not what the API documents.
func badResponse(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
		Code: "bad_upstream_response", Message: msg}
}

// toOpenAIResponse translates a Messages API answer into a chat.completion
// whose model is model: text blocks joined into content, tool_use blocks into
// tool_calls (content null when there is only tool use), thinking into
// reasoning_content, and thinking and redacted_thinking blocks, signed, into
// thinking_blocks, for the client to send back in a tool loop.
func toOpenAIResponse(data []byte, model string, created int64) ([]byte, llm.Usage, error) {
	return toOpenAIAnswer(data, model, created, "")
}

// toOpenAIAnswer is toOpenAIResponse for a request that forced answerTool
// for structured output: that tool's input is the content (any text beside
// it is the model's preamble, not the answer), and the call is not a tool
// call the client made.
func toOpenAIAnswer(data []byte, model string, created int64, answerTool string) ([]byte, llm.Usage, error) {
	var r messageResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, llm.Usage{}, badResponse("the provider's answer was not a Messages API object")
	}
	msg := llm.ResponseMessage{Role: "assistant"}
	var text, reasoning strings.Builder
	answer, answered := "", false
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "thinking":
			reasoning.WriteString(b.Thinking)
			msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "thinking", Thinking: b.Thinking, Signature: b.Signature})
		case "redacted_thinking":
			msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "redacted_thinking", Data: b.Data})
		case "tool_use":
			if answerTool != "" && b.Name == answerTool && !answered {
				answer, answered = toOpenAIArguments(b.Input), true
				continue
			}
			msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: b.ID, Type: "function",
				Function: llm.FunctionCall{Name: b.Name, Arguments: toOpenAIArguments(b.Input)}})
		}
	}
	finish := toOpenAIFinishReason(r.StopReason)
	switch {
	case answered:
		msg.Content = &answer
		if len(msg.ToolCalls) == 0 && r.StopReason == "tool_use" {
			finish = llm.FinishStop
		}
	case text.Len() > 0 || len(msg.ToolCalls) == 0:
		s := text.String()
		msg.Content = &s
	}
	msg.ReasoningContent = reasoning.String()
	u := toOpenAIUsage(r.Usage)
	body, err := json.Marshal(llm.ChatResponse{ID: r.ID, Object: "chat.completion", Created: created, Model: model,
		Choices: []llm.Choice{{Message: msg, FinishReason: finish, Logprobs: json.RawMessage("null")}},
		Usage:   &u})
	if err != nil {
		return nil, llm.Usage{}, err
	}
	return body, u, nil
}

// toOpenAIArguments writes tool_use input as OpenAI's arguments string:
// compact JSON text, {} when the input is missing.
func toOpenAIArguments(input json.RawMessage) string {
	if len(input) == 0 || bytes.Equal(input, []byte("null")) {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, input) != nil {
		return string(input)
	}
	return b.String()
}
