package structured

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestExtract(t *testing.T) {
	tests := []struct {
		name, in, want string
		kind           byte
	}{
		{"plain", `{"a":1}`, `{"a":1}`, 0},
		{"spaces", "\n  {\"a\": 1}\n", `{"a": 1}`, 0},
		{"json fence", "Here you go:\n```json\n{\"a\":1}\n```\nAnything else?", `{"a":1}`, 0},
		{"bare fence", "```\n[1,2]\n```", `[1,2]`, 0},
		{"second fence", "```python\nprint(1)\n```\nand\n```json\n{\"ok\":true}\n```", `{"ok":true}`, 0},
		{"prose before", `Sure! The extraction is {"name":"Ann","tags":["a}b"]} as requested.`, `{"name":"Ann","tags":["a}b"]}`, 0},
		{"brace in a string", `Result: {"s":"a \"quoted\" { brace"}`, `{"s":"a \"quoted\" { brace"}`, 0},
		{"skips invalid candidates", `Use {curly} braces, like this: {"k":"v"}`, `{"k":"v"}`, 0},
		{"object wanted after an array", `The list [1,2] and the record {"id":7}`, `{"id":7}`, '{'},
		{"array wanted", `Answer: {"x":1} or [3]`, `[3]`, '['},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Extract([]byte(tt.in), tt.kind)
			if err != nil || string(got) != tt.want {
				t.Errorf("Extract(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	for _, in := range []string{"", "no json here", "{broken", "```json\n{nope\n```"} {
		if _, err := Extract([]byte(in), 0); !errors.Is(err, ErrNoJSON) {
			t.Errorf("Extract(%q) error = %v, want ErrNoJSON", in, err)
		}
	}
}

const personSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "age": {"type": "integer", "minimum": 0},
    "email": {"type": "string", "format": "email"},
    "tags": {"type": "array", "items": {"type": "string"}}
  },
  "required": ["name", "age"],
  "additionalProperties": false
}`

func TestCheck(t *testing.T) {
	s, err := Compile([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	if s.Root() != '{' {
		t.Errorf("root = %q", s.Root())
	}
	got, err := s.Check([]byte(`{"tags":["x","<b>"],  "name":"Ann", "age": 41}`))
	if err != nil || string(got) != `{"age":41,"name":"Ann","tags":["x","<b>"]}` {
		t.Errorf("Check = %s, %v; want canonical JSON with sorted keys and no HTML escaping", got, err)
	}
	bad := []struct{ doc, want string }{
		{`{"name":"Ann","age":"41"}`, "/age"},
		{`{"name":"Ann"}`, "age"},
		{`{"name":"Ann","age":3,"extra":1}`, "extra"},
		{`{"name":"Ann","age":-1}`, "/age"},
	}
	for _, b := range bad {
		_, err := s.Check([]byte(b.doc))
		var inv *InvalidError
		if !errors.As(err, &inv) || !strings.Contains(inv.Error(), b.want) {
			t.Errorf("Check(%s) = %v; want a problem naming %s", b.doc, err, b.want)
		}
	}
	if _, err := s.Check([]byte(`not json`)); !errors.Is(err, ErrNoJSON) {
		t.Errorf("Check(not json) = %v", err)
	}
	// Numbers keep their written form: no float rounding of big integers.
	var none *Schema
	got, err = none.Check([]byte(`{"id":12345678901234567890,"p":1.10}`))
	if err != nil || string(got) != `{"id":12345678901234567890,"p":1.10}` {
		t.Errorf("numbers: %s, %v", got, err)
	}
}

func TestCompileRefusesExternalRefs(t *testing.T) {
	for _, ref := range []string{"file:///etc/passwd", "https://example.com/s.json", "other.json"} {
		_, err := Compile([]byte(`{"$ref":"` + ref + `"}`))
		if err == nil {
			t.Errorf("a schema referring to %s compiled", ref)
		}
	}
	if _, err := Compile([]byte(`{"$defs":{"n":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/n"}}}`)); err != nil {
		t.Errorf("a local $ref: %v", err)
	}
	if _, err := Compile([]byte(`{"type":"nonsense"}`)); err == nil {
		t.Error("an invalid schema compiled")
	}
}

func TestCache(t *testing.T) {
	var c Cache
	a, err := c.Get([]byte(personSchema))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := c.Get([]byte(personSchema))
	if a != b {
		t.Error("the same schema was compiled twice")
	}
	c.Max = 1
	other, _ := c.Get([]byte(`{"type":"array"}`))
	if other == a || len(c.m) != 1 {
		t.Errorf("the cache grew past its bound: %d", len(c.m))
	}
}

// benchSchema is a 20-field extraction schema, a typical extraction shape.
func benchSchema() string {
	var props []string
	var req []string
	for i := 0; i < 20; i++ {
		typ := []string{`{"type":"string","maxLength":400}`, `{"type":"integer","minimum":0}`, `{"type":"number"}`,
			`{"type":"boolean"}`, `{"type":"array","items":{"type":"string"}}`}[i%5]
		props = append(props, fmt.Sprintf(`"field_%02d":%s`, i, typ))
		req = append(req, fmt.Sprintf(`"field_%02d"`, i))
	}
	return `{"type":"object","properties":{` + strings.Join(props, ",") + `},"required":[` + strings.Join(req, ",") + `],"additionalProperties":false}`
}

// benchAnswer is a ~2 KB answer the way models often send one: prose, then a fence.
func benchAnswer() string {
	var fields []string
	for i := 0; i < 20; i++ {
		v := []string{`"` + strings.Repeat("clinical note text ", 15) + `"`, "42", "3.14", "true", `["a","b","c"]`}[i%5]
		fields = append(fields, fmt.Sprintf(`  "field_%02d": %s`, i, v))
	}
	return "Here is the structured extraction you asked for, based on the patient's intake form:\n\n```json\n{\n" +
		strings.Join(fields, ",\n") + "\n}\n```\n\nLet me know if you need anything else."
}

func TestBenchFixtures(t *testing.T) {
	s, err := Compile([]byte(benchSchema()))
	if err != nil {
		t.Fatal(err)
	}
	answer := benchAnswer()
	if n := len(answer); n < 1500 || n > 2600 {
		t.Errorf("the benchmark answer is %d bytes, want about 2 KB", n)
	}
	doc, err := Extract([]byte(answer), s.Root())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check(doc); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkExtractAndValidate is the router's whole work on a structured
// answer: find the JSON in a ~2 KB answer, validate it against a 20-field
// schema, and encode it canonically. The target is 200µs.
func BenchmarkExtractAndValidate(b *testing.B) {
	var c Cache
	schema := []byte(benchSchema())
	answer := []byte(benchAnswer())
	b.SetBytes(int64(len(answer)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := c.Get(schema)
		if err != nil {
			b.Fatal(err)
		}
		doc, err := Extract(answer, s.Root())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Check(doc); err != nil {
			b.Fatal(err)
		}
	}
}
