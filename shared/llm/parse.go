package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/llm-router/router/shared/rawjson"
)

// Error codes the router uses for invalid requests.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeMissingParam    = "missing_required_parameter"
	CodeInvalidType     = "invalid_type"
	CodeInvalidValue    = "invalid_value"
	CodeUnsupportedRole = "invalid_role"
	CodeTooDeep         = "json_too_deep"
	// CodeDuplicateMember refuses an object with a member name twice (once
	// escapes are decoded): parsers disagree on which one counts.
	CodeDuplicateMember = "duplicate_member"
	// CodeMemberCase refuses a member whose name differs only in case from
	// one the router reads: encoding/json would read it as that member,
	// case-sensitive parsers (OpenAI's, most upstreams') would not.
	CodeMemberCase = "member_name_case"
)

// MaxMessages bounds the messages of one request. Real conversations, agent
// traces included, stay far below it; without it an 8 MiB body of empty
// messages decodes into hundreds of megabytes.
const MaxMessages = 10000

// CodeTooManyMessages is the code of a request over MaxMessages.
const CodeTooManyMessages = "too_many_messages"

// MaxJSONDepth bounds how deeply a request body's arrays and objects nest.
// Real requests (messages, tool schemas) stay far below it; without a bound a
// small body of brackets costs every later decoder (the adapters' converters
// and encoding/json) deep recursion.
const MaxJSONDepth = 64

// errTooDeep is the answer to a body nested deeper than MaxJSONDepth.
func errTooDeep() *Error {
	return InvalidRequest("", CodeTooDeep, "the request body nests arrays and objects more than "+
		strconv.Itoa(MaxJSONDepth)+" levels deep")
}

// CheckBody runs the checks every request body passes before any field is
// read, whatever API it came in: well formed, at most MaxJSONDepth deep, and
// no member name twice in an object (checkBody).
func CheckBody(body []byte) *Error {
	_, e := checkBody(body)
	return e
}

// checkBody runs the checks every body passes before any field is read: well
// formed, at most MaxJSONDepth deep, and no member name twice in an object.
// The duplicate check is what makes one parse of the request enough: with a
// name twice, the router could authorize and price one value while an
// upstream's parser reads the other.
// cased reports whether some member name could differ only in case from a
// field the router reads (rawjson.Summary.CasedNames); without one, the case
// checks are skipped.
func checkBody(body []byte) (cased bool, e *Error) {
	sum, err := rawjson.CheckSummary(body, MaxJSONDepth)
	if err == nil {
		return sum.CasedNames, nil
	}
	var ce *rawjson.CheckError
	errors.As(err, &ce)
	switch {
	case errors.Is(err, rawjson.ErrTooDeep):
		return false, errTooDeep()
	case errors.Is(err, rawjson.ErrDuplicate):
		p := clip(ce.Path)
		return false, InvalidRequest(p, CodeDuplicateMember, strconv.Quote(p)+" appears twice; send each member once")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return false, decodeError(err)
	}
	return false, InvalidRequest("", CodeInvalidJSON, "the request body is not valid JSON")
}

// caseVariant returns the name among known that name differs from only in
// case (as encoding/json folds it: Unicode simple folding, so "ſtream" is
// stream), or "" when there is none.
func caseVariant(name []byte, known ...string) string {
	for _, k := range known {
		if bytes.EqualFold(name, []byte(k)) && string(name) != k {
			return k
		}
	}
	return ""
}

// errMemberCase refuses a member named like a field the router reads, but
// for case.
func errMemberCase(param, name, field string) *Error {
	return InvalidRequest(clip(param), CodeMemberCase, strconv.Quote(clip(name))+" differs from "+strconv.Quote(field)+
		" only in case; member names are case-sensitive")
}

// maxEchoed bounds the part of the request an error quotes back.
const maxEchoed = 128

