package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

var (
	sseContentType = []string{"text/event-stream"}
	noCache        = []string{"no-cache"}
	noBuffering    = []string{"no"}
	doneEvent      = []byte("data: [DONE]\n\n")
)

// stream runs the attempt loop for a streaming request. An attempt counts as
// answered at its first chunk: until then any failure falls back; after it
// the answer belongs to that target, and a later failure ends the stream with
// an error event.
func (c *call) stream(ctx context.Context, d *route.Decision) {
	if hedging(d) {
		c.streamHedged(ctx, d)
		return
	}
	var failures []string
	for _, t := range d.Candidates {
		if !c.allowed(t) {
			failures = append(failures, skipped(t))
			continue
		}
		a := c.begin(ctx, t, true)
		st, first, err := c.open(a)
		if err == nil {
			c.relay(ctx, a, st, first)
			c.finish(http.StatusOK)
			return
		}
		a.end()
		e, outcome := c.failure(ctx, a, err)
		c.record(a, outcome, e.Status)
		c.logAttempt(a, e, outcome)
		if ends(outcome, err) {
			c.fail(upstreamAnswer(e))
			return
		}
		failures = append(failures, describe(a.t, e, outcome))
	}
	c.fail(errAllFailed("all targets failed: " + strings.Join(failures, "; ")))
}

// open starts a stream and reads its first chunk: until then the attempt
// has not answered, and any failure may fall back.
func (c *call) open(a *attempt) (llm.Stream, llm.Chunk, error) {
	st, err := a.p.Stream(a.ctx, a.req)
	if err != nil {
		return nil, llm.Chunk{}, err
	}
	first, err := st.Next()
	a.gotFirstByte()
	a.firstAt = c.g.now()
	if err != nil {
		_ = st.Close()
		if eof(err) {
			err = &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
				Code: "empty_stream", Message: "the provider's stream ended before its first chunk", Provider: a.t.Provider.Name}
		}
		return nil, llm.Chunk{}, err
	}
	return st, first, nil
}

// relay sends the stream to the client as OpenAI server-sent events, flushing
// every event; the caller finishes the record. The usage-only chunk, which
// the router asked the upstream for to meter the request, reaches only
// clients that asked for it themselves.
func (c *call) relay(ctx context.Context, a *attempt, st llm.Stream, first llm.Chunk) {
	defer a.end()
	defer st.Close()
	h := c.w.Header()
	h["Content-Type"] = sseContentType
	h["Cache-Control"] = noCache
	h["X-Accel-Buffering"] = noBuffering
	c.servedBy(a.t)
	c.w.WriteHeader(http.StatusOK)
	flusher, _ := c.w.(http.Flusher)
	wantUsage := c.chat.WantsUsage()

	var usage *llm.Usage
	var buf []byte
	write := func(data []byte) bool {
		buf = append(buf[:0], "data: "...)
		buf = append(buf, data...)
		buf = append(buf, '\n', '\n')
		if _, err := c.w.Write(buf); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}

	var acc *streamCheck
	if c.shape != nil {
		acc = newStreamCheck(c.shape)
	}
	outcome, status := audit.OutcomeOK, http.StatusOK
	chunk, err := first, error(nil)
	sent := false
	for {
		if err != nil {
			if eof(err) {
				if e := c.verifyStream(acc, a); e != nil {
					// Too late to fall back or repair: the client has the
					// text. The stream ends with the error, not [DONE].
					outcome, status = audit.OutcomeInvalidOutput, e.Status
					c.rec.ErrorCode = e.Code
					write(appendError(nil, e))
					break
				}
				if _, werr := c.w.Write(doneEvent); werr == nil && flusher != nil {
					flusher.Flush()
				}
				break
			}
			e, o := c.failure(ctx, a, err)
			outcome, status = audit.OutcomeStreamError, e.Status
			if o == audit.OutcomeCancelled {
				outcome = o
				break
			}
			c.rec.ErrorCode = e.Code
			c.logAttempt(a, e, outcome)
			write(appendError(nil, e))
			break
		}
		if chunk.Usage != nil {
			u := *chunk.Usage
			usage = &u
		}
		if acc != nil && !chunk.UsageOnly {
			acc.add(chunk.Data)
		}
		if !chunk.UsageOnly || wantUsage {
			if !write(chunk.Data) {
				outcome, status = audit.OutcomeCancelled, 499
				break
			}
			if !sent {
				sent = true
				c.rec.TTFBMs = ms(c.g.now().Sub(c.start))
			}
		}
		chunk, err = st.Next()
	}

	// The attempt's speed is its time to first chunk: the rest depends on
	// how long the answer is.
	lat := c.g.now().Sub(a.start)
	c.observe(a, outcome, status, lat, a.firstAt.Sub(a.start))
	if usage != nil {
		c.meter(a.t, *usage)
	} else {
		c.rec.UsageMissing = true
	}
}
