package bedrock_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

const upstream = "anthropic.claude-3-5-sonnet-20240620-v1:0"

// awsEnv gives the SDK dummy credentials and a region and shuts out
// everything else the default chain would read, so no test can reach AWS.
func awsEnv(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_BEARER_TOKEN_BEDROCK", "")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "")
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_WEB_IDENTITY_TOKEN_FILE", "")
	t.Setenv("AWS_ROLE_ARN", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "")
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
}

// newAdapter returns a bedrock adapter pointed at a fresh fake.
func newAdapter(t testing.TB) (llm.Provider, *bedrocktest.Server) {
	t.Helper()
	awsEnv(t)
	fake := bedrocktest.New(t)
	p, err := bedrock.New(&config.Provider{Name: "br", Type: config.TypeBedrock, BaseURL: fake.URL},
		llm.Deps{HTTP: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	return p, fake
}

// chatRequest parses an OpenAI body as the gateway does.
func chatRequest(t testing.TB, body string) *llm.Request {
	t.Helper()
	c, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	return &llm.Request{Chat: c, Body: []byte(body), Model: "claude", Upstream: upstream, MaxTokens: 4096}
}

// sameJSON reports whether two JSON texts hold the same value.
func sameJSON(t testing.TB, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is invalid JSON %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}
