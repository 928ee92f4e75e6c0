package awssecrets

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-router/router/shared/secret"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-router/router/shared/awstest"
)

const keysSecret = "llm-router/provider-keys"

// smFixture is Secrets Manager on moto behind the cache, with counted calls
// and a settable clock.
type smFixture struct {
	moto  *awstest.Moto
	sm    *secretsmanager.Client
	calls *awstest.CountingClient
	now   atomic.Pointer[time.Time]
	res   *secret.Resolver
}

func newSMFixture(t *testing.T, initial string) *smFixture {
	t.Helper()
	f := &smFixture{moto: awstest.Start(t)}
	cfg := f.moto.Config()
	f.calls = &awstest.CountingClient{Base: cfg.HTTPClient}
	cfg.HTTPClient = f.calls
	f.sm = secretsmanager.NewFromConfig(cfg)
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.now.Store(&start)
	if _, err := f.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(keysSecret), SecretString: aws.String(initial)}); err != nil {
		t.Fatal(err)
	}
	f.res = &secret.Resolver{Secrets: &secret.Cache{Store: &Store{Client: f.sm}, TTL: time.Minute,
		Now: func() time.Time { return *f.now.Load() }}}
	return f
}

func (f *smFixture) advance(d time.Duration) {
	t := f.now.Load().Add(d)
	f.now.Store(&t)
}

func (f *smFixture) resolve(t *testing.T, ref, want string) {
	t.Helper()
	got, err := f.res.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatalf("Resolve(%s): %v", ref, err)
	}
	if got != want {
		t.Fatalf("Resolve(%s) = %q, want %q", ref, got, want)
	}
}

func TestSecretsManagerResolvesAndCaches(t *testing.T) {
	f := newSMFixture(t, `{"openai":"sk-test-one","deepseek":"sk-test-ds"}`)
	f.resolve(t, "secret:"+keysSecret+"#openai", "sk-test-one")
	before := f.calls.Count()
	for i := 0; i < 100; i++ {
		f.resolve(t, "secret:"+keysSecret+"#openai", "sk-test-one")
		f.resolve(t, "secret:"+keysSecret+"#deepseek", "sk-test-ds")
	}
	if got := f.calls.Count() - before; got != 0 {
		t.Errorf("200 warm resolutions made %d Secrets Manager calls, want 0", got)
	}
	f.resolve(t, "secret:"+keysSecret, `{"openai":"sk-test-one","deepseek":"sk-test-ds"}`)
}

func TestSecretsManagerRotation(t *testing.T) {
	f := newSMFixture(t, `{"openai":"sk-test-old"}`)
	ref := "secret:" + keysSecret + "#openai"
	f.resolve(t, ref, "sk-test-old")
	if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(keysSecret), SecretString: aws.String(`{"openai":"sk-test-new"}`)}); err != nil {
		t.Fatal(err)
	}
	// Within the TTL the cached key is still served...
	f.resolve(t, ref, "sk-test-old")
	// ...until the provider refuses it and the gateway invalidates it.
	f.res.Invalidate(ref)
	before := f.calls.Count()
	f.resolve(t, ref, "sk-test-new")
	if got := f.calls.Count() - before; got != 1 {
		t.Errorf("resolution after Invalidate made %d calls, want 1", got)
	}
	// The TTL alone also picks a rotation up.
	if _, err := f.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(keysSecret), SecretString: aws.String(`{"openai":"sk-test-third"}`)}); err != nil {
		t.Fatal(err)
	}
	f.advance(2 * time.Minute)
	f.resolve(t, ref, "sk-test-third")
}

func TestSecretsManagerFailStatic(t *testing.T) {
	f := newSMFixture(t, `{"openai":"sk-test-kept"}`)
	ref := "secret:" + keysSecret + "#openai"
	f.resolve(t, ref, "sk-test-kept")
	f.moto.Stop()
	f.advance(10 * time.Minute)
	f.resolve(t, ref, "sk-test-kept") // expired, refetch fails: last good value
	f.res.Invalidate(ref)
	f.resolve(t, ref, "sk-test-kept") // invalidated, refetch fails: last good value

	// A secret never fetched cannot be served; the error names it and not a key.
	_, err := f.res.Resolve(context.Background(), "secret:other/keys#openai")
	if err == nil {
		t.Fatal("a never-fetched secret resolved with Secrets Manager down")
	}
	if !strings.Contains(err.Error(), "other/keys") || strings.Contains(err.Error(), "sk-test") {
		t.Errorf("error %q: want the secret named and no key in it", err)
	}
}

func TestSecretsManagerMissing(t *testing.T) {
	f := newSMFixture(t, `{"openai":"sk-test-x"}`)
	_, err := f.res.Resolve(context.Background(), "secret:no/such-secret#openai")
	if !errors.Is(err, secret.ErrNotFound) {
		t.Errorf("missing secret: %v, want secret.ErrNotFound", err)
	}
	_, err = f.res.Resolve(context.Background(), "secret:"+keysSecret+"#anthropic")
	if !errors.Is(err, secret.ErrNotFound) || strings.Contains(err.Error(), "sk-test") {
		t.Errorf("missing field: %v, want secret.ErrNotFound without the secret's content", err)
	}
}
