package bedrock

import (
	"bytes"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/structured"
)

// Structured output on Bedrock depends on the model family behind the
// Converse API (docs/STRUCTURED.md says why):
//
//   - families whose Converse can force a tool (Anthropic Claude, Amazon
//     Nova, Mistral Large) get one forced tool whose input schema is the
//     requested schema; its input comes back as the message content;
//   - other families get Converse's native outputConfig for a json_schema,
//     which Bedrock offers on a list of open-weight models;
//   - what neither covers (json_object on other families, a schema whose
//     root is not an object on tool families) is asked for in words.
//
// The router checks every answer and repairs what the model gets wrong.

// forcesTools reports whether a model's family accepts a forced toolChoice
// (any or tool) in Converse; Bedrock refuses it for the others. The model id
// may be an inference profile (us.anthropic.…) or an ARN naming one.
func forcesTools(modelID string) bool {
	id := strings.ToLower(modelID)
	return strings.Contains(id, "anthropic.") || strings.Contains(id, "amazon.nova") ||
		strings.Contains(id, "mistral.mistral-large")
}

// applyResponseFormat sets in up for the request's response_format, after
// its tools were translated. It returns the answer tool's name, empty when
// none was forced.
func applyResponseFormat(in *bedrockruntime.ConverseInput, c *llm.ChatRequest, modelID string) (string, *llm.Error) {
	f := c.ResponseFormat
	if f == nil || (f.Type != "json_object" && f.Type != "json_schema") {
		return "", nil
	}
	if forcesTools(modelID) {
		declared := func(name string) bool {
			for _, t := range c.Tools {
				if t.Function.Name == name {
					return true
				}
			}
			return false
		}
		if t, ok := structured.AnswerTool(f, declared); ok {
			v, err := decodeDocument(t.Schema)
			if err != nil {
				return "", llm.InvalidRequest("response_format.json_schema.schema", llm.CodeInvalidValue, "json_schema needs a schema object")
			}
			in.ToolConfig = withAnswerTool(in.ToolConfig, c, t, v)
			return t.Name, nil
		}
	} else if f.Type == "json_schema" && f.JSONSchema != nil && len(bytes.TrimSpace(f.JSONSchema.Schema)) > 0 {
		oc, e := outputConfig(f)
		if e != nil {
			return "", e
		}
		in.OutputConfig = oc
		return "", nil
	}
	in.System = append(in.System, &types.SystemContentBlockMemberText{Value: structured.Instruction(f)})
	return "", nil
}

// withAnswerTool declares the answer tool beside the client's tools and
// forces it: alone, or as one of the tools the model must choose from when
// the client's tool_choice lets the model call tools (OpenAI models either
// call tools or answer in the format). A client that forces one of its own
// tools keeps its choice.
func withAnswerTool(tc *types.ToolConfiguration, c *llm.ChatRequest, t structured.Tool, schema any) *types.ToolConfiguration {
	spec := types.ToolSpecification{Name: aws.String(t.Name), Description: aws.String(t.Description),
		InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)}}
	answer := &types.ToolMemberToolSpec{Value: spec}
	forced := &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(t.Name)}}
	if tc == nil {
		return &types.ToolConfiguration{Tools: []types.Tool{answer}, ToolChoice: forced}
	}
	tc.Tools = append(tc.Tools, answer)
	choice, _ := llm.ParseToolChoice(c.ToolChoice) // toolConfig refused a bad one
	switch choice.Mode {
	case "function":
	case "none":
		tc.ToolChoice = forced
	default:
		tc.ToolChoice = &types.ToolChoiceMemberAny{Value: types.AnyToolChoice{}}
	}
	return tc
}
