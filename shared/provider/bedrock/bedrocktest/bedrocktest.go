// Package bedrocktest is a fake Amazon Bedrock Runtime endpoint on loopback,
// for tests of anything that calls Bedrock. It speaks the real wire format,
// checked by its own tests with the official SDK: REST-JSON Converse at
// POST /model/{modelId}/converse, ConverseStream at
// /model/{modelId}/converse-stream as AWS event-stream binary frames
// (application/vnd.amazon.eventstream), Titan embeddings at
// /model/{modelId}/invoke, and errors as {"message":...} with the exception
// name in the x-amzn-ErrorType header.
//
// It validates what real Bedrock validates that adapters most often get
// wrong (unknown top-level fields, roles that do not alternate or do not
// start with user, blank text, tool blocks without a toolConfig) and answers
// those with a ValidationException. It records every request, signature
// header included; it does not check signatures.
package bedrocktest

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-router/router/shared/provider/providertest"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Server is a running fake.
type Server struct {
	// URL is the endpoint root, for a bedrock provider's base_url.
	URL string

	srv *httptest.Server
	// Script queues replies and logs requests: Push, Requests, Last.
	providertest.Script[Request, Reply]

	mu    sync.Mutex
	cache map[[32]byte]bool // prompt prefixes cached (cache.go)
}

