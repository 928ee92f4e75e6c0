// Package responses translates OpenAI's Responses API (POST /v1/responses)
// to and from the router's Chat Completions vocabulary, statelessly: Parse
// turns a request into an llm.ChatRequest and its chat JSON body, Render turns
// a chat.completion into a response object, and Stream turns committed
// chat.completion.chunk objects into the Responses event sequence.
//
// Features that need state kept by the server (previous_response_id,
// conversation, store: true, background: true, stored prompts, item
// references, input_image and input_file by file_id) and OpenAI's built-in
// tools are refused with a 400 naming the parameter, so a client never gets
// an answer that silently ignored part of its request.
//
// Settings with no chat equivalent that change nothing the client can rely on
// (truncation, include, max_tool_calls, top_logprobs, stream_options,
// prompt_cache_retention, context_management) are accepted, ignored and
// echoed. metadata is validated and echoed but not sent upstream: it labels the
// stored response, and OpenAI's chat API refuses metadata without store.
//
// Function tools are sent with strict only when the client set it: a schema
// that strict mode refuses would otherwise fail upstream, and non-strict is
// chat's default.
//
// Reasoning: an input reasoning item's reasoning_text becomes the
// reasoning_content of the assistant turn that follows it (what DeepSeek-style
// upstreams want back); its summary and encrypted_content are dropped. An
// answer's reasoning_content becomes a reasoning item with reasoning_text
// content.
package responses

