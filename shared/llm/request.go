// Package llm is the router's vocabulary: the OpenAI-shaped request, response and
// stream types every provider adapter translates to and from, usage, the error
// kinds the router acts on, and the small Provider contract.
package llm

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ChatRequest is the parsed view of an OpenAI Chat Completions request. The raw
// body travels beside it (Request.Body) so OpenAI-compatible upstreams receive
// fields the router does not interpret unchanged.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	Stop                Stop            `json:"stop,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"`
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	User                string          `json:"user,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	// PromptCacheKey is OpenAI's prompt_cache_key: requests sharing it and a
	// prefix are routed to the same cache.
	PromptCacheKey string `json:"prompt_cache_key,omitempty"`
	// IncludeReasoning is the router's extension (OpenRouter's name): the
	// model's reasoning reaches the client only when it is true.
	IncludeReasoning *bool `json:"include_reasoning,omitempty"`
}

// StreamOptions is OpenAI's stream_options object.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// MaxOutputTokens returns the output token limit the client asked for, 0 if none.
// max_completion_tokens wins over the deprecated max_tokens.
func (r *ChatRequest) MaxOutputTokens() int {
	switch {
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return 0
}

// WantsReasoning reports whether the client asked for the model's reasoning
// (include_reasoning: true).
func (r *ChatRequest) WantsReasoning() bool {
	return r.IncludeReasoning != nil && *r.IncludeReasoning
}

// WantsUsage reports whether a streaming client asked for the final usage chunk.
func (r *ChatRequest) WantsUsage() bool {
	return r.StreamOptions != nil && r.StreamOptions.IncludeUsage
}

// Message is one chat message. Content keeps both OpenAI forms (a string or an
// array of parts).
type Message struct {
	Role             string     `json:"role"`
	Content          Content    `json:"content"`
	Name             string     `json:"name,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID       string     `json:"tool_call_id,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	// ThinkingBlocks are an assistant turn's signed thinking blocks
	// (LiteLLM's name), which Anthropic and Bedrock need back in tool loops.
	ThinkingBlocks []ThinkingBlock `json:"thinking_blocks,omitempty"`
	// CacheControl marks the message's last content block (LiteLLM's
	// message-level form).
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ThinkingBlock is one block of a model's thinking as Anthropic issued it:
// type thinking with its text and signature, or redacted_thinking with its
// opaque data. Either goes back unchanged.
type ThinkingBlock struct {
	Type      string `json:"type"`
	Thinking  string `json:"thinking,omitempty"`
	Signature string `json:"signature,omitempty"`
	Data      string `json:"data,omitempty"`
}

// CacheControl is a prompt-cache breakpoint in Anthropic's terms, as
// LiteLLM and OpenRouter take it in OpenAI-shaped requests: the prompt up to
// and including the marked item is to be cached. TTL is "5m" (the default)
// or "1h".
type CacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl,omitempty"`
}

// Cache TTLs.
const (
	TTL5m = "5m"
	TTL1h = "1h"
)

// Content is a message's content: Text when the client sent a string, Parts when
// it sent an array. Null leaves both empty.
type Content struct {
	Text  string
	Parts []Part
	// IsParts records the form the client used, so it can be re-encoded the same way.
	IsParts bool
}

// Part is one element of an array content.
type Part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
	Refusal  string    `json:"refusal,omitempty"`
	// CacheControl marks the end of a cached prefix.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ImageURL is an image part's payload: an https URL or a data: URI.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// String returns the text of the content, joining text parts with no separator,
// as OpenAI does when it flattens array content.
func (c Content) String() string {
	if !c.IsParts {
		return c.Text
	}
	if len(c.Parts) == 1 {
		return c.Parts[0].Text
	}
	var b bytes.Buffer
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// UnmarshalJSON accepts a string, an array of parts or null.
func (c *Content) UnmarshalJSON(data []byte) error {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) == 0 {
		return errors.New("empty content")
	}
	switch data[0] {
	case '"':
		c.IsParts = false
		return json.Unmarshal(data, &c.Text)
	case '[':
		c.IsParts = true
		return json.Unmarshal(data, &c.Parts)
	case 'n':
		*c = Content{}
		return nil
	}
	return errors.New("content must be a string, an array of parts or null")
}

// MarshalJSON writes the form the content was read in; empty content is null.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.IsParts {
		return json.Marshal(c.Parts)
	}
	if c.Text == "" {
		return []byte("null"), nil
	}
	return json.Marshal(c.Text)
}

// Stop is OpenAI's stop field: a string or an array of strings.
type Stop []string

// UnmarshalJSON accepts a string, an array of strings or null.
func (s *Stop) UnmarshalJSON(data []byte) error {
	data = bytes.TrimLeft(data, " \t\r\n")
	if len(data) > 0 && data[0] == '"' {
		var one string
		if err := json.Unmarshal(data, &one); err != nil {
			return err
		}
		*s = Stop{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(data, &many); err != nil {
		return errors.New("stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// Tool is one tool the model may call.
type Tool struct {
	Type     string       `json:"type"`
	Function FunctionDecl `json:"function"`
	// CacheControl marks the end of a cached prefix (tools come first in
	// the prefix Anthropic and Bedrock cache).
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// Marker is the tool's cache breakpoint: the tool's own, else the one
// LiteLLM also accepts inside function.
func (t *Tool) Marker() *CacheControl {
	if t.CacheControl != nil {
		return t.CacheControl
	}
	return t.Function.CacheControl
}

// FunctionDecl declares a function tool.
type FunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
	// CacheControl is the tool's breakpoint written inside function.
	CacheControl *CacheControl `json:"cache_control,omitempty"`
}

// ToolCall is a tool invocation in an assistant message or a stream delta.
type ToolCall struct {
	// Index is set in stream deltas only.
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function part of a tool call; Arguments is a JSON text.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ResponseFormat is OpenAI's response_format.
type ResponseFormat struct {
	Type       string      `json:"type"`
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is the json_schema member of a response_format.
type JSONSchema struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolChoice is the decoded form of tool_choice.
type ToolChoice struct {
	Mode string // "auto", "none", "required", or "function" for a named function
	Name string // the function name when Mode is "function"
}

// ParseToolChoice decodes tool_choice; an absent value gives Mode "".
func ParseToolChoice(raw json.RawMessage) (ToolChoice, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return ToolChoice{}, nil
	}
	if raw[0] == '"' {
		var mode string
		if err := json.Unmarshal(raw, &mode); err != nil {
			return ToolChoice{}, err
		}
		switch mode {
		case "auto", "none", "required":
			return ToolChoice{Mode: mode}, nil
		}
		return ToolChoice{}, errors.New(`tool_choice must be "auto", "none", "required" or a function`)
	}
	var named struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &named); err != nil || named.Function.Name == "" {
		return ToolChoice{}, errors.New("tool_choice object must name a function")
	}
	return ToolChoice{Mode: "function", Name: named.Function.Name}, nil
}
