// Package messages translates Anthropic's Messages API (POST /v1/messages and
// /v1/messages/count_tokens) to and from the router's Chat Completions
// vocabulary: Parse turns a request into an llm.ChatRequest and its chat JSON
// body, Render turns a chat.completion into a message object, Stream turns
// committed chat.completion.chunk objects into Anthropic's event stream, and
// AppendError and Status give errors Anthropic's shape and status codes.
//
// Choices where the two APIs differ:
//
//   - system (a string or text blocks) becomes one system message, blocks
//     joined with "\n" (as text parts when a block has a cache_control
//     marker, so each keeps its marker).
//   - cache_control markers are kept: on a text or image block as the
//     part's, on a tool_result (or a block inside it) as the tool
//     message's, on an assistant block as the turn's, on a tool as the
//     tool's, and a top-level one as the last message's.
//   - A user turn's tool_result blocks become tool messages placed first;
//     its other blocks follow as one user message. Images inside a
//     tool_result go to that user message, as chat tool messages hold text.
//     is_error has no chat equivalent: the result's text reaches the model
//     as it is ("Error" when it is empty).
//   - An assistant turn's thinking blocks become its reasoning_content;
//     signed thinking and redacted_thinking blocks also become its
//     thinking_blocks, which go back to Anthropic and Bedrock as they came.
//   - top_k is dropped without an error: OpenAI's API has no such setting
//     and refuses unknown ones, and it is a sampling hint, not something the
//     answer's form depends on. service_tier, container and inference_geo are
//     dropped likewise.
//   - thinking {type: enabled, budget_tokens} becomes reasoning_effort:
//     below 4096 tokens "low", below 16384 "medium", else "high" (Claude
//     Code's "think", "think hard" and "ultrathink" budgets, 4000, 10000 and
//     31999, land on the three). output_config.effort, when set, wins
//     ("xhigh" and "max" are "high"). With thinking enabled or adaptive, an
//     answer's reasoning_content comes back as thinking blocks with an empty
//     signature; otherwise it is dropped, as Anthropic sends thinking only
//     when asked.
//   - output_config.format (json_schema) becomes a strict json_schema
//     response_format named "output".
//   - A stop_sequence stop reason needs the matched sequence, which chat
//     answers carry only as a choice's non-standard stop_reason (vLLM,
//     SGLang); without it a stop is end_turn.
//
// Server tools (web search, code execution, bash, …), MCP servers,
// document, search_result and container_upload blocks and file sources are
// refused with a 400 naming the field.
package messages

