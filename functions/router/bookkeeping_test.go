package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/audit/audittable"
	"github.com/llm-router/router/shared/awstest"
)

// slowDynamoDB is a loopback proxy in front of moto that holds every AWS
// call for delay before forwarding it, and notes when each arrived: a
// DynamoDB having a bad day, as the router's bookkeeping can meet it.
type slowDynamoDB struct {
	URL   string
	delay time.Duration
	mu    sync.Mutex
	calls []call
}

type call struct {
	at     time.Time
	target string // X-Amz-Target, e.g. DynamoDB_20120810.BatchWriteItem
}

func newSlowDynamoDB(t *testing.T, moto string, delay time.Duration) *slowDynamoDB {
	t.Helper()
	u, err := url.Parse(moto)
	if err != nil {
		t.Fatal(err)
	}
	p := &slowDynamoDB{delay: delay}
	proxy := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.calls = append(p.calls, call{at: time.Now(), target: r.Header.Get("X-Amz-Target")})
		p.mu.Unlock()
		timer := time.NewTimer(p.delay) // the injected slowness, not a synchronisation
		select {
		case <-timer.C:
		case <-r.Context().Done():
			timer.Stop()
			return
		}
		proxy.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.URL = "http://" + ln.Addr().String()
	return p
}

// between lists the calls with target that arrived in [from, to].
func (p *slowDynamoDB) between(target string, from, to time.Time) []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Time
	for _, c := range p.calls {
		if strings.HasSuffix(c.target, target) && !c.at.Before(from) && !c.at.After(to) {
			out = append(out, c.at)
		}
	}
	return out
}

// timing is one path's measure: medians over its runs.
type timing struct {
	path           string
	lastByte, done time.Duration
}

// TestBookkeepingAfterTheAnswer runs the real bootstrap on the Runtime API
// emulator with the audit table on, for every path, against moto direct and
// behind a proxy that makes each DynamoDB call take 250 ms. The audit table
// write of each invocation must start after the client has the answer's
// last byte (the Runtime API got the end of the answer) and end before the
// invocation does (the next poll). It logs the time to the last byte and to
// the end of the invocation per path; docs/BENCHMARKS.md has the table.
//
// ROUTER_TEST_BOOTSTRAP=/path/to/bootstrap measures another build (an older
// commit's, for comparison) instead of this tree's.
func TestBookkeepingAfterTheAnswer(t *testing.T) {
	const slow = 250 * time.Millisecond
	const runs = 5
	dir := t.TempDir()
	bootstrap := os.Getenv("ROUTER_TEST_BOOTSTRAP")
	if bootstrap == "" {
		bootstrap = goBuild(t, dir, "bootstrap", ".")
	}
	seed := goBuild(t, dir, "seed", "../../scripts/seed")
	m := awstest.Start(t)
	ctx := context.Background()
	if err := audittable.CreateTable(ctx, dynamodb.NewFromConfig(m.Config()), "audit"); err != nil {
		t.Fatal(err)
	}
	if out, err := runCmd(seed, m.Env(), "-config", "../../infra/config.events.yaml", "-create-tables"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	event := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("../../events", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	embeddings := func() []byte {
		var ev map[string]any
		if err := json.Unmarshal(event("chat.json"), &ev); err != nil {
			t.Fatal(err)
		}
		ev["path"], ev["resource"], ev["body"] = "/v1/embeddings", "/v1/embeddings", `{"model":"mock-fast","input":"one two three"}`
		b, _ := json.Marshal(ev)
		return b
	}()
	// audited paths leave an audit record (routed requests); the others
	// have no bookkeeping to wait for.
	paths := []struct {
		name               string
		streaming, audited bool
		payload            []byte
	}{
		{"POST /v1/chat/completions, stream: true (chat function, streamed)", true, true, event("chat-stream.json")},
		{"POST /v1/chat/completions (chat function, streamed)", true, true, event("chat.json")},
		{"POST /v1/chat/completions (buffered integration)", false, true, event("chat.json")},
		{"POST /v1/embeddings", false, true, embeddings},
		{"GET /v1/models", false, false, event("models.json")},
		{"POST /v1/router/explain", false, false, event("explain.json")},
		{"GET /v1/router/health", false, false, event("health.json")},
		{"GET /healthz", false, false, event("healthz.json")},
	}
	results := map[string][]timing{}
	for _, delay := range []time.Duration{0, slow} {
		proxy := newSlowDynamoDB(t, m.Endpoint, delay)
		// The functions reach DynamoDB only through the proxy; the cache TTL
		// keeps configuration reads off the measured invocations.
		env := append(m.Env(), "AWS_ENDPOINT_URL="+proxy.URL, "ROUTER_AUDIT_TABLE=audit", "ROUTER_CACHE_TTL=10m")
		fns := map[bool]*function{false: startFunction(t, bootstrap, env, false), true: startFunction(t, bootstrap, env, true)}
		label := map[time.Duration]string{0: "moto", slow: fmt.Sprintf("moto + %v per call", slow)}[delay]
		for _, p := range paths {
			fn := fns[p.streaming]
			var lastBytes, dones []time.Duration
			// Run 0 warms up (init, the first provider key) and is not the measure.
			for run := range runs + 1 {
				wctx, cancel := context.WithTimeout(ctx, wait)
				start := time.Now()
				inv := fn.rt.Invoke(p.payload, time.Minute)
				_, body, err := inv.Result(wctx)
				if err != nil {
					cancel()
					t.Fatalf("%s: %v", p.name, err)
				}
				sent, err := inv.Sent(wctx)
				if err != nil {
					cancel()
					t.Fatal(err)
				}
				done, err := inv.Done(wctx)
				cancel()
				if err != nil {
					t.Fatalf("%s: %v\n%s", p.name, err, fn.stderr)
				}
				if len(body) == 0 {
					t.Fatalf("%s: empty answer", p.name)
				}
				if run > 0 {
					lastBytes = append(lastBytes, sent.Sub(start))
					dones = append(dones, done.Sub(start))
				}
				// The audit record is written after the answer ended, and the
				// invocation ends only after that write was answered.
				if early := proxy.between("BatchWriteItem", start, sent); len(early) > 0 {
					t.Errorf("%s, %s: the audit table write began before the answer ended", label, p.name)
				}
				want := map[bool]int{true: 1, false: 0}[p.audited]
				if writes := proxy.between("BatchWriteItem", sent, done); len(writes) != want {
					t.Errorf("%s, %s: %d audit table writes between the answer and the end of the invocation, want %d", label, p.name, len(writes), want)
				}
			}
			results[label] = append(results[label], timing{p.name, median(lastBytes), median(dones)})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| path | last byte, moto | invocation end, moto | last byte, moto + %v per call | invocation end, moto + %v per call |\n|---|---|---|---|---|\n", slow, slow)
	fast, slowRes := results["moto"], results[fmt.Sprintf("moto + %v per call", slow)]
	for i := range fast {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", fast[i].path, ms(fast[i].lastByte), ms(fast[i].done), ms(slowRes[i].lastByte), ms(slowRes[i].done))
	}
	t.Logf("medians of %d invocations per path:%s", runs, b.String())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
