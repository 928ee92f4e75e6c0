package llm

import (
	"context"
	"net/http"
	"strconv"

	"github.com/llm-router/router/shared/rawjson"
)

// Provider sends one attempt of a chat completion to one upstream and answers in
// OpenAI's shapes. Adapters only translate: timeouts, fallback, metering and error
// rendering are the gateway's. Errors are *Error values carrying a Kind and the
// upstream status, so the gateway can decide on fallback with errors.As.
type Provider interface {
	// Name is the provider's configured name.
	Name() string
	// Chat returns the whole answer.
	Chat(ctx context.Context, req *Request) (*Response, error)
	// Stream returns once the upstream has accepted the request; an upstream
	// error status is returned here, before any chunk.
	Stream(ctx context.Context, req *Request) (Stream, error)
}

// Request is one attempt's input. Chat and Body are shared between attempts
// and must not be modified.
type Request struct {
	Chat *ChatRequest
	// Body is the client's JSON body as received.
	Body []byte
	// Model is the model id the client sees in answers.
	Model string
	// Upstream is the provider's own model name.
	Upstream string
	// MaxTokens is the output limit to send when the client set none and the
	// provider requires one (the model's configured default).
	MaxTokens int
}

// ClampOutput returns r with the client's output limit lowered to limit, the
// model's hard cap, where the client asked for more: Chat is a copy whose
// max_tokens and max_completion_tokens are at most limit, and Body a copy
// with those members rewritten, so adapters that relay the body and adapters
// that translate Chat send the same limit. r itself is returned when nothing
// is above limit or limit is 0 (unknown); r's Chat and Body, shared between
// attempts, are never modified.
func (r *Request) ClampOutput(limit int) (*Request, error) {
	c := r.Chat
	if limit <= 0 || c == nil || !(over(c.MaxTokens, limit) || over(c.MaxCompletionTokens, limit)) {
		return r, nil
	}
	out, chat := *r, *c
	capped := strconv.AppendInt(nil, int64(limit), 10)
	for _, m := range [...]struct {
		name string
		v    **int
	}{{"max_tokens", &chat.MaxTokens}, {"max_completion_tokens", &chat.MaxCompletionTokens}} {
		if !over(*m.v, limit) {
			continue
		}
		body, err := rawjson.Set(out.Body, m.name, capped)
		if err != nil {
			return nil, err
		}
		out.Body, *m.v = body, &limit
	}
	out.Chat = &chat
	return &out, nil
}

func over(n *int, limit int) bool { return n != nil && *n > limit }

// Response is a whole chat completion.
type Response struct {
	// Body is an OpenAI chat.completion JSON object whose model is Request.Model.
	Body  []byte
	Usage Usage
}

// Stream yields OpenAI chat.completion.chunk objects.
type Stream interface {
	// Next returns the next chunk, io.EOF after the last one, or an *Error the
	// upstream reported mid-stream. Chunk.Data is valid until the next call.
	Next() (Chunk, error)
	// Close releases the upstream connection; it is safe to call twice.
	Close() error
}

// Chunk is one streamed chat.completion.chunk.
type Chunk struct {
	// Data is one chat.completion.chunk JSON object with model = Request.Model.
	Data []byte
	// Usage is set on the chunk that carries the stream's usage.
	Usage *Usage
	// UsageOnly marks the final chunk with no choices that exists only to carry
	// usage; the gateway hides it from clients that did not ask for usage.
	UsageOnly bool
}

// Deps are what adapters are built with, once per configuration.
type Deps struct {
	// HTTP is the client for upstream calls; its transport is shared.
	HTTP *http.Client
	// Keys resolves key references such as env:NAME or secret:ID#field.
	Keys KeyResolver
}

// KeyResolver resolves a provider key reference to the key. Implementations
// cache; Resolve is called on every attempt.
type KeyResolver interface {
	Resolve(ctx context.Context, ref string) (string, error)
}

// KeyInvalidator is implemented by resolvers that can drop a cached key, so a
// key rotated in its store is fetched again after a provider rejects it.
type KeyInvalidator interface {
	Invalidate(ref string)
}

// Embedder is implemented by providers that serve embeddings.
type Embedder interface {
	Embed(ctx context.Context, req *EmbeddingRequest) (*Response, error)
}

// EmbeddingRequest is one attempt of an embeddings call.
type EmbeddingRequest struct {
	// Body is the client's JSON body as received.
	Body []byte
	// Input is the text inputs; nil when the client sent token arrays, which
	// only OpenAI-compatible upstreams accept (TokenInput is then set).
	Input      []string
	TokenInput bool
	Model      string
	Upstream   string
	// Dimensions is the requested output size, 0 for the model's default.
	Dimensions int
	// EncodingFormat is "float" (default) or "base64".
	EncodingFormat string
}

// Base64Embedder is implemented by embedders that answer encoding_format
// "base64" themselves, as OpenAI does. For the others the router asks for
// floats and encodes them.
type Base64Embedder interface {
	Base64Embeddings() bool
}

// MultiChoice is implemented by providers that can answer a request for n
// choices themselves (OpenAI's n, Gemini's candidateCount). For the others,
// and when it reports false, the router makes n calls with n = 1 and merges
// their answers.
type MultiChoice interface {
	MultiChoice() bool
}

// Prober is implemented by providers that can check their own health cheaply.
type Prober interface {
	// Probe checks that the endpoint answers and the key is accepted, for the
	// given upstream model where the provider needs one.
	Probe(ctx context.Context, upstream string) error
}
