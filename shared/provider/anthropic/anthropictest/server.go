// Package anthropictest is a loopback fake of the Anthropic Messages API for
// tests, in the manner of net/http/httptest. It speaks the real wire format
// (status codes, request-id headers, error bodies, named server-sent events in
// the documented order with pings, and fields a client does not know, as real
// upstreams add them), refuses requests the real API refuses (unknown fields,
// a system role, misplaced tool results), records every request it receives,
// and answers as each test scripts it.
//
// Its fidelity is checked with the official anthropic-sdk-go as a client.
package anthropictest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/llm-router/router/shared/provider/providertest"
)

// Reply scripts one answer to POST /v1/messages.
type Reply struct {
	// Text is the answer's text; a stream sends it a word at a time.
	Text string
	// Thinking, when set, comes first as a thinking block with a signature.
	Thinking string
	// ToolUses follow the text as tool_use blocks.
	ToolUses []ToolUse
	// StopReason defaults to tool_use when there are ToolUses, else end_turn.
	StopReason string
	// Usage is reported as given; nil reports 10 input and 20 output
	// tokens, or, for a request with cache breakpoints, what the fake's
	// prompt cache gives (cache.go) and 20 output tokens.
	Usage *Usage
	// RedactedThinking, when set, follows the thinking as a
	// redacted_thinking block with this data.
	RedactedThinking string
	// Status, when set and not 200, answers with an error of this status.
	Status int
	// ErrorType is the type of the error (default: the one Status stands for,
	// e.g. overloaded_error for 529).
	ErrorType string
	// ErrorMessage is the error's message (default: one like the real API's);
	// providertest.QuoteAuth and QuoteBody in it quote the request.
	ErrorMessage string
	// RetryAfter, when set, is sent as the retry-after header (seconds) of an
	// error answer.
	RetryAfter int
	// StreamError, when set, is the type of an error event a stream sends
	// after its first text delta; the stream ends there, as Anthropic's does.
	StreamError string
	// StreamErrorMessage is that event's message (default: one like the
	// real API's), quoting the request as ErrorMessage does.
	StreamErrorMessage string
	// Delay holds the response headers back: a slow first byte.
	Delay time.Duration
	// Gap, for a stream, is the pause before each text delta after the
	// first: a model that generates slowly. The client going away ends it.
	Gap time.Duration
}

// ToolUse is one tool_use block of a Reply.
type ToolUse struct {
	// ID defaults to toolu_fake<N>.
	ID   string
	Name string
	// Input is the tool input as JSON object text (default {}).
	Input string
}

// Usage is the token usage a Reply reports. InputTokens excludes cached
// tokens, as Anthropic counts them.
type Usage struct {
	InputTokens              int
	OutputTokens             int
	CacheCreationInputTokens int
	CacheReadInputTokens     int
	// CacheCreation1hInputTokens is the part of CacheCreationInputTokens
	// written to the one-hour cache.
	CacheCreation1hInputTokens int
}

// Request is one request the server received, whatever its answer.
type Request struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// JSON decodes the body into generic values, for assertions on fields that
// must or must not be there. A body that is not a JSON object gives nil.
func (r Request) JSON() map[string]any {
	var m map[string]any
	if json.Unmarshal(r.Body, &m) != nil {
		return nil
	}
	return m
}

// DefaultText is the answer of a server with nothing scripted.
const DefaultText = "Hello from the fake Anthropic API."

// Server is a fake Anthropic API on a loopback port.
type Server struct {
	// URL is the API root, without /v1, as the Anthropic SDKs take it.
	URL string

	srv *httptest.Server

	mu    sync.Mutex
	key   string
	queue []Reply
	def   Reply
	reqs  []Request
	n     int // answers given, for ids
	// cache holds the prompt prefixes written to the cache (cache.go).
	cache map[[32]byte]bool
}