import (
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// codeUnsupported is OpenAI's code for a parameter the endpoint does not
// support.
const codeUnsupported = "unsupported_parameter"

// Request is a parsed Responses request: the equivalent chat request and
// what rendering the answer needs.
type Request struct {
	// Chat is the equivalent Chat Completions request. It must not be
	// modified once the engine has it.
	Chat *llm.ChatRequest
	// Body is Chat as a Chat Completions JSON body, plus the settings the
	// vocabulary has no field for (service_tier,
	// safety_identifier, verbosity), for upstreams that relay bodies. A
	// streamed request asks for stream_options.include_usage: the
	// response.completed event carries usage.
	Body []byte
	// ID is the response's id, "resp_" and 32 random hex digits. The ids of
	// its output items are derived from it, so setting it makes rendering
	// deterministic.
	ID string

	// echo is the request's settings as the response object repeats them:
	// a run of members that starts with a comma.
	echo []byte
}

// Stream reports whether the client asked for server-sent events.
func (r *Request) Stream() bool { return r.Chat.Stream }

// fields are the raw values of the top-level members Parse reads.
type fields struct {
	model, input, instructions, tools, toolChoice, parallel, text, maxOutput,
	temperature, topP, reasoning, metadata, user, stream, store, background,
	previous, conversation, prompt, serviceTier, cacheKey, safetyID, topLogprobs,
	maxToolCalls, truncation []byte
}

// Parse decodes a Responses request. Errors are 400s (*llm.Error of kind
// KindInvalidRequest) whose Param names the offending field in the
// Responses request, as OpenAI names it (input[2].content[0].image_url).
func Parse(body []byte) (*Request, *llm.Error) {
	// One check for every API: syntax, depth, and no member twice (a
	// duplicate name could be read one way here and another upstream).
	if e := llm.CheckBody(body); e != nil {
		return nil, e
	}
	var f fields
	m := rawjson.MembersOf(body)
	for m.Next() {
		v := m.Value()
		switch string(m.Key()) {
		case "model":
			f.model = v
		case "input":
			f.input = v
		case "instructions":
			f.instructions = v
		case "tools":
			f.tools = v
		case "tool_choice":
			f.toolChoice = v
		case "parallel_tool_calls":
			f.parallel = v
		case "text":
			f.text = v
		case "max_output_tokens":
			f.maxOutput = v
		case "temperature":
			f.temperature = v
		case "top_p":
			f.topP = v
		case "reasoning":
			f.reasoning = v
		case "metadata":
			f.metadata = v
		case "user":
			f.user = v
		case "stream":
			f.stream = v
		case "store":
			f.store = v
		case "background":
			f.background = v
		case "previous_response_id":
			f.previous = v
		case "conversation":
			f.conversation = v
		case "prompt":
			f.prompt = v
		case "service_tier":
			f.serviceTier = v
		case "prompt_cache_key":
			f.cacheKey = v
		case "safety_identifier":
			f.safetyID = v
		case "top_logprobs":
			f.topLogprobs = v
		case "max_tool_calls":
			f.maxToolCalls = v
		case "truncation":
			f.truncation = v
		}
	}
	if m.Err() != nil {
		return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body must be a JSON object")
	}
	p := parser{chat: &llm.ChatRequest{Messages: make([]llm.Message, 0, 8)}}
	if e := p.parse(&f); e != nil {
		return nil, e
	}
	if err := p.chat.Validate(); err != nil {
		return nil, llm.AsError(err)
	}
	req := &Request{Chat: p.chat, ID: wire.RandomID("resp_")}
	req.Body = wire.AppendChat(make([]byte, 0, len(body)+len(p.extra)+64), p.chat, p.extra)
	req.echo = p.appendEcho(make([]byte, 0, 256+len(f.tools)+len(f.metadata)), &f)
	return req, nil
}

// parser builds the chat request; extra collects the chat body's members the
// vocabulary has no field for.
type parser struct {
	chat  *llm.ChatRequest
	extra []byte
	in    inputState
}

func (p *parser) parse(f *fields) *llm.Error {
	if e := refuseState(f); e != nil {
		return e
	}
	c := p.chat
	var ok bool
	if c.Model, ok = wire.String(f.model); !ok {
		return typeError("model", "string", f.model)
	}
	if c.Model == "" {
		return llm.InvalidRequest("model", llm.CodeMissingParam, "you must provide a model parameter")
	}
	if !wire.IsNull(f.instructions) {
		s, ok := wire.String(f.instructions)
		if !ok {
			return typeError("instructions", "string", f.instructions)
		}
		if s != "" {
			c.Messages = append(c.Messages, llm.Message{Role: "system", Content: llm.Content{Text: s}})
		}
	}
	if e := p.input(f.input); e != nil {
		return e
	}
	if e := p.tools(f.tools); e != nil {
		return e
	}
	if e := p.toolChoice(f.toolChoice); e != nil {
		return e
	}
	if !wire.IsNull(f.parallel) {
		b, ok := wire.Bool(f.parallel)
		if !ok {
			return typeError("parallel_tool_calls", "boolean", f.parallel)
		}
		c.ParallelToolCalls = &b
	}
	if len(c.Tools) == 0 {
		// The Responses API accepts these without tools (and echoes them);
		// chat APIs refuse them with nothing to choose from.
		c.ToolChoice, c.ParallelToolCalls = nil, nil
	}
	if e := p.text(f.text); e != nil {
		return e
	}
	if e := p.numbers(f); e != nil {
		return e
	}
	if e := p.reasoning(f.reasoning); e != nil {
		return e
	}
	if e := checkMetadata(f.metadata); e != nil {
		return e
	}
	if c.User, ok = wire.String(f.user); !ok {
		return typeError("user", "string", f.user)
	}
	if c.Stream, ok = wire.Bool(f.stream); !ok {
		return typeError("stream", "boolean", f.stream)
	}
	if c.Stream {
		c.StreamOptions = &llm.StreamOptions{IncludeUsage: true}
	}
	if c.PromptCacheKey, ok = wire.String(f.cacheKey); !ok {
		return typeError("prompt_cache_key", "string", f.cacheKey)
	}
	for _, s := range [...]struct {
		name string
		v    []byte
	}{{"service_tier", f.serviceTier}, {"safety_identifier", f.safetyID}} {
		if wire.IsNull(s.v) {
			continue
		}
		if _, ok := wire.String(s.v); !ok {
			return typeError(s.name, "string", s.v)
		}
		p.addExtra(s.name, s.v)
	}
	return nil
}

// refuseState refuses what needs state on the server.
func refuseState(f *fields) *llm.Error {
	if !wire.IsNull(f.previous) {
		return unsupported("previous_response_id", "previous_response_id needs stored responses, and this router stores none: send the whole conversation in input")
	}
	if !wire.IsNull(f.conversation) {
		return unsupported("conversation", "conversations need stored state, and this router stores none: send the whole conversation in input")
	}
	if !wire.IsNull(f.prompt) {
		return unsupported("prompt", "stored prompts are not supported by this router: send instructions and input instead")
	}
	if b, ok := wire.Bool(f.store); !ok {
		return typeError("store", "boolean", f.store)
	} else if b {
		return unsupported("store", "this router stores no responses: set store to false or leave it out")
	}
	if b, ok := wire.Bool(f.background); !ok {
		return typeError("background", "boolean", f.background)
	} else if b {
		return unsupported("background", "background responses need stored state, and this router stores none")
	}
	return nil
}

// numbers reads max_output_tokens, temperature and top_p, and checks the
// types of the echoed-only numbers.
func (p *parser) numbers(f *fields) *llm.Error {
	c := p.chat
	if !wire.IsNull(f.maxOutput) {
		n, ok := wire.Int(f.maxOutput)
		if !ok {
			return typeError("max_output_tokens", "integer", f.maxOutput)
		}
		if n < 1 {
			return llm.InvalidRequest("max_output_tokens", llm.CodeInvalidValue, "max_output_tokens must be a positive integer")
		}
		c.MaxCompletionTokens = &n
	}
	for _, s := range [...]struct {
		name string
		v    []byte
		dst  **float64
	}{{"temperature", f.temperature, &c.Temperature}, {"top_p", f.topP, &c.TopP}} {
		if wire.IsNull(s.v) {
			continue
		}
		x, ok := wire.Float(s.v)
		if !ok {
			return typeError(s.name, "number", s.v)
		}
		*s.dst = &x
	}
	for _, s := range [...]struct {
		name string
		v    []byte
	}{{"top_logprobs", f.topLogprobs}, {"max_tool_calls", f.maxToolCalls}} {
		if wire.IsNull(s.v) {
			continue
		}
		if _, ok := wire.Int(s.v); !ok {
			return typeError(s.name, "integer", s.v)
		}
	}
	if !wire.IsNull(f.truncation) {
		switch string(f.truncation) {
		case `"auto"`, `"disabled"`:
		default:
			return llm.InvalidRequest("truncation", llm.CodeInvalidValue, `truncation must be "auto" or "disabled"`)
		}
	}
	return nil
}

// reasoning reads reasoning.effort; summary asks for reasoning summaries,
// which chat upstreams do not make, and is echoed only.
func (p *parser) reasoning(v []byte) *llm.Error {
	if wire.IsNull(v) {
		return nil
	}
	if v[0] != '{' {
		return typeError("reasoning", "object", v)
	}
	effort, _ := rawjson.Find(v, "effort")
	s, ok := wire.String(effort)
	if !ok {
		return typeError("reasoning.effort", "string", effort)
	}
	p.chat.ReasoningEffort = s
	return nil
}

// checkMetadata holds metadata to OpenAI's limits: at most 16 string values,
// keys of at most 64 characters, values of at most 512.
func checkMetadata(v []byte) *llm.Error {
	if wire.IsNull(v) {
		return nil
	}
	if v[0] != '{' {
		return typeError("metadata", "object", v)
	}
	m := rawjson.MembersOf(v)
	n := 0
	for m.Next() {
		n++
		s, ok := wire.String(m.Value())
		key := string(m.Key())
		switch {
		case n > 16:
			return llm.InvalidRequest("metadata", llm.CodeInvalidValue, "metadata may hold at most 16 keys")
		case !ok || m.Value()[0] != '"':
			return typeError("metadata."+key, "string", m.Value())
		case len(key) > 64:
			return llm.InvalidRequest("metadata", llm.CodeInvalidValue, "metadata keys may be at most 64 characters long")
		case len(s) > 512:
			return llm.InvalidRequest("metadata."+key, llm.CodeInvalidValue, "metadata values may be at most 512 characters long")
		}
	}
	return nil
}

func (p *parser) addExtra(key string, raw []byte) {
	if len(p.extra) > 0 {
		p.extra = append(p.extra, ',')
	}
	p.extra = append(p.extra, '"')
	p.extra = append(p.extra, key...)
	p.extra = append(p.extra, '"', ':')
	p.extra = append(p.extra, raw...)
}

func typeError(param, want string, v []byte) *llm.Error {
	return llm.InvalidRequest(param, llm.CodeInvalidType, param+" must be of type "+want+", not "+wire.Type(v))
}

func unsupported(param, msg string) *llm.Error {
	return llm.InvalidRequest(param, codeUnsupported, msg)
}
