package llm

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// CodeContextLength is the code of an upstream error saying the request is
// longer than the model's context window. Adapters map each provider's own
// way of saying it to this code, so the router can try a larger window.
const CodeContextLength = "context_length_exceeded"

// Kind classifies an error so callers act on it without reading its text.
type Kind uint8

// The kinds of error the router distinguishes.
const (
	KindUnknown        Kind = iota
	KindInvalidRequest      // the request is malformed or unsupported (400)
	KindAuth                // missing or bad credentials (401)
	KindPermission          // the caller may not do this (403)
	KindNotFound            // no such route, model or resource (404)
	KindTooLarge            // the request body is over the limit (413)
	KindRateLimited         // a rate limit or quota answered (429)
	KindOverloaded          // the upstream is overloaded (529, 503)
	KindTimeout             // a deadline passed (408, 504)
	KindUpstream            // the upstream failed (5xx)
	KindUnavailable         // the upstream could not be reached at all
	KindCompliance          // no target may receive this request's data
)

var kindNames = [...]string{"unknown", "invalid_request", "auth", "permission", "not_found",
	"too_large", "rate_limited", "overloaded", "timeout", "upstream", "unavailable", "compliance"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is the router's error value. Status is the HTTP status the error stands
// for (the upstream's own status for upstream errors); Type, Code, Param and
// Message are what the client sees in the OpenAI error body. Err keeps the cause
// for logs; it is never rendered to a client.
type Error struct {
	Kind       Kind
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	Provider   string
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Provider != "" {
		msg = e.Provider + ": " + msg
	}
	if e.Status != 0 {
		msg = fmt.Sprintf("%s (status %d)", msg, e.Status)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another target may be tried after this error,
// following the router's contract: 408, 429, 500, 502, 503, 504 and 529, plus
// failures to connect and timeouts. Other 4xx answers belong to the caller.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case KindUnavailable, KindTimeout:
		return true
	}
	return RetryableStatus(e.Status)
}

// RetryableStatus reports whether an upstream HTTP status triggers fallback.
func RetryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout, 529:
		return true
	}
	return false
}

// KindForStatus maps an HTTP status to the kind of error it usually means.
func KindForStatus(status int) Kind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindPermission
	case status == http.StatusNotFound:
		return KindNotFound
	case status == http.StatusRequestEntityTooLarge:
		return KindTooLarge
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return KindTimeout
	case status == 529 || status == http.StatusServiceUnavailable:
		return KindOverloaded
	case status >= 500:
		return KindUpstream
	case status >= 400:
		return KindInvalidRequest
	}
	return KindUnknown
}

// TypeForStatus is the OpenAI error type for a status, used when an upstream
// does not say.
func TypeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "authentication_error"
	case status == http.StatusForbidden:
		return "permission_error"
	case status == http.StatusNotFound || status == http.StatusRequestEntityTooLarge:
		return "invalid_request_error"
	case status == http.StatusTooManyRequests:
		return "rate_limit_error"
	case status >= 500:
		return "api_error"
	}
	return "invalid_request_error"
}

// UpstreamError builds the error for an upstream's HTTP error answer. Type and
// code default from the status when the provider gave none.
func UpstreamError(provider string, status int, typ, code, message string) *Error {
	if typ == "" {
		typ = TypeForStatus(status)
	}
	if message == "" {
		message = http.StatusText(status)
		if message == "" {
			message = "upstream error"
		}
	}
	return &Error{Kind: KindForStatus(status), Status: status, Type: typ, Code: code,
		Message: message, Provider: provider}
}

// InvalidRequest is a 400 naming the offending parameter.
func InvalidRequest(param, code, message string) *Error {
	return &Error{Kind: KindInvalidRequest, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Code: code, Param: param, Message: message}
}

// Unavailable wraps a transport failure to reach a provider (retryable).
func Unavailable(provider string, err error) *Error {
	return &Error{Kind: KindUnavailable, Status: http.StatusBadGateway, Type: "api_error",
		Code: "upstream_unavailable", Message: "could not reach the provider", Provider: provider, Err: err}
}

// AsError returns err as an *Error, or nil when it is not one.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ParseRetryAfter reads a Retry-After header given in seconds; HTTP dates and
// junk give 0.
func ParseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 && secs < 86400 {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}
