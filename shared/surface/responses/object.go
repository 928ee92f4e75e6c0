package responses

import (
	"bytes"
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// appendEcho writes the request's settings as the response object repeats
// them, with OpenAI's defaults for those the client left out. Raw values are
// compacted: a response object is also an event's one data line.
func (p *parser) appendEcho(dst []byte, f *fields) []byte {
	member := func(key string, raw []byte, def string) {
		dst = append(dst, ',', '"')
		dst = append(dst, key...)
		dst = append(dst, '"', ':')
		dst = appendOr(dst, raw, def)
	}
	dst = append(dst, `,"background":false,"previous_response_id":null,"store":false`...)
	member("instructions", f.instructions, "null")
	member("max_output_tokens", f.maxOutput, "null")
	member("max_tool_calls", f.maxToolCalls, "null")
	member("metadata", f.metadata, "{}")
	member("parallel_tool_calls", f.parallel, "true")
	member("prompt_cache_key", f.cacheKey, "null")
	var effort, summary, format, verbosity []byte
	if len(f.reasoning) > 0 && f.reasoning[0] == '{' {
		effort, _ = rawjson.Find(f.reasoning, "effort")
		summary, _ = rawjson.Find(f.reasoning, "summary")
	}
	dst = append(dst, `,"reasoning":{"effort":`...)
	dst = appendOr(dst, effort, "null")
	dst = append(dst, `,"summary":`...)
	dst = appendOr(dst, summary, "null")
	dst = append(dst, '}')
	member("safety_identifier", f.safetyID, "null")
	member("service_tier", f.serviceTier, `"default"`)
	member("temperature", f.temperature, "1")
	if len(f.text) > 0 && f.text[0] == '{' {
		format, _ = rawjson.Find(f.text, "format")
		verbosity, _ = rawjson.Find(f.text, "verbosity")
	}
	dst = append(dst, `,"text":{"format":`...)
	dst = appendOr(dst, format, `{"type":"text"}`)
	dst = append(dst, `,"verbosity":`...)
	dst = appendOr(dst, verbosity, `"medium"`)
	dst = append(dst, '}')
	member("tool_choice", f.toolChoice, `"auto"`)
	member("tools", f.tools, "[]")
	member("top_logprobs", f.topLogprobs, "0")
	member("top_p", f.topP, "1")
	member("truncation", f.truncation, `"disabled"`)
	member("user", f.user, "null")
	return dst
}

func appendOr(dst, raw []byte, def string) []byte {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return append(dst, def...)
	}
	return appendCompact(dst, raw)
}

// appendCompact appends raw JSON without the whitespace between tokens when
// it spans lines (SSE data is one line); other values are copied.
func appendCompact(dst, raw []byte) []byte {
	if bytes.IndexByte(raw, '\n') < 0 && bytes.IndexByte(raw, '\r') < 0 {
		return append(dst, raw...)
	}
	return wire.AppendCompact(dst, raw)
}

// Output item kinds.
const (
	kindMessage   = 'm'
	kindReasoning = 'r'
	kindCall      = 'f'
)

// Content part kinds.
const (
	partText      = 't' // output_text
	partRefusal   = 'x' // refusal
	partReasoning = 'r' // reasoning_text
)

// item is one output item. Text is kept as the body of a JSON string, still
// escaped as the upstream wrote it: chunks' strings are spliced into events
// without decoding, and concatenated escaped bodies are the escaped body of
// the concatenation.
type item struct {
	kind   byte
	id     string
	parts  []part
	callID []byte // function_call: raw JSON strings
	name   []byte
	args   []byte // function_call: the arguments' escaped body
	status string // set when done
}

type part struct {
	kind byte
	text []byte // escaped body
	done bool
}

// itemID derives the id of output item k from the response id: the item
// prefix, the response's random hex, and k as four hex digits.
func itemID(respID string, kind byte, k int) string {
	prefix := "msg_"
	switch kind {
	case kindReasoning:
		prefix = "rs_"
	case kindCall:
		prefix = "fc_"
	}
	b := make([]byte, 0, len(prefix)+len(respID)+4)
	b = append(b, prefix...)
	if len(respID) > len("resp_") {
		b = append(b, respID[len("resp_"):]...)
	}
	const hex = "0123456789abcdef"
	return string(append(b, hex[k>>12&0xf], hex[k>>8&0xf], hex[k>>4&0xf], hex[k&0xf]))
}

