// Package azuretest is a fake Azure OpenAI resource on loopback, for tests of
// anything that calls Azure OpenAI. It mimics Azure's wire format, checked by
// its own tests with the official openai-go client and its azure options:
//
//   - URLs: POST /openai/deployments/{deployment}/chat/completions and
//     /embeddings with an api-version query, GET /openai/models; and the v1
//     surface /openai/v1/chat/completions, /embeddings and /models, where the
//     body's model names the deployment and there is no api-version.
//   - Auth: the api-key header (on v1 also Authorization: Bearer with the key).
//     A wrong key is a 401 with Azure's body.
//   - Answers: OpenAI's shapes plus Azure's content-filter annotations; a
//     stream starts with a chunk that holds only prompt_filter_results (empty
//     choices, id and model) and ends with data: [DONE].
//   - Errors: {"error":{"code":...,"message":...}}, as Azure writes them, with
//     retry-after and retry-after-ms on 429s; content-filter refusals as a 400
//     with code content_filter.
//   - api-versions older than 2024-09-01-preview refuse stream_options, as
//     Azure does.
package azuretest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/provider/providertest"
)

// DefaultModel is the model Azure names in answers unless a reply says otherwise.
const DefaultModel = "gpt-4o-2024-08-06"

// Server is a running fake resource.
type Server struct {
	// URL is the resource endpoint, for an azure provider's base_url.
	URL string
	// Key is the API key the resource accepts.
	Key string

	srv         *httptest.Server
	deployments []string
	// Script queues replies and logs requests: Push, Requests, Last.
	providertest.Script[Request, Reply]
}

// Request is what the fake received.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	// Operation is chat, embeddings or models.
	Operation string
	// Deployment is the path's deployment, or on v1 the body's model.
	Deployment string
	// APIVersion is the api-version query ("" on the v1 surface).
	APIVersion string
	V1         bool
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Reply scripts the answer to one chat or embeddings request.
type Reply struct {
	// Text is the answer; streamed word by word.
	Text      string
	ToolCalls []ToolCall
	// FinishReason defaults to tool_calls with ToolCalls, else stop;
	// content_filter marks the choice's filter results as filtered.
	FinishReason string
	Usage        Usage
	// Model is the model Azure names (default DefaultModel).
	Model string
	// Error answers with this error instead.
	Error *Error
	// StreamError, for a stream, is sent as an error event after the
	// content, in place of the finish and usage chunks and [DONE].
	StreamError *Error
}

// ToolCall is one function call of the model.
type ToolCall struct {
	ID, Name, Arguments string
}

// Usage is the answer's token usage.
type Usage struct {
	Prompt, Completion, Cached int
}

// Error is an Azure error answer.
type Error struct {
	Status int
	Code   string
	// Message is the error's message; providertest.QuoteAuth and QuoteBody
	// in it quote the request.
	Message string
	// RetryAfter, in seconds, is sent as retry-after and retry-after-ms.
	RetryAfter int
}

// ContentFilter is Azure's refusal of a prompt its content filter flagged.
func ContentFilter() *Error {
	return &Error{Status: http.StatusBadRequest, Code: "content_filter",
		Message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. " +
			"Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"}
}

// Throttled is Azure's 429 for a deployment over its tokens-per-minute rate.
func Throttled(seconds int) *Error {
	return &Error{Status: http.StatusTooManyRequests, Code: "429", RetryAfter: seconds,
		Message: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after " +
			strconv.Itoa(seconds) + " seconds."}
}