// Request is what the fake received.
type Request struct {
	Method string
	// Path is the request path as sent (escaped).
	Path string
	// Operation is converse, converse-stream or invoke.
	Operation string
	ModelID   string
	Header    http.Header
	Body      []byte
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Reply scripts the fake's answer to one request.
type Reply struct {
	// Text is the answer; streamed word by word.
	Text string
	// Reasoning, when set, comes first as a reasoningContent block, signed.
	Reasoning string
	// RedactedReasoning, when set, follows it as redacted reasoning.
	RedactedReasoning []byte
	// ToolUses are toolUse blocks after the text.
	ToolUses []ToolUse
	// StopReason defaults to tool_use when ToolUses are set, else end_turn.
	StopReason string
	Usage      Usage
	// Error answers the request with this exception instead.
	Error *Exception
	// StreamError, for ConverseStream, is sent as an exception frame after
	// the content events, in place of messageStop and metadata.
	StreamError *Exception
	// Gap, for ConverseStream, is the pause before each text delta after
	// the first: a model that generates slowly. The client going away ends
	// the stream.
	Gap time.Duration
}

// ToolUse is one tool call of the model.
type ToolUse struct {
	ID, Name string
	// Input is the JSON object of arguments.
	Input string
}

// Usage is the token usage reported. totalTokens is the sum of all four:
// inputTokens excludes cache reads and writes. A reply without cache
// counts to a request with cache points reports what the fake's prompt
// cache gives (cache.go).
type Usage struct {
	Input, Output, CacheRead, CacheWrite int
	// CacheWrite1h is the part of CacheWrite with a one-hour TTL.
	CacheWrite1h int
}

// Exception is a Bedrock error.
type Exception struct {
	// Name is the exception, e.g. ThrottlingException.
	Name string
	// Message is the exception's message; providertest.QuoteAuth and
	// QuoteBody in it quote the request.
	Message string
	// Status overrides the HTTP status Bedrock uses for Name.
	Status int
	// RetryAfter, when set, is sent as a Retry-After header.
	RetryAfter string
}

// defaultReply answers requests when no reply is queued.
func defaultReply() Reply {
	return Reply{Text: "Hello from the fake Bedrock.", Usage: Usage{Input: 12, Output: 6}}
}

// New starts a fake that stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the fake early, for tests of an unreachable endpoint.
func (s *Server) Close() { s.srv.Close() }

// StatusOf is the HTTP status Bedrock answers an exception with.
func StatusOf(name string) int {
	switch name {
	case "ValidationException", "ServiceQuotaExceededException":
		return http.StatusBadRequest
	case "AccessDeniedException", "UnrecognizedClientException", "MissingAuthenticationTokenException":
		return http.StatusForbidden
	case "ResourceNotFoundException", "UnknownOperationException":
		return http.StatusNotFound
	case "ModelTimeoutException":
		return http.StatusRequestTimeout
	case "ModelErrorException", "ModelStreamErrorException":
		return http.StatusFailedDependency
	case "ThrottlingException", "ModelNotReadyException":
		return http.StatusTooManyRequests
	case "ServiceUnavailableException":
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.EscapedPath()
	op, model := route(path)
	seq, reply, queued := s.Take(Request{Method: r.Method, Path: path, Operation: op, ModelID: model,
		Header: r.Header.Clone(), Body: body}, op != "")
	if !queued {
		reply = defaultReply()
	}
	reqID := "fake-" + strconv.Itoa(seq)
	w.Header().Set("X-Amzn-Requestid", reqID)

	switch {
	case r.Header.Get("Authorization") == "":
		writeException(w, &Exception{Name: "MissingAuthenticationTokenException", Message: "Missing Authentication Token"})
		return
	case op == "" || r.Method != http.MethodPost:
		writeException(w, &Exception{Name: "UnknownOperationException", Message: "unknown operation " + r.Method + " " + path})
		return
	case reply.Error != nil:
		e := *reply.Error
		e.Message = providertest.Quote(e.Message, r.Header, body)
		writeException(w, &e)
		return
	}
	if e := reply.StreamError; e != nil {
		quoted := *e
		quoted.Message = providertest.Quote(e.Message, r.Header, body)
		reply.StreamError = &quoted
	}
	if op == "invoke" {
		s.invoke(w, body)
		return
	}
	msg := validateConverse(body)
	if msg == "" {
		msg = validateCache(model, body)
	}
	if msg == "" {
		msg = validateReasoning(model, body)
	}
	if msg != "" {
		writeException(w, &Exception{Name: "ValidationException", Message: msg})
		return
	}
	if reply.Usage.CacheRead == 0 && reply.Usage.CacheWrite == 0 {
		if u, ok := s.cacheUsage(model, body); ok {
			u.Output = reply.Usage.Output
			reply.Usage = u
		}
	}
	if op == "converse" {
		writeJSON(w, http.StatusOK, converseAnswer(reply))
		return
	}
	streamAnswer(w, r, reply)
}

// route splits /model/{modelId}/{operation}; the model id is path-escaped
// (ARNs and inference profiles hold ':' and '/').
func route(path string) (op, model string) {
	rest, ok := strings.CutPrefix(path, "/model/")
	if !ok {
		return "", ""
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", ""
	}
	model, err := url.PathUnescape(rest[:i])
	if err != nil {
		return "", ""
	}
	switch op = rest[i+1:]; op {
	case "converse", "converse-stream", "invoke":
		return op, model
	}
	return "", ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// writeException answers as Bedrock does: the exception name, with a Coral
// namespace suffix the SDK strips, in x-amzn-ErrorType, and the message in
// the body.
func writeException(w http.ResponseWriter, e *Exception) {
	status := e.Status
	if status == 0 {
		status = StatusOf(e.Name)
	}
	w.Header().Set("X-Amzn-Errortype", e.Name+":http://internal.amazon.com/coral/com.amazon.bedrock/")
	if e.RetryAfter != "" {
		w.Header().Set("Retry-After", e.RetryAfter)
	}
	writeJSON(w, status, map[string]string{"message": e.Message})
}

// converseField reports whether k is a top-level member of a Converse request.
func converseField(k string) bool {
	switch k {
	case "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
		"additionalModelResponseFieldPaths", "promptVariables", "requestMetadata", "performanceConfig",
		"outputConfig", "serviceTier":
		return true
	}
	return false
}

// validateConverse returns Bedrock's ValidationException message for the
// mistakes it checks, or "".
func validateConverse(body []byte) string {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return "Malformed input request, please reformat your input and try again."
	}
	for k := range top {
		if !converseField(k) {
			return "Malformed input request: extraneous key [" + k + "] is not permitted, please reformat your input and try again."
		}
	}
	var req struct {
		Messages []struct {
			Role    string                       `json:"role"`
			Content []map[string]json.RawMessage `json:"content"`
		} `json:"messages"`
		ToolConfig json.RawMessage `json:"toolConfig"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return "Malformed input request, please reformat your input and try again."
	}
	if len(req.Messages) == 0 {
		return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
	}
	toolBlocks := false
	for i, m := range req.Messages {
		if i == 0 && m.Role != "user" {
			return "A conversation must start with a user message. Try again with a conversation that starts with a user message."
		}
		if i > 0 && m.Role == req.Messages[i-1].Role {
			return "A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again."
		}
		if len(m.Content) == 0 {
			return "The content field in the Message object at messages." + strconv.Itoa(i) + " is empty. Add a ContentBlock object to the content field and try again."
		}
		for j, block := range m.Content {
			if text, ok := block["text"]; ok && strings.TrimSpace(string(bytes.Trim(text, `"`))) == "" {
				return "The text field in the ContentBlock object at messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) +
					" is blank. Add text to the text field, and try again."
			}
			_, use := block["toolUse"]
			_, result := block["toolResult"]
			toolBlocks = toolBlocks || use || result
		}
	}
	if toolBlocks && len(req.ToolConfig) == 0 {
		return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
	}
	return ""
}

