package bedrock

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"
	smithydocument "github.com/aws/smithy-go/document"

	"github.com/llm-router/router/shared/llm"
)

// firstUserText opens a conversation whose first turn (after the hoisted
// system messages) is the assistant's: Bedrock refuses a conversation that
// does not start with a user turn, and refuses blank text blocks.
const firstUserText = "."

// converseInput translates an OpenAI chat request into Converse's input.
// OpenAI-only fields (seed, penalties, logprobs, user, n=1, ...) have no
// Converse equivalent and are not sent; fields whose loss would change the
// answer's meaning (n>1, remote image URLs, unknown content parts) are refused
// with a 400 naming the parameter.
func converseInput(req *llm.Request) (*bedrockruntime.ConverseInput, *llm.Error) {
	in, _, e := converseRequest(req)
	return in, e
}

// converseRequest is converseInput with the name of the tool forced for
// structured output, if any (structured.go).
func converseRequest(req *llm.Request) (*bedrockruntime.ConverseInput, string, *llm.Error) {
	c := req.Chat
	if c == nil {
		return nil, "", llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a chat completion request")
	}
	if c.N != nil && *c.N > 1 {
		return nil, "", llm.InvalidRequest("n", llm.CodeInvalidValue, "bedrock returns one choice; n must be 1")
	}
	in := &bedrockruntime.ConverseInput{ModelId: aws.String(req.Upstream)}
	// Signed reasoning goes back only to a Claude model about to think.
	wantThinking := isClaude(req.Upstream) && thinks(req.Upstream) && llm.ThinkingBudget(c.ReasoningEffort) > 0
	conv, e := convertMessages(c.Messages, req.Upstream, wantThinking)
	if e != nil {
		return nil, "", e
	}
	in.Messages, in.System = conv.messages, conv.system
	in.InferenceConfig = inferenceConfig(c)
	if in.ToolConfig, e = toolConfig(c, conv, req.Upstream); e != nil {
		return nil, "", e
	}
	answerTool, e := applyResponseFormat(in, c, req.Upstream)
	if e != nil {
		return nil, "", e
	}
	if on := reasoning(in, c, req.Upstream, req.MaxTokens); wantThinking && !on {
		withoutReasoning(in)
	}
	limitCachePoints(in)
	return in, answerTool, nil
}

// conversation is the translated message list.
type conversation struct {
	messages []types.Message
	system   []types.SystemContentBlock
	// toolNames lists the tools the history's tool calls name, in order of
	// first use; Bedrock needs a toolConfig whenever tool blocks appear.
	toolNames  []string
	toolBlocks bool
}

// convertMessages hoists system and developer messages into system blocks,
// turns tool messages into toolResult blocks of a user turn, and merges
// consecutive turns of the same role, since Bedrock wants roles to alternate
// starting with user.
// modelID decides where cache points go (caches); with thinking, an
// assistant turn's signed reasoning goes back first.
func convertMessages(msgs []llm.Message, modelID string, thinking bool) (conversation, *llm.Error) {
	var conv conversation
	conv.messages = make([]types.Message, 0, len(msgs))
	cache := caches(modelID)
	for i := range msgs {
		m := &msgs[i]
		var role types.ConversationRole
		var blocks []types.ContentBlock
		var e *llm.Error
		switch m.Role {
		case "system", "developer":
			conv.system = appendSystem(conv.system, m, cache, modelID)
			continue
		case "user":
			role = types.ConversationRoleUser
			blocks, e = userBlocks(i, m, cache, modelID)
		case "assistant":
			role = types.ConversationRoleAssistant
			blocks, e = assistantBlocks(i, m, &conv)
			if thinking {
				blocks = append(reasoningBlocks(m), blocks...)
			}
		case "tool":
			role = types.ConversationRoleUser
			blocks = []types.ContentBlock{toolResultBlock(m)}
			conv.toolBlocks = true
		default:
			return conv, llm.Unsupported("messages["+strconv.Itoa(i)+"].role", llm.CodeUnsupportedRole,
				"role must be system, developer, user, assistant or tool")
		}
		if e != nil {
			return conv, e
		}
		if c := m.CacheControl; c != nil && cache && len(blocks) > 0 {
			blocks = append(blocks, &types.ContentBlockMemberCachePoint{Value: cachePoint(c, modelID)})
		}
		if len(blocks) == 0 {
			continue // an empty assistant turn, for instance
		}
		if n := len(conv.messages); n > 0 && conv.messages[n-1].Role == role {
			conv.messages[n-1].Content = append(conv.messages[n-1].Content, blocks...)
			continue
		}
		conv.messages = append(conv.messages, types.Message{Role: role, Content: blocks})
	}
	if len(conv.messages) == 0 {
		return conv, llm.InvalidRequest("messages", llm.CodeMissingParam,
			"bedrock needs at least one user or assistant message besides system messages")
	}
	if conv.messages[0].Role != types.ConversationRoleUser {
		first := types.Message{Role: types.ConversationRoleUser,
			Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: firstUserText}}}
		conv.messages = append([]types.Message{first}, conv.messages...)
	}
	return conv, nil
}

