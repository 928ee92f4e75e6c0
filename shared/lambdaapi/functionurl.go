package lambdaapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// FunctionURL answers a Lambda Function URL event (InvokeMode
// RESPONSE_STREAM) with a streamed response, the second front door: no API
// Gateway in between, so no API keys, usage plans or WAF there, and no
// integration timeout. The request is built as aws-lambda-go's lambdaurl
// package builds it; the answer goes through the same writer as Streaming,
// which flushes SSE events, recovers panics and cancels the request when
// nobody reads the answer any more.
func (a *Adapter) FunctionURL(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*Answer, error) {
	rctx, cancel := a.withDeadline(ctx)
	rctx, stop := context.WithCancel(rctx)
	done := func() { stop(); cancel() }
	req, err := urlRequest(rctx, ev)
	if err != nil {
		done()
		a.log().Warn("unreadable Function URL event", "error", err)
		status, h, body := badEvent()
		resp := &events.LambdaFunctionURLStreamingResponse{StatusCode: status, Headers: singleValued(h), Body: bytes.NewReader(body)}
		return &Answer{r: resp, contentType: resp.ContentType(), close: a.bookkeeping(ctx, nil)}, nil
	}
	w := newStreamWriter(stop)
	go a.serveStream(w, req, done)
	<-w.committed
	resp := &events.LambdaFunctionURLStreamingResponse{StatusCode: w.status, Body: w.pr}
	for k, v := range w.sent {
		if k == "Set-Cookie" {
			resp.Cookies = v
			continue
		}
		if resp.Headers == nil {
			resp.Headers = map[string]string{}
		}
		resp.Headers[k] = strings.Join(v, ",")
	}
	return &Answer{r: resp, contentType: resp.ContentType(), close: a.bookkeeping(ctx, w.finish)}, nil
}

func urlRequest(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, err
		}
	}
	url := "https://" + ev.RequestContext.DomainName + ev.RawPath
	if ev.RawQueryString != "" {
		url += "?" + ev.RawQueryString
	}
	req, err := http.NewRequestWithContext(ctx, ev.RequestContext.HTTP.Method, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	for k, v := range ev.Headers {
		req.Header.Add(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	return req, nil
}