import (
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// Request is a parsed Messages request: the equivalent chat request and
// what rendering the answer needs.
type Request struct {
	// Chat is the equivalent Chat Completions request. It must not be
	// modified once the engine has it.
	Chat *llm.ChatRequest
	// Body is Chat as a Chat Completions JSON body, for upstreams that relay
	// bodies. A streamed request asks for stream_options.include_usage: the
	// message_delta event carries usage.
	Body []byte
	// ID is the message's id, "msg_" and 32 random hex digits.
	ID string

	// thinking reports that the client enabled thinking (enabled or
	// adaptive): reasoning is rendered as thinking blocks.
	thinking bool
}

// Stream reports whether the client asked for server-sent events.
func (r *Request) Stream() bool { return r.Chat.Stream }

// fields are the raw values of the top-level members Parse reads.
type fields struct {
	model, maxTokens, messages, system, stop, temperature, topP, topK, metadata,
	stream, tools, toolChoice, thinking, outputConfig, mcpServers, cacheControl []byte
}

// Parse decodes a Messages request. Errors are 400s (*llm.Error of kind
// KindInvalidRequest) whose Param names the offending field as the Messages
// request has it (messages[1].content[0].source.type); AppendError renders
// them in Anthropic's shape.
func Parse(body []byte) (*Request, *llm.Error) {
	p, e := parse(body, true)
	if e != nil {
		return nil, e
	}
	req := &Request{Chat: p.chat, ID: wire.RandomID("msg_"), thinking: p.thinking}
	req.Body = wire.AppendChat(make([]byte, 0, len(body)+64), p.chat, nil)
	return req, nil
}

// ParseCountTokens decodes a count_tokens request: the body of a Messages
// request without max_tokens, which counting does not need. The request it
// returns is what the router estimates tokens from; AppendCount writes the
// answer.
func ParseCountTokens(body []byte) (*llm.ChatRequest, *llm.Error) {
	p, e := parse(body, false)
	if e != nil {
		return nil, e
	}
	return p.chat, nil
}

// AppendCount appends count_tokens' answer, {"input_tokens":n}.
func AppendCount(dst []byte, inputTokens int) []byte {
	dst = append(dst, `{"input_tokens":`...)
	dst = strconv.AppendInt(dst, int64(inputTokens), 10)
	return append(dst, '}')
}

// parse decodes and validates a request; only Parse needs an id and a body.
func parse(body []byte, needMax bool) (parser, *llm.Error) {
	// One check for every API: syntax, depth, and no member twice (a
	// duplicate name could be read one way here and another upstream).
	if e := llm.CheckBody(body); e != nil {
		return parser{}, e
	}
	var f fields
	m := rawjson.MembersOf(body)
	for m.Next() {
		v := m.Value()
		switch string(m.Key()) {
		case "model":
			f.model = v
		case "max_tokens":
			f.maxTokens = v
		case "messages":
			f.messages = v
		case "system":
			f.system = v
		case "stop_sequences":
			f.stop = v
		case "temperature":
			f.temperature = v
		case "top_p":
			f.topP = v
		case "top_k":
			f.topK = v
		case "metadata":
			f.metadata = v
		case "stream":
			f.stream = v
		case "tools":
			f.tools = v
		case "tool_choice":
			f.toolChoice = v
		case "thinking":
			f.thinking = v
		case "output_config":
			f.outputConfig = v
		case "mcp_servers":
			f.mcpServers = v
		case "cache_control":
			f.cacheControl = v
		}
	}
	if m.Err() != nil {
		return parser{}, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body must be a JSON object")
	}
	p := parser{chat: &llm.ChatRequest{Messages: make([]llm.Message, 0, 8)}}
	if e := p.parse(&f, needMax); e != nil {
		return parser{}, e
	}
	if err := p.chat.Validate(); err != nil {
		return parser{}, llm.AsError(err)
	}
	return p, nil
}

// parser builds the chat request.
type parser struct {
	chat     *llm.ChatRequest
	thinking bool
}

func (p *parser) parse(f *fields, needMax bool) *llm.Error {
	c := p.chat
	var ok bool
	if c.Model, ok = wire.String(f.model); !ok {
		return typeError("model", "string", f.model)
	}
	if c.Model == "" {
		return llm.InvalidRequest("model", llm.CodeMissingParam, "model: Field required")
	}
	switch {
	case !wire.IsNull(f.maxTokens):
		n, ok := wire.Int(f.maxTokens)
		if !ok {
			return typeError("max_tokens", "integer", f.maxTokens)
		}
		if n < 1 {
			return llm.InvalidRequest("max_tokens", llm.CodeInvalidValue, "max_tokens: must be at least 1")
		}
		c.MaxCompletionTokens = &n
	case needMax:
		return llm.InvalidRequest("max_tokens", llm.CodeMissingParam, "max_tokens: Field required")
	}
	if !wire.IsNull(f.mcpServers) {
		return unsupported("mcp_servers", "MCP servers are not supported by this router: declare the tools you run yourself")
	}
	if e := p.system(f.system); e != nil {
		return e
	}
	if e := p.messages(f.messages); e != nil {
		return e
	}
	// A top-level marker is Anthropic's automatic caching: the breakpoint
	// goes on the last block, which is the last message's.
	if marker, e := cacheControl("cache_control", f.cacheControl); e != nil {
		return e
	} else if marker != nil && len(c.Messages) > 0 {
		c.Messages[len(c.Messages)-1].CacheControl = marker
	}
	if e := p.sampling(f); e != nil {
		return e
	}
	if e := p.tools(f.tools, f.toolChoice); e != nil {
		return e
	}
	if e := p.reasoning(f.thinking, f.outputConfig); e != nil {
		return e
	}
	if !wire.IsNull(f.metadata) {
		if f.metadata[0] != '{' {
			return typeError("metadata", "object", f.metadata)
		}
		uid, _ := rawjson.Find(f.metadata, "user_id")
		if c.User, ok = wire.String(uid); !ok {
			return typeError("metadata.user_id", "string", uid)
		}
	}
	if c.Stream, ok = wire.Bool(f.stream); !ok {
		return typeError("stream", "boolean", f.stream)
	}
	if c.Stream {
		c.StreamOptions = &llm.StreamOptions{IncludeUsage: true}
	}
	return nil
}

// system translates the system prompt into one system message: a string,
// or, when a block carries a cache marker, text parts that keep each
// block's marker (and the "\n" between blocks, so its text is the same).
func (p *parser) system(v []byte) *llm.Error {
	switch {
	case wire.IsNull(v):
		return nil
	case v[0] == '"':
		s, _ := wire.String(v)
		if s != "" {
			p.chat.Messages = append(p.chat.Messages, llm.Message{Role: "system", Content: llm.Content{Text: s}})
		}
		return nil
	case v[0] != '[':
		return typeError("system", "string or array", v)
	}
	var b joiner
	var parts []llm.Part
	marked := false
	els := rawjson.ElementsOf(v)
	for i := 0; els.Next(); i++ {
		param := "system[" + strconv.Itoa(i) + "]"
		bv := els.Value()
		if bv[0] != '{' {
			return typeError(param, "object", bv)
		}
		var typ, text, cc []byte
		m := rawjson.MembersOf(bv)
		for m.Next() {
			switch string(m.Key()) {
			case "type":
				typ = m.Value()
			case "text":
				text = m.Value()
			case "cache_control":
				cc = m.Value()
			}
		}
		if string(typ) != `"text"` {
			return llm.InvalidRequest(param+".type", llm.CodeInvalidValue, "system blocks must be text blocks")
		}
		s, ok := wire.String(text)
		if !ok {
			return typeError(param+".text", "string", text)
		}
		marker, e := cacheControl(param+".cache_control", cc)
		if e != nil {
			return e
		}
		b.add(s, "\n")
		switch {
		case s != "":
			if n := len(parts); n > 0 {
				parts[n-1].Text += "\n"
			}
			parts = append(parts, llm.Part{Type: "text", Text: s, CacheControl: marker})
		case marker != nil && len(parts) > 0:
			parts[len(parts)-1].CacheControl = marker // an empty block marks what precedes it
		}
		marked = marked || marker != nil
	}
	switch {
	case b.s == "":
	case marked:
		p.chat.Messages = append(p.chat.Messages, llm.Message{Role: "system", Content: llm.Content{Parts: parts, IsParts: true}})
	default:
		p.chat.Messages = append(p.chat.Messages, llm.Message{Role: "system", Content: llm.Content{Text: b.s}})
	}
	return nil
}

// sampling reads stop_sequences, temperature and top_p, and checks top_k's
// type before dropping it.
func (p *parser) sampling(f *fields) *llm.Error {
	c := p.chat
	if !wire.IsNull(f.stop) {
		if f.stop[0] != '[' {
			return typeError("stop_sequences", "array", f.stop)
		}
		els := rawjson.ElementsOf(f.stop)
		for i := 0; els.Next(); i++ {
			s, ok := wire.String(els.Value())
			if !ok || els.Value()[0] != '"' {
				return typeError("stop_sequences["+strconv.Itoa(i)+"]", "string", els.Value())
			}
			c.Stop = append(c.Stop, s)
		}
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
		if x < 0 || x > 1 {
			return llm.InvalidRequest(s.name, llm.CodeInvalidValue, s.name+": must be between 0 and 1")
		}
		*s.dst = &x
	}
	if !wire.IsNull(f.topK) {
		if n, ok := wire.Int(f.topK); !ok || n < 0 {
			return typeError("top_k", "non-negative integer", f.topK)
		}
	}
	return nil
}

// Thinking budgets at which reasoning_effort steps up.
const (
	mediumBudget = 4096
	highBudget   = 16384
)

// reasoning reads thinking and output_config.
func (p *parser) reasoning(thinking, config []byte) *llm.Error {
	c := p.chat
	if !wire.IsNull(thinking) {
		if thinking[0] != '{' {
			return typeError("thinking", "object", thinking)
		}
		typ, _ := rawjson.Find(thinking, "type")
		switch string(typ) {
		case `"enabled"`:
			raw, _ := rawjson.Find(thinking, "budget_tokens")
			budget, ok := wire.Int(raw)
			if !ok {
				return typeError("thinking.budget_tokens", "integer", raw)
			}
			if budget < 1024 {
				return llm.InvalidRequest("thinking.budget_tokens", llm.CodeInvalidValue, "thinking.budget_tokens: must be at least 1024")
			}
			switch {
			case budget < mediumBudget:
				c.ReasoningEffort = "low"
			case budget < highBudget:
				c.ReasoningEffort = "medium"
			default:
				c.ReasoningEffort = "high"
			}
			p.thinking = true
		case `"adaptive"`:
			p.thinking = true
		case `"disabled"`:
		default:
			return llm.InvalidRequest("thinking.type", llm.CodeInvalidValue, `thinking.type must be "enabled", "adaptive" or "disabled"`)
		}
	}
	if wire.IsNull(config) {
		return nil
	}
	if config[0] != '{' {
		return typeError("output_config", "object", config)
	}
	var effort, format []byte
	m := rawjson.MembersOf(config)
	for m.Next() {
		switch string(m.Key()) {
		case "effort":
			effort = m.Value()
		case "format":
			format = m.Value()
		}
	}
	switch string(effort) {
	case "", "null":
	case `"low"`, `"medium"`, `"high"`:
		c.ReasoningEffort = string(effort[1 : len(effort)-1])
	case `"xhigh"`, `"max"`:
		c.ReasoningEffort = "high"
	default:
		return llm.InvalidRequest("output_config.effort", llm.CodeInvalidValue, `output_config.effort must be "low", "medium", "high", "xhigh" or "max"`)
	}
	if wire.IsNull(format) {
		return nil
	}
	if format[0] != '{' {
		return typeError("output_config.format", "object", format)
	}
	typ, _ := rawjson.Find(format, "type")
	if string(typ) != `"json_schema"` {
		return llm.InvalidRequest("output_config.format.type", llm.CodeInvalidValue, `output_config.format.type must be "json_schema"`)
	}
	schema, _ := rawjson.Find(format, "schema")
	if len(schema) == 0 || schema[0] != '{' {
		return llm.InvalidRequest("output_config.format.schema", llm.CodeMissingParam, "output_config.format.schema: must be a JSON schema object")
	}
	strict := true
	c.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "output", Schema: schema, Strict: &strict}}
	return nil
}

func typeError(param, want string, v []byte) *llm.Error {
	return llm.InvalidRequest(param, llm.CodeInvalidType, param+": Input should be a valid "+want+", not "+wire.Type(v))
}

// codeUnsupported is the code of a 400 for a feature the router does not
// serve on this surface.
const codeUnsupported = "unsupported_parameter"

func unsupported(param, msg string) *llm.Error {
	return llm.InvalidRequest(param, codeUnsupported, param+": "+msg)
}