func param(i int, field string) string {
	return "messages[" + strconv.Itoa(i) + "]." + field
}

// appendSystem adds a system or developer message: one text block, or,
// when its parts carry markers the model caches for, a block per part with
// a cache point after each marked one.
func appendSystem(system []types.SystemContentBlock, m *llm.Message, cache bool, modelID string) []types.SystemContentBlock {
	if cache && m.Content.IsParts && m.Marked() {
		for _, p := range m.Content.Parts {
			if p.Type != "text" || p.Text == "" {
				continue
			}
			system = append(system, &types.SystemContentBlockMemberText{Value: p.Text})
			if p.CacheControl != nil {
				system = append(system, &types.SystemContentBlockMemberCachePoint{Value: cachePoint(p.CacheControl, modelID)})
			}
		}
	} else if text := m.Content.String(); text != "" {
		system = append(system, &types.SystemContentBlockMemberText{Value: text})
	} else {
		return system
	}
	if m.CacheControl != nil && cache {
		system = append(system, &types.SystemContentBlockMemberCachePoint{Value: cachePoint(m.CacheControl, modelID)})
	}
	return system
}

func userBlocks(i int, m *llm.Message, cache bool, modelID string) ([]types.ContentBlock, *llm.Error) {
	if !m.Content.IsParts {
		if m.Content.Text == "" {
			return nil, nil
		}
		return []types.ContentBlock{&types.ContentBlockMemberText{Value: m.Content.Text}}, nil
	}
	blocks := make([]types.ContentBlock, 0, len(m.Content.Parts))
	for j, part := range m.Content.Parts {
		switch part.Type {
		case "text":
			if part.Text == "" {
				continue
			}
			blocks = append(blocks, &types.ContentBlockMemberText{Value: part.Text})
		case "image_url":
			img, e := imageBlock(param(i, "content["+strconv.Itoa(j)+"].image_url.url"), part.ImageURL)
			if e != nil {
				return nil, e
			}
			blocks = append(blocks, img)
		default:
			return nil, llm.InvalidRequest(param(i, "content["+strconv.Itoa(j)+"].type"), llm.CodeInvalidValue,
				"bedrock accepts text and image_url content parts, not "+strconv.Quote(part.Type))
		}
		if part.CacheControl != nil && cache {
			blocks = append(blocks, &types.ContentBlockMemberCachePoint{Value: cachePoint(part.CacheControl, modelID)})
		}
	}
	return blocks, nil
}

// imageBlock turns a data: URI into an image block. Converse takes image
// bytes or an S3 location, not an https URL, so remote URLs are refused
// rather than fetched by the router.
func imageBlock(field string, u *llm.ImageURL) (types.ContentBlock, *llm.Error) {
	rest, ok := strings.CutPrefix(u.URL, "data:")
	if !ok {
		return nil, llm.Unsupported(field, "unsupported_image_url",
			"bedrock accepts images as data: URIs (data:image/png;base64,...), not remote URLs")
	}
	meta, data, ok := strings.Cut(rest, ",")
	media, isBase64 := strings.CutSuffix(meta, ";base64")
	if !ok || !isBase64 {
		return nil, llm.InvalidRequest(field, llm.CodeInvalidValue, "an image data: URI must be base64-encoded")
	}
	var format types.ImageFormat
	switch media {
	case "image/png":
		format = types.ImageFormatPng
	case "image/jpeg", "image/jpg":
		format = types.ImageFormatJpeg
	case "image/gif":
		format = types.ImageFormatGif
	case "image/webp":
		format = types.ImageFormatWebp
	default:
		return nil, llm.InvalidRequest(field, llm.CodeInvalidValue,
			"bedrock accepts png, jpeg, gif and webp images, not "+strconv.Quote(media))
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, llm.InvalidRequest(field, llm.CodeInvalidValue, "the image data is not valid base64")
	}
	return &types.ContentBlockMemberImage{Value: types.ImageBlock{Format: format,
		Source: &types.ImageSourceMemberBytes{Value: raw}}}, nil
}

