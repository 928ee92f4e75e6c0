package openaitest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// OpenAI wraps script as OpenAI's own API is strict about members it does
// not know: a top-level one is refused ("Unrecognized request argument
// supplied"), and so is an unknown member of a message, a content part, a
// tool or its function (OpenAI validates them against its schema, which
// has no cache_control or thinking_blocks). reasoning_effort is refused for
// the models that do not reason (gpt-4o, gpt-4.1).
func OpenAI(script func(Received) Reply) func(Received) Reply {
	return func(r Received) Reply {
		if rej, ok := openAIRejects(r.Body); ok {
			return rej
		}
		return run(script, r)
	}
}

// openAITop is the top-level members of OpenAI's chat request.
func openAITop(k string) bool {
	switch k {
	case "model", "messages", "stream", "stream_options", "temperature", "top_p", "max_tokens", "max_completion_tokens",
		"stop", "n", "seed", "presence_penalty", "frequency_penalty", "logprobs", "top_logprobs", "logit_bias", "tools",
		"tool_choice", "parallel_tool_calls", "response_format", "user", "reasoning_effort", "verbosity", "modalities",
		"audio", "store", "metadata", "prediction", "service_tier", "web_search_options", "prompt_cache_key",
		"safety_identifier", "prompt_cache_options", "functions", "function_call":
		return true
	}
	return false
}

func unexpected(member, at string) Reply {
	return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error",
		ErrMessage: "Additional properties are not allowed ('" + member + "' was unexpected) - '" + at + "'"}
}

func openAIRejects(body []byte) (Reply, bool) {
	req, err := parse(body)
	if err != nil {
		return badJSON(), true
	}
	for _, k := range sortedKeys(req.top) {
		if !openAITop(k) {
			return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error",
				ErrMessage: "Unrecognized request argument supplied: " + k}, true
		}
	}
	for i, m := range req.messages {
		at := "messages." + strconv.Itoa(i)
		for _, k := range []string{"cache_control", "thinking_blocks"} {
			if _, ok := m[k]; ok {
				return unexpected(k, at), true
			}
		}
		var parts []map[string]json.RawMessage
		if json.Unmarshal(m["content"], &parts) == nil {
			for j, p := range parts {
				if _, ok := p["cache_control"]; ok {
					return unexpected("cache_control", at+".content."+strconv.Itoa(j)), true
				}
			}
		}
	}
	var tools []struct {
		CacheControl json.RawMessage            `json:"cache_control"`
		Function     map[string]json.RawMessage `json:"function"`
	}
	_ = json.Unmarshal(req.top["tools"], &tools)
	for i, t := range tools {
		_, inFunction := t.Function["cache_control"]
		if len(t.CacheControl) > 0 || inFunction {
			return unexpected("cache_control", "tools."+strconv.Itoa(i)), true
		}
	}
	if _, ok := req.top["reasoning_effort"]; ok {
		if model := str(req.top["model"]); strings.HasPrefix(model, "gpt-4o") || strings.HasPrefix(model, "gpt-4.1") {
			return Reply{Status: http.StatusBadRequest, ErrType: "invalid_request_error", ErrCode: "unsupported_parameter",
				ErrMessage: "Unsupported parameter: 'reasoning_effort' is not supported with this model."}, true
		}
	}
	return Reply{}, false
}
