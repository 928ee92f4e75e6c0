package config

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// withBenchmarks is base with a benchmark class, a detecting class, a schema
// and a benchmark set using them.
var withBenchmarks = strings.Replace(base, "  phi: [hipaa]\n", "  phi: [hipaa]\n  bench: []\n  pii: {require: [hipaa], detect: [ssn]}\n", 1) + `
schemas:
  contact:
    type: object
    properties: {name: {type: string}, city: {type: string}}
    required: [name, city]
benchmarks:
  data_class: bench
  runs: 2
  timeout: 30s
  prompts:
    - {name: triage-short, messages: [{role: user, content: "Summarise: the printer is out of toner."}], max_tokens: 64}
    - name: json-extract
      messages:
        - {role: system, content: "Answer in JSON."}
        - {role: user, content: "Ada lives in Paris."}
      schema: contact
    - {name: exact, messages: [{role: user, content: "What is 2+2? Answer with the number only."}], expect: "4"}
`

func TestBenchmarksParseAndDefaults(t *testing.T) {
	c, err := Parse([]byte(withBenchmarks))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	b := c.Benchmarks
	if b == nil || b.DataClass != "bench" || len(b.Prompts) != 3 {
		t.Fatalf("benchmarks = %+v", b)
	}
	if b.RunsOrDefault() != 2 || b.ConcurrencyOrDefault() != DefaultBenchmarkConcurrency || b.TimeoutOrDefault() != 30*time.Second {
		t.Errorf("runs %d, concurrency %d, timeout %v", b.RunsOrDefault(), b.ConcurrencyOrDefault(), b.TimeoutOrDefault())
	}
	if b.Prompts[0].MaxTokensOrDefault() != 64 || b.Prompts[1].MaxTokensOrDefault() != DefaultBenchmarkMaxTokens {
		t.Errorf("max tokens %d, %d", b.Prompts[0].MaxTokensOrDefault(), b.Prompts[1].MaxTokensOrDefault())
	}
	if p := b.Prompts[1]; p.Schema != "contact" || p.Messages[0].Role != "system" || p.Messages[1].Content != "Ada lives in Paris." {
		t.Errorf("prompt %+v", p)
	}
	// The JSON form, which the config table's settings item holds, reads back equal.
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Benchmarks, c.Benchmarks) {
		t.Errorf("JSON round trip changed the benchmarks:\n%s", data)
	}
	// A configuration without benchmarks encodes as it did before they existed.
	plain, _ := Parse([]byte(base))
	if data, _ := json.Marshal(plain); strings.Contains(string(data), "benchmarks") {
		t.Errorf("a configuration without benchmarks encodes them: %s", data)
	}
}

func TestBenchmarkErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name       string
		old, new   string // replaced in withBenchmarks
		wantField  string
		wantSubstr string
	}{
		{name: "phi", old: "data_class: bench", new: "data_class: phi", wantField: "benchmarks.data_class", wantSubstr: "never run as PHI"},
		{name: "detecting class", old: "data_class: bench", new: "data_class: pii", wantField: "benchmarks.data_class", wantSubstr: "has detectors"},
		{name: "undeclared class", old: "data_class: bench", new: "data_class: nobody", wantField: "benchmarks.data_class", wantSubstr: `unknown data class "nobody"`},
		{name: "no class", old: "  data_class: bench\n", new: "", wantField: "benchmarks.data_class", wantSubstr: "is required"},
		{name: "runs", old: "runs: 2", new: "runs: 99", wantField: "benchmarks.runs", wantSubstr: "between 1 and 20"},
		{name: "timeout", old: "timeout: 30s", new: "timeout: 10m", wantField: "benchmarks.timeout", wantSubstr: "at most 5m0s"},
		{name: "duplicate name", old: "name: exact", new: "name: triage-short", wantField: "benchmarks.prompts[2].name", wantSubstr: "duplicate prompt"},
		{name: "bad name", old: "name: exact", new: "name: 'two words'", wantField: "benchmarks.prompts[2].name", wantSubstr: "must be letters"},
		{name: "role", old: "{role: system,", new: "{role: tool,", wantField: "benchmarks.prompts[1].messages[0].role", wantSubstr: `"tool"`},
		{name: "empty content", old: `content: "Ada lives in Paris."`, new: `content: " "`, wantField: "benchmarks.prompts[1].messages[1].content", wantSubstr: "is empty"},
		{name: "unknown schema", old: "schema: contact\n", new: "schema: nobody\n", wantField: "benchmarks.prompts[1].schema", wantSubstr: `unknown schema "nobody"`},
		{name: "schema and expect", old: "schema: contact\n", new: "schema: contact\n      expect: x\n", wantField: "benchmarks.prompts[1].expect", wantSubstr: "not both"},
		// Any configured detector refuses a prompt it matches, whatever class
		// the benchmark runs under; the message names the detector, not the text.
		{name: "detected text", old: "Ada lives in Paris.", new: "Ada, SSN 123-45-6789, lives in Paris.", wantField: "benchmarks.prompts[1].messages[1].content", wantSubstr: "detector ssn of data class pii"},
		{name: "no prompts", old: withBenchmarks[strings.Index(withBenchmarks, "  prompts:"):], new: "  prompts: []\n", wantField: "benchmarks.prompts", wantSubstr: "at least one prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(withBenchmarks, tt.old, tt.new, 1)
			if yaml == withBenchmarks {
				t.Fatalf("%q is not in the configuration", tt.old)
			}
			_, err := Parse([]byte(yaml))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.wantField && strings.Contains(fe.Message, tt.wantSubstr) {
					if strings.Contains(fe.Message, "123-45-6789") {
						t.Errorf("the error quotes the prompt: %s", fe.Message)
					}
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.wantField, tt.wantSubstr)
		})
	}
}
