package responses

import (
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/surface/internal/wire"
)

// inputState carries what an input item leaves for the items after it.
type inputState struct {
	// reasoning is the reasoning_text of reasoning items, for the assistant
	// turn that follows them.
	reasoning strings.Builder
	// images are the images of function_call_output items. Chat tool turns
	// hold text only, so they follow the tool turns as a user turn.
	images []llm.Part
	// turns counts the messages that came from input (not instructions).
	turns int
}

// input translates input: a string is one user message; an array holds
// items.
func (p *parser) input(v []byte) *llm.Error {
	switch {
	case wire.IsNull(v):
		return llm.InvalidRequest("input", llm.CodeMissingParam, "you must provide input")
	case v[0] == '"':
		s, _ := wire.String(v)
		if s == "" {
			return llm.InvalidRequest("input", llm.CodeMissingParam, "input must not be empty")
		}
		p.add(llm.Message{Role: "user", Content: llm.Content{Text: s}})
		return nil
	case v[0] != '[':
		return typeError("input", "string or array", v)
	}
	items := rawjson.ElementsOf(v)
	for i := 0; items.Next(); i++ {
		if i == llm.MaxMessages {
			return llm.InvalidRequest("input", llm.CodeTooManyMessages, "at most "+strconv.Itoa(llm.MaxMessages)+" input items per request")
		}
		if e := p.item(i, items.Value()); e != nil {
			return e
		}
	}
	p.flushImages()
	if p.in.turns == 0 {
		return llm.InvalidRequest("input", llm.CodeMissingParam, "input must hold at least one message or item")
	}
	return nil
}

func (p *parser) add(m llm.Message) {
	p.chat.Messages = append(p.chat.Messages, m)
	p.in.turns++
}

// itemFields are the members of an input item Parse reads.
type itemFields struct {
	typ, role, content, callID, name, arguments, output []byte
}

func (p *parser) item(i int, v []byte) *llm.Error {
	if v[0] != '{' {
		return typeError(itemParam(i), "object", v)
	}
	var f itemFields
	m := rawjson.MembersOf(v)
	for m.Next() {
		switch string(m.Key()) {
		case "type":
			f.typ = m.Value()
		case "role":
			f.role = m.Value()
		case "content":
			f.content = m.Value()
		case "call_id":
			f.callID = m.Value()
		case "name":
			f.name = m.Value()
		case "arguments":
			f.arguments = m.Value()
		case "output":
			f.output = m.Value()
		}
	}
	typ := string(f.typ) // raw: the usual values compare without decoding
	if wire.IsNull(f.typ) && f.role != nil {
		typ = `"message"` // EasyInputMessage: {role, content} without type
	}
	if typ != `"function_call_output"` {
		p.flushImages()
	}
	switch typ {
	case `"message"`:
		return p.message(i, &f)
	case `"function_call"`:
		return p.functionCall(i, &f)
	case `"function_call_output"`:
		return p.functionOutput(i, &f)
	case `"reasoning"`:
		return p.reasoningItem(v)
	case `"item_reference"`:
		return unsupported(itemParam(i), "item_reference needs stored items, and this router stores none: send the item itself")
	}
	name, ok := wire.String(f.typ)
	switch {
	case !ok:
		return typeError(itemParam(i)+".type", "string", f.typ)
	case name == "":
		return llm.InvalidRequest(itemParam(i)+".type", llm.CodeMissingParam, "every input item needs a type")
	}
	return llm.InvalidRequest(itemParam(i)+".type", llm.CodeInvalidValue, "input items of type "+strconv.Quote(name)+
		" are not supported by this router: it serves messages, function_call, function_call_output and reasoning items (no built-in tools)")
}

// Error params are built only when an error needs one: a request has many
// items and few errors.

func itemParam(i int) string { return "input[" + strconv.Itoa(i) + "]" }

func toolParam(i int) string { return "tools[" + strconv.Itoa(i) + "]" }

// partAt locates a content part: element j of the field (content or
// output) of input item i; j is -1 for the field itself.
type partAt struct {
	i     int
	field string
	j     int
}

