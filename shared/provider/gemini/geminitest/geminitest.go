// Package geminitest is a fake Gemini API (generativelanguage.googleapis.com)
// for tests: a loopback HTTP server, like net/http/httptest, that speaks the
// real wire format closely enough for Google's own Go SDK to use it (its
// test proves that). Tests script its answers with Enqueue and inspect what
// it received with Requests.
//
// What it speaks: POST /v1beta/models/{model}:generateContent,
// :streamGenerateContent (alt=sse events, or a JSON array without alt=sse),
// :embedContent and :batchEmbedContents; GET /v1beta/models (paged) and
// /v1beta/models/{model}. Like the real service it checks the API key
// (x-goog-api-key header or ?key=), refuses unknown JSON fields, empty
// contents or parts, bad roles and non-object function arguments or
// responses, and answers errors in Google's shape with status and details.
// Answers carry fields clients must ignore (modelVersion, responseId,
// safetyRatings, token details), streamed parts are incremental, there is no
// [DONE], and finishReason and the full usageMetadata come on the last event.
package geminitest

import (
	"bytes"
	"encoding/base64"
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
	"sync"
	"time"

	"github.com/llm-router/router/shared/provider/providertest"
)

// DefaultKey is the API key a server accepts unless Options.Key says otherwise.
const DefaultKey = "gemini-test-key"

// DefaultText is the answer of a Reply that scripts no text and no calls,
// streamed in three pieces.
const DefaultText = "Hello from the fake Gemini."

// Options configure a Server.
type Options struct {
	// Key is the API key the server accepts (default DefaultKey).
	Key string
	// RequireThoughtSignatures refuses a request in which a model turn's first
	// function call has no thoughtSignature, as Gemini 3 models do. (The real
	// service checks only the current turn; the fake checks every turn.)
	RequireThoughtSignatures bool
	// EmbeddingSize is the length of embeddings when the request sets no
	// outputDimensionality (default 8).
	EmbeddingSize int
}

// Server is a running fake. Close it when done.
type Server struct {
	// URL is the base URL, http://127.0.0.1:PORT, without the API version.
	URL string

	opts Options
	srv  *httptest.Server

	mu    sync.Mutex
	queue []Reply
	reqs  []Request
	n     int // answers made, numbering response ids
}