// New starts a fake resource with the given API key that stops when the
// test ends. With deployments named, others answer 404 DeploymentNotFound.
func New(t testing.TB, key string, deployments ...string) *Server {
	s := &Server{Key: key, deployments: deployments}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the fake early, for tests of an unreachable endpoint.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body,
		APIVersion: r.URL.Query().Get("api-version")}
	var known bool
	req.Operation, req.Deployment, req.V1, known = route(r.Method, r.URL.Path)
	if req.V1 {
		var b struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(body, &b)
		req.Deployment = b.Model
	}
	seq, reply, queued := s.Take(req, known && req.Operation != "models")
	if !queued {
		reply = Reply{Text: "Hello from the fake Azure OpenAI.", Usage: Usage{Prompt: 12, Completion: 7}}
	}
	w.Header().Set("Apim-Request-Id", fmt.Sprintf("00000000-0000-0000-0000-%012d", seq))

	switch {
	case !s.authorized(r, req.V1):
		writeError(w, &Error{Status: http.StatusUnauthorized, Code: "401",
			Message: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."})
	case !known || (!req.V1 && req.APIVersion == ""):
		writeError(w, &Error{Status: http.StatusNotFound, Code: "404", Message: "Resource not found"})
	case req.Operation != "models" && len(s.deployments) > 0 && !contains(s.deployments, req.Deployment):
		writeError(w, &Error{Status: http.StatusNotFound, Code: "DeploymentNotFound",
			Message: "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."})
	case req.Operation == "models":
		writeJSON(w, map[string]any{"object": "list", "data": []map[string]any{{"id": DefaultModel, "object": "model",
			"created_at": 1723075200, "status": "succeeded", "lifecycle_status": "generally-available"}}})
	case reply.Error != nil:
		e := *reply.Error
		e.Message = providertest.Quote(e.Message, r.Header, body)
		writeError(w, &e)
	case req.Operation == "embeddings":
		embeddings(w, body)
	default:
		s.chat(w, req, reply, seq)
	}
}

func route(method, path string) (op, deployment string, v1, ok bool) {
	if rest, isV1 := strings.CutPrefix(path, "/openai/v1/"); isV1 {
		switch {
		case rest == "chat/completions" && method == http.MethodPost:
			return "chat", "", true, true
		case rest == "embeddings" && method == http.MethodPost:
			return "embeddings", "", true, true
		case rest == "models" && method == http.MethodGet:
			return "models", "", true, true
		}
		return "", "", true, false
	}
	if path == "/openai/models" && method == http.MethodGet {
		return "models", "", false, true
	}
	rest, ok := strings.CutPrefix(path, "/openai/deployments/")
	if !ok || method != http.MethodPost {
		return "", "", false, false
	}
	deployment, op, _ = strings.Cut(rest, "/")
	switch op {
	case "chat/completions":
		return "chat", deployment, false, true
	case "embeddings":
		return "embeddings", deployment, false, true
	}
	return "", "", false, false
}

func (s *Server) authorized(r *http.Request, v1 bool) bool {
	if r.Header.Get("Api-Key") == s.Key {
		return true
	}
	// The v1 surface also takes the key as a bearer token, which is what a
	// plain OpenAI client sends.
	return v1 && r.Header.Get("Authorization") == "Bearer "+s.Key
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	data, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func errorBody(e *Error) map[string]any {
	inner := map[string]any{"code": e.Code, "message": e.Message}
	if e.Code == "content_filter" {
		inner["param"] = "prompt"
		inner["type"] = nil
		inner["status"] = e.Status
		inner["innererror"] = map[string]any{"code": "ResponsibleAIPolicyViolation",
			"content_filter_result": filterResults(true)}
	}
	return map[string]any{"error": inner}
}

func writeError(w http.ResponseWriter, e *Error) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		w.Header().Set("Retry-After-Ms", strconv.Itoa(e.RetryAfter*1000))
	}
	data, _ := json.Marshal(errorBody(e))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(data)
}

// filterResults is a content_filter_results object; filtered marks sexual
// content as filtered, high.
func filterResults(filtered bool) map[string]any {
	safe := map[string]any{"filtered": false, "severity": "safe"}
	sexual := safe
	if filtered {
		sexual = map[string]any{"filtered": true, "severity": "high"}
	}
	return map[string]any{"hate": safe, "self_harm": safe, "sexual": sexual, "violence": safe}
}

func promptFilterResults() []map[string]any {
	r := filterResults(false)
	r["jailbreak"] = map[string]any{"filtered": false, "detected": false}
	return []map[string]any{{"prompt_index": 0, "content_filter_results": r}}
}

func finishReason(r Reply) string {
	switch {
	case r.FinishReason != "":
		return r.FinishReason
	case len(r.ToolCalls) > 0:
		return "tool_calls"
	}
	return "stop"
}

