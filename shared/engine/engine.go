// Package engine runs a planned request: it tries the candidates in order,
// one after another or hedged, for an answer in one piece or a stream, and
// after every attempt decides by one table whether the attempt is over,
// whether the next candidate is tried, and what the client finally gets. It
// knows nothing of HTTP or of any API's wire shape: the surfaces hand it
// closures that make one attempt, and a Sink that writes a stream.
//
// An attempt commits when the client may see it: a whole answer, or a
// stream's first chunk with content (text, a tool-call delta, a refusal,
// reasoning). Chunks before that are held back. Until the commit any failure
// may move to the next candidate; after it the answer is that target's, and
// a failure ends the request as incomplete.
//
// Timeouts come in three parts. A target's timeout (and its
// first_byte_timeout) bound an attempt until its commit point; for an answer
// in one piece, that is the whole answer. After a stream commits, an idle
// timeout bounds the wait for each chunk, and the request's ceiling
// (max_duration, or the deployment's: on Lambda, the invocation deadline)
// bounds the whole. A model's timeout never cuts a healthy stream.
package engine

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
	"github.com/llm-router/router/shared/trace"
)

// rule is what an attempt's outcome means for the request.
type rule struct {
	// fallback: the next candidate may be tried. Otherwise the request ends
	// with this attempt.
	fallback bool
	// failed: the attempt counts in the FailedAttempts metric.
	failed bool
}

// The decision table. Every outcome an attempt can have is here; the run
// loop consults nothing else. Outcomes after the commit point (stream_error,
// idle_timeout, and deadline or cancelled then) always end the request: the
// client already has part of the answer.
var rules = map[string]rule{
	// The provider could not take the request now: try the next one.
	audit.OutcomeUnavailable:      {fallback: true, failed: true}, // could not connect
	audit.OutcomeFirstByteTimeout: {fallback: true, failed: true}, // no content within first_byte_timeout
	audit.OutcomeTimeout:          {fallback: true, failed: true}, // no commit within the target's timeout
	audit.OutcomeError:            {fallback: true, failed: true}, // 408, 424, 5xx, 52x, 529, an error event before content
	audit.OutcomeRateLimited:      {fallback: true, failed: true}, // 429
	// The router's own credentials or model name are wrong for this
	// provider: another provider may be fine, and the client's key is.
	audit.OutcomeAuthFailed:    {fallback: true, failed: true}, // 401, 403
	audit.OutcomeModelNotFound: {fallback: true, failed: true}, // 404
	// The provider refused the request itself (400, 413, 422): every other
	// provider would too, so the client hears why.
	audit.OutcomeRejected: {},
	// The answer failed the structured-output check: the route's policy
	// decides (OutputError.Final), fallback unless it says error.
	audit.OutcomeInvalidOutput: {fallback: true, failed: true},
	// After the commit point: the request ends, incomplete.
	audit.OutcomeStreamError: {failed: true},
	audit.OutcomeIdleTimeout: {failed: true},
	audit.OutcomeDeadline:    {},
	audit.OutcomeCancelled:   {},
	audit.OutcomeHedgeLost:   {},
	audit.OutcomeOutpaced:    {},
	audit.OutcomeOK:          {},
	// The request is longer than the model's window: a candidate with a
	// larger window may take it (the run skips those with no larger one).
	audit.OutcomeContextLimit: {fallback: true},
	// The adapter cannot send the request to this provider as it is (a
	// remote image URL, a role it does not have): another target may take
	// it. Neither the provider's fault nor, yet, the client's.
	audit.OutcomeUnsupported: {fallback: true},
}

// Gate may refuse an attempt just before it starts: a half-open circuit
// breaker lets one trial through at a time, an open one none.
type Gate interface {
	Allow(provider, model string) bool
}

// Observer learns every attempt's outcome and latency (passive health: the
// breakers and the latency estimates).
type Observer interface {
	Observe(provider, model, outcome string, latency time.Duration)
}

// Engine runs planned requests. Its fields are the dependencies every request
// shares; an unset optional field disables what it provides.
type Engine struct {
	// Gate, when set, is asked before each attempt.
	Gate Gate
	// Observer, when set, is told every attempt's outcome.
	Observer Observer
	// Keys, when set, drops a cached provider key that its provider refused.
	Keys llm.KeyInvalidator
	// Tracer, when set, records a span per attempt.
	Tracer trace.Tracer
	// Log receives one line per failed attempt: codes, never upstream text.
	Log *slog.Logger
	// Now is the clock of the audit record's times; nil means time.Now.
	Now func() time.Time
}