// clip shortens a name from the request, quoted in an error, to maxEchoed
// bytes (on a character boundary).
func clip(s string) string {
	if len(s) <= maxEchoed {
		return s
	}
	n := maxEchoed
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ParseChat decodes and validates a Chat Completions body. Errors are *Error
// values of kind KindInvalidRequest naming the parameter.
//
// Every request pays for this, so it scans the body's members rather than
// decoding it all by reflection: plain strings, booleans and numbers are read
// directly, and only rare or nested values (tools, response_format, array
// content) go through encoding/json, one member at a time. Member names are
// read with their escapes decoded, and a body that could be read two ways is
// refused: a member name twice in an object, or a member named like a field
// the router reads but for case (encoding/json would match it, upstreams
// would not). So the request the router authorizes, prices and audits is the
// one every upstream parser reads. FuzzParseChat holds it to encoding/json's
// results.
func ParseChat(body []byte) (*ChatRequest, error) {
	cased, e := checkBody(body)
	if e != nil {
		return nil, e
	}
	req := new(ChatRequest)
	m := rawjson.MembersOf(body)
	for m.Next() {
		if e := req.decodeMember(m.Name(), m.Value(), cased); e != nil {
			return nil, e
		}
	}
	if m.Err() != nil {
		return nil, InvalidRequest("", CodeInvalidJSON, "the request body must be a JSON object")
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
}

// decodeMember sets the field a top-level member names; unknown members are
// left for the raw body, which OpenAI-compatible upstreams receive as sent.
// cased says the body has names that could be case variants (checkBody).
func (r *ChatRequest) decodeMember(k, v []byte, cased bool) *Error {
	switch string(k) {
	case "model":
		return readString(v, &r.Model, "model")
	case "messages":
		return r.decodeMessages(v, cased)
	case "stream":
		return readBool(v, &r.Stream, "stream")
	case "temperature":
		return readFloat(v, &r.Temperature, "temperature")
	case "top_p":
		return readFloat(v, &r.TopP, "top_p")
	case "presence_penalty":
		return readFloat(v, &r.PresencePenalty, "presence_penalty")
	case "frequency_penalty":
		return readFloat(v, &r.FrequencyPenalty, "frequency_penalty")
	case "max_tokens":
		return readInt(v, &r.MaxTokens, "max_tokens")
	case "max_completion_tokens":
		return readInt(v, &r.MaxCompletionTokens, "max_completion_tokens")
	case "n":
		return readInt(v, &r.N, "n")
	case "seed":
		return readInto(v, &r.Seed, "seed")
	case "stream_options":
		return readNested(v, &r.StreamOptions, "stream_options", cased)
	case "stop":
		return readInto(v, &r.Stop, "stop")
	case "tools":
		return readNested(v, &r.Tools, "tools", cased)
	case "tool_choice":
		return readNested(v, &r.ToolChoice, "tool_choice", cased)
	case "parallel_tool_calls":
		return readInto(v, &r.ParallelToolCalls, "parallel_tool_calls")
	case "response_format":
		return readNested(v, &r.ResponseFormat, "response_format", cased)
	case "user":
		return readString(v, &r.User, "user")
	case "reasoning_effort":
		return readString(v, &r.ReasoningEffort, "reasoning_effort")
	case "prompt_cache_key":
		return readString(v, &r.PromptCacheKey, "prompt_cache_key")
	case "include_reasoning":
		return readInto(v, &r.IncludeReasoning, "include_reasoning")
	}
	if !cased {
		return nil
	}
	if f := caseVariant(k, "model", "messages", "stream", "temperature", "top_p", "presence_penalty",
		"frequency_penalty", "max_tokens", "max_completion_tokens", "n", "seed", "stream_options", "stop", "tools",
		"tool_choice", "parallel_tool_calls", "response_format", "user", "reasoning_effort", "prompt_cache_key",
		"include_reasoning"); f != "" {
		return errMemberCase(string(k), string(k), f)
	}
	return nil
}

func (r *ChatRequest) decodeMessages(v []byte, cased bool) *Error {
	switch v[0] {
	case 'n':
		r.Messages = nil
		return nil
	case '[':
	default:
		return typeError("messages", "array", v)
	}
	msgs := make([]Message, 0, 4)
	a := rawjson.ElementsOf(v)
	for a.Next() {
		if len(msgs) == MaxMessages {
			// Refused before decoding the rest: a body of many tiny
			// messages would otherwise cost far more memory than its size.
			return InvalidRequest("messages", CodeTooManyMessages, "at most "+strconv.Itoa(MaxMessages)+" messages per request")
		}
		msgs = append(msgs, Message{})
		if e := msgs[len(msgs)-1].decode(a.Value(), len(msgs)-1, cased); e != nil {
			return e
		}
	}
	r.Messages = msgs
	return nil
}

// decode reads message i. Field errors name their path (messages[i].role); the
// path is only built when there is an error.
func (m *Message) decode(v []byte, i int, cased bool) *Error {
	switch v[0] {
	case 'n':
		return nil
	case '{':
	default:
		return typeError("messages["+strconv.Itoa(i)+"]", "object", v)
	}
	it := rawjson.MembersOf(v)
	for it.Next() {
		val := it.Value()
		var e *Error
		switch name := it.Name(); string(name) {
		case "role":
			e = readRole(val, &m.Role)
		case "content":
			if val[0] == '"' {
				if e = readString(val, &m.Content.Text, "content"); e == nil {
					m.Content.IsParts = false
				}
			} else if e = nestedCase(val, "content", cased); e == nil && m.Content.UnmarshalJSON(val) != nil {
				e = InvalidRequest("content", CodeInvalidType, "content must be a string, an array of parts or null")
			}
		case "name":
			e = readString(val, &m.Name, "name")
		case "tool_call_id":
			e = readString(val, &m.ToolCallID, "tool_call_id")
		case "reasoning_content":
			e = readString(val, &m.ReasoningContent, "reasoning_content")
		case "tool_calls":
			e = readNested(val, &m.ToolCalls, "tool_calls", cased)
		case "cache_control":
			e = readNested(val, &m.CacheControl, "cache_control", cased)
		case "thinking_blocks":
			e = readNested(val, &m.ThinkingBlocks, "thinking_blocks", cased)
		default:
			if !cased {
				break
			}
			if f := caseVariant(name, "role", "content", "name", "tool_call_id", "reasoning_content", "tool_calls",
				"cache_control", "thinking_blocks"); f != "" {
				e = errMemberCase(string(name), string(name), f)
			}
		}
		if e != nil {
			prefix := "messages[" + strconv.Itoa(i) + "]."
			e.Param = prefix + e.Param
			e.Message = prefix + e.Message
			return e
		}
	}
	return nil
}

// readString reads a JSON string (null leaves dst as it is, as encoding/json
// does). Strings without escapes, the usual case, are copied without decoding.
func readString(v []byte, dst *string, param string) *Error {
	switch {
	case v[0] == 'n':
		return nil
	case v[0] != '"':
		return typeError(param, "string", v)
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		*dst = string(inner)
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return typeError(param, "string", v)
	}
	return nil
}

// readRole reads a message role, sharing the strings of the known roles.
func readRole(v []byte, dst *string) *Error {
	switch string(v) {
	case `"user"`:
		*dst = "user"
	case `"assistant"`:
		*dst = "assistant"
	case `"system"`:
		*dst = "system"
	case `"tool"`:
		*dst = "tool"
	case `"developer"`:
		*dst = "developer"
	default:
		return readString(v, dst, "role")
	}
	return nil
}

func readBool(v []byte, dst *bool, param string) *Error {
	switch v[0] {
	case 't':
		*dst = true
	case 'f':
		*dst = false
	case 'n':
	default:
		return typeError(param, "boolean", v)
	}
	return nil
}

func readFloat(v []byte, dst **float64, param string) *Error {
	if v[0] == 'n' {
		*dst = nil
		return nil
	}
	if v[0] == '"' || v[0] == '{' || v[0] == '[' || v[0] == 't' || v[0] == 'f' {
		return typeError(param, "number", v)
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return typeError(param, "number", v)
	}
	*dst = &f
	return nil
}

// readInt reads an integer; a number with a fraction or exponent goes through
// encoding/json so its error is encoding/json's.
func readInt(v []byte, dst **int, param string) *Error {
	if v[0] == 'n' {
		*dst = nil
		return nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return readInto(v, dst, param)
	}
	*dst = &n
	return nil
}

// readNested is readInto for a value holding objects the router decodes
// with encoding/json, which matches member names regardless of case: a
// member named like one of theirs but for case is refused first.
func readNested(v []byte, dst any, param string, cased bool) *Error {
	if e := nestedCase(v, param, cased); e != nil {
		return e
	}
	return readInto(v, dst, param)
}

// nestedCase refuses, in the objects of v (the value of param), a member
// whose name differs only in case from a member of the objects the router
// decodes inside a request (tools, response_format, tool calls, content
// parts, ...). JSON Schemas (parameters, schema) are the client's, passed on
// as they are, and are not looked into. A body whose names are all plain
// lower case (cased false) has no such member and is not walked.
func nestedCase(v []byte, param string, cased bool) *Error {
	if !cased || v[0] != '{' && v[0] != '[' {
		return nil
	}
	if rel, name, field, ok := foldedMember(v); ok {
		return errMemberCase(param+rel, name, field)
	}
	return nil
}

// foldedMember finds the member nestedCase refuses; path is where it is,
// relative to v. The path is only built for the member found.
func foldedMember(v []byte) (path, name, field string, found bool) {
	switch v[0] {
	case '{':
		m := rawjson.MembersOf(v)
		for m.Next() {
			n := m.Name()
			if f := caseVariant(n, "type", "function", "name", "description", "parameters", "strict", "include_usage",
				"json_schema", "schema", "id", "index", "arguments", "text", "image_url", "url", "detail", "refusal",
				"cache_control", "ttl", "thinking", "signature", "data"); f != "" {
				return "." + string(n), string(n), f, true
			}
			if string(n) == "parameters" || string(n) == "schema" {
				continue
			}
			if p, nm, f, ok := foldedMember(m.Value()); ok {
				return "." + string(n) + p, nm, f, true
			}
		}
	case '[':
		a := rawjson.ElementsOf(v)
		for i := 0; a.Next(); i++ {
			if p, nm, f, ok := foldedMember(a.Value()); ok {
				return "[" + strconv.Itoa(i) + "]" + p, nm, f, true
			}
		}
	}
	return "", "", "", false
}

// readInto decodes a member with encoding/json, naming param in errors.
func readInto(v []byte, dst any, param string) *Error {
	if err := json.Unmarshal(v, dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := param
			if typeErr.Field != "" {
				field += "." + typeErr.Field
			}
			return InvalidRequest(field, CodeInvalidType,
				fmt.Sprintf("%s must be of type %s, not %s", field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
		}
		return InvalidRequest(param, CodeInvalidType, param+": "+err.Error())
	}
	return nil
}

func typeError(param, want string, v []byte) *Error {
	return InvalidRequest(param, CodeInvalidType, param+" must be of type "+want+", not "+jsonType(v))
}

func jsonType(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeError turns a json error into an OpenAI-shaped 400 naming the field.
func decodeError(err error) *Error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return InvalidRequest("", CodeInvalidJSON, "the request body must be a JSON object")
		}
		return InvalidRequest(typeErr.Field, CodeInvalidType,
			fmt.Sprintf("%s must be of type %s, not %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	}
	var syntaxErr *json.SyntaxError
	if errors.As(err, &syntaxErr) {
		return InvalidRequest("", CodeInvalidJSON,
			"the request body is not valid JSON (at byte "+strconv.FormatInt(syntaxErr.Offset, 10)+")")
	}
	// Errors from our own UnmarshalJSON methods (content, stop) name no field.
	msg := err.Error()
	if strings.HasPrefix(msg, "json: ") || strings.HasPrefix(msg, "unexpected end") {
		return InvalidRequest("", CodeInvalidJSON, "the request body is not valid JSON")
	}
	return InvalidRequest("", CodeInvalidType, msg)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	case "int", "int64", "int32", "uint", "uint64", "float64", "float32":
		return "number"
	}
	return goKind
}

// Validate checks the fields the router and its adapters rely on.
func (r *ChatRequest) Validate() error {
	if r.Model == "" {
		return InvalidRequest("model", CodeMissingParam, "you must provide a model parameter")
	}
	if len(r.Messages) == 0 {
		return InvalidRequest("messages", CodeMissingParam, "messages must be a non-empty array")
	}
	for i := range r.Messages {
		if err := r.Messages[i].validate(i); err != nil {
			return err
		}
	}
	if r.StreamOptions != nil && !r.Stream {
		return InvalidRequest("stream_options", CodeInvalidValue, "stream_options is only allowed when stream is true")
	}
	if t := r.Temperature; t != nil && (*t < 0 || *t > 2) {
		return InvalidRequest("temperature", CodeInvalidValue, "temperature must be between 0 and 2")
	}
	if p := r.TopP; p != nil && (*p < 0 || *p > 1) {
		return InvalidRequest("top_p", CodeInvalidValue, "top_p must be between 0 and 1")
	}
	if n := r.N; n != nil && (*n < 1 || *n > 128) {
		return InvalidRequest("n", CodeInvalidValue, "n must be between 1 and 128")
	}
	if m := r.MaxTokens; m != nil && *m < 0 {
		return InvalidRequest("max_tokens", CodeInvalidValue, "max_tokens must not be negative")
	}
	if m := r.MaxCompletionTokens; m != nil && *m < 0 {
		return InvalidRequest("max_completion_tokens", CodeInvalidValue, "max_completion_tokens must not be negative")
	}
	for i, t := range r.Tools {
		if t.Type != "function" && t.Type != "" {
			return InvalidRequest(fmt.Sprintf("tools[%d].type", i), CodeInvalidValue, "only function tools are supported")
		}
		if t.Function.Name == "" {
			return InvalidRequest(fmt.Sprintf("tools[%d].function.name", i), CodeMissingParam, "a tool needs a function name")
		}
		if err := t.CacheControl.validate(func() string { return fmt.Sprintf("tools[%d].cache_control", i) }); err != nil {
			return err
		}
		if err := t.Function.CacheControl.validate(func() string { return fmt.Sprintf("tools[%d].function.cache_control", i) }); err != nil {
			return err
		}
	}
	if _, err := ParseToolChoice(r.ToolChoice); err != nil {
		return InvalidRequest("tool_choice", CodeInvalidValue, err.Error())
	}
	if f := r.ResponseFormat; f != nil {
		switch f.Type {
		case "text", "json_object":
		case "json_schema":
			if f.JSONSchema == nil || f.JSONSchema.Name == "" {
				return InvalidRequest("response_format.json_schema", CodeMissingParam, "json_schema needs a name")
			}
		default:
			return InvalidRequest("response_format.type", CodeInvalidValue,
				`response_format.type must be "text", "json_object" or "json_schema"`)
		}
	}
	return nil
}

func (m *Message) validate(i int) error {
	param := func(field string) string { return "messages[" + strconv.Itoa(i) + "]." + field }
	switch m.Role {
	case "system", "developer", "user":
		if !m.Content.IsParts && m.Content.Text == "" && len(m.Content.Parts) == 0 {
			return InvalidRequest(param("content"), CodeMissingParam, "a "+m.Role+" message needs content")
		}
	case "assistant":
		// An empty assistant turn is allowed by OpenAI; keep it.
		for j, tc := range m.ToolCalls {
			if tc.ID == "" || tc.Function.Name == "" {
				return InvalidRequest(param("tool_calls["+strconv.Itoa(j)+"]"), CodeMissingParam,
					"a tool call needs an id and a function name")
			}
		}
	case "tool":
		if m.ToolCallID == "" {
			return InvalidRequest(param("tool_call_id"), CodeMissingParam, "a tool message needs tool_call_id")
		}
	case "":
		return InvalidRequest(param("role"), CodeMissingParam, "every message needs a role")
	default:
		return InvalidRequest(param("role"), CodeUnsupportedRole,
			"role must be system, developer, user, assistant or tool")
	}
	for j, p := range m.Content.Parts {
		switch p.Type {
		case "text", "refusal":
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return InvalidRequest(param("content["+strconv.Itoa(j)+"].image_url"), CodeMissingParam, "an image part needs a url")
			}
		case "":
			return InvalidRequest(param("content["+strconv.Itoa(j)+"].type"), CodeMissingParam, "every content part needs a type")
		}
		if err := p.CacheControl.validate(func() string { return param("content[" + strconv.Itoa(j) + "].cache_control") }); err != nil {
			return err
		}
	}
	if err := m.CacheControl.validate(func() string { return param("cache_control") }); err != nil {
		return err
	}
	for j, b := range m.ThinkingBlocks {
		if b.Type != "thinking" && b.Type != "redacted_thinking" {
			return InvalidRequest(param("thinking_blocks["+strconv.Itoa(j)+"].type"), CodeInvalidValue,
				`a thinking block's type is "thinking" or "redacted_thinking"`)
		}
	}
	return nil
}

// validate checks a cache breakpoint; param names it, built only for an error.
func (c *CacheControl) validate(param func() string) error {
	switch {
	case c == nil:
		return nil
	case c.Type != "ephemeral":
		return InvalidRequest(param()+".type", CodeInvalidValue, `cache_control.type must be "ephemeral"`)
	case c.TTL != "" && c.TTL != TTL5m && c.TTL != TTL1h:
		return InvalidRequest(param()+".ttl", CodeInvalidValue, `cache_control.ttl must be "5m" or "1h"`)
	}
	return nil
}
