package messages

import (
	"errors"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// errBadCompletion is returned for an answer that is not a chat.completion.
var errBadCompletion = errors.New("messages: the answer is not a chat.completion object")

// Render appends to dst the message object for a chat.completion answer and
// its usage: content blocks for the first choice's reasoning (thinking, when
// the client enabled it), content and refusal (text) and tool calls
// (tool_use, input parsed from the arguments), the stop reason mapped from
// finish_reason, and usage in Anthropic's terms.
func Render(dst []byte, req *Request, completion []byte, usage llm.Usage) ([]byte, error) {
	var model, choices []byte
	m := rawjson.MembersOf(completion)
	for m.Next() {
		switch string(m.Key()) {
		case "model":
			model = m.Value()
		case "choices":
			choices = m.Value()
		}
	}
	if m.Err() != nil || len(choices) == 0 || choices[0] != '[' || !wire.IsString(model) {
		return dst, errBadCompletion
	}
	var choice []byte
	if els := rawjson.ElementsOf(choices); els.Next() {
		choice = els.Value()
	}
	var msg, finish, matched []byte
	m = rawjson.MembersOf(choice)
	for m.Next() {
		switch string(m.Key()) {
		case "message":
			msg = m.Value()
		case "finish_reason":
			finish = m.Value()
		case "stop_reason", "matched_stop":
			if wire.IsString(m.Value()) {
				matched = m.Value()
			}
		}
	}
	if m.Err() != nil || len(msg) == 0 || msg[0] != '{' {
		return dst, errBadCompletion
	}
	var content, refusal, reasoning, calls, thinking []byte
	m = rawjson.MembersOf(msg)
	for m.Next() {
		switch string(m.Key()) {
		case "content":
			content = m.Value()
		case "refusal":
			refusal = m.Value()
		case "reasoning_content":
			reasoning = m.Value()
		case "tool_calls":
			calls = m.Value()
		case "thinking_blocks":
			thinking = m.Value()
		}
	}
	if m.Err() != nil {
		return dst, errBadCompletion
	}

	dst = append(dst, `{"id":`...)
	dst = rawjson.AppendString(dst, req.ID)
	dst = append(dst, `,"type":"message","role":"assistant","model":`...)
	dst = append(dst, model...)
	dst = append(dst, `,"content":[`...)
	n := 0
	block := func() {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
	}
	switch blocks := thinkingBlocks(thinking); {
	case !req.thinking:
	case len(blocks) > 0:
		// Signed blocks, as the upstream issued them: the client sends
		// them back in its tool loop.
		for i := range blocks {
			block()
			dst = wire.AppendThinkingBlock(dst, &blocks[i])
		}
	case len(wire.StringBody(reasoning)) > 0:
		block()
		dst = append(dst, `{"type":"thinking","thinking":"`...)
		dst = append(dst, wire.StringBody(reasoning)...)
		dst = append(dst, `","signature":""}`...)
	}
	for _, s := range [][]byte{wire.StringBody(content), wire.StringBody(refusal)} {
		if len(s) > 0 {
			block()
			dst = append(dst, `{"type":"text","text":"`...)
			dst = append(dst, s...)
			dst = append(dst, `"}`...)
		}
	}
	tools := 0
	if len(calls) > 0 && calls[0] == '[' {
		els := rawjson.ElementsOf(calls)
		for els.Next() {
			var id, fn, name, args []byte
			c := rawjson.MembersOf(els.Value())
			for c.Next() {
				switch string(c.Key()) {
				case "id":
					id = c.Value()
				case "function":
					fn = c.Value()
				}
			}
			f := rawjson.MembersOf(fn)
			for f.Next() {
				switch string(f.Key()) {
				case "name":
					name = f.Value()
				case "arguments":
					args = wire.StringBody(f.Value())
				}
			}
			if c.Err() != nil || f.Err() != nil || !wire.IsString(id) || !wire.IsString(name) {
				return dst, errBadCompletion
			}
			block()
			tools++
			dst = append(dst, `{"type":"tool_use","id":`...)
			dst = append(dst, id...)
			dst = append(dst, `,"name":`...)
			dst = append(dst, name...)
			dst = append(dst, `,"input":`...)
			dst = appendInput(dst, args)
			dst = append(dst, '}')
		}
	}
	reason, seq := stopReason(string(wire.StringBody(finish)), tools > 0, matched, req.Chat.Stop)
	dst = append(dst, `],"stop_reason":"`...)
	dst = append(dst, reason...)
	dst = append(dst, `","stop_sequence":`...)
	if seq != nil {
		dst = append(dst, seq...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"usage":`...)
	dst = appendUsage(dst, &usage)
	return append(dst, '}'), nil
}

// thinkingBlocks reads an answer's thinking_blocks, keeping the well-formed
// ones; a thinking block keeps its signature even when empty.
func thinkingBlocks(v []byte) []llm.ThinkingBlock {
	if len(v) == 0 || v[0] != '[' {
		return nil
	}
	var out []llm.ThinkingBlock
	els := rawjson.ElementsOf(v)
	for els.Next() {
		var b llm.ThinkingBlock
		m := rawjson.MembersOf(els.Value())
		for m.Next() {
			s, _ := wire.String(m.Value())
			switch string(m.Key()) {
			case "type":
				b.Type = s
			case "thinking":
				b.Thinking = s
			case "signature":
				b.Signature = s
			case "data":
				b.Data = s
			}
		}
		if b.Type == "thinking" || b.Type == "redacted_thinking" {
			out = append(out, b)
		}
	}
	return out
}

// appendInput writes a tool call's arguments (the escaped body of a JSON
// string) as a tool_use input, which must be an object: {} when the model
// wrote none or wrote something else, as Anthropic's SDK does with input it
// cannot parse.
func appendInput(dst, args []byte) []byte {
	var buf [512]byte
	text, ok := wire.AppendUnquoted(buf[:0], args)
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t') {
		i++
	}
	if !ok || i == len(text) || text[i] != '{' || !rawjson.Valid(text, llm.MaxJSONDepth) {
		return append(dst, "{}"...)
	}
	return wire.AppendCompact(dst, text)
}

// stopReason maps a finish_reason to Anthropic's stop_reason, and gives the
// stop_sequence when the answer names the one that matched (vLLM's
// stop_reason, SGLang's matched_stop) and the client asked for it.
func stopReason(finish string, tools bool, matched []byte, stops []string) (reason string, sequence []byte) {
	switch finish {
	case llm.FinishLength:
		return "max_tokens", nil
	case llm.FinishToolCalls, "function_call":
		return "tool_use", nil
	case llm.FinishContentFilter:
		return "refusal", nil
	}
	if tools {
		return "tool_use", nil // some upstreams finish tool calls with "stop"
	}
	if len(matched) > 0 {
		if s, ok := wire.String(matched); ok {
			for _, stop := range stops {
				if s == stop {
					return "stop_sequence", matched
				}
			}
		}
	}
	return "end_turn", nil
}

// appendUsage writes Anthropic's usage. llm.Usage counts cached and
// cache-written tokens within the prompt, as OpenAI does; Anthropic's
// input_tokens excludes both.
func appendUsage(dst []byte, u *llm.Usage) []byte {
	input := max(u.PromptTokens-u.CachedTokens-u.CacheWriteTokens, 0)
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(input), 10)
	dst = append(dst, `,"cache_creation_input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CacheWriteTokens), 10)
	dst = append(dst, `,"cache_read_input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CachedTokens), 10)
	dst = append(dst, `,"output_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CompletionTokens), 10)
	return append(dst, '}')
}
