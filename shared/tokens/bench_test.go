package tokens

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/llm-router/router/shared/lang"
)

// prompt4K returns the corpus files repeated and cut to 4096 bytes at a rune
// boundary: the size of prompt the per-request budget is set for.
func prompt4K(tb testing.TB, files ...string) string {
	tb.Helper()
	var b strings.Builder
	for b.Len() < 4096 {
		for _, f := range files {
			data, err := os.ReadFile("testdata/corpus/" + f)
			if err != nil {
				tb.Fatal(err)
			}
			b.Write(data)
		}
	}
	s := b.String()[:4096]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

var benchPrompts = []struct {
	name  string
	files []string
}{
	{"en", []string{"en_prose.txt", "en_clinical.txt"}},
	{"zh", []string{"zh.txt"}},
	{"mixed", []string{"mixed.txt"}},
}

// BenchmarkEstimate is the token estimate alone (one family; the others cost
// the same).
func BenchmarkEstimate(b *testing.B) {
	for _, p := range benchPrompts {
		text := prompt4K(b, p.files...)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				Estimate(text, OpenAI)
			}
		})
	}
}

// BenchmarkDetect is the language detection alone.
func BenchmarkDetect(b *testing.B) {
	for _, p := range benchPrompts {
		text := prompt4K(b, p.files...)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				lang.Detect(text)
			}
		})
	}
}

// BenchmarkAddDetect is both from one pass, and the estimate for every
// family, as the router would use them.
func BenchmarkAddDetect(b *testing.B) {
	for _, p := range benchPrompts {
		text := prompt4K(b, p.files...)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				var c Counter
				c.AddMessage()
				c.AddDetect(text)
				for f := range numFamilies {
					c.Tokens(f)
				}
			}
		})
	}
}

// BenchmarkTiktoken is the offline tokenizer this package was measured
// against, counting the same prompts exactly: the alternative to estimating.
func BenchmarkTiktoken(b *testing.B) {
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	enc, err := tiktoken.GetEncoding("o200k_base")
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range benchPrompts {
		text := prompt4K(b, p.files...)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				enc.Encode(text, nil, nil)
			}
		})
	}
}

// BenchmarkRangeRunes is a baseline, not a measure of this package: the
// cheapest possible pass over the same prompts (decoding every rune). On a
// shared machine, where absolute figures swing, read the others against it.
func BenchmarkRangeRunes(b *testing.B) {
	for _, p := range benchPrompts {
		text := prompt4K(b, p.files...)
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				n := 0
				for _, r := range text {
					if r > ' ' {
						n++
					}
				}
				if n == 0 {
					b.Fatal("no runes")
				}
			}
		})
	}
}
