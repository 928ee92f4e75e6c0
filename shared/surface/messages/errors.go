package messages

import (
	"net/http"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// statusOverloaded is Anthropic's status for overloaded_error; net/http has
// no name for it.
const statusOverloaded = 529

// errorClass is the Anthropic error type and HTTP status for an error. The
// kind decides; the status decides for errors of no kind. Anthropic's
// clients act on both: the SDKs retry 408, 409, 429 and 5xx, and map each
// status to an error class.
func errorClass(e *llm.Error) (typ string, status int) {
	if e.Status == http.StatusServiceUnavailable && e.Code == "router_not_configured" {
		// Not an overloaded provider: the router has no configuration yet.
		return "api_error", http.StatusServiceUnavailable
	}
	switch e.Kind {
	case llm.KindInvalidRequest:
		return "invalid_request_error", http.StatusBadRequest
	case llm.KindAuth:
		return "authentication_error", http.StatusUnauthorized
	case llm.KindPermission, llm.KindCompliance:
		if e.Status == http.StatusPaymentRequired {
			return "billing_error", http.StatusPaymentRequired
		}
		return "permission_error", http.StatusForbidden
	case llm.KindNotFound:
		return "not_found_error", http.StatusNotFound
	case llm.KindTooLarge:
		return "request_too_large", http.StatusRequestEntityTooLarge
	case llm.KindRateLimited:
		return "rate_limit_error", http.StatusTooManyRequests
	case llm.KindOverloaded:
		return "overloaded_error", statusOverloaded
	case llm.KindTimeout:
		return "timeout_error", http.StatusGatewayTimeout
	case llm.KindUpstream, llm.KindUnavailable:
		return "api_error", http.StatusInternalServerError
	}
	switch s := e.Status; {
	case s == http.StatusUnauthorized:
		return "authentication_error", s
	case s == http.StatusPaymentRequired:
		return "billing_error", s
	case s == http.StatusForbidden:
		return "permission_error", s
	case s == http.StatusNotFound:
		return "not_found_error", s
	case s == http.StatusRequestEntityTooLarge:
		return "request_too_large", s
	case s == http.StatusTooManyRequests:
		return "rate_limit_error", s
	case s == statusOverloaded || s == http.StatusServiceUnavailable:
		return "overloaded_error", statusOverloaded
	case s == http.StatusRequestTimeout || s == http.StatusGatewayTimeout:
		return "timeout_error", http.StatusGatewayTimeout
	case s >= 400 && s < 500:
		return "invalid_request_error", http.StatusBadRequest
	}
	return "api_error", http.StatusInternalServerError
}

// Status is the HTTP status to answer an error with on this surface:
// Anthropic's status for the error's class (400, 401, 402, 403, 404, 413,
// 429, 500, 504 or 529).
func Status(e *llm.Error) int {
	_, s := errorClass(e)
	return s
}

// AppendError appends Anthropic's error body for e,
// {"type":"error","error":{"type":…,"message":…}}, which is also the data
// of an error event. The message is e.Message, the router's rendering of the
// error; the cause in e.Err never reaches a client.
func AppendError(dst []byte, e *llm.Error) []byte {
	typ, _ := errorClass(e)
	dst = append(dst, `{"type":"error","error":{"type":"`...)
	dst = append(dst, typ...)
	dst = append(dst, `","message":`...)
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(Status(e))
	}
	dst = rawjson.AppendString(dst, msg)
	return append(dst, "}}"...)
}