func (p partAt) String() string {
	s := itemParam(p.i) + "." + p.field
	if p.j >= 0 {
		s += "[" + strconv.Itoa(p.j) + "]"
	}
	return s
}

// message translates a message item. A content array of one text part
// becomes a string, the form every upstream accepts; an assistant turn's
// text parts are joined into one string.
func (p *parser) message(i int, f *itemFields) *llm.Error {
	var role string
	switch string(f.role) {
	case `"user"`:
		role = "user"
	case `"assistant"`:
		role = "assistant"
	case `"system"`:
		role = "system"
	case `"developer"`:
		role = "developer"
	case "", "null":
		return llm.InvalidRequest(itemParam(i)+".role", llm.CodeMissingParam, "a message needs a role")
	default:
		if f.role[0] != '"' {
			return typeError(itemParam(i)+".role", "string", f.role)
		}
		return llm.InvalidRequest(itemParam(i)+".role", llm.CodeInvalidValue, `role must be "user", "assistant", "system" or "developer"`)
	}
	msg := llm.Message{Role: role}
	switch {
	case wire.IsNull(f.content):
		return llm.InvalidRequest(itemParam(i)+".content", llm.CodeMissingParam, "a message needs content")
	case f.content[0] == '"':
		msg.Content.Text, _ = wire.String(f.content)
	case f.content[0] == '[':
		parts, e := p.parts(partAt{i, "content", -1}, role, f.content)
		if e != nil {
			return e
		}
		msg.Content = collapse(role, parts)
	default:
		return typeError(itemParam(i)+".content", "string or array", f.content)
	}
	if role != "assistant" && !msg.Content.IsParts && msg.Content.Text == "" {
		return llm.InvalidRequest(itemParam(i)+".content", llm.CodeMissingParam, "a "+role+" message needs content")
	}
	if role == "assistant" {
		msg.ReasoningContent = p.takeReasoning()
	} else {
		p.in.reasoning.Reset() // reasoning answers the next assistant turn only
	}
	p.add(msg)
	return nil
}

// collapse gives content parts the simplest chat form: one text part is a
// string, and an assistant's text parts are one string.
func collapse(role string, parts []llm.Part) llm.Content {
	if len(parts) == 1 && parts[0].Type == "text" {
		return llm.Content{Text: parts[0].Text}
	}
	if role == "assistant" {
		var b strings.Builder
		for _, pt := range parts {
			if pt.Type != "text" {
				return llm.Content{Parts: parts, IsParts: true}
			}
			b.WriteString(pt.Text)
		}
		return llm.Content{Text: b.String()}
	}
	return llm.Content{Parts: parts, IsParts: true}
}

// parts translates a content array: input_text and output_text are text,
// input_image an image_url (user turns only, as chat has it), refusal a
// refusal (assistant turns only).
func (p *parser) parts(at partAt, role string, v []byte) ([]llm.Part, *llm.Error) {
	var out []llm.Part
	els := rawjson.ElementsOf(v)
	for j := 0; els.Next(); j++ {
		pv := els.Value()
		pa := partAt{at.i, at.field, j}
		if pv[0] != '{' {
			return nil, typeError(pa.String(), "object", pv)
		}
		var typ, text, imageURL, fileID, detail, refusal []byte
		m := rawjson.MembersOf(pv)
		for m.Next() {
			switch string(m.Key()) {
			case "type":
				typ = m.Value()
			case "text":
				text = m.Value()
			case "image_url":
				imageURL = m.Value()
			case "file_id":
				fileID = m.Value()
			case "detail":
				detail = m.Value()
			case "refusal":
				refusal = m.Value()
			}
		}
		switch string(typ) {
		case `"input_text"`, `"output_text"`:
			s, ok := wire.String(text)
			if !ok {
				return nil, typeError(pa.String()+".text", "string", text)
			}
			out = append(out, llm.Part{Type: "text", Text: s})
		case `"refusal"`:
			if role != "assistant" {
				return nil, llm.InvalidRequest(pa.String()+".type", llm.CodeInvalidValue, "refusal parts belong to assistant messages")
			}
			s, ok := wire.String(refusal)
			if !ok {
				return nil, typeError(pa.String()+".refusal", "string", refusal)
			}
			out = append(out, llm.Part{Type: "refusal", Refusal: s})
		case `"input_image"`:
			if role != "user" {
				return nil, llm.InvalidRequest(pa.String()+".type", llm.CodeInvalidValue, "images are accepted in user messages only")
			}
			part, e := imagePart(pa, imageURL, fileID, detail)
			if e != nil {
				return nil, e
			}
			out = append(out, part)
		case `"input_file"`, `"input_audio"`:
			return nil, unsupported(pa.String()+".type", string(typ[1:len(typ)-1])+" parts are not supported by this router: send text or images")
		default:
			t, ok := wire.String(typ)
			switch {
			case !ok:
				return nil, typeError(pa.String()+".type", "string", typ)
			case t == "":
				return nil, llm.InvalidRequest(pa.String()+".type", llm.CodeMissingParam, "every content part needs a type")
			}
			return nil, llm.InvalidRequest(pa.String()+".type", llm.CodeInvalidValue, "content parts of type "+strconv.Quote(t)+" are not supported")
		}
	}
	if len(out) == 0 {
		return nil, llm.InvalidRequest(at.String(), llm.CodeMissingParam, "content must not be an empty array")
	}
	return out, nil
}