func stopReason(r Reply) string {
	switch {
	case r.StopReason != "":
		return r.StopReason
	case len(r.ToolUses) > 0:
		return "tool_use"
	}
	return "end_turn"
}

func usageJSON(u Usage) map[string]int {
	m := map[string]int{"inputTokens": u.Input, "outputTokens": u.Output,
		"totalTokens": u.Input + u.Output + u.CacheRead + u.CacheWrite}
	if u.CacheRead != 0 || u.CacheWrite != 0 {
		m["cacheReadInputTokens"] = u.CacheRead
		m["cacheWriteInputTokens"] = u.CacheWrite
	}
	return m
}

// usageObject is usageJSON with cacheDetails, the writes by TTL (1h first).
func usageObject(u Usage) map[string]any {
	m := map[string]any{}
	for k, v := range usageJSON(u) {
		m[k] = v
	}
	var details []map[string]any
	if u.CacheWrite1h > 0 {
		details = append(details, map[string]any{"inputTokens": u.CacheWrite1h, "ttl": "1h"})
	}
	if w := u.CacheWrite - u.CacheWrite1h; w > 0 {
		details = append(details, map[string]any{"inputTokens": w, "ttl": "5m"})
	}
	if details != nil {
		m["cacheDetails"] = details
	}
	return m
}

func converseAnswer(r Reply) map[string]any {
	content := []any{}
	if r.Reasoning != "" {
		content = append(content, map[string]any{"reasoningContent": map[string]any{
			"reasoningText": map[string]string{"text": r.Reasoning, "signature": Sign(r.Reasoning)}}})
	}
	if len(r.RedactedReasoning) > 0 {
		content = append(content, map[string]any{"reasoningContent": map[string]any{"redactedContent": r.RedactedReasoning}})
	}
	if r.Text != "" {
		content = append(content, map[string]string{"text": r.Text})
	}
	for _, tu := range r.ToolUses {
		content = append(content, map[string]any{"toolUse": map[string]any{
			"toolUseId": tu.ID, "name": tu.Name, "input": json.RawMessage(tu.Input)}})
	}
	return map[string]any{
		"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": stopReason(r),
		"usage":      usageObject(r.Usage),
		"metrics":    map[string]int{"latencyMs": 42},
	}
}

