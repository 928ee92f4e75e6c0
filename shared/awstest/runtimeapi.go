package awstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FunctionARN is the ARN the Runtime API reports for every invocation.
const FunctionARN = "arn:aws:lambda:us-east-1:123456789012:function:llm-router-RouterFunction"

const runtimePrefix = "/2018-06-01/runtime/"

// ErrRuntimeClosed is the error of a response cut short by Close.
var ErrRuntimeClosed = errors.New("awstest: runtime API closed")

// RuntimeAPI serves the Lambda Runtime API (version 2018-06-01) on loopback,
// so a real bootstrap binary runs its invoke loop against it: the binary
// long-polls GET invocation/next, then POSTs the answer, streamed in chunks
// when the handler returns a reader, to invocation/{id}/response or /error.
type RuntimeAPI struct {
	// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
	Addr string

	srv    *http.Server
	queue  chan *Invocation
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	seq      int
	inflight map[string]*Invocation
	initErr  []byte
	// answered are the invocations answered since the last poll: the next
	// GET invocation/next completes them.
	answered []*Invocation
}

// Invocation is one event handed to the function, and its answer.
type Invocation struct {
	ID       string
	Payload  []byte
	Deadline time.Time

	answer chan answer // receives one value when the function starts answering
	taken  chan time.Time
	pw     *io.PipeWriter
	// sentAt is when the function's answer ended (closed before the
	// Runtime API acknowledges it); doneAt when the function next polled,
	// which ends the invocation as Lambda counts it.
	sent, done     chan struct{}
	sentAt, doneAt time.Time
}

type answer struct {
	contentType string
	body        io.Reader
	err         error
}

// FunctionError is an invocation the function reported as failed, through
// /error or the error trailers of a streamed response.
type FunctionError struct {
	Type string
	Body string
}

func (e *FunctionError) Error() string { return "function error " + e.Type + ": " + e.Body }

// NewRuntimeAPI listens on a free loopback port.
func NewRuntimeAPI() (*RuntimeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &RuntimeAPI{Addr: ln.Addr().String(), queue: make(chan *Invocation, 64), closed: make(chan struct{}),
		inflight: map[string]*Invocation{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// Close stops serving; answers still streaming end with ErrRuntimeClosed.
func (r *RuntimeAPI) Close() error {
	r.once.Do(func() { close(r.closed) })
	r.mu.Lock()
	for _, inv := range r.inflight {
		if inv.pw != nil {
			_ = inv.pw.CloseWithError(ErrRuntimeClosed)
		}
	}
	r.mu.Unlock()
	return r.srv.Close()
}

// Invoke queues an event for the function's next poll; the invocation's
// deadline is timeout from now.
func (r *RuntimeAPI) Invoke(payload []byte, timeout time.Duration) *Invocation {
	r.mu.Lock()
	r.seq++
	inv := &Invocation{ID: "inv-" + strconv.Itoa(r.seq), Payload: payload, Deadline: time.Now().Add(timeout),
		answer: make(chan answer, 1), taken: make(chan time.Time, 1), sent: make(chan struct{}), done: make(chan struct{})}
	r.inflight[inv.ID] = inv
	r.mu.Unlock()
	r.queue <- inv
	return inv
}

// InitError is what the function reported to /runtime/init/error, if anything.
func (r *RuntimeAPI) InitError() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.initErr)
}

// Response waits until the function starts answering and returns the
// content type and the body as it arrives: reads return chunks as the
// function sends them, not after it finished.
func (inv *Invocation) Response(ctx context.Context) (contentType string, body io.Reader, err error) {
	select {
	case a := <-inv.answer:
		inv.answer <- a // keep it for a later call
		return a.contentType, a.body, a.err
	case <-ctx.Done():
		return "", nil, fmt.Errorf("awstest: no answer to %s: %w", inv.ID, ctx.Err())
	}
}

// Taken waits until the function polled this invocation and returns when:
// for the first invocation of a process, the end of its init phase.
func (inv *Invocation) Taken(ctx context.Context) (time.Time, error) {
	select {
	case t := <-inv.taken:
		inv.taken <- t
		return t, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("awstest: %s was not polled: %w", inv.ID, ctx.Err())
	}
}

// Result waits for the whole answer.
func (inv *Invocation) Result(ctx context.Context) (contentType string, body []byte, err error) {
	ct, r, err := inv.Response(ctx)
	if err != nil {
		return ct, nil, err
	}
	done := make(chan struct{})
	go func() {
		body, err = io.ReadAll(r)
		close(done)
	}()
	select {
	case <-done:
		return ct, body, err
	case <-ctx.Done():
		return ct, nil, fmt.Errorf("awstest: answer to %s did not end: %w", inv.ID, ctx.Err())
	}
}

// Sent waits until the function's answer has ended and returns when: the
// moment a client behind Lambda has its last byte. The Runtime API
// acknowledges the answer only after this, so anything the function does
// after its answer (its bookkeeping) starts later.
func (inv *Invocation) Sent(ctx context.Context) (time.Time, error) {
	select {
	case <-inv.sent:
		return inv.sentAt, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("awstest: the answer to %s did not end: %w", inv.ID, ctx.Err())
	}
}

// Done waits until the function, having answered, polled for its next
// invocation, and returns when: the end of the invocation as Lambda counts it
// (and bills it), after which the execution environment may be frozen.
func (inv *Invocation) Done(ctx context.Context) (time.Time, error) {
	select {
	case <-inv.done:
		return inv.doneAt, nil
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("awstest: the function did not poll again after %s: %w", inv.ID, ctx.Err())
	}
}

// ServeHTTP implements the Runtime API's paths.
func (r *RuntimeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, runtimePrefix)
	switch {
	case !ok:
		http.NotFound(w, req)
	case rest == "invocation/next" && req.Method == http.MethodGet:
		r.next(w, req)
	case rest == "init/error" && req.Method == http.MethodPost:
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = body
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case strings.HasPrefix(rest, "invocation/") && req.Method == http.MethodPost:
		id, kind, _ := strings.Cut(strings.TrimPrefix(rest, "invocation/"), "/")
		r.mu.Lock()
		inv := r.inflight[id]
		r.mu.Unlock()
		if inv == nil {
			http.Error(w, "unknown invocation", http.StatusBadRequest)
			return
		}
		switch kind {
		case "response":
			r.response(w, req, inv)
		case "error":
			body, _ := io.ReadAll(req.Body)
			r.markSent(inv)
			r.finish(inv)
			inv.answer <- answer{contentType: req.Header.Get("Content-Type"),
				err: &FunctionError{Type: req.Header.Get("Lambda-Runtime-Function-Error-Type"), Body: string(body)}}
			w.WriteHeader(http.StatusAccepted)
		default:
			http.NotFound(w, req)
		}
	default:
		http.NotFound(w, req)
	}
}

