package audit

import (
	"context"
	"io"
	"sync"
	"time"
)

// Sink receives every request's record once the answer is complete.
type Sink interface {
	Emit(r *Record)
}

// Writer formats each record as an audit line and an EMF line and buffers
// them, so a request pays for formatting only, not for a write to stdout.
// The buffer is written out by Run every interval, when it grows past a limit,
// and by Flush, which a Lambda calls before its invocation ends (a frozen
// execution environment runs no background goroutine).
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	buf     []byte
	writeMu sync.Mutex // orders writes to out and guards spare
	spare   []byte
	kick    chan struct{}
}

// flushAt is the buffer size that triggers an early flush.
const flushAt = 64 << 10

// NewWriter writes audit and metric lines to out (stdout in production).
func NewWriter(out io.Writer) *Writer {
	return &Writer{out: out, buf: make([]byte, 0, flushAt), kick: make(chan struct{}, 1)}
}

// Emit buffers the record's two lines.
func (w *Writer) Emit(r *Record) {
	w.mu.Lock()
	w.buf = r.AppendJSON(w.buf)
	w.buf = append(w.buf, '\n')
	if r.Metrics != nil {
		w.buf = r.Metrics.AppendLine(w.buf, r)
		w.buf = append(w.buf, '\n')
		w.buf = r.Metrics.AppendAttemptLines(w.buf, r)
	}
	full := len(w.buf) >= flushAt
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// Flush writes out everything buffered. Two buffers swap, so requests keep
// appending while the write is under way.
func (w *Writer) Flush() error {
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	w.mu.Lock()
	data := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	var err error
	if len(data) > 0 {
		_, err = w.out.Write(data)
	}
	w.spare = data[:0]
	return err
}

// Run flushes every interval until ctx ends, then flushes once more.
func (w *Writer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = w.Flush()
			return
		case <-t.C:
		case <-w.kick:
		}
		_ = w.Flush()
	}
}

// Sinks sends every record to each of its sinks in turn: the stdout writer
// and, when configured, the audit table. Each must return quickly.
type Sinks []Sink

// Emit hands r to every sink.
func (s Sinks) Emit(r *Record) {
	for _, k := range s {
		k.Emit(r)
	}
}
