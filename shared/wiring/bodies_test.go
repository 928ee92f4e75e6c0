package wiring

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// Bodies are read under bounds a caller with a key cannot lift: a deadline
// for the whole body, a number of bodies in flight per key, and a number of
// messages decoded. Each is checked through the real local server on a
// loopback listener, so the deadline is the connection's own.

const (
	bodyKey  = "sk-router-bodies-0001"
	otherKey = "sk-router-bodies-0002"
)

// hangGuard only keeps a broken router from hanging the test; nothing is
// measured against it.
const hangGuard = 30 * time.Second

func sha(k string) string {
	sum := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// serveLocal builds the router as main does, on a configuration file with
// limits (a YAML mapping's body), serves it on a loopback listener and
// returns its address and upstream.
func serveLocal(t *testing.T, limits string) (string, *openaitest.Server) {
	t.Helper()
	up := openaitest.NewServer("up", nil)
	t.Cleanup(up.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
models:
  - {id: m, provider: up, price: {input: 1, output: 1}}
routes:
  - {name: r, targets: [{model: m}]}
keys:
  - {id: app, hash: %q, routes: [r]}
  - {id: other, hash: %q, routes: [r]}
limits:
%s
`, up.BaseURL(), sha(bodyKey), sha(otherKey), limits)
	path := filepath.Join(t.TempDir(), "router.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROUTER_CONFIG": path}
	settings, err := ParseSettings(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	r, err := Build(context.Background(), Process{Env: envOf(env), Stdout: io.Discard, Stderr: &lockedWriter{w: &stderr}}, settings)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, stderr.String())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), up
}

// rawConn is a client connection that writes a request's head and its body
// as the test decides.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(hangGuard))
	return &rawConn{Conn: c, r: bufio.NewReader(c)}
}

// head writes a chat request's head for a body of n bytes; with expect, the
// server answers 100 Continue once the router starts reading the body.
func (c *rawConn) head(t *testing.T, key string, n int, expect bool) {
	t.Helper()
	h := "POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer " + key +
		"\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(n) + "\r\n"
	if expect {
		h += "Expect: 100-continue\r\n"
	}
	if _, err := io.WriteString(c, h+"\r\n"); err != nil {
		t.Fatal(err)
	}
}

// status reads a status line and, for a final answer, the rest of it.
func (c *rawConn) answer(t *testing.T) (int, string) {
	t.Helper()
	line, err := c.r.ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	var code int
	fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	if code == http.StatusContinue {
		_, _ = c.r.ReadString('\n') // the blank line after it
		return code, ""
	}
	resp, err := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(line), c.r)), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return code, string(body)
}

// chatBodyOf is a chat body padded with spaces to n bytes.
func chatBodyOf(n int) string {
	b := chatBody("r", false)
	return b + strings.Repeat(" ", n-len(b))
}

func errorCode(body string) string {
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// trickle writes body to c a byte every 50 ms, until it is written, the
// connection fails or the test ends.
func trickle(t *testing.T, c *rawConn, body string) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := range len(body) {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if _, err := io.WriteString(c, body[i:i+1]); err != nil {
				return
			}
		}
	}()
}

// closes checks that the server closes c after its answer rather than
// keep it for another request (reading the rest of a trickled body first).
func closes(t *testing.T, c *rawConn) {
	t.Helper()
	_, err := c.r.ReadByte()
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Errorf("the connection stayed open after the answer")
	case err != io.EOF && !errors.Is(err, syscall.ECONNRESET):
		t.Errorf("after the answer: %v, want the connection closed", err)
	}
}

// A body trickled slower than limits.body_read_timeout is answered 408 and
// its connection closed, whatever Content-Length promised.
func TestTrickledBodyTimesOut(t *testing.T) {
	addr, up := serveLocal(t, "  body_read_timeout: 300ms")
	c := dial(t, addr)
	body := chatBodyOf(200) // 10 s at this pace
	c.head(t, bodyKey, len(body), false)
	trickle(t, c, body)
	code, got := c.answer(t)
	if code != http.StatusRequestTimeout || errorCode(got) != "body_read_timeout" {
		t.Fatalf("status %d %s, want 408 body_read_timeout", code, got)
	}
	closes(t, c)
	if up.Calls() != 0 {
		t.Error("the upstream was called")
	}
}

// A request refused before its body is read (a wrong key, an unknown path,
// too many header fields) is answered at once, not once a trickled body has
// ended, and its connection is closed rather than kept to read the rest.
func TestUnreadBodiesHoldNothing(t *testing.T) {
	addr, up := serveLocal(t, "  body_read_timeout: 1m")
	filler := ""
	for i := range 120 {
		filler += fmt.Sprintf("X-Filler-%d: x\r\n", i)
	}
	for _, tt := range []struct {
		name, head string
		status     int
	}{
		{"wrong key", "POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer sk-router-wrong\r\n", 401},
		{"unknown path", "POST /v1/chat/completion HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer " + bodyKey + "\r\n", 404},
		{"too many header fields", "POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer " + bodyKey + "\r\n" + filler, 431},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, addr)
			if _, err := io.WriteString(c, tt.head+"Content-Length: 100000\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			trickle(t, c, strings.Repeat(" ", 100_000)) // 83 minutes at this pace
			if code, got := c.answer(t); code != tt.status {
				t.Fatalf("status %d %s, want %d", code, got, tt.status)
			}
			closes(t, c)
		})
	}
	if up.Calls() != 0 {
		t.Error("the upstream was called")
	}
}

// A key may send at most limits.body_reads_per_key bodies at once: the next
// gets 429 before its body is read, another key is not held up, and a slot
// is free again once a body has arrived.
func TestBodiesInFlightPerKey(t *testing.T) {
	addr, up := serveLocal(t, "  body_reads_per_key: 2\n  body_read_timeout: 1m")
	body := chatBodyOf(300)
	var slow []*rawConn
	for range 2 {
		c := dial(t, addr)
		c.head(t, bodyKey, len(body), true)
		// 100 Continue: the router is reading this body.
		if code, got := c.answer(t); code != http.StatusContinue {
			t.Fatalf("status %d %s, want 100 Continue", code, got)
		}
		if _, err := io.WriteString(c, body[:10]); err != nil {
			t.Fatal(err)
		}
		slow = append(slow, c)
	}

	third := dial(t, addr)
	third.head(t, bodyKey, len(body), true)
	if code, got := third.answer(t); code != http.StatusTooManyRequests || errorCode(got) != "rate_limit_exceeded" {
		t.Errorf("a third body of the same key: status %d %s, want 429 rate_limit_exceeded", code, got)
	}
	// Refused while it trickles: the answer does not wait for the body, and
	// the connection is not kept for it.
	fourth := dial(t, addr)
	fourth.head(t, bodyKey, 100_000, false)
	trickle(t, fourth, strings.Repeat(" ", 100_000))
	if code, got := fourth.answer(t); code != http.StatusTooManyRequests {
		t.Errorf("a trickled third body: status %d %s, want 429", code, got)
	} else {
		closes(t, fourth)
	}

	other := dial(t, addr)
	other.head(t, otherKey, len(body), false)
	_, _ = io.WriteString(other, body)
	if code, got := other.answer(t); code != http.StatusOK {
		t.Errorf("another key's body: status %d %s, want 200", code, got)
	}

	// One of the two bodies arrives: its slot is free for the next.
	_, _ = io.WriteString(slow[0], body[10:])
	if code, got := slow[0].answer(t); code != http.StatusOK {
		t.Fatalf("the first body, completed: status %d %s", code, got)
	}
	next := dial(t, addr)
	next.head(t, bodyKey, len(body), false)
	_, _ = io.WriteString(next, body)
	if code, got := next.answer(t); code != http.StatusOK {
		t.Errorf("a body after one ended: status %d %s, want 200", code, got)
	}
	if up.Calls() != 3 {
		t.Errorf("%d upstream calls, want 3", up.Calls())
	}
}

// A body with more than llm.MaxMessages messages is refused with 400
// too_many_messages, and the messages past the limit are never decoded: the
// first of them is malformed, and the answer is about the count.
func TestTooManyMessages(t *testing.T) {
	addr, up := serveLocal(t, "  max_body_bytes: 8388608")
	var b strings.Builder
	b.WriteString(`{"model":"r","messages":[`)
	for i := range llm.MaxMessages {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"role":"user","content":"x"}`)
	}
	b.WriteString(`,{"role":"nobody","content":7}]}`)
	c := dial(t, addr)
	c.head(t, bodyKey, b.Len(), false)
	if _, err := io.WriteString(c, b.String()); err != nil {
		t.Fatal(err)
	}
	code, got := c.answer(t)
	if code != http.StatusBadRequest || errorCode(got) != llm.CodeTooManyMessages {
		t.Errorf("%d messages: status %d %s, want 400 %s", llm.MaxMessages+1, code, got, llm.CodeTooManyMessages)
	}
	if up.Calls() != 0 {
		t.Error("the upstream was called")
	}
}
