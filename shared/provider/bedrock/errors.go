package bedrock

import (
	"errors"
	"net/http"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/scrub"
)

// exception is how one Bedrock exception maps to the router's terms.
type exception struct {
	status int
	kind   llm.Kind
	typ    string // OpenAI error type
	code   string // OpenAI-style error code
}

// exceptionFor maps a Bedrock exception name (the x-amzn-ErrorType of an
// answer, or the :exception-type of a stream frame) to its status and codes.
// The status decides fallback (the attempt engine's decision table).
//
// ModelErrorException and ModelStreamErrorException are 424 (Failed
// Dependency): the model failed on this request, for instance with invalid
// output; another model may serve it, so they fall back.
//
// ServiceQuotaExceededException is a 400 per Bedrock: the request exceeds an
// account quota (tokens per request, for instance) that waiting will not fix.
func exceptionFor(name string) (exception, bool) {
	switch name {
	case "ThrottlingException":
		return exception{http.StatusTooManyRequests, llm.KindRateLimited, "rate_limit_error", "rate_limit_exceeded"}, true
	case "ModelNotReadyException":
		// The model is being loaded; another target can answer meanwhile.
		return exception{http.StatusTooManyRequests, llm.KindOverloaded, "rate_limit_error", "model_not_ready"}, true
	case "ModelTimeoutException":
		return exception{http.StatusRequestTimeout, llm.KindTimeout, "api_error", "model_timeout"}, true
	case "ServiceUnavailableException":
		return exception{http.StatusServiceUnavailable, llm.KindOverloaded, "api_error", "service_unavailable"}, true
	case "InternalServerException":
		return exception{http.StatusInternalServerError, llm.KindUpstream, "api_error", "server_error"}, true
	case "ModelErrorException":
		return exception{http.StatusFailedDependency, llm.KindUpstream, "api_error", "model_error"}, true
	case "ModelStreamErrorException":
		return exception{http.StatusFailedDependency, llm.KindUpstream, "api_error", "model_stream_error"}, true
	case "ValidationException":
		return exception{http.StatusBadRequest, llm.KindInvalidRequest, "invalid_request_error", "invalid_request"}, true
	case "AccessDeniedException":
		return exception{http.StatusForbidden, llm.KindPermission, "permission_error", "access_denied"}, true
	case "ResourceNotFoundException":
		return exception{http.StatusNotFound, llm.KindNotFound, "invalid_request_error", "model_not_found"}, true
	case "ServiceQuotaExceededException":
		return exception{http.StatusBadRequest, llm.KindRateLimited, "invalid_request_error", "quota_exceeded"}, true
	case "UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException",
		"MissingAuthenticationTokenException", "IncompleteSignatureException":
		// The router's AWS credentials were refused.
		return exception{http.StatusForbidden, llm.KindAuth, "permission_error", "invalid_aws_credentials"}, true
	}
	return exception{}, false
}

// mapError turns an SDK error into an *llm.Error. Bedrock's exceptions are
// read with errors.As on smithy.APIError (the typed exceptions implement it);
// exceptions this table does not know keep their HTTP status and get no code.
// Client-facing fields are the router's; Bedrock's message becomes Detail
// without keys (the credentials the request was signed with, and anything
// shaped like a credential), and Err, for logs, names only the exception and
// the request id: the SDK's own error text carries the message. Failures to
// send at all are llm.Unavailable.
func mapError(provider string, err error, keys ...string) *llm.Error {
	if e := llm.AsError(err); e != nil {
		return e
	}
	var creds *credentialsError
	if errors.As(err, &creds) {
		return &llm.Error{Kind: llm.KindAuth, Status: http.StatusBadGateway, Type: "api_error",
			Code: "provider_credentials_unavailable", Message: "the router could not load AWS credentials for this provider",
			Provider: provider, Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		ex, known := exceptionFor(api.ErrorCode())
		if !known {
			status := http.StatusBadGateway
			var re *awshttp.ResponseError
			if errors.As(err, &re) && re.HTTPStatusCode() >= 400 {
				status = re.HTTPStatusCode()
			}
			ex = exception{status, llm.KindForStatus(status), llm.TypeForStatus(status), ""}
		}
		return &llm.Error{Kind: ex.kind, Status: ex.status, Type: ex.typ, Code: ex.code,
			Message: llm.UpstreamMessage(ex.status, ex.kind), Detail: scrub.Secrets(api.ErrorMessage(), keys...),
			Provider: provider, RetryAfter: retryAfter(err), Err: summary(api.ErrorCode(), err)}
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		return badResponse(provider, err)
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 {
		e := llm.UpstreamError(provider, re.HTTPStatusCode(), "", "", "")
		e.Err, e.RetryAfter = summary("", err), retryAfter(err)
		return e
	}
	return llm.Unavailable(provider, err)
}

// cause stands for an SDK error in logs. Its text names the exception and
// Bedrock's request id and nothing else, since the SDK's own text ends with
// the exception's message, which can quote the request; Unwrap still gives
// the SDK's error to errors.As.
type cause struct {
	text string
	err  error
}

func (c *cause) Error() string { return c.text }
func (c *cause) Unwrap() error { return c.err }

// summary is the cause of an upstream error: "bedrock <exception>, request id
// <id>", each part only when it has the shape of an AWS identifier.
func summary(exceptionName string, err error) *cause {
	text := "bedrock"
	if identifier(exceptionName) {
		text += " " + exceptionName
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && identifier(re.ServiceRequestID()) {
		text += ", request id " + re.ServiceRequestID()
	}
	return &cause{text: text, err: err}
}

// identifier reports whether s is a short run of letters, digits and
// hyphens, as exception names and request ids are.
func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// retryAfter reads a Retry-After header of the HTTP answer, if any.
func retryAfter(err error) time.Duration {
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		return llm.ParseRetryAfter(re.Response.Header.Get("Retry-After"))
	}
	return 0
}
