// Command bench measures the router's overhead: requests/s and latency
// percentiles against a fast loopback OpenAI-compatible upstream, directly and
// through the router, in the same run at the same concurrency.
//
//	go run ./scripts/bench [-c 32] [-d 10s] [-rounds 3] [-stream] [-upstream-latency 0s]
//	                       [-revproxy] [-upstream-addr 127.0.0.1:18081] [-also name=http://host:port/v1/chat/completions]
//	go run ./scripts/bench -sequential [-rounds 7] [-n 25] [-revproxy] ...
//
// -sequential measures the added latency of one request at a time, the way
// public gateway benchmarks do: -rounds interleaved rounds of -n requests per
// target (after a warm-up), each target's median per round, and the median
// of those round medians.
//
// -revproxy measures Go's own httputil.ReverseProxy in the same rounds: a
// bare proxy, the floor of any net/http proxy on the machine.
//
// -also measures another gateway (LiteLLM, Bifrost, Portkey, a plain reverse
// proxy) in the same rounds; point it at the upstream of -upstream-addr and at
// model gpt-4o-mini.
//
// It starts the upstream and the router as separate processes (the router is
// the real binary built from functions/router), so the load generator, the
// router and the upstream compete for the machine as they would on a host.
// Direct and routed phases alternate for -rounds rounds; the report gives the
// median round of each.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		var serve func([]string) error
		switch os.Args[1] {
		case "upstream":
			serve = serveUpstream
		case "revproxy":
			serve = serveRevProxy
		}
		if serve != nil {
			if err := serve(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, os.Args[1]+":", err)
				os.Exit(1)
			}
			return
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// requestBody is a typical small triage request.
const requestBody = `{"model":"%s","stream":%v,"messages":[{"role":"system","content":"You are a triage assistant."},{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"temperature":0.2,"max_tokens":256}`

// answer is a typical non-streamed completion.
const answer = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Severity: low. Suggest rest, fluids and an over-the-counter analgesic; escalate if fever or neurological signs appear.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":31,"completion_tokens":27,"total_tokens":58,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`

