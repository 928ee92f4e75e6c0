// Package xray records the router's spans as AWS X-Ray subsegments, sent as
// segment documents over UDP to the X-Ray daemon (on Lambda, the one the
// service runs next to the function when tracing is active). It implements
// trace.Tracer with the standard library only.
//
// A span with no span above it in its context becomes a subsegment of the
// segment named by the invocation's trace header (Root=…;Parent=…;
// Sampled=…): on Lambda, the function's facade segment, whose header
// aws-lambda-go puts in every invocation's context. An unsampled or missing
// header makes every span a no-op, so tracing costs a context lookup.
package xray

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/trace"
)

// DefaultDaemonAddress is where the daemon listens when
// AWS_XRAY_DAEMON_ADDRESS is not set.
const DefaultDaemonAddress = "127.0.0.1:2000"

// header starts every datagram the daemon accepts.
const header = `{"format":"json","version":1}` + "\n"

// maxAnnotations bounds a span's annotations (X-Ray indexes at most 50 per
// trace); maxValueLen bounds an annotation's value.
const (
	maxAnnotations = 25
	maxValueLen    = 256
)

// Emitter sends spans to the daemon. Its zero value is not usable: use New.
type Emitter struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives send failures, once (default slog.Default()).
	Log *slog.Logger

	conn       net.Conn
	warned     atomic.Bool
	sent, lost atomic.Int64
}

var _ trace.Tracer = (*Emitter)(nil)

// New connects a UDP socket to the daemon at addr, in the form of
// AWS_XRAY_DAEMON_ADDRESS: "host:port", or "tcp:host:port udp:host:port"
// (segments go to the UDP address). Empty means DefaultDaemonAddress.
func New(addr string) (*Emitter, error) {
	udp, err := UDPAddress(addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("udp", udp)
	if err != nil {
		return nil, fmt.Errorf("xray: daemon address %s: %w", udp, err)
	}
	return &Emitter{conn: conn}, nil
}

// UDPAddress is the UDP host:port of an AWS_XRAY_DAEMON_ADDRESS value.
func UDPAddress(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return DefaultDaemonAddress, nil
	}
	for _, f := range strings.Fields(addr) {
		if v, ok := strings.CutPrefix(f, "udp:"); ok {
			addr = v
			break
		}
		if strings.HasPrefix(f, "tcp:") {
			addr = ""
		}
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("xray: daemon address %q: want host:port or \"tcp:host:port udp:host:port\"", addr)
	}
	return addr, nil
}

// Close closes the socket.
func (e *Emitter) Close() error { return e.conn.Close() }

// Stats counts the documents sent and those the socket refused.
func (e *Emitter) Stats() (sent, lost int64) { return e.sent.Load(), e.lost.Load() }

func (e *Emitter) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Header is an X-Ray trace header's parts.
type Header struct {
	Root, Parent string
	Sampled      bool
}

// ParseHeader reads "Root=1-…;Parent=…;Sampled=1" (the X-Amzn-Trace-Id and
// _X_AMZN_TRACE_ID form; other fields are ignored).
func ParseHeader(s string) Header {
	var h Header
	for _, part := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			h.Root = v
		case "Parent":
			h.Parent = v
		case "Sampled":
			h.Sampled = v == "1"
		}
	}
	return h
}

type headerKey struct{}

// WithHeader returns ctx carrying an X-Ray trace header for the spans started
// from it, where it does not come from aws-lambda-go (tests, other front doors).
func WithHeader(ctx context.Context, header string) context.Context {
	return context.WithValue(ctx, headerKey{}, header)
}

// lambdaTraceKey is the key under which aws-lambda-go stores each
// invocation's trace header in its context (lambda/invoke_loop.go): a plain
// string, not a type of its own.
const lambdaTraceKey = "x-amzn-trace-id"

