// Package openaitest is a loopback OpenAI-compatible server for tests and
// benchmarks. It speaks OpenAI's wire format (bodies, SSE chunks with
// "usage":null and the final usage chunk, [DONE], error bodies and statuses),
// records what it received, and is scripted per request. Reply options add the
// compatible APIs' variations (reasoning_content, x_groq usage, DeepSeek's
// cache fields, keep-alive comments, errors inside a 200), and the DeepSeek,
// Mistral and Groq wrappers (dialects.go) make a script as strict as those
// APIs are about what they accept.
package openaitest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Reply scripts one answer.
type Reply struct {
	// Status other than 200 answers with an OpenAI error body.
	Status     int
	ErrType    string
	ErrCode    string
	ErrMessage string
	RetryAfter string
	// Flat writes the error in the flat {"object":"error",...} shape of
	// Mistral and vLLM instead of OpenAI's nested one.
	Flat bool
	// ErrBody, with Status, is the error body written verbatim instead of
	// one built from the fields above (e.g. Mistral's 422 validation body).
	ErrBody string
	// InBand sends the error (Status, ErrMessage) with HTTP 200, as
	// OpenRouter does once generation has started: as the body of a plain
	// answer, or as a data event after the first content chunk of a stream,
	// in OpenRouter's shape {"error":{"code":<Status>,"message":...}}.
	InBand bool

	// Text is the answer; empty gives "Hello from <model>.".
	Text string
	// ToolCall, when set, answers with one tool call of this function name
	// and ToolArgs arguments instead of text.
	ToolCall string
	ToolArgs string
	// ToolCallID is the id of that call; empty gives call_abc123.
	ToolCallID string
	// Reasoning is sent as reasoning_content (DeepSeek, Qwen): in the
	// message, or streamed in deltas before the content.
	Reasoning string
	Usage     Usage
	// CacheHitTokens reports cached tokens as DeepSeek does, in
	// prompt_cache_hit_tokens and prompt_cache_miss_tokens, instead of
	// prompt_tokens_details.cached_tokens.
	CacheHitTokens bool
	// UsageInLastChunk sends a stream's usage in its last chunk (the one
	// with finish_reason), asked for or not, and no usage-only chunk:
	// Mistral's way.
	UsageInLastChunk bool
	// XGroqUsage sends a stream's usage under x_groq.usage in its last
	// chunk, and no usage-only chunk: Groq's way.
	XGroqUsage bool
	// KeepAlive, for a stream, is a comment line (": keep-alive",
	// ": OPENROUTER PROCESSING") sent before every event; for a plain answer,
	// blank lines are sent before the body, as DeepSeek does while a request
	// is queued.
	KeepAlive string

	// Hang holds the answer (before any byte) until the client goes away.
	Hang bool
	// HangBody sends the headers, then holds the body until the client goes
	// away (non-streaming), or sends no chunk (streaming).
	HangBody bool
	// BreakAfter, for a stream, sends that many content chunks and then drops
	// the connection without finishing.
	BreakAfter int
	// Release, when set, holds the final chunks of a stream until it is closed.
	Release chan struct{}
	// Delay waits before answering (simulated model latency).
	Delay time.Duration
	// Gap, for a stream, is the pause before each chunk after the first
	// with content (a model that generates slowly); for a plain answer with
	// KeepAlive, the pause between the blank lines and the body (a queued
	// request). The client going away ends the answer.
	Gap time.Duration
	// End, for a stream of text, ends it after EndAfter content chunks (0: right
	// after the role-only chunk, before any content) in the way it names.
	End      End
	EndAfter int

	// Base64 answers an embeddings request that asks for encoding_format
	// "base64" with base64 vectors, as OpenAI does; without it the fake
	// answers floats whatever was asked, as compatible APIs that ignore the
	// field do.
	Base64 bool
}

// End is how a scripted stream ends early.
type End int

