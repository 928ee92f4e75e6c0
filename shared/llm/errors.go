package llm

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llm-router/router/shared/scrub"
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
	KindUnsupported         // this provider cannot take the request as sent; another may (400)
)

var kindNames = [...]string{"unknown", "invalid_request", "auth", "permission", "not_found",
	"too_large", "rate_limited", "overloaded", "timeout", "upstream", "unavailable", "compliance", "unsupported"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is the router's error value. Status is the HTTP status the error stands
// for (the upstream's own status for upstream errors); Type, Code, Param and
// Message are what the client sees in the OpenAI error body, and none of them
// ever holds an upstream's free text: for upstream errors Message is the
// router's summary (UpstreamMessage), Type and Code come from fixed
// vocabularies and Param is a request field's path. The provider's own words
// are in Detail, scrubbed. Err keeps the cause for logs; it is never rendered
// to a client and never holds upstream text either.
type Error struct {
	Kind     Kind
	Status   int
	Type     string
	Code     string
	Param    string
	Message  string
	Provider string
	// Detail is what the provider said about an upstream error, with the
	// adapter's keys and anything shaped like a credential removed
	// (scrub.Secrets). It can still quote the request, so it is shown to the
	// caller only after scrub.RequestText with the request's body, and only
	// where it helps the caller fix its request; it is never logged and
	// never part of Error().
	Detail     string
	RetryAfter time.Duration
	Err        error
}

// Error describes e for logs: the provider, the router's message, the
// status and the cause; never Detail.
func (e *Error) Error() string {
	msg := e.Message
	if e.Provider != "" {
		msg = e.Provider + ": " + msg
	}
	if e.Status != 0 {
		if st := "(status " + strconv.Itoa(e.Status) + ")"; !strings.HasSuffix(msg, st) {
			msg += " " + st
		}
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

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

// UpstreamError builds the error for an upstream's error answer. The
// client-facing fields are the router's: Message is UpstreamMessage, Type
// and Code are kept only when they belong to UpstreamType's and
// UpstreamCode's vocabularies (a type the status decides otherwise, no code).
// detail, the provider's own message, becomes Detail once scrub.Secrets has
// removed what looks like a credential; the caller that knows the key it sent
// removes that too (httpapi does).
func UpstreamError(provider string, status int, typ, code, detail string) *Error {
	kind := KindForStatus(status)
	return &Error{Kind: kind, Status: status, Type: UpstreamType(typ, status), Code: UpstreamCode(code),
		Message: UpstreamMessage(status, kind), Detail: scrub.Secrets(detail), Provider: provider}
}

// UpstreamMessage is what the router tells a client about an upstream's
// error answer of this status and kind: the router's words, which hold
// nothing the provider wrote.
func UpstreamMessage(status int, kind Kind) string {
	st := " (status " + strconv.Itoa(status) + ")"
	switch {
	case status == http.StatusUnauthorized || kind == KindAuth:
		return "the provider refused the router's credentials" + st
	case status == http.StatusPaymentRequired:
		return "the router's account with the provider cannot pay for this request" + st
	case status == http.StatusForbidden:
		return "the provider does not allow this request" + st
	case status == http.StatusNotFound:
		return "the provider does not know the model or resource" + st
	case status == http.StatusRequestEntityTooLarge:
		return "the request is too large for the provider" + st
	case status == http.StatusTooManyRequests:
		return "the provider's rate limit or quota was reached" + st
	case status == http.StatusFailedDependency:
		return "the model failed on this request" + st
	case status == 499:
		return "the provider cancelled the request" + st
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout || kind == KindTimeout:
		return "the provider timed out" + st
	case status == http.StatusServiceUnavailable || status == 529 || kind == KindOverloaded:
		return "the provider is overloaded" + st
	case status >= 500:
		return "the provider failed" + st
	case status >= 400:
		return "the provider rejected the request" + st
	}
	return "the provider answered with an error" + st
}

// UpstreamType is typ when it is one of OpenAI's error types, else the type
// of the status.
func UpstreamType(typ string, status int) string {
	switch typ {
	case "invalid_request_error", "authentication_error", "permission_error", "not_found_error",
		"rate_limit_error", "api_error", "server_error", "insufficient_quota":
		return typ
	}
	return TypeForStatus(status)
}

// UpstreamCode is code when it belongs to the vocabulary clients can act on,
// else "". The vocabulary is OpenAI's codes, Azure's, the ones the adapters
// map other providers' errors to, and numeric codes (OpenRouter, vLLM,
// Mistral) of up to six digits. An upstream's code is its free text: a code
// outside the vocabulary could carry anything, the request included.
func UpstreamCode(code string) string {
	switch code {
	case "",
		// OpenAI and the compatible APIs
		"invalid_api_key", "invalid_request_error", "model_not_found", "context_length_exceeded",
		"rate_limit_exceeded", "insufficient_quota", "invalid_value", "invalid_type",
		"missing_required_parameter", "unknown_parameter", "unsupported_parameter", "unsupported_value",
		"invalid_image_url", "invalid_image", "invalid_image_format", "image_too_large", "unsupported_image_url",
		"content_policy_violation", "content_filter", "string_above_max_length", "string_below_min_length",
		"array_above_max_length", "array_below_min_length", "empty_array", "integer_above_max_value",
		"integer_below_min_value", "decimal_above_max_value", "decimal_below_min_value",
		"invalid_function_parameters", "invalid_tool_choice", "tool_use_failed", "json_validate_failed",
		"server_error", "engine_overloaded", "model_overloaded", "slow_down", "timeout", "invalid_prompt",
		"unsupported_country_region_territory", "account_deactivated", "billing_hard_limit_reached",
		"billing_not_active", "invalid_organization", "invalid_project", "access_terminated",
		"quota_exceeded", "invalid_json", "invalid_schema",
		// Azure OpenAI
		"DeploymentNotFound", "OperationNotSupported", "InternalServerError", "ServiceUnavailable",
		"BadRequest", "Unauthorized", "NotFound", "TooManyRequests", "ResponsibleAIPolicyViolation",
		// what the adapters map Anthropic, Gemini and Bedrock errors to
		"permission_error", "request_too_large", "api_error", "timeout_error", "overloaded_error",
		"invalid_argument", "failed_precondition", "out_of_range", "permission_denied", "cancelled",
		"internal_error", "service_unavailable", "model_not_ready", "model_timeout", "model_error",
		"model_stream_error", "invalid_request", "access_denied", "invalid_aws_credentials":
		return code
	}
	if len(code) <= 6 {
		for i := 0; i < len(code); i++ {
			if code[i] < '0' || code[i] > '9' {
				return ""
			}
		}
		return code
	}
	return ""
}

// UpstreamParam is param when it is the path of a request field (messages,
// messages[0].content, tools.2.function.parameters), else "". Each name in
// the path must be one of the fields of OpenAI's chat and embeddings
// requests, so no upstream can pass other text through it.
func UpstreamParam(param string) string {
	if len(param) > 128 {
		return ""
	}
	for rest := param; rest != ""; {
		i := strings.IndexAny(rest, ".[]")
		if i < 0 {
			i = len(rest)
		}
		if seg := rest[:i]; seg != "" && !isRequestField(seg) && !isIndex(seg) {
			return ""
		}
		if i == len(rest) {
			break
		}
		rest = rest[i+1:]
	}
	return param
}

// isRequestField reports whether name is a field of an OpenAI chat or
// embeddings request, at any depth, or Azure's "prompt".
func isRequestField(name string) bool {
	switch name {
	case "model", "messages", "stream", "stream_options", "include_usage", "temperature", "top_p",
		"max_tokens", "max_completion_tokens", "stop", "n", "seed", "presence_penalty", "frequency_penalty",
		"tools", "tool_choice", "parallel_tool_calls", "response_format", "user", "reasoning_effort",
		"logprobs", "top_logprobs", "logit_bias", "modalities", "audio", "prediction", "metadata", "store",
		"service_tier", "web_search_options", "verbosity", "input", "encoding_format", "dimensions",
		"role", "content", "name", "tool_calls", "tool_call_id", "reasoning_content", "refusal", "type",
		"text", "image_url", "url", "detail", "function", "description", "parameters", "strict", "id",
		"arguments", "json_schema", "schema", "properties", "items", "required", "prompt", "body",
		"cache_control", "ttl", "prompt_cache_key", "thinking_blocks", "include_reasoning":
		return true
	}
	return false
}

func isIndex(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) <= 6
}

// InvalidRequest is a 400 naming the offending parameter.
func InvalidRequest(param, code, message string) *Error {
	return &Error{Kind: KindInvalidRequest, Status: http.StatusBadRequest,
		Type: "invalid_request_error", Code: code, Param: param, Message: message}
}

// Unsupported is an adapter's refusal of something its provider cannot take
// (a remote image URL, a role it does not know): a 400 naming the parameter
// for this target, which another target may well serve, so the router tries
// the next one before answering it.
func Unsupported(param, code, message string) *Error {
	return &Error{Kind: KindUnsupported, Status: http.StatusBadRequest, Type: "invalid_request_error", Code: code, Param: param,
		Message: message}
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
