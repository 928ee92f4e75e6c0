package gemini

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// skipSignature is the sentinel Gemini's thought-signatures guide documents
// for function calls whose signature is unknown (histories from another
// model, or clients that drop extra_content). Gemini 3 models refuse a
// model turn whose first function call carries no signature at all.
const skipSignature = "skip_thought_signature_validator"

// generateRequestFromChat translates an OpenAI chat request into Gemini's
// generateContent body for model (its thinking settings depend on it).
// body is the client's raw JSON, read only for the thought signatures that
// the parsed request does not keep.
func generateRequestFromChat(c *llm.ChatRequest, body []byte, model string) (*generateContentRequest, error) {
	g := &generateContentRequest{Contents: make([]content, 0, len(c.Messages))}
	sigs := thoughtSignatures(body)
	var names map[string]string // tool_call_id -> function name, from the assistant turns
	var system []part
	for i := range c.Messages {
		m := &c.Messages[i]
		switch m.Role {
		case "system", "developer":
			// Hoisted into systemInstruction: Gemini has no system turn, so a
			// system message in mid-conversation loses its position.
			if text := m.Content.String(); text != "" {
				system = append(system, part{Text: text})
			}
		case "user":
			parts, err := userParts(m, i)
			if err != nil {
				return nil, err
			}
			g.Contents = append(g.Contents, content{Role: "user", Parts: parts})
		case "assistant":
			var msgSigs []string
			if i < len(sigs) {
				msgSigs = sigs[i]
			}
			parts, err := modelParts(m, i, msgSigs)
			if err != nil {
				return nil, err
			}
			if len(parts) == 0 {
				continue // an empty assistant turn; Gemini refuses a content without parts
			}
			if len(m.ToolCalls) > 0 && names == nil {
				names = make(map[string]string, len(m.ToolCalls))
			}
			for _, tc := range m.ToolCalls {
				names[tc.ID] = tc.Function.Name
			}
			g.Contents = append(g.Contents, content{Role: "model", Parts: parts})
		case "tool":
			name := names[m.ToolCallID]
			if name == "" {
				name = m.Name
			}
			if name == "" {
				return nil, llm.InvalidRequest(param(i, "tool_call_id"), llm.CodeInvalidValue,
					"tool_call_id "+strconv.Quote(m.ToolCallID)+" matches no tool call of an earlier assistant message")
			}
			p := part{FunctionResponse: &functionResponse{ID: echoedID(m.ToolCallID), Name: name,
				Response: functionOutput{Output: toolOutput(m.Content)}}}
			// Gemini wants the answers to one turn's calls in one user content.
			if i > 0 && c.Messages[i-1].Role == "tool" {
				last := &g.Contents[len(g.Contents)-1]
				last.Parts = append(last.Parts, p)
			} else {
				g.Contents = append(g.Contents, content{Role: "user", Parts: []part{p}})
			}
		default:
			return nil, llm.Unsupported(param(i, "role"), llm.CodeUnsupportedRole,
				"role must be system, developer, user, assistant or tool")
		}
	}
	switch {
	case len(g.Contents) == 0 && len(system) > 0:
		// Only system messages: Gemini needs contents, OpenAI answers such a
		// request, so the instructions become the user turn.
		g.Contents = append(g.Contents, content{Role: "user", Parts: system})
	case len(system) > 0:
		g.SystemInstruction = &content{Parts: system}
	}
	if err := addTools(g, c); err != nil {
		return nil, err
	}
	g.GenerationConfig = generationConfigFromChat(c)
	if tc := thinkingConfigFor(c, model); tc != nil {
		if g.GenerationConfig == nil {
			g.GenerationConfig = &generationConfig{}
		}
		g.GenerationConfig.ThinkingConfig = tc
	}
	return g, nil
}

func param(i int, field string) string {
	return "messages[" + strconv.Itoa(i) + "]." + field
}

