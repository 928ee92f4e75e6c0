package llm

import (
	"errors"
	"strings"
	"testing"
)

// An upstream error's client-facing fields are the router's: the provider's
// message is only ever Detail, scrubbed, and never in Error().
func TestUpstreamError(t *testing.T) {
	const key = "sk-up-0123456789abcdefABCDEF"
	tests := []struct {
		name                 string
		status               int
		typ, code, detail    string
		wantType, wantCode   string
		wantMessage          string
		wantDetail           string
		wantKind             Kind
		wantErrorContainsNot string
	}{
		{"known code and type kept", 400, "invalid_request_error", "context_length_exceeded", "This model's maximum context length is 128000 tokens.",
			"invalid_request_error", "context_length_exceeded", "the provider rejected the request (status 400)",
			"This model's maximum context length is 128000 tokens.", KindInvalidRequest, "maximum context"},
		{"a key in the message is removed", 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided: Bearer " + key,
			"invalid_request_error", "invalid_api_key", "the provider refused the router's credentials (status 401)",
			"Incorrect API key provided: Bearer [redacted]", KindAuth, key},
		{"free text as code or type is dropped", 500, "the prompt was: tell me secrets", "tell_me_secrets_now_please", "boom",
			"api_error", "", "the provider failed (status 500)", "boom", KindUpstream, "boom"},
		{"numeric codes are kept", 402, "", "402", "Insufficient credits",
			"invalid_request_error", "402", "the router's account with the provider cannot pay for this request (status 402)",
			"Insufficient credits", KindInvalidRequest, "credits"},
		{"long numbers are no code", 400, "", "12345678901234567", "",
			"invalid_request_error", "", "the provider rejected the request (status 400)", "", KindInvalidRequest, ""},
		{"overloaded", 529, "", "", "Overloaded", "api_error", "", "the provider is overloaded (status 529)", "Overloaded", KindOverloaded, "Overloaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := UpstreamError("up", tt.status, tt.typ, tt.code, tt.detail)
			got := [5]string{e.Type, e.Code, e.Message, e.Detail, e.Kind.String()}
			want := [5]string{tt.wantType, tt.wantCode, tt.wantMessage, tt.wantDetail, tt.wantKind.String()}
			if got != want {
				t.Errorf("got %q\nwant %q", got, want)
			}
			if tt.wantErrorContainsNot != "" && strings.Contains(e.Error(), tt.wantErrorContainsNot) {
				t.Errorf("Error() = %q holds the provider's text", e.Error())
			}
		})
	}
}

func TestUpstreamParam(t *testing.T) {
	tests := []struct{ in, want string }{
		{"messages", "messages"},
		{"messages[0].content", "messages[0].content"},
		{"messages.3.assistant", ""},
		{"tools[2].function.parameters", "tools[2].function.parameters"},
		{"response_format.json_schema.schema", "response_format.json_schema.schema"},
		{"prompt", "prompt"},
		{"messages[0].content: Patient Jane Doe", ""},
		{"sk-up-0123456789", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := UpstreamParam(tt.in); got != tt.want {
			t.Errorf("UpstreamParam(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"upstream", UpstreamError("up", 400, "", "", "quoted prompt"), "up: the provider rejected the request (status 400)"},
		{"router's own", InvalidRequest("model", CodeMissingParam, "you must provide a model parameter"),
			"you must provide a model parameter (status 400)"},
		{"with a cause", Unavailable("up", errors.New("dial tcp: connection refused")),
			"up: could not reach the provider (status 502): dial tcp: connection refused"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