// NewServer starts a fake on a loopback port.
func NewServer(opts Options) *Server {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.EmbeddingSize <= 0 {
		opts.EmbeddingSize = 8
	}
	s := &Server{opts: opts}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// Key is the API key the server accepts.
func (s *Server) Key() string { return s.opts.Key }

// Enqueue scripts the answers to the next POST requests (generate or embed
// calls), one Reply each, in order. With the queue empty a request gets the
// zero Reply: DefaultText, STOP and computed usage.
func (s *Server) Enqueue(replies ...Reply) {
	s.mu.Lock()
	s.queue = append(s.queue, replies...)
	s.mu.Unlock()
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Request is one request as the server received it.
type Request struct {
	Method string
	// Path is the URL path, e.g. /v1beta/models/gemini-2.5-flash:generateContent.
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
}

// Decode unmarshals the request body into v.
func (r Request) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Reply scripts one answer. The zero Reply answers DefaultText.
type Reply struct {
	// Text is the answer's text, one streamed event per element; a plain
	// answer joins them.
	Text []string
	// Thought, when set, is a thought part (thought: true) before the text.
	Thought string
	// Calls are function calls, each its own event after the text.
	Calls []Call
	// FinishReason is the last event's finishReason (default STOP).
	FinishReason string
	// Usage replaces the computed usageMetadata.
	Usage *Usage
	// BlockReason blocks the prompt: a 200 answer with no candidates and
	// promptFeedback.blockReason set (SAFETY, OTHER, PROHIBITED_CONTENT, ...).
	BlockReason string
	// Error answers with this error status instead.
	Error *Error
	// StreamError ends a stream after its content events with this error
	// instead of a finishReason (a plain answer returns it as an error status).
	StreamError *Error
	// StreamErrorBare sends StreamError as a bare JSON object rather than a
	// data: event, a form Google's SDK also accepts.
	StreamErrorBare bool
	// Truncate closes a stream after its content events, with no finishReason.
	Truncate bool
	// Delay holds the response headers back this long: a slow first byte.
	Delay time.Duration
	// ResponseID replaces the generated responseId.
	ResponseID string
}

// Call is a scripted function call.
type Call struct {
	// ID is the call's id; Gemini often sends none.
	ID   string
	Name string
	// Args are the arguments (a JSON object); nil sends none.
	Args map[string]any
	// ThoughtSignature, when set, is sent base64-encoded on the call's part.
	ThoughtSignature []byte
}

// Usage is a scripted usageMetadata; TotalTokenCount is their sum.
type Usage struct {
	Prompt, Candidates, Thoughts, Cached, ToolUsePrompt int
}

// Error is a scripted error answer in Google's shape.
type Error struct {
	// Code is the HTTP status, e.g. 429.
	Code int
	// Status is the google.rpc status name, e.g. RESOURCE_EXHAUSTED.
	Status string
	// Message is the error's message; providertest.QuoteAuth and QuoteBody
	// in it quote the request.
	Message string
	// Reason, when set, adds a google.rpc.ErrorInfo detail (e.g. API_KEY_INVALID).
	Reason string
	// RetryDelay, when set, adds a google.rpc.RetryInfo detail (e.g. "17s").
	RetryDelay string
}

// NewError is an error with the status name Google uses for code and
// Google's usual message for it when message is empty.
func NewError(code int, message string) *Error {
	e := &Error{Code: code, Status: statusName(code), Message: message}
	if e.Message == "" {
		e.Message = defaultMessage(code)
	}
	if code == http.StatusTooManyRequests {
		e.RetryDelay = "17s"
	}
	return e
}

func statusName(code int) string {
	switch code {
	case 400:
		return "INVALID_ARGUMENT"
	case 401:
		return "UNAUTHENTICATED"
	case 402, 429:
		return "RESOURCE_EXHAUSTED"
	case 403:
		return "PERMISSION_DENIED"
	case 404:
		return "NOT_FOUND"
	case 409:
		return "ABORTED"
	case 499:
		return "CANCELLED"
	case 500:
		return "INTERNAL"
	case 501:
		return "UNIMPLEMENTED"
	case 503:
		return "UNAVAILABLE"
	case 504:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

func defaultMessage(code int) string {
	switch code {
	case 429:
		return "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
	case 500:
		return "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting"
	case 503:
		return "The model is overloaded. Please try again later."
	case 504:
		return "Deadline expired before operation could complete."
	}
	return http.StatusText(code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()

	key := r.Header.Get("x-goog-api-key")
	if key == "" {
		key = r.URL.Query().Get("key")
	}
	switch key {
	case s.opts.Key:
	case "":
		writeError(w, &Error{Code: 403, Status: "PERMISSION_DENIED", Message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."})
		return
	default:
		writeError(w, &Error{Code: 400, Status: "INVALID_ARGUMENT", Message: "API key not valid. Please pass a valid API key.", Reason: "API_KEY_INVALID"})
		return
	}

	rest, ok := strings.CutPrefix(r.URL.Path, "/v1beta/")
	if !ok {
		rest, ok = strings.CutPrefix(r.URL.Path, "/v1/")
	}
	if !ok || !strings.HasPrefix(rest, "models") {
		writeError(w, NewError(404, "Requested entity was not found."))
		return
	}
	if r.Method == http.MethodGet {
		s.serveModels(w, r, rest)
		return
	}
	if r.Method != http.MethodPost {
		writeError(w, NewError(405, "Method not allowed."))
		return
	}
	resource, method, ok := strings.Cut(strings.TrimPrefix(rest, "models/"), ":")
	if !ok || resource == "" {
		writeError(w, NewError(404, "Requested entity was not found."))
		return
	}
	switch method {
	case "generateContent", "streamGenerateContent":
		req, err := decodeGenerate(body, s.opts.RequireThoughtSignatures)
		if err == nil {
			err = checkThinking(resource, req.GenerationConfig)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		reply, ok := s.next(w, r, body)
		if !ok {
			return
		}
		a := newAnswer(resource, req, reply)
		switch {
		case method == "generateContent":
			a.writePlain(w)
		case r.URL.Query().Get("alt") == "sse":
			a.writeSSE(w)
		default:
			a.writeArray(w)
		}
	case "embedContent", "batchEmbedContents":
		texts, dims, err := decodeEmbed(body, method == "batchEmbedContents", resource)
		if err != nil {
			writeError(w, err)
			return
		}
		if _, ok := s.next(w, r, body); !ok {
			return
		}
		s.writeEmbeddings(w, texts, dims, method == "batchEmbedContents")
	default:
		writeError(w, NewError(404, "Method not found: "+method))
	}
}

// next pops the scripted reply, waits out its delay and answers its error
// status; ok is false when the request has been answered or abandoned.
func (s *Server) next(w http.ResponseWriter, r *http.Request, body []byte) (Reply, bool) {
	s.mu.Lock()
	var reply Reply
	if len(s.queue) > 0 {
		reply = s.queue[0]
		s.queue = s.queue[1:]
	}
	s.n++
	if reply.ResponseID == "" {
		reply.ResponseID = fmt.Sprintf("fakeRsp%05dGm", s.n)
	}
	s.mu.Unlock()
	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return reply, false
		}
	}
	if reply.Error != nil {
		e := *reply.Error
		e.Message = providertest.Quote(e.Message, r.Header, body)
		writeError(w, &e)
		return reply, false
	}
	if reply.StreamError != nil {
		e := *reply.StreamError
		e.Message = providertest.Quote(e.Message, r.Header, body)
		reply.StreamError = &e
	}
	return reply, true
}

// writeError writes e as Google does: indented JSON with details.
func writeError(w http.ResponseWriter, e *Error) {
	type detail map[string]any
	var details []detail
	if e.Reason != "" {
		details = append(details, detail{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": e.Reason,
			"domain": "googleapis.com", "metadata": map[string]string{"service": "generativelanguage.googleapis.com"}})
		details = append(details, detail{"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": e.Message})
	}
	if e.Code == http.StatusTooManyRequests {
		details = append(details, detail{"@type": "type.googleapis.com/google.rpc.QuotaFailure",
			"violations": []map[string]string{{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}}})
	}
	if e.RetryDelay != "" {
		details = append(details, detail{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": e.RetryDelay})
	}
	body, _ := json.MarshalIndent(map[string]any{"error": errorObject(e, details)}, "", "  ")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.Code)
	_, _ = w.Write(append(body, '\n'))
}

func errorObject(e *Error, details any) map[string]any {
	m := map[string]any{"code": e.Code, "message": e.Message, "status": e.Status}
	if details != nil {
		m["details"] = details
	}
	return m
}

func invalid(format string, args ...any) *Error {
	return &Error{Code: 400, Status: "INVALID_ARGUMENT", Message: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes like Google's proto JSON parser: unknown fields fail.
func decodeStrict(body []byte, v any) *Error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return invalid("Invalid JSON payload received. Unknown name %s: Cannot find field.", name)
		}
		return invalid("Invalid JSON payload received. %s", strings.TrimPrefix(msg, "json: "))
	}
	return nil
}

// The request shapes the fake accepts; fields not listed here are refused.

type generateRequest struct {
	Contents          []wireContent   `json:"contents"`
	SystemInstruction *wireContent    `json:"systemInstruction"`
	Tools             []wireTool      `json:"tools"`
	ToolConfig        *wireToolConfig `json:"toolConfig"`
	SafetySettings    json.RawMessage `json:"safetySettings"`
	GenerationConfig  *wireGenConfig  `json:"generationConfig"`
	CachedContent     string          `json:"cachedContent"`
	ServiceTier       json.RawMessage `json:"serviceTier"`
	Store             json.RawMessage `json:"store"`
}

type wireContent struct {
	Role  string     `json:"role"`
	Parts []wirePart `json:"parts"`
}

type wirePart struct {
	Text                *string         `json:"text"`
	Thought             bool            `json:"thought"`
	ThoughtSignature    string          `json:"thoughtSignature"`
	InlineData          *wireBlob       `json:"inlineData"`
	FileData            json.RawMessage `json:"fileData"`
	FunctionCall        *wireCall       `json:"functionCall"`
	FunctionResponse    *wireResponse   `json:"functionResponse"`
	ExecutableCode      json.RawMessage `json:"executableCode"`
	CodeExecutionResult json.RawMessage `json:"codeExecutionResult"`
	VideoMetadata       json.RawMessage `json:"videoMetadata"`
	MediaResolution     json.RawMessage `json:"mediaResolution"`
	PartMetadata        json.RawMessage `json:"partMetadata"`
}

type wireBlob struct {
	MimeType    string `json:"mimeType"`
	Data        string `json:"data"`
	DisplayName string `json:"displayName"`
}

type wireCall struct {
	ID   string          `json:"id"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args"`
}

type wireResponse struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Response     json.RawMessage `json:"response"`
	WillContinue json.RawMessage `json:"willContinue"`
	Scheduling   json.RawMessage `json:"scheduling"`
	Parts        json.RawMessage `json:"parts"`
}

type wireTool struct {
	FunctionDeclarations  []wireDecl      `json:"functionDeclarations"`
	GoogleSearch          json.RawMessage `json:"googleSearch"`
	GoogleSearchRetrieval json.RawMessage `json:"googleSearchRetrieval"`
	CodeExecution         json.RawMessage `json:"codeExecution"`
	URLContext            json.RawMessage `json:"urlContext"`
}

type wireDecl struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	Parameters           json.RawMessage `json:"parameters"`
	ParametersJSONSchema json.RawMessage `json:"parametersJsonSchema"`
	Response             json.RawMessage `json:"response"`
	ResponseJSONSchema   json.RawMessage `json:"responseJsonSchema"`
	Behavior             json.RawMessage `json:"behavior"`
}

type wireToolConfig struct {
	FunctionCallingConfig *struct {
		Mode                        string          `json:"mode"`
		AllowedFunctionNames        []string        `json:"allowedFunctionNames"`
		StreamFunctionCallArguments json.RawMessage `json:"streamFunctionCallArguments"`
	} `json:"functionCallingConfig"`
	RetrievalConfig json.RawMessage `json:"retrievalConfig"`
}

type wireGenConfig struct {
	Temperature                *float64        `json:"temperature"`
	TopP                       *float64        `json:"topP"`
	TopK                       *float64        `json:"topK"`
	CandidateCount             int             `json:"candidateCount"`
	MaxOutputTokens            int             `json:"maxOutputTokens"`
	StopSequences              []string        `json:"stopSequences"`
	Seed                       *int32          `json:"seed"`
	PresencePenalty            *float64        `json:"presencePenalty"`
	FrequencyPenalty           *float64        `json:"frequencyPenalty"`
	ResponseMimeType           string          `json:"responseMimeType"`
	ResponseSchema             json.RawMessage `json:"responseSchema"`
	ResponseJSONSchema         json.RawMessage `json:"responseJsonSchema"`
	ResponseModalities         json.RawMessage `json:"responseModalities"`
	ResponseLogprobs           json.RawMessage `json:"responseLogprobs"`
	Logprobs                   json.RawMessage `json:"logprobs"`
	ThinkingConfig             json.RawMessage `json:"thinkingConfig"`
	SpeechConfig               json.RawMessage `json:"speechConfig"`
	MediaResolution            json.RawMessage `json:"mediaResolution"`
	ImageConfig                json.RawMessage `json:"imageConfig"`
	AudioTranscriptionConfig   json.RawMessage `json:"audioTranscriptionConfig"`
	EnableEnhancedCivicAnswers json.RawMessage `json:"enableEnhancedCivicAnswers"`
}

// checkThinking checks generationConfig.thinkingConfig against the model
// as the service does: a budget or a level, not both; levels only on
// Gemini 3 (Pro low and high, Flash minimal to high); budgets within the
// model's range (2.5 Pro 128 to 32768 and cannot be 0, Flash 0 to 24576,
// Flash-Lite 0 or 512 to 24576; -1 is dynamic).
func checkThinking(model string, g *wireGenConfig) *Error {
	if g == nil || len(g.ThinkingConfig) == 0 {
		return nil
	}
	var tc struct {
		Budget          *int   `json:"thinkingBudget"`
		Level           string `json:"thinkingLevel"`
		IncludeThoughts bool   `json:"includeThoughts"`
	}
	if e := decodeStrict(g.ThinkingConfig, &tc); e != nil {
		return e
	}
	m := strings.ToLower(model)
	gen3, pro := strings.HasPrefix(m, "gemini-3"), strings.Contains(m, "pro")
	if tc.Budget != nil && tc.Level != "" {
		return invalid("You cannot use both thinking_level and the legacy thinking_budget parameter in the same request.")
	}
	if tc.Level != "" {
		level := strings.ToLower(tc.Level) // the enum's name, or the lower case the docs show
		ok := gen3 && (level == "low" || level == "high" || !pro && (level == "minimal" || level == "medium"))
		if !ok {
			return invalid("Thinking level %s is not supported for this model.", tc.Level)
		}
	}
	if b := tc.Budget; b != nil && *b != -1 && !gen3 {
		lo, hi := 0, 24576
		switch {
		case pro:
			lo, hi = 128, 32768
		case strings.Contains(m, "lite") && *b != 0:
			lo = 512
		}
		if *b == 0 && pro {
			return invalid("Budget 0 is invalid. This model only works in thinking mode.")
		}
		if *b < lo || *b > hi {
			return invalid("The thinking budget %d is invalid. Please choose a value between %d and %d.", *b, lo, hi)
		}
	}
	return nil
}

// decodeGenerate decodes and checks a generateContent body as the service
// would, with its error messages.
func decodeGenerate(body []byte, requireSignatures bool) (*generateRequest, *Error) {
	var req generateRequest
	if e := decodeStrict(body, &req); e != nil {
		return nil, e
	}
	if len(req.Contents) == 0 {
		return nil, invalid("* GenerateContentRequest.contents: contents is not specified\n")
	}
	for i, c := range req.Contents {
		if c.Role != "" && c.Role != "user" && c.Role != "model" {
			return nil, invalid("Please use a valid role: user, model.")
		}
		if e := checkParts(fmt.Sprintf("contents[%d]", i), c.Parts); e != nil {
			return nil, e
		}
		if requireSignatures && c.Role == "model" {
			for _, p := range c.Parts {
				if p.FunctionCall != nil {
					if p.ThoughtSignature == "" {
						return nil, invalid("Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:%s` , position %d. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.", p.FunctionCall.Name, i+1)
					}
					break // only a turn's first call is signed
				}
			}
		}
	}
	if si := req.SystemInstruction; si != nil {
		if e := checkParts("system_instruction", si.Parts); e != nil {
			return nil, e
		}
	}
	for i, t := range req.Tools {
		for j, d := range t.FunctionDeclarations {
			if d.Name == "" {
				return nil, invalid("* GenerateContentRequest.tools[%d].function_declarations[%d].name: Name cannot be empty.\n", i, j)
			}
			if len(d.Parameters) > 0 && len(d.ParametersJSONSchema) > 0 {
				return nil, invalid("* GenerateContentRequest.tools[%d].function_declarations[%d]: parameters and parameters_json_schema are mutually exclusive\n", i, j)
			}
		}
	}
	if g := req.GenerationConfig; g != nil {
		if len(g.ResponseJSONSchema) > 0 && g.ResponseMimeType != "application/json" {
			return nil, invalid("* GenerateContentRequest.generation_config.response_mime_type: response_json_schema requires response_mime_type application/json\n")
		}
		if g.CandidateCount < 0 || g.CandidateCount > 8 {
			return nil, invalid("* GenerateContentRequest.generation_config.candidate_count: must be between 1 and 8\n")
		}
	}
	return &req, nil
}

func checkParts(where string, parts []wirePart) *Error {
	if len(parts) == 0 {
		return invalid("* GenerateContentRequest.%s.parts: contents.parts must not be empty.\n", where)
	}
	for j, p := range parts {
		at := fmt.Sprintf("%s.parts[%d]", where, j)
		if p.Text == nil && p.InlineData == nil && p.FileData == nil && p.FunctionCall == nil &&
			p.FunctionResponse == nil && p.ExecutableCode == nil && p.CodeExecutionResult == nil {
			return invalid("* GenerateContentRequest.%s.data: required oneof field 'data' must have one initialized field\n", at)
		}
		if p.ThoughtSignature != "" && !isBase64(p.ThoughtSignature) {
			return invalid("Invalid value at '%s.thought_signature' (TYPE_BYTES), Base64 decoding failed", at)
		}
		if b := p.InlineData; b != nil {
			if b.MimeType == "" {
				return invalid("* GenerateContentRequest.%s.inline_data.mime_type: mime_type must not be empty\n", at)
			}
			if !isBase64(b.Data) {
				return invalid("Invalid value at '%s.inline_data.data' (TYPE_BYTES), Base64 decoding failed", at)
			}
		}
		if c := p.FunctionCall; c != nil {
			if c.Name == "" {
				return invalid("* GenerateContentRequest.%s.function_call.name: Name cannot be empty.\n", at)
			}
			if len(c.Args) > 0 && !isObject(c.Args) {
				return invalid("Invalid value at '%s.function_call.args' (type.googleapis.com/google.protobuf.Struct), %s", at, c.Args)
			}
		}
		if r := p.FunctionResponse; r != nil {
			if r.Name == "" {
				return invalid("* GenerateContentRequest.%s.function_response.name: Name cannot be empty.\n", at)
			}
			if !isObject(r.Response) {
				return invalid("Invalid value at '%s.function_response.response' (type.googleapis.com/google.protobuf.Struct), %s", at, r.Response)
			}
		}
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// isBase64 accepts the standard and URL-safe alphabets, padded or not, as
// proto JSON does for bytes.
func isBase64(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(s); err == nil {
			return true
		}
	}
	return false
}

// Answer shapes. They are the fake's own, not the adapter's, so a test
// passes only when both sides agree with the wire format.

type response struct {
	Candidates     []candidate     `json:"candidates,omitempty"`
	PromptFeedback *promptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *usageMetadata  `json:"usageMetadata,omitempty"`
	ModelVersion   string          `json:"modelVersion"`
	ResponseID     string          `json:"responseId"`
}

type candidate struct {
	Content       *outContent    `json:"content,omitempty"`
	FinishReason  string         `json:"finishReason,omitempty"`
	Index         int            `json:"index,omitempty"` // proto3 JSON leaves 0 out
	SafetyRatings []safetyRating `json:"safetyRatings,omitempty"`
}

type outContent struct {
	Parts []outPart `json:"parts"`
	Role  string    `json:"role"`
}

type outPart struct {
	Text             string   `json:"text,omitempty"`
	Thought          bool     `json:"thought,omitempty"`
	ThoughtSignature []byte   `json:"thoughtSignature,omitempty"`
	FunctionCall     *outCall `json:"functionCall,omitempty"`
}

type outCall struct {
	ID   string         `json:"id,omitempty"`
	Name string         `json:"name"`
	Args map[string]any `json:"args,omitempty"`
}

type promptFeedback struct {
	BlockReason   string         `json:"blockReason"`
	SafetyRatings []safetyRating `json:"safetyRatings"`
}

type safetyRating struct {
	Category    string `json:"category"`
	Probability string `json:"probability"`
	Blocked     bool   `json:"blocked,omitempty"`
}

type usageMetadata struct {
	PromptTokenCount        int             `json:"promptTokenCount"`
	CandidatesTokenCount    int             `json:"candidatesTokenCount,omitempty"`
	TotalTokenCount         int             `json:"totalTokenCount"`
	CachedContentTokenCount int             `json:"cachedContentTokenCount,omitempty"`
	ToolUsePromptTokenCount int             `json:"toolUsePromptTokenCount,omitempty"`
	ThoughtsTokenCount      int             `json:"thoughtsTokenCount,omitempty"`
	PromptTokensDetails     []modalityCount `json:"promptTokensDetails,omitempty"`
}

type modalityCount struct {
	Modality   string `json:"modality"`
	TokenCount int    `json:"tokenCount"`
}

func safetyRatings() []safetyRating {
	return []safetyRating{
		{Category: "HARM_CATEGORY_SEXUALLY_EXPLICIT", Probability: "NEGLIGIBLE"},
		{Category: "HARM_CATEGORY_HATE_SPEECH", Probability: "NEGLIGIBLE"},
		{Category: "HARM_CATEGORY_HARASSMENT", Probability: "NEGLIGIBLE"},
		{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "NEGLIGIBLE"},
	}
}

// answer is a reply made concrete for one request.
type answer struct {
	reply      Reply
	model      string
	candidates int
	usage      usageMetadata
	events     [][]outPart // content parts per streamed event
}

func newAnswer(model string, req *generateRequest, reply Reply) *answer {
	a := &answer{reply: reply, model: model, candidates: 1}
	if g := req.GenerationConfig; g != nil && g.CandidateCount > 1 {
		a.candidates = g.CandidateCount
	}
	text := reply.Text
	if len(text) == 0 && len(reply.Calls) == 0 {
		text = []string{"Hello", " from the", " fake Gemini."}
	}
	if reply.Thought != "" {
		a.events = append(a.events, []outPart{{Text: reply.Thought, Thought: true}})
	}
	completion := 0
	for _, t := range text {
		if t == "" {
			continue // Text: []string{""} scripts an answer with no text at all
		}
		a.events = append(a.events, []outPart{{Text: t}})
		completion += (len(t) + 3) / 4
	}
	for _, c := range reply.Calls {
		a.events = append(a.events, []outPart{{FunctionCall: &outCall{ID: c.ID, Name: c.Name, Args: c.Args},
			ThoughtSignature: c.ThoughtSignature}})
		completion += 8
	}
	u := Usage{Prompt: promptTokens(req), Candidates: completion, Thoughts: (len(reply.Thought) + 3) / 4}
	if reply.Usage != nil {
		u = *reply.Usage
	}
	a.usage = usageMetadata{PromptTokenCount: u.Prompt, CandidatesTokenCount: u.Candidates,
		ThoughtsTokenCount: u.Thoughts, CachedContentTokenCount: u.Cached, ToolUsePromptTokenCount: u.ToolUsePrompt,
		TotalTokenCount:     u.Prompt + u.Candidates + u.Thoughts + u.ToolUsePrompt,
		PromptTokensDetails: []modalityCount{{Modality: "TEXT", TokenCount: u.Prompt}}}
	return a
}

// promptTokens estimates a request's prompt size: a token per four bytes of text.
func promptTokens(req *generateRequest) int {
	n := 0
	count := func(parts []wirePart) {
		for _, p := range parts {
			if p.Text != nil {
				n += len(*p.Text)
			}
			if p.FunctionCall != nil {
				n += len(p.FunctionCall.Args) + len(p.FunctionCall.Name)
			}
			if p.FunctionResponse != nil {
				n += len(p.FunctionResponse.Response)
			}
		}
	}
	for _, c := range req.Contents {
		count(c.Parts)
	}
	if req.SystemInstruction != nil {
		count(req.SystemInstruction.Parts)
	}
	return n/4 + 1
}

// event is streamed event i of n, or the whole answer when i < 0.
func (a *answer) event(i int, final bool) response {
	r := response{ModelVersion: a.model, ResponseID: a.reply.ResponseID}
	if a.reply.BlockReason != "" {
		r.PromptFeedback = &promptFeedback{BlockReason: a.reply.BlockReason, SafetyRatings: []safetyRating{
			{Category: "HARM_CATEGORY_DANGEROUS_CONTENT", Probability: "HIGH", Blocked: true}}}
		r.UsageMetadata = &usageMetadata{PromptTokenCount: a.usage.PromptTokenCount, TotalTokenCount: a.usage.PromptTokenCount}
		return r
	}
	var parts []outPart
	if i < 0 {
		var text strings.Builder
		for _, ev := range a.events {
			for _, p := range ev {
				switch {
				case p.Thought || p.FunctionCall != nil:
					if text.Len() > 0 {
						parts = append(parts, outPart{Text: text.String()})
						text.Reset()
					}
					parts = append(parts, p)
				default:
					text.WriteString(p.Text)
				}
			}
		}
		if text.Len() > 0 {
			parts = append(parts, outPart{Text: text.String()})
		}
	} else if i < len(a.events) {
		parts = a.events[i]
	}
	if len(parts) == 0 {
		parts = []outPart{{Text: ""}}
	}
	for c := 0; c < a.candidates; c++ {
		cand := candidate{Content: &outContent{Parts: parts, Role: "model"}, Index: c}
		if final {
			cand.FinishReason = a.reply.FinishReason
			if cand.FinishReason == "" {
				cand.FinishReason = "STOP"
			}
			cand.SafetyRatings = safetyRatings()
		}
		r.Candidates = append(r.Candidates, cand)
	}
	if final {
		u := a.usage
		r.UsageMetadata = &u
	} else {
		// Earlier events carry the prompt count only, as Gemini's often do.
		r.UsageMetadata = &usageMetadata{PromptTokenCount: a.usage.PromptTokenCount, TotalTokenCount: a.usage.PromptTokenCount}
	}
	return r
}

func (a *answer) writePlain(w http.ResponseWriter) {
	if e := a.reply.StreamError; e != nil {
		writeError(w, e)
		return
	}
	body, _ := json.MarshalIndent(a.event(-1, !a.reply.Truncate), "", "  ")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
}

// streamEvents is the answer as stream events; the last is final unless the
// reply truncates the stream or ends it with an error.
func (a *answer) streamEvents() []response {
	if a.reply.BlockReason != "" {
		return []response{a.event(0, true)}
	}
	n := max(len(a.events), 1)
	out := make([]response, n)
	for i := range n {
		out[i] = a.event(i, i == n-1 && !a.reply.Truncate && a.reply.StreamError == nil)
	}
	return out
}

func (a *answer) writeSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	write := func(b []byte) {
		_, _ = w.Write(b)
		if flusher != nil {
			flusher.Flush()
		}
	}
	for _, ev := range a.streamEvents() {
		body, _ := json.Marshal(ev)
		write(append(append([]byte("data: "), body...), "\r\n\r\n"...))
	}
	if e := a.reply.StreamError; e != nil {
		body, _ := json.Marshal(map[string]any{"error": errorObject(e, nil)})
		if a.reply.StreamErrorBare {
			write(append(body, "\r\n\r\n"...))
		} else {
			write(append(append([]byte("data: "), body...), "\r\n\r\n"...))
		}
	}
}

// writeArray answers streamGenerateContent without alt=sse: a JSON array of
// the events, written as they come.
func (a *answer) writeArray(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("["))
	for i, ev := range a.streamEvents() {
		if i > 0 {
			_, _ = w.Write([]byte(",\r\n"))
		}
		body, _ := json.MarshalIndent(ev, "", "  ")
		_, _ = w.Write(body)
	}
	if e := a.reply.StreamError; e != nil {
		body, _ := json.Marshal(map[string]any{"error": errorObject(e, nil)})
		_, _ = w.Write(append([]byte(",\r\n"), body...))
	}
	_, _ = w.Write([]byte("]"))
}

type embedBody struct {
	Model                string          `json:"model"`
	Content              *wireContent    `json:"content"`
	OutputDimensionality int             `json:"outputDimensionality"`
	TaskType             string          `json:"taskType"`
	Title                string          `json:"title"`
	EmbedContentConfig   json.RawMessage `json:"embedContentConfig"`
}

// decodeEmbed returns the texts to embed and the requested size (0: default).
func decodeEmbed(body []byte, batch bool, model string) ([]string, int, *Error) {
	var reqs []embedBody
	if batch {
		var b struct {
			Requests []embedBody `json:"requests"`
		}
		if e := decodeStrict(body, &b); e != nil {
			return nil, 0, e
		}
		if len(b.Requests) == 0 {
			return nil, 0, invalid("* BatchEmbedContentsRequest.requests: requests is not specified\n")
		}
		if len(b.Requests) > 100 {
			return nil, 0, invalid("* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n")
		}
		reqs = b.Requests
	} else {
		var one embedBody
		if e := decodeStrict(body, &one); e != nil {
			return nil, 0, e
		}
		reqs = []embedBody{one}
	}
	texts := make([]string, len(reqs))
	dims := 0
	for i, r := range reqs {
		if batch && r.Model != "models/"+model {
			return nil, 0, invalid("* BatchEmbedContentsRequest.requests[%d].model: Model name must match the model in the URL (models/%s).\n", i, model)
		}
		if r.Content == nil || len(r.Content.Parts) == 0 {
			return nil, 0, invalid("* EmbedContentRequest.content: content is not specified\n")
		}
		var sb strings.Builder
		for _, p := range r.Content.Parts {
			if p.Text == nil || *p.Text == "" {
				return nil, 0, invalid("* EmbedContentRequest.content.parts: text must not be empty\n")
			}
			sb.WriteString(*p.Text)
		}
		texts[i] = sb.String()
		if r.OutputDimensionality < 0 || r.OutputDimensionality > 3072 {
			return nil, 0, invalid("* EmbedContentRequest.output_dimensionality: must be between 1 and 3072\n")
		}
		dims = r.OutputDimensionality
	}
	return texts, dims, nil
}

func (s *Server) writeEmbeddings(w http.ResponseWriter, texts []string, dims int, batch bool) {
	if dims == 0 {
		dims = s.opts.EmbeddingSize
	}
	type values struct {
		Values []float32 `json:"values"`
	}
	embs := make([]values, len(texts))
	for i, t := range texts {
		embs[i] = values{Values: Vector(t, dims)}
	}
	var body []byte
	if batch {
		body, _ = json.MarshalIndent(map[string]any{"embeddings": embs}, "", "  ")
	} else {
		body, _ = json.MarshalIndent(map[string]any{"embedding": embs[0]}, "", "  ")
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
}

// Vector is the embedding the fake answers for text: deterministic, of unit
// length, with dims values.
func Vector(text string, dims int) []float32 {
	v := make([]float32, dims)
	var sum float64
	for j := range v {
		h := fnv.New64a()
		_, _ = h.Write([]byte(text))
		_, _ = h.Write([]byte{byte(j), byte(j >> 8)})
		x := float64(h.Sum64()>>11)/(1<<53)*2 - 1
		v[j] = float32(x)
		sum += x * x
	}
	if norm := math.Sqrt(sum); norm > 0 {
		for j := range v {
			v[j] = float32(float64(v[j]) / norm)
		}
	}
	return v
}

// Models the fake lists, as the real service describes them.
func models() []map[string]any {
	model := func(name, display string, in, out int, methods ...string) map[string]any {
		return map[string]any{"name": "models/" + name, "version": "001", "displayName": display,
			"description": display + " (fake)", "inputTokenLimit": in, "outputTokenLimit": out,
			"supportedGenerationMethods": methods, "temperature": 1, "topP": 0.95, "topK": 64, "maxTemperature": 2}
	}
	return []map[string]any{
		model("gemini-2.5-flash", "Gemini 2.5 Flash", 1048576, 65536, "generateContent", "countTokens", "createCachedContent", "batchGenerateContent"),
		model("gemini-2.5-pro", "Gemini 2.5 Pro", 1048576, 65536, "generateContent", "countTokens", "createCachedContent", "batchGenerateContent"),
		model("gemini-embedding-001", "Gemini Embedding 001", 2048, 1, "embedContent", "countTextTokens", "countTokens"),
	}
}

func (s *Server) serveModels(w http.ResponseWriter, r *http.Request, rest string) {
	all := models()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if name, ok := strings.CutPrefix(rest, "models/"); ok {
		for _, m := range all {
			if m["name"] == "models/"+name {
				body, _ := json.MarshalIndent(m, "", "  ")
				_, _ = w.Write(body)
				return
			}
		}
		writeError(w, NewError(404, "models/"+name+" is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."))
		return
	}
	q := r.URL.Query()
	size, err := strconv.Atoi(q.Get("pageSize"))
	if err != nil || size <= 0 || size > 1000 {
		size = 50
	}
	start, _ := strconv.Atoi(q.Get("pageToken"))
	if start < 0 || start > len(all) {
		start = len(all)
	}
	end := min(start+size, len(all))
	page := map[string]any{"models": all[start:end]}
	if end < len(all) {
		page["nextPageToken"] = strconv.Itoa(end)
	}
	body, _ := json.MarshalIndent(page, "", "  ")
	_, _ = w.Write(body)
}