// imagePart translates an input_image: an https URL or a data: URI in
// image_url. A file_id names an uploaded file, which needs the Files API.
func imagePart(at partAt, imageURL, fileID, detail []byte) (llm.Part, *llm.Error) {
	u, ok := wire.String(imageURL)
	if !ok {
		return llm.Part{}, typeError(at.String()+".image_url", "string", imageURL)
	}
	if u == "" {
		if !wire.IsNull(fileID) {
			return llm.Part{}, unsupported(at.String()+".file_id", "images by file_id need the Files API, which this router does not serve: send image_url")
		}
		return llm.Part{}, llm.InvalidRequest(at.String()+".image_url", llm.CodeMissingParam, "an input_image needs an image_url")
	}
	d, ok := wire.String(detail)
	if !ok {
		return llm.Part{}, typeError(at.String()+".detail", "string", detail)
	}
	if d != "low" && d != "high" {
		d = "" // auto, the default; chat has no "original"
	}
	return llm.Part{Type: "image_url", ImageURL: &llm.ImageURL{URL: u, Detail: d}}, nil
}

// functionCall adds a tool call to the assistant turn before it, or starts
// one: a chat assistant message carries its text and all its tool calls.
func (p *parser) functionCall(i int, f *itemFields) *llm.Error {
	callID, ok := wire.String(f.callID)
	if !ok || callID == "" {
		return requiredString(itemParam(i)+".call_id", f.callID, ok)
	}
	name, ok := wire.String(f.name)
	if !ok || name == "" {
		return requiredString(itemParam(i)+".name", f.name, ok)
	}
	args, ok := wire.String(f.arguments)
	if !ok {
		return typeError(itemParam(i)+".arguments", "string", f.arguments)
	}
	tc := llm.ToolCall{ID: callID, Type: "function", Function: llm.FunctionCall{Name: name, Arguments: args}}
	msgs := p.chat.Messages
	if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" && p.in.turns > 0 {
		last := &msgs[n-1]
		last.ToolCalls = append(last.ToolCalls, tc)
		if r := p.takeReasoning(); r != "" {
			last.ReasoningContent += r
		}
		return nil
	}
	p.add(llm.Message{Role: "assistant", ToolCalls: []llm.ToolCall{tc}, ReasoningContent: p.takeReasoning()})
	return nil
}

func requiredString(param string, v []byte, ok bool) *llm.Error {
	if !ok {
		return typeError(param, "string", v)
	}
	return llm.InvalidRequest(param, llm.CodeMissingParam, param+" is required")
}

