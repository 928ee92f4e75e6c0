package structured

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The official JSON Schema Test Suite, as committed under
// testdata/jsonschema-suite (its README names the source commit). Run it
// with: go test -run TestOfficialSuite -v ./shared/structured/

// suiteRun is one set of suite files run alike.
type suiteRun struct {
	name string
	dir  string // under testdata/jsonschema-suite/tests; every .json file in it
	// dialect becomes the root's $schema when it has none: the router knows
	// a draft only from $schema, and the suite leaves it out before 2019-09.
	dialect string
	want    suiteCount
}

type suiteCount struct{ cases, agree, known, refused, refusedGroups int }

var suiteRuns = []suiteRun{
	{name: "draft2020-12", dir: "draft2020-12",
		want: suiteCount{cases: 1299, agree: 1240, known: 11, refused: 48, refusedGroups: 22}},
	{name: "draft7", dir: "draft7", dialect: "http://json-schema.org/draft-07/schema#",
		want: suiteCount{cases: 927, agree: 900, refused: 27, refusedGroups: 13}},
	{name: "draft7-formats", dir: "draft7/optional/format", dialect: "http://json-schema.org/draft-07/schema#",
		want: suiteCount{cases: 310, agree: 310}},
}

// suiteKey names a group of a file, and one of its cases (test "" for the
// whole group; group "*" for every group of the file).
type suiteKey struct{ file, group, test string }

const noDynamicScope = "$dynamicRef resolves like $ref, without dynamic scope"

// suiteKnown lists the cases where the router's answer differs from the
// suite's, each with the reason it is accepted.
var suiteKnown = map[string]map[suiteKey]string{
	"draft2020-12": {
		{"dynamicRef.json", "A $dynamicRef resolves to the first $dynamicAnchor still in scope that is encountered when the schema is evaluated", "An array containing non-strings is invalid"}:                               noDynamicScope,
		{"dynamicRef.json", "A $dynamicRef with intermediate scopes that don't include a matching $dynamicAnchor does not affect dynamic scope resolution", "An array containing non-strings is invalid"}:                     noDynamicScope,
		{"dynamicRef.json", "A $dynamicRef that initially resolves to a schema with a matching $dynamicAnchor resolves to the first $dynamicAnchor in the dynamic scope", "The recursive part is not valid against the root"}: noDynamicScope,
		{"dynamicRef.json", "multiple dynamic paths to the $dynamicRef keyword", "number list with string values"}:                                                                                                            noDynamicScope,
		{"dynamicRef.json", "multiple dynamic paths to the $dynamicRef keyword", "string list with number values"}:                                                                                                            noDynamicScope,
		{"dynamicRef.json", "after leaving a dynamic scope, it is not used by a $dynamicRef", "string matches /$defs/thingy, but the $dynamicRef does not stop here"}:                                                         noDynamicScope,
		{"dynamicRef.json", "after leaving a dynamic scope, it is not used by a $dynamicRef", "/then/$defs/thingy is the final stop for the $dynamicRef"}:                                                                     noDynamicScope,
		{"dynamicRef.json", "$dynamicRef avoids the root of each schema, but scopes are still registered", "data is not sufficient for schema at second#/$defs/length"}:                                                       noDynamicScope,
		{"unevaluatedItems.json", "unevaluatedItems with $dynamicRef", "with no unevaluated items"}:                                                                                                                           noDynamicScope,
		{"unevaluatedProperties.json", "unevaluatedProperties with $dynamicRef", "with no unevaluated properties"}:                                                                                                            noDynamicScope,
		{"vocabulary.json", "schema that uses custom metaschema with with no validation vocabulary", "no validation: invalid number, but it still validates"}:                                                                 "the router reads no meta-schema, so it cannot know a custom one leaves out the validation vocabulary",
	},
}

const (
	remoteDocs = "refers to the suite's remote documents (http://localhost:1234/...)"
	metaSchema = "refers to the draft's meta-schema, another document"
)

// suiteRefused lists the groups whose schema refers to another document:
// the router refuses such a schema when it is compiled, by design.
var suiteRefused = map[string]map[suiteKey]string{
	"draft2020-12": {
		{"refRemote.json", "*", ""}:                                                               remoteDocs,
		{"defs.json", "validate definition against metaschema", ""}:                               metaSchema,
		{"ref.json", "remote ref, containing refs itself", ""}:                                    metaSchema,
		{"dynamicRef.json", "strict-tree schema, guards against misspelled properties", ""}:       remoteDocs,
		{"dynamicRef.json", "tests for implementation dynamic anchor and reference link", ""}:     remoteDocs,
		{"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $defs first", ""}: remoteDocs,
		{"dynamicRef.json", "$ref and $dynamicAnchor are independent of order - $ref first", ""}:  remoteDocs,
		{"dynamicRef.json", "$ref to $dynamicRef finds detached $dynamicAnchor", ""}:              remoteDocs,
	},
	"draft7": {
		{"refRemote.json", "*", ""}:                                        remoteDocs,
		{"definitions.json", "validate definition against metaschema", ""}: metaSchema,
		{"ref.json", "remote ref, containing refs itself", ""}:             metaSchema,
	},
}

