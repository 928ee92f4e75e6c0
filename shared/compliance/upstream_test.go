package compliance

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// outcome is what an upstream does with one request.
type outcome uint8

const (
	answer     outcome = iota
	invalidOut         // a whole answer whose content is not JSON
	status400
	status429
	status500
	status503
	status529
	closeConn  // the connection closed without an answer
	hang       // nothing until the router gives up on the attempt
	midError   // a stream: an error event after the first content chunk; plain: a body cut short
	midClose   // a stream: the connection drops after the first content chunk; plain: a body cut short
	earlyError // an error event (a stream) or an error body with status 200, before any content
	numOutcomes
)

func (o outcome) String() string {
	switch o {
	case answer:
		return "answer"
	case invalidOut:
		return "invalid-json"
	case status400:
		return "400"
	case status429:
		return "429"
	case status500:
		return "500"
	case status503:
		return "503"
	case status529:
		return "529"
	case closeConn:
		return "close"
	case hang:
		return "hang"
	case midError:
		return "error-after-first-chunk"
	case midClose:
		return "drop-after-first-chunk"
	case earlyError:
		return "error-before-content"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Usage every answer reports, so budgets are spent at the models' prices.
const (
	usagePrompt     = 2000
	usageCompletion = 1000
)

// hit is one request an upstream received.
type hit struct {
	Marker string
	Path   string
}

// upstream is a loopback OpenAI-compatible API. It logs every request with
// the marker found in its body and answers as the request's script says.
type upstream struct {
	name    string
	markers *regexp.Regexp
	srv     *httptest.Server
	release chan struct{}

	mu     sync.Mutex
	script map[string][]outcome // by marker
	tries  map[string]int
	hits   []hit
}

func startUpstream(name string, markers *regexp.Regexp, script map[string][]outcome) *upstream {
	u := &upstream{name: name, markers: markers, release: make(chan struct{}), script: script, tries: map[string]int{}}
	u.srv = httptest.NewServer(u)
	return u
}

// baseURL is the API root to configure, as for api.openai.com/v1.
func (u *upstream) baseURL() string { return u.srv.URL + "/v1" }

// close releases hanging requests, then waits for every handler.
func (u *upstream) close() {
	close(u.release)
	u.srv.Close()
}

func (u *upstream) log() []hit {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]hit(nil), u.hits...)
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	marker := u.markers.FindString(string(body))
	u.mu.Lock()
	u.hits = append(u.hits, hit{Marker: marker, Path: r.URL.Path})
	o := answer
	if s := u.script[marker]; u.tries[marker] < len(s) {
		o = s[u.tries[marker]]
	}
	u.tries[marker]++
	u.mu.Unlock()

	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	_ = json.Unmarshal(body, &req)
	embed := strings.HasSuffix(r.URL.Path, "/embeddings")
	switch o {
	case status400, status429, status500, status503, status529:
		writeError(w, o)
		return
	case closeConn:
		hijackClose(w)
		return
	case hang:
		select {
		case <-r.Context().Done():
		case <-u.release:
		}
		return
	}
	switch {
	case embed:
		u.embedding(w, o, req.Model)
	case req.Stream:
		u.stream(w, o, req.Model)
	default:
		u.plain(w, o, req.Model)
	}
}

func writeError(w http.ResponseWriter, o outcome) {
	status, _ := strconv.Atoi(o.String())
	typ := "server_error"
	switch status {
	case 400:
		typ = "invalid_request_error"
	case 429:
		typ = "rate_limit_error"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":"scripted %d","type":%q,"param":null,"code":null}}`, status, typ)
}

func hijackClose(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
	}
}

const upstreamErrorBody = `{"error":{"message":"scripted failure","type":"server_error","param":null,"code":"internal_error"}}`

func content(o outcome) string {
	if o == invalidOut {
		return "Sorry, I cannot answer in JSON today."
	}
	return `{"a":"ok"}`
}

func (u *upstream) plain(w http.ResponseWriter, o outcome, model string) {
	w.Header().Set("Content-Type", "application/json")
	if o == earlyError {
		_, _ = io.WriteString(w, upstreamErrorBody)
		return
	}
	msg, _ := json.Marshal(content(o))
	body := fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		model, msg, usagePrompt, usageCompletion, usagePrompt+usageCompletion)
	if o == midError || o == midClose {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body[:len(body)/2])
		w.(http.Flusher).Flush()
		hijackClose(w)
		return
	}
	_, _ = io.WriteString(w, body)
}

func (u *upstream) embedding(w http.ResponseWriter, o outcome, model string) {
	w.Header().Set("Content-Type", "application/json")
	if o == earlyError || o == midError || o == midClose {
		u.plain(w, o, model)
		return
	}
	fmt.Fprintf(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2,0.3]}],"model":%q,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`,
		model, usagePrompt, usagePrompt)
}

func (u *upstream) stream(w http.ResponseWriter, o outcome, model string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	f := w.(http.Flusher)
	event := func(payload string) {
		_, _ = io.WriteString(w, "data: "+payload+"\n\n")
		f.Flush()
	}
	chunk := func(delta string, finish string) string {
		fin := "null"
		if finish != "" {
			fin = strconv.Quote(finish)
		}
		return fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":%q,"choices":[{"index":0,"delta":%s,"finish_reason":%s}],"usage":null}`,
			model, delta, fin)
	}
	if o == earlyError {
		event(upstreamErrorBody)
		return
	}
	text := content(o)
	half := len(text) / 2
	first, _ := json.Marshal(map[string]string{"role": "assistant", "content": text[:half]})
	event(chunk(string(first), ""))
	switch o {
	case midError:
		event(upstreamErrorBody)
		return
	case midClose:
		hijackClose(w)
		return
	}
	rest, _ := json.Marshal(map[string]string{"content": text[half:]})
	event(chunk(string(rest), ""))
	event(chunk("{}", "stop"))
	event(fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":%q,"choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		model, usagePrompt, usageCompletion, usagePrompt+usageCompletion))
	event("[DONE]")
}
