package anthropic

import (
	"github.com/llm-router/router/shared/engine"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func body(typ, msg string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}`
}

// TestParseError pins how each Anthropic error maps: the status the gateway
// decides fallback on, the kind, what an OpenAI client sees (the router's
// message, never Anthropic's), and Anthropic's own message as the Detail.
func TestParseError(t *testing.T) {
	tests := []struct {
		name       string
		status     int // 0: an error event inside a stream
		body       string
		wantKind   llm.Kind
		wantStat   int
		wantType   string
		wantCode   string
		wantDetail string
		retryable  bool
	}{
		{"invalid request", 400, body("invalid_request_error", "max_tokens: Field required"),
			llm.KindInvalidRequest, 400, "invalid_request_error", "", "max_tokens: Field required", false},
		{"authentication", 401, body("authentication_error", "invalid x-api-key"),
			llm.KindAuth, 401, "authentication_error", "invalid_api_key", "invalid x-api-key", true},
		// The router's own account cannot pay: another provider may.
		{"billing falls back", 402, body("billing_error", "Your credit balance is too low"),
			llm.KindPermission, 402, "insufficient_quota", "insufficient_quota", "Your credit balance is too low", true},
		{"permission", 403, body("permission_error", "no access"),
			llm.KindPermission, 403, "permission_error", "permission_error", "no access", true},
		{"not found", 404, body("not_found_error", "model: claude-x"),
			llm.KindNotFound, 404, "invalid_request_error", "model_not_found", "model: claude-x", true},
		{"too large", 413, body("request_too_large", "Request exceeds the maximum size"),
			llm.KindTooLarge, 413, "invalid_request_error", "request_too_large", "Request exceeds the maximum size", false},
		{"rate limited", 429, body("rate_limit_error", "slow down"),
			llm.KindRateLimited, 429, "rate_limit_error", "rate_limit_exceeded", "slow down", true},
		{"api error", 500, body("api_error", "Internal server error"),
			llm.KindUpstream, 500, "api_error", "api_error", "Internal server error", true},
		{"timeout", 504, body("timeout_error", "Request timed out"),
			llm.KindTimeout, 504, "api_error", "timeout_error", "Request timed out", true},
		{"overloaded", 529, body("overloaded_error", "Overloaded"),
			llm.KindOverloaded, 529, "api_error", "overloaded_error", "Overloaded", true},
		{"in-stream overloaded stands for 529", 0, body("overloaded_error", "Overloaded"),
			llm.KindOverloaded, 529, "api_error", "overloaded_error", "Overloaded", true},
		{"in-stream api error stands for 500", 0, body("api_error", "oops"),
			llm.KindUpstream, 500, "api_error", "api_error", "oops", true},
		{"in-stream invalid request stands for 400", 0, body("invalid_request_error", "bad"),
			llm.KindInvalidRequest, 400, "invalid_request_error", "", "bad", false},
		{"in-stream unknown type is a bad gateway, without a code", 0, body("brand_new_error", "?"),
			llm.KindUpstream, 502, "api_error", "", "?", true},
		{"unlisted 4xx keeps its status", 409, body("invalid_request_error", "conflict"),
			llm.KindInvalidRequest, 409, "invalid_request_error", "", "conflict", false},
		{"proxy HTML page", 502, `<html><body>Bad Gateway</body></html>`,
			llm.KindUpstream, 502, "api_error", "", "", true},
		{"Cloudflare 413 without JSON", 413, `request entity too large`,
			llm.KindTooLarge, 413, "invalid_request_error", "", "", false},
		{"503 is overloaded", 503, body("api_error", "unavailable"),
			llm.KindOverloaded, 503, "api_error", "api_error", "unavailable", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ParseError(tt.status, []byte(tt.body))
			if e.Kind != tt.wantKind || e.Status != tt.wantStat || e.Type != tt.wantType || e.Code != tt.wantCode || e.Detail != tt.wantDetail {
				t.Errorf("got kind %v status %d type %q code %q detail %q\nwant kind %v status %d type %q code %q detail %q",
					e.Kind, e.Status, e.Type, e.Code, e.Detail, tt.wantKind, tt.wantStat, tt.wantType, tt.wantCode, tt.wantDetail)
			}
			if want := llm.UpstreamMessage(tt.wantStat, tt.wantKind); e.Message != want {
				t.Errorf("message %q, want the router's %q", e.Message, want)
			}
			if got := engine.FallsBack(e); got != tt.retryable {
				t.Errorf("falls back = %v, want %v", got, tt.retryable)
			}
		})
	}
}

func TestParseErrorKeepsRequestIDForLogs(t *testing.T) {
	e := ParseError(500, []byte(body("api_error", "x")))
	if e.Err == nil || e.Err.Error() != "anthropic request_id req_011CSHoEeqs5C35K2UUqR7Fy" {
		t.Errorf("Err = %v, want the upstream request id", e.Err)
	}
}