// userParts translates a user message's content.
func userParts(m *llm.Message, i int) ([]part, error) {
	if !m.Content.IsParts {
		return []part{{Text: m.Content.Text}}, nil
	}
	parts := make([]part, 0, len(m.Content.Parts))
	for j, p := range m.Content.Parts {
		field := "content[" + strconv.Itoa(j) + "]"
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, part{Text: p.Text})
			}
		case "image_url":
			b, err := inlineImage(p.ImageURL.URL, param(i, field+".image_url.url"))
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{InlineData: b})
		default:
			return nil, llm.InvalidRequest(param(i, field+".type"), llm.CodeInvalidValue,
				"content parts of type "+strconv.Quote(p.Type)+" are not supported by Gemini models on this router")
		}
	}
	if len(parts) == 0 {
		return nil, llm.InvalidRequest(param(i, "content"), llm.CodeMissingParam, "a user message needs non-empty content")
	}
	return parts, nil
}

// inlineImage turns a data: URI into inline data. Remote URLs are refused
// rather than fetched: fetching would let any client make the router request
// arbitrary addresses (SSRF), and its latency and size would escape the
// attempt's limits. Gemini's fileData takes only Files-API URIs.
func inlineImage(url, field string) (*blob, error) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return nil, llm.Unsupported(field, "unsupported_image_url",
			"Gemini models on this router accept images only as base64 data: URIs (data:image/png;base64,...); the router does not fetch image URLs")
	}
	meta, data, ok := strings.Cut(rest, ",")
	mime, isBase64 := strings.CutSuffix(meta, ";base64")
	mime, _, _ = strings.Cut(mime, ";")
	if !ok || !isBase64 || mime == "" || data == "" {
		return nil, llm.InvalidRequest(field, llm.CodeInvalidValue,
			"an image data: URI must name its media type and be base64 encoded (data:image/png;base64,...)")
	}
	return &blob{MimeType: mime, Data: data}, nil
}

// modelParts translates an assistant message: its text, then a functionCall
// per tool call. sigs holds the thought signature of each tool call the
// client sent back in extra_content, aligned with m.ToolCalls.
func modelParts(m *llm.Message, i int, sigs []string) ([]part, error) {
	parts := make([]part, 0, 1+len(m.ToolCalls))
	if text := m.Content.String(); text != "" {
		parts = append(parts, part{Text: text})
	}
	for j := range m.ToolCalls {
		tc := &m.ToolCalls[j]
		args, ok := objectArgs(tc.Function.Arguments)
		if !ok {
			return nil, llm.InvalidRequest(param(i, "tool_calls["+strconv.Itoa(j)+"].function.arguments"), llm.CodeInvalidValue,
				"function arguments must be a JSON object")
		}
		p := part{FunctionCall: &functionCall{ID: echoedID(tc.ID), Name: tc.Function.Name, Args: args}}
		if j < len(sigs) {
			p.ThoughtSignature = sigs[j]
		}
		if j == 0 && p.ThoughtSignature == "" {
			// Gemini signs the first call of a turn; parallel calls carry none.
			p.ThoughtSignature = skipSignature
		}
		parts = append(parts, p)
	}
	return parts, nil
}

// objectArgs checks that a tool call's arguments are a JSON object; empty
// arguments are an empty object.
func objectArgs(s string) (json.RawMessage, bool) {
	b := bytes.TrimSpace([]byte(s))
	if len(b) == 0 {
		return json.RawMessage("{}"), true
	}
	if b[0] != '{' || !json.Valid(b) {
		return nil, false
	}
	return b, true
}

// toolOutput is a tool message's content as the "output" value: the JSON it
// holds when it is JSON, else the text as a string.
func toolOutput(c llm.Content) json.RawMessage {
	text := c.String()
	if b := bytes.TrimSpace([]byte(text)); len(b) > 0 && json.Valid(b) {
		return b
	}
	q, _ := json.Marshal(text) // a string always marshals
	return q
}

// echoedID is the id to send back to Gemini for a tool call: ids Gemini issued
// go back so it can match calls and responses; ids the adapter made up must
// not, since Gemini never issued them.
func echoedID(id string) string {
	if isSynthesizedID(id) {
		return ""
	}
	return id
}

