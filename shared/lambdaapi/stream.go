package lambdaapi

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"sync"
)

// streamBuffer is how much the writer gathers before it must hand bytes to
// the runtime; Flush hands them over at once, so an SSE event is never held.
const streamBuffer = 8 << 10

// streamWriter is the http.ResponseWriter of a streamed answer. The status
// and headers are fixed by the first WriteHeader, Write or Flush (or by the
// handler returning); the body goes through a pipe whose reader is the
// response the Lambda runtime posts, chunk by chunk, to the Runtime API.
// Only the handler's goroutine writes; the adapter reads status and sent
// after committed is closed.
type streamWriter struct {
	header    http.Header
	status    int
	sent      http.Header // the headers as committed
	committed chan struct{}
	once      sync.Once

	pr   *io.PipeReader
	pw   *io.PipeWriter
	bw   *bufio.Writer
	err  error  // the first write error: the runtime stopped reading
	gone func() // cancels the request once nobody reads the answer
	// served is closed when the handler has returned.
	served chan struct{}
}

var (
	_ http.ResponseWriter = (*streamWriter)(nil)
	_ http.Flusher        = (*streamWriter)(nil)
)

func newStreamWriter(gone func()) *streamWriter {
	pr, pw := io.Pipe()
	return &streamWriter{header: http.Header{}, committed: make(chan struct{}), pr: pr, pw: pw,
		bw: bufio.NewWriterSize(pw, streamBuffer), gone: gone, served: make(chan struct{})}
}

// finish waits for the handler to return. Reading has ended (the runtime sent
// the body, or gave up): closing the reader makes a handler still writing
// fail its next write, which cancels its request.
func (w *streamWriter) finish() {
	_ = w.pr.Close()
	<-w.served
}

// Header is the header map to set before the answer is committed.
func (w *streamWriter) Header() http.Header { return w.header }

// WriteHeader commits the status and headers; informational (1xx) statuses
// are ignored, as the prelude carries one final status.
func (w *streamWriter) WriteHeader(code int) {
	if code < 200 {
		return
	}
	w.commit(code)
}

func (w *streamWriter) commit(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = promptHeaders(w.header)
		close(w.committed)
	})
}

// Write sends body bytes, committing a 200 first if nothing was committed.
func (w *streamWriter) Write(p []byte) (int, error) {
	w.commit(http.StatusOK)
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	if err != nil {
		w.fail(err)
	}
	return n, err
}

// Flush hands everything written so far to the runtime.
func (w *streamWriter) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting failure (http.ResponseController uses it).
func (w *streamWriter) FlushError() error {
	w.commit(http.StatusOK)
	if w.err != nil {
		return w.err
	}
	if err := w.bw.Flush(); err != nil {
		w.fail(err)
		return err
	}
	return nil
}

// fail records that the reader has gone (the invocation ended or the runtime
// failed to post) and cancels the request, so the handler stops calling
// upstream for an answer nobody will read.
func (w *streamWriter) fail(err error) {
	w.err = err
	w.gone()
}

func (w *streamWriter) flushBody() {
	if w.err == nil {
		if err := w.bw.Flush(); err != nil {
			w.fail(err)
		}
	}
}

// close ends the body: with nil the reader sees EOF, otherwise err.
func (w *streamWriter) close(err error) { _ = w.pw.CloseWithError(err) }

// promptHeaders copies the headers for the prelude, leaving out those that
// describe a connection or a framing the integration does itself. A
// Content-Length in particular would be false if an answer ended early.
func promptHeaders(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, v := range h {
		switch k {
		case "Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding", "Trailer", "Upgrade":
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return out
}

// splitHeaders puts single-valued headers in headers and the rest in
// multiValueHeaders, the two members of the prelude.
func splitHeaders(h http.Header) (map[string]string, map[string][]string) {
	var single map[string]string
	var multi map[string][]string
	for k, v := range h {
		switch {
		case len(v) == 1:
			if single == nil {
				single = map[string]string{}
			}
			single[k] = v[0]
		case len(v) > 1:
			if multi == nil {
				multi = map[string][]string{}
			}
			multi[k] = v
		}
	}
	return single, multi
}

func singleValued(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}