func assistantBlocks(i int, m *llm.Message, conv *conversation) ([]types.ContentBlock, *llm.Error) {
	blocks := make([]types.ContentBlock, 0, 1+len(m.ToolCalls))
	if text := m.Content.String(); text != "" {
		blocks = append(blocks, &types.ContentBlockMemberText{Value: text})
	}
	for j, tc := range m.ToolCalls {
		args := strings.TrimSpace(tc.Function.Arguments)
		if args == "" {
			args = "{}"
		}
		input, err := decodeDocument([]byte(args))
		if _, isObject := input.(map[string]any); err != nil || !isObject {
			return nil, llm.InvalidRequest(param(i, "tool_calls["+strconv.Itoa(j)+"].function.arguments"), llm.CodeInvalidValue,
				"tool call arguments must be a JSON object")
		}
		blocks = append(blocks, &types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
			ToolUseId: aws.String(tc.ID), Name: aws.String(tc.Function.Name), Input: document.NewLazyDocument(input)}})
		conv.toolBlocks = true
		if !contains(conv.toolNames, tc.Function.Name) {
			conv.toolNames = append(conv.toolNames, tc.Function.Name)
		}
	}
	return blocks, nil
}

// toolResultBlock carries a tool message. A JSON object result goes as a json
// block, which models read as structured data; anything else as text. The
// optional status field is left out: only Anthropic models accept it.
func toolResultBlock(m *llm.Message) types.ContentBlock {
	text := m.Content.String()
	var content types.ToolResultContentBlock
	trimmed := strings.TrimSpace(text)
	switch {
	case trimmed == "":
		// Bedrock refuses blank text; an empty object says "no output" without
		// inventing words.
		content = &types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(map[string]any{})}
	case trimmed[0] == '{':
		if v, err := decodeDocument([]byte(trimmed)); err == nil {
			content = &types.ToolResultContentBlockMemberJson{Value: document.NewLazyDocument(v)}
			break
		}
		fallthrough
	default:
		content = &types.ToolResultContentBlockMemberText{Value: text}
	}
	return &types.ContentBlockMemberToolResult{Value: types.ToolResultBlock{
		ToolUseId: aws.String(m.ToolCallID), Content: []types.ToolResultContentBlock{content}}}
}

func inferenceConfig(c *llm.ChatRequest) *types.InferenceConfiguration {
	var ic types.InferenceConfiguration
	set := false
	// With no limit from the client, none is sent: Bedrock then allows the
	// model's own maximum, where the router's 4096 default could exceed a
	// smaller model's limit and be refused.
	if n := c.MaxOutputTokens(); n > 0 {
		ic.MaxTokens = aws.Int32(int32(min(n, math.MaxInt32)))
		set = true
	}
	if t := c.Temperature; t != nil {
		// OpenAI's range is 0-2; the models on Bedrock take 0-1.
		ic.Temperature = aws.Float32(float32(min(max(*t, 0), 1)))
		set = true
	}
	if p := c.TopP; p != nil {
		ic.TopP = aws.Float32(float32(*p))
		set = true
	}
	if len(c.Stop) > 0 {
		ic.StopSequences = c.Stop
		set = true
	}
	if !set {
		return nil
	}
	return &ic
}

