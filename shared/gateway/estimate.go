package gateway

import (
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/tokens"
)

// inputTokens estimates the request's input tokens for target t's
// tokenizer: one pass over its messages and tools, kept for the request's
// other targets (the counter holds every family's figure).
func (c *call) inputTokens(t *route.Target) int {
	return c.tokensFor(tokens.FamilyFor(t.Provider.Type, t.Provider.Dialect))
}

// countChat feeds a chat request's text to k: every message's text parts,
// tool calls and results, images by detail, and the tools' declarations.
func countChat(k *tokens.Counter, c *call) {
	for i := range c.chat.Messages {
		m := &c.chat.Messages[i]
		k.AddMessage()
		if m.Content.IsParts {
			for _, p := range m.Content.Parts {
				switch {
				case p.ImageURL != nil:
					k.AddImage(p.ImageURL.Detail)
				default:
					k.Add(p.Text)
					k.Add(p.Refusal)
				}
			}
		} else {
			k.Add(m.Content.Text)
		}
		for _, tc := range m.ToolCalls {
			k.Add(tc.Function.Name)
			k.Add(tc.Function.Arguments)
		}
		k.Add(m.ReasoningContent)
	}
	for _, t := range c.chat.Tools {
		k.AddTool(t.Function.Name, t.Function.Description, t.Function.Parameters)
	}
}
