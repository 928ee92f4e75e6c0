package lambdaapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// wait bounds every wait on the code under test, so a broken stream fails
// the test instead of hanging it.
const wait = 10 * time.Second

// journal records, in order, what the handler and the flush did.
type journal struct {
	mu     sync.Mutex
	events []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	j.events = append(j.events, e)
	j.mu.Unlock()
}

func (j *journal) get() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.events...)
}

func (j *journal) flush(context.Context) error { j.add("flush"); return nil }

func restEvent(method, path, body string, headers map[string]string) events.APIGatewayProxyRequest {
	mv := map[string][]string{}
	for k, v := range headers {
		mv[k] = []string{v}
	}
	return events.APIGatewayProxyRequest{Resource: path, Path: path, HTTPMethod: method, Headers: headers,
		MultiValueHeaders: mv, Body: body,
		RequestContext: events.APIGatewayProxyRequestContext{Stage: "prod", RequestID: "req-1", DomainName: "api.example.com",
			HTTPMethod: method, ResourcePath: path, Path: "/prod" + path, Identity: events.APIGatewayRequestIdentity{SourceIP: "203.0.113.9"}}}
}

// echo answers with what it received, so the event conversion can be checked.
func echo(j *journal) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", "yes")
		w.Header().Add("X-Multi", "a")
		w.Header().Add("X-Multi", "b")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)+100)) // dropped from the prelude
		w.WriteHeader(http.StatusCreated)
		gw, _ := core.GetAPIGatewayContextFromContext(r.Context())
		fmt.Fprintf(w, `{"method":%q,"path":%q,"query":%q,"auth":%q,"ip":%q,"stage":%q,"body":%q}`,
			r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.RemoteAddr, gw.Stage, body)
		j.add("served")
	})
}

func lambdaContext(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "inv-1"})
	return context.WithTimeout(ctx, timeout)
}

const wantEcho = `{"method":"POST","path":"/v1/chat/completions","query":"","auth":"Bearer sk-test","ip":"203.0.113.9","stage":"prod","body":"{\"a\":1}"}`