// NewServer starts a server. It accepts any non-empty x-api-key until
// SetAPIKey names one. Close it when done.
func NewServer() *Server {
	s := &Server{def: Reply{Text: DefaultText}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// SetAPIKey makes the server accept only key, answering others with 401.
func (s *Server) SetAPIKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// Enqueue scripts the next answers to POST /v1/messages, in order.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// SetDefault sets the answer given when nothing is queued.
func (s *Server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.def = r
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// Last returns the latest request received; ok is false when there was none.
func (s *Server) Last() (r Request, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return Request{}, false
	}
	return s.reqs[len(s.reqs)-1], true
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	var body bytes.Buffer
	_, _ = body.ReadFrom(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body.Bytes()})
	s.n++
	n, key := s.n, s.key
	s.mu.Unlock()
	reqID := "req_fake" + strconv.Itoa(n)
	w.Header().Set("request-id", reqID)

	switch {
	case r.URL.Path == "/v1/messages" && r.Method == http.MethodPost:
	case r.URL.Path == "/v1/models" && r.Method == http.MethodGet:
		if !s.authorized(w, r, key, reqID) {
			return
		}
		writeJSON(w, http.StatusOK, json.RawMessage(modelList))
		return
	default:
		writeError(w, reqID, http.StatusNotFound, "not_found_error", "Not found", 0)
		return
	}
	if !s.authorized(w, r, key, reqID) {
		return
	}
	req, msg := validate(body.Bytes())
	if msg != "" {
		writeError(w, reqID, http.StatusBadRequest, "invalid_request_error", msg, 0)
		return
	}
	reply := s.next()
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		typ := reply.ErrorType
		if typ == "" {
			typ = typeOfStatus(reply.Status)
		}
		writeError(w, reqID, reply.Status, typ, providertest.Quote(reply.ErrorMessage, r.Header, body.Bytes()), reply.RetryAfter)
		return
	}
	reply.StreamErrorMessage = providertest.Quote(reply.StreamErrorMessage, r.Header, body.Bytes())
	if reply.Usage == nil {
		if u, ok := s.cacheUsage(req.top, req.Model, 20); ok {
			reply.Usage = &u
		}
	}
	a := newAnswer(reply, req.Model, n)
	if req.Stream {
		a.stream(w, r, reqID)
		return
	}
	w.Header().Set("anthropic-ratelimit-requests-limit", "4000")
	w.Header().Set("anthropic-ratelimit-requests-remaining", "3999")
	writeJSON(w, http.StatusOK, a.message())
}

func (s *Server) next() Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return s.def
	}
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r
}

// authorized checks the headers every call needs, answering as the real API
// does when one is missing.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, key, reqID string) bool {
	got := r.Header.Get("x-api-key")
	switch {
	case got == "":
		writeError(w, reqID, http.StatusUnauthorized, "authentication_error", "x-api-key header is required", 0)
		return false
	case key != "" && got != key:
		writeError(w, reqID, http.StatusUnauthorized, "authentication_error", "invalid x-api-key", 0)
		return false
	case r.Header.Get("anthropic-version") == "":
		writeError(w, reqID, http.StatusBadRequest, "invalid_request_error", "anthropic-version: header is required", 0)
		return false
	}
	return true
}

// modelList is the answer to GET /v1/models.
const modelList = `{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5",` +
	`"created_at":"2025-09-29T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}`

// typeOfStatus is the Anthropic error type of an HTTP status.
func typeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusPaymentRequired:
		return "billing_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case http.StatusGatewayTimeout:
		return "timeout_error"
	case 529:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

// messageOfType is a message like the real API's for an error type.
func messageOfType(typ string) string {
	switch typ {
	case "overloaded_error":
		return "Overloaded"
	case "rate_limit_error":
		return "This request would exceed the rate limit for your organization of 50 requests per minute."
	case "api_error":
		return "Internal server error"
	case "authentication_error":
		return "invalid x-api-key"
	case "billing_error":
		return "Your credit balance is too low to access the Anthropic API."
	case "permission_error":
		return "Your API key does not have permission to use the specified resource."
	case "not_found_error":
		return "model: claude-nonexistent"
	case "request_too_large":
		return "Request exceeds the maximum allowed number of bytes."
	case "timeout_error":
		return "Request timed out"
	}
	return "Invalid request"
}

