package config

import (
	"encoding/json"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/llm-router/router/shared/structured"
)

// What the router does when an answer fails the structured-output check
// (Structured.OnInvalid).
const (
	// OnInvalidRepair asks the same target once more, within the same
	// attempt, showing it the problems (the default).
	OnInvalidRepair = "repair"
	// OnInvalidFallback fails the attempt, so the next target is tried.
	OnInvalidFallback = "fallback"
	// OnInvalidError answers the client 502 invalid_structured_output.
	OnInvalidError = "error"
)

// Structured is a route's structured-output policy. It applies to every
// request on the route that asks for JSON (response_format json_object or
// json_schema) or that the route's schema covers.
type Structured struct {
	// OnInvalid is what happens when an answer is not the JSON asked for:
	// repair (default) | fallback | error. A repair that fails again is an
	// error.
	OnInvalid string `yaml:"on_invalid,omitempty" json:"on_invalid,omitempty"`
}

// Policy is the route's OnInvalid with its default.
func (s *Structured) Policy() string {
	if s == nil || s.OnInvalid == "" {
		return OnInvalidRepair
	}
	return s.OnInvalid
}

// JSONSchema is a JSON Schema document. YAML may write it as a mapping (the
// usual way) or as a string holding JSON. It is kept as compact JSON with
// sorted keys, so a schema compares and hashes the same however it was
// written or stored (YAML file, DynamoDB map).
type JSONSchema []byte

// UnmarshalYAML reads a mapping, or a string holding JSON.
func (s *JSONSchema) UnmarshalYAML(n *yaml.Node) error {
	var doc []byte
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		doc = []byte(n.Value)
	} else {
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		var err error
		if doc, err = json.Marshal(v); err != nil {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a schema must be a mapping with string keys", n.Line)}}
		}
	}
	c, err := structured.Canonical(doc)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: the schema is not JSON: %v", n.Line, err)}}
	}
	*s = c
	return nil
}

// MarshalYAML writes the schema as a mapping.
func (s JSONSchema) MarshalYAML() (any, error) {
	var v any
	if err := json.Unmarshal(s, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// UnmarshalJSON reads a schema object.
func (s *JSONSchema) UnmarshalJSON(b []byte) error {
	c, err := structured.Canonical(b)
	if err != nil {
		return err
	}
	*s = c
	return nil
}

// MarshalJSON writes the schema object.
func (s JSONSchema) MarshalJSON() ([]byte, error) {
	if len(s) == 0 {
		return []byte("null"), nil
	}
	return s, nil
}

// validateSchemas checks the named schemas: names providers accept, schemas
// that compile (no external references) and whose root is an object, as
// OpenAI's structured outputs and tool inputs require.
func (c *Config) validateSchemas(ck *checker) {
	names := make([]string, 0, len(c.Schemas))
	for name := range c.Schemas {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		f := "schemas." + name
		if !structured.ValidName(name) {
			ck.add(f, "bad schema name %q: it is sent to providers as the json_schema name, which allows letters, digits, _ and -, up to 64", name)
		}
		doc := c.Schemas[name]
		s, err := structured.Compile(doc)
		if err != nil {
			ck.add(f, "%v", err)
			continue
		}
		if s.Root() != '{' {
			ck.add(f+".type", "the root of a route schema must be type: object (OpenAI's structured outputs and tool inputs need an object)")
		}
	}
}

// validateStructured checks a route's schema reference and policy.
func (c *Config) validateStructured(ck *checker, f string, r *Route) {
	if r.Schema != "" {
		if _, ok := c.Schemas[r.Schema]; !ok {
			ck.add(f+".schema", "unknown schema %q (declare it under schemas)", r.Schema)
		}
	}
	if r.Structured != nil {
		switch r.Structured.OnInvalid {
		case "", OnInvalidRepair, OnInvalidFallback, OnInvalidError:
		default:
			ck.add(f+".structured.on_invalid", "unknown policy %q (want repair, fallback or error)", r.Structured.OnInvalid)
		}
	}
}
