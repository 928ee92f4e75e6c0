package httpapi

import (
	"context"
	"errors"
	"github.com/llm-router/router/shared/engine"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/llm"
)

type keys map[string]string

func (k keys) Resolve(_ context.Context, ref string) (string, error) {
	if v, ok := k[ref]; ok {
		return v, nil
	}
	return "", errors.New("no such key")
}

func TestClient(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{}`))
		case "/slow-down":
			w.Header().Set("Retry-After", "7")
			w.Header().Set("Retry-After-Ms", "1500")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	parse := func(status int, _ http.Header, body []byte) *llm.Error {
		return llm.UpstreamError("", status, "", "", "upstream said "+string(body))
	}
	h := http.Header{}
	h.Set("Anthropic-Version", "2023-06-01")
	for _, tt := range []struct{ header, want string }{{"Authorization", "Bearer sk-1"}, {"X-Api-Key", "sk-1"}} {
		c := &Client{Provider: "p", HTTP: srv.Client(), Keys: keys{"env:K": "sk-1"}, KeyRef: "env:K", KeyHeader: tt.header,
			Header: h, ParseError: parse}
		resp, err := c.Post(context.Background(), srv.URL+"/ok", []byte(`{}`), true)
		if err != nil {
			t.Fatal(err)
		}
		Drain(resp)
		if got.Get(tt.header) != tt.want || got.Get("Anthropic-Version") != "2023-06-01" || got.Get("Accept") != "text/event-stream" {
			t.Errorf("headers sent = %v", got)
		}
	}
	c := &Client{Provider: "p", HTTP: srv.Client(), Keys: keys{}, KeyHeader: "Authorization", ParseError: parse}
	_, err := c.Post(context.Background(), srv.URL+"/slow-down", nil, false)
	if e := llm.AsError(err); e == nil || e.Provider != "p" || e.Status != 429 || e.RetryAfter != 1500*time.Millisecond {
		t.Errorf("429: %+v; want provider p and retry-after-ms preferred", e)
	}
	if got.Get("Authorization") != "" {
		t.Error("a key was sent without a key reference")
	}
	if err := c.Get(context.Background(), srv.URL+"/busy"); llm.AsError(err) == nil || llm.AsError(err).RetryAfter != 3*time.Second {
		t.Errorf("503: %v", err)
	}
	// A key the router cannot load is its own problem, not the caller's: the
	// 502 moves the request to the next target.
	c.KeyRef = "env:MISSING"
	_, err = c.Post(context.Background(), srv.URL+"/ok", nil, false)
	if e := llm.AsError(err); e == nil || e.Code != "provider_key_unavailable" || !engine.FallsBack(e) {
		t.Errorf("missing key: %+v", e)
	}
}

func TestLines(t *testing.T) {
	long := strings.Repeat("x", 40<<10) // longer than the read buffer
	l := NewLines(strings.NewReader("data: a\r\n\n: comment\ndata: " + long + "\nlast"))
	var got []string
	for {
		line, err := l.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	want := []string{"data: a", "", ": comment", "data: " + long, "last"}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
}

// An upstream that quotes the key it received does not pass it on: the
// client removes the key it sent from the error's Detail, whatever its shape,
// for errors it reads (non-200 answers) and for those an adapter reads later
// from a 200 answer (Own).
func TestKeyNeverInErrors(t *testing.T) {
	const key = "custom key 42" // no pattern would find this one
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quoted := r.Header.Get("Authorization") + r.Header.Get("X-Api-Key")
		if r.URL.Path == "/ok" {
			_, _ = w.Write([]byte("refused " + quoted))
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte("refused " + quoted))
	}))
	defer srv.Close()
	parse := func(status int, _ http.Header, body []byte) *llm.Error {
		return llm.UpstreamError("", status, "", "", string(body))
	}
	for _, header := range []string{"Authorization", "X-Api-Key"} {
		t.Run(header, func(t *testing.T) {
			c := &Client{Provider: "p", HTTP: srv.Client(), Keys: keys{"env:K": key}, KeyRef: "env:K", KeyHeader: header, ParseError: parse}
			_, err := c.Post(context.Background(), srv.URL+"/fail", []byte(`{}`), false)
			e := llm.AsError(err)
			if e == nil || strings.Contains(e.Detail, key) || !strings.Contains(e.Detail, "refused") {
				t.Errorf("error %+v, want the upstream's detail without the key", e)
			}
			resp, err := c.Post(context.Background(), srv.URL+"/ok", []byte(`{}`), false)
			if err != nil {
				t.Fatal(err)
			}
			defer Drain(resp)
			if got := c.SentKey(resp); got != key {
				t.Errorf("SentKey = %q, want %q", got, key)
			}
			body, _ := io.ReadAll(resp.Body)
			e = c.Own(resp, parse(http.StatusBadGateway, nil, body))
			if e.Provider != "p" || strings.Contains(e.Detail, key) {
				t.Errorf("Own: %+v, want provider p and no key", e)
			}
		})
	}
}
