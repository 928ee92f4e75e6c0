package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// callLog is the order in which the fake upstreams received requests, across
// all of them; arrived hears of each arrival.
type callLog struct {
	mu      sync.Mutex
	names   []string
	arrived chan string
}

func newCallLog() *callLog { return &callLog{arrived: make(chan string, 64)} }

func (l *callLog) add(name string) {
	l.mu.Lock()
	l.names = append(l.names, name)
	l.mu.Unlock()
	l.arrived <- name
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// logged is an OpenAI fake's script that logs each request as name and
// answers reply.
func logged(log *callLog, name string, reply openaitest.Reply) func(openaitest.Received) openaitest.Reply {
	return func(openaitest.Received) openaitest.Reply {
		log.add(name)
		return reply
	}
}

// front serves target behind a proxy that logs each request as name, for
// fakes that take no script.
func front(t *testing.T, log *callLog, name, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(name)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// try is one attempt as the audit record and a FailedAttempts line name it.
type try struct {
	model, outcome string
	status         int
}

func (a try) String() string { return fmt.Sprintf("%s %s %d", a.model, a.outcome, a.status) }

// failing are the outcomes documented as failed attempts: each gets its own
// FailedAttempts metric line. Lost races, the client's own leaving, the
// request's deadline and the caller's bad request are not the target's fault.
var failing = map[string]bool{
	audit.OutcomeUnavailable: true, audit.OutcomeFirstByteTimeout: true, audit.OutcomeTimeout: true,
	audit.OutcomeError: true, audit.OutcomeRateLimited: true, audit.OutcomeAuthFailed: true,
	audit.OutcomeModelNotFound: true, audit.OutcomeStreamError: true, audit.OutcomeIdleTimeout: true,
}

// seen is everything one request left: what the client got, what the
// upstreams received, the audit record and the metric lines.
type seen struct {
	calls []string
	// status is the HTTP status the client got; 0 when it left first.
	status int
	// code is the error code answered: in the body, or in a stream's error
	// event.
	code    string
	message string
	// retryAfter is the answer's Retry-After header.
	retryAfter string
	content    string
	// done: the stream ended with [DONE]. roles counts chunks that carry the
	// assistant role.
	done  bool
	roles int

	attempts   []try
	recStatus  int
	incomplete bool
	errorCode  string
	errors     int
	fallbacks  int
	failed     []try
}

// leave says when the client goes away.
type leave int

const (
	stay           leave = iota
	leaveOnArrive        // once the primary has the request, before any answer
	leaveAfterText       // once the first text reached the client
)

// exchange sends one chat request through the official client and reads
// back what it got.
func exchange(t *testing.T, h *harness, log *callLog, stream bool, when leave) seen {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var got seen
	var raw bytes.Buffer
	capture := option.WithMiddleware(func(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		resp, err := next(req)
		if resp != nil {
			got.status = resp.StatusCode
			got.retryAfter = resp.Header.Get("Retry-After")
			resp.Body = struct {
				io.Reader
				io.Closer
			}{io.TeeReader(resp.Body, &raw), resp.Body}
		}
		return resp, err
	})
	if when == leaveOnArrive {
		go func() {
			select {
			case <-log.arrived:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	params := openai.ChatCompletionNewParams{Model: "main", Messages: userMessage("hi")}
	client := h.client("unused")
	var err error
	if stream {
		s := client.Chat.Completions.NewStreaming(ctx, params, capture)
		for s.Next() {
			for _, c := range s.Current().Choices {
				got.content += c.Delta.Content
			}
			if when == leaveAfterText && got.content != "" {
				cancel()
			}
		}
		err = s.Err()
		_ = s.Close()
	} else {
		var resp *openai.ChatCompletion
		resp, err = client.Chat.Completions.New(ctx, params, capture)
		if err == nil {
			got.content = resp.Choices[0].Message.Content
		}
	}
	var apiErr *openai.Error
	switch {
	case errors.As(err, &apiErr):
		got.code, got.message = apiErr.Code, apiErr.Message
	case err != nil && when == stay && got.status != http.StatusOK:
		t.Fatalf("request: %v", err)
	}
	if when != stay {
		// A client that left has no status to speak of.
		got.status = 0
	}
	if stream && got.status == http.StatusOK {
		readEnding(&got, raw.String())
	}
	return got
}

// readEnding reads how a stream the client began to get ended: [DONE] or an
// error event, and how many chunks named the role.
func readEnding(got *seen, raw string) {
	got.done = strings.HasSuffix(raw, "data: [DONE]\n\n")
	got.roles = strings.Count(raw, `"role":"assistant"`)
	events := strings.Split(strings.TrimSpace(raw), "\n\n")
	last := strings.TrimPrefix(events[len(events)-1], "data: ")
	var e struct {
		Error *struct{ Code, Message string } `json:"error"`
	}
	if json.Unmarshal([]byte(last), &e) == nil && e.Error != nil {
		got.code, got.message = e.Error.Code, e.Error.Message
	}
}

// record adds the request's audit record and metric lines to got.
func record(t *testing.T, h *harness, got *seen) {
	t.Helper()
	rec := h.audit.next(t)
	for _, a := range rec.Attempts {
		got.attempts = append(got.attempts, try{a.Model, a.Outcome, a.Status})
	}
	got.recStatus, got.incomplete, got.errorCode = rec.Status, rec.Incomplete, rec.ErrorCode
	if err := h.audit.lines.Flush(); err != nil {
		t.Fatal(err)
	}
	requestLines := 0
	for _, line := range strings.Split(strings.TrimSpace(h.stdout.String()), "\n") {
		var m struct {
			AWS            json.RawMessage `json:"_aws"`
			RequestID      string          `json:"request_id"`
			Requests       *int
			Errors         int
			Fallbacks      int
			FailedAttempts *int
			Model          string
			Outcome        string `json:"outcome"`
			Status         int    `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a line on stdout is not JSON: %s", line)
		}
		if m.AWS == nil || m.RequestID != rec.RequestID {
			continue
		}
		switch {
		case m.Requests != nil:
			requestLines++
			got.errors, got.fallbacks = m.Errors, m.Fallbacks
		case m.FailedAttempts != nil:
			got.failed = append(got.failed, try{m.Model, m.Outcome, m.Status})
		}
	}
	if requestLines != 1 {
		t.Errorf("%d request metric lines for %s, want 1", requestLines, rec.RequestID)
	}
}

// upstream says how the primary answers: an OpenAI fake's reply, an
// Anthropic fake's reply, or nothing listening.
type upstream struct {
	openai    *openaitest.Reply
	anthropic *anthropictest.Reply
	down      bool
}

func replies(r openaitest.Reply) upstream   { return upstream{openai: &r} }
func claude(r anthropictest.Reply) upstream { return upstream{anthropic: &r} }

var nothingListens = upstream{down: true}

// The texts the fakes answer.
const (
	primaryText = "Hello from gpt-4o."
	backupText  = "Hello from gpt-4o-mini."
)

// mode is how a row's request is made.
type mode struct{ stream, hedged bool }

func (m mode) String() string {
	s := map[bool]string{false: "one piece", true: "stream"}[m.stream]
	if m.hedged {
		s += ", hedged"
	}
	return s
}

// engineRow is one trigger of the attempt engine.
type engineRow struct {
	name string
	// only limits the row to streams ("stream") or answers in one piece
	// ("one piece"); hedgedOnly to the hedged mode.
	only       string
	hedgedOnly bool
	prim       upstream
	// back is the backup's answer (nil: it answers backupText), backDown
	// that nothing listens there.
	back     *openaitest.Reply
	backDown bool
	// target holds the primary target's settings; hedge its hedge_after in
	// the hedged mode (default 10s, far beyond any trigger here).
	target, hedge string
	// route holds settings of the route. In the hedged mode a row without
	// any gets timeout: 5s, so a backup that waited for the 10s hedge
	// instead of starting when the primary failed would fail the request.
	route       string
	maxDuration time.Duration
	leave       leave
	want        func(m mode) seen
}

// fellBack is what a request gets when the primary fails before its commit
// point with outcome and status, and the backup answers.
func fellBack(outcome string, status int) func(mode) seen {
	return func(m mode) seen {
		return seen{calls: []string{"prim", "back"}, status: 200, content: backupText, done: true, roles: 1,
			attempts: []try{{"primary", outcome, status}, {"backup", audit.OutcomeOK, 200}}, recStatus: 200}
	}
}

// same is want whatever the mode.
func same(w seen) func(mode) seen { return func(mode) seen { return w } }

func engineRows() []engineRow {
	rows := []engineRow{
		{name: "connect error", prim: nothingListens, want: func(m mode) seen {
			w := fellBack(audit.OutcomeUnavailable, 502)(m)
			w.calls = []string{"back"}
			return w
		}},
		{name: "429", prim: replies(openaitest.Reply{Status: 429, ErrType: "requests", RetryAfter: "3"}),
			want: fellBack(audit.OutcomeRateLimited, 429)},
	}
	for _, status := range []int{408, 500, 501, 502, 503, 504, 505, 520, 521, 522, 523, 524, 529} {
		rows = append(rows, engineRow{name: fmt.Sprint(status), prim: replies(openaitest.Reply{Status: status}),
			want: fellBack(audit.OutcomeError, status)})
	}
	rows = append(rows,
		// The router's own key or model name is wrong for this provider:
		// another provider may be fine.
		engineRow{name: "401", prim: replies(openaitest.Reply{Status: 401, ErrType: "invalid_request_error", ErrCode: "invalid_api_key"}),
			want: fellBack(audit.OutcomeAuthFailed, 401)},
		engineRow{name: "403", prim: replies(openaitest.Reply{Status: 403}), want: fellBack(audit.OutcomeAuthFailed, 403)},
		engineRow{name: "404", prim: replies(openaitest.Reply{Status: 404, ErrCode: "model_not_found"}),
			want: fellBack(audit.OutcomeModelNotFound, 404)},

		// Commit timeouts. A one-piece answer begins with its body's first
		// byte, not its headers; a stream commits at its first content.
		engineRow{name: "first_byte_timeout: nothing sent", prim: replies(openaitest.Reply{Hang: true}),
			target: "first_byte_timeout: 200ms", want: fellBack(audit.OutcomeFirstByteTimeout, 504)},
		engineRow{name: "first_byte_timeout: headers only", prim: replies(openaitest.Reply{HangBody: true}),
			target: "first_byte_timeout: 200ms", want: fellBack(audit.OutcomeFirstByteTimeout, 504)},
		engineRow{name: "first_byte_timeout: role-only chunk", only: "stream",
			prim:   replies(openaitest.Reply{End: openaitest.EndHang, EndAfter: 0}),
			target: "first_byte_timeout: 200ms", want: fellBack(audit.OutcomeFirstByteTimeout, 504)},
		// The body began, so neither the first-byte threshold nor a hedge
		// fires; the target's timeout still bounds the whole answer.
		engineRow{name: "timeout: body began, then stalled", only: "one piece",
			prim:   replies(openaitest.Reply{KeepAlive: ": keep-alive", Gap: time.Hour}),
			target: "first_byte_timeout: 500ms, timeout: 1s", hedge: "500ms", want: fellBack(audit.OutcomeTimeout, 504)},
		// A held role-only chunk is no commit. hedge_after must be shorter
		// than the timeout, so hedged the backup starts first and wins.
		engineRow{name: "timeout: role-only chunk, then stalled", only: "stream",
			prim:   replies(openaitest.Reply{End: openaitest.EndHang, EndAfter: 0}),
			target: "timeout: 1s", hedge: "50ms",
			want: func(m mode) seen {
				w := fellBack(audit.OutcomeTimeout, 504)(m)
				if m.hedged {
					w.attempts[0] = try{"primary", audit.OutcomeOutpaced, 499}
				}
				return w
			}},
		// Errors in the stream before its first content.
		engineRow{name: "error event after message_start (Anthropic)", only: "stream",
			prim: claude(anthropictest.Reply{StreamError: "overloaded_error"}), want: fellBack(audit.OutcomeError, 529)},
		engineRow{name: "error event after role-only chunk", only: "stream",
			prim: replies(openaitest.Reply{End: openaitest.EndError, EndAfter: 0, Status: 503, ErrMessage: "no capacity"}),
			want: fellBack(audit.OutcomeError, 503)},
		engineRow{name: "cut after role-only chunk", only: "stream",
			prim: replies(openaitest.Reply{End: openaitest.EndCut, EndAfter: 0}), want: fellBack(audit.OutcomeError, 502)},

		// Healthy answers that take their time.
		engineRow{name: "slow body after a prompt first byte", only: "one piece",
			prim:   replies(openaitest.Reply{KeepAlive: ": keep-alive", Gap: time.Second}),
			target: "first_byte_timeout: 500ms", hedge: "500ms",
			want: same(seen{calls: []string{"prim"}, status: 200, content: primaryText,
				attempts: []try{{"primary", audit.OutcomeOK, 200}}, recStatus: 200})},
		// Ten words 200 ms apart: 1.8 s, over three times the model's
		// timeout, each gap well inside the idle timeout.
		engineRow{name: "stream outlives the model's timeout", only: "stream",
			prim:   replies(openaitest.Reply{Text: "a b c d e f g h i j", Gap: 200 * time.Millisecond}),
			target: "timeout: 500ms", hedge: "300ms", route: "stream_idle_timeout: 1s",
			want: same(seen{calls: []string{"prim"}, status: 200, content: "a b c d e f g h i j", done: true, roles: 1,
				attempts: []try{{"primary", audit.OutcomeOK, 200}}, recStatus: 200})},
	)

	// The caller's own bad request: every provider would refuse it too.
	for _, status := range []int{400, 413, 422} {
		rows = append(rows, engineRow{name: fmt.Sprint(status),
			prim: replies(openaitest.Reply{Status: status, ErrType: "invalid_request_error", ErrCode: "invalid_value"}),
			want: same(seen{calls: []string{"prim"}, status: status, code: "invalid_value",
				attempts: []try{{"primary", audit.OutcomeRejected, status}}, recStatus: status, errorCode: "invalid_value"})})
	}

	// After the commit there is no fallback: the stream ends with an error
	// event and no [DONE], and the request counts as an error.
	cut := func(content, code string, a try, status int) func(mode) seen {
		return same(seen{calls: []string{"prim"}, status: 200, content: content, code: code, roles: 1,
			attempts: []try{a}, recStatus: status, incomplete: true, errorCode: code, errors: 1})
	}
	rows = append(rows,
		engineRow{name: "connection cut after content", only: "stream",
			prim: replies(openaitest.Reply{Text: "one two three four", BreakAfter: 2}),
			want: cut("one two ", "stream_error", try{"primary", audit.OutcomeStreamError, 502}, 502)},
		engineRow{name: "error event after content (Anthropic)", only: "stream",
			prim: claude(anthropictest.Reply{Text: "Once upon a time", StreamError: "overloaded_error"}),
			want: cut("Once ", "stream_error", try{"primary", audit.OutcomeStreamError, 529}, 502)},
		// Reasoning is content: the stream committed before any text.
		engineRow{name: "connection cut after reasoning", only: "stream",
			prim: replies(openaitest.Reply{Reasoning: "Let me think.", End: openaitest.EndCut, EndAfter: 0}),
			want: func(m mode) seen {
				w := cut("", "stream_error", try{"primary", audit.OutcomeStreamError, 502}, 502)(m)
				w.roles = 2 // the fake names the role again before the text
				return w
			}},
		engineRow{name: "idle timeout", only: "stream",
			prim:  replies(openaitest.Reply{Text: "one two three", End: openaitest.EndHang, EndAfter: 2}),
			route: "stream_idle_timeout: 300ms",
			want:  cut("one two ", "stream_idle_timeout", try{"primary", audit.OutcomeIdleTimeout, 504}, 504)},
		engineRow{name: "max_duration after content", only: "stream",
			prim:  replies(openaitest.Reply{Text: "one two three", End: openaitest.EndHang, EndAfter: 1}),
			route: "max_duration: 500ms",
			want:  cut("one ", "timeout", try{"primary", audit.OutcomeDeadline, 504}, 504)},
		engineRow{name: "Gateway.MaxDuration after content", only: "stream",
			prim:        replies(openaitest.Reply{Text: "one two three", End: openaitest.EndHang, EndAfter: 1}),
			maxDuration: 500 * time.Millisecond,
			want:        cut("one ", "timeout", try{"primary", audit.OutcomeDeadline, 504}, 504)},
	)

	// The request's own deadline before any commit: 504, nothing else tried.
	deadline := func(tries ...try) func(mode) seen {
		calls := []string{"prim", "back"}[:len(tries)]
		return same(seen{calls: calls, status: 504, code: "timeout", attempts: tries, recStatus: 504,
			incomplete: true, errorCode: "timeout", errors: 1})
	}
	rows = append(rows,
		engineRow{name: "route timeout", prim: replies(openaitest.Reply{Hang: true}), route: "timeout: 300ms",
			want: deadline(try{"primary", audit.OutcomeDeadline, 504})},
		engineRow{name: "route timeout spans attempts", prim: replies(openaitest.Reply{Status: 500}),
			back: &openaitest.Reply{Hang: true}, route: "timeout: 500ms",
			want: deadline(try{"primary", audit.OutcomeError, 500}, try{"backup", audit.OutcomeDeadline, 504})},
		engineRow{name: "Gateway.MaxDuration", prim: replies(openaitest.Reply{Hang: true}), maxDuration: 300 * time.Millisecond,
			want: deadline(try{"primary", audit.OutcomeDeadline, 504})},
		engineRow{name: "route max_duration", prim: replies(openaitest.Reply{HangBody: true}), route: "max_duration: 300ms",
			want: deadline(try{"primary", audit.OutcomeDeadline, 504})},
	)

	// The client leaving: no complete answer, an error in the record and
	// the metrics (outcome cancelled, which the breaker does not count).
	rows = append(rows,
		engineRow{name: "client gone before any answer", prim: replies(openaitest.Reply{Hang: true}), leave: leaveOnArrive,
			want: same(seen{calls: []string{"prim"}, attempts: []try{{"primary", audit.OutcomeCancelled, 499}},
				recStatus: 499, incomplete: true, errorCode: "client_closed", errors: 1})},
		engineRow{name: "client gone after content", only: "stream", leave: leaveAfterText,
			prim: replies(openaitest.Reply{Text: "one two three", End: openaitest.EndHang, EndAfter: 1}),
			want: same(seen{calls: []string{"prim"}, content: "one ", attempts: []try{{"primary", audit.OutcomeCancelled, 499}},
				recStatus: 499, incomplete: true, errorCode: "client_closed", errors: 1})},
	)

	// Every target failed.
	rows = append(rows,
		engineRow{name: "all rate limited", prim: replies(openaitest.Reply{Status: 429, RetryAfter: "7"}),
			back: &openaitest.Reply{Status: 429, RetryAfter: "3"},
			want: same(seen{calls: []string{"prim", "back"}, status: 429, code: "rate_limit_exceeded", retryAfter: "3",
				attempts:  []try{{"primary", audit.OutcomeRateLimited, 429}, {"backup", audit.OutcomeRateLimited, 429}},
				recStatus: 429, incomplete: true, errorCode: "rate_limit_exceeded", errors: 1})},
		engineRow{name: "all rate limited, no hint", prim: replies(openaitest.Reply{Status: 429}),
			back: &openaitest.Reply{Status: 429},
			want: same(seen{calls: []string{"prim", "back"}, status: 429, code: "rate_limit_exceeded", retryAfter: "1",
				attempts:  []try{{"primary", audit.OutcomeRateLimited, 429}, {"backup", audit.OutcomeRateLimited, 429}},
				recStatus: 429, incomplete: true, errorCode: "rate_limit_exceeded", errors: 1})},
		engineRow{name: "all refused the router's credentials", prim: replies(openaitest.Reply{Status: 401}),
			back: &openaitest.Reply{Status: 403},
			want: same(seen{calls: []string{"prim", "back"}, status: 502, code: "upstream_auth_failed",
				attempts:  []try{{"primary", audit.OutcomeAuthFailed, 401}, {"backup", audit.OutcomeAuthFailed, 403}},
				recStatus: 502, incomplete: true, errorCode: "upstream_auth_failed", errors: 1})},
		engineRow{name: "all failed", prim: replies(openaitest.Reply{Status: 500, ErrMessage: upstreamSecret}), backDown: true,
			want: same(seen{calls: []string{"prim"}, status: 502, code: "all_targets_failed",
				message:   "all targets failed: primary (prim): status 500; backup (back): could not connect",
				attempts:  []try{{"primary", audit.OutcomeError, 500}, {"backup", audit.OutcomeUnavailable, 502}},
				recStatus: 502, incomplete: true, errorCode: "all_targets_failed", errors: 1})},
		engineRow{name: "rate limited and failed", prim: replies(openaitest.Reply{Status: 429, RetryAfter: "2"}),
			back: &openaitest.Reply{Status: 503},
			want: same(seen{calls: []string{"prim", "back"}, status: 502, code: "all_targets_failed",
				message:   "all targets failed: primary (prim): rate limited (status 429); backup (back): status 503",
				attempts:  []try{{"primary", audit.OutcomeRateLimited, 429}, {"backup", audit.OutcomeError, 503}},
				recStatus: 502, incomplete: true, errorCode: "all_targets_failed", errors: 1})},
	)

	// Hedging proper: the hedge timer decides.
	rows = append(rows,
		engineRow{name: "hedge: slow primary outpaced", hedgedOnly: true, hedge: "50ms",
			prim: replies(openaitest.Reply{Delay: time.Hour}),
			want: same(seen{calls: []string{"prim", "back"}, status: 200, content: backupText, done: true, roles: 1,
				attempts:  []try{{"primary", audit.OutcomeOutpaced, 499}, {"backup", audit.OutcomeOK, 200}},
				recStatus: 200})},
		engineRow{name: "hedge: the hedge lost", hedgedOnly: true, hedge: "50ms",
			prim: replies(openaitest.Reply{Delay: time.Second}), back: &openaitest.Reply{Hang: true},
			want: same(seen{calls: []string{"prim", "back"}, status: 200, content: primaryText, done: true, roles: 1,
				attempts:  []try{{"primary", audit.OutcomeOK, 200}, {"backup", audit.OutcomeHedgeLost, 499}},
				recStatus: 200})},
		engineRow{name: "hedge: the hedge failed, the primary answers", hedgedOnly: true, hedge: "50ms",
			prim: replies(openaitest.Reply{Delay: time.Second}), back: &openaitest.Reply{Status: 503},
			want: same(seen{calls: []string{"prim", "back"}, status: 200, content: primaryText, done: true, roles: 1,
				attempts:  []try{{"primary", audit.OutcomeOK, 200}, {"backup", audit.OutcomeError, 503}},
				recStatus: 200})},
	)
	return rows
}

// upstreamSecret is upstream text that must never reach the client.
const upstreamSecret = "internal shard 7f3a failed"

// engineConfig is route main over a primary of kind (openai or anthropic)
// and an OpenAI backup.
func engineConfig(kind, primURL, backURL, target, hedge, routeExtra string) string {
	upstreamModel := "gpt-4o"
	if kind == "anthropic" {
		upstreamModel = "claude-sonnet-4-5"
	}
	var fields []string
	if target != "" {
		fields = append(fields, target)
	}
	if hedge != "" {
		fields = append(fields, "hedge_after: "+hedge)
	}
	var route strings.Builder
	for _, line := range strings.Split(routeExtra, ",") {
		if line = strings.TrimSpace(line); line != "" {
			route.WriteString("    " + line + "\n")
		}
	}
	return fmt.Sprintf(`
providers:
  - {name: prim, type: %s, base_url: %q, key: "env:PRIM_KEY"}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: %s, price: {input: 2.5, output: 10}}
  - {id: backup, provider: back, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}}
routes:
  - name: main
%s    targets:
      - {model: primary, %s}
      - {model: backup}
`, kind, primURL, backURL, upstreamModel, route.String(), strings.Join(fields, ", "))
}

// TestEngineTable runs every trigger of the attempt engine through the HTTP
// API, as a stream and in one piece, with and without hedging, and checks
// for each what the upstreams were asked in what order, what the client got,
// the audit record's attempts, and the metric lines.
func TestEngineTable(t *testing.T) {
	for _, row := range engineRows() {
		for _, m := range []mode{{false, false}, {true, false}, {false, true}, {true, true}} {
			if row.only == "stream" && !m.stream || row.only == "one piece" && m.stream || row.hedgedOnly && !m.hedged {
				continue
			}
			t.Run(row.name+"/"+m.String(), func(t *testing.T) {
				// Most rows wait on a timer: they share the cores well.
				t.Parallel()
				want := row.want(m)
				if !m.stream {
					want.done, want.roles = false, 0
				}
				want.fallbacks = 0
				if len(want.attempts) > 1 {
					want.fallbacks = 1
				}
				for _, a := range want.attempts {
					if failing[a.outcome] {
						want.failed = append(want.failed, a)
					}
				}
				got := runEngineRow(t, row, m)
				checkSeen(t, got, want)
			})
		}
	}
}

func runEngineRow(t *testing.T, row engineRow, m mode) seen {
	t.Helper()
	log := newCallLog()
	kind, primURL := "openai", openaitest.ClosedURL()
	switch {
	case row.prim.openai != nil:
		prim := openaitest.NewServer("prim", logged(log, "prim", *row.prim.openai))
		t.Cleanup(prim.Close)
		primURL = prim.BaseURL()
	case row.prim.anthropic != nil:
		prim := anthropictest.NewServer()
		t.Cleanup(prim.Close)
		prim.SetDefault(*row.prim.anthropic)
		kind, primURL = "anthropic", front(t, log, "prim", prim.URL)
	}
	backURL := openaitest.ClosedURL()
	if !row.backDown {
		reply := openaitest.Reply{}
		if row.back != nil {
			reply = *row.back
		}
		back := openaitest.NewServer("back", logged(log, "back", reply))
		t.Cleanup(back.Close)
		backURL = back.BaseURL()
	}
	hedge, route := "", row.route
	if m.hedged {
		hedge = row.hedge
		if hedge == "" {
			hedge = "10s"
		}
		if route == "" {
			route = "timeout: 5s"
		}
	}
	h := newHarness(t, engineConfig(kind, primURL, backURL, row.target, hedge, route), upstreamKeys,
		func(g *gateway.Gateway) { g.MaxDuration = row.maxDuration })
	got := exchange(t, h, log, m.stream, row.leave)
	record(t, h, &got)
	got.calls = log.list()
	return got
}

func checkSeen(t *testing.T, got, want seen) {
	t.Helper()
	if !slices.Equal(got.calls, want.calls) {
		t.Errorf("upstream calls = %v, want %v", got.calls, want.calls)
	}
	if got.status != want.status || got.code != want.code || got.content != want.content {
		t.Errorf("client got status %d code %q content %q; want %d %q %q", got.status, got.code, got.content,
			want.status, want.code, want.content)
	}
	if got.done != want.done || got.roles != want.roles {
		t.Errorf("stream: [DONE] %v, %d role chunks; want %v, %d", got.done, got.roles, want.done, want.roles)
	}
	if want.message != "" && got.message != want.message {
		t.Errorf("message = %q, want %q", got.message, want.message)
	}
	if strings.Contains(got.message, upstreamSecret) {
		t.Errorf("the client's message quotes the upstream: %q", got.message)
	}
	if got.retryAfter != want.retryAfter {
		t.Errorf("Retry-After = %q, want %q", got.retryAfter, want.retryAfter)
	}
	if !slices.Equal(got.attempts, want.attempts) {
		t.Errorf("audit attempts = %v, want %v", got.attempts, want.attempts)
	}
	if got.recStatus != want.recStatus || got.incomplete != want.incomplete || got.errorCode != want.errorCode {
		t.Errorf("audit status %d incomplete %v error_code %q; want %d %v %q", got.recStatus, got.incomplete, got.errorCode,
			want.recStatus, want.incomplete, want.errorCode)
	}
	if got.errors != want.errors || got.fallbacks != want.fallbacks {
		t.Errorf("metrics Errors %d Fallbacks %d; want %d %d", got.errors, got.fallbacks, want.errors, want.fallbacks)
	}
	if !slices.Equal(got.failed, want.failed) {
		t.Errorf("FailedAttempts lines = %v, want %v", got.failed, want.failed)
	}
}

// probeStore is a state table whose probes say what the test says.
type probeStore struct{ probes []health.ProbeState }

func (s probeStore) ReadHealthState(context.Context) (health.Snapshot, error) {
	return health.Snapshot{Probes: s.probes}, nil
}
func (probeStore) OpenBreaker(context.Context, health.SharedBreaker) (bool, error) { return true, nil }
func (probeStore) CloseBreaker(context.Context, health.SharedBreaker, time.Time) (bool, error) {
	return true, nil
}

// When the breakers or the probes keep every candidate out, the request
// tries them anyway, in order (a breaker protects nothing when no target is
// left, and a refused request could not see the recovery); a success closes
// the breaker. Compliance still decides which targets are candidates.
func TestPanicTriesEveryTarget(t *testing.T) {
	const phi = "phi"
	tests := []struct {
		name string
		// open are the targets whose breakers are open; sick those a
		// fresh probe found unhealthy.
		open, sick []string
		prim       openaitest.Reply
		dataClass  string
		wantCalls  []string
		wantStatus int
		// wantClosed are the breakers closed after the request.
		wantClosed []string
	}{
		{name: "every breaker open", open: []string{"primary", "backup"},
			wantCalls: []string{"prim"}, wantStatus: 200, wantClosed: []string{"primary"}},
		{name: "every breaker open, the primary still failing", open: []string{"primary", "backup"}, prim: openaitest.Reply{Status: 503},
			wantCalls: []string{"prim", "back"}, wantStatus: 200, wantClosed: []string{"backup"}},
		{name: "every probe unhealthy", sick: []string{"primary", "backup"},
			wantCalls: []string{"prim"}, wantStatus: 200, wantClosed: []string{"primary", "backup"}},
		{name: "one target unhealthy: no panic", sick: []string{"primary"},
			wantCalls: []string{"back"}, wantStatus: 200, wantClosed: []string{"primary", "backup"}},
		{name: "one breaker open: no panic", open: []string{"primary"},
			wantCalls: []string{"back"}, wantStatus: 200, wantClosed: []string{"backup"}},
		// Only the primary may take phi: the healthy backup is never tried.
		{name: "compliance intact", sick: []string{"primary"}, prim: openaitest.Reply{Status: 503}, dataClass: phi,
			wantCalls: []string{"prim"}, wantStatus: 502, wantClosed: []string{"primary", "backup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newCallLog()
			prim := openaitest.NewServer("prim", logged(log, "prim", tt.prim))
			defer prim.Close()
			back := openaitest.NewServer("back", logged(log, "back", openaitest.Reply{}))
			defer back.Close()
			cfg := engineConfig("openai", prim.BaseURL(), back.BaseURL(), "", "", "")
			cfg = strings.Replace(cfg, `key: "env:PRIM_KEY"}`, `key: "env:PRIM_KEY", compliance: [hipaa]}`, 1) +
				"data_classes: {phi: [hipaa]}\nhealth: {breaker_failures: 2, breaker_cooldown: 30s}\n"
			var store probeStore
			for _, m := range tt.sick {
				store.probes = append(store.probes, health.ProbeState{Provider: map[string]string{"primary": "prim", "backup": "back"}[m],
					Model: m, Status: health.StatusUnhealthy, CheckedAt: time.Now(), Reason: "status 503"})
			}
			var view *health.View
			h := newHarness(t, cfg, upstreamKeys, func(g *gateway.Gateway) {
				view = &health.View{Source: g.Source, Store: store, Log: slog.New(slog.DiscardHandler)}
				g.Health, g.Latency, g.Observer = view, view, view
			})
			if err := view.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
			provider := map[string]string{"primary": "prim", "backup": "back"}
			for _, m := range tt.open {
				for range 2 {
					view.Observe(provider[m], m, audit.OutcomeError, 0)
				}
				if ok, _ := view.Usable(provider[m], m); ok {
					t.Fatalf("%s's breaker did not open", m)
				}
			}
			headers := map[string]string{}
			if tt.dataClass != "" {
				headers["X-Router-Data-Class"] = tt.dataClass
			}
			resp := h.post(t, "/v1/chat/completions", `{"model":"main","messages":[{"role":"user","content":"hi"}]}`, headers)
			h.audit.next(t)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := log.list(); !slices.Equal(got, tt.wantCalls) {
				t.Errorf("upstream calls = %v, want %v", got, tt.wantCalls)
			}
			var closed []string
			for _, m := range []string{"primary", "backup"} {
				if view.TargetHealth(provider[m], m).Breaker.State == health.BreakerClosed {
					closed = append(closed, m)
				}
			}
			if !slices.Equal(closed, tt.wantClosed) {
				t.Errorf("closed breakers = %v, want %v", closed, tt.wantClosed)
			}
		})
	}
}
