package responses

import (
	"errors"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// errBadCompletion is returned for an answer that is not a chat.completion.
var errBadCompletion = errors.New("responses: the answer is not a chat.completion object")

// Render appends to dst the response object for a chat.completion answer and
// its usage: output items for the first choice's reasoning_content
// (reasoning), content and refusal (message) and tool calls (function_call),
// in that order; status completed, or incomplete when the answer stopped at
// the token limit or a content filter; created_at and model from the answer.
func Render(dst []byte, req *Request, completion []byte, usage llm.Usage) ([]byte, error) {
	resp := response{usage: &usage}
	var choices []byte
	m := rawjson.MembersOf(completion)
	for m.Next() {
		switch string(m.Key()) {
		case "model":
			resp.model = m.Value()
		case "created":
			resp.created = int64(atoi(m.Value()))
		case "choices":
			choices = m.Value()
		}
	}
	if m.Err() != nil || len(choices) == 0 || choices[0] != '[' || !wire.IsString(resp.model) {
		return dst, errBadCompletion
	}
	var choice []byte
	els := rawjson.ElementsOf(choices)
	if els.Next() {
		choice = els.Value()
	}
	var msg, finish []byte
	m = rawjson.MembersOf(choice)
	for m.Next() {
		switch string(m.Key()) {
		case "message":
			msg = m.Value()
		case "finish_reason":
			finish = m.Value()
		}
	}
	if m.Err() != nil || len(msg) == 0 {
		return dst, errBadCompletion
	}
	items, err := req.answerItems(msg)
	if err != nil {
		return dst, err
	}
	resp.items = items
	var reason string
	resp.status, reason = statusOf(string(wire.StringBody(finish)))
	resp.incomplete = reason
	for i := range items {
		items[i].status = "completed"
	}
	if reason != "" {
		items[len(items)-1].status = "incomplete"
	}
	return req.appendResponse(dst, &resp), nil
}

// answerItems builds the output items of a chat.completion message.
func (r *Request) answerItems(msg []byte) ([]item, error) {
	var content, refusal, reasoning, calls []byte
	m := rawjson.MembersOf(msg)
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
		}
	}
	if m.Err() != nil {
		return nil, errBadCompletion
	}
	items := make([]item, 0, 2)
	if s := wire.StringBody(reasoning); len(s) > 0 {
		items = append(items, item{kind: kindReasoning, id: itemID(r.ID, kindReasoning, len(items)),
			parts: []part{{kind: partReasoning, text: s}}})
	}
	var parts []part
	if s := wire.StringBody(content); len(s) > 0 {
		parts = append(parts, part{kind: partText, text: s})
	}
	if s := wire.StringBody(refusal); len(s) > 0 {
		parts = append(parts, part{kind: partRefusal, text: s})
	}
	if len(parts) > 0 {
		items = append(items, item{kind: kindMessage, id: itemID(r.ID, kindMessage, len(items)), parts: parts})
	}
	if len(calls) > 0 && calls[0] == '[' {
		els := rawjson.ElementsOf(calls)
		for els.Next() {
			it := item{kind: kindCall, id: itemID(r.ID, kindCall, len(items))}
			fn := []byte(nil)
			c := rawjson.MembersOf(els.Value())
			for c.Next() {
				switch string(c.Key()) {
				case "id":
					it.callID = c.Value()
				case "function":
					fn = c.Value()
				}
			}
			f := rawjson.MembersOf(fn)
			for f.Next() {
				switch string(f.Key()) {
				case "name":
					it.name = f.Value()
				case "arguments":
					it.args = wire.StringBody(f.Value())
				}
			}
			if c.Err() != nil || f.Err() != nil || !wire.IsString(it.callID) || !wire.IsString(it.name) {
				return nil, errBadCompletion
			}
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		// An empty answer is still a message, as OpenAI gives one.
		items = append(items, item{kind: kindMessage, id: itemID(r.ID, kindMessage, 0), parts: []part{{kind: partText}}})
	}
	return items, nil
}

// atoi reads a non-negative JSON integer, 0 for anything else.
func atoi(b []byte) int {
	if len(b) == 0 || len(b) > 18 {
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
