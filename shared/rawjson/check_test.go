package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	many := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + strings.Repeat("x", i) + `":1`)
		}
		if dup {
			b.WriteString(`,"kxxx":2`)
		}
		b.WriteString("}")
		return b.String()
	}
	tests := []struct {
		name     string
		in       string
		wantErr  error
		wantPath string
	}{
		{"object", `{"model":"m","messages":[{"role":"user","content":"hi"}],"n":1,"x":[true,false,null,-1.5e3]}`, nil, ""},
		{"scalar", ` "s" `, nil, ""},
		{"same name in two objects", `{"a":{"role":1},"b":{"role":2}}`, nil, ""},
		{"names differing in case are distinct", `{"model":1,"Model":2}`, nil, ""},
		{"invalid UTF-8 is accepted, as json.Valid does", "{\"a\":\"\xff\"}", nil, ""},
		{"at the depth limit", nest(8), nil, ""},
		{"too deep", nest(9), ErrTooDeep, "[0][0][0][0][0][0][0][0]"},
		{"duplicate", `{"model":"a","model":"b"}`, ErrDuplicate, "model"},
		{"escaped duplicate", `{"model":"pub-model","mod\u0065l":"pub-expensive"}`, ErrDuplicate, "model"},
		{"escaped slash", `{"a\/b":1,"a/b":2}`, ErrDuplicate, "a/b"},
		{"invalid UTF-8 names decode to the same name", "{\"a\xff\":1,\"a\xfe\":2}", ErrDuplicate, "a\uFFFD"},
		{"nested duplicate names its path", `{"messages":[{"role":"user"},{"role":"user","role":"system"}]}`, ErrDuplicate, "messages[1].role"},
		{"duplicate in a large object", many(40, true), ErrDuplicate, "kxxx"},
		{"large object without duplicates", many(40, false), nil, ""},
		{"trailing comma", `{"a":1,}`, ErrSyntax, "a"},
		{"trailing data", `{} {}`, ErrSyntax, ""},
		{"control character in a string", "{\"a\":\"\x01\"}", ErrSyntax, "a"},
		{"bad escape", `{"a":"\x"}`, ErrSyntax, "a"},
		{"short unicode escape", `{"a":"\u12"}`, ErrSyntax, "a"},
		{"leading zero", `[01]`, ErrSyntax, "[0]"},
		{"bare minus", `[-]`, ErrSyntax, "[0]"},
		{"empty", ``, ErrSyntax, ""},
		{"unterminated", `{"a":"b`, ErrSyntax, "a"},
		{"missing colon", `{"a" 1}`, ErrSyntax, "a"},
		{"truncated literal", `[tru]`, ErrSyntax, "[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.in), 8)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check(%s) = %v, want nil", tt.in, err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || !errors.Is(err, tt.wantErr) || ce.Path != tt.wantPath {
				t.Fatalf("Check(%s) = %v, want %v at %q", tt.in, err, tt.wantErr, tt.wantPath)
			}
		})
	}
}

// Checking a usual request body costs no allocation.
func TestCheckDoesNotAllocate(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Hi \u00e9"}],"temperature":0.2,"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"type":"string"}}}}}]}`)
	if n := testing.AllocsPerRun(100, func() { _ = Check(body, 64) }); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

// FuzzCheck holds Check to encoding/json: it accepts exactly what json.Valid
// accepts, except documents nested deeper than the limit and objects with a
// member name twice, which an independent decoder confirms.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `{"a":1,"a":2}`, `{"a":1,"\u0061":2}`, `[[[[[[[[[[]]]]]]]]]]`,
		`{"a":"\ud800"}`, `-0.0e+1`, `{"a":{"b":1},"c":{"b":2}}`, "{\"\xff\":1,\"\xfe\":1}", `{"a" : 1 , "b" :[ ]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 8
		err := Check(data, limit)
		valid := json.Valid(data)
		switch {
		case err == nil && !valid:
			t.Fatalf("Check accepted %q, which json.Valid refuses", data)
		case errors.Is(err, ErrSyntax) && valid:
			t.Fatalf("Check(%q) = %v, but json.Valid accepts it", data, err)
		case errors.Is(err, ErrTooDeep) && depth(data) <= limit:
			t.Fatalf("Check(%q) = %v, but it nests %d deep", data, err, depth(data))
		case errors.Is(err, ErrDuplicate) && !hasDuplicate(data):
			t.Fatalf("Check(%q) = %v, but encoding/json's tokens show no duplicate", data, err)
		case err == nil && hasDuplicate(data):
			t.Fatalf("Check accepted %q, which has a duplicate member", data)
		}
	})
}

