package anthropic

import (
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/structured"
)

// Structured output goes through one forced tool rather than Anthropic's
// native output_config: the tool's input schema is the requested schema, the
// request forces the tool, and the tool's input comes back as the message
// content (docs/STRUCTURED.md says why). A schema whose root is not an object
// cannot be a tool's input; it is asked for in words instead, as the
// router's check and repair catch what the model gets wrong.

// toAnthropicResponseFormat applies response_format to out, after the
// client's tools were translated. It returns the answer tool's name, empty
// when none was forced.
func toAnthropicResponseFormat(c *llm.ChatRequest, out *messagesRequest, system *[]byte) string {
	f := c.ResponseFormat
	if f == nil {
		return ""
	}
	declared := func(name string) bool {
		for _, t := range c.Tools {
			if t.Function.Name == name {
				return true
			}
		}
		return false
	}
	t, ok := structured.AnswerTool(f, declared)
	if !ok {
		if s := structured.Instruction(f); s != "" {
			if len(*system) > 0 {
				*system = append(*system, '\n')
			}
			*system = append(*system, s...)
		}
		return ""
	}
	out.Tools = append(out.Tools, tool{Name: t.Name, Description: t.Description, InputSchema: t.Schema})
	choice, _ := llm.ParseToolChoice(c.ToolChoice) // toAnthropicTools refused a bad one
	switch {
	case len(c.Tools) == 0 || choice.Mode == "none":
		// The answer is the only tool the model may call.
		out.ToolChoice = &toolChoice{Type: "tool", Name: t.Name}
	case choice.Mode == "function":
		// The client forces one of its own tools this turn: no answer is due.
	default:
		// auto or required with the client's tools: the model calls one of
		// them, or answers through the answer tool, as an OpenAI model
		// either calls tools or answers in the format.
		parallel := out.ToolChoice != nil && out.ToolChoice.DisableParallelToolUse
		out.ToolChoice = &toolChoice{Type: "any", DisableParallelToolUse: parallel}
	}
	return t.Name
}
