package anthropictest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// parsedRequest is what the server needs from a valid request.
type parsedRequest struct {
	Model  string
	Stream bool
	top    map[string]json.RawMessage
}

// topLevel lists the members of a Messages request (MessageNewParams of
// anthropic-sdk-go v1.84.0, plus stream). The real API refuses others with
// "<field>: Extra inputs are not permitted", which catches OpenAI fields
// leaking through a translation.
func topLevel(name string) bool {
	switch name {
	case "model", "max_tokens", "messages", "system", "temperature", "top_p", "top_k", "stop_sequences",
		"stream", "metadata", "tools", "tool_choice", "thinking", "output_config", "service_tier",
		"container", "context_management", "mcp_servers", "inference_geo", "cache_control", "speed", "diagnostics":
		return true
	}
	return false
}

type wireBlock struct {
	Type         string            `json:"type"`
	Text         *string           `json:"text"`
	Thinking     *string           `json:"thinking"`
	Signature    string            `json:"signature"`
	Data         string            `json:"data"`
	CacheControl *wireCacheControl `json:"cache_control"`
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	Input        json.RawMessage   `json:"input"`
	ToolUseID    string            `json:"tool_use_id"`
	Source       *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// validate checks a request as the real API does, for the rules a translation
// can break, and returns the API's message for the first broken one.
func validate(body []byte) (parsedRequest, string) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return parsedRequest{}, "There was an issue with your request body: it is not a JSON object."
	}
	for name := range top {
		if !topLevel(name) {
			return parsedRequest{}, name + ": Extra inputs are not permitted"
		}
	}
	req := parsedRequest{top: top}
	for _, f := range []string{"model", "max_tokens", "messages"} {
		if _, ok := top[f]; !ok {
			return req, f + ": Field required"
		}
	}
	if json.Unmarshal(top["model"], &req.Model) != nil || req.Model == "" {
		return req, "model: Input should be a valid string"
	}
	var maxTokens int
	if json.Unmarshal(top["max_tokens"], &maxTokens) != nil || maxTokens < 0 {
		return req, "max_tokens: Input should be a valid integer greater than or equal to 0"
	}
	if raw, ok := top["stream"]; ok && json.Unmarshal(raw, &req.Stream) != nil {
		return req, "stream: Input should be a valid boolean"
	}
	if raw, ok := top["temperature"]; ok {
		var t float64
		if json.Unmarshal(raw, &t) != nil || t < 0 || t > 1 {
			return req, "temperature: Input should be less than or equal to 1"
		}
	}
	if raw, ok := top["system"]; ok {
		if msg := validateSystem(raw); msg != "" {
			return req, msg
		}
	}
	if raw, ok := top["tools"]; ok {
		if msg := validateTools(raw); msg != "" {
			return req, msg
		}
	}
	if raw, ok := top["tool_choice"]; ok {
		if msg := validateToolChoice(raw); msg != "" {
			return req, msg
		}
	}
	if raw, ok := top["metadata"]; ok {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return req, "metadata: Input should be a valid dictionary"
		}
		for k := range m {
			if k != "user_id" {
				return req, "metadata." + k + ": Extra inputs are not permitted"
			}
		}
	}
	var msgs []wireMessage
	if json.Unmarshal(top["messages"], &msgs) != nil {
		return req, "messages: Input should be a valid list"
	}
	if msg := validateMessages(msgs); msg != "" {
		return req, msg
	}
	if msg := validateCacheControl(top); msg != "" {
		return req, msg
	}
	return req, validateThinking(top, maxTokens, msgs)
}

// validateCacheControl checks the breakpoints: ephemeral, a TTL of 5m or
// 1h, at most four, none on a thinking block, and no one-hour one after a
// five-minute one.
func validateCacheControl(top map[string]json.RawMessage) string {
	units, _ := promptUnits(top)
	n, shorter := 0, false
	for _, u := range units {
		m := u.marker
		if m == nil {
			continue
		}
		n++
		switch {
		case m.Type != "ephemeral":
			return "cache_control: Input tag '" + m.Type + "' found using 'type' does not match any of the expected tags: 'ephemeral'"
		case m.TTL != "" && m.TTL != "5m" && m.TTL != "1h":
			return "cache_control.ephemeral.ttl: Input should be '5m' or '1h'"
		case m.TTL == "1h" && shorter:
			return "a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: `tools`, `system`, `messages`."
		case m.TTL != "1h":
			shorter = true
		}
	}
	if n > 4 {
		return "A maximum of 4 blocks with cache_control may be provided. Found " + strconv.Itoa(n) + "."
	}
	return ""
}