func usageJSON(u Usage) map[string]any {
	return map[string]any{"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details":     map[string]int{"cached_tokens": u.Cached, "audio_tokens": 0},
		"completion_tokens_details": map[string]int{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}
}

type chatBody struct {
	Stream        bool            `json:"stream"`
	StreamOptions json.RawMessage `json:"stream_options"`
}

func (s *Server) chat(w http.ResponseWriter, req Request, reply Reply, seq int) {
	var b chatBody
	if err := json.Unmarshal(req.Body, &b); err != nil {
		writeError(w, &Error{Status: http.StatusBadRequest, Code: "invalid_request_error", Message: "We could not parse the JSON body of your request."})
		return
	}
	if len(b.StreamOptions) > 0 && !req.V1 && req.APIVersion[:min(10, len(req.APIVersion))] < "2024-09-01" {
		writeJSONError(w, http.StatusBadRequest, `{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error","param":null,"code":null}}`)
		return
	}
	var opts struct {
		IncludeUsage bool `json:"include_usage"`
	}
	_ = json.Unmarshal(b.StreamOptions, &opts)
	model := reply.Model
	if model == "" {
		model = DefaultModel
	}
	id := fmt.Sprintf("chatcmpl-fake%06d", seq)
	filtered := finishReason(reply) == "content_filter"
	if !b.Stream {
		msg := map[string]any{"role": "assistant", "content": reply.Text, "refusal": nil}
		if len(reply.ToolCalls) > 0 {
			var calls []map[string]any
			for _, tc := range reply.ToolCalls {
				calls = append(calls, map[string]any{"id": tc.ID, "type": "function",
					"function": map[string]string{"name": tc.Name, "arguments": tc.Arguments}})
			}
			msg["tool_calls"] = calls
			if reply.Text == "" {
				msg["content"] = nil
			}
		}
		writeJSON(w, map[string]any{"id": id, "object": "chat.completion", "created": 1735689600, "model": model,
			"system_fingerprint": "fp_fake0001", "prompt_filter_results": promptFilterResults(),
			"choices": []map[string]any{{"index": 0, "message": msg, "finish_reason": finishReason(reply), "logprobs": nil,
				"content_filter_results": filterResults(filtered)}},
			"usage": usageJSON(reply.Usage)})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(v any) {
		data, _ := json.Marshal(v)
		_, _ = fmt.Fprintf(w, "data: %s\n\n", data)
		if flusher != nil {
			flusher.Flush()
		}
	}
	// Azure's first event: the prompt's filter results, before any choice.
	send(map[string]any{"choices": []any{}, "created": 0, "id": "", "model": "", "object": "",
		"prompt_filter_results": promptFilterResults()})
	chunk := func(delta map[string]any, finish any, filter map[string]any) map[string]any {
		c := map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1735689600, "model": model,
			"system_fingerprint": "fp_fake0001",
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil,
				"content_filter_results": filter}}}
		if opts.IncludeUsage {
			c["usage"] = nil
		}
		return c
	}
	send(chunk(map[string]any{"role": "assistant", "content": "", "refusal": nil}, nil, map[string]any{}))
	if reply.Text != "" {
		for _, word := range strings.SplitAfter(reply.Text, " ") {
			send(chunk(map[string]any{"content": word}, nil, filterResults(false)))
		}
	}
	for i, tc := range reply.ToolCalls {
		send(chunk(map[string]any{"tool_calls": []map[string]any{{"index": i, "id": tc.ID, "type": "function",
			"function": map[string]string{"name": tc.Name, "arguments": ""}}}}, nil, map[string]any{}))
		half := len(tc.Arguments) / 2
		for _, piece := range []string{tc.Arguments[:half], tc.Arguments[half:]} {
			if piece != "" {
				send(chunk(map[string]any{"tool_calls": []map[string]any{{"index": i, "function": map[string]string{"arguments": piece}}}},
					nil, map[string]any{}))
			}
		}
	}
	if e := reply.StreamError; e != nil {
		msg := providertest.Quote(e.Message, req.Header, req.Body)
		send(map[string]any{"error": map[string]any{"code": e.Code, "message": msg, "param": nil, "type": "server_error"}})
		return
	}
	send(chunk(map[string]any{}, finishReason(reply), filterResults(filtered)))
	if opts.IncludeUsage {
		send(map[string]any{"id": id, "object": "chat.completion.chunk", "created": 1735689600, "model": model,
			"system_fingerprint": "fp_fake0001", "choices": []any{}, "usage": usageJSON(reply.Usage)})
	}
	_, _ = io.WriteString(w, "data: [DONE]\n\n")
}

func writeJSONError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// embeddings answers an embeddings request: a deterministic unit vector per
// input, its size the requested dimensions (default 1536), a token per word.
func embeddings(w http.ResponseWriter, body []byte) {
	var b struct {
		Input          json.RawMessage `json:"input"`
		Dimensions     int             `json:"dimensions"`
		EncodingFormat string          `json:"encoding_format"`
	}
	_ = json.Unmarshal(body, &b)
	var inputs []string
	if err := json.Unmarshal(b.Input, &inputs); err != nil {
		var one string
		if err := json.Unmarshal(b.Input, &one); err != nil {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: "invalid_request_error", Message: "'input' is a required property"})
			return
		}
		inputs = []string{one}
	}
	if b.Dimensions == 0 {
		b.Dimensions = 1536
	}
	data := make([]map[string]any, len(inputs))
	tokens := 0
	for i, in := range inputs {
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": Embedding(in, b.Dimensions)}
		tokens += len(strings.Fields(in))
	}
	writeJSON(w, map[string]any{"object": "list", "data": data, "model": "text-embedding-3-small",
		"usage": map[string]int{"prompt_tokens": tokens, "total_tokens": tokens}})
}

// Embedding is the vector the fake answers for text: deterministic, of unit
// length.
func Embedding(text string, dims int) []float32 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	x := h.Sum64() | 1
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
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range vec {
			vec[i] = float32(float64(vec[i]) / norm)
		}
	}
	return vec
}
