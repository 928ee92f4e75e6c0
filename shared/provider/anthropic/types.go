package anthropic

import (
	"encoding/json"

	"github.com/llm-router/router/shared/llm"
)

// Wire types of the Anthropic Messages API (anthropic-version 2023-06-01),
// holding only the fields the adapter sends or reads. Unknown fields in
// answers are ignored, as upstreams add them over time.

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model     string `json:"model"`
	MaxTokens int    `json:"max_tokens"`
	// System is the system prompt: a string, or text blocks when one
	// carries a cache breakpoint (nil: none).
	System        any         `json:"system,omitempty"`
	Messages      []message   `json:"messages"`
	Temperature   *float64    `json:"temperature,omitempty"`
	TopP          *float64    `json:"top_p,omitempty"`
	StopSequences []string    `json:"stop_sequences,omitempty"`
	Stream        bool        `json:"stream,omitempty"`
	Metadata      *metadata   `json:"metadata,omitempty"`
	Tools         []tool      `json:"tools,omitempty"`
	ToolChoice    *toolChoice `json:"tool_choice,omitempty"`
	Thinking      *thinking   `json:"thinking,omitempty"`

	// answerTool names the tool forced for structured output (structured.go),
	// whose input is the answer; it is not sent.
	answerTool string
}

// message is one turn; Anthropic has only user and assistant roles.
type message struct {
	Role    string         `json:"role"`
	Content []contentBlock `json:"content"`
}

// contentBlock is the union of the request blocks the adapter writes: text,
// image, tool_use, tool_result, thinking and redacted_thinking. Fields of
// other types stay empty and are omitted.
type contentBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text,omitempty"`
	Source    *imageSource    `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	// Content is a tool_result's content: a string or blocks.
	Content any `json:"content,omitempty"`
	// Thinking is a thinking block's text, sent back with its Signature;
	// Data is a redacted_thinking block's.
	Thinking  *string `json:"thinking,omitempty"`
	Signature string  `json:"signature,omitempty"`
	Data      string  `json:"data,omitempty"`
	// CacheControl marks the end of a cached prefix.
	CacheControl *llm.CacheControl `json:"cache_control,omitempty"`
}

// thinking is extended thinking's setting: {type: enabled, budget_tokens}.
type thinking struct {
	Type         string `json:"type"`
	BudgetTokens int    `json:"budget_tokens"`
}

// imageSource is an image block's source: base64 data or a URL.
type imageSource struct {
	Type      string `json:"type"` // base64 | url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type metadata struct {
	UserID string `json:"user_id"`
}

// tool declares a client tool.
type tool struct {
	Name         string            `json:"name"`
	Description  string            `json:"description,omitempty"`
	InputSchema  json.RawMessage   `json:"input_schema"`
	Strict       *bool             `json:"strict,omitempty"`
	CacheControl *llm.CacheControl `json:"cache_control,omitempty"`
}

// toolChoice is {type: auto|any|tool|none, name?, disable_parallel_tool_use?}.
type toolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse bool   `json:"disable_parallel_tool_use,omitempty"`
}

// messageResponse is a whole answer, and the message of a message_start event.
type messageResponse struct {
	ID         string          `json:"id"`
	Model      string          `json:"model"`
	Content    []responseBlock `json:"content"`
	StopReason string          `json:"stop_reason"`
	Usage      usage           `json:"usage"`
}

// responseBlock is a content block of an answer or a content_block_start
// event. Types the adapter does not translate (server tools) are skipped.
type responseBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	Thinking  string          `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"`
}

// usage is Anthropic's token count. input_tokens excludes cached tokens. In a
// message_delta event every count is cumulative, and the input counts may be
// absent (older API versions) or null, hence the pointers.
type usage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             int  `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	// CacheCreation splits the writes by TTL; the one-hour ones cost more.
	CacheCreation *cacheCreation `json:"cache_creation"`
}

type cacheCreation struct {
	Ephemeral5m int `json:"ephemeral_5m_input_tokens"`
	Ephemeral1h int `json:"ephemeral_1h_input_tokens"`
}

// streamEvent is the decoded form of message_start, content_block_start and
// message_delta. The frequent content_block_delta is spliced without decoding;
// error events are read as an errorResponse.
type streamEvent struct {
	Index        int              `json:"index"`
	Message      *messageResponse `json:"message"`
	ContentBlock *responseBlock   `json:"content_block"`
	Delta        *messageDelta    `json:"delta"`
	Usage        *usage           `json:"usage"`
}

// messageDelta is the delta of a message_delta event.
type messageDelta struct {
	StopReason string `json:"stop_reason"`
}

// errorResponse is the body of an error answer and the data of an error event.
type errorResponse struct {
	Type      string       `json:"type"` // "error"
	Error     *errorDetail `json:"error"`
	RequestID string       `json:"request_id"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}
