package structured

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func TestAnswerTool(t *testing.T) {
	person := json.RawMessage(personSchema)
	schema := func(name string, doc string) *llm.ResponseFormat {
		return &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: name, Description: "A person.", Schema: json.RawMessage(doc)}}
	}
	declared := func(names ...string) func(string) bool {
		return func(n string) bool {
			for _, d := range names {
				if d == n {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name       string
		f          *llm.ResponseFormat
		declared   func(string) bool
		ok         bool
		wantName   string
		wantSchema string
	}{
		{"no format", nil, nil, false, "", ""},
		{"text", &llm.ResponseFormat{Type: "text"}, nil, false, "", ""},
		{"json_object", &llm.ResponseFormat{Type: "json_object"}, nil, true, DefaultToolName, `{"type":"object"}`},
		{"schema named", schema("person", personSchema), nil, true, "person", string(person)},
		{"bad name", schema("a person!", personSchema), nil, true, DefaultToolName, string(person)},
		{"name a client tool has", schema("person", personSchema), declared("person"), true, DefaultToolName, string(person)},
		{"both names taken", schema("person", personSchema), declared("person", DefaultToolName), true, "router_" + DefaultToolName, string(person)},
		{"properties without type", schema("p", `{"properties":{"a":{"type":"string"}}}`), nil, true, "p", `{"type":"object","properties":{"a":{"type":"string"}}}`},
		{"array root", schema("list", `{"type":"array","items":{"type":"string"}}`), nil, false, "", ""},
		{"no schema", &llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "x"}}, nil, true, DefaultToolName, `{"type":"object"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tool, ok := AnswerTool(tt.f, tt.declared)
			if ok != tt.ok || tool.Name != tt.wantName || string(tool.Schema) != tt.wantSchema {
				t.Errorf("AnswerTool = %q %s %v; want %q %s %v", tool.Name, tool.Schema, ok, tt.wantName, tt.wantSchema, tt.ok)
			}
			if ok && !strings.HasPrefix(tool.Description, toolDescription) {
				t.Errorf("description = %q", tool.Description)
			}
		})
	}
}

func TestInstruction(t *testing.T) {
	if got := Instruction(nil); got != "" {
		t.Errorf("no format: %q", got)
	}
	if got := Instruction(&llm.ResponseFormat{Type: "json_object"}); !strings.Contains(got, "JSON object") {
		t.Errorf("json_object: %q", got)
	}
	got := Instruction(&llm.ResponseFormat{Type: "json_schema", JSONSchema: &llm.JSONSchema{Name: "p",
		Schema: json.RawMessage("{\n \"type\": \"object\"\n}")}})
	if !strings.Contains(got, "JSON Schema") || !strings.HasSuffix(got, "\n"+`{"type":"object"}`) {
		t.Errorf("json_schema: %q, want the instruction and the compact schema", got)
	}
}

func TestStrictCompatible(t *testing.T) {
	tests := []struct {
		schema string
		want   bool
	}{
		{`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`, true},
		{personSchema, false}, // email and tags are optional
		{`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]}`, false},
		{`{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"integer"}},"required":["b"]}},"required":["a"],"additionalProperties":false}`, false},
		{`{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{"type":"integer"}},"required":["b"],"additionalProperties":false}}},"required":["a"],"additionalProperties":false}`, true},
		{`not json`, false},
	}
	for _, tt := range tests {
		if got := StrictCompatible([]byte(tt.schema)); got != tt.want {
			t.Errorf("StrictCompatible(%s) = %v, want %v", tt.schema, got, tt.want)
		}
	}
}

func TestResponseFormat(t *testing.T) {
	tests := []struct{ schema, want string }{
		{`{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}`,
			`{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false},"strict":true}}`},
		{`{"type":"object","properties":{"a":{"type":"string"}}}`,
			`{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"a":{"type":"string"}}}}}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(ResponseFormat("s", []byte(tt.schema)))
		if err != nil || string(got) != tt.want {
			t.Errorf("ResponseFormat(%s) = %s, %v; want %s", tt.schema, got, err, tt.want)
		}
	}
}

func TestInstanceMatchesItsSchema(t *testing.T) {
	schemas := []string{
		personSchema,
		benchSchema(),
		`{"type":"object","properties":{"kind":{"enum":["a","b"]},"v":{"const":3},"when":{"type":"string","format":"date-time"},
		  "n":{"type":["null","integer"],"exclusiveMinimum":5},"code":{"type":"string","minLength":12,"maxLength":12},
		  "list":{"type":"array","minItems":2,"items":{"$ref":"#/$defs/item"}},"either":{"anyOf":[{"type":"boolean"},{"type":"string"}]}},
		  "required":["kind","v","when","n","code","list","either"],
		  "$defs":{"item":{"type":"object","properties":{"id":{"type":"integer","minimum":1.5}},"required":["id"]}}}`,
		`{"type":"array","minItems":1,"items":{"type":"number","minimum":-2,"maximum":-1}}`,
	}
	for _, doc := range schemas {
		s, err := Compile([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		inst := Instance([]byte(doc))
		if _, err := s.Check(inst); err != nil {
			t.Errorf("Instance(%.60s…) = %s: %v", doc, inst, err)
		}
	}
}
