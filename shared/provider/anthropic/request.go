package anthropic

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// placeholderTurn opens a conversation whose first turn is the assistant's, as
// Anthropic expects the first message to be the user's [PROVIDERS.md: M].
const placeholderTurn = "."

var (
	emptyObject = json.RawMessage(`{}`)
	emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)
)

// toAnthropicRequest builds the Messages API body for an OpenAI chat request.
// Errors are 400s naming the OpenAI parameter that cannot be translated.
func toAnthropicRequest(req *llm.Request, stream bool) (*messagesRequest, error) {
	c := req.Chat
	if c.N != nil && *c.N > 1 {
		return nil, llm.InvalidRequest("n", llm.CodeInvalidValue, "n must be 1: Anthropic models return one choice")
	}
	out := &messagesRequest{Model: req.Upstream, MaxTokens: maxTokens(req), Stream: stream,
		Messages: make([]message, 0, len(c.Messages))}
	budget := thinkingBudget(req, out.MaxTokens)

	var system systemBlocks
	for i := range c.Messages {
		m := &c.Messages[i]
		switch m.Role {
		case "system", "developer":
			// Anthropic has one top-level system prompt; mid-conversation
			// instructions lose their position but not their text.
			system.add(m)
		case "user":
			blocks, err := toAnthropicUserBlocks(i, m.Content)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "user", markLast(blocks, m.CacheControl))
		case "assistant":
			blocks, err := toAnthropicAssistantBlocks(i, m, budget > 0)
			if err != nil {
				return nil, err
			}
			out.Messages = appendTurn(out.Messages, "assistant", markLast(blocks, m.CacheControl))
		case "tool":
			block, err := toAnthropicToolResult(i, m)
			if err != nil {
				return nil, err
			}
			out.Messages = appendToolResult(out.Messages, block)
		default:
			return nil, llm.Unsupported("messages["+strconv.Itoa(i)+"].role", llm.CodeUnsupportedRole,
				"role must be system, developer, user, assistant or tool")
		}
	}
	out.Messages = trimPrefill(out.Messages)
	if len(out.Messages) > 0 && out.Messages[0].Role == "assistant" {
		out.Messages = append(out.Messages, message{})
		copy(out.Messages[1:], out.Messages)
		out.Messages[0] = message{Role: "user", Content: []contentBlock{{Type: "text", Text: placeholderTurn}}}
	}

	if t := c.Temperature; t != nil {
		// OpenAI allows 0-2, Anthropic 0-1; Anthropic's own OpenAI layer clamps.
		v := min(max(*t, 0), 1)
		out.Temperature = &v
	}
	if p := c.TopP; p != nil && *p < 1 {
		// top_p 1 changes nothing, and newer Claude models refuse temperature and
		// top_p together, which many OpenAI clients send by default.
		out.TopP = p
	}
	if len(c.Stop) > 0 {
		out.StopSequences = c.Stop
	}
	if id := userID(req); id != "" {
		out.Metadata = &metadata{UserID: id}
	}
	if err := toAnthropicTools(c, out); err != nil {
		return nil, err
	}
	sys := []byte(system.text())
	out.answerTool = toAnthropicResponseFormat(c, out, &sys)
	if instruction := sys[len(system.text()):]; system.marked() && len(instruction) > 0 {
		// The response format's instruction follows the marked blocks.
		system.blocks = append(system.blocks, contentBlock{Type: "text", Text: strings.TrimPrefix(string(instruction), "\n")})
	}
	switch {
	case len(sys) == 0:
	case len(out.Messages) == 0:
		// OpenAI answers a conversation of instructions only; Anthropic needs a
		// message, so the instructions become the user's turn.
		content := []contentBlock{{Type: "text", Text: string(sys)}}
		if system.marked() {
			content = system.blocks
		}
		out.Messages = append(out.Messages, message{Role: "user", Content: content})
	case system.marked():
		out.System = system.blocks
	default:
		out.System = string(sys)
	}
	limitMarkers(out)
	if budget > 0 && thinkingAllowed(c, out) {
		// Thinking takes temperature 1 (unset) and, here, no top_p: Anthropic
		// refuses other values with thinking on.
		out.Thinking = &thinking{Type: "enabled", BudgetTokens: budget}
		out.Temperature, out.TopP = nil, nil
	} else if budget > 0 {
		stripThinking(out)
	}
	return out, nil
}

// systemBlocks collects the system and developer messages, hoisted into the
// system prompt: a string joined with "\n", or text blocks when one carries
// a cache breakpoint (each block a part, or a message; the "\n" between
// messages kept at the end of a block, so the text is the same).
type systemBlocks struct {
	blocks []contentBlock
	mark   bool
}

