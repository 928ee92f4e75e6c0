package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

const withSchemas = base + `
schemas:
  person:
    type: object
    properties:
      name: {type: string}
      age: {type: integer, minimum: 0}
    required: [name, age]
    additionalProperties: false
  as_text: '{"required":["id"],"type":"object","properties":{"id":{"type":"string"}}}'
`

func TestRouteSchemas(t *testing.T) {
	yaml := strings.Replace(withSchemas, "  - name: r1\n", "  - name: r1\n    schema: person\n    structured: {on_invalid: fallback}\n", 1)
	c, err := Parse([]byte(yaml))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := string(c.Schemas["person"]),
		`{"additionalProperties":false,"properties":{"age":{"minimum":0,"type":"integer"},"name":{"type":"string"}},"required":["name","age"],"type":"object"}`; got != want {
		t.Errorf("schema person =\n %s\nwant compact JSON with sorted keys\n %s", got, want)
	}
	if got, want := string(c.Schemas["as_text"]), `{"properties":{"id":{"type":"string"}},"required":["id"],"type":"object"}`; got != want {
		t.Errorf("a schema written as a JSON string = %s, want %s", got, want)
	}
	r := c.Routes[0]
	if r.Schema != "person" || r.Structured.Policy() != OnInvalidFallback {
		t.Errorf("route schema %q policy %q", r.Schema, r.Structured.Policy())
	}
	var none *Structured
	if none.Policy() != OnInvalidRepair {
		t.Errorf("default policy = %q, want repair", none.Policy())
	}

	// The JSON form (what the DynamoDB store holds) reads back equal.
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Schemas, c.Schemas) || back.Routes[0].Schema != "person" || back.Routes[0].Structured.OnInvalid != "fallback" {
		t.Errorf("JSON round trip changed the schemas or the route:\n%s", data)
	}
}

func TestRouteSchemaErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name       string
		route      string // added under routes[0]
		schemas    string // replaces the schemas of withSchemas
		wantField  string
		wantSubstr string
	}{
		{name: "unknown schema", route: "schema: nobody", wantField: "routes[0].schema", wantSubstr: `unknown schema "nobody"`},
		{name: "unknown policy", route: "structured: {on_invalid: retry}", wantField: "routes[0].structured.on_invalid", wantSubstr: `unknown policy "retry"`},
		{name: "bad name", schemas: "  bad.name: {type: object}\n", wantField: "schemas.bad.name", wantSubstr: "bad schema name"},
		{name: "invalid schema", schemas: "  s: {type: nonsense}\n", wantField: "schemas.s", wantSubstr: "not valid"},
		{name: "external reference", schemas: "  s: {$ref: 'https://example.com/s.json'}\n", wantField: "schemas.s", wantSubstr: "external"},
		{name: "array root", schemas: "  s: {type: array, items: {type: string}}\n", wantField: "schemas.s.type", wantSubstr: "type: object"},
		{name: "not JSON", schemas: "  s: '{\"type\": '\n", wantField: "schemas.s", wantSubstr: "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := withSchemas
			if tt.schemas != "" {
				yaml = base + "\nschemas:\n" + tt.schemas
			}
			if tt.route != "" {
				yaml = strings.Replace(yaml, "  - name: r1\n", "  - name: r1\n    "+tt.route+"\n", 1)
			}
			_, err := Parse([]byte(yaml))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.wantField && strings.Contains(fe.Message, tt.wantSubstr) {
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.wantField, tt.wantSubstr)
		})
	}
}
