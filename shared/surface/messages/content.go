package messages

import (
	"strconv"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// messages translates the conversation.
func (p *parser) messages(v []byte) *llm.Error {
	switch {
	case wire.IsNull(v):
		return llm.InvalidRequest("messages", llm.CodeMissingParam, "messages: Field required")
	case v[0] != '[':
		return typeError("messages", "array", v)
	}
	n := 0
	els := rawjson.ElementsOf(v)
	for ; els.Next(); n++ {
		if n == llm.MaxMessages {
			return llm.InvalidRequest("messages", llm.CodeTooManyMessages, "at most "+strconv.Itoa(llm.MaxMessages)+" messages per request")
		}
		if e := p.message(n, els.Value()); e != nil {
			return e
		}
	}
	if n == 0 {
		return llm.InvalidRequest("messages", llm.CodeMissingParam, "messages: at least one message is required")
	}
	return nil
}

// Error params are built only when an error needs one: a request has many
// blocks and few errors.

func msgParam(i int) string { return "messages[" + strconv.Itoa(i) + "]" }

func toolParam(i int) string { return "tools[" + strconv.Itoa(i) + "]" }

// at locates a content block: block j of message i, and block k of a
// tool_result's content (-1 when it is not inside one).
type at struct{ i, j, k int }

func (a at) String() string {
	s := msgParam(a.i) + ".content[" + strconv.Itoa(a.j) + "]"
	if a.k >= 0 {
		s += ".content[" + strconv.Itoa(a.k) + "]"
	}
	return s
}

// block is the members of a content block Parse reads.
type block struct {
	typ, text, source, id, name, input, toolUseID, content, isError, thinking, signature, data, cacheControl []byte
}

func readBlock(v []byte) block {
	var b block
	m := rawjson.MembersOf(v)
	for m.Next() {
		val := m.Value()
		switch string(m.Key()) {
		case "type":
			b.typ = val
		case "text":
			b.text = val
		case "source":
			b.source = val
		case "id":
			b.id = val
		case "name":
			b.name = val
		case "input":
			b.input = val
		case "tool_use_id":
			b.toolUseID = val
		case "content":
			b.content = val
		case "is_error":
			b.isError = val
		case "thinking":
			b.thinking = val
		case "signature":
			b.signature = val
		case "data":
			b.data = val
		case "cache_control":
			b.cacheControl = val
		}
	}
	return b
}

// cacheControl reads a cache_control object ({type, ttl?}); null or absent
// gives nil. Its values are checked with the rest of the request.
func cacheControl(param string, v []byte) (*llm.CacheControl, *llm.Error) {
	if wire.IsNull(v) {
		return nil, nil
	}
	if v[0] != '{' {
		return nil, typeError(param, "object", v)
	}
	var typ, ttl []byte
	m := rawjson.MembersOf(v)
	for m.Next() {
		switch string(m.Key()) {
		case "type":
			typ = m.Value()
		case "ttl":
			ttl = m.Value()
		}
	}
	c := &llm.CacheControl{}
	var ok bool
	if c.Type, ok = wire.String(typ); !ok {
		return nil, typeError(param+".type", "string", typ)
	}
	if c.TTL, ok = wire.String(ttl); !ok {
		return nil, typeError(param+".ttl", "string", ttl)
	}
	return c, nil
}

func (p *parser) message(i int, v []byte) *llm.Error {
	if v[0] != '{' {
		return typeError(msgParam(i), "object", v)
	}
	var role, content []byte
	m := rawjson.MembersOf(v)
	for m.Next() {
		switch string(m.Key()) {
		case "role":
			role = m.Value()
		case "content":
			content = m.Value()
		}
	}
	var r string
	switch string(role) {
	case `"user"`:
		r = "user"
	case `"assistant"`:
		r = "assistant"
	case "", "null":
		return llm.InvalidRequest(msgParam(i)+".role", llm.CodeMissingParam, msgParam(i)+".role: Field required")
	default:
		return llm.InvalidRequest(msgParam(i)+".role", llm.CodeInvalidValue, msgParam(i)+`.role: Input should be "user" or "assistant"`)
	}
	switch {
	case wire.IsNull(content):
		return llm.InvalidRequest(msgParam(i)+".content", llm.CodeMissingParam, msgParam(i)+".content: Field required")
	case content[0] == '"':
		s, _ := wire.String(content)
		p.chat.Messages = append(p.chat.Messages, llm.Message{Role: r, Content: llm.Content{Text: s}})
		return nil
	case content[0] != '[':
		return typeError(msgParam(i)+".content", "string or array", content)
	}
	if r == "assistant" {
		return p.assistant(i, content)
	}
	return p.user(i, content)
}

// user translates a user turn: its tool results first, as tool messages,
// then its other blocks as one user message.
func (p *parser) user(i int, v []byte) *llm.Error {
	var parts []llm.Part
	els := rawjson.ElementsOf(v)
	for j := 0; els.Next(); j++ {
		a := at{i, j, -1}
		bv := els.Value()
		if bv[0] != '{' {
			return typeError(a.String(), "object", bv)
		}
		b := readBlock(bv)
		marker, e := cacheControl(a.String()+".cache_control", b.cacheControl)
		if e != nil {
			return e
		}
		switch string(b.typ) {
		case `"text"`:
			s, ok := wire.String(b.text)
			if !ok {
				return typeError(a.String()+".text", "string", b.text)
			}
			parts = append(parts, llm.Part{Type: "text", Text: s, CacheControl: marker})
		case `"image"`:
			part, e := image(a, b.source)
			if e != nil {
				return e
			}
			part.CacheControl = marker
			parts = append(parts, part)
		case `"tool_result"`:
			images, e := p.toolResult(a, &b, marker)
			if e != nil {
				return e
			}
			parts = append(parts, images...)
		default:
			return blockError(a.String(), b.typ, "user messages hold text, image and tool_result blocks")
		}
	}
	if len(parts) == 0 {
		return nil
	}
	msg := llm.Message{Role: "user", Content: llm.Content{Parts: parts, IsParts: true}}
	if len(parts) == 1 && parts[0].Type == "text" {
		// One text block is a string, its marker the message's.
		msg.Content = llm.Content{Text: parts[0].Text}
		msg.CacheControl = parts[0].CacheControl
	}
	p.chat.Messages = append(p.chat.Messages, msg)
	return nil
}

// blockError refuses a block type: a 400 naming it.
func blockError(param string, typ []byte, what string) *llm.Error {
	t, ok := wire.String(typ)
	switch {
	case !ok:
		return typeError(param+".type", "string", typ)
	case t == "":
		return llm.InvalidRequest(param+".type", llm.CodeMissingParam, param+".type: Field required")
	}
	switch t {
	case "document", "search_result", "container_upload", "server_tool_use", "web_search_tool_result",
		"web_fetch_tool_result", "code_execution_tool_result", "bash_code_execution_tool_result",
		"text_editor_code_execution_tool_result", "tool_search_tool_result", "mcp_tool_use", "mcp_tool_result":
		return unsupported(param+".type", strconv.Quote(t)+" blocks are not supported by this router")
	}
	return llm.InvalidRequest(param+".type", llm.CodeInvalidValue, param+".type: "+strconv.Quote(t)+" is not a valid block type here: "+what)
}

// image translates an image block's source into an image_url part: base64
// data as a data: URI, a URL as it is.
func image(a at, src []byte) (llm.Part, *llm.Error) {
	if len(src) == 0 || src[0] != '{' {
		return llm.Part{}, llm.InvalidRequest(a.String()+".source", llm.CodeMissingParam, a.String()+".source: Field required")
	}
	var typ, media, data, url []byte
	m := rawjson.MembersOf(src)
	for m.Next() {
		switch string(m.Key()) {
		case "type":
			typ = m.Value()
		case "media_type":
			media = m.Value()
		case "data":
			data = m.Value()
		case "url":
			url = m.Value()
		}
	}
	switch string(typ) {
	case `"base64"`:
		mt, ok := wire.String(media)
		switch mt {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			if !ok {
				return llm.Part{}, typeError(a.String()+".source.media_type", "string", media)
			}
			return llm.Part{}, llm.InvalidRequest(a.String()+".source.media_type", llm.CodeInvalidValue,
				a.String()+`.source.media_type: Input should be "image/jpeg", "image/png", "image/gif" or "image/webp"`)
		}
		d, ok := wire.String(data)
		if !ok || d == "" {
			return llm.Part{}, llm.InvalidRequest(a.String()+".source.data", llm.CodeMissingParam, a.String()+".source.data: Field required")
		}
		return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: "data:" + mt + ";base64," + d}}, nil
	case `"url"`:
		u, ok := wire.String(url)
		if !ok || u == "" {
			return llm.Part{}, llm.InvalidRequest(a.String()+".source.url", llm.CodeMissingParam, a.String()+".source.url: Field required")
		}
		return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: u}}, nil
	case `"file"`:
		return llm.Part{}, unsupported(a.String()+".source.type", "images by file_id need the Files API, which this router does not serve: send base64 data or a URL")
	}
	return llm.Part{}, llm.InvalidRequest(a.String()+".source.type", llm.CodeInvalidValue, a.String()+`.source.type: Input should be "base64" or "url"`)
}