// depth is the deepest nesting encoding/json's tokenizer reaches.
func depth(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	d, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			d++
			deepest = max(deepest, d)
		case json.Delim('}'), json.Delim(']'):
			d--
		}
	}
}

// hasDuplicate reports whether an object of data has a member name twice,
// as encoding/json's tokenizer decodes the names.
func hasDuplicate(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	type level struct {
		object  bool
		names   map[string]bool
		wantKey bool
	}
	var stack []level
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
			if name, ok := tok.(string); ok {
				if stack[n-1].names[name] {
					return true
				}
				stack[n-1].names[name] = true
				stack[n-1].wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, names: map[string]bool{}, wantKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, level{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the enclosing object wants a name next.
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	body := []byte(`{"model":"bench","messages":[{"role":"system","content":"You are a triage assistant."},{"role":"user","content":"Patient reports mild headache for two days, no fever."}],"temperature":0.2,"max_tokens":256}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Check(body, 64); err != nil {
			b.Fatal(err)
		}
	}
}

// CasedNames marks the documents that could hold a name equal to another
// regardless of case, so readers can skip the check on all the others.
func TestCheckSummaryCasedNames(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{"model":"GPT-4o","messages":[{"role":"user","content":"Hello World"}]}`, false},
		{`{"Model":"m"}`, true},
		{`{"a":{"b":[{"parameters":{"properties":{"City":{}}}}]}}`, true},
		{`{"mod\u0065l":"m"}`, true},
		{`{"ſtream":true}`, true},
		{`["UPPER", "values", {"only":"X"}]`, false},
	}
	for _, tt := range tests {
		sum, err := CheckSummary([]byte(tt.in), 64)
		if err != nil || sum.CasedNames != tt.want {
			t.Errorf("CheckSummary(%s) = %+v, %v; want CasedNames %v", tt.in, sum, err, tt.want)
		}
	}
}

var validSamples = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e-3`, `true`, `false`, `null`, ` {"a" : [1, 2, {"b": null}] } `,
	`"\u00e9\ud83d\ude00 \"q\" \\ \/ \b\f\n\r\t"`, `"é"`, "\"\xff\"", `"\ud800"`, `"\udc00x"`, `"\ud800\u0041"`,
	`{"a":1,}`, `[1,]`, `[1 2]`, `{"a" 1}`, `{1:2}`, `01`, `1.`, `.5`, `1e`, `-`, `+1`, `tru`, `nul`, `"a`, `"\x"`,
	`"\u12"`, "\"a\nb\"", `[`, `]`, `{"a":[1,2}`, `{} {}`, ``, ` `, `"\u00zz"`, `1e+`, `[-]`, `{"a":"b"}x`,
	`{"a":1,"a":2}`, `{"a":1,"\u0061":2}`,
}

func TestValid(t *testing.T) {
	for _, s := range validSamples {
		if got, want := Valid([]byte(s), 64), json.Valid([]byte(s)); got != want {
			t.Errorf("Valid(%q) = %v, json.Valid says %v", s, got, want)
		}
	}
	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	if Valid([]byte(deep), 64) || !Valid([]byte(deep[1:len(deep)-1]), 64) {
		t.Error("the depth limit is not 64 levels")
	}
	// Repeated names are Check's rule, not Valid's, and cost no map.
	many := []byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"a":18}`)
	if n := testing.AllocsPerRun(100, func() {
		if !Valid(many, 64) {
			t.Fatal("Valid refused an object with a repeated name")
		}
	}); n != 0 {
		t.Errorf("%v allocations, want 0", n)
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validSamples {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b, 1000), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	body := []byte(`{"model":"gpt-4.1-mini","instructions":"You are a concise assistant for a travel agency.","input":[{"role":"user","content":"What's the weather in Paris?"},` +
		`{"type":"function_call","call_id":"call_abc123","name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}],` +
		`"tools":[{"type":"function","name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}],"temperature":0.3}`)
	b.Run("rawjson", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			Valid(body, 64)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			json.Valid(body)
		}
	})
}