// toolConfig declares the tools and the tool choice. tool_choice "none" has
// no Converse equivalent, so the tools are left out; but when the history
// holds tool calls or results Bedrock refuses a request without a toolConfig,
// so then the tools are declared (with no choice) even for "none", and tools
// the history names but the request no longer declares get a permissive
// schema.
func toolConfig(c *llm.ChatRequest, conv conversation, modelID string) (*types.ToolConfiguration, *llm.Error) {
	choice, err := llm.ParseToolChoice(c.ToolChoice)
	if err != nil {
		return nil, llm.InvalidRequest("tool_choice", llm.CodeInvalidValue, err.Error())
	}
	if (len(c.Tools) == 0 || choice.Mode == "none") && !conv.toolBlocks {
		return nil, nil
	}
	tc := &types.ToolConfiguration{Tools: make([]types.Tool, 0, len(c.Tools))}
	declared := make([]string, 0, len(c.Tools))
	for i, t := range c.Tools {
		schema := bytes.TrimSpace(t.Function.Parameters)
		if len(schema) == 0 || bytes.Equal(schema, []byte("null")) {
			schema = []byte(`{"type":"object","properties":{}}`)
		}
		v, err := decodeDocument(schema)
		if _, isObject := v.(map[string]any); err != nil || !isObject {
			return nil, llm.InvalidRequest("tools["+strconv.Itoa(i)+"].function.parameters", llm.CodeInvalidValue,
				"function parameters must be a JSON schema object")
		}
		spec := types.ToolSpecification{Name: aws.String(t.Function.Name),
			InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(v)}, Strict: t.Function.Strict}
		if t.Function.Description != "" {
			spec.Description = aws.String(t.Function.Description)
		}
		tc.Tools = append(tc.Tools, &types.ToolMemberToolSpec{Value: spec})
		declared = append(declared, t.Function.Name)
		if m := t.Marker(); m != nil && isClaude(modelID) && caches(modelID) {
			// Bedrock caches tools for Claude only.
			tc.Tools = append(tc.Tools, &types.ToolMemberCachePoint{Value: cachePoint(m, modelID)})
		}
	}
	for _, name := range conv.toolNames {
		if !contains(declared, name) {
			tc.Tools = append(tc.Tools, &types.ToolMemberToolSpec{Value: types.ToolSpecification{Name: aws.String(name),
				InputSchema: &types.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(map[string]any{"type": "object"})}}})
		}
	}
	if len(tc.Tools) == 0 {
		return nil, nil // tool results whose calls are not in the history: Bedrock will say so
	}
	switch choice.Mode {
	case "auto":
		tc.ToolChoice = &types.ToolChoiceMemberAuto{Value: types.AutoToolChoice{}}
	case "required":
		tc.ToolChoice = &types.ToolChoiceMemberAny{Value: types.AnyToolChoice{}}
	case "function":
		tc.ToolChoice = &types.ToolChoiceMemberTool{Value: types.SpecificToolChoice{Name: aws.String(choice.Name)}}
	}
	return tc, nil
}

// outputConfig maps a json_schema response_format to Converse's native
// structured output (json_object has no Converse equivalent).
func outputConfig(f *llm.ResponseFormat) (*types.OutputConfig, *llm.Error) {
	if f == nil || f.Type != "json_schema" || f.JSONSchema == nil {
		return nil, nil
	}
	schema := bytes.TrimSpace(f.JSONSchema.Schema)
	if len(schema) == 0 || !json.Valid(schema) {
		return nil, llm.InvalidRequest("response_format.json_schema.schema", llm.CodeInvalidValue,
			"json_schema needs a schema object")
	}
	def := types.JsonSchemaDefinition{Schema: aws.String(string(schema)), Name: aws.String(f.JSONSchema.Name)}
	if f.JSONSchema.Description != "" {
		def.Description = aws.String(f.JSONSchema.Description)
	}
	return &types.OutputConfig{TextFormat: &types.OutputFormat{Type: types.OutputFormatTypeJsonSchema,
		Structure: &types.OutputFormatStructureMemberJsonSchema{Value: def}}}, nil
}

// decodeDocument decodes JSON for an SDK document. The SDK re-encodes
// documents from Go values and writes only its own Number type verbatim, so
// numbers become smithydocument.Number: 12345678901234567890 and 1.10 reach
// Bedrock as written rather than through float64.
func decodeDocument(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errTrailingData
	}
	return numbers(v), nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return smithydocument.Number(x)
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