// TestOfficialSuite runs every case of the suite through Compile and Check
// and compares with the suite's answer. It fails on any difference not
// listed in suiteKnown, on a listed one that no longer occurs, on a schema
// that does not compile unless suiteRefused lists its group, and on a
// listed group that compiles.
func TestOfficialSuite(t *testing.T) {
	for _, r := range suiteRuns {
		t.Run(r.name, func(t *testing.T) {
			dir := filepath.Join("testdata", "jsonschema-suite", "tests", filepath.FromSlash(r.dir))
			files, err := filepath.Glob(filepath.Join(dir, "*.json"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no suite files in %s: %v", dir, err)
			}
			known, refused := suiteKnown[r.name], suiteRefused[r.name]
			seen := map[suiteKey]bool{}
			var got suiteCount
			for _, path := range files {
				raw, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var groups []suiteGroup
				if err := json.Unmarshal(raw, &groups); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				file := filepath.Base(path)
				for _, g := range groups {
					got.cases += len(g.Tests)
					r.runGroup(t, file, g, known, refused, seen, &got)
				}
			}
			for k, why := range known {
				if !seen[k] {
					t.Errorf("listed as a known difference (%s), but the router now agrees or the case is gone: %s / %q / %q", why, k.file, k.group, k.test)
				}
			}
			for k, why := range refused {
				if !seen[k] {
					t.Errorf("listed as refused (%s), but no such group was refused: %s / %q", why, k.file, k.group)
				}
			}
			t.Logf("%s: %d cases: %d agree, %d known differences, %d refused by design (%d groups)",
				r.name, got.cases, got.agree, got.known, got.refused, got.refusedGroups)
			if got != r.want {
				t.Errorf("counts %+v, want %+v (update them here and in docs/STRUCTURED.md)", got, r.want)
			}
		})
	}
}

// suiteGroup is one group of a suite file: a schema and its cases.
type suiteGroup struct {
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Tests       []struct {
		Description string          `json:"description"`
		Data        json.RawMessage `json:"data"`
		Valid       bool            `json:"valid"`
	} `json:"tests"`
}

func (r suiteRun) runGroup(t *testing.T, file string, g suiteGroup, known, refused map[suiteKey]string, seen map[suiteKey]bool, got *suiteCount) {
	t.Helper()
	schema := g.Schema
	if r.dialect != "" {
		schema = withDialect(t, schema, r.dialect)
	}
	s, err := Compile(schema)
	refusal := suiteKey{file, g.Description, ""}
	if _, ok := refused[refusal]; !ok {
		refusal.group = "*"
	}
	if _, listed := refused[refusal]; listed {
		if err == nil || !strings.Contains(err.Error(), "external schema references are not allowed") {
			t.Errorf("%s / %q: want the schema refused for an external reference, got %v", file, g.Description, err)
			return
		}
		seen[refusal] = true
		got.refused += len(g.Tests)
		got.refusedGroups++
		return
	}
	if err != nil {
		t.Errorf("%s / %q: does not compile: %v", file, g.Description, err)
		return
	}
	for _, c := range g.Tests {
		_, err := s.Check(c.Data)
		var invalid *InvalidError
		if err != nil && !errors.As(err, &invalid) {
			t.Errorf("%s / %q / %q: %v", file, g.Description, c.Description, err)
			continue
		}
		k := suiteKey{file, g.Description, c.Description}
		_, isKnown := known[k]
		switch {
		case (err == nil) == c.Valid:
			got.agree++
		case isKnown:
			seen[k] = true
			got.known++
		default:
			t.Errorf("%s / %q / %q: want valid=%v, got %v", file, g.Description, c.Description, c.Valid, err)
		}
	}
}

// withDialect sets the root's $schema unless it has one.
func withDialect(t *testing.T, schema json.RawMessage, dialect string) json.RawMessage {
	t.Helper()
	v, err := decode(schema)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return schema
	}
	if _, has := m["$schema"]; !has {
		m["$schema"] = dialect
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
