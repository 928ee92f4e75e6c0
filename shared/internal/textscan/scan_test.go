package textscan

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestScan(t *testing.T) {
	tests := []struct {
		name, text string
		want       func(st *Stats) []int // the fields under test
		wantVals   []int
	}{
		{"words and case", "Hello World", func(st *Stats) []int {
			return []int{st.Letters[Latin], st.Words[Latin], st.Upper, st.Spaces, st.CaseSplits}
		}, []int{10, 2, 2, 1, 0}},
		{"camelCase splits", "getUserName(id)", func(st *Stats) []int {
			return []int{st.Words[Latin], st.CaseSplits, st.Punct, st.PunctRuns}
		}, []int{2, 2, 2, 2}},
		{"digit groups of three", "12345 678 9", func(st *Stats) []int {
			return []int{st.Digits, st.DigitGroups, st.Spaces}
		}, []int{9, 4, 2}},
		{"whitespace runs", "a\n\n  b c", func(st *Stats) []int {
			return []int{st.SpaceRuns, st.Spaces, st.Newlines}
		}, []int{1, 1, 2}},
		{"long words", "internationalization is long", func(st *Stats) []int {
			return []int{st.LongLetters, st.Words[Latin]}
		}, []int{14, 3}},
		{"japanese scripts", "日本語のテキスト。", func(st *Stats) []int {
			return []int{st.Letters[Han], st.Letters[Hiragana], st.Letters[Katakana], st.Wide, st.WideBytes}
		}, []int{3, 1, 4, 1, 3}},
		{"hangul", "안녕하세요 세계", func(st *Stats) []int {
			return []int{st.Letters[Hangul], st.Words[Hangul]}
		}, []int{7, 2}},
		{"emoji are wide punctuation", "hi 👋🏽", func(st *Stats) []int {
			return []int{st.Wide, st.WideBytes, st.PunctRuns}
		}, []int{2, 8, 1}},
		{"english stopwords", "the cat and the dog", func(st *Stats) []int {
			return []int{st.Stop[En], st.Stop[Es], st.Stop[De]}
		}, []int{3, 0, 0}},
		{"accented stopwords in any case", "não NÃO Não", func(st *Stats) []int {
			return []int{st.Stop[Pt], st.Hint[Pt], st.Upper}
		}, []int{3, 3, 4}},
		{"words over 8 bytes are not looked up", "thethethe", func(st *Stats) []int {
			return []int{st.Stop[En]}
		}, []int{0}},
		{"cyrillic marks", "Это тест, і все.", func(st *Stats) []int {
			return []int{st.Letters[Cyrillic], st.Words[Cyrillic], st.Marks[MarkRu], st.Marks[MarkUk]}
		}, []int{11, 4, 1, 1}},
		{"persian letters", "می\u200cخواهم یک کتاب", func(st *Stats) []int {
			return []int{st.Letters[Arabic], st.Words[Arabic], st.Marks[MarkFa], st.Marks[MarkAr]}
		}, []int{13, 3, 4, 0}},
		{"indic blocks", "नमस्ते বাংলা தமிழ்", func(st *Stats) []int {
			return []int{st.Words[Devanagari], st.Words[Bengali], st.Words[Tamil]}
		}, []int{1, 1, 1}},
		{"non-ascii digits and spaces", "٣٤٥\u00a0１２", func(st *Stats) []int {
			return []int{st.Digits, st.DigitGroups, st.Spaces}
		}, []int{5, 2, 1}},
		{"invalid utf-8 is punctuation", "a\xffb", func(st *Stats) []int {
			return []int{st.Words[Latin], st.Wide, st.WideBytes}
		}, []int{2, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st Stats
			Scan(tt.text, &st)
			if got := tt.want(&st); !reflect.DeepEqual(got, tt.wantVals) {
				t.Errorf("Scan(%q): got %v, want %v\n%+v", tt.text, got, tt.wantVals, st)
			}
			if st.Bytes != len(tt.text) {
				t.Errorf("Bytes = %d, want %d", st.Bytes, len(tt.text))
			}
		})
	}
}

// TestStatsAdd checks that Add sums every field: scanning two texts into one
// Stats and adding two separate ones must agree.
func TestStatsAdd(t *testing.T) {
	texts := []string{"Hello, World! getUser 12345 the\n\tcode() 日本語 안녕 Это і ъ پی ٹ não 👋", "Ünïcödé ß ñ ç è ì Cześć cafe\u0301 東京へ"}
	var together, sum Stats
	for _, s := range texts {
		Scan(s, &together)
		var one Stats
		Scan(s, &one)
		sum.Add(&one)
	}
	if !reflect.DeepEqual(together, sum) {
		t.Errorf("Add:\n got %+v\nwant %+v", sum, together)
	}
	v := reflect.ValueOf(sum)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("field %s is zero: the texts do not exercise it", v.Type().Field(i).Name)
		}
	}
}

func TestStopwordTable(t *testing.T) {
	for l, list := range stopLists {
		var st Stats
		Scan(list, &st)
		if st.Stop[l] == 0 {
			t.Errorf("%s: no stopword of its own list found", LatinLangs[l])
		}
	}
	if stopwords.mul != stopMul {
		t.Errorf("stopMul %#x puts three stopwords in a bucket; the table searched and found %#x: use it", uint64(stopMul), stopwords.mul)
	}
	if got := stopwords.lookup(packWord("zzz")); got != 0 {
		t.Errorf("lookup(zzz) = %b, want 0", got)
	}
	if got, want := stopwords.lookup(packWord("de")), uint8(1<<Es|1<<Fr|1<<Pt|1<<Nl); got != want {
		t.Errorf("lookup(de) = %07b, want %07b", got, want)
	}
}

// TestScanLatinReference checks the word-at-a-time Latin path against a
// letter-at-a-time count, on random ASCII that mixes cases, lengths and
// separators, and on words straddling text boundaries and accents.
func TestScanLatinReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "aAbBzZeEtThH  ,.-_0919\n\t"
	words := []string{"the", "The", "THE", "and", "getUserName", "HTTPServer", "de", "über", "está", "internationalization"}
	for n := range 2000 {
		var b strings.Builder
		for b.Len() < n%300 {
			if rng.IntN(3) == 0 {
				b.WriteString(words[rng.IntN(len(words))])
			} else {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		text := b.String()
		var st Stats
		Scan(text, &st)
		want := referenceLatin(text)
		got := [5]int{st.Letters[Latin], st.Words[Latin], st.Upper, st.CaseSplits, st.StopWords}
		if got != want {
			t.Fatalf("Scan(%q): letters, words, upper, splits, stopwords = %v, want %v", text, got, want)
		}
	}
}

// referenceLatin counts Latin letters, words, capitals, camelCase splits and
// stopwords one rune at a time.
func referenceLatin(text string) (n [5]int) {
	var word []rune
	end := func() {
		if len(word) == 0 {
			return
		}
		n[1]++
		w := strings.ToLower(string(word))
		if len(w) <= 8 && stopwords.lookup(packWord(w)) != 0 {
			n[4]++
		}
		word = word[:0]
	}
	prevLower := false
	for _, r := range text {
		if !unicode.Is(unicode.Latin, r) {
			end()
			prevLower = false
			continue
		}
		n[0]++
		if unicode.IsUpper(r) {
			n[2]++
			if prevLower {
				n[3]++
			}
		}
		prevLower = !unicode.IsUpper(r)
		word = append(word, r)
	}
	end()
	return n
}