type errorBody struct {
	Type      string      `json:"type"`
	Error     errorDetail `json:"error"`
	RequestID string      `json:"request_id"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, reqID string, status int, typ, msg string, retryAfter int) {
	if msg == "" {
		msg = messageOfType(typ)
	}
	h := w.Header()
	// The SDKs follow this header over their own retry rules.
	h.Set("x-should-retry", strconv.FormatBool(status == 408 || status == 409 || status == 429 || status >= 500))
	if retryAfter > 0 {
		h.Set("retry-after", strconv.Itoa(retryAfter))
	}
	writeJSON(w, status, errorBody{Type: "error", Error: errorDetail{Type: typ, Message: msg}, RequestID: reqID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // the fake's own types always marshal
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// answer is a Reply made concrete for one request.
type answer struct {
	Reply
	id    string
	model string
	usage Usage
	tools []ToolUse
}

func newAnswer(r Reply, model string, n int) *answer {
	a := &answer{Reply: r, id: "msg_fake" + strconv.Itoa(n), model: model, usage: Usage{InputTokens: 10, OutputTokens: 20}}
	if r.Usage != nil {
		a.usage = *r.Usage
	}
	for i, t := range r.ToolUses {
		if t.ID == "" {
			t.ID = "toolu_fake" + strconv.Itoa(n) + "_" + strconv.Itoa(i)
		}
		if t.Input == "" {
			t.Input = "{}"
		}
		a.tools = append(a.tools, t)
	}
	if a.StopReason == "" {
		a.StopReason = "end_turn"
		if len(a.tools) > 0 {
			a.StopReason = "tool_use"
		}
	}
	return a
}

// usageJSON is Anthropic's usage object, with the fields newer API versions
// added (cache_creation, service_tier, server_tool_use).
func (a *answer) usageJSON(output int) map[string]any {
	return map[string]any{
		"input_tokens":                a.usage.InputTokens,
		"cache_creation_input_tokens": a.usage.CacheCreationInputTokens,
		"cache_read_input_tokens":     a.usage.CacheReadInputTokens,
		"cache_creation": map[string]any{"ephemeral_5m_input_tokens": a.usage.CacheCreationInputTokens - a.usage.CacheCreation1hInputTokens,
			"ephemeral_1h_input_tokens": a.usage.CacheCreation1hInputTokens},
		"output_tokens":   output,
		"service_tier":    "standard",
		"server_tool_use": nil,
	}
}

// blocks are the answer's content blocks, in order.
func (a *answer) blocks() []map[string]any {
	var out []map[string]any
	if a.Thinking != "" {
		out = append(out, map[string]any{"type": "thinking", "thinking": a.Thinking, "signature": Sign(a.Thinking)})
	}
	if a.RedactedThinking != "" {
		out = append(out, map[string]any{"type": "redacted_thinking", "data": a.RedactedThinking})
	}
	if a.Text != "" {
		out = append(out, map[string]any{"type": "text", "text": a.Text, "citations": nil})
	}
	for _, t := range a.tools {
		out = append(out, map[string]any{"type": "tool_use", "id": t.ID, "name": t.Name, "input": json.RawMessage(t.Input)})
	}
	return out
}

// message is the whole (non-streamed) answer.
func (a *answer) message() map[string]any {
	content := a.blocks()
	if content == nil {
		content = []map[string]any{}
	}
	return map[string]any{
		"id": a.id, "type": "message", "role": "assistant", "model": a.model,
		"content": content, "stop_reason": a.StopReason, "stop_sequence": nil,
		"stop_details": nil, "container": nil,
		"usage": a.usageJSON(a.usage.OutputTokens),
	}
}

// stream sends the answer as Anthropic's named events: message_start, each
// block's start, deltas and stop (a ping after the first start), message_delta
// with cumulative usage, message_stop.
func (a *answer) stream(w http.ResponseWriter, r *http.Request, reqID string) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(event string, data any) {
		b, err := json.Marshal(data)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	start := a.usageJSON(1)
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": a.id, "type": "message", "role": "assistant", "model": a.model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil, "stop_details": nil, "container": nil, "usage": start}})
	failed := func() bool {
		if a.StreamError == "" {
			return false
		}
		msg := a.StreamErrorMessage
		if msg == "" {
			msg = messageOfType(a.StreamError)
		}
		send("error", errorBody{Type: "error", Error: errorDetail{Type: a.StreamError, Message: msg}, RequestID: reqID})
		return true
	}
	index := 0
	blockStart := func(block map[string]any) {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": block})
		if index == 0 {
			send("ping", map[string]any{"type": "ping"})
		}
	}
	delta := func(d map[string]any) {
		send("content_block_delta", map[string]any{"type": "content_block_delta", "index": index, "delta": d})
	}
	blockStop := func() {
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	if a.Thinking != "" {
		blockStart(map[string]any{"type": "thinking", "thinking": "", "signature": ""})
		for _, piece := range words(a.Thinking) {
			delta(map[string]any{"type": "thinking_delta", "thinking": piece})
		}
		delta(map[string]any{"type": "signature_delta", "signature": Sign(a.Thinking)})
		blockStop()
	}
	if a.RedactedThinking != "" {
		blockStart(map[string]any{"type": "redacted_thinking", "data": a.RedactedThinking})
		blockStop()
	}
	if a.Text != "" {
		blockStart(map[string]any{"type": "text", "text": "", "citations": nil})
		for i, piece := range words(a.Text) {
			if i > 0 && !pause(r, a.Gap) {
				return
			}
			delta(map[string]any{"type": "text_delta", "text": piece})
			if i == 0 && failed() {
				return
			}
		}
		blockStop()
	} else if failed() {
		return
	}
	for _, t := range a.tools {
		blockStart(map[string]any{"type": "tool_use", "id": t.ID, "name": t.Name, "input": map[string]any{}})
		delta(map[string]any{"type": "input_json_delta", "partial_json": ""}) // the real API opens with an empty piece
		for _, piece := range pieces(t.Input, 8) {
			delta(map[string]any{"type": "input_json_delta", "partial_json": piece})
		}
		blockStop()
	}
	end := a.usageJSON(a.usage.OutputTokens)
	delete(end, "cache_creation")
	delete(end, "service_tier")
	send("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": a.StopReason, "stop_sequence": nil, "stop_details": nil},
		"usage": end, "context_management": nil})
	send("message_stop", map[string]any{"type": "message_stop"})
}

// pause waits d, or less when the client goes away; it reports whether the
// client is still there.
func pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// words splits text after each space, as a model streams tokens.
func words(text string) []string { return strings.SplitAfter(text, " ") }

// pieces splits s into pieces of about n bytes, on rune boundaries.
func pieces(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		end := min(n, len(s))
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}