// functionOutput translates a function_call_output into a tool turn. Its
// images go to a user turn after the run of tool turns (flushImages).
func (p *parser) functionOutput(i int, f *itemFields) *llm.Error {
	callID, ok := wire.String(f.callID)
	if !ok || callID == "" {
		return requiredString(itemParam(i)+".call_id", f.callID, ok)
	}
	msg := llm.Message{Role: "tool", ToolCallID: callID}
	switch {
	case wire.IsNull(f.output):
		return llm.InvalidRequest(itemParam(i)+".output", llm.CodeMissingParam, "a function_call_output needs output")
	case f.output[0] == '"':
		msg.Content.Text, _ = wire.String(f.output)
	case f.output[0] == '[':
		parts, e := p.parts(partAt{i, "output", -1}, "user", f.output)
		if e != nil {
			return e
		}
		var texts []llm.Part
		for _, pt := range parts {
			if pt.Type == "image_url" {
				p.in.images = append(p.in.images, pt)
			} else {
				texts = append(texts, pt)
			}
		}
		if len(texts) > 0 {
			msg.Content = collapse("tool", texts)
		}
	default:
		return typeError(itemParam(i)+".output", "string or array", f.output)
	}
	p.in.reasoning.Reset()
	p.add(msg)
	return nil
}

// flushImages sends the images of the tool outputs just read as a user turn.
func (p *parser) flushImages() {
	if len(p.in.images) == 0 {
		return
	}
	p.add(llm.Message{Role: "user", Content: llm.Content{Parts: p.in.images, IsParts: true}})
	p.in.images = nil
}

// reasoningItem keeps a reasoning item's reasoning_text for the next
// assistant turn.
func (p *parser) reasoningItem(v []byte) *llm.Error {
	content, _ := rawjson.Find(v, "content")
	if wire.IsNull(content) || content[0] != '[' {
		return nil
	}
	els := rawjson.ElementsOf(content)
	for els.Next() {
		text, _ := rawjson.Find(els.Value(), "text")
		if s, ok := wire.String(text); ok {
			p.in.reasoning.WriteString(s)
		}
	}
	return nil
}

func (p *parser) takeReasoning() string {
	s := p.in.reasoning.String()
	p.in.reasoning.Reset()
	return s
}

// tools translates function tools; built-in tools are refused.
func (p *parser) tools(v []byte) *llm.Error {
	if wire.IsNull(v) {
		return nil
	}
	if v[0] != '[' {
		return typeError("tools", "array", v)
	}
	if n := wire.Count(v); n > 0 {
		p.chat.Tools = make([]llm.Tool, 0, n)
	}
	els := rawjson.ElementsOf(v)
	for i := 0; els.Next(); i++ {
		tv := els.Value()
		if tv[0] != '{' {
			return typeError(toolParam(i), "object", tv)
		}
		var typ, name, desc, params, strict []byte
		m := rawjson.MembersOf(tv)
		for m.Next() {
			switch string(m.Key()) {
			case "type":
				typ = m.Value()
			case "name":
				name = m.Value()
			case "description":
				desc = m.Value()
			case "parameters":
				params = m.Value()
			case "strict":
				strict = m.Value()
			}
		}
		if string(typ) != `"function"` {
			t, ok := wire.String(typ)
			switch {
			case !ok:
				return typeError(toolParam(i)+".type", "string", typ)
			case t == "":
				return llm.InvalidRequest(toolParam(i)+".type", llm.CodeMissingParam, "every tool needs a type")
			}
			return unsupported(toolParam(i)+".type", "tools of type "+strconv.Quote(t)+
				" are not supported by this router: it serves function tools only (built-in tools run on OpenAI's servers)")
		}
		fn := llm.FunctionDecl{}
		var ok bool
		if fn.Name, ok = wire.String(name); !ok || fn.Name == "" {
			return requiredString(toolParam(i)+".name", name, ok)
		}
		if fn.Description, ok = wire.String(desc); !ok {
			return typeError(toolParam(i)+".description", "string", desc)
		}
		if !wire.IsNull(params) {
			if params[0] != '{' {
				return typeError(toolParam(i)+".parameters", "object", params)
			}
			fn.Parameters = params
		}
		if !wire.IsNull(strict) {
			b, ok := wire.Bool(strict)
			if !ok {
				return typeError(toolParam(i)+".strict", "boolean", strict)
			}
			fn.Strict = &b
		}
		p.chat.Tools = append(p.chat.Tools, llm.Tool{Type: "function", Function: fn})
	}
	return nil
}

