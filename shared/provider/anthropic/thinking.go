package anthropic

import (
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// Extended thinking from reasoning_effort: llm.ClaudeBudget's budget (the
// effort's, at most three quarters of max_tokens, none under Anthropic's
// floor of 1024 tokens) on a model that thinks.

// thinkingBudget is the budget for req on a model that thinks, 0 for none.
func thinkingBudget(req *llm.Request, maxTokens int) int {
	if !thinks(req.Upstream) {
		return 0
	}
	return llm.ClaudeBudget(req.Chat.ReasoningEffort, maxTokens)
}

// thinks reports whether a Claude model takes extended thinking: Claude 3.7
// Sonnet and the models from Claude 4 on. Names the router does not know
// (newer models, a proxy's aliases) are given it.
func thinks(model string) bool {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "claude-3-7") || strings.Contains(m, "claude-3.7"):
		return true
	case strings.Contains(m, "claude-3") || strings.Contains(m, "claude-2") || strings.Contains(m, "claude-instant"):
		return false
	}
	return true
}

// thinkingAllowed reports whether thinking can be on for this request.
// Anthropic refuses it with a forced tool (the client's tool_choice, or the
// answer tool of a structured request) and with a prefill (a final
// assistant turn); and, in a tool loop, when the last assistant turn comes
// back without the signed thinking blocks it began with: a client that
// dropped them gets its loop continued without thinking rather than a 400.
func thinkingAllowed(c *llm.ChatRequest, out *messagesRequest) bool {
	if tc := out.ToolChoice; tc != nil && (tc.Type == "any" || tc.Type == "tool") {
		return false
	}
	if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == "assistant" {
		return false
	}
	i := llm.ToolLoopTurn(c.Messages)
	if i < 0 {
		return true
	}
	m := &c.Messages[i]
	return len(m.ToolCalls) == 0 || i == len(c.Messages)-1 || signed(m.ThinkingBlocks)
}

func signed(blocks []llm.ThinkingBlock) bool {
	for i := range blocks {
		if blocks[i].Signed() {
			return true
		}
	}
	return false
}

// stripThinking removes the thinking blocks written for a request that
// ends up without thinking: they are needed only with it. A turn left empty
// goes (Anthropic joins the turns around it).
func stripThinking(out *messagesRequest) {
	msgs := out.Messages[:0]
	for _, m := range out.Messages {
		kept := m.Content[:0]
		for _, b := range m.Content {
			if b.Type != "thinking" && b.Type != "redacted_thinking" {
				kept = append(kept, b)
			}
		}
		if m.Content = kept; len(kept) > 0 {
			msgs = append(msgs, m)
		}
	}
	out.Messages = msgs
}
