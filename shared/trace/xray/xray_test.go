package xray

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// daemon is a loopback UDP listener standing in for the X-Ray daemon.
type daemon struct {
	conn net.PacketConn
}

func newDaemon(t *testing.T) *daemon {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &daemon{conn: conn}
}

// next reads one datagram, checks the daemon's header line and decodes the
// segment document after it.
func (d *daemon) next(t *testing.T) map[string]any {
	t.Helper()
	buf := make([]byte, 64<<10)
	// A bound on a broken emitter, not a synchronisation: the datagram was
	// written before End returned.
	if err := d.conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	n, _, err := d.conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no datagram: %v", err)
	}
	head, body, ok := bytes.Cut(buf[:n], []byte("\n"))
	if !ok {
		t.Fatalf("datagram without a header line: %q", buf[:n])
	}
	var h struct {
		Format  string `json:"format"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(head, &h); err != nil || h.Format != "json" || h.Version != 1 {
		t.Errorf("header line %q, want {\"format\":\"json\",\"version\":1}", head)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("segment document %q: %v", body, err)
	}
	return doc
}

const (
	root   = "1-5759e988-bd862e3fe1be46a994272793"
	facade = "53995c3f42cd8ad8"
)

var idPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

// clock steps one millisecond a call, so start and end times are known.
type clock struct{ t time.Time }

func (c *clock) now() time.Time {
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func TestSubsegmentsOfTheFacadeSegment(t *testing.T) {
	d := newDaemon(t)
	e, err := New(d.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := &clock{t: time.Unix(1478293361, 271000000)}
	e.Now = c.now

	ctx := WithHeader(context.Background(), "Root="+root+";Parent="+facade+";Sampled=1")
	ctx, req := e.Start(ctx, "request")
	req.Annotate("route", "triage-low")
	req.Annotate("data-class", "phi")
	_, attempt := e.Start(ctx, "attempt deepseek-v4-flash")
	attempt.Annotate("provider", "deepseek")
	attempt.End(errors.New("upstream said: the patient's note was too long"))
	req.End(nil)
	req.End(nil) // once only

	child, parent := d.next(t), d.next(t)
	for _, doc := range []map[string]any{child, parent} {
		if doc["type"] != "subsegment" || doc["trace_id"] != root || !idPattern.MatchString(doc["id"].(string)) {
			t.Errorf("document %v: want a subsegment of trace %s with a 16-hex id", doc, root)
		}
		if _, ok := doc["in_progress"]; ok {
			t.Errorf("document %v is sent in progress; want it whole at End", doc)
		}
	}
	if parent["name"] != "request" || parent["parent_id"] != facade {
		t.Errorf("request span %v, want the facade segment %s as parent", parent, facade)
	}
	if child["name"] != "attempt deepseek-v4-flash" || child["parent_id"] != parent["id"] {
		t.Errorf("attempt span %v, want the request span %v as parent", child, parent["id"])
	}
	if child["fault"] != true || parent["fault"] != nil {
		t.Errorf("fault: attempt %v, request %v", child["fault"], parent["fault"])
	}
	raw, _ := json.Marshal(child)
	if strings.Contains(string(raw), "patient") {
		t.Errorf("the error's text reached X-Ray: %s", raw)
	}
	// Start at the first clock step, end at the ones after.
	if parent["start_time"] != json.Number("1478293361.272000") || child["start_time"] != json.Number("1478293361.273000") ||
		child["end_time"] != json.Number("1478293361.274000") || parent["end_time"] != json.Number("1478293361.275000") {
		t.Errorf("times: request %v-%v, attempt %v-%v", parent["start_time"], parent["end_time"], child["start_time"], child["end_time"])
	}
	ann, _ := parent["annotations"].(map[string]any)
	if ann["route"] != "triage-low" || ann["data_class"] != "phi" || len(ann) != 2 {
		t.Errorf("annotations %v (keys must be letters, digits and _)", ann)
	}
	if sent, lost := e.Stats(); sent != 2 || lost != 0 {
		t.Errorf("stats sent %d lost %d", sent, lost)
	}
}

// Unsampled or untraced requests send nothing.
func TestNoSampledTraceSendsNothing(t *testing.T) {
	d := newDaemon(t)
	e, err := New(d.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, ctx := range []context.Context{
		context.Background(),
		WithHeader(context.Background(), "Root="+root+";Parent="+facade+";Sampled=0"),
		WithHeader(context.Background(), "Root="+root+";Sampled=1"),
	} {
		sctx, s := e.Start(ctx, "request")
		s.Annotate("route", "r")
		_, inner := e.Start(sctx, "attempt")
		inner.End(nil)
		s.End(nil)
		if sctx != ctx {
			t.Error("an untraced span changed the context")
		}
	}
	// A sampled span after them is the first datagram the daemon sees.
	_, s := e.Start(WithHeader(context.Background(), "Root="+root+";Parent="+facade+";Sampled=1"), "marker")
	s.End(nil)
	if doc := d.next(t); doc["name"] != "marker" {
		t.Errorf("first datagram %v, want only the sampled span", doc)
	}
	if sent, _ := e.Stats(); sent != 1 {
		t.Errorf("%d datagrams sent, want 1", sent)
	}
}

func TestParseHeaderAndAddress(t *testing.T) {
	h := ParseHeader("Root=" + root + ";Parent=" + facade + ";Sampled=1;Lineage=a:1")
	if h != (Header{Root: root, Parent: facade, Sampled: true}) {
		t.Errorf("ParseHeader = %+v", h)
	}
	for in, want := range map[string]string{
		"":                                      DefaultDaemonAddress,
		"169.254.79.129:2000":                   "169.254.79.129:2000",
		"tcp:127.0.0.1:2000 udp:127.0.0.2:2001": "127.0.0.2:2001",
		" udp:127.0.0.2:2001 tcp:127.0.0.1:2000 ": "127.0.0.2:2001",
	} {
		if got, err := UDPAddress(in); err != nil || got != want {
			t.Errorf("UDPAddress(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"daemon", "tcp:127.0.0.1:2000"} {
		if _, err := UDPAddress(bad); err == nil {
			t.Errorf("UDPAddress(%q) accepted", bad)
		}
	}
}

func TestNamesAndAnnotationsAreBounded(t *testing.T) {
	d := newDaemon(t)
	e, err := New(d.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	_, s := e.Start(WithHeader(context.Background(), "Root="+root+";Parent="+facade+";Sampled=1"), "attempt <gpt-4o>\n"+strings.Repeat("x", 300))
	for i := range 40 {
		s.Annotate("k"+strings.Repeat("é", i%2), strings.Repeat("v", 1000))
	}
	s.End(nil)
	doc := d.next(t)
	name := doc["name"].(string)
	if len(name) != 200 || !strings.HasPrefix(name, "attempt _gpt-4o__") {
		t.Errorf("name %q (%d)", name[:20], len(name))
	}
	ann := doc["annotations"].(map[string]any)
	for k, v := range ann {
		if !regexp.MustCompile(`^\w+$`).MatchString(k) || len(v.(string)) != maxValueLen {
			t.Errorf("annotation %q = %d bytes", k, len(v.(string)))
		}
	}
}

// On Lambda the header comes from aws-lambda-go, which stores each
// invocation's Lambda-Runtime-Trace-Id under a plain string key.
func TestHeaderFromTheLambdaContext(t *testing.T) {
	d := newDaemon(t)
	e, err := New(d.conn.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	//lint:ignore SA1029 the key aws-lambda-go uses (lambda/invoke_loop.go), reproduced as it sets it
	ctx := context.WithValue(context.Background(), "x-amzn-trace-id", "Root="+root+";Parent="+facade+";Sampled=1")
	_, s := e.Start(ctx, "request")
	s.End(nil)
	if doc := d.next(t); doc["parent_id"] != facade || doc["trace_id"] != root {
		t.Errorf("document %v", doc)
	}
}