// appendItem writes an output item as the output array and the
// output_item events hold it.
func appendItem(dst []byte, it *item, status string) []byte {
	switch it.kind {
	case kindCall:
		dst = append(dst, `{"id":`...)
		dst = rawjson.AppendString(dst, it.id)
		dst = append(dst, `,"type":"function_call","status":"`...)
		dst = append(dst, status...)
		dst = append(dst, `","arguments":"`...)
		dst = append(dst, it.args...)
		dst = append(dst, `","call_id":`...)
		dst = append(dst, it.callID...)
		dst = append(dst, `,"name":`...)
		dst = append(dst, it.name...)
		return append(dst, '}')
	case kindReasoning:
		dst = append(dst, `{"id":`...)
		dst = rawjson.AppendString(dst, it.id)
		dst = append(dst, `,"type":"reasoning","status":"`...)
		dst = append(dst, status...)
		dst = append(dst, `","summary":[],"content":[`...)
	default:
		dst = append(dst, `{"id":`...)
		dst = rawjson.AppendString(dst, it.id)
		dst = append(dst, `,"type":"message","status":"`...)
		dst = append(dst, status...)
		dst = append(dst, `","role":"assistant","content":[`...)
	}
	for i := range it.parts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendPart(dst, &it.parts[i])
	}
	return append(dst, "]}"...)
}

// appendPart writes a content part with its text so far.
func appendPart(dst []byte, p *part) []byte {
	switch p.kind {
	case partRefusal:
		dst = append(dst, `{"type":"refusal","refusal":"`...)
		dst = append(dst, p.text...)
		return append(dst, `"}`...)
	case partReasoning:
		dst = append(dst, `{"type":"reasoning_text","text":"`...)
		dst = append(dst, p.text...)
		return append(dst, `"}`...)
	}
	dst = append(dst, `{"type":"output_text","annotations":[],"logprobs":[],"text":"`...)
	dst = append(dst, p.text...)
	return append(dst, `"}`...)
}

// response is what a response object says beyond the request's settings.
type response struct {
	status     string // in_progress, completed, incomplete, failed
	created    int64
	model      []byte // a raw JSON string
	items      []item
	usage      *llm.Usage
	incomplete string // incomplete_details.reason
	err        *llm.Error
}

// appendResponse writes a response object.
func (r *Request) appendResponse(dst []byte, resp *response) []byte {
	dst = append(dst, `{"id":`...)
	dst = rawjson.AppendString(dst, r.ID)
	dst = append(dst, `,"object":"response","created_at":`...)
	dst = strconv.AppendInt(dst, resp.created, 10)
	dst = append(dst, `,"status":"`...)
	dst = append(dst, resp.status...)
	dst = append(dst, `","error":`...)
	if e := resp.err; e != nil {
		dst = append(dst, `{"code":"`...)
		dst = append(dst, failureCode(e)...)
		dst = append(dst, `","message":`...)
		dst = rawjson.AppendString(dst, e.Message)
		dst = append(dst, '}')
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"incomplete_details":`...)
	if resp.incomplete != "" {
		dst = append(dst, `{"reason":"`...)
		dst = append(dst, resp.incomplete...)
		dst = append(dst, `"}`...)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, `,"model":`...)
	if len(resp.model) > 0 {
		dst = append(dst, resp.model...)
	} else {
		dst = rawjson.AppendString(dst, r.Chat.Model)
	}
	dst = append(dst, `,"output":[`...)
	for i := range resp.items {
		if i > 0 {
			dst = append(dst, ',')
		}
		it := &resp.items[i]
		status := it.status
		if status == "" {
			status = "in_progress"
			if resp.status == "failed" {
				status = "incomplete"
			}
		}
		dst = appendItem(dst, it, status)
	}
	dst = append(dst, `],"usage":`...)
	if u := resp.usage; u != nil {
		dst = appendUsage(dst, u)
	} else {
		dst = append(dst, "null"...)
	}
	dst = append(dst, r.echo...)
	return append(dst, '}')
}

// appendUsage writes the Responses usage object; llm.Usage counts as OpenAI
// does (cached tokens within the prompt, reasoning within the completion).
func appendUsage(dst []byte, u *llm.Usage) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.PromptTokens), 10)
	dst = append(dst, `,"input_tokens_details":{"cached_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CachedTokens), 10)
	dst = append(dst, `},"output_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.CompletionTokens), 10)
	dst = append(dst, `,"output_tokens_details":{"reasoning_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.ReasoningTokens), 10)
	dst = append(dst, `},"total_tokens":`...)
	dst = strconv.AppendInt(dst, int64(u.Total()), 10)
	return append(dst, '}')
}

// failureCode is the response error code for an error: the Responses API
// has a fixed list, of which these three are the router's cases.
func failureCode(e *llm.Error) string {
	switch e.Kind {
	case llm.KindRateLimited:
		return "rate_limit_exceeded"
	case llm.KindInvalidRequest:
		return "invalid_prompt"
	}
	return "server_error"
}

// statusOf maps a chat finish_reason to the response's status and its
// incomplete_details reason.
func statusOf(finish string) (status, reason string) {
	switch finish {
	case llm.FinishLength:
		return "incomplete", "max_output_tokens"
	case llm.FinishContentFilter:
		return "incomplete", "content_filter"
	}
	return "completed", ""
}
