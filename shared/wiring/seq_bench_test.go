package wiring

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

const seqAnswer = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Severity: low. Suggest rest, fluids and an over-the-counter analgesic; escalate if fever or neurological signs appear.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":27,"total_tokens":58}}`

const seqBody = `{"model":"bench","messages":[{"role":"system","content":"You are a triage assistant."},{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"temperature":0.2,"max_tokens":256}`

// BenchmarkLocalServerSequential is one request at a time over real
// loopback TCP: a client, the router's local server built as main builds it,
// and an upstream, all in this process (the router's own work, profiled with
// -cpuprofile). BenchmarkReverseProxySequential is the same with Go's reverse
// proxy in the router's place.
func BenchmarkLocalServerSequential(b *testing.B) {
	up := upstreamFor(b)
	dir := b.TempDir()
	cfg := filepath.Join(dir, "bench.yaml")
	_ = os.WriteFile(cfg, []byte(strings.ReplaceAll(`providers:
  - {name: up, type: openai, base_url: "http://ADDR/v1", key: "env:K"}
models:
  - {id: bench-model, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
routes:
  - name: bench
    targets: [{model: bench-model, first_byte_timeout: 5s}]
metrics:
  tag_dimensions: [team]
`, "ADDR", up)), 0o600)
	env := map[string]string{"ROUTER_CONFIG": cfg, "K": "sk-bench"}
	s, err := ParseSettings(envOf(env))
	if err != nil {
		b.Fatal(err)
	}
	r, err := Build(context.Background(), Process{Env: envOf(env), Stdout: io.Discard, Stderr: io.Discard}, s)
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.Serve(ctx, ln); close(done) }()
	defer func() { cancel(); <-done }()
	sequential(b, "http://"+ln.Addr().String()+"/v1/chat/completions")
}

func BenchmarkReverseProxySequential(b *testing.B) {
	up := upstreamFor(b)
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: up})
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: rp}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	sequential(b, "http://"+ln.Addr().String()+"/v1/chat/completions")
}

func upstreamFor(b *testing.B) string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	var conns atomic.Int64
	b.Cleanup(func() { b.ReportMetric(float64(conns.Load()), "upstream-conns") })
	srv := &http.Server{ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, seqAnswer)
	})}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func sequential(b *testing.B, target string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	body := []byte(seqBody)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