// toolResult adds a tool message for a tool_result block and returns its
// images, which the user message after the tool messages carries. The
// block's marker, or one inside its content, marks the tool message.
func (p *parser) toolResult(a at, b *block, marker *llm.CacheControl) ([]llm.Part, *llm.Error) {
	id, ok := wire.String(b.toolUseID)
	if !ok || id == "" {
		if !ok {
			return nil, typeError(a.String()+".tool_use_id", "string", b.toolUseID)
		}
		return nil, llm.InvalidRequest(a.String()+".tool_use_id", llm.CodeMissingParam, a.String()+".tool_use_id: Field required")
	}
	isError, ok := wire.Bool(b.isError)
	if !ok {
		return nil, typeError(a.String()+".is_error", "boolean", b.isError)
	}
	msg := llm.Message{Role: "tool", ToolCallID: id}
	var images, texts []llm.Part
	switch {
	case wire.IsNull(b.content):
	case b.content[0] == '"':
		msg.Content.Text, _ = wire.String(b.content)
	case b.content[0] == '[':
		els := rawjson.ElementsOf(b.content)
		for k := 0; els.Next(); k++ {
			ca := at{a.i, a.j, k}
			cv := els.Value()
			if cv[0] != '{' {
				return nil, typeError(ca.String(), "object", cv)
			}
			inner := readBlock(cv)
			innerMarker, e := cacheControl(ca.String()+".cache_control", inner.cacheControl)
			if e != nil {
				return nil, e
			}
			if innerMarker != nil {
				marker = innerMarker
			}
			switch string(inner.typ) {
			case `"text"`:
				s, ok := wire.String(inner.text)
				if !ok {
					return nil, typeError(ca.String()+".text", "string", inner.text)
				}
				texts = append(texts, llm.Part{Type: "text", Text: s})
			case `"image"`:
				part, e := image(ca, inner.source)
				if e != nil {
					return nil, e
				}
				images = append(images, part)
			default:
				return nil, blockError(ca.String(), inner.typ, "tool results hold text and image blocks")
			}
		}
		switch len(texts) {
		case 0:
		case 1:
			msg.Content.Text = texts[0].Text
		default:
			msg.Content = llm.Content{Parts: texts, IsParts: true}
		}
	default:
		return nil, typeError(a.String()+".content", "string or array", b.content)
	}
	if isError && !msg.Content.IsParts && msg.Content.Text == "" {
		msg.Content.Text = "Error"
	}
	msg.CacheControl = marker
	// The turn's user message is added after all its blocks are read, so
	// the tool messages come first, right after the assistant's calls.
	p.chat.Messages = append(p.chat.Messages, msg)
	return images, nil
}

