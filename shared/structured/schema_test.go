package structured

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// Each case is a schema, then instances that must pass and instances that
// must fail (with a substring of the problem, location included).
func TestValidatorKeywords(t *testing.T) {
	type bad struct{ doc, want string }
	tests := []struct {
		name   string
		schema string
		good   []string
		bad    []bad
	}{
		{"type list and integer", `{"type":["integer","null"]}`, []string{`1`, `1.0`, `null`, `-7`},
			[]bad{{`1.5`, "/: got number, want integer or null"}, {`"1"`, "got string"}}},
		{"enum and const", `{"properties":{"a":{"enum":[1,"x",{"k":[true]}]},"b":{"const":2}}}`,
			[]string{`{"a":1.0,"b":2}`, `{"a":{"k":[true]}}`, `{"a":"x"}`},
			[]bad{{`{"a":2}`, "/a: value must be one of"}, {`{"b":"2"}`, "/b: value must be 2"}}},
		{"numbers", `{"minimum":0,"exclusiveMaximum":10,"multipleOf":0.5}`, []string{`0`, `9.5`, `1e0`, `45e-1`},
			[]bad{{`-1`, "must be >= 0"}, {`10`, "must be < 10"}, {`0.3`, "not a multiple of 0.5"}}},
		{"strings", `{"minLength":2,"maxLength":3,"pattern":"^[a-zé]+$"}`, []string{`"ab"`, `"éé"`},
			[]bad{{`"a"`, "length must be >= 2"}, {`"abcd"`, "length must be <= 3"}, {`"A1"`, "does not match pattern"}}},
		{"arrays", `{"prefixItems":[{"type":"string"}],"items":{"type":"integer"},"minItems":1,"maxItems":3,"uniqueItems":true}`,
			[]string{`["a"]`, `["a",1,2]`},
			[]bad{{`[]`, "minItems"}, {`[1]`, "/0: got integer, want string"}, {`["a","b"]`, "/1: got string"}, {`["a",1,1]`, "are equal"}}},
		{"contains", `{"contains":{"const":1},"minContains":2,"maxContains":3}`, []string{`[1,1]`, `[1,2,1,1]`},
			[]bad{{`[1]`, "want at least 2"}, {`[1,1,1,1]`, "want at most 3"}}},
		{"objects", `{"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x-":{"type":"integer"}},
			"additionalProperties":false,"required":["a"],"minProperties":1,"dependentRequired":{"x-b":["a"]}}`,
			[]string{`{"a":"s"}`, `{"a":"s","x-b":1}`},
			[]bad{{`{}`, "missing property 'a'"}, {`{"a":"s","x-c":"no"}`, "/x-c: got string"}, {`{"a":"s","z":1}`, "additional properties 'z' not allowed"}}},
		{"property names", `{"propertyNames":{"maxLength":3}}`, []string{`{"abc":1}`}, []bad{{`{"abcd":1}`, "property name 'abcd'"}}},
		{"applicators", `{"allOf":[{"minimum":1}],"anyOf":[{"maximum":5},{"multipleOf":10}],"oneOf":[{"type":"integer"},{"minimum":100}],"not":{"const":3}}`,
			[]string{`1`, `2`, `20`},
			[]bad{{`0`, "must be >= 1"}, {`7`, "anyOf"}, {`3`, "must not match"}, {`200`, "matches oneOf schemas 0 and 1"}}},
		{"if then else", `{"if":{"properties":{"k":{"const":"a"}}},"then":{"required":["x"]},"else":{"required":["y"]}}`,
			[]string{`{"k":"a","x":1}`, `{"k":"b","y":1}`}, []bad{{`{"k":"a","y":1}`, "missing property 'x'"}, {`{"y":0,"k":"a"}`, "'x'"}}},
		{"refs and anchors", `{"$defs":{"pos":{"$anchor":"positive","exclusiveMinimum":0},"name":{"type":"string"}},
			"properties":{"n":{"$ref":"#/$defs/name"},"p":{"$ref":"#positive"},"self":{"$ref":"#"}}}`,
			[]string{`{"n":"x","p":1,"self":{"n":"y"}}`}, []bad{{`{"p":0}`, "/p: must be > 0"}, {`{"self":{"n":1}}`, "/self/n: got integer"}}},
		{"unevaluated", `{"allOf":[{"properties":{"a":true}}],"unevaluatedProperties":false,"prefixItems":[true],"contains":{"const":"c"},"unevaluatedItems":false}`,
			[]string{`{"a":1}`, `[0,"c"]`}, []bad{{`{"a":1,"b":2}`, "unevaluated property 'b'"}, {`[0,"c",1]`, "/2: not allowed"}}},
		{"legacy draft 07", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"s":{"type":"string"}},
			"properties":{"a":{"$ref":"#/definitions/s","maxLength":1},"d":{"format":"date-time"}},"dependencies":{"a":["b"]},"items":[{"type":"object"}],"additionalItems":false}`,
			[]string{`{"a":"long, maxLength is ignored beside $ref","b":1,"d":"2026-03-14T09:26:53Z"}`, `[{}]`},
			[]bad{{`{"a":1,"b":1}`, "/a: got integer"}, {`{"a":"x"}`, "'b' is required"}, {`{"d":"yesterday"}`, "not a valid date-time"}, {`[{},1]`, "/1: not allowed"}}},
		{"boolean schemas", `{"properties":{"no":false,"yes":true}}`, []string{`{"yes":[1]}`}, []bad{{`{"no":1}`, "/no: not allowed"}}},
		{"nested ids", `{"$id":"https://example.com/root.json","$ref":"nested/a.json","$defs":{
			"a":{"$id":"nested/a.json","$ref":"./b.json"},"b":{"$id":"nested/b.json","type":"number"}}}`,
			[]string{`1`}, []bad{{`"x"`, "got string, want number"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile([]byte(tt.schema))
			if err != nil {
				t.Fatal(err)
			}
			for _, doc := range tt.good {
				if _, err := s.Check([]byte(doc)); err != nil {
					t.Errorf("%s: %v", doc, err)
				}
			}
			for _, b := range tt.bad {
				_, err := s.Check([]byte(b.doc))
				var inv *InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), b.want) {
					t.Errorf("%s: %v, want a problem with %q", b.doc, err, b.want)
				}
			}
		})
	}
}

// A schema that is not one is refused when compiled, naming where.
func TestInvalidSchemas(t *testing.T) {
	for schema, want := range map[string]string{
		`[]`:                                    "an object or a boolean",
		`{"type":"nonsense"}`:                   `"nonsense" is not a JSON Schema type`,
		`{"properties":{"a":{"minLength":-1}}}`: "at '/properties/a/minLength': want a non-negative integer",
		`{"required":"a"}`:                      "want an array of property names",
		`{"pattern":"(?<=a)b"}`:                 "not a regular expression this validator supports",
		`{"multipleOf":0}`:                      "above 0",
		`{"anyOf":[]}`:                          "non-empty array",
		`{"items":{"type":3}}`:                  "type name",
		`{"$ref":"#/$defs/missing"}`:            "names nothing",
		`{"$id":"https://example.com/a","$ref":"b.json"}`: "external schema references are not allowed",
	} {
		if _, err := Compile([]byte(schema)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", schema, err, want)
		}
	}
}

// Deep recursion through a reference ends with a problem, not a crash.
func TestRecursionIsBounded(t *testing.T) {
	s, err := Compile([]byte(`{"$defs":{"loop":{"$ref":"#/$defs/loop"}},"$ref":"#/$defs/loop"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Check([]byte(`1`)); err == nil || !strings.Contains(err.Error(), "recurse") {
		t.Errorf("a schema that only refers to itself: %v", err)
	}
}

// Draft-07 schemas assert formats by their RFC grammars (cases from the
// official suite's optional/format files).
func TestDraft07Formats(t *testing.T) {
	tests := []struct {
		format    string
		good, bad []string
	}{
		{"date-time",
			[]string{"1998-12-31T23:59:60Z", "1998-12-31T15:59:60.123-08:00", "1963-06-19t08:30:06.283185z",
				"1985-04-12T00:59:59.999999999999999Z"},
			[]string{"1990-12-31T10:00:00+10:60", "1990-12-31T15:59:59-24:00", "1998-12-31T22:59:60Z",
				"1990-02-31T15:59:59.123-08:00", "1963-06-19T08:30:06.28123+01:00Z", "1985-04-12T23:20:50Z\n"}},
		{"time",
			[]string{"23:59:60Z", "01:29:60+01:30", "00:29:60-23:30", "08:30:06z", "12:34:56-00:00"},
			[]string{"01:02:03+24:00", "01:02:03+00:60", "23:59:60+01:00", "12:00:00", "08:30:06-8:000"}},
		{"date", []string{"2020-02-29", "0400-02-29"}, []string{"2021-02-29", "2100-02-29", "2020-01-0:"}},
		{"uri",
			[]string{"http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com", "ldap://[2001:db8::7]/c=GB?objectClass?one",
				"http://[::1]:8080/a?b#c", "mailto:John.Doe@example.com", "urn:oasis:names:specification:docbook:dtd:xml:4.1.2"},
			[]string{"https://example.org/foobar®.txt", `https://example.org/foobar\.txt`, "https://example.org/foo bar.txt",
				"https://example.org/foobar<>{}^`|.txt", "http:/[::1]", "https://[@example.org/test.txt",
				"http://example.com:abc/path", "http://example.com/%6G", "/abc"}},
	}
	for _, tt := range tests {
		s, err := Compile([]byte(`{"$schema":"http://json-schema.org/draft-07/schema#","format":"` + tt.format + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tt.good {
			if _, err := s.Check([]byte(strconv.Quote(v))); err != nil {
				t.Errorf("%s %q: %v, want valid", tt.format, v, err)
			}
		}
		for _, v := range tt.bad {
			if _, err := s.Check([]byte(strconv.Quote(v))); err == nil {
				t.Errorf("%s %q: valid, want invalid", tt.format, v)
			}
		}
	}
}
