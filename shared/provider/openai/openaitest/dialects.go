package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// The wrappers below make a script behave as a compatible API does: they
// answer what that API rejects with its own status and error body before
// the script is asked, and set the reply options of its answers. The rules
// follow docs/PROVIDERS.md and the error bodies quoted there and in public
// issue reports; a nil script answers as NewServer's default does.

// DeepSeek wraps script as DeepSeek's API: a developer message is refused
// (422, "unknown variant `developer`"), and an assistant tool-call message
// without its reasoning_content is refused (400), as V4 thinking mode does.
// A json_schema response_format is refused (400, "This response_format type
// is unavailable now"), and so is json_object when no message says "json".
// Answers carry reasoning_content, report cache hits in
// prompt_cache_hit_tokens, and streams send ": keep-alive" comments.
func DeepSeek(script func(Received) Reply) func(Received) Reply {
	return func(r Received) Reply {
		if rej, ok := deepSeekRejects(r.Body); ok {
			return rej
		}
		reply := run(script, r)
		if reply.Reasoning == "" {
			reply.Reasoning = "The user wants an answer; I will give it."
		}
		reply.CacheHitTokens = true
		if reply.KeepAlive == "" {
			reply.KeepAlive = ": keep-alive"
		}
		return reply
	}
}

// Mistral wraps script as Mistral's API: members it does not know, at the
// top level or in a message, are refused with its 422 validation body; tool
// call ids that are not [a-zA-Z0-9]{9} with its 400; roles other than
// system, user, assistant and tool with a 422. Tool calls are answered with
// 9-character ids, and a stream's usage comes in its last chunk.
func Mistral(script func(Received) Reply) func(Received) Reply {
	return func(r Received) Reply {
		if rej, ok := mistralRejects(r.Body); ok {
			return rej
		}
		reply := run(script, r)
		if reply.ToolCallID == "" {
			reply.ToolCallID = "D681PevKs"
		}
		reply.UsageInLastChunk = true
		return reply
	}
}

// Groq wraps script as Groq's API: logprobs, logit_bias, top_logprobs,
// n above 1 and message members it does not know (name, reasoning_content)
// are refused with a 400. A stream's usage comes under x_groq.usage.
func Groq(script func(Received) Reply) func(Received) Reply {
	return func(r Received) Reply {
		if rej, ok := groqRejects(r.Body); ok {
			return rej
		}
		reply := run(script, r)
		reply.XGroqUsage = true
		return reply
	}
}

func run(script func(Received) Reply, r Received) Reply {
	if script == nil {
		return Reply{}
	}
	return script(r)
}

// request is the part of a chat body the rules look at.
type request struct {
	top      map[string]json.RawMessage
	messages []map[string]json.RawMessage
}

func parse(body []byte) (request, error) {
	var req request
	if err := json.Unmarshal(body, &req.top); err != nil {
		return req, err
	}
	err := json.Unmarshal(req.top["messages"], &req.messages)
	return req, err
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

func sortedKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func badJSON() Reply {
	return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrMessage: "We could not parse the JSON body of your request."}
}

func deepSeekRejects(body []byte) (Reply, bool) {
	req, err := parse(body)
	if err != nil {
		return badJSON(), true
	}
	for i, m := range req.messages {
		switch role := str(m["role"]); role {
		case "system", "user", "assistant", "tool":
		default:
			return Reply{Status: http.StatusUnprocessableEntity, ErrType: "invalid_request_error", ErrCode: "invalid_request_error",
				ErrMessage: fmt.Sprintf("Failed to deserialize the JSON body into the target type: messages[%d].role: unknown variant `%s`, expected one of `system`, `user`, `assistant`, `tool`", i, role)}, true
		}
		if str(m["role"]) == "assistant" && len(m["tool_calls"]) > 0 && string(m["tool_calls"]) != "null" && str(m["reasoning_content"]) == "" {
			return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrCode: "invalid_request_error",
				ErrMessage: "The `reasoning_content` in the thinking mode must be passed back to the API."}, true
		}
	}
	if rf, ok := req.top["response_format"]; ok {
		var f struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(rf, &f)
		switch f.Type {
		case "json_schema":
			return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrCode: "invalid_request_error",
				ErrMessage: "This response_format type is unavailable now"}, true
		case "json_object":
			if !strings.Contains(strings.ToLower(string(req.top["messages"])), "json") {
				return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrCode: "invalid_request_error",
					ErrMessage: "Prompt must contain the word 'json' in some form to use 'response_format' of type 'json_object'."}, true
			}
		}
	}
	return Reply{}, false
}