func headerOf(ctx context.Context) Header {
	if s, ok := ctx.Value(headerKey{}).(string); ok {
		return ParseHeader(s)
	}
	if s, ok := ctx.Value(lambdaTraceKey).(string); ok {
		return ParseHeader(s)
	}
	return Header{}
}

type spanKey struct{}

// Start begins a subsegment named name under the span in ctx, or under the
// segment of ctx's trace header. Without a sampled trace it returns ctx and a
// span that does nothing.
func (e *Emitter) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	var traceID, parent string
	if p, ok := ctx.Value(spanKey{}).(*span); ok {
		traceID, parent = p.traceID, p.id
	} else if h := headerOf(ctx); h.Sampled && h.Root != "" && h.Parent != "" {
		traceID, parent = h.Root, h.Parent
	} else {
		return ctx, noop{}
	}
	s := &span{e: e, name: name, id: newID(), traceID: traceID, parent: parent, start: e.now()}
	return context.WithValue(ctx, spanKey{}, s), s
}

// newID is a 64-bit subsegment id in 16 hex digits.
func newID() string {
	return fmt.Sprintf("%016x", rand.Uint64())
}

type noop struct{}

func (noop) Annotate(string, string) {}
func (noop) End(error)               {}

// span is one subsegment; it is sent, whole, when it ends.
type span struct {
	e                         *Emitter
	name, id, traceID, parent string
	start                     time.Time

	mu          sync.Mutex
	annotations map[string]string
	ended       bool
}

// Annotate attaches an indexed annotation. X-Ray indexes only keys of
// letters, digits and underscores, so other characters become '_'.
func (s *span) Annotate(key, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || len(s.annotations) >= maxAnnotations {
		return
	}
	if s.annotations == nil {
		s.annotations = map[string]string{}
	}
	if len(value) > maxValueLen {
		value = value[:maxValueLen]
	}
	s.annotations[annotationKey(key)] = value
}

func annotationKey(k string) string {
	b := []byte(k)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// document is an independent subsegment as the daemon takes it.
type document struct {
	Name        string            `json:"name"`
	ID          string            `json:"id"`
	TraceID     string            `json:"trace_id"`
	ParentID    string            `json:"parent_id"`
	Type        string            `json:"type"`
	StartTime   json.Number       `json:"start_time"`
	EndTime     json.Number       `json:"end_time"`
	Fault       bool              `json:"fault,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// End sends the subsegment. A non-nil err marks it as a fault; the error's
// text is not sent, since an upstream's message may quote the request.
func (s *span) End(err error) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	doc := document{Name: segmentName(s.name), ID: s.id, TraceID: s.traceID, ParentID: s.parent, Type: "subsegment",
		StartTime: seconds(s.start), EndTime: seconds(s.e.now()), Fault: err != nil, Annotations: s.annotations}
	s.mu.Unlock()
	body, merr := json.Marshal(doc)
	if merr != nil {
		return
	}
	s.e.send(append([]byte(header), body...))
}

// segmentName keeps the characters X-Ray allows in a name (letters, digits,
// whitespace and _ . : / % & # = + \ - @), at most 200 of them.
func segmentName(n string) string {
	out := []rune(n)
	if len(out) > 200 {
		out = out[:200]
	}
	for i, c := range out {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ' ':
		case strings.ContainsRune("_.:/%&#=+\\-@", c):
		default:
			out[i] = '_'
		}
	}
	return string(out)
}

// seconds is t as X-Ray's epoch seconds with microseconds.
func seconds(t time.Time) json.Number {
	return json.Number(strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64))
}

func (e *Emitter) send(datagram []byte) {
	if _, err := e.conn.Write(datagram); err != nil {
		e.lost.Add(1)
		if !e.warned.Swap(true) {
			log := e.Log
			if log == nil {
				log = slog.Default()
			}
			log.Warn("x-ray: a subsegment could not be sent to the daemon (further failures are counted, not logged)",
				"error", err)
		}
		return
	}
	e.sent.Add(1)
}
