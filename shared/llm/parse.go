package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error codes the router uses for invalid requests.
const (
	CodeInvalidJSON     = "invalid_json"
	CodeMissingParam    = "missing_required_parameter"
	CodeInvalidType     = "invalid_type"
	CodeInvalidValue    = "invalid_value"
	CodeUnsupportedRole = "invalid_role"
)

// ParseChat decodes and validates a Chat Completions body. Errors are *Error
// values of kind KindInvalidRequest naming the parameter.
func ParseChat(body []byte) (*ChatRequest, error) {
	req := new(ChatRequest)
	if err := json.Unmarshal(body, req); err != nil {
		return nil, decodeError(err)
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return req, nil
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
		if !m.Content.IsParts && m.Content.Text == "" && len(m.ToolCalls) == 0 {
			// An empty assistant turn is allowed by OpenAI; keep it.
			return nil
		}
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
	}
	return nil
}