const (
	// EndNone lets the stream finish.
	EndNone End = iota
	// EndHang sends nothing more until the client goes away.
	EndHang
	// EndCut drops the connection, as a crashed upstream does.
	EndCut
	// EndError sends an error event (Status, ErrMessage) in OpenRouter's
	// shape on a 200 stream and closes it without [DONE].
	EndError
)

// Usage is the usage the fake reports.
type Usage struct {
	Prompt, Completion, Cached int
}

// Received is one request the fake got.
type Received struct {
	Path   string
	Header http.Header
	Body   []byte
	// Model and Stream are read from the body.
	Model  string
	Stream bool
}

// Server is the fake upstream.
type Server struct {
	*httptest.Server
	// Name labels the server in test messages.
	Name string

	mu       sync.Mutex
	script   func(Received) Reply
	received []Received
}

// NewServer starts a fake that answers every request with what script says.
// A nil script answers "Hello from <model>." with usage 10/5.
func NewServer(name string, script func(Received) Reply) *Server {
	s := &Server{Name: name, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// SetScript replaces the script.
func (s *Server) SetScript(script func(Received) Reply) {
	s.mu.Lock()
	s.script = script
	s.mu.Unlock()
}

// Received returns the requests received so far.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// Calls is the number of chat completion requests received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// BaseURL is the /v1 root to configure a provider with.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1686935002,"owned_by":"openai"}]}`)
		return
	}
	if r.URL.Path == "/v1/embeddings" && r.Method == http.MethodPost {
		s.embeddings(w, r)
		return
	}
	if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
		writeError(w, Reply{Status: http.StatusNotFound, ErrType: "invalid_request_error", ErrMessage: "Invalid URL (" + r.Method + " " + r.URL.Path + ")"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	var head struct {
		Model         string `json:"model"`
		Stream        bool   `json:"stream"`
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(body, &head)
	rec := Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Model: head.Model, Stream: head.Stream}
	s.mu.Lock()
	s.received = append(s.received, rec)
	script := s.script
	s.mu.Unlock()

	reply := Reply{}
	if script != nil {
		reply = script(rec)
	}
	if reply.Text == "" && reply.ToolCall == "" {
		reply.Text = "Hello from " + head.Model + "."
	}
	if reply.Usage == (Usage{}) {
		reply.Usage = Usage{Prompt: 10, Completion: 5}
	}
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if reply.Hang {
		<-r.Context().Done()
		return
	}
	w.Header().Set("X-Request-Id", "req_fake_"+strconv.Itoa(len(body)))
	if reply.Status != 0 && reply.Status != http.StatusOK && !reply.InBand && reply.End != EndError {
		writeError(w, reply)
		return
	}
	includeUsage := head.StreamOptions != nil && head.StreamOptions.IncludeUsage
	if head.Stream {
		s.stream(w, r, head.Model, reply, includeUsage)
		return
	}
	if reply.HangBody {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if reply.KeepAlive != "" {
		_, _ = io.WriteString(w, "\n\n")
		if reply.Gap > 0 {
			w.(http.Flusher).Flush()
			if !pause(r, reply.Gap) {
				return
			}
		}
	}
	if reply.InBand {
		_ = json.NewEncoder(w).Encode(inBandError(reply))
		return
	}
	msg := map[string]any{"role": "assistant", "content": reply.Text, "refusal": nil, "annotations": []any{}}
	if reply.Reasoning != "" {
		msg["reasoning_content"] = reply.Reasoning
	}
	finish := "stop"
	if reply.ToolCall != "" {
		msg["content"] = nil
		msg["tool_calls"] = []any{map[string]any{"id": reply.toolCallID(), "type": "function",
			"function": map[string]any{"name": reply.ToolCall, "arguments": reply.ToolArgs}}}
		finish = "tool_calls"
	}
	out := map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion", "created": 1741570283, "model": head.Model + "-2024-08-06",
		"choices":            []any{map[string]any{"index": 0, "message": msg, "logprobs": nil, "finish_reason": finish}},
		"usage":              usageObject(reply.Usage, reply.CacheHitTokens),
		"service_tier":       "default",
		"system_fingerprint": "fp_fc9f1d7035",
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (r *Reply) toolCallID() string {
	if r.ToolCallID != "" {
		return r.ToolCallID
	}
	return "call_abc123"
}

// inBandError is OpenRouter's error object, with the status as its code.
func inBandError(r Reply) map[string]any {
	msg := r.ErrMessage
	if msg == "" {
		msg = http.StatusText(r.Status)
	}
	return map[string]any{"error": map[string]any{"code": r.Status, "message": msg}}
}

// embeddings answers OpenAI's embeddings shape, scripted like chat: the
// script sees the request and may answer an error status.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Model          string `json:"model"`
		Input          any    `json:"input"`
		EncodingFormat string `json:"encoding_format"`
	}
	_ = json.Unmarshal(body, &in)
	rec := Received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Model: in.Model}
	s.mu.Lock()
	s.received = append(s.received, rec)
	script := s.script
	s.mu.Unlock()
	reply := Reply{}
	if script != nil {
		reply = script(rec)
	}
	if reply.Status != 0 && reply.Status != http.StatusOK {
		writeError(w, reply)
		return
	}
	n := 1
	if list, ok := in.Input.([]any); ok {
		n = len(list)
	}
	data := make([]any, n)
	for i := range data {
		var vec any = EmbeddingVector
		if reply.Base64 && in.EncodingFormat == "base64" {
			vec = base64Vector(EmbeddingVector)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": vec}
	}
	prompt := reply.Usage.Prompt
	if prompt == 0 {
		prompt = 8 * n
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "model": in.Model,
		"usage": map[string]any{"prompt_tokens": prompt, "total_tokens": prompt}})
}

// EmbeddingVector is the vector the fake answers for every input.
var EmbeddingVector = []float64{0.0023064255, -0.009327292, 0.015797347}

// base64Vector is OpenAI's base64 encoding of a vector: its float32 values,
// little-endian, base64-encoded.
func base64Vector(v []float64) string {
	b := make([]byte, 0, 4*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(x)))
	}
	return base64.StdEncoding.EncodeToString(b)
}