// assistant translates an assistant turn: its text blocks joined into the
// content, tool_use blocks into tool calls, thinking into reasoning_content
// and, when signed, into thinking_blocks. A block's cache marker marks the
// turn, whose blocks become one message.
func (p *parser) assistant(i int, v []byte) *llm.Error {
	msg := llm.Message{Role: "assistant"}
	var text, reasoning joiner
	els := rawjson.ElementsOf(v)
	for j := 0; els.Next(); j++ {
		a := at{i, j, -1}
		bv := els.Value()
		if bv[0] != '{' {
			return typeError(a.String(), "object", bv)
		}
		b := readBlock(bv)
		marker, e := cacheControl(a.String()+".cache_control", b.cacheControl)
		if e != nil {
			return e
		}
		if marker != nil {
			msg.CacheControl = marker
		}
		switch string(b.typ) {
		case `"text"`:
			s, ok := wire.String(b.text)
			if !ok {
				return typeError(a.String()+".text", "string", b.text)
			}
			text.add(s, "\n")
		case `"tool_use"`:
			tc, e := toolUse(a, &b)
			if e != nil {
				return e
			}
			msg.ToolCalls = append(msg.ToolCalls, tc)
		case `"thinking"`:
			s, ok := wire.String(b.thinking)
			if !ok {
				return typeError(a.String()+".thinking", "string", b.thinking)
			}
			reasoning.add(s, "")
			// Signed blocks go back as they came; unsigned ones (the
			// router renders those for upstreams that sign nothing) cannot.
			if sig, ok := wire.String(b.signature); ok && sig != "" {
				msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "thinking", Thinking: s, Signature: sig})
			}
		case `"redacted_thinking"`:
			if d, ok := wire.String(b.data); ok && d != "" {
				msg.ThinkingBlocks = append(msg.ThinkingBlocks, llm.ThinkingBlock{Type: "redacted_thinking", Data: d})
			}
		default:
			return blockError(a.String(), b.typ, "assistant messages hold text, tool_use and thinking blocks")
		}
	}
	msg.Content.Text = text.s
	msg.ReasoningContent = reasoning.s
	p.chat.Messages = append(p.chat.Messages, msg)
	return nil
}

