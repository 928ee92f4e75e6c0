package llm

import (
	"encoding/json"
	"errors"

	"github.com/llm-router/router/shared/rawjson"
)

// Usage is token usage in the router's terms. PromptTokens includes CachedTokens
// and CacheWriteTokens; CompletionTokens includes ReasoningTokens (OpenAI's
// convention, which adapters normalise to).
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	CachedTokens     int // prompt tokens read from a cache
	CacheWriteTokens int // prompt tokens written to a cache (Anthropic, Bedrock)
	// CacheWrite1hTokens is the part of CacheWriteTokens written to the
	// one-hour cache, which Anthropic bills at a higher rate.
	CacheWrite1hTokens int
	ReasoningTokens    int
}

// Add is the usage of two calls together.
func (u Usage) Add(v Usage) Usage {
	return Usage{PromptTokens: u.PromptTokens + v.PromptTokens, CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		CachedTokens: u.CachedTokens + v.CachedTokens, CacheWriteTokens: u.CacheWriteTokens + v.CacheWriteTokens,
		CacheWrite1hTokens: u.CacheWrite1hTokens + v.CacheWrite1hTokens, ReasoningTokens: u.ReasoningTokens + v.ReasoningTokens}
}

// Total is prompt plus completion tokens.
func (u Usage) Total() int { return u.PromptTokens + u.CompletionTokens }

type usageDetailsIn struct {
	CachedTokens     int `json:"cached_tokens"`
	CacheWriteTokens int `json:"cache_write_tokens"`
}

type completionDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

type usageWire struct {
	PromptTokens            int                `json:"prompt_tokens"`
	CompletionTokens        int                `json:"completion_tokens"`
	TotalTokens             int                `json:"total_tokens"`
	PromptTokensDetails     *usageDetailsIn    `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *completionDetails `json:"completion_tokens_details,omitempty"`
}

// MarshalJSON writes OpenAI's usage object.
func (u Usage) MarshalJSON() ([]byte, error) {
	w := usageWire{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: u.Total()}
	if u.CachedTokens != 0 || u.CacheWriteTokens != 0 {
		w.PromptTokensDetails = &usageDetailsIn{CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens}
	}
	if u.ReasoningTokens != 0 {
		w.CompletionTokensDetails = &completionDetails{ReasoningTokens: u.ReasoningTokens}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads OpenAI's usage object, including DeepSeek's cache
// field. It is on every answer's path, so it scans the object instead of
// decoding it by reflection (about ten times faster, no allocation).
func (u *Usage) UnmarshalJSON(data []byte) error {
	*u = Usage{}
	var hit int
	m := rawjson.MembersOf(data)
	for m.Next() {
		v := m.Value()
		switch string(m.Key()) {
		case "prompt_tokens":
			u.PromptTokens = atoi(v)
		case "completion_tokens":
			u.CompletionTokens = atoi(v)
		case "prompt_cache_hit_tokens":
			hit = atoi(v)
		case "prompt_tokens_details":
			d := rawjson.MembersOf(v)
			for d.Next() {
				switch string(d.Key()) {
				case "cached_tokens":
					u.CachedTokens = atoi(d.Value())
				case "cache_write_tokens":
					u.CacheWriteTokens = atoi(d.Value())
				}
			}
		case "completion_tokens_details":
			d := rawjson.MembersOf(v)
			for d.Next() {
				if string(d.Key()) == "reasoning_tokens" {
					u.ReasoningTokens = atoi(d.Value())
				}
			}
		}
	}
	if m.Err() != nil {
		return errors.New("usage is not a JSON object")
	}
	if u.CachedTokens == 0 && hit > 0 {
		u.CachedTokens = hit
	}
	return nil
}

// atoi reads a non-negative JSON integer; anything else (null, negative,
// fractional, too large) counts as 0 tokens.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 12 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// ChatResponse is a chat.completion object, for adapters that build answers
// rather than relay them.
type ChatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

// Choice is one choice of a chat.completion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs"`
}

// ResponseMessage is the assistant message of a choice. Content is null when the
// model only called tools.
type ResponseMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	Refusal          *string    `json:"refusal"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	// ThinkingBlocks are the signed thinking blocks to send back with this
	// turn in a tool loop (Anthropic, Bedrock).
	ThinkingBlocks []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// ChunkResponse is a chat.completion.chunk object.
type ChunkResponse struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	Usage   *Usage        `json:"usage,omitempty"`
}

// ChunkChoice is one choice of a chunk; FinishReason is null until the end.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is the incremental message of a chunk.
type Delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Refusal          *string    `json:"refusal,omitempty"`
	// ThinkingBlocks carries each complete signed thinking block once.
	ThinkingBlocks []ThinkingBlock `json:"thinking_blocks,omitempty"`
}

// Finish reasons of OpenAI's vocabulary.
const (
	FinishStop          = "stop"
	FinishLength        = "length"
	FinishToolCalls     = "tool_calls"
	FinishContentFilter = "content_filter"
)

// Ptr returns a pointer to v, for the optional fields of wire types.
func Ptr[T any](v T) *T { return &v }