// toolChoice translates tool_choice: the three modes, or a named function.
func (p *parser) toolChoice(v []byte) *llm.Error {
	switch {
	case wire.IsNull(v):
		return nil
	case v[0] == '"':
		switch string(v) {
		case `"auto"`, `"none"`, `"required"`:
			p.chat.ToolChoice = v
			return nil
		}
		return llm.InvalidRequest("tool_choice", llm.CodeInvalidValue, `tool_choice must be "auto", "none", "required" or an object`)
	case v[0] != '{':
		return typeError("tool_choice", "string or object", v)
	}
	typ, _ := rawjson.Find(v, "type")
	t, ok := wire.String(typ)
	if !ok {
		return typeError("tool_choice.type", "string", typ)
	}
	if t != "function" {
		return unsupported("tool_choice", "tool_choice of type "+strconv.Quote(t)+
			` is not supported by this router: use "auto", "none", "required" or {"type":"function","name":…}`)
	}
	nv, _ := rawjson.Find(v, "name")
	name, ok := wire.String(nv)
	if !ok || name == "" {
		return requiredString("tool_choice.name", nv, ok)
	}
	choice := append([]byte(`{"type":"function","function":{"name":`), nv...)
	p.chat.ToolChoice = append(choice, '}', '}')
	return nil
}

// text translates text.format into response_format, and passes
// text.verbosity on.
func (p *parser) text(v []byte) *llm.Error {
	if wire.IsNull(v) {
		return nil
	}
	if v[0] != '{' {
		return typeError("text", "object", v)
	}
	var format, verbosity []byte
	m := rawjson.MembersOf(v)
	for m.Next() {
		switch string(m.Key()) {
		case "format":
			format = m.Value()
		case "verbosity":
			verbosity = m.Value()
		}
	}
	if !wire.IsNull(verbosity) {
		switch string(verbosity) {
		case `"low"`, `"medium"`, `"high"`:
			p.addExtra("verbosity", verbosity)
		default:
			return llm.InvalidRequest("text.verbosity", llm.CodeInvalidValue, `text.verbosity must be "low", "medium" or "high"`)
		}
	}
	if wire.IsNull(format) {
		return nil
	}
	if format[0] != '{' {
		return typeError("text.format", "object", format)
	}
	var typ, name, desc, schema, strict []byte
	m = rawjson.MembersOf(format)
	for m.Next() {
		switch string(m.Key()) {
		case "type":
			typ = m.Value()
		case "name":
			name = m.Value()
		case "description":
			desc = m.Value()
		case "schema":
			schema = m.Value()
		case "strict":
			strict = m.Value()
		}
	}
	switch string(typ) {
	case `"text"`:
		return nil // chat's default
	case `"json_object"`:
		p.chat.ResponseFormat = &llm.ResponseFormat{Type: "json_object"}
		return nil
	case `"json_schema"`:
	default:
		return llm.InvalidRequest("text.format.type", llm.CodeInvalidValue, `text.format.type must be "text", "json_object" or "json_schema"`)
	}
	js := &llm.JSONSchema{}
	var ok bool
	if js.Name, ok = wire.String(name); !ok || js.Name == "" {
		return requiredString("text.format.name", name, ok)
	}
	if js.Description, ok = wire.String(desc); !ok {
		return typeError("text.format.description", "string", desc)
	}
	if wire.IsNull(schema) {
		return llm.InvalidRequest("text.format.schema", llm.CodeMissingParam, "text.format.schema is required")
	}
	if schema[0] != '{' {
		return typeError("text.format.schema", "object", schema)
	}
	js.Schema = schema
	if !wire.IsNull(strict) {
		b, ok := wire.Bool(strict)
		if !ok {
			return typeError("text.format.strict", "boolean", strict)
		}
		js.Strict = &b
	}
	p.chat.ResponseFormat = &llm.ResponseFormat{Type: "json_schema", JSONSchema: js}
	return nil
}