// joiner joins strings with a separator; the usual single string costs no
// copy.
type joiner struct{ s string }

func (j *joiner) add(s, sep string) {
	switch {
	case s == "":
	case j.s == "":
		j.s = s
	default:
		j.s = j.s + sep + s
	}
}

// toolUse translates a tool_use block into a tool call whose arguments are
// the input object's JSON text.
func toolUse(a at, b *block) (llm.ToolCall, *llm.Error) {
	id, ok := wire.String(b.id)
	if !ok || id == "" {
		if !ok {
			return llm.ToolCall{}, typeError(a.String()+".id", "string", b.id)
		}
		return llm.ToolCall{}, llm.InvalidRequest(a.String()+".id", llm.CodeMissingParam, a.String()+".id: Field required")
	}
	name, ok := wire.String(b.name)
	if !ok || name == "" {
		if !ok {
			return llm.ToolCall{}, typeError(a.String()+".name", "string", b.name)
		}
		return llm.ToolCall{}, llm.InvalidRequest(a.String()+".name", llm.CodeMissingParam, a.String()+".name: Field required")
	}
	if len(b.input) == 0 || b.input[0] != '{' {
		return llm.ToolCall{}, typeError(a.String()+".input", "object", b.input)
	}
	return llm.ToolCall{ID: id, Type: "function", Function: llm.FunctionCall{Name: name,
		Arguments: string(wire.AppendCompact(nil, b.input))}}, nil
}

