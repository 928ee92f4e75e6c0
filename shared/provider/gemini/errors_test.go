package gemini

import (
	"github.com/llm-router/router/shared/engine"
	"net/http"
	"testing"
	"time"

	"github.com/llm-router/router/shared/llm"
)

// TestErrorFromGoogle pins how every Gemini error maps: the status the
// gateway's fallback rule reads, the kind, and what the client sees.
func TestErrorFromGoogle(t *testing.T) {
	tests := []struct {
		name       string
		status     int // of the HTTP answer; 0 for an in-stream error
		header     http.Header
		body       string
		wantStatus int
		wantKind   llm.Kind
		wantType   string
		wantCode   string
		wantDetail string
		wantRetry  time.Duration
		retryable  bool
	}{
		{
			name: "rate limited, with RetryInfo", status: 429,
			body: `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[
				{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"m"}]},
				{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}`,
			wantStatus: 429, wantKind: llm.KindRateLimited, wantType: "rate_limit_error", wantCode: "rate_limit_exceeded",
			wantDetail: "You exceeded your current quota.", wantRetry: 17 * time.Second, retryable: true,
		},
		{
			name: "Retry-After header wins over RetryInfo", status: 429, header: http.Header{"Retry-After": {"3"}},
			body:       `{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"17s"}]}}`,
			wantStatus: 429, wantKind: llm.KindRateLimited, wantType: "rate_limit_error", wantCode: "rate_limit_exceeded",
			wantDetail: "slow down", wantRetry: 3 * time.Second, retryable: true,
		},
		{
			name: "prepaid credits exhausted", status: 402,
			body:       `{"error":{"code":402,"message":"Your prepaid credits are depleted.","status":"RESOURCE_EXHAUSTED"}}`,
			wantStatus: 402, wantKind: llm.KindInvalidRequest, wantType: "insufficient_quota", wantCode: "insufficient_quota",
			wantDetail: "Your prepaid credits are depleted.", retryable: true,
		},
		{
			name: "unavailable", status: 503,
			body:       `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`,
			wantStatus: 503, wantKind: llm.KindOverloaded, wantType: "api_error", wantCode: "service_unavailable",
			wantDetail: "The model is overloaded. Please try again later.", retryable: true,
		},
		{
			name: "internal", status: 500,
			body:       `{"error":{"code":500,"message":"An internal error has occurred.","status":"INTERNAL"}}`,
			wantStatus: 500, wantKind: llm.KindUpstream, wantType: "api_error", wantCode: "internal_error",
			wantDetail: "An internal error has occurred.", retryable: true,
		},
		{
			name: "deadline exceeded", status: 504,
			body:       `{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}`,
			wantStatus: 504, wantKind: llm.KindTimeout, wantType: "api_error", wantCode: "timeout",
			wantDetail: "Deadline expired before operation could complete.", retryable: true,
		},
		{
			name: "invalid argument", status: 400,
			body:       `{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}`,
			wantStatus: 400, wantKind: llm.KindInvalidRequest, wantType: "invalid_request_error", wantCode: "invalid_argument",
			wantDetail: "* GenerateContentRequest.contents: contents is not specified\n",
		},
		{
			name: "bad API key is the router's credentials refused", status: 400,
			body: `{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[
				{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},
				{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}]}}`,
			wantStatus: 401, wantKind: llm.KindAuth, wantType: "authentication_error", wantCode: "invalid_api_key",
			wantDetail: "API key not valid. Please pass a valid API key.", retryable: true,
		},
		{
			name: "failed precondition (region)", status: 400,
			body:       `{"error":{"code":400,"message":"User location is not supported for the API use.","status":"FAILED_PRECONDITION"}}`,
			wantStatus: 400, wantKind: llm.KindInvalidRequest, wantType: "invalid_request_error", wantCode: "failed_precondition",
			wantDetail: "User location is not supported for the API use.",
		},
		{
			name: "permission denied", status: 403,
			body:       `{"error":{"code":403,"message":"Method doesn't allow unregistered callers.","status":"PERMISSION_DENIED"}}`,
			wantStatus: 403, wantKind: llm.KindPermission, wantType: "permission_error", wantCode: "permission_denied",
			wantDetail: "Method doesn't allow unregistered callers.", retryable: true,
		},
		{
			name: "not found", status: 404,
			body:       `{"error":{"code":404,"message":"models/nope is not found for API version v1beta.","status":"NOT_FOUND"}}`,
			wantStatus: 404, wantKind: llm.KindNotFound, wantType: "invalid_request_error", wantCode: "model_not_found",
			wantDetail: "models/nope is not found for API version v1beta.", retryable: true,
		},
		{
			name: "array form", status: 503,
			body:       `[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`,
			wantStatus: 503, wantKind: llm.KindOverloaded, wantType: "api_error", wantCode: "service_unavailable",
			wantDetail: "overloaded", retryable: true,
		},
		{
			name: "in-stream, status from the code", status: 0,
			body:       `{"error":{"code":500,"message":"stream broke","status":"INTERNAL"}}`,
			wantStatus: 500, wantKind: llm.KindUpstream, wantType: "api_error", wantCode: "internal_error",
			wantDetail: "stream broke", retryable: true,
		},
		{
			name: "in-stream, status from the name", status: 0,
			body:       `{"error":{"message":"busy","status":"UNAVAILABLE"}}`,
			wantStatus: 503, wantKind: llm.KindOverloaded, wantType: "api_error", wantCode: "service_unavailable",
			wantDetail: "busy", retryable: true,
		},
		{
			name: "unknown status name", status: 409,
			body:       `{"error":{"code":409,"message":"aborted","status":"ABORTED"}}`,
			wantStatus: 409, wantKind: llm.KindInvalidRequest, wantType: "invalid_request_error", wantCode: "",
			wantDetail: "aborted",
		},
		{
			name: "not JSON (a proxy's page)", status: 502,
			body:       `<html><body>Bad Gateway</body></html>`,
			wantStatus: 502, wantKind: llm.KindUpstream, wantType: "api_error", wantCode: "",
			wantDetail: "", retryable: true,
		},
		{
			name: "not JSON in a stream", status: 0,
			body:       `garbage`,
			wantStatus: 502, wantKind: llm.KindUpstream, wantType: "api_error", wantCode: "",
			wantDetail: "", retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := errorFromGoogle("gem", tt.status, tt.header, []byte(tt.body))
			if e.Status != tt.wantStatus || e.Kind != tt.wantKind || e.Type != tt.wantType || e.Code != tt.wantCode {
				t.Errorf("got status %d kind %v type %q code %q, want %d %v %q %q",
					e.Status, e.Kind, e.Type, e.Code, tt.wantStatus, tt.wantKind, tt.wantType, tt.wantCode)
			}
			if e.Detail != tt.wantDetail {
				t.Errorf("detail = %q, want %q", e.Detail, tt.wantDetail)
			}
			if want := llm.UpstreamMessage(tt.wantStatus, tt.wantKind); e.Message != want {
				t.Errorf("message = %q, want the router's %q", e.Message, want)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.wantRetry)
			}
			if engine.FallsBack(e) != tt.retryable {
				t.Errorf("falls back = %v, want %v", engine.FallsBack(e), tt.retryable)
			}
			if e.Provider != "gem" {
				t.Errorf("Provider = %q, want gem", e.Provider)
			}
		})
	}
}
