package wire

import (
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// AppendChat appends r as a Chat Completions JSON body, followed by the raw
// members in extra (`"name":value` pairs joined by commas, or empty), which
// carry settings the vocabulary has no field for. llm.ParseChat reads the body
// back into a request equal to r; the surfaces' tests hold it to that.
//
// Raw values (tool parameters, schemas, tool_choice) are written as they are:
// callers give valid JSON. The body is written by hand because every
// translated request pays for it, and encoding/json by reflection costs
// several times as much.
func AppendChat(dst []byte, r *llm.ChatRequest, extra []byte) []byte {
	dst = append(dst, `{"model":`...)
	dst = rawjson.AppendString(dst, r.Model)
	dst = append(dst, `,"messages":[`...)
	for i := range r.Messages {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMessage(dst, &r.Messages[i])
	}
	dst = append(dst, ']')
	if r.Stream {
		dst = append(dst, `,"stream":true`...)
	}
	if r.StreamOptions != nil {
		dst = append(dst, `,"stream_options":{"include_usage":`...)
		dst = strconv.AppendBool(dst, r.StreamOptions.IncludeUsage)
		dst = append(dst, '}')
	}
	dst = appendFloat(dst, "temperature", r.Temperature)
	dst = appendFloat(dst, "top_p", r.TopP)
	dst = appendInt(dst, "max_tokens", r.MaxTokens)
	dst = appendInt(dst, "max_completion_tokens", r.MaxCompletionTokens)
	if len(r.Stop) > 0 {
		dst = append(dst, `,"stop":[`...)
		for i, s := range r.Stop {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = rawjson.AppendString(dst, s)
		}
		dst = append(dst, ']')
	}
	dst = appendInt(dst, "n", r.N)
	if r.Seed != nil {
		dst = append(dst, `,"seed":`...)
		dst = strconv.AppendInt(dst, *r.Seed, 10)
	}
	dst = appendFloat(dst, "presence_penalty", r.PresencePenalty)
	dst = appendFloat(dst, "frequency_penalty", r.FrequencyPenalty)
	if len(r.Tools) > 0 {
		dst = append(dst, `,"tools":[`...)
		for i := range r.Tools {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendTool(dst, &r.Tools[i])
		}
		dst = append(dst, ']')
	}
	if len(r.ToolChoice) > 0 {
		dst = append(dst, `,"tool_choice":`...)
		dst = append(dst, r.ToolChoice...)
	}
	if r.ParallelToolCalls != nil {
		dst = append(dst, `,"parallel_tool_calls":`...)
		dst = strconv.AppendBool(dst, *r.ParallelToolCalls)
	}
	if f := r.ResponseFormat; f != nil {
		dst = append(dst, `,"response_format":{"type":`...)
		dst = rawjson.AppendString(dst, f.Type)
		if s := f.JSONSchema; s != nil {
			dst = append(dst, `,"json_schema":{"name":`...)
			dst = rawjson.AppendString(dst, s.Name)
			if s.Description != "" {
				dst = append(dst, `,"description":`...)
				dst = rawjson.AppendString(dst, s.Description)
			}
			if len(s.Schema) > 0 {
				dst = append(dst, `,"schema":`...)
				dst = append(dst, s.Schema...)
			}
			if s.Strict != nil {
				dst = append(dst, `,"strict":`...)
				dst = strconv.AppendBool(dst, *s.Strict)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, '}')
	}
	if r.User != "" {
		dst = append(dst, `,"user":`...)
		dst = rawjson.AppendString(dst, r.User)
	}
	if r.ReasoningEffort != "" {
		dst = append(dst, `,"reasoning_effort":`...)
		dst = rawjson.AppendString(dst, r.ReasoningEffort)
	}
	if r.PromptCacheKey != "" {
		dst = append(dst, `,"prompt_cache_key":`...)
		dst = rawjson.AppendString(dst, r.PromptCacheKey)
	}
	if r.IncludeReasoning != nil {
		dst = append(dst, `,"include_reasoning":`...)
		dst = strconv.AppendBool(dst, *r.IncludeReasoning)
	}
	if len(extra) > 0 {
		dst = append(dst, ',')
		dst = append(dst, extra...)
	}
	return append(dst, '}')
}

func appendFloat(dst []byte, key string, f *float64) []byte {
	if f == nil {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return strconv.AppendFloat(dst, *f, 'g', -1, 64)
}

func appendInt(dst []byte, key string, n *int) []byte {
	if n == nil {
		return dst
	}
	dst = append(dst, ',', '"')
	dst = append(dst, key...)
	dst = append(dst, '"', ':')
	return strconv.AppendInt(dst, int64(*n), 10)
}

// appendMessage writes one message. Empty string content is written as "" for
// the roles whose content must be a string, and null for an assistant turn
// (which may hold only tool calls); llm.Content reads both back the same.
func appendMessage(dst []byte, m *llm.Message) []byte {
	dst = append(dst, `{"role":`...)
	dst = rawjson.AppendString(dst, m.Role)
	dst = append(dst, `,"content":`...)
	switch {
	case m.Content.IsParts:
		dst = append(dst, '[')
		for i := range m.Content.Parts {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendPart(dst, &m.Content.Parts[i])
		}
		dst = append(dst, ']')
	case m.Content.Text == "" && m.Role == "assistant":
		dst = append(dst, "null"...)
	default:
		dst = rawjson.AppendString(dst, m.Content.Text)
	}
	if m.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = rawjson.AppendString(dst, m.Name)
	}
	if len(m.ToolCalls) > 0 {
		dst = append(dst, `,"tool_calls":[`...)
		for i, tc := range m.ToolCalls {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = rawjson.AppendString(dst, tc.ID)
			dst = append(dst, `,"type":`...)
			dst = rawjson.AppendString(dst, tc.Type)
			dst = append(dst, `,"function":{"name":`...)
			dst = rawjson.AppendString(dst, tc.Function.Name)
			dst = append(dst, `,"arguments":`...)
			dst = rawjson.AppendString(dst, tc.Function.Arguments)
			dst = append(dst, "}}"...)
		}
		dst = append(dst, ']')
	}
	if m.ToolCallID != "" {
		dst = append(dst, `,"tool_call_id":`...)
		dst = rawjson.AppendString(dst, m.ToolCallID)
	}
	if m.ReasoningContent != "" {
		dst = append(dst, `,"reasoning_content":`...)
		dst = rawjson.AppendString(dst, m.ReasoningContent)
	}
	if len(m.ThinkingBlocks) > 0 {
		dst = append(dst, `,"thinking_blocks":[`...)
		for i := range m.ThinkingBlocks {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendThinkingBlock(dst, &m.ThinkingBlocks[i])
		}
		dst = append(dst, ']')
	}
	dst = appendCacheControl(dst, m.CacheControl)
	return append(dst, '}')
}

// AppendThinkingBlock appends one thinking block object.
func AppendThinkingBlock(dst []byte, b *llm.ThinkingBlock) []byte {
	dst = append(dst, `{"type":`...)
	dst = rawjson.AppendString(dst, b.Type)
	for _, f := range [...]struct{ key, v string }{{"thinking", b.Thinking}, {"signature", b.Signature}, {"data", b.Data}} {
		if f.v != "" {
			dst = append(dst, ',', '"')
			dst = append(dst, f.key...)
			dst = append(dst, '"', ':')
			dst = rawjson.AppendString(dst, f.v)
		}
	}
	return append(dst, '}')
}

// appendCacheControl appends a cache_control member, nothing for nil.
func appendCacheControl(dst []byte, c *llm.CacheControl) []byte {
	if c == nil {
		return dst
	}
	dst = append(dst, `,"cache_control":{"type":`...)
	dst = rawjson.AppendString(dst, c.Type)
	if c.TTL != "" {
		dst = append(dst, `,"ttl":`...)
		dst = rawjson.AppendString(dst, c.TTL)
	}
	return append(dst, '}')
}

func appendPart(dst []byte, p *llm.Part) []byte {
	dst = append(dst, `{"type":`...)
	dst = rawjson.AppendString(dst, p.Type)
	switch p.Type {
	case "image_url":
		if p.ImageURL != nil {
			dst = append(dst, `,"image_url":{"url":`...)
			dst = rawjson.AppendString(dst, p.ImageURL.URL)
			if p.ImageURL.Detail != "" {
				dst = append(dst, `,"detail":`...)
				dst = rawjson.AppendString(dst, p.ImageURL.Detail)
			}
			dst = append(dst, '}')
		}
	case "refusal":
		dst = append(dst, `,"refusal":`...)
		dst = rawjson.AppendString(dst, p.Refusal)
	default:
		dst = append(dst, `,"text":`...)
		dst = rawjson.AppendString(dst, p.Text)
	}
	dst = appendCacheControl(dst, p.CacheControl)
	return append(dst, '}')
}

func appendTool(dst []byte, t *llm.Tool) []byte {
	dst = append(dst, `{"type":"function","function":{"name":`...)
	dst = rawjson.AppendString(dst, t.Function.Name)
	if t.Function.Description != "" {
		dst = append(dst, `,"description":`...)
		dst = rawjson.AppendString(dst, t.Function.Description)
	}
	if len(t.Function.Parameters) > 0 {
		dst = append(dst, `,"parameters":`...)
		dst = append(dst, t.Function.Parameters...)
	}
	if t.Function.Strict != nil {
		dst = append(dst, `,"strict":`...)
		dst = strconv.AppendBool(dst, *t.Function.Strict)
	}
	dst = appendCacheControl(dst, t.Function.CacheControl)
	dst = append(dst, '}')
	dst = appendCacheControl(dst, t.CacheControl)
	return append(dst, '}')
}
