package detect

import (
	"errors"
	"os"
	"regexp"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func mustCompile(t testing.TB, names []string, custom map[string]string) *Set {
	t.Helper()
	s, err := Compile(names, custom)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name         string
		names        []string
		custom       map[string]string
		wantDetector string
		wantSubstr   string
	}{
		{"unknown", []string{"ssn", "passport"}, nil, "passport", "unknown detector"},
		{"twice", []string{"ssn", "email", "ssn"}, nil, "ssn", "named twice"},
		{"empty name", []string{""}, nil, "", "needs a name"},
		{"bad pattern", []string{"pid"}, map[string]string{"pid": "PID-[0-9"}, "pid", "missing closing ]"},
		{"perl lookahead", []string{"pid"}, map[string]string{"pid": `PID(?=\d)`}, "pid", "invalid or unsupported Perl syntax"},
		{"empty match", []string{"any"}, map[string]string{"any": "a*"}, "any", "empty text"},
		{"word boundary only", []string{"wb"}, map[string]string{"wb": `\b`}, "wb", "empty text"},
		{"line start", []string{"ls"}, map[string]string{"ls": `(?m)^`}, "ls", "empty text"},
		{"optional", []string{"opt"}, map[string]string{"opt": `(PID-\d{8})?`}, "opt", "empty text"},
		{"built-in replaced", []string{"ssn"}, map[string]string{"ssn": `\d{9}`}, "ssn", "only mrn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Compile(tt.names, tt.custom)
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("Compile = %v, %v; want an *Error", s, err)
			}
			if de.Detector != tt.wantDetector || !strings.Contains(err.Error(), tt.wantSubstr) {
				t.Errorf("error = %v (detector %q); want detector %q and %q", err, de.Detector, tt.wantDetector, tt.wantSubstr)
			}
		})
	}
}

func TestCompileIgnoresUnnamedPatterns(t *testing.T) {
	// Only the named detectors are compiled: configuration validation checks
	// every pattern on its own.
	s := mustCompile(t, []string{"email"}, map[string]string{"broken": "[", "ssn": "x"})
	if got := s.Names(); len(got) != 1 || got[0] != "email" {
		t.Errorf("Names() = %v, want [email]", got)
	}
}