func (s *systemBlocks) add(m *llm.Message) {
	start := len(s.blocks)
	if m.Content.IsParts && m.Marked() {
		for _, p := range m.Content.Parts {
			if p.Type == "text" && p.Text != "" {
				s.blocks = append(s.blocks, contentBlock{Type: "text", Text: p.Text, CacheControl: copyMarker(p.CacheControl)})
			}
		}
	} else if text := m.Content.String(); text != "" {
		s.blocks = append(s.blocks, contentBlock{Type: "text", Text: text})
	}
	if len(s.blocks) == start {
		return
	}
	if start > 0 {
		s.blocks[start-1].Text += "\n"
	}
	if m.CacheControl != nil {
		s.blocks[len(s.blocks)-1].CacheControl = copyMarker(m.CacheControl)
	}
	s.mark = s.mark || m.Marked()
}

func (s *systemBlocks) marked() bool { return s.mark }

func (s *systemBlocks) text() string {
	if len(s.blocks) == 1 {
		return s.blocks[0].Text
	}
	var b strings.Builder
	for _, blk := range s.blocks {
		b.WriteString(blk.Text)
	}
	return b.String()
}

// copyMarker copies a breakpoint of the shared request, which the adapter
// may change (TTL order).
func copyMarker(c *llm.CacheControl) *llm.CacheControl {
	if c == nil {
		return nil
	}
	cc := *c
	return &cc
}

// markLast puts a message's breakpoint on its last block, as LiteLLM does:
// the prefix to cache ends with the message.
func markLast(blocks []contentBlock, c *llm.CacheControl) []contentBlock {
	for i := len(blocks) - 1; c != nil && i >= 0; i-- {
		if blocks[i].Type != "thinking" && blocks[i].Type != "redacted_thinking" {
			blocks[i].CacheControl = copyMarker(c)
			break
		}
	}
	return blocks
}

// limitMarkers holds the request to Anthropic's rules on breakpoints. At
// most four are taken: the earliest extras are dropped, since a later
// breakpoint's prefix contains the earlier ones' and a read there reads
// them all, while dropping the last would stop caching the longest prefix.
// And a one-hour breakpoint may not follow a five-minute one: such a
// one-hour marker is sent as five minutes, the cheaper write.
func limitMarkers(out *messagesRequest) {
	var all []**llm.CacheControl
	for i := range out.Tools {
		all = append(all, &out.Tools[i].CacheControl)
	}
	if blocks, ok := out.System.([]contentBlock); ok {
		for i := range blocks {
			all = append(all, &blocks[i].CacheControl)
		}
	}
	for i := range out.Messages {
		for j := range out.Messages[i].Content {
			b := &out.Messages[i].Content[j]
			if inner, ok := b.Content.([]contentBlock); ok {
				for k := range inner {
					all = append(all, &inner[k].CacheControl)
				}
			}
			all = append(all, &b.CacheControl)
		}
	}
	n := 0
	for _, m := range all {
		if *m != nil {
			n++
		}
	}
	shorter := false
	for _, m := range all {
		switch {
		case *m == nil:
		case n > llm.MaxCacheMarkers:
			*m = nil
			n--
		case (*m).TTL == llm.TTL1h && shorter:
			(*m).TTL = ""
		case (*m).TTL != llm.TTL1h:
			shorter = true
		}
	}
}

// trimPrefill drops trailing whitespace from a final assistant turn, which
// Anthropic continues as a prefill and refuses when it ends in whitespace.
func trimPrefill(msgs []message) []message {
	n := len(msgs)
	if n == 0 || msgs[n-1].Role != "assistant" {
		return msgs
	}
	blocks := msgs[n-1].Content
	last := &blocks[len(blocks)-1]
	if last.Type != "text" {
		return msgs
	}
	last.Text = strings.TrimRightFunc(last.Text, unicode.IsSpace)
	if last.Text == "" {
		blocks = blocks[:len(blocks)-1]
		if len(blocks) == 0 {
			return msgs[:n-1]
		}
		msgs[n-1].Content = blocks
	}
	return msgs
}

// maxTokens is the client's output limit, else the model's configured
// default: Anthropic requires max_tokens on every request.
func maxTokens(req *llm.Request) int {
	if n := req.Chat.MaxOutputTokens(); n > 0 {
		return n
	}
	if req.MaxTokens > 0 {
		return req.MaxTokens
	}
	return config.DefaultMaxTokens
}

var safetyIdentifierKey = []byte(`"safety_identifier"`)

// userID is the end-user id for metadata.user_id: OpenAI's deprecated user,
// else its replacement safety_identifier, which the parsed request does not
// hold, so it is read from the body (only when the body mentions it).
func userID(req *llm.Request) string {
	if req.Chat.User != "" {
		return req.Chat.User
	}
	if !bytes.Contains(req.Body, safetyIdentifierKey) {
		return ""
	}
	raw, ok := rawjson.Find(req.Body, "safety_identifier")
	if !ok {
		return ""
	}
	var id string
	_ = json.Unmarshal(raw, &id)
	return id
}

