// Package lambdaapi serves an http.Handler from AWS Lambda: API Gateway REST
// proxy events answered buffered (aws-lambda-go-api-proxy) or streamed
// (API Gateway's response-streaming integration), and Lambda Function URL
// events streamed. The router's handler is the same one the local server
// runs; only this edge knows it is on Lambda.
//
// Two things every adapter does for each invocation: the request's context
// ends a margin before the invocation's deadline, so the handler still has
// time to answer with a timeout error; and Flush (the audit writer's) runs
// once the response is complete, because a frozen execution environment runs
// no background goroutine that could write the buffered lines later.
package lambdaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// DefaultDeadlineMargin is the time kept between the request's deadline and
// the invocation's: enough to write an error answer and flush the audit lines.
const DefaultDeadlineMargin = time.Second

// Adapter adapts Handler to Lambda events.
type Adapter struct {
	// Handler serves every request (required).
	Handler http.Handler
	// Flush, when set, runs after each invocation's response is complete.
	Flush func() error
	// DeadlineMargin is subtracted from the invocation's deadline for the
	// request's (default DefaultDeadlineMargin).
	DeadlineMargin time.Duration
	// Log receives adapter failures (default slog.Default()).
	Log *slog.Logger

	accessor core.RequestAccessor
}

func (a *Adapter) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// withDeadline gives the request a deadline a margin before the invocation's.
func (a *Adapter) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := a.DeadlineMargin
	if margin <= 0 {
		margin = DefaultDeadlineMargin
	}
	return context.WithDeadline(ctx, dl.Add(-margin))
}

func (a *Adapter) flush() {
	if a.Flush == nil {
		return
	}
	if err := a.Flush(); err != nil {
		a.log().Error("flushing the audit lines failed", "error", err)
	}
}

// badEvent is the answer to an event that is not a request the handler could
// be given (a body that is not valid base64, say).
func badEvent() (int, http.Header, []byte) {
	h := http.Header{"Content-Type": {"application/json"}}
	return http.StatusBadRequest, h, []byte(`{"error":{"message":"the request could not be read from the API Gateway event",` +
		`"type":"invalid_request_error","param":null,"code":"bad_event"}}`)
}

// Buffered answers an API Gateway REST proxy event after the handler has
// finished, for the integration's default (buffered) transfer mode. It is the
// adapter of aws-lambda-go-api-proxy, plus the deadline and the flush.
func (a *Adapter) Buffered(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	ctx, cancel := a.withDeadline(ctx)
	defer cancel()
	req, err := a.accessor.EventToRequestWithContext(ctx, ev)
	if err != nil {
		a.log().Warn("unreadable API Gateway event", "error", err)
		status, h, body := badEvent()
		return events.APIGatewayProxyResponse{StatusCode: status, MultiValueHeaders: h, Body: string(body)}, nil
	}
	w := core.NewProxyResponseWriter()
	a.Handler.ServeHTTP(w, req)
	a.flush()
	return w.GetProxyResponse()
}

// Streaming answers an API Gateway REST proxy event through the
// response-streaming integration (responseTransferMode STREAM): the status
// and headers go in the JSON prelude as soon as the handler sets them, and
// the body follows as the handler writes and flushes it. Plain JSON answers
// pass through it just as well, all at once.
func (a *Adapter) Streaming(ctx context.Context, ev events.APIGatewayProxyRequest) (*events.APIGatewayProxyStreamingResponse, error) {
	ctx, cancel := a.withDeadline(ctx)
	// stop also ends the request when nobody reads the answer any more.
	ctx, stop := context.WithCancel(ctx)
	done := func() { stop(); cancel() }
	req, err := a.accessor.EventToRequestWithContext(ctx, ev)
	if err != nil {
		done()
		a.log().Warn("unreadable API Gateway event", "error", err)
		status, h, body := badEvent()
		return &events.APIGatewayProxyStreamingResponse{StatusCode: status, Headers: singleValued(h),
			Body: bytes.NewReader(body)}, nil
	}
	w := newStreamWriter(stop)
	go a.serveStream(w, req, done)
	<-w.committed
	single, multi := splitHeaders(w.sent)
	return &events.APIGatewayProxyStreamingResponse{StatusCode: w.status, Headers: single, MultiValueHeaders: multi,
		Body: w.pr}, nil
}

// serveStream runs the handler for a streamed answer. The audit lines are
// flushed before the body ends: the invocation is not over until the runtime
// has read the body to its end, so the flush happens inside it.
func (a *Adapter) serveStream(w *streamWriter, req *http.Request, done func()) {
	defer done()
	defer func() {
		if p := recover(); p != nil {
			if errors.Is(asError(p), http.ErrAbortHandler) {
				w.close(errAborted)
				return
			}
			a.log().Error("handler panicked", "panic", p)
			w.commit(http.StatusInternalServerError)
			a.flush()
			// An error from the body's reader makes the runtime report the
			// invocation as failed (error trailers) rather than complete.
			w.close(errPanic)
		}
	}()
	a.Handler.ServeHTTP(w, req)
	w.commit(http.StatusOK)
	w.flushBody()
	a.flush()
	w.close(nil)
}

var (
	errPanic   = errors.New("lambdaapi: the handler panicked")
	errAborted = errors.New("lambdaapi: the handler aborted the response")
)

func asError(p any) error {
	if err, ok := p.(error); ok {
		return err
	}
	return nil
}

// eventShape is what tells the event types apart: a Function URL event
// (payload format 2.0) has rawPath, an API Gateway REST event httpMethod.
type eventShape struct {
	RawPath    string `json:"rawPath"`
	HTTPMethod string `json:"httpMethod"`
}

// Stream answers either front door with a streamed response: an API Gateway
// REST proxy event (Streaming) or a Lambda Function URL event (FunctionURL),
// told apart by their shape. Both are answered in the same wire format, so
// one function serves the REST API and a Function URL with
// InvokeMode RESPONSE_STREAM.
func (a *Adapter) Stream(ctx context.Context, payload json.RawMessage) (io.Reader, error) {
	var shape eventShape
	if err := json.Unmarshal(payload, &shape); err != nil {
		return nil, err
	}
	if shape.RawPath != "" && shape.HTTPMethod == "" {
		var ev events.LambdaFunctionURLRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, err
		}
		return a.FunctionURL(ctx, &ev)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, err
	}
	return a.Streaming(ctx, ev)
}
