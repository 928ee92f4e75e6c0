// Package lambdaapi serves an http.Handler from AWS Lambda: API Gateway REST
// proxy events answered buffered (aws-lambda-go-api-proxy) or streamed
// (API Gateway's response-streaming integration), and Lambda Function URL
// events streamed. The router's handler is the same one the local server
// runs; only this edge knows it is on Lambda.
//
// Two things every adapter does for each invocation: the request's context
// ends a margin before the invocation's deadline, so the handler still has
// time to answer with a timeout error; and Flush (the router's bookkeeping:
// audit lines, audit table, health and limit writes) runs once the response
// has been sent, before the runtime asks for the next invocation. Every
// handler returns an Answer, which aws-lambda-go posts to the Runtime API and
// then closes (lambda/invoke_loop.go: a response that is an io.Closer is
// closed after it was sent and before the next invoke); Close runs Flush. So
// a client has its last byte before any bookkeeping starts, and the
// bookkeeping still ends before the execution environment can be frozen,
// which would stop any goroutine left to do it later.
package lambdaapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// DefaultDeadlineMargin is the time kept between the request's deadline and
// the invocation's: enough to write an error answer and flush the audit lines.
const DefaultDeadlineMargin = time.Second

// flushMargin is kept between the end of the bookkeeping and the
// invocation's deadline, so Lambda never times out an invocation whose
// answer was sent: what is not written by then is retried next time.
const flushMargin = 100 * time.Millisecond

// Adapter adapts Handler to Lambda events.
type Adapter struct {
	// Handler serves every request (required).
	Handler http.Handler
	// Flush, when set, runs after each invocation's response has been sent
	// (Answer.Close), with a context that ends shortly before the
	// invocation's deadline.
	Flush func(ctx context.Context) error
	// DeadlineMargin is subtracted from the invocation's deadline for the
	// request's (default DefaultDeadlineMargin).
	DeadlineMargin time.Duration
	// Log receives adapter failures (default slog.Default()).
	Log *slog.Logger

	accessor core.RequestAccessor
}

// Answer is what every handler of the Adapter returns to aws-lambda-go: the
// encoded response, which the runtime client reads and POSTs to the Runtime
// API as it comes (an API Gateway proxy response as JSON, or the streaming
// prelude and body), and the bookkeeping, which Close runs once that POST is
// complete. It has no exported fields, so aws-lambda-go sends it as a reader
// rather than encoding it.
type Answer struct {
	r           io.Reader
	contentType string
	close       func() error
	once        sync.Once
	err         error
}

var (
	_ io.ReadCloser                     = (*Answer)(nil)
	_ interface{ ContentType() string } = (*Answer)(nil)
)

// Read reads the encoded response.
func (a *Answer) Read(p []byte) (int, error) { return a.r.Read(p) }

// ContentType is the Runtime API content type of the response.
func (a *Answer) ContentType() string { return a.contentType }

// Close runs the invocation's bookkeeping, once: aws-lambda-go calls it after
// the response was sent and before it polls for the next invocation.
func (a *Answer) Close() error {
	a.once.Do(func() {
		if a.close != nil {
			a.err = a.close()
		}
	})
	return a.err
}

// bookkeeping returns the Close of an invocation: wait, when set, for the
// handler to be done, then Flush within the invocation's time.
func (a *Adapter) bookkeeping(ctx context.Context, wait func()) func() error {
	return func() error {
		if wait != nil {
			wait()
		}
		a.flush(ctx)
		return nil
	}
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

// flush runs Flush with a context that ends flushMargin before the
// invocation's deadline (ctx's), whether or not ctx was cancelled since.
func (a *Adapter) flush(ctx context.Context) {
	if a.Flush == nil {
		return
	}
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if dl, ok := ctx.Deadline(); ok {
		cancel()
		fctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), dl.Add(-flushMargin))
	}
	defer cancel()
	if err := a.Flush(fctx); err != nil {
		a.log().Error("the invocation's bookkeeping failed", "error", err)
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
// finished, for the integration's default (buffered) transfer mode: the
// adapter of aws-lambda-go-api-proxy, plus the deadline, with the
// bookkeeping after the answer was sent (Answer.Close).
func (a *Adapter) Buffered(ctx context.Context, ev events.APIGatewayProxyRequest) (*Answer, error) {
	resp, err := a.serveBuffered(ctx, ev)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(resp)
	if err != nil {
		return nil, err
	}
	return &Answer{r: bytes.NewReader(body), contentType: "application/json", close: a.bookkeeping(ctx, nil)}, nil
}

func (a *Adapter) serveBuffered(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
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
	return w.GetProxyResponse()
}

// Streaming answers an API Gateway REST proxy event through the
// response-streaming integration (responseTransferMode STREAM): the status
// and headers go in the JSON prelude as soon as the handler sets them, and
// the body follows as the handler writes and flushes it. Plain JSON answers
// pass through it just as well, all at once.
func (a *Adapter) Streaming(ctx context.Context, ev events.APIGatewayProxyRequest) (*Answer, error) {
	rctx, cancel := a.withDeadline(ctx)
	// stop also ends the request when nobody reads the answer any more.
	rctx, stop := context.WithCancel(rctx)
	done := func() { stop(); cancel() }
	req, err := a.accessor.EventToRequestWithContext(rctx, ev)
	if err != nil {
		done()
		a.log().Warn("unreadable API Gateway event", "error", err)
		status, h, body := badEvent()
		resp := &events.APIGatewayProxyStreamingResponse{StatusCode: status, Headers: singleValued(h), Body: bytes.NewReader(body)}
		return &Answer{r: resp, contentType: resp.ContentType(), close: a.bookkeeping(ctx, nil)}, nil
	}
	w := newStreamWriter(stop)
	go a.serveStream(w, req, done)
	<-w.committed
	single, multi := splitHeaders(w.sent)
	resp := &events.APIGatewayProxyStreamingResponse{StatusCode: w.status, Headers: single, MultiValueHeaders: multi, Body: w.pr}
	return &Answer{r: resp, contentType: resp.ContentType(), close: a.bookkeeping(ctx, w.finish)}, nil
}

// serveStream runs the handler for a streamed answer and ends the body when
// it returns. The bookkeeping is not done here but in Answer.Close, once the
// runtime has sent the whole body: the client does not wait for it.
func (a *Adapter) serveStream(w *streamWriter, req *http.Request, done func()) {
	defer close(w.served)
	defer done()
	defer func() {
		if p := recover(); p != nil {
			if errors.Is(asError(p), http.ErrAbortHandler) {
				w.close(errAborted)
				return
			}
			a.log().Error("handler panicked", "panic", p)
			w.commit(http.StatusInternalServerError)
			// An error from the body's reader makes the runtime report the
			// invocation as failed (error trailers) rather than complete.
			w.close(errPanic)
		}
	}()
	a.Handler.ServeHTTP(w, req)
	w.commit(http.StatusOK)
	w.flushBody()
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
func (a *Adapter) Stream(ctx context.Context, payload json.RawMessage) (*Answer, error) {
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