func usageObject(u Usage, cacheHit bool) map[string]any {
	out := map[string]any{
		"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.Cached, "audio_tokens": 0},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
	if cacheHit {
		delete(out, "prompt_tokens_details")
		out["prompt_cache_hit_tokens"] = u.Cached
		out["prompt_cache_miss_tokens"] = u.Prompt - u.Cached
	}
	return out
}

func (s *Server) stream(w http.ResponseWriter, r *http.Request, model string, reply Reply, includeUsage bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	fl.Flush()
	if reply.HangBody {
		<-r.Context().Done()
		return
	}
	// Usage goes in a usage-only chunk unless the upstream has its own way.
	usageChunk := includeUsage && !reply.UsageInLastChunk && !reply.XGroqUsage
	nullUsage := includeUsage && !reply.XGroqUsage
	upstreamModel := model + "-2024-08-06"
	event := func(data []byte) {
		if reply.KeepAlive != "" {
			_, _ = io.WriteString(w, reply.KeepAlive+"\n\n")
		}
		_, _ = io.WriteString(w, "data: "+string(data)+"\n\n")
		fl.Flush()
	}
	sendWith := func(choices []any, usage any, extra map[string]any) {
		c := map[string]any{"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1694268190,
			"model": upstreamModel, "system_fingerprint": "fp_44709d6fcb", "choices": choices, "obfuscation": "x9Qz"}
		if nullUsage || usage != nil {
			c["usage"] = usage
		}
		for k, v := range extra {
			c[k] = v
		}
		data, _ := json.Marshal(c)
		event(data)
	}
	send := func(choices []any, usage any) { sendWith(choices, usage, nil) }
	delta := func(d map[string]any, finish any) []any {
		return []any{map[string]any{"index": 0, "delta": d, "logprobs": nil, "finish_reason": finish}}
	}
	finish := func(reason string) {
		var usage any
		var extra map[string]any
		switch {
		case reply.UsageInLastChunk:
			usage = usageObject(reply.Usage, reply.CacheHitTokens)
		case reply.XGroqUsage:
			extra = map[string]any{"x_groq": map[string]any{"id": "req_fake", "usage": usageObject(reply.Usage, false)}}
		}
		sendWith(delta(map[string]any{}, reason), usage, extra)
	}
	if reply.Reasoning != "" {
		send(delta(map[string]any{"role": "assistant", "content": nil, "reasoning_content": ""}, nil), nil)
		for _, word := range strings.SplitAfter(reply.Reasoning, " ") {
			send(delta(map[string]any{"reasoning_content": word}, nil), nil)
		}
	}
	if reply.ToolCall != "" {
		send(delta(map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"index": 0,
			"id": reply.toolCallID(), "type": "function", "function": map[string]any{"name": reply.ToolCall, "arguments": ""}}}}, nil), nil)
		args := reply.ToolArgs
		half := len(args) / 2
		for _, part := range []string{args[:half], args[half:]} {
			send(delta(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": part}}}}, nil), nil)
		}
		if reply.Release != nil {
			<-reply.Release
		}
		finish("tool_calls")
	} else {
		send(delta(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil), nil)
		words := strings.SplitAfter(reply.Text, " ")
		for i, word := range words {
			if reply.BreakAfter > 0 && i == reply.BreakAfter {
				cut(w)
				return
			}
			if reply.End != EndNone && i == reply.EndAfter {
				switch reply.End {
				case EndHang:
					<-r.Context().Done()
				case EndCut:
					cut(w)
				case EndError:
					data, _ := json.Marshal(inBandError(reply))
					event(data)
				}
				return
			}
			if i > 0 && !pause(r, reply.Gap) {
				return
			}
			if reply.Release != nil && i == len(words)-1 {
				<-reply.Release
			}
			send(delta(map[string]any{"content": word}, nil), nil)
			if reply.InBand {
				// OpenRouter: the provider failed after generation started.
				data, _ := json.Marshal(inBandError(reply))
				event(data)
				return
			}
		}
		if !pause(r, reply.Gap) {
			return
		}
		finish("stop")
	}
	if usageChunk {
		send([]any{}, usageObject(reply.Usage, reply.CacheHitTokens))
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
	fl.Flush()
}

// cut drops the connection mid-answer, as a crashed upstream would: a
// reset, not a clean end.
func cut(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		}
	}
}

// pause waits d, or less when the client goes away; it reports whether the
// client is still there.
func pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
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

func writeError(w http.ResponseWriter, reply Reply) {
	if reply.RetryAfter != "" {
		w.Header().Set("Retry-After", reply.RetryAfter)
	}
	if reply.ErrBody != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(reply.Status)
		_, _ = io.WriteString(w, reply.ErrBody)
		return
	}
	msg := reply.ErrMessage
	if msg == "" {
		msg = http.StatusText(reply.Status)
	}
	var code any
	if reply.ErrCode != "" {
		code = reply.ErrCode
	}
	var body any = map[string]any{"error": map[string]any{"message": msg, "type": reply.ErrType, "param": nil, "code": code}}
	if reply.Flat {
		body = map[string]any{"object": "error", "message": msg, "type": reply.ErrType, "param": nil, "code": code}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(reply.Status)
	_ = json.NewEncoder(w).Encode(body)
}

// ClosedURL returns a base URL on which nothing listens, for connect errors.
func ClosedURL() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1/v1"
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr + "/v1"
}