// validateThinking checks extended thinking's rules: a budget of at least
// 1024 below max_tokens; temperature 1 or unset, top_p at least 0.95 or
// unset, no top_k, no forced tool; and a final assistant turn (a prefill,
// or the one a tool loop continues) that starts with its thinking.
func validateThinking(top map[string]json.RawMessage, maxTokens int, msgs []wireMessage) string {
	raw, ok := top["thinking"]
	if !ok {
		return ""
	}
	var th struct {
		Type   string `json:"type"`
		Budget *int   `json:"budget_tokens"`
	}
	if json.Unmarshal(raw, &th) != nil {
		return "thinking: Input should be a valid dictionary or object"
	}
	switch th.Type {
	case "disabled", "adaptive":
		return ""
	case "enabled":
	default:
		return "thinking: Input tag '" + th.Type + "' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'"
	}
	switch {
	case th.Budget == nil:
		return "thinking.enabled.budget_tokens: Field required"
	case *th.Budget < 1024:
		return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
	case maxTokens <= *th.Budget:
		return "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
	}
	if t, ok := top["temperature"]; ok {
		var v float64
		if json.Unmarshal(t, &v) != nil || v != 1 {
			return "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
		}
	}
	if p, ok := top["top_p"]; ok {
		var v float64
		if json.Unmarshal(p, &v) != nil || v < 0.95 {
			return "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
		}
	}
	if _, ok := top["top_k"]; ok {
		return "`top_k` must be unset when thinking is enabled. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
	}
	if tc, ok := top["tool_choice"]; ok {
		var c struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(tc, &c) == nil && (c.Type == "any" || c.Type == "tool") {
			return "Thinking may not be enabled when tool_choice forces tool use."
		}
	}
	final := len(msgs) - 1
	if final >= 0 && msgs[final].Role == "user" {
		blocks, _ := contentBlocks("", msgs[final].Content)
		onlyResults := len(blocks) > 0
		for _, b := range blocks {
			onlyResults = onlyResults && b.Type == "tool_result"
		}
		if !onlyResults {
			return ""
		}
		final--
	}
	if final < 0 || msgs[final].Role != "assistant" {
		return ""
	}
	blocks, _ := contentBlocks("", msgs[final].Content)
	if len(blocks) == 0 || blocks[0].Type != "thinking" && blocks[0].Type != "redacted_thinking" {
		found := "nothing"
		if len(blocks) > 0 {
			found = "`" + blocks[0].Type + "`"
		}
		return "messages." + strconv.Itoa(final) + ".content.0.type: Expected `thinking` or `redacted_thinking`, but found " + found +
			". When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
	}
	return ""
}

func validateSystem(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		return ""
	}
	var blocks []wireBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return "system: Input should be a valid string or list of text blocks"
	}
	for i, b := range blocks {
		if b.Type != "text" || b.Text == nil {
			return "system." + strconv.Itoa(i) + ": Input should be a text block"
		}
	}
	return ""
}

func validateTools(raw json.RawMessage) string {
	var tools []struct {
		Name        string         `json:"name"`
		Type        string         `json:"type"`
		InputSchema map[string]any `json:"input_schema"`
	}
	if json.Unmarshal(raw, &tools) != nil {
		return "tools: Input should be a valid list"
	}
	for i, t := range tools {
		p := "tools." + strconv.Itoa(i)
		if t.Type != "" && t.Type != "custom" {
			continue // server tools have their own shapes
		}
		if t.Name == "" {
			return p + ".custom.name: Field required"
		}
		if t.InputSchema == nil {
			return p + ".custom.input_schema: Field required"
		}
		if t.InputSchema["type"] != "object" {
			return p + ".custom.input_schema.type: Input should be 'object'"
		}
	}
	return ""
}

func validateToolChoice(raw json.RawMessage) string {
	var tc struct {
		Type string `json:"type"`
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &tc) != nil {
		return "tool_choice: Input should be a valid dictionary or object"
	}
	switch tc.Type {
	case "auto", "any", "none":
	case "tool":
		if tc.Name == "" {
			return "tool_choice.tool.name: Field required"
		}
	default:
		return "tool_choice: Input tag '" + tc.Type + "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
	}
	return ""
}