// appendTurn adds blocks as a turn of role, merged into the previous turn when
// it has the same role (Anthropic would combine them anyway; merging keeps the
// tool_result ordering rule visible here). An empty turn is dropped.
func appendTurn(msgs []message, role string, blocks []contentBlock) []message {
	if len(blocks) == 0 {
		return msgs
	}
	if n := len(msgs); n > 0 && msgs[n-1].Role == role {
		msgs[n-1].Content = append(msgs[n-1].Content, blocks...)
		return msgs
	}
	return append(msgs, message{Role: role, Content: blocks})
}

// appendToolResult adds a tool_result to the user turn that answers the
// previous assistant turn. Anthropic requires tool results first in that turn,
// so a result goes after the results already there and before any text.
func appendToolResult(msgs []message, b contentBlock) []message {
	n := len(msgs)
	if n == 0 || msgs[n-1].Role != "user" {
		return append(msgs, message{Role: "user", Content: []contentBlock{b}})
	}
	content := msgs[n-1].Content
	at := 0
	for at < len(content) && content[at].Type == "tool_result" {
		at++
	}
	content = append(content, contentBlock{})
	copy(content[at+1:], content[at:])
	content[at] = b
	msgs[n-1].Content = content
	return msgs
}

// toAnthropicUserBlocks translates a user message's content. Empty text is
// dropped: Anthropic refuses empty text blocks.
func toAnthropicUserBlocks(i int, c llm.Content) ([]contentBlock, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []contentBlock{{Type: "text", Text: c.Text}}, nil
	}
	blocks := make([]contentBlock, 0, len(c.Parts))
	for j, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				blocks = append(blocks, contentBlock{Type: "text", Text: p.Text, CacheControl: copyMarker(p.CacheControl)})
			}
		case "image_url":
			b, err := toAnthropicImage(partParam(i, j), p.ImageURL)
			if err != nil {
				return nil, err
			}
			b.CacheControl = copyMarker(p.CacheControl)
			blocks = append(blocks, b)
		default:
			// Audio and file parts have no translation here; dropping user
			// content silently would change the question.
			return nil, llm.InvalidRequest(partParam(i, j)+".type", llm.CodeInvalidValue,
				"content parts of type "+strconv.Quote(p.Type)+" are not supported by Anthropic models")
		}
	}
	return blocks, nil
}

func partParam(i, j int) string {
	return "messages[" + strconv.Itoa(i) + "].content[" + strconv.Itoa(j) + "]"
}

// toAnthropicImage translates an image_url: a data: URI becomes a base64
// source with its media type, an http(s) URL a url source.
func toAnthropicImage(param string, img *llm.ImageURL) (contentBlock, error) {
	if img == nil || img.URL == "" {
		return contentBlock{}, llm.InvalidRequest(param+".image_url", llm.CodeMissingParam, "an image part needs a url")
	}
	u := img.URL
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return contentBlock{Type: "image", Source: &imageSource{Type: "url", URL: u}}, nil
	}
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return contentBlock{}, llm.InvalidRequest(param+".image_url.url", llm.CodeInvalidValue,
			"an image url must be an http(s) URL or a data: URI")
	}
	meta, data, ok := strings.Cut(rest, ",")
	params := strings.Split(meta, ";")
	if !ok || len(params) < 2 || params[len(params)-1] != "base64" {
		return contentBlock{}, llm.InvalidRequest(param+".image_url.url", llm.CodeInvalidValue,
			"an image data: URI must be base64-encoded (data:image/png;base64,...)")
	}
	mediaType := strings.ToLower(params[0])
	switch mediaType {
	case "image/jpg":
		mediaType = "image/jpeg"
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return contentBlock{}, llm.InvalidRequest(param+".image_url.url", llm.CodeInvalidValue,
			"Anthropic models accept image/jpeg, image/png, image/gif and image/webp images, not "+strconv.Quote(mediaType))
	}
	return contentBlock{Type: "image", Source: &imageSource{Type: "base64", MediaType: mediaType, Data: data}}, nil
}

