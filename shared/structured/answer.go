package structured

import (
	"bytes"
	"encoding/json"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// Tool is the one tool through which a model answers in JSON when its API is
// asked the forced-tool way (Anthropic, and Bedrock for the model families
// whose Converse API can force a tool): the tool's input schema is the
// requested schema, the request forces the model to call it, and the adapter
// turns the call's input back into the message content. A tool's input is
// always a JSON object, and the API parses it: no fences, no prose.
type Tool struct {
	Name        string
	Description string
	// Schema is an object schema (type "object").
	Schema json.RawMessage
}

// DefaultToolName names the answer tool when the client named no schema, or
// gave a name its own tools already use.
const DefaultToolName = "json_response"

// ValidName reports whether name follows the tool name rule of Anthropic
// and Bedrock, [A-Za-z0-9_-]{1,64}, which is also OpenAI's rule for
// json_schema.name: a schema's name must pass it, since it is sent as either.
// (Not a regexp: {1,64} compiles to a program of 64 copies, built at every
// start of every binary importing this package.)
func ValidName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

const toolDescription = "Give your final answer by calling this tool: its input is the answer, as JSON."

// anyObject is the input schema of the answer tool for json_object.
var anyObject = json.RawMessage(`{"type":"object"}`)

// AnswerTool returns the answer tool for a request's response_format. It
// reports false when the format asks for no JSON, or when its schema's root
// is not an object: a tool's input is always one, so the adapter then asks in
// words (Instruction). declared tells whether a client tool has a name.
func AnswerTool(f *llm.ResponseFormat, declared func(name string) bool) (Tool, bool) {
	if f == nil {
		return Tool{}, false
	}
	switch f.Type {
	case "json_object":
		return Tool{Name: toolName("", declared), Description: toolDescription, Schema: anyObject}, true
	case "json_schema":
	default:
		return Tool{}, false
	}
	js := f.JSONSchema
	if js == nil || len(bytes.TrimSpace(js.Schema)) == 0 || bytes.Equal(bytes.TrimSpace(js.Schema), []byte("null")) {
		// json_schema without a schema: any object will do, as OpenAI has it.
		return Tool{Name: toolName("", declared), Description: toolDescription, Schema: anyObject}, true
	}
	schema, ok := objectSchema(js.Schema)
	if !ok {
		return Tool{}, false
	}
	desc := toolDescription
	if js.Description != "" {
		desc += " " + js.Description
	}
	return Tool{Name: toolName(js.Name, declared), Description: desc, Schema: schema}, true
}

func toolName(name string, declared func(string) bool) string {
	taken := func(n string) bool { return declared != nil && declared(n) }
	if ValidName(name) && !taken(name) {
		return name
	}
	if !taken(DefaultToolName) {
		return DefaultToolName
	}
	return "router_" + DefaultToolName
}

// objectSchema returns doc when its root is an object schema: type
// "object", or no type with properties (then the type is added, as tool
// input schemas must state it).
func objectSchema(doc []byte) (json.RawMessage, bool) {
	doc = bytes.TrimSpace(doc)
	if len(doc) == 0 || doc[0] != '{' {
		return nil, false
	}
	if t, ok := rawjson.Find(doc, "type"); ok {
		return doc, bytes.Equal(t, []byte(`"object"`))
	}
	if !rawjson.Has(doc, "properties") {
		return nil, false
	}
	out, err := rawjson.Set(doc, "type", []byte(`"object"`))
	return out, err == nil
}

// Instruction is the text that asks a model in words for the JSON a
// response_format wants, for APIs that have no JSON mode of their own or
// lack the one asked for (DeepSeek has json_object but not json_schema). It
// names the schema in full, compact. It is empty when f asks for no JSON.
func Instruction(f *llm.ResponseFormat) string {
	if f == nil {
		return ""
	}
	switch f.Type {
	case "json_object":
		return "Respond with a single JSON object and nothing else: no prose and no code fences."
	case "json_schema":
	default:
		return ""
	}
	const ask = "Respond with a single JSON value that matches the JSON Schema below, and nothing else: no prose and no code fences."
	if f.JSONSchema == nil || len(bytes.TrimSpace(f.JSONSchema.Schema)) == 0 {
		return "Respond with a single JSON object and nothing else: no prose and no code fences."
	}
	var b bytes.Buffer
	if json.Compact(&b, f.JSONSchema.Schema) != nil {
		return ask
	}
	s := ask + "\nJSON Schema"
	if f.JSONSchema.Description != "" {
		s += " (" + f.JSONSchema.Description + ")"
	}
	return s + ":\n" + b.String()
}

// ResponseFormat is the json_schema response_format that asks for JSON of
// schema doc under name, strict when StrictCompatible: the one the router
// sends for a route's schema and the benchmark for a prompt's.
func ResponseFormat(name string, doc []byte) *llm.ResponseFormat {
	js := &llm.JSONSchema{Name: name, Schema: json.RawMessage(doc)}
	if StrictCompatible(doc) {
		js.Strict = llm.Ptr(true)
	}
	return &llm.ResponseFormat{Type: "json_schema", JSONSchema: js}
}

// StrictCompatible reports whether a schema meets OpenAI's strict mode
// rules that a schema written for the router need not: every object lists
// all its properties in required and sets additionalProperties to false.
// The router sends a route's schema with strict only then; a provider
// refuses a strict schema that breaks them, and the router validates every
// answer either way.
func StrictCompatible(doc []byte) bool {
	var v any
	if json.Unmarshal(doc, &v) != nil {
		return false
	}
	return strictNode(v, 0)
}

func strictNode(v any, depth int) bool {
	if depth > 64 {
		return false
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if !strictNode(e, depth+1) {
				return false
			}
		}
	case map[string]any:
		if props, ok := x["properties"].(map[string]any); ok || x["type"] == "object" {
			if ap, ok := x["additionalProperties"].(bool); !ok || ap {
				return false
			}
			req, _ := x["required"].([]any)
			if len(req) != len(props) {
				return false
			}
			for _, r := range req {
				if name, ok := r.(string); !ok || props[name] == nil {
					return false
				}
			}
		}
		for _, e := range x {
			if !strictNode(e, depth+1) {
				return false
			}
		}
	}
	return true
}
