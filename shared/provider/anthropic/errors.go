package anthropic

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/llm-router/router/shared/llm"
)

// statusOverloaded is Anthropic's own status for overloaded_error; it has no
// constant in net/http.
const statusOverloaded = 529

// statusOfType is the HTTP status an Anthropic error type stands for, 0 for a
// type it does not know. An error event inside a stream arrives on a 200
// answer, so its status comes from here (Anthropic: an overloaded_error event
// "would normally correspond to an HTTP 529").
func statusOfType(typ string) int {
	switch typ {
	case "invalid_request_error":
		return http.StatusBadRequest
	case "authentication_error":
		return http.StatusUnauthorized
	case "billing_error":
		return http.StatusPaymentRequired
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "api_error":
		return http.StatusInternalServerError
	case "timeout_error":
		return http.StatusGatewayTimeout
	case "overloaded_error":
		return statusOverloaded
	}
	return 0
}

// toOpenAIErrorType gives the OpenAI error type and code for an Anthropic
// error type. Where OpenAI has a code of its own for the same failure it is
// used, so OpenAI clients' checks work; otherwise the Anthropic type is the
// code, so the cause stays visible. An unknown type takes the status's.
func toOpenAIErrorType(typ string, status int) (openaiType, code string) {
	switch typ {
	case "invalid_request_error":
		return "invalid_request_error", ""
	case "authentication_error":
		return "authentication_error", "invalid_api_key"
	case "billing_error":
		return "insufficient_quota", "insufficient_quota"
	case "permission_error":
		return "permission_error", typ
	case "not_found_error":
		// On /v1/messages the only resource a request names is its model.
		return "invalid_request_error", "model_not_found"
	case "request_too_large":
		return "invalid_request_error", "request_too_large"
	case "rate_limit_error":
		return "rate_limit_error", "rate_limit_exceeded"
	case "api_error", "timeout_error", "overloaded_error":
		return "api_error", typ
	}
	// A type this adapter does not know is the provider's free text: it is
	// not passed on as a code.
	return llm.TypeForStatus(status), ""
}

// ParseError turns an Anthropic error answer into an *llm.Error whose
// client-facing fields are the router's (llm.UpstreamError) and whose Detail
// is Anthropic's message, scrubbed of credentials. status is the answer's
// HTTP status; pass 0 for an error event inside a stream, and the status is
// the one its type stands for. A body that is not Anthropic's error JSON (a
// proxy's HTML page, a Cloudflare 413) is classified by status alone.
func ParseError(status int, body []byte) *llm.Error {
	var b errorResponse
	var typ, msg string
	if json.Unmarshal(body, &b) == nil && b.Error != nil {
		typ, msg = b.Error.Type, b.Error.Message
	}
	if status < 400 {
		status = statusOfType(typ)
		if status == 0 {
			status = http.StatusBadGateway
		}
	}
	openaiType, code := toOpenAIErrorType(typ, status)
	e := llm.UpstreamError("", status, openaiType, code, msg)
	if typ == "billing_error" || status == http.StatusPaymentRequired {
		// The router's account cannot be used until someone pays: a lasting
		// refusal like a permission error, never retried (402 is not retryable).
		e.Kind = llm.KindPermission
	}
	if requestID(b.RequestID) {
		// Kept for logs (Err is never rendered to clients): it is what
		// Anthropic support asks for.
		e.Err = errors.New("anthropic request_id " + b.RequestID)
	}
	return e
}

// requestID reports whether id has the shape of Anthropic's request ids
// (req_ and letters and digits): anything else could be any text, and logs
// keep no provider text.
func requestID(id string) bool {
	if len(id) < 5 || len(id) > 64 || id[:4] != "req_" {
		return false
	}
	for i := 4; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