// streamChunks is a typical short streamed answer with usage.
var streamChunks = func() []byte {
	var b bytes.Buffer
	chunk := func(delta, finish string) {
		fmt.Fprintf(&b, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":%s,"logprobs":null,"finish_reason":%s}],"usage":null}`+"\n\n", delta, finish)
	}
	chunk(`{"role":"assistant","content":""}`, "null")
	for _, w := range strings.Fields("Severity: low. Suggest rest, fluids and an over-the-counter analgesic.") {
		chunk(`{"content":"`+w+` "}`, "null")
	}
	chunk(`{}`, `"stop"`)
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":31,"completion_tokens":12,"total_tokens":43}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}()

func serveUpstream(args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	latency := fs.Duration("latency", 0, "simulated model latency")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String()) // the parent reads the address
	body := []byte(answer)
	return http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := io.ReadAll(r.Body)
		if *latency > 0 {
			time.Sleep(*latency) // simulated model latency, not synchronisation
		}
		if bytes.Contains(req, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write(streamChunks)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
}

// serveRevProxy is the baseline of -revproxy: Go's own reverse proxy in front
// of the upstream, with no routing, auth, audit or metrics: the floor of any
// net/http proxy on the machine.
func serveRevProxy(args []string) error {
	fs := flag.NewFlagSet("revproxy", flag.ContinueOnError)
	upstream := fs.String("upstream", "", "upstream address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: *upstream})
	rp.Transport = &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 256}
	return http.Serve(ln, rp)
}

type result struct {
	name      string
	requests  int
	errors    int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

func run() error {
	conc := flag.Int("c", 32, "concurrent connections")
	dur := flag.Duration("d", 10*time.Second, "duration of each phase")
	rounds := flag.Int("rounds", 3, "direct/router rounds (medians are reported)")
	stream := flag.Bool("stream", false, "streaming requests")
	upLatency := flag.Duration("upstream-latency", 0, "simulated upstream model latency")
	warm := flag.Duration("warmup", 2*time.Second, "warm-up before each phase")
	upAddrFlag := flag.String("upstream-addr", "127.0.0.1:0", "listen address of the loopback upstream")
	var also targets
	flag.Var(&also, "also", "name=url of another gateway to measure in the same rounds (repeatable)")
	revproxy := flag.Bool("revproxy", false, "also measure Go's httputil.ReverseProxy, the floor of a net/http proxy")
	sequential := flag.Bool("sequential", false, "one request at a time: interleaved rounds of -n requests per target")
	perRound := flag.Int("n", 25, "requests per target per round with -sequential")
	flag.Parse()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp, err := os.MkdirTemp("", "llm-router-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	upstream := exec.CommandContext(ctx, self, "upstream", "-latency", upLatency.String(), "-addr", *upAddrFlag)
	upAddr, err := startChild(upstream)
	if err != nil {
		return fmt.Errorf("starting the upstream: %w", err)
	}
	defer func() { _ = upstream.Process.Kill(); _ = upstream.Wait() }()

	if *revproxy {
		rp := exec.CommandContext(ctx, self, "revproxy", "-upstream", upAddr)
		rpAddr, err := startChild(rp)
		if err != nil {
			return fmt.Errorf("starting the reverse proxy: %w", err)
		}
		defer func() { _ = rp.Process.Kill(); _ = rp.Wait() }()
		also = append(also, target{name: "revproxy", url: "http://" + rpAddr + "/v1/chat/completions"})
	}

	routerBin := filepath.Join(tmp, "router")
	build := exec.Command("go", "build", "-trimpath", "-o", routerBin, "./functions/router")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the router: %w", err)
	}
	cfgPath := filepath.Join(tmp, "bench.yaml")
	cfg := fmt.Sprintf(`providers:
  - {name: up, type: openai, base_url: "http://%s/v1", key: "env:BENCH_UPSTREAM_KEY"}
models:
  - {id: bench-model, provider: up, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.60}}
routes:
  - name: bench
    targets: [{model: bench-model, first_byte_timeout: 5s}]
metrics:
  tag_dimensions: [team]
`, upAddr)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	routerPort, err := freePort()
	if err != nil {
		return err
	}
	router := exec.CommandContext(ctx, routerBin, "-addr", "127.0.0.1:"+routerPort)
	router.Env = append(os.Environ(), "ROUTER_CONFIG="+cfgPath, "BENCH_UPSTREAM_KEY=sk-bench-not-a-secret")
	router.Stdout = io.Discard // audit and metric lines: written, as in production, then dropped
	router.Stderr = io.Discard
	if err := router.Start(); err != nil {
		return err
	}
	defer func() { _ = router.Process.Kill(); _ = router.Wait() }()
	routerURL := "http://127.0.0.1:" + routerPort
	if err := waitUp(routerURL + "/healthz"); err != nil {
		return err
	}

	direct := fmt.Sprintf(requestBody, "gpt-4o-mini", *stream)
	routed := fmt.Sprintf(requestBody, "bench", *stream)
	fmt.Printf("llm-router bench: %d connections, %s per phase, %d rounds, stream=%v, upstream latency %s, GOMAXPROCS %d, %d CPUs\n",
		*conc, *dur, *rounds, *stream, *upLatency, runtime.GOMAXPROCS(0), runtime.NumCPU())
	all := append(targets{{"direct", "http://" + upAddr + "/v1/chat/completions", direct},
		{"router", routerURL + "/v1/chat/completions", routed}}, also...)
	if *sequential {
		return sequentialRounds(all, direct, *rounds, *perRound)
	}
	runs := make([][]result, len(all))
	for i := 0; i < *rounds; i++ {
		fmt.Printf("round %d:", i+1)
		for j, t := range all {
			body := t.body
			if body == "" {
				body = direct
			}
			r := load(t.name, t.url, body, *conc, *warm, *dur)
			runs[j] = append(runs[j], r)
			fmt.Printf(" | %s %.0f req/s p50 %s p99 %s err %d", t.name, r.rps(), us(r.pct(.5)), us(r.pct(.99)), r.errors)
		}
		fmt.Println()
	}
	fmt.Printf("\n%-10s %12s %10s %10s %8s %12s %12s\n", "target", "req/s", "p50", "p99", "errors", "vs direct", "added p50")
	d := median(runs[0])
	failed := 0
	for _, rs := range runs {
		x := median(rs)
		failed += x.errors
		fmt.Printf("%-10s %12.0f %10s %10s %8d %11.1f%% %12s\n", x.name, x.rps(), us(x.pct(.5)), us(x.pct(.99)), x.errors,
			100*x.rps()/d.rps(), us(x.pct(.5)-d.pct(.5)))
	}
	if failed > 0 {
		return errors.New("some requests failed")
	}
	return nil
}

// sequentialRounds sends one request at a time: in each round, n requests to
// each target in turn (targets interleaved, so drift in the machine's load
// hits all alike). A target's figure is the median of its round medians; its
// added latency is that less the direct upstream's.
func sequentialRounds(all targets, direct string, rounds, n int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	one := func(t target) (time.Duration, error) {
		body := t.body
		if body == "" {
			body = direct
		}
		req, _ := http.NewRequest(http.MethodPost, t.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sk-bench")
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: status %d", t.name, resp.StatusCode)
		}
		return time.Since(t0), nil
	}
	for _, t := range all { // warm-up: connections, caches
		for range n {
			if _, err := one(t); err != nil {
				return err
			}
		}
	}
	medians := make([][]time.Duration, len(all))
	fmt.Printf("sequential: %d rounds of %d requests per target, one at a time\n", rounds, n)
	for r := 0; r < rounds; r++ {
		fmt.Printf("round %d:", r+1)
		for j, t := range all {
			lat := make([]time.Duration, 0, n)
			for range n {
				d, err := one(t)
				if err != nil {
					return err
				}
				lat = append(lat, d)
			}
			slices.Sort(lat)
			medians[j] = append(medians[j], lat[len(lat)/2])
			fmt.Printf(" | %s p50 %s", t.name, us(lat[len(lat)/2]))
		}
		fmt.Println()
	}
	mid := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2]
	}
	base := mid(medians[0])
	fmt.Printf("\n%-10s %14s %12s\n", "target", "median of p50", "added")
	for j, t := range all {
		m := mid(medians[j])
		fmt.Printf("%-10s %14s %12s\n", t.name, us(m), us(m-base))
	}
	return nil
}

// target is a URL measured in every round.
type target struct{ name, url, body string }

type targets []target

func (t *targets) String() string { return fmt.Sprint(*t) }

func (t *targets) Set(v string) error {
	name, url, ok := strings.Cut(v, "=")
	if !ok || name == "" || url == "" {
		return errors.New("want name=url")
	}
	*t = append(*t, target{name: name, url: url})
	return nil
}

// median picks the round with the median throughput.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		switch {
		case a.rps() < b.rps():
			return -1
		case a.rps() > b.rps():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1e3) }

// load sends requests from conc workers, each on its own keep-alive
// connection, for warm then dur, and measures the dur part.
func load(name, url, body string, conc int, warm, dur time.Duration) result {
	tr := &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	payload := []byte(body)
	var mu sync.Mutex
	res := result{name: name}
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer sk-bench")
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if t0.Before(measureFrom) {
					continue
				}
				if !ok {
					errs++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = dur
	res.requests = len(res.latencies)
	slices.Sort(res.latencies)
	return res
}

// startChild starts cmd and returns the first line it prints (its address).
func startChild(cmd *exec.Cmd) (string, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	var line []byte
	buf := make([]byte, 1)
	for {
		if _, err := out.Read(buf); err != nil {
			return "", err
		}
		if buf[0] == '\n' {
			return string(line), nil
		}
		line = append(line, buf[0])
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

// waitUp polls url until it answers: the router is a child process, so there
// is no channel to wait on.
func waitUp(url string) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer within 15s", url)
}
