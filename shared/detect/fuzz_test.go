package detect

import (
	"regexp"
	"strings"
	"testing"
)

// FuzzMatch holds Match to its contract on any text: no panic, the same
// answer twice, the name of one of the Set's detectors, and the first in the
// Set's order that matches on its own; custom patterns agree with the regexp
// package.
func FuzzMatch(f *testing.F) {
	for _, seed := range []string{
		"", "SSN 123-45-6789", "(555) 123-4567", "+44 20 7183 8750", "jo@example.com", "DOB 01/02/1980",
		"born 3rd of March, 1980", "MRN: 00123456", "PID-12345678", "1-800-555-0199", "a@b", "+1 (",
		"DOB 12-Sept-", "birth Mar", "x@y.", "1/2/", "medical record no", "\xff\xfe@\x00",
	} {
		f.Add(seed)
	}
	custom := map[string]string{"patient_id": `PID-[0-9]{8}`, "ref": `(?i)ref[ :#]*\d{4,}`}
	names := append(Builtins(), "patient_id", "ref")
	all, err := Compile(names, custom)
	if err != nil {
		f.Fatal(err)
	}
	single := make([]*Set, len(names))
	for i, name := range names {
		if single[i], err = Compile([]string{name}, custom); err != nil {
			f.Fatal(err)
		}
	}
	res := map[string]*regexp.Regexp{"patient_id": regexp.MustCompile(custom["patient_id"]), "ref": regexp.MustCompile(custom["ref"])}
	f.Fuzz(func(t *testing.T, text string) {
		got, ok := all.Match(text)
		if again, ok2 := all.Match(text); again != got || ok2 != ok {
			t.Fatalf("Match is not deterministic: %q, %v then %q, %v", got, ok, again, ok2)
		}
		if texts, okT := all.MatchTexts([]string{text}); texts != got || okT != ok {
			t.Fatalf("MatchTexts = %q, %v; Match = %q, %v", texts, okT, got, ok)
		}
		// The scan reads eight bytes at a time: where the text falls on
		// those words must not matter.
		for k := 1; k < 8; k++ {
			if moved, okM := all.Match(strings.Repeat(" ", k) + text); moved != got || okM != ok {
				t.Fatalf("after %d spaces Match = %q, %v; without = %q, %v", k, moved, okM, got, ok)
			}
		}
		first := ""
		for i, name := range names {
			name1, ok1 := single[i].Match(text)
			if ok1 && name1 != name {
				t.Fatalf("the Set of %s alone named %q", name, name1)
			}
			if re := res[name]; re != nil && re.MatchString(text) != ok1 {
				t.Fatalf("%s: Match = %v, regexp = %v", name, ok1, !ok1)
			}
			if ok1 && first == "" {
				first = name
			}
		}
		if got != first || ok != (first != "") {
			t.Fatalf("Match = %q, %v; the first detector matching alone is %q", got, ok, first)
		}
	})
}
