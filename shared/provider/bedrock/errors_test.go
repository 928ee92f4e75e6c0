package bedrock_test

import (
	"context"
	"encoding/pem"
	"github.com/llm-router/router/shared/engine"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

// TestErrorMapping pins how every Bedrock exception reaches the gateway:
// the status decides fallback (408, 429, 500, 502, 503, 504 retry).
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		exception  string
		wantStatus int
		wantKind   llm.Kind
		wantType   string
		wantCode   string
		retryable  bool
	}{
		{"ThrottlingException", 429, llm.KindRateLimited, "rate_limit_error", "rate_limit_exceeded", true},
		{"ModelTimeoutException", 408, llm.KindTimeout, "api_error", "model_timeout", true},
		{"ServiceUnavailableException", 503, llm.KindOverloaded, "api_error", "service_unavailable", true},
		{"InternalServerException", 500, llm.KindUpstream, "api_error", "server_error", true},
		{"ModelNotReadyException", 429, llm.KindOverloaded, "rate_limit_error", "model_not_ready", true},
		// 424: the model failed on this request; another may serve it.
		{"ModelStreamErrorException", 424, llm.KindUpstream, "api_error", "model_stream_error", true},
		{"ModelErrorException", 424, llm.KindUpstream, "api_error", "model_error", true},
		{"ValidationException", 400, llm.KindInvalidRequest, "invalid_request_error", "invalid_request", false},
		{"AccessDeniedException", 403, llm.KindPermission, "permission_error", "access_denied", true},
		{"ResourceNotFoundException", 404, llm.KindNotFound, "invalid_request_error", "model_not_found", true},
		{"ServiceQuotaExceededException", 400, llm.KindRateLimited, "invalid_request_error", "quota_exceeded", true},
		{"UnrecognizedClientException", 403, llm.KindAuth, "permission_error", "invalid_aws_credentials", true},
	}
	for _, tt := range tests {
		t.Run(tt.exception, func(t *testing.T) {
			p, fake := newAdapter(t)
			fake.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: tt.exception, Message: "simulated " + tt.exception}})
			_, err := p.Chat(context.Background(), chatRequest(t, hello))
			e := llm.AsError(err)
			if e == nil {
				t.Fatalf("got %v, want an *llm.Error", err)
			}
			got := [4]string{http.StatusText(e.Status), e.Kind.String(), e.Type, e.Code}
			want := [4]string{http.StatusText(tt.wantStatus), tt.wantKind.String(), tt.wantType, tt.wantCode}
			if got != want || e.Status != tt.wantStatus {
				t.Errorf("got %d %v, want %d %v", e.Status, got, tt.wantStatus, want)
			}
			if engine.FallsBack(e) != tt.retryable {
				t.Errorf("falls back = %v, want %v", engine.FallsBack(e), tt.retryable)
			}
			if e.Message != llm.UpstreamMessage(tt.wantStatus, tt.wantKind) || e.Detail != "simulated "+tt.exception || e.Provider != "br" {
				t.Errorf("got message %q detail %q provider %q, want the router's message and Bedrock's as the detail, from br", e.Message, e.Detail, e.Provider)
			}
			// Logs see the exception's name, never its message.
			if got := e.Error(); strings.Contains(got, "simulated") || !strings.Contains(got, tt.exception) {
				t.Errorf("Error() = %q, want the exception's name and not its message", got)
			}
			// The SDK's retries are off: the router's fallback replaces them.
			if n := len(fake.Requests()); n != 1 {
				t.Errorf("Bedrock was called %d times, want exactly once", n)
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	t.Run("unknown exception keeps its HTTP status, without a code", func(t *testing.T) {
		p, fake := newAdapter(t)
		fake.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "BrandNewException", Message: "new", Status: 409}})
		e := llm.AsError(func() error { _, err := p.Chat(context.Background(), chatRequest(t, hello)); return err }())
		if e == nil || e.Status != 409 || e.Code != "" || e.Type != "invalid_request_error" || !strings.Contains(e.Error(), "BrandNewException") {
			t.Errorf("got %#v, want 409 with no code, BrandNewException in the log text", e)
		}
	})
	t.Run("Retry-After is kept", func(t *testing.T) {
		p, fake := newAdapter(t)
		fake.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ThrottlingException", Message: "slow", RetryAfter: "3"}})
		e := llm.AsError(func() error { _, err := p.Chat(context.Background(), chatRequest(t, hello)); return err }())
		if e == nil || e.RetryAfter != 3*time.Second {
			t.Errorf("got %#v, want RetryAfter 3s", e)
		}
	})
	t.Run("unreachable endpoint is unavailable", func(t *testing.T) {
		awsEnv(t)
		fake := bedrocktest.New(t)
		url := fake.URL
		fake.Close()
		p, err := bedrock.New(&config.Provider{Name: "br", Type: "bedrock", BaseURL: url}, llm.Deps{HTTP: &http.Client{}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), chatRequest(t, hello))
		if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable || !engine.FallsBack(e) {
			t.Errorf("got %#v, want a retryable KindUnavailable", err)
		}
	})
	t.Run("missing credentials are the router's problem", func(t *testing.T) {
		awsEnv(t)
		t.Setenv("AWS_ACCESS_KEY_ID", "")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "")
		fake := bedrocktest.New(t)
		p, err := bedrock.New(&config.Provider{Name: "br", Type: "bedrock", BaseURL: fake.URL}, llm.Deps{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Chat(context.Background(), chatRequest(t, hello))
		if e := llm.AsError(err); e == nil || e.Code != "provider_credentials_unavailable" || e.Kind != llm.KindAuth {
			t.Errorf("got %#v, want provider_credentials_unavailable", err)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("an unsigned request reached Bedrock (%d requests)", n)
		}
	})
}

// An AWS_CA_BUNDLE in the environment must not stop the adapter from using
// the router's shared HTTP client (the SDK refuses to apply a bundle to a
// client it did not build).
func TestNewWithCABundle(t *testing.T) {
	awsEnv(t)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	if err := os.WriteFile(bundle, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", bundle)
	fake := bedrocktest.New(t)
	p, err := bedrock.New(&config.Provider{Name: "br", Type: "bedrock", BaseURL: fake.URL}, llm.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := p.Chat(context.Background(), chatRequest(t, hello)); err != nil {
		t.Fatal(err)
	}
}
