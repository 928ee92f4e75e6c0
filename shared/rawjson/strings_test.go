package rawjson

import (
	"strings"
	"testing"
)

// AppendString escapes what JSON requires and what line-oriented readers of
// the audit and metrics lines would split on: U+2028, U+2029 and the C1
// controls (U+0085 is NEL) are valid JSON unescaped, but tools that read a
// line at a time treat them as line ends.
func TestAppendStringEscapes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{"q\"b\\", `"q\"b\\"`},
		{"\n\r\t\x00\x1f", `"\n\r\t\u0000\u001f"`},
		{"a\u2028b\u2029c", `"a\u2028b\u2029c"`},
		{"nel\u0085 c1\u0080\u009f", `"nel\u0085 c1\u0080\u009f"`},
		{"\u00a0 nbsp and é stay", "\"\u00a0 nbsp and é stay\""},
		{"\u2027\u202a neighbours stay", "\"\u2027\u202a neighbours stay\""},
		{"bad \xff", `"bad \ufffd"`},
		{"\xc2\x85", `"\u0085"`},
		{"del \x7f stays", "\"del \x7f stays\""},
	}
	for _, tt := range tests {
		if got := string(AppendString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if got := string(AppendString(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendString([]byte(%q)) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// No line separator of any kind survives unescaped.
func TestAppendStringHasNoLineBreaks(t *testing.T) {
	var b strings.Builder
	for r := rune(0); r < 0x3000; r++ {
		b.WriteRune(r)
	}
	out := string(AppendString(nil, b.String()))
	for _, sep := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029", "\v", "\f"} {
		if strings.Contains(out, sep) {
			t.Errorf("%q survives in the output", sep)
		}
	}
	for r := rune(0x80); r <= 0x9f; r++ {
		if strings.ContainsRune(out, r) {
			t.Errorf("C1 control %U survives in the output", r)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	for _, bm := range []struct{ name, s string }{
		{"ascii", "req_95a23c31bd852960 team=triage,feature=refill Mozilla/5.0 (X11; Linux x86_64) openai-go/3.98.0"},
		{"unicode", "Patient née Müller, 東京 clinic — résumé attached ✓"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.SetBytes(int64(len(bm.s)))
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendString(buf[:0], bm.s)
			}
		})
	}
}