// mistralField reports whether k is a member of Mistral's chat completion
// request (mistralai/client-python, 2026).
func mistralField(k string) bool {
	switch k {
	case "model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop", "random_seed", "metadata",
		"response_format", "tools", "tool_choice", "presence_penalty", "frequency_penalty", "n", "prediction",
		"parallel_tool_calls", "reasoning_effort", "prompt_mode", "guardrails", "prompt_cache_key", "safe_prompt":
		return true
	}
	return false
}

// mistralMessageFields are the members of each Mistral message type; ok is
// false for a role Mistral does not have.
func mistralMessageFields(role string) (fields []string, ok bool) {
	switch role {
	case "system", "user":
		return []string{"role", "content"}, true
	case "assistant":
		return []string{"role", "content", "tool_calls", "prefix"}, true
	case "tool":
		return []string{"role", "content", "tool_call_id", "name"}, true
	}
	return nil, false
}

// mistralToolID reports whether id is [a-zA-Z0-9]{9}.
func mistralToolID(id string) bool {
	if len(id) != 9 {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// mistralValidation is Mistral's 422 body for pydantic errors at loc.
func mistralValidation(typ, msg string, loc ...any) Reply {
	detail := map[string]any{"type": typ, "loc": append([]any{"body"}, loc...), "msg": msg, "input": nil}
	body, _ := json.Marshal(map[string]any{"object": "error", "message": map[string]any{"detail": []any{detail}},
		"type": "invalid_request_error", "param": nil, "code": nil})
	return Reply{Status: http.StatusUnprocessableEntity, ErrBody: string(body)}
}

func mistralRejects(body []byte) (Reply, bool) {
	req, err := parse(body)
	if err != nil {
		return badJSON(), true
	}
	for _, k := range sortedKeys(req.top) {
		if !mistralField(k) {
			return mistralValidation("extra_forbidden", "Extra inputs are not permitted", k), true
		}
	}
	if e, ok := req.top["reasoning_effort"]; ok && str(e) != "none" && str(e) != "high" {
		return mistralValidation("enum", "Input should be 'none' or 'high'", "reasoning_effort"), true
	}
	for i, m := range req.messages {
		role := str(m["role"])
		allowed, ok := mistralMessageFields(role)
		if !ok {
			return mistralValidation("union_tag_invalid", "Input tag '"+role+"' found using 'role' does not match any of the expected tags: 'assistant', 'system', 'tool', 'user'", "messages", i), true
		}
		for _, k := range sortedKeys(m) {
			if !slices.Contains(allowed, k) {
				return mistralValidation("extra_forbidden", "Extra inputs are not permitted", "messages", i, role, k), true
			}
		}
		var ids []string
		if role == "assistant" {
			var calls []struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(m["tool_calls"], &calls)
			for _, c := range calls {
				ids = append(ids, c.ID)
			}
		}
		if role == "tool" {
			ids = append(ids, str(m["tool_call_id"]))
		}
		for _, id := range ids {
			if !mistralToolID(id) {
				// The body PROVIDERS.md quotes, with this id.
				return Reply{Status: http.StatusBadRequest, Flat: true, ErrType: "invalid_request_error",
					ErrMessage: "Tool call id was " + id + " but must be a-z, A-Z, 0-9, with a length of 9."}, true
			}
		}
	}
	return Reply{}, false
}

// groqMessageFields are the members Groq accepts in each message type; ok
// is false for a role it does not have.
func groqMessageFields(role string) (fields []string, ok bool) {
	switch role {
	case "system", "developer", "user":
		return []string{"role", "content"}, true
	case "assistant":
		return []string{"role", "content", "tool_calls", "reasoning"}, true
	case "tool":
		return []string{"role", "content", "tool_call_id"}, true
	}
	return nil, false
}

func groqError(msg string) Reply {
	return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrMessage: msg}
}

func groqRejects(body []byte) (Reply, bool) {
	req, err := parse(body)
	if err != nil {
		return badJSON(), true
	}
	for _, k := range []string{"logprobs", "logit_bias", "top_logprobs"} {
		if _, ok := req.top[k]; ok {
			return groqError("property '" + k + "' is unsupported"), true
		}
	}
	if n, ok := req.top["n"]; ok {
		if v, err := strconv.Atoi(strings.TrimSpace(string(n))); err == nil && v > 1 {
			return groqError("'n' : number must be at most 1"), true
		}
	}
	for i, m := range req.messages {
		role := str(m["role"])
		allowed, ok := groqMessageFields(role)
		if !ok {
			return groqError(fmt.Sprintf("'messages.%d' : discriminator property 'role' has invalid value '%s'", i, role)), true
		}
		for _, k := range sortedKeys(m) {
			if !slices.Contains(allowed, k) {
				return groqError(fmt.Sprintf("'messages.%d' : for 'role:%s' the following must be satisfied[('messages.%d' : property '%s' is unsupported)]", i, role, i, k)), true
			}
		}
	}
	return Reply{}, false
}