// validateMessages checks roles, block shapes and the tool rules: tool_use
// only from the assistant, each answered by a tool_result at the start of the
// next user turn, and no tool_result without its tool_use.
func validateMessages(msgs []wireMessage) string {
	if len(msgs) == 0 {
		return "messages: at least one message is required"
	}
	var pending []string // tool_use ids of the previous assistant turn
	for i, m := range msgs {
		p := "messages." + strconv.Itoa(i)
		if m.Role != "user" && m.Role != "assistant" {
			return p + ".role: Input should be 'user' or 'assistant'"
		}
		blocks, msg := contentBlocks(p, m.Content)
		if msg != "" {
			return msg
		}
		var uses []string
		answered := map[string]bool{}
		leading := true
		for j, b := range blocks {
			bp := p + ".content." + strconv.Itoa(j)
			if b.Type != "tool_result" {
				leading = false
			}
			switch b.Type {
			case "text":
				if b.Text == nil || *b.Text == "" {
					return "messages: text content blocks must be non-empty"
				}
			case "image":
				if msg := validateImage(bp, b); msg != "" {
					return msg
				}
			case "tool_use":
				if m.Role != "assistant" {
					return bp + ": tool_use blocks may only appear in assistant messages"
				}
				var input map[string]any
				if b.ID == "" || b.Name == "" || json.Unmarshal(b.Input, &input) != nil || input == nil {
					return bp + ".input: Input should be a valid dictionary"
				}
				uses = append(uses, b.ID)
			case "tool_result":
				if m.Role != "user" {
					return bp + ": tool_result blocks may only appear in user messages"
				}
				if !leading {
					return p + ": tool_result blocks must come first in the content array, before any other content"
				}
				if !contains(pending, b.ToolUseID) {
					return bp + ": unexpected `tool_use_id` found in `tool_result` blocks: " + b.ToolUseID +
						". Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
				}
				answered[b.ToolUseID] = true
			case "thinking":
				if m.Role != "assistant" {
					return bp + ": thinking blocks may only appear in assistant messages"
				}
				if b.Thinking == nil || b.Signature != Sign(*b.Thinking) {
					return bp + ": Invalid `signature` in `thinking` block"
				}
				if b.CacheControl != nil {
					return bp + ".thinking.cache_control: Extra inputs are not permitted"
				}
			case "redacted_thinking":
				if b.Data == "" {
					return bp + ".redacted_thinking.data: Field required"
				}
			case "document", "search_result", "server_tool_use",
				"web_search_tool_result", "web_fetch_tool_result", "code_execution_tool_result", "container_upload":
			default:
				return bp + ".type: Input tag '" + b.Type + "' found using 'type' does not match any of the expected tags"
			}
		}
		var missing []string
		for _, id := range pending {
			if !answered[id] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return p + ": `tool_use` ids were found without `tool_result` blocks immediately after: " +
				strings.Join(missing, ", ") + ". Each `tool_use` block must have a corresponding `tool_result` block in the next message."
		}
		pending = uses
		if i == len(msgs)-1 && m.Role == "assistant" && len(blocks) > 0 {
			if last := blocks[len(blocks)-1]; last.Type == "text" && last.Text != nil &&
				strings.TrimRightFunc(*last.Text, unicode.IsSpace) != *last.Text {
				return "messages: final assistant content cannot end with trailing whitespace"
			}
		}
	}
	return ""
}

func contains(ids []string, id string) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// contentBlocks reads a message's content: a string (one text block) or a list.
func contentBlocks(p string, raw json.RawMessage) ([]wireBlock, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, p + ".content: Input should be a valid string"
		}
		return []wireBlock{{Type: "text", Text: &s}}, ""
	}
	var blocks []wireBlock
	if json.Unmarshal(raw, &blocks) != nil || blocks == nil {
		return nil, p + ".content: Input should be a valid string or list"
	}
	return blocks, ""
}

func validateImage(p string, b wireBlock) string {
	if b.Source == nil {
		return p + ".source: Field required"
	}
	switch b.Source.Type {
	case "base64":
		switch b.Source.MediaType {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			return p + ".source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
		}
		if b.Source.Data == "" {
			return p + ".source.base64.data: Field required"
		}
	case "url":
		if b.Source.URL == "" {
			return p + ".source.url.url: Field required"
		}
	default:
		return p + ".source: Input tag '" + b.Source.Type + "' found using 'type' does not match any of the expected tags"
	}
	return ""
}