// toAnthropicAssistantBlocks translates an assistant turn: its signed
// thinking blocks when thinking is on (Anthropic requires them back, first,
// in a tool loop), its text, then a tool_use block per tool call. Reasoning
// text without a signature is not sent back: Anthropic accepts thinking
// blocks only with the signature it issued.
func toAnthropicAssistantBlocks(i int, m *llm.Message, thinkingOn bool) ([]contentBlock, error) {
	blocks := make([]contentBlock, 0, 1+len(m.ToolCalls)+len(m.ThinkingBlocks))
	if thinkingOn {
		for _, tb := range m.ThinkingBlocks {
			switch {
			case !tb.Signed():
			case tb.Type == "thinking":
				text := tb.Thinking
				blocks = append(blocks, contentBlock{Type: "thinking", Thinking: &text, Signature: tb.Signature})
			default:
				blocks = append(blocks, contentBlock{Type: "redacted_thinking", Data: tb.Data})
			}
		}
	}
	if m.Content.IsParts {
		for _, p := range m.Content.Parts {
			text := p.Text
			if p.Type == "refusal" {
				text = p.Refusal
			}
			if text != "" {
				blocks = append(blocks, contentBlock{Type: "text", Text: text, CacheControl: copyMarker(p.CacheControl)})
			}
		}
	} else if m.Content.Text != "" {
		blocks = append(blocks, contentBlock{Type: "text", Text: m.Content.Text})
	}
	for j, tc := range m.ToolCalls {
		input, ok := toolInput(tc.Function.Arguments)
		if !ok {
			return nil, llm.InvalidRequest("messages["+strconv.Itoa(i)+"].tool_calls["+strconv.Itoa(j)+"].function.arguments",
				llm.CodeInvalidValue, "tool call arguments must be a JSON object")
		}
		blocks = append(blocks, contentBlock{Type: "tool_use", ID: toolID(tc.ID), Name: tc.Function.Name, Input: input})
	}
	return blocks, nil
}

// toolInput parses OpenAI's arguments string into tool_use input, which must
// be a JSON object. Empty arguments (a call with no parameters) give {}.
func toolInput(args string) (json.RawMessage, bool) {
	s := strings.TrimSpace(args)
	if s == "" {
		return emptyObject, true
	}
	if s[0] != '{' || !json.Valid([]byte(s)) {
		return nil, false
	}
	return json.RawMessage(s), true
}

// toolID makes a tool call id acceptable to Anthropic, which allows only
// [a-zA-Z0-9_-]. Ids other providers issued (e.g. "functions.get:0") are
// rewritten the same way in tool_use and tool_result, so pairs still match.
func toolID(id string) string {
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			b := []byte(id)
			for j := i; j < len(b); j++ {
				if !idChar(b[j]) {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return id
}

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// toAnthropicToolResult translates a tool message into a tool_result block,
// which carries the message's breakpoint.
func toAnthropicToolResult(i int, m *llm.Message) (contentBlock, error) {
	b := contentBlock{Type: "tool_result", ToolUseID: toolID(m.ToolCallID), CacheControl: copyMarker(m.CacheControl)}
	if !m.Content.IsParts {
		if m.Content.Text != "" {
			b.Content = m.Content.Text
		}
		return b, nil
	}
	blocks, err := toAnthropicUserBlocks(i, m.Content)
	if err != nil {
		return contentBlock{}, err
	}
	if len(blocks) > 0 {
		b.Content = blocks
	}
	return b, nil
}

// toAnthropicTools translates tools and tool_choice. Without tools no
// tool_choice is sent: Anthropic has nothing to choose from.
func toAnthropicTools(c *llm.ChatRequest, out *messagesRequest) error {
	if len(c.Tools) == 0 {
		return nil
	}
	out.Tools = make([]tool, len(c.Tools))
	for i, t := range c.Tools {
		out.Tools[i] = tool{Name: t.Function.Name, Description: t.Function.Description,
			InputSchema: inputSchema(t.Function.Parameters), Strict: t.Function.Strict, CacheControl: copyMarker(t.Marker())}
	}
	choice, err := llm.ParseToolChoice(c.ToolChoice)
	if err != nil {
		return llm.InvalidRequest("tool_choice", llm.CodeInvalidValue, err.Error())
	}
	switch choice.Mode {
	case "auto":
		out.ToolChoice = &toolChoice{Type: "auto"}
	case "required":
		out.ToolChoice = &toolChoice{Type: "any"}
	case "none":
		out.ToolChoice = &toolChoice{Type: "none"}
	case "function":
		out.ToolChoice = &toolChoice{Type: "tool", Name: choice.Name}
	}
	if p := c.ParallelToolCalls; p != nil && !*p && choice.Mode != "none" {
		if out.ToolChoice == nil {
			out.ToolChoice = &toolChoice{Type: "auto"} // OpenAI's default with tools
		}
		out.ToolChoice.DisableParallelToolUse = true
	}
	return nil
}

// inputSchema is a function's parameters as an input_schema, which Anthropic
// requires, with type "object" (OpenAI accepts a function with no parameters,
// or {} for them).
func inputSchema(params json.RawMessage) json.RawMessage {
	params = bytes.TrimSpace(params)
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		return emptySchema
	}
	if !rawjson.Has(params, "type") {
		if withType, err := rawjson.Set(params, "type", []byte(`"object"`)); err == nil {
			return withType
		}
	}
	return params
}
