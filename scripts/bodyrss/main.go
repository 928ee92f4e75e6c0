// Command bodyrss measures the router's memory under request bodies meant to
// exhaust it, as docs/BENCHMARKS.md reports ("Bounded bodies"). It builds the
// router from -src (the tree to measure: this one, or an older checkout),
// starts it as its own process on a loopback upstream, runs one scenario
// against a fresh process each, and prints the process's peak resident set
// (VmHWM, Linux) and what the clients were answered.
//
//	go run ./scripts/bodyrss [-src .] [-scenario trickle|messages|all]
//
// trickle: 40 connections of one key each declare a 7.5 MiB body and send it
// over -trickle (default 60s). messages: six 8 MB bodies of about 265,000
// tiny messages each, sent at once.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const key = "sk-router-bodyrss-attacker"

func main() {
	src := flag.String("src", ".", "the source tree whose router is measured")
	scenario := flag.String("scenario", "all", "trickle, messages or all")
	pace := flag.Duration("trickle", 60*time.Second, "the time each trickled body takes to send in full")
	flag.Parse()
	if err := run(*src, *scenario, *pace); err != nil {
		fmt.Fprintln(os.Stderr, "bodyrss:", err)
		os.Exit(1)
	}
}

func run(src, scenario string, pace time.Duration) error {
	dir, err := os.MkdirTemp("", "bodyrss")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "router")
	build := exec.Command("go", "build", "-o", bin, "./functions/router")
	build.Dir, build.Stdout, build.Stderr = src, os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the router in %s: %w", src, err)
	}
	upstream, err := startUpstream()
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(key))
	cfg := fmt.Sprintf(`providers:
  - {name: up, type: openai, base_url: "http://%s/v1"}
models:
  - {id: m, provider: up, price: {input: 0.15, output: 0.6}}
routes:
  - {name: r, targets: [{model: m}]}
keys:
  - {id: attacker, hash: "sha256:%s", routes: [r]}
`, upstream, hex.EncodeToString(sum[:]))
	cfgPath := filepath.Join(dir, "router.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	scenarios := map[string]func(addr string) map[string]int{
		"trickle":  func(addr string) map[string]int { return trickle(addr, 40, 7.5*(1<<20), pace) },
		"messages": func(addr string) map[string]int { return messages(addr, 6, 8_000_000) },
	}
	names := []string{scenario}
	if scenario == "all" {
		names = []string{"trickle", "messages"}
	}
	fmt.Printf("router built from %s\n", src)
	for _, name := range names {
		sc, ok := scenarios[name]
		if !ok {
			return fmt.Errorf("unknown scenario %q", name)
		}
		cmd, addr, err := startRouter(bin, cfgPath)
		if err != nil {
			return err
		}
		idle := status(cmd.Process.Pid, "VmRSS")
		start := time.Now()
		answers := sc(addr)
		took := time.Since(start)
		peak := status(cmd.Process.Pid, "VmHWM")
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		fmt.Printf("%-9s idle %6.1f MiB  peak %6.1f MiB  answers %v  (%.1fs)\n", name, mib(idle), mib(peak), format(answers), took.Seconds())
	}
	return nil
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// status reads a field of /proc/PID/status in kB.
func status(pid int, field string) int {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}

func format(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

// startUpstream serves a canned completion on loopback, reading and
// discarding what it is sent.
func startUpstream() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	const answer = `{"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}`
	go func() {
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, answer)
		}))
	}()
	return ln.Addr().String(), nil
}

// startRouter starts the router binary on a free loopback port and waits
// until it answers /healthz.
func startRouter(bin, cfgPath string) (*exec.Cmd, string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Env = append(os.Environ(), "ROUTER_CONFIG="+cfgPath)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	for range 200 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd, addr, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, "", errors.New("the router did not start")
}

// chatPadded is a chat body padded with spaces to n bytes.
func chatPadded(n int) []byte {
	b := []byte(`{"model":"r","messages":[{"role":"user","content":"hi"}]}`)
	return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
}

// trickle opens conns connections that each declare a body of size bytes and
// send it evenly over pace, and returns what each was answered.
func trickle(addr string, conns int, size float64, pace time.Duration) map[string]int {
	body := chatPadded(int(size))
	const tick = 100 * time.Millisecond
	chunk := len(body) / int(pace/tick)
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := send(addr, body, chunk, tick)
			mu.Lock()
			answers[got]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return answers
}

// send writes a request with body, chunk bytes every tick (all at once when
// chunk is 0), and returns the answer's status, or what went wrong.
func send(addr string, body []byte, chunk int, tick time.Duration) string {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial error"
	}
	defer c.Close()
	head := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", key, len(body))
	if _, err := io.WriteString(c, head); err != nil {
		return "write error"
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if chunk == 0 {
			_, _ = c.Write(body)
			return
		}
		t := time.NewTicker(tick)
		defer t.Stop()
		for off := 0; off < len(body); off += chunk {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := c.Write(body[off:min(off+chunk, len(body))]); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "no answer"
	}
	resp.Body.Close()
	return strconv.Itoa(resp.StatusCode)
}

// messages sends n bodies of size bytes made of tiny messages, at once.
func messages(addr string, n, size int) map[string]int {
	const msg = `{"role":"user","content":"x"}`
	var b bytes.Buffer
	b.WriteString(`{"model":"r","messages":[`)
	count := 0
	for b.Len()+len(msg)+3 < size {
		if count > 0 {
			b.WriteByte(',')
		}
		b.WriteString(msg)
		count++
	}
	b.WriteString(`]}`)
	body := b.Bytes()
	fmt.Printf("messages: %d bodies of %d bytes, %d messages each\n", n, len(body), count)
	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := send(addr, body, 0, 0)
			mu.Lock()
			answers[got]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return answers
}