// thoughtSignatures reads the thought signatures clients return in
// tool_calls[].extra_content.google.thought_signature, indexed by message and
// tool call. Most bodies have none, and then nothing is decoded.
func thoughtSignatures(body []byte) [][]string {
	if !bytes.Contains(body, []byte(`"thought_signature"`)) {
		return nil
	}
	var b struct {
		Messages []struct {
			ToolCalls []struct {
				ExtraContent *extraContent `json:"extra_content"`
			} `json:"tool_calls"`
		} `json:"messages"`
	}
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	out := make([][]string, len(b.Messages))
	for i, m := range b.Messages {
		for j, tc := range m.ToolCalls {
			if e := tc.ExtraContent; e != nil && e.Google != nil && e.Google.ThoughtSignature != "" {
				if out[i] == nil {
					out[i] = make([]string, len(m.ToolCalls))
				}
				out[i][j] = e.Google.ThoughtSignature
			}
		}
	}
	return out
}

// addTools declares the client's functions and its tool_choice.
func addTools(g *generateContentRequest, c *llm.ChatRequest) error {
	if len(c.Tools) == 0 {
		return nil // tool_choice without tools has nothing to choose from
	}
	decls := make([]functionDeclaration, len(c.Tools))
	for i, t := range c.Tools {
		decls[i] = functionDeclaration{Name: t.Function.Name, Description: t.Function.Description}
		if p := bytes.TrimSpace(t.Function.Parameters); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
			decls[i].ParametersJSONSchema = p
		}
	}
	g.Tools = []tool{{FunctionDeclarations: decls}}
	choice, err := llm.ParseToolChoice(c.ToolChoice)
	if err != nil {
		return llm.InvalidRequest("tool_choice", llm.CodeInvalidValue, err.Error())
	}
	var cfg functionCallingConfig
	switch choice.Mode {
	case "":
		return nil
	case "auto":
		cfg.Mode = "AUTO"
	case "required":
		cfg.Mode = "ANY"
	case "none":
		cfg.Mode = "NONE"
	case "function":
		if !declared(decls, choice.Name) {
			return llm.InvalidRequest("tool_choice", llm.CodeInvalidValue,
				"tool_choice names function "+strconv.Quote(choice.Name)+", which is not among the tools")
		}
		cfg = functionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{choice.Name}}
	}
	g.ToolConfig = &toolConfig{FunctionCallingConfig: cfg}
	return nil
}

func declared(decls []functionDeclaration, name string) bool {
	for _, d := range decls {
		if d.Name == name {
			return true
		}
	}
	return false
}

// generationConfigFromChat maps the sampling and output settings; nil when
// the client set none.
func generationConfigFromChat(c *llm.ChatRequest) *generationConfig {
	cfg := generationConfig{
		Temperature:      c.Temperature,
		TopP:             c.TopP,
		MaxOutputTokens:  c.MaxOutputTokens(),
		StopSequences:    c.Stop,
		PresencePenalty:  c.PresencePenalty,
		FrequencyPenalty: c.FrequencyPenalty,
	}
	if c.N != nil {
		cfg.CandidateCount = *c.N
	}
	if c.Seed != nil {
		s := seed32(*c.Seed)
		cfg.Seed = &s
	}
	if f := c.ResponseFormat; f != nil {
		switch f.Type {
		case "json_object":
			cfg.ResponseMimeType = "application/json"
		case "json_schema":
			cfg.ResponseMimeType = "application/json"
			if f.JSONSchema != nil && len(f.JSONSchema.Schema) > 0 {
				cfg.ResponseJSONSchema = f.JSONSchema.Schema
			}
		}
	}
	if cfg.Temperature == nil && cfg.TopP == nil && cfg.MaxOutputTokens == 0 && len(cfg.StopSequences) == 0 &&
		cfg.PresencePenalty == nil && cfg.FrequencyPenalty == nil && cfg.CandidateCount == 0 && cfg.Seed == nil &&
		cfg.ResponseMimeType == "" {
		return nil
	}
	return &cfg
}

// seed32 fits OpenAI's 64-bit seed into Gemini's int32. Seeds in range pass
// unchanged; larger ones fold both halves together, so equal seeds still give
// equal Gemini seeds.
func seed32(s int64) int32 {
	if s >= math.MinInt32 && s <= math.MaxInt32 {
		return int32(s)
	}
	return int32(uint32(s) ^ uint32(uint64(s)>>32))
}