func (r *RuntimeAPI) next(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	r.mu.Lock()
	answered := r.answered
	r.answered = nil
	r.mu.Unlock()
	for _, inv := range answered {
		inv.doneAt = now
		close(inv.done)
	}
	select {
	case inv := <-r.queue:
		inv.taken <- time.Now()
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.ID)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.Deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", FunctionARN)
		h.Set("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
		h.Set("Content-Type", "application/json")
		_, _ = w.Write(inv.Payload)
	case <-r.closed:
		http.Error(w, "runtime API closed", http.StatusGone)
	case <-req.Context().Done():
	}
}

// response relays a streamed answer to the waiting test as it arrives. The
// runtime client declares error trailers; when it sets them, the handler's
// reader failed mid-stream and the answer ends with a FunctionError.
func (r *RuntimeAPI) response(w http.ResponseWriter, req *http.Request, inv *Invocation) {
	pr, pw := io.Pipe()
	r.mu.Lock()
	inv.pw = pw
	r.mu.Unlock()
	inv.answer <- answer{contentType: req.Header.Get("Content-Type"), body: pr}
	_, err := io.Copy(pw, req.Body)
	if err == nil {
		if t := req.Trailer.Get("Lambda-Runtime-Function-Error-Type"); t != "" {
			err = &FunctionError{Type: t, Body: req.Trailer.Get("Lambda-Runtime-Function-Error-Body")}
		}
	}
	_ = pw.CloseWithError(err)
	r.markSent(inv)
	r.finish(inv)
	w.WriteHeader(http.StatusAccepted)
}

// markSent records that inv's answer ended, before the function hears back.
func (r *RuntimeAPI) markSent(inv *Invocation) {
	inv.sentAt = time.Now()
	close(inv.sent)
}

func (r *RuntimeAPI) finish(inv *Invocation) {
	r.mu.Lock()
	delete(r.inflight, inv.ID)
	r.answered = append(r.answered, inv)
	r.mu.Unlock()
}
