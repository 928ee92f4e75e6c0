package gateway_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/secret"
)

// syncBuffer is a bytes.Buffer safe for the router's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recorder keeps every audit record and also writes the lines, as stdout would.
// A record is emitted when the handler finishes, which for a stream is after
// the client has read [DONE]: tests wait for it with next.
type recorder struct {
	lines   *audit.Writer
	emitted chan *audit.Record
}

func newRecorder(lines *audit.Writer) *recorder {
	return &recorder{lines: lines, emitted: make(chan *audit.Record, 1024)}
}

func (r *recorder) Emit(rec *audit.Record) {
	cp := *rec
	r.lines.Emit(rec)
	r.emitted <- &cp
}

// next returns the next record emitted, waiting for it.
func (r *recorder) next(t *testing.T) *audit.Record {
	t.Helper()
	select {
	case rec := <-r.emitted:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record was emitted within 10s")
		return nil
	}
}

// pending is the number of records emitted and not yet taken by next.
func (r *recorder) pending() int { return len(r.emitted) }

type harness struct {
	gw     *gateway.Gateway
	srv    *httptest.Server
	audit  *recorder
	stdout *syncBuffer
	stderr *syncBuffer
}

// newHarness serves a router on cfgYAML. env holds the environment the key
// resolver sees; opts set more of the gateway before it serves.
func newHarness(t *testing.T, cfgYAML string, env map[string]string, opts ...func(*gateway.Gateway)) *harness {
	t.Helper()
	cfg, err := config.Parse([]byte(cfgYAML))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	h.audit = newRecorder(audit.NewWriter(h.stdout))
	h.gw = &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		}}},
		Sink: h.audit,
		Log:  slog.New(slog.NewJSONHandler(h.stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(h.gw)
	}
	h.srv = httptest.NewServer(h.gw)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) client(key string, opts ...option.RequestOption) *openai.Client {
	c := openai.NewClient(append([]option.RequestOption{option.WithBaseURL(h.srv.URL + "/v1"),
		option.WithAPIKey(key), option.WithMaxRetries(0)}, opts...)...)
	return &c
}

// post sends a raw request, for inputs an SDK would refuse to build.
func (h *harness) post(t *testing.T, path, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func userMessage(text string) []openai.ChatCompletionMessageParamUnion {
	return []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)}
}
