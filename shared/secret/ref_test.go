package secret

import (
	"context"
	"errors"
	"testing"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{"env:OPENAI_API_KEY", Ref{Scheme: "env", Name: "OPENAI_API_KEY"}, true},
		{"secret:llm-router/provider-keys#openai", Ref{Scheme: "secret", Name: "llm-router/provider-keys", Field: "openai"}, true},
		{"secret:arn:aws:secretsmanager:us-east-1:1:secret:k", Ref{Scheme: "secret", Name: "arn:aws:secretsmanager:us-east-1:1:secret:k"}, true},
		{"secret:#deepseek", Ref{Scheme: "secret", Field: "deepseek"}, true},
		{"sk-live-1234", Ref{}, false},
		{"env:1BAD", Ref{}, false},
		{"env:", Ref{}, false},
		{"secret:", Ref{}, false},
		{"secret:id#", Ref{}, false},
		{"vault:x", Ref{}, false},
	}
	for _, tt := range tests {
		got, err := ParseRef(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if _, err := ParseRef("sk-live-1234"); !errors.Is(err, ErrLiteral) {
		t.Errorf("a literal key: %v, want ErrLiteral", err)
	}
}

type memStore map[string]string

func (m memStore) GetSecret(_ context.Context, id string) (string, error) {
	if v, ok := m[id]; ok {
		return v, nil
	}
	return "", ErrNotFound
}

func TestResolverDefaultSecret(t *testing.T) {
	store := memStore{"llm-router/provider-keys": `{"openai":"sk-a"}`, "team/keys": `{"openai":"sk-b"}`}
	r := &Resolver{Secrets: &Cache{Store: store}, Env: func(k string) (string, bool) { return "sk-env", k == "K" }}
	for ref, want := range map[string]string{"secret:#openai": "sk-a", "secret:team/keys#openai": "sk-b", "env:K": "sk-env"} {
		if got, err := r.Resolve(context.Background(), ref); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	r.DefaultSecret = "team/keys"
	if got, _ := r.Resolve(context.Background(), "secret:#openai"); got != "sk-b" {
		t.Errorf("with ROUTER_SECRET_ID=team/keys, secret:#openai = %q", got)
	}
	if _, err := r.Resolve(context.Background(), "env:MISSING"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing env: %v", err)
	}
}