// Plan is one request to run.
type Plan struct {
	// RequestID and Route label log lines.
	RequestID, Route string
	// Candidates are the targets to try, in order.
	Candidates []*route.Target
	// Require is the request's compliance requirement: no attempt starts on
	// a target that lacks a tag of it, whatever the candidates say.
	Require []string
	// Providers are the adapters by provider name.
	Providers map[string]llm.Provider
	// Do makes one attempt of an answer in one piece; Open starts one
	// attempt of a stream. Exactly one is set.
	Do   func(ctx context.Context, a *Attempt) (*llm.Response, error)
	Open func(ctx context.Context, a *Attempt) (llm.Stream, error)
	// Sink writes a stream to the client (with Open).
	Sink Sink
	// Deliver, with Do, writes the answer to the client as soon as it is
	// ready (Result.Served, Response and CostUSD so far are set), before
	// lost hedges are collected.
	Deliver func(res *Result)
	// Timeout bounds the time until an attempt commits, across attempts (a
	// route's timeout); 0: none beyond the targets' own.
	Timeout time.Duration
	// IdleTimeout bounds the wait for each chunk once a stream committed.
	IdleTimeout time.Duration
	// MaxDuration bounds the whole request, streaming included; 0: none
	// beyond the context's own deadline.
	MaxDuration time.Duration
	// Panic, when set, tries the candidates even where the Gate refuses
	// them: the planner found no target healthy, and a request that tries
	// is better than one that cannot recover when the providers do.
	Panic bool
}

// Attempt is one try of one target, as the Do and Open closures see it.
type Attempt struct {
	Target   *route.Target
	Provider llm.Provider
	// Structured is what Do's structured-output check made of the answer
	// (an audit.Structured* value), for the Result of the attempt that won.
	Structured string
}

// Sink writes a committed stream to the client in its API's shape.
type Sink interface {
	// Commit is called once, at the commit point, before the first chunk:
	// the answer is t's from now on, after attempts tries.
	Commit(t *route.Target, attempts int) error
	// Chunk writes one chunk. An *llm.Error means the chunk could not be
	// written in the client's shape (the stream fails as the provider's);
	// any other error, that the client is gone.
	Chunk(c llm.Chunk) error
	// Close ends a complete stream, with the usage if the provider reported
	// it. A non-nil answer means the sink refused the stream (it failed the
	// structured-output check) and ended it with that error instead.
	Close(u *llm.Usage) *llm.Error
	// Fail ends the stream with an error event.
	Fail(e *llm.Error)
}

// OutputError is what Do returns when the upstream answered but the answer
// cannot be used: it failed the structured-output check. Usage is what the
// discarded answers cost (the provider billed them); Final ends the request
// (the route's policy allows no other target).
type OutputError struct {
	Err   *llm.Error
	Usage llm.Usage
	Final bool
}

func (e *OutputError) Error() string { return e.Err.Error() }

// Result is how a request ended.
type Result struct {
	// Attempts are every attempt, in the order they started.
	Attempts []audit.Attempt
	// Served is the target whose answer the client got (or began to get).
	Served *route.Target
	// Response is the answer of a request in one piece.
	Response *llm.Response
	// Usage is the served answer's usage; UsageKnown is false for a stream
	// that reported none.
	Usage      llm.Usage
	UsageKnown bool
	// CostUSD is everything the request cost: the served answer, answers the
	// structured-output check discarded, and lost hedges that had answered.
	CostUSD float64
	// Err is what the client got instead of a complete answer; nil when the
	// answer was complete. For a stream it may come after the commit (then
	// Committed is set, and the client got an error event).
	Err *llm.Error
	// Committed is set once a stream's first chunk went to the client.
	Committed bool
	// Structured is what the structured-output check made of the served
	// answer (Attempt.Structured).
	Structured string
	// FirstByte is when the client's first byte was written, relative to
	// the start of the run; 0 when none was.
	FirstByte time.Duration
}

// Incomplete reports whether the client did not get a complete answer, for
// any reason but its own request being refused: every target failing, a
// deadline, a stream cut after it began, or the client leaving before the
// answer was whole. A client that gave up is counted too: clients giving up
// on a slow route is what an error-rate alarm should see. (The breaker does
// not count it: that says nothing of the provider.)
func (r *Result) Incomplete() bool {
	if r.Err == nil {
		return false
	}
	return r.Committed || r.Err.Status >= 500 || r.Err.Code == "rate_limit_exceeded" || r.Err.Code == codeClientClosed
}

// Errors the engine answers with, in the router's codes.
func errTimeout() *llm.Error {
	return &llm.Error{Kind: llm.KindTimeout, Status: http.StatusGatewayTimeout, Type: "api_error", Code: "timeout",
		Message: "the request's deadline passed before any target answered"}
}

// codeClientClosed is the code of a request whose client left.
const codeClientClosed = "client_closed"

func errClientClosed() *llm.Error {
	return &llm.Error{Kind: llm.KindTimeout, Status: 499, Type: "api_error", Code: codeClientClosed,
		Message: "the client closed the connection"}
}