// tools translates client tools and tool_choice. Without tools, tool_choice
// is dropped: chat APIs refuse a tool_choice with nothing to choose from.
func (p *parser) tools(v, choice []byte) *llm.Error {
	if !wire.IsNull(v) {
		if v[0] != '[' {
			return typeError("tools", "array", v)
		}
		if n := wire.Count(v); n > 0 {
			p.chat.Tools = make([]llm.Tool, 0, n)
		}
		els := rawjson.ElementsOf(v)
		for i := 0; els.Next(); i++ {
			t, e := tool(i, els.Value())
			if e != nil {
				return e
			}
			p.chat.Tools = append(p.chat.Tools, t)
		}
	}
	if wire.IsNull(choice) {
		return nil
	}
	if choice[0] != '{' {
		return typeError("tool_choice", "object", choice)
	}
	var typ, name, disable []byte
	m := rawjson.MembersOf(choice)
	for m.Next() {
		switch string(m.Key()) {
		case "type":
			typ = m.Value()
		case "name":
			name = m.Value()
		case "disable_parallel_tool_use":
			disable = m.Value()
		}
	}
	var raw []byte
	switch string(typ) {
	case `"auto"`:
		raw = []byte(`"auto"`)
	case `"any"`:
		raw = []byte(`"required"`)
	case `"none"`:
		raw = []byte(`"none"`)
	case `"tool"`:
		if s, ok := wire.String(name); !ok || s == "" {
			return llm.InvalidRequest("tool_choice.name", llm.CodeMissingParam, "tool_choice.name: Field required")
		}
		raw = append(append([]byte(`{"type":"function","function":{"name":`), name...), '}', '}')
	default:
		return llm.InvalidRequest("tool_choice.type", llm.CodeInvalidValue, `tool_choice.type: Input should be "auto", "any", "tool" or "none"`)
	}
	off, ok := wire.Bool(disable)
	if !ok {
		return typeError("tool_choice.disable_parallel_tool_use", "boolean", disable)
	}
	if len(p.chat.Tools) == 0 {
		return nil
	}
	p.chat.ToolChoice = raw
	if off && string(typ) != `"none"` {
		parallel := false
		p.chat.ParallelToolCalls = &parallel
	}
	return nil
}

// tool translates a client tool; server tools (a versioned type such as
// web_search_20250305) are refused.
func tool(i int, v []byte) (llm.Tool, *llm.Error) {
	if v[0] != '{' {
		return llm.Tool{}, typeError(toolParam(i), "object", v)
	}
	var typ, name, desc, schema, strict, marker []byte
	m := rawjson.MembersOf(v)
	for m.Next() {
		switch string(m.Key()) {
		case "cache_control":
			marker = m.Value()
		case "type":
			typ = m.Value()
		case "name":
			name = m.Value()
		case "description":
			desc = m.Value()
		case "input_schema":
			schema = m.Value()
		case "strict":
			strict = m.Value()
		}
	}
	switch string(typ) {
	case "", "null", `"custom"`:
	default:
		t, ok := wire.String(typ)
		if !ok {
			return llm.Tool{}, typeError(toolParam(i)+".type", "string", typ)
		}
		return llm.Tool{}, unsupported(toolParam(i)+".type", "server tools such as "+strconv.Quote(t)+
			" run on Anthropic's servers and are not supported by this router: declare client tools with an input_schema")
	}
	fn := llm.FunctionDecl{}
	var ok bool
	if fn.Name, ok = wire.String(name); !ok || fn.Name == "" {
		if !ok {
			return llm.Tool{}, typeError(toolParam(i)+".name", "string", name)
		}
		return llm.Tool{}, llm.InvalidRequest(toolParam(i)+".name", llm.CodeMissingParam, toolParam(i)+".name: Field required")
	}
	if fn.Description, ok = wire.String(desc); !ok {
		return llm.Tool{}, typeError(toolParam(i)+".description", "string", desc)
	}
	if len(schema) == 0 || schema[0] != '{' {
		if wire.IsNull(schema) {
			return llm.Tool{}, llm.InvalidRequest(toolParam(i)+".input_schema", llm.CodeMissingParam, toolParam(i)+".input_schema: Field required")
		}
		return llm.Tool{}, typeError(toolParam(i)+".input_schema", "object", schema)
	}
	fn.Parameters = schema
	if !wire.IsNull(strict) {
		b, ok := wire.Bool(strict)
		if !ok {
			return llm.Tool{}, typeError(toolParam(i)+".strict", "boolean", strict)
		}
		fn.Strict = &b
	}
	cc, e := cacheControl(toolParam(i)+".cache_control", marker)
	if e != nil {
		return llm.Tool{}, e
	}
	return llm.Tool{Type: "function", Function: fn, CacheControl: cc}, nil
}
