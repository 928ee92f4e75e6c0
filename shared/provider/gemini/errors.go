package gemini

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/llm-router/router/shared/llm"
)

// googleStatus describes how one google.rpc status is answered to OpenAI
// clients: the HTTP status it stands for when the answer does not say
// (in-stream errors), and the OpenAI error type and code.
type googleStatus struct {
	http int
	typ  string
	code string
}

// googleStatusOf maps the statuses of Gemini's error guide. The HTTP status
// an answer carries wins over the one here; see errorFromGoogle.
func googleStatusOf(name string) (googleStatus, bool) {
	switch name {
	case "INVALID_ARGUMENT":
		return googleStatus{http.StatusBadRequest, "invalid_request_error", "invalid_argument"}, true
	case "FAILED_PRECONDITION":
		return googleStatus{http.StatusBadRequest, "invalid_request_error", "failed_precondition"}, true
	case "OUT_OF_RANGE":
		return googleStatus{http.StatusBadRequest, "invalid_request_error", "out_of_range"}, true
	case "UNAUTHENTICATED":
		return googleStatus{http.StatusUnauthorized, "authentication_error", "invalid_api_key"}, true
	case "PERMISSION_DENIED":
		return googleStatus{http.StatusForbidden, "permission_error", "permission_denied"}, true
	case "NOT_FOUND":
		return googleStatus{http.StatusNotFound, "invalid_request_error", "model_not_found"}, true
	case "RESOURCE_EXHAUSTED":
		return googleStatus{http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded"}, true
	case "CANCELLED":
		return googleStatus{499, "api_error", "cancelled"}, true
	case "INTERNAL", "UNKNOWN":
		return googleStatus{http.StatusInternalServerError, "api_error", "internal_error"}, true
	case "UNAVAILABLE":
		return googleStatus{http.StatusServiceUnavailable, "api_error", "service_unavailable"}, true
	case "DEADLINE_EXCEEDED":
		return googleStatus{http.StatusGatewayTimeout, "api_error", "timeout"}, true
	}
	return googleStatus{}, false
}

// Reasons (google.rpc.ErrorInfo.reason) that change the meaning of a status.
const reasonAPIKeyInvalid = "API_KEY_INVALID"

// errorFromGoogle turns a Gemini error answer into an *llm.Error whose
// client-facing fields are the router's (llm.UpstreamError) and whose Detail
// is Google's message, scrubbed of credentials. status is the HTTP status of
// the answer, or 0 for an error inside a 200 stream, where the body's own
// code (or its status name) decides. header may be nil.
func errorFromGoogle(provider string, status int, header http.Header, body []byte) *llm.Error {
	ae := decodeAPIError(body)
	if ae == nil {
		if status == 0 {
			status = http.StatusBadGateway
		}
		e := llm.UpstreamError(provider, status, "", "", "")
		e.RetryAfter = retryAfterHeader(header)
		return e
	}
	gs, known := googleStatusOf(ae.Status)
	switch {
	case status != 0:
	case ae.Code >= 400 && ae.Code <= 599:
		status = ae.Code
	case known:
		status = gs.http
	default:
		status = http.StatusBadGateway
	}
	typ, code := gs.typ, gs.code
	if !known {
		typ = llm.TypeForStatus(status)
	}
	if ae.Status == "RESOURCE_EXHAUSTED" && status == http.StatusPaymentRequired {
		// Prepaid credits are spent: a billing problem, not a rate limit.
		typ, code = "insufficient_quota", "insufficient_quota"
	}
	e := llm.UpstreamError(provider, status, typ, code, ae.Message)
	if ae.reason() == reasonAPIKeyInvalid {
		// Gemini answers a bad key with 400 INVALID_ARGUMENT. It is the
		// router's key that was refused, so it is reported as the 401 it
		// means: the gateway then drops its cached copy of the key (it may
		// have been rotated) and tells the client whose credentials failed.
		e.Kind, e.Status, e.Type, e.Code = llm.KindAuth, http.StatusUnauthorized, "authentication_error", "invalid_api_key"
		e.Message = llm.UpstreamMessage(e.Status, e.Kind)
	}
	e.RetryAfter = retryAfterHeader(header)
	if e.RetryAfter == 0 {
		e.RetryAfter = ae.retryDelay()
	}
	return e
}

// decodeAPIError reads {"error":{...}}, also in the one-element array form
// Google's JSON-array streams use; nil when body is not a Google error.
func decodeAPIError(body []byte) *apiError {
	body = bytes.TrimSpace(body)
	if len(body) > 0 && body[0] == '[' {
		var arr []errorEnvelope
		if json.Unmarshal(body, &arr) != nil || len(arr) == 0 {
			return nil
		}
		return arr[0].Error
	}
	var env errorEnvelope
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	return env.Error
}

func (ae *apiError) reason() string {
	for _, d := range ae.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// retryDelay reads google.rpc.RetryInfo, which Gemini's 429 answers carry
// instead of a Retry-After header.
func (ae *apiError) retryDelay() time.Duration {
	for _, d := range ae.Details {
		if d.RetryDelay == "" {
			continue
		}
		if v, err := time.ParseDuration(d.RetryDelay); err == nil && v > 0 && v < 24*time.Hour {
			return v
		}
	}
	return 0
}

func retryAfterHeader(h http.Header) time.Duration {
	if h == nil {
		return 0
	}
	return llm.ParseRetryAfter(h.Get("Retry-After"))
}
