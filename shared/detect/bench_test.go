package detect

import "testing"

// BenchmarkMatch4KB measures Match on a 4 KB clinical-style prompt: without
// PHI (the usual case) and with a match in its last bytes, so the whole
// prompt is scanned either way.
func BenchmarkMatch4KB(b *testing.B) {
	prompt := clinicalPrompt(b)
	custom := map[string]string{
		"patient_id": `PID-[0-9]{8}`,
		"no_literal": `\b[A-Z]{2}[0-9]{6}\b`,
	}
	sets := []struct {
		name  string
		names []string
		tail  string
	}{
		{"builtins", Builtins(), " SSN 123-45-6789."},
		{"builtins-last", Builtins(), " MRN 00482913."},
		{"ssn", []string{SSN}, " SSN 123-45-6789."},
		{"phone", []string{Phone}, " Call (555) 123-4567."},
		{"email", []string{Email}, " Mail jo@example.com."},
		{"dob", []string{DOB}, " DOB 04/12/1961."},
		{"mrn", []string{MRN}, " MRN 00482913."},
		{"custom", []string{"patient_id"}, " PID-00482913."},
		{"custom-no-literal", []string{"no_literal"}, " ZX482913."},
		{"builtins+custom", append(Builtins(), "patient_id"), " PID-00482913."},
	}
	for _, set := range sets {
		s := mustCompile(b, set.names, custom)
		for _, c := range []struct{ name, text string }{
			{"no-match", prompt},
			{"match-at-end", withTail(prompt, set.tail)},
		} {
			if _, ok := s.Match(c.text); ok != (c.name == "match-at-end") {
				b.Fatalf("%s/%s: Match = %v", set.name, c.name, ok)
			}
			b.Run(set.name+"/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(c.text)))
				b.ReportAllocs()
				for b.Loop() {
					s.Match(c.text)
				}
			})
		}
	}
}