// streamAnswer writes ConverseStream's event-stream frames, flushing each.
func streamAnswer(w http.ResponseWriter, req *http.Request, r Reply) {
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	enc := eventstream.NewEncoder()
	pad := 0
	frame := func(msgType, name string, payload map[string]any) {
		// Bedrock pads payloads with a "p" member of varying length so the
		// size of a frame does not reveal its text.
		pad++
		payload["p"] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[:1+pad%36]
		data, _ := json.Marshal(payload)
		var h eventstream.Headers
		h.Set(":message-type", eventstream.StringValue(msgType))
		if msgType == "exception" {
			h.Set(":exception-type", eventstream.StringValue(name))
		} else {
			h.Set(":event-type", eventstream.StringValue(name))
		}
		h.Set(":content-type", eventstream.StringValue("application/json"))
		_ = enc.Encode(w, eventstream.Message{Headers: h, Payload: data})
		if flusher != nil {
			flusher.Flush()
		}
	}
	frame("event", "messageStart", map[string]any{"role": "assistant"})
	block := 0
	if r.Reasoning != "" {
		frame("event", "contentBlockDelta", map[string]any{"contentBlockIndex": block,
			"delta": map[string]any{"reasoningContent": map[string]string{"text": r.Reasoning}}})
		frame("event", "contentBlockDelta", map[string]any{"contentBlockIndex": block,
			"delta": map[string]any{"reasoningContent": map[string]string{"signature": Sign(r.Reasoning)}}})
		frame("event", "contentBlockStop", map[string]any{"contentBlockIndex": block})
		block++
	}
	if len(r.RedactedReasoning) > 0 {
		frame("event", "contentBlockDelta", map[string]any{"contentBlockIndex": block,
			"delta": map[string]any{"reasoningContent": map[string]any{"redactedContent": r.RedactedReasoning}}})
		frame("event", "contentBlockStop", map[string]any{"contentBlockIndex": block})
		block++
	}
	if r.Text != "" {
		// Text blocks start with their first delta; Bedrock sends no
		// contentBlockStart for them.
		for i, word := range strings.SplitAfter(r.Text, " ") {
			if i > 0 && !pause(req, r.Gap) {
				return
			}
			frame("event", "contentBlockDelta", map[string]any{"contentBlockIndex": block,
				"delta": map[string]string{"text": word}})
		}
		frame("event", "contentBlockStop", map[string]any{"contentBlockIndex": block})
		block++
	}
	for _, tu := range r.ToolUses {
		frame("event", "contentBlockStart", map[string]any{"contentBlockIndex": block,
			"start": map[string]any{"toolUse": map[string]string{"toolUseId": tu.ID, "name": tu.Name}}})
		half := len(tu.Input) / 2
		for _, piece := range []string{tu.Input[:half], tu.Input[half:]} {
			if piece != "" {
				frame("event", "contentBlockDelta", map[string]any{"contentBlockIndex": block,
					"delta": map[string]any{"toolUse": map[string]string{"input": piece}}})
			}
		}
		frame("event", "contentBlockStop", map[string]any{"contentBlockIndex": block})
		block++
	}
	if e := r.StreamError; e != nil {
		// The exception type is the event-stream member name: lower camel case.
		frame("exception", strings.ToLower(e.Name[:1])+e.Name[1:], map[string]any{"message": e.Message})
		return
	}
	frame("event", "messageStop", map[string]any{"stopReason": stopReason(r)})
	frame("event", "metadata", map[string]any{"usage": usageObject(r.Usage), "metrics": map[string]int{"latencyMs": 42}})
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

// titanField reports whether k is a member of a Titan text embeddings v2 request.
func titanField(k string) bool {
	switch k {
	case "inputText", "dimensions", "normalize", "embeddingTypes":
		return true
	}
	return false
}

// invoke answers InvokeModel as Titan text embeddings v2 does: a
// deterministic unit vector per text, its size the requested dimensions.
func (s *Server) invoke(w http.ResponseWriter, body []byte) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		writeException(w, &Exception{Name: "ValidationException", Message: "Malformed input request, please reformat your input and try again."})
		return
	}
	for k := range top {
		if !titanField(k) {
			writeException(w, &Exception{Name: "ValidationException",
				Message: "Malformed input request: extraneous key [" + k + "] is not permitted, please reformat your input and try again."})
			return
		}
	}
	var req struct {
		InputText  string `json:"inputText"`
		Dimensions int    `json:"dimensions"`
	}
	_ = json.Unmarshal(body, &req)
	switch req.Dimensions {
	case 0:
		req.Dimensions = 1024
	case 256, 512, 1024:
	default:
		writeException(w, &Exception{Name: "ValidationException",
			Message: "Malformed input request: #/dimensions: " + strconv.Itoa(req.Dimensions) + " is not a valid enum value, please reformat your input and try again."})
		return
	}
	if req.InputText == "" {
		writeException(w, &Exception{Name: "ValidationException",
			Message: "Malformed input request: #: required key [inputText] not found, please reformat your input and try again."})
		return
	}
	vec := Embedding(req.InputText, req.Dimensions)
	writeJSON(w, http.StatusOK, map[string]any{"embedding": vec, "embeddingsByType": map[string]any{"float": vec},
		"inputTextTokenCount": len(strings.Fields(req.InputText))})
}

// Embedding is the vector the fake answers for text: deterministic, of unit
// length.
func Embedding(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	x := h.Sum64()
	vec := make([]float32, dims)
	var norm float64
	for i := range vec {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		v := float64(x%2001)/1000 - 1
		vec[i] = float32(v)
		norm += v * v
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		return vec
	}
	for i := range vec {
		vec[i] = float32(float64(vec[i]) / norm)
	}
	return vec
}