func TestMatchNamesTheFirstInSetOrder(t *testing.T) {
	const both = "mail jo@example.com about 123-45-6789 and PID-12345678"
	custom := map[string]string{"patient_id": `PID-[0-9]{8}`}
	tests := []struct {
		names []string
		text  string
		want  string
	}{
		{[]string{"ssn", "email"}, both, "ssn"},
		{[]string{"email", "ssn"}, both, "email"},
		{[]string{"patient_id", "ssn", "email"}, both, "patient_id"},
		{[]string{"ssn", "patient_id"}, both, "ssn"},
		{[]string{"phone", "dob", "patient_id", "email"}, both, "patient_id"},
		{[]string{"phone", "dob", "mrn"}, both, ""},
		{[]string{"mrn", "dob", "phone", "ssn"}, "SSN 123-45-6789, DOB 1/2/1980", "dob"},
		{[]string{"mrn", "phone", "ssn", "dob"}, "SSN 123-45-6789, DOB 1/2/1980", "ssn"},
		{nil, both, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			s := mustCompile(t, tt.names, custom)
			got, ok := s.Match(tt.text)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Match = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestCustomMRNReplacesTheBuiltin(t *testing.T) {
	s := mustCompile(t, []string{"mrn"}, map[string]string{"mrn": `\bMR-[0-9]{6}\b`})
	tests := []struct {
		text string
		want bool
	}{
		{"chart MR-123456 reviewed", true},
		{"MRN 1234567", false}, // the built-in's form, no longer matched
		{"MR-12345", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, ok := s.Match(tt.text)
			if ok != tt.want || (ok && got != "mrn") {
				t.Errorf("Match(%q) = %q, %v; want %v", tt.text, got, ok, tt.want)
			}
		})
	}
}

// The prefilter may only skip texts the regexp would not match.
func TestCustomAgreesWithRegexp(t *testing.T) {
	patterns := []string{
		`PID-[0-9]{8}`,
		`(?i)patient id:? *\d{6}`,
		`(?i)ks\d+`,         // k and s fold to non-ASCII runes
		`(?i)MASK-\d`,       // only "ma" can be searched as bytes
		`caf\x{e9} \d{3}`,   // a non-ASCII literal
		`x\x{FFFD}y`,        // U+FFFD also matches invalid UTF-8
		`(?:ab|cd)-\d{2}`,   // no single required literal
		`(PID|MRN)+\d`,      // alternation inside a repetition
		`\b[A-Z]{2}\d{6}\b`, // no literal at all
		`(?:ID){2,}\d`,
	}
	texts := []string{
		"", "PID-12345678", "pid-12345678", "Patient ID: 123456", "PATIENT id123456",
		"\u212As7", "\u017F", "Ks1", "mAsK-1", "MA\u017FK-1", "café 123", "cafe 123",
		"x\xffy", "x\uFFFDy", "ab-12", "cd-99", "MRNPID7", "AB123456", "ab123456",
		"IDID5", "ID5",
	}
	for _, expr := range patterns {
		s := mustCompile(t, []string{"c"}, map[string]string{"c": expr})
		re := regexp.MustCompile(expr)
		for _, text := range texts {
			_, got := s.Match(text)
			if want := re.MatchString(text); got != want {
				t.Errorf("pattern %q, text %q: Match = %v, regexp = %v", expr, text, got, want)
			}
		}
	}
}

func TestRequiredLiteral(t *testing.T) {
	tests := []struct {
		expr     string
		wantLit  string
		wantFold bool
	}{
		{`PID-[0-9]{8}`, "PID-", false},
		{`\bMRN[: ]*\d{6,10}\b`, "MRN", false},
		{`(?i)patient id \d+`, "patient id ", true},
		{`(?i)mask\d`, "ma", true},
		{`(?i)ab|cd`, "", false},
		{`[A-Z]{2}\d{6}`, "", false},
		{`(?:ref|id)-(?:2024)+x`, "2024", false},
		{`a?bcd`, "bcd", false},
		{`x(?i:abcdef)yz`, "abcdef", true},
		{`(?i:abc)-xyz`, "-xyz", false},
		{`(?i:abc)xyz`, "xyz", false}, // the exact literal wins a tie
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			p, err := compilePattern(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if p.lit != tt.wantLit || p.fold != tt.wantFold {
				t.Errorf("literal = %q fold %v; want %q fold %v", p.lit, p.fold, tt.wantLit, tt.wantFold)
			}
		})
	}
}

func TestMinLen(t *testing.T) {
	tests := []struct {
		expr string
		want int
	}{
		{`abc`, 3},
		{`a*`, 0},
		{`a+`, 1},
		{`a{3,5}`, 3},
		{`a|bc`, 1},
		{`\b`, 0},
		{`[^\x00-\x{10FFFF}]`, unbounded},
		{`x[^\x00-\x{10FFFF}]|yz`, 2},
		{`(?:ab){2}c?`, 4},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			re, err := syntax.Parse(tt.expr, syntax.Perl)
			if err != nil {
				t.Fatal(err)
			}
			if got := minLen(re.Simplify()); got != tt.want {
				t.Errorf("minLen = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMatchChat(t *testing.T) {
	s := mustCompile(t, []string{"ssn", "email"}, nil)
	const phi = "SSN 123-45-6789"
	text := func(role, s string) llm.Message { return llm.Message{Role: role, Content: llm.Content{Text: s}} }
	tests := []struct {
		name string
		msgs []llm.Message
		want string
	}{
		{"none", []llm.Message{text("system", "be brief"), text("user", "hello")}, ""},
		{"user text", []llm.Message{text("system", "be brief"), text("user", phi)}, "ssn"},
		{"system text", []llm.Message{text("system", phi), text("user", "hello")}, "ssn"},
		{"text part", []llm.Message{{Role: "user", Content: llm.Content{IsParts: true,
			Parts: []llm.Part{{Type: "image_url", ImageURL: &llm.ImageURL{URL: "https://x.example/a.png"}}, {Type: "text", Text: phi}}}}}, "ssn"},
		{"refusal part", []llm.Message{{Role: "assistant", Content: llm.Content{IsParts: true,
			Parts: []llm.Part{{Type: "refusal", Refusal: "I won't email jo@example.com"}}}}}, "email"},
		{"tool call arguments", []llm.Message{{Role: "assistant",
			ToolCalls: []llm.ToolCall{{ID: "c1", Type: "function", Function: llm.FunctionCall{Name: "lookup", Arguments: `{"ssn":"123-45-6789"}`}}}}}, "ssn"},
		{"tool result", []llm.Message{text("user", "look it up"), {Role: "tool", ToolCallID: "c1", Content: llm.Content{Text: `{"email":"jo@example.com"}`}}}, "email"},
		{"reasoning", []llm.Message{{Role: "assistant", ReasoningContent: "the number is " + phi}}, "ssn"},
		{"order across messages", []llm.Message{text("user", "jo@example.com"), text("user", phi)}, "ssn"},
		{"split across parts", []llm.Message{{Role: "user", Content: llm.Content{IsParts: true,
			Parts: []llm.Part{{Type: "text", Text: "SSN 123-45-"}, {Type: "text", Text: "6789"}}}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := s.MatchChat(&llm.ChatRequest{Model: "m", Messages: tt.msgs})
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("MatchChat = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestMatchTexts(t *testing.T) {
	s := mustCompile(t, []string{"ssn", "email"}, nil)
	tests := []struct {
		texts []string
		want  string
	}{
		{nil, ""},
		{[]string{"a", "b"}, ""},
		{[]string{"a", "jo@example.com"}, "email"},
		{[]string{"jo@example.com", "123-45-6789"}, "ssn"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.texts, "|"), func(t *testing.T) {
			got, ok := s.MatchTexts(tt.texts)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("MatchTexts = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

func TestNilSetMatchesNothing(t *testing.T) {
	var s *Set
	if got, ok := s.Match("123-45-6789"); ok {
		t.Errorf("nil Set matched %q", got)
	}
	if got, ok := s.MatchChat(&llm.ChatRequest{Messages: []llm.Message{{Role: "user", Content: llm.Content{Text: "123-45-6789"}}}}); ok {
		t.Errorf("nil Set matched %q", got)
	}
	if got, ok := s.MatchTexts([]string{"123-45-6789"}); ok {
		t.Errorf("nil Set matched %q", got)
	}
	if s.Names() != nil {
		t.Error("nil Set has names")
	}
}

// clinicalPrompt is a 4 KB synthetic visit note: numbers, dates, codes and
// punctuation, and no PHI a built-in detector recognises.
func clinicalPrompt(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/clinical-4k.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4096 {
		t.Fatalf("testdata/clinical-4k.txt is %d bytes, want 4096", len(b))
	}
	return string(b)
}

// withTail replaces the end of prompt with tail, keeping its length.
func withTail(prompt, tail string) string { return prompt[:len(prompt)-len(tail)] + tail }

func TestClinicalPrompt(t *testing.T) {
	prompt := clinicalPrompt(t)
	all := mustCompile(t, Builtins(), nil)
	if got, ok := all.Match(prompt); ok {
		t.Fatalf("the clean prompt matches %s", got)
	}
	tails := []struct{ tail, want string }{
		{" SSN 123-45-6789.", SSN},
		{" Call (555) 123-4567.", Phone},
		{" Mail jo@example.com.", Email},
		{" DOB 04/12/1961.", DOB},
		{" MRN 00482913.", MRN},
	}
	for _, tt := range tails {
		t.Run(tt.want, func(t *testing.T) {
			got, ok := all.Match(withTail(prompt, tt.tail))
			if !ok || got != tt.want {
				t.Errorf("Match = %q, %v; want %s", got, ok, tt.want)
			}
		})
	}
}
