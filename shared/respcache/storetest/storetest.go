// Package storetest holds every respcache.Store to the same behaviour: the
// in-memory store the local server uses and the DynamoDB table run the same
// cases.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/respcache"
)

// Epoch is the cases' clock: whole seconds, as the gateway sets expiries.
var Epoch = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// Entry is a complete entry expiring ttl after Epoch.
func Entry(text string, ttl time.Duration) *respcache.Entry {
	return &respcache.Entry{
		Body:  []byte(`{"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"` + text + `"},"finish_reason":"stop"}]}`),
		Usage: llm.Usage{PromptTokens: 1200, CompletionTokens: 80, CachedTokens: 1000, CacheWriteTokens: 100, ReasoningTokens: 20},
		Model: "gpt-4o-mini", Provider: "openai", CostUSD: 0.000123456789, Expires: Epoch.Add(ttl),
	}
}

// Run runs the cases against s. flush makes what was Put readable (a store
// that writes later); nil when Put is immediate.
func Run(t *testing.T, s respcache.Store, flush func()) {
	ctx := context.Background()
	if flush == nil {
		flush = func() {}
	}
	put := func(key string, e *respcache.Entry) {
		t.Helper()
		if err := s.Put(ctx, key, e); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		flush()
	}
	get := func(key string, now time.Time) *respcache.Entry {
		t.Helper()
		e, err := s.Get(ctx, key, now)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return e
	}
	key := func(n int) string { return fmt.Sprintf("%064x", n) }

	t.Run("RoundTrip", func(t *testing.T) {
		if e := get(key(1), Epoch); e != nil {
			t.Fatalf("an empty store returned %+v", e)
		}
		want := Entry("Paris.", 10*time.Minute)
		put(key(1), want)
		got := get(key(1), Epoch)
		if got == nil {
			t.Fatal("miss right after put")
		}
		if !bytes.Equal(got.Body, want.Body) || got.Usage != want.Usage || got.Model != want.Model ||
			got.Provider != want.Provider || got.CostUSD != want.CostUSD || !got.Expires.Equal(want.Expires) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
		if e := get(key(2), Epoch); e != nil {
			t.Errorf("another key returned %+v", e)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		put(key(3), Entry("Rome.", time.Minute))
		if get(key(3), Epoch.Add(time.Minute-time.Second)) == nil {
			t.Error("miss a second before the expiry")
		}
		if e := get(key(3), Epoch.Add(time.Minute)); e != nil {
			t.Errorf("served at its expiry: %+v", e)
		}
		if e := get(key(3), Epoch.Add(time.Hour)); e != nil {
			t.Errorf("served after its expiry: %+v", e)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		put(key(4), Entry("old", time.Minute))
		put(key(4), Entry("new", 2*time.Minute))
		e := get(key(4), Epoch.Add(90*time.Second))
		if e == nil || !strings.Contains(string(e.Body), `"new"`) {
			t.Errorf("after a second put: %+v", e)
		}
	})
	t.Run("Size", func(t *testing.T) {
		// The largest answer kept still fits a DynamoDB item.
		big := Entry(strings.Repeat("a", respcache.MaxBody-len(Entry("", 0).Body)), time.Minute)
		if len(big.Body) != respcache.MaxBody {
			t.Fatalf("setup: %d bytes", len(big.Body))
		}
		put(key(5), big)
		if e := get(key(5), Epoch); e == nil || !bytes.Equal(e.Body, big.Body) {
			t.Error("an answer of MaxBody bytes was not kept")
		}
		over := Entry(strings.Repeat("a", respcache.MaxBody+1-len(Entry("", 0).Body)), time.Minute)
		put(key(6), over)
		if e := get(key(6), Epoch); e != nil {
			t.Error("an answer over MaxBody was kept")
		}
	})
}
