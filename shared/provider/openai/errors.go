package openai

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/llm"
)

// errorBody covers the error shapes of the OpenAI-compatible family: OpenAI's
// nested {"error":{...}}, Mistral's and vLLM's flat {"object":"error",...}, and
// OpenRouter's nested error with a numeric code equal to the HTTP status.
type errorBody struct {
	Error *struct {
		Message string          `json:"message"`
		Type    string          `json:"type"`
		Param   json.RawMessage `json:"param"`
		Code    json.RawMessage `json:"code"`
	} `json:"error"`
	Object  string          `json:"object"`
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

// ParseError turns an upstream error answer into an *llm.Error with the
// provider's own type, code and message. status is the HTTP status; an error
// carried in a 200 answer or a stream passes the status it stands for.
func ParseError(status int, data []byte) *llm.Error {
	var b errorBody
	var typ, code, msg, param string
	if json.Unmarshal(data, &b) == nil {
		switch {
		case b.Error != nil:
			typ, msg = b.Error.Type, b.Error.Message
			code, status = codeOf(b.Error.Code, status)
			param = stringOf(b.Error.Param)
		case b.Object == "error" || b.Message != "":
			typ, msg = b.Type, b.Message
			code, status = codeOf(b.Code, status)
		case len(b.Detail) > 0: // FastAPI-style servers
			msg = stringOf(b.Detail)
			if msg == "" {
				msg = "the provider rejected the request"
			}
		}
	}
	e := llm.UpstreamError("", status, normaliseType(typ, status), code, msg)
	e.Param = param
	return e
}

// codeOf reads an error code that may be a string, a number or null. A numeric
// code that is an HTTP error status (OpenRouter) replaces a 200 status.
func codeOf(raw json.RawMessage, status int) (string, int) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", status
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, status
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n >= 400 && n <= 599 && (status < 400 || status == http.StatusBadGateway) {
			status = n
		}
		return strconv.Itoa(n), status
	}
	return "", status
}

func stringOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// normaliseType keeps OpenAI's error types and maps others ("tokens",
// "requests", "invalid_function_call") to the type of the status.
func normaliseType(typ string, status int) string {
	switch typ {
	case "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
		"rate_limit_error", "api_error", "server_error", "insufficient_quota":
		return typ
	}
	return llm.TypeForStatus(status)
}