// buffered reads a buffered answer as the runtime client does, without
// closing it.
func buffered(t *testing.T, ans *Answer) events.APIGatewayProxyResponse {
	t.Helper()
	if ans.ContentType() != "application/json" {
		t.Errorf("content type %q", ans.ContentType())
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(readAll(t, ans), &resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestBuffered(t *testing.T) {
	j := &journal{}
	a := &Adapter{Handler: echo(j), Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	ans, err := a.Buffered(ctx, restEvent("POST", "/v1/chat/completions", `{"a":1}`, map[string]string{"Authorization": "Bearer sk-test"}))
	if err != nil {
		t.Fatal(err)
	}
	resp := buffered(t, ans)
	if got := j.get(); strings.Join(got, ",") != "served" {
		t.Errorf("before Close: %v, want the bookkeeping to wait until the answer was sent", got)
	}
	ans.Close()
	if resp.StatusCode != http.StatusCreated || resp.Body != wantEcho || resp.IsBase64Encoded {
		t.Errorf("response = %d %q (base64 %v)\nwant 201 %q", resp.StatusCode, resp.Body, resp.IsBase64Encoded, wantEcho)
	}
	if got := resp.MultiValueHeaders["X-Multi"]; len(got) != 2 || resp.MultiValueHeaders["X-Echo"][0] != "yes" {
		t.Errorf("headers = %v", resp.MultiValueHeaders)
	}
	if got := j.get(); strings.Join(got, ",") != "served,flush" {
		t.Errorf("order = %v, want the flush after the handler", got)
	}
}

// splitPrelude separates the API Gateway prelude from the body.
func splitPrelude(t *testing.T, raw []byte) (prelude map[string]any, body []byte) {
	t.Helper()
	i := bytes.Index(raw, make([]byte, 8))
	if i < 0 {
		t.Fatalf("no 8-NUL delimiter in %q", raw)
	}
	if err := json.Unmarshal(raw[:i], &prelude); err != nil {
		t.Fatalf("prelude %q: %v", raw[:i], err)
	}
	return prelude, raw[i+8:]
}

func TestStreamingPreludeAndBody(t *testing.T) {
	j := &journal{}
	a := &Adapter{Handler: echo(j), Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	resp, err := a.Streaming(ctx, restEvent("POST", "/v1/chat/completions", `{"a":1}`, map[string]string{"Authorization": "Bearer sk-test"}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.ContentType() != "application/vnd.awslambda.http-integration-response" {
		t.Errorf("content type = %q", resp.ContentType())
	}
	raw := readAll(t, resp)
	resp.Close()
	prelude, body := splitPrelude(t, raw)
	headers, _ := prelude["headers"].(map[string]any)
	multi, _ := prelude["multiValueHeaders"].(map[string]any)
	if prelude["statusCode"] != 201.0 || headers["X-Echo"] != "yes" || headers["Content-Type"] != "application/json" {
		t.Errorf("prelude = %v", prelude)
	}
	if _, ok := headers["Content-Length"]; ok {
		t.Errorf("prelude carries Content-Length: %v", headers)
	}
	if fmt.Sprint(multi["X-Multi"]) != "[a b]" {
		t.Errorf("multiValueHeaders = %v", multi)
	}
	if string(body) != wantEcho {
		t.Errorf("body = %q, want %q", body, wantEcho)
	}
	if got := j.get(); strings.Join(got, ",") != "served,flush" {
		t.Errorf("order = %v", got)
	}
}

// TestStreamingChunksArriveBeforeTheHandlerEnds proves the stream is not
// buffered: the handler holds its last event until the test has read the
// first one through the response reader, the way the Lambda runtime reads it.
func TestStreamingChunksArriveBeforeTheHandlerEnds(t *testing.T) {
	j := &journal{}
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(w, "data: [DONE]\n\n")
		w.(http.Flusher).Flush()
		j.add("served")
	})
	a := &Adapter{Handler: handler, Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	resp, err := a.Streaming(ctx, restEvent("POST", "/v1/chat/completions", `{}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp)
	first := readUntil(t, r, "data: one\n\n")
	prelude, body := splitPrelude(t, first)
	if prelude["statusCode"] != 200.0 || string(body) != "data: one\n\n" {
		t.Fatalf("before release: prelude %v, body %q", prelude, body)
	}
	if got := j.get(); len(got) != 0 {
		t.Fatalf("before release the handler already finished or flushed: %v", got)
	}
	close(release)
	rest := readAll(t, r)
	if string(rest) != "data: [DONE]\n\n" {
		t.Errorf("rest = %q", rest)
	}
	if got := j.get(); strings.Join(got, ",") != "served" {
		t.Errorf("at the end of the body: %v, want no bookkeeping before the runtime closes the answer", got)
	}
	resp.Close()
	if got := j.get(); strings.Join(got, ",") != "served,flush" {
		t.Errorf("order = %v, want the bookkeeping after the last byte was sent", got)
	}
}

// readUntil reads until the bytes read end with suffix.
func readUntil(t *testing.T, r io.Reader, suffix string) []byte {
	t.Helper()
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		var b []byte
		buf := make([]byte, 1)
		for !bytes.HasSuffix(b, []byte(suffix)) {
			n, err := r.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				done <- result{b, err}
				return
			}
		}
		done <- result{b, nil}
	}()
	select {
	case res := <-done:
		if res.err != nil {
			t.Fatalf("reading up to %q: got %q then %v", suffix, res.b, res.err)
		}
		return res.b
	case <-time.After(wait):
		t.Fatalf("%q did not arrive: the stream is buffered", suffix)
	}
	return nil
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	done := make(chan []byte, 1)
	errc := make(chan error, 1)
	go func() {
		b, err := io.ReadAll(r)
		if err != nil {
			errc <- err
			return
		}
		done <- b
	}()
	select {
	case b := <-done:
		return b
	case err := <-errc:
		t.Fatalf("reading the rest: %v", err)
	case <-time.After(wait):
		t.Fatal("the stream did not end")
	}
	return nil
}

func TestDeadlineMargin(t *testing.T) {
	got := make(chan time.Time, 2)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dl, _ := r.Context().Deadline()
		got <- dl
		w.WriteHeader(http.StatusNoContent)
	})
	a := &Adapter{Handler: handler, DeadlineMargin: 3 * time.Second}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	invocation, _ := ctx.Deadline()
	if ans, err := a.Buffered(ctx, restEvent("GET", "/healthz", "", nil)); err != nil {
		t.Fatal(err)
	} else {
		readAll(t, ans)
	}
	resp, err := a.Streaming(ctx, restEvent("GET", "/healthz", "", nil))
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	for _, mode := range []string{"buffered", "streaming"} {
		if dl := <-got; !dl.Equal(invocation.Add(-3 * time.Second)) {
			t.Errorf("%s: request deadline %v, want the invocation's %v minus 3s", mode, dl, invocation)
		}
	}
}

// TestReaderGoneCancelsTheRequest: when the runtime stops reading (it closes
// the response after the invocation ends), the handler's next write fails and
// its context ends, so it stops calling upstream.
func TestReaderGoneCancelsTheRequest(t *testing.T) {
	release := make(chan struct{})
	outcome := make(chan string, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		_, werr := io.WriteString(w, strings.Repeat("x", 2*streamBuffer))
		outcome <- fmt.Sprintf("write error %v, context %v", werr != nil, r.Context().Err())
	})
	a := &Adapter{Handler: handler}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	resp, err := a.Streaming(ctx, restEvent("POST", "/v1/chat/completions", `{}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, resp, "data: one\n\n")
	closed := make(chan struct{})
	go func() { resp.Close(); close(closed) }() // waits for the handler
	close(release)
	select {
	case got := <-outcome:
		if got != "write error true, context context canceled" {
			t.Errorf("after the reader left: %s", got)
		}
	case <-time.After(wait):
		t.Fatal("the handler stayed blocked after the reader left")
	}
	<-closed
}

func TestPanicEndsTheStreamWithAnError(t *testing.T) {
	j := &journal{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: partial\n\n")
		panic("boom")
	})
	a := &Adapter{Handler: handler, Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	resp, err := a.Streaming(ctx, restEvent("POST", "/v1/chat/completions", `{}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp)
	if !errors.Is(err, errPanic) {
		t.Errorf("reading a panicked stream: %v, want errPanic (the runtime reports it as a function error)", err)
	}
	resp.Close()
	if got := j.get(); len(got) != 1 || got[0] != "flush" {
		t.Errorf("journal = %v, want the audit lines flushed anyway", got)
	}
}

func TestUnreadableEvent(t *testing.T) {
	ev := restEvent("POST", "/v1/chat/completions", "%%% not base64", nil)
	ev.IsBase64Encoded = true
	a := &Adapter{Handler: echo(&journal{})}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	ans, err := a.Buffered(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	if resp := buffered(t, ans); resp.StatusCode != http.StatusBadRequest || !strings.Contains(resp.Body, `"code":"bad_event"`) {
		t.Errorf("buffered: %v", resp)
	}
	sresp, err := a.Streaming(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	prelude, body := splitPrelude(t, readAll(t, sresp))
	if prelude["statusCode"] != 400.0 || !strings.Contains(string(body), `"code":"bad_event"`) {
		t.Errorf("streaming: %v %q", prelude, body)
	}
}

// TestThroughTheLambdaLibrary runs the adapters as lambda.Start would: the
// event JSON decoded by aws-lambda-go, the answer read from the returned
// reader and then closed, which runs the bookkeeping.
func TestThroughTheLambdaLibrary(t *testing.T) {
	ev, err := json.Marshal(restEvent("POST", "/v1/chat/completions", `{"a":1}`, map[string]string{"Authorization": "Bearer sk-test"}))
	if err != nil {
		t.Fatal(err)
	}
	urlEvent := []byte(`{"version":"2.0","rawPath":"/v1/chat/completions","rawQueryString":"x=1","headers":{"authorization":"Bearer sk-test"},
		"requestContext":{"domainName":"abc.lambda-url.us-east-1.on.aws","http":{"method":"POST","path":"/v1/chat/completions","sourceIp":"203.0.113.9"}},
		"body":"eyJhIjoxfQ==","isBase64Encoded":true}`)
	j := &journal{}
	a := &Adapter{Handler: echo(j), Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()

	out, err := lambda.NewHandler(a.Buffered).Invoke(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	var buffered events.APIGatewayProxyResponse
	if err := json.Unmarshal(out, &buffered); err != nil || buffered.StatusCode != 201 || buffered.Body != wantEcho {
		t.Errorf("buffered: %s (%v)", out, err)
	}

	for name, payload := range map[string][]byte{"rest": ev, "function url": urlEvent} {
		out, err := lambda.NewHandler(a.Stream).Invoke(ctx, payload)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prelude, body := splitPrelude(t, out)
		want := wantEcho
		if name == "function url" {
			want = strings.Replace(want, `"query":""`, `"query":"x=1"`, 1)
			want = strings.Replace(want, `"stage":"prod"`, `"stage":""`, 1)
		}
		if prelude["statusCode"] != 201.0 || string(body) != want {
			t.Errorf("%s: prelude %v body %s", name, prelude, body)
		}
	}
	if got := strings.Join(j.get(), ","); got != "served,flush,served,flush,served,flush" {
		t.Errorf("journal %s: want each invocation's bookkeeping after its answer", got)
	}
}

// The bookkeeping gets the invocation's remaining time, less a margin, even
// after the request's own context has ended.
func TestBookkeepingDeadline(t *testing.T) {
	got := make(chan time.Time, 3)
	a := &Adapter{Handler: echo(&journal{}), Flush: func(ctx context.Context) error {
		dl, _ := ctx.Deadline()
		if ctx.Err() != nil {
			t.Errorf("the bookkeeping's context ended already: %v", ctx.Err())
		}
		got <- dl
		return nil
	}}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	invocation, _ := ctx.Deadline()
	ev := restEvent("POST", "/v1/chat/completions", `{}`, nil)
	b, err := a.Buffered(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Streaming(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, ans := range []*Answer{b, s} {
		readAll(t, ans)
		ans.Close()
		ans.Close() // once only
		if dl := <-got; !dl.Equal(invocation.Add(-flushMargin)) {
			t.Errorf("bookkeeping deadline %v, want the invocation's %v less %v", dl, invocation, flushMargin)
		}
	}
	if len(got) != 0 {
		t.Error("a second Close ran the bookkeeping again")
	}
}

// When the runtime gives up on a stream (its POST failed), Close still waits
// for the handler, which stops at its next write, and then does the
// bookkeeping.
func TestCloseBeforeTheStreamEnded(t *testing.T) {
	j := &journal{}
	stopped := make(chan error, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		for r.Context().Err() == nil {
			io.WriteString(w, "data: more\n\n")
			w.(http.Flusher).Flush()
		}
		j.add("handler stopped")
		stopped <- r.Context().Err()
	})
	a := &Adapter{Handler: handler, Flush: j.flush}
	ctx, cancel := lambdaContext(time.Minute)
	defer cancel()
	resp, err := a.Streaming(ctx, restEvent("POST", "/v1/chat/completions", `{}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	readUntil(t, resp, "data: one\n\n")
	resp.Close()
	if got := strings.Join(j.get(), ","); got != "handler stopped,flush" {
		t.Errorf("journal %s, want the handler stopped before the bookkeeping", got)
	}
	if err := <-stopped; !errors.Is(err, context.Canceled) {
		t.Errorf("handler context: %v", err)
	}
}
