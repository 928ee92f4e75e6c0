// Package textscan walks a text once and counts what both the token estimate
// (package tokens) and the language detector (package lang) are computed from:
// letters and words per script, digits, punctuation, whitespace runs, Latin
// stopwords and a few letters that tell related languages apart. Sharing the
// walk lets the router get a prompt's size and language from one pass.
package textscan

import (
	"unicode"
	"unicode/utf8"
)

// Script is a writing system as the scanner groups letters. The numbering is
// lang.Script's.
type Script uint8

// The scripts the scanner tells apart; None is text without letters.
const (
	None Script = iota
	Latin
	Cyrillic
	Greek
	Armenian
	Georgian
	Hebrew
	Arabic
	Devanagari
	Bengali
	Gurmukhi
	Gujarati
	Oriya
	Tamil
	Telugu
	Kannada
	Malayalam
	Sinhala
	Thai
	Lao
	Myanmar
	Khmer
	Ethiopic
	Han
	Hiragana
	Katakana
	Hangul
	OtherLetter
	NumScripts
)

// Languages whose stopwords and letters are counted in Latin text, in the
// order of Stats.Stop and Stats.Hint.
const (
	En = iota
	Es
	Fr
	De
	Pt
	It
	Nl
	NumLatinLangs
)

// LatinLangs are the codes of the Latin-script languages, indexed by En…Nl.
var LatinLangs = [NumLatinLangs]string{"en", "es", "fr", "de", "pt", "it", "nl"}

// Letters that single out one language among those sharing a script, in the
// order of Stats.Marks.
const (
	MarkRu = iota // ы э ё: Russian (and Belarusian), never Ukrainian or Bulgarian
	MarkUk        // і ї є ґ: Ukrainian
	MarkBg        // ъ, frequent in Bulgarian, rare in Russian
	MarkSr        // ђ ј љ њ ћ џ: Serbian and Macedonian
	MarkAr        // ي ك ة ى: Arabic spelling
	MarkFa        // پ چ ژ گ ک ی: Persian (and Urdu) spelling
	MarkUr        // ٹ ڈ ڑ ں ے ھ ہ: Urdu
	NumMarks
)

// Stats are the counts of one or more texts; Scan adds to them, so a request's
// messages can be summed without joining them.
type Stats struct {
	Bytes   int
	Letters [NumScripts]int // letters, with their combining marks
	Words   [NumScripts]int // maximal runs of letters of one script
	// Upper counts Latin capitals; CaseSplits counts lower-to-upper changes
	// inside Latin words (camelCase), where BPE pre-tokenizers split.
	Upper      int
	CaseSplits int
	// LongLetters counts the Latin letters past the sixth of each word: long
	// words take more than one token.
	LongLetters int
	Digits      int
	DigitGroups int // ceil(len/3) per run of digits, as o200k splits them
	Punct       int // ASCII punctuation, symbols and control characters
	Wide        int // other punctuation and symbols: CJK punctuation, emoji, …
	WideBytes   int // their UTF-8 bytes
	PunctRuns   int // runs of punctuation and symbols of either kind
	Spaces      int // single spaces, which merge into the next word's token
	SpaceRuns   int // every other run of whitespace: newlines, indentation
	Newlines    int
	Stop        [NumLatinLangs]int // Latin stopwords seen, per language
	Hint        [NumLatinLangs]int // accented letters typical of a language
	Marks       [NumMarks]int
}

// Add adds o's counts to s.
func (s *Stats) Add(o *Stats) {
	s.Bytes += o.Bytes
	for i := range s.Letters {
		s.Letters[i] += o.Letters[i]
		s.Words[i] += o.Words[i]
	}
	s.Upper += o.Upper
	s.CaseSplits += o.CaseSplits
	s.LongLetters += o.LongLetters
	s.Digits += o.Digits
	s.DigitGroups += o.DigitGroups
	s.Punct += o.Punct
	s.Wide += o.Wide
	s.WideBytes += o.WideBytes
	s.PunctRuns += o.PunctRuns
	s.Spaces += o.Spaces
	s.SpaceRuns += o.SpaceRuns
	s.Newlines += o.Newlines
	for i := range s.Stop {
		s.Stop[i] += o.Stop[i]
		s.Hint[i] += o.Hint[i]
	}
	for i := range s.Marks {
		s.Marks[i] += o.Marks[i]
	}
}

// Character classes. ASCII bytes map to one through asciiClass; other runes
// through classify.
const (
	cPunct uint8 = iota
	cSpace       // ' '
	cWS          // other whitespace
	cNewline
	cDigit
	cUpper // Latin capital
	cLower // Latin small letter (or a Latin letter without case)
	cLetter
	cMark   // combining mark: continues the current letter run
	cIgnore // format characters: no effect at all
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case c == ' ':
			t[c] = cSpace
		case c == '\n':
			t[c] = cNewline
		case c == '\t' || c == '\r' || c == '\v' || c == '\f':
			t[c] = cWS
		case '0' <= c && c <= '9':
			t[c] = cDigit
		case 'A' <= c && c <= 'Z':
			t[c] = cUpper
		case 'a' <= c && c <= 'z':
			t[c] = cLower
		default:
			t[c] = cPunct
		}
	}
	return t
}()

// Run kinds: what the current maximal run of characters is.
const (
	runNone uint8 = iota
	runWS
	runDigit
	runPunct
	runLetter // + Script
)

// longWord is the word length past which LongLetters counts.
const longWord = 6

// scanner is the state of one walk.
type scanner struct {
	st        *Stats
	run       uint8
	runLen    int
	oneSpace  bool   // the whitespace run is a single ' '
	key       uint64 // the current Latin word's first 8 bytes, lowercased
	keyLen    int    // bytes of the word so far (may exceed 8)
	prevLower bool
}

// Scan adds the counts of text to st.
func Scan(text string, st *Stats) {
	sc := scanner{st: st}
	st.Bytes += len(text)
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			switch cl := asciiClass[c]; cl {
			case cLower, cUpper:
				sc.latin(cl == cUpper)
				sc.pack(c | 0x20)
			case cSpace, cWS, cNewline:
				sc.space(cl)
			case cDigit:
				sc.digit()
			default:
				sc.punct(false, 1)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		cl, script := classify(r)
		switch cl {
		case cUpper, cLower:
			sc.latinRune(r, cl == cUpper)
		case cLetter:
			sc.letter(script)
			if script == Cyrillic || script == Arabic {
				sc.mark(r)
			}
		case cMark:
			if sc.run >= runLetter {
				st.Letters[sc.run-runLetter]++
				sc.runLen++
				sc.keyLen += size // a decomposed accent: not looked up as a stopword
			} else {
				sc.punct(true, size)
			}
		case cDigit:
			sc.digit()
		case cSpace, cWS, cNewline:
			sc.space(cl)
		case cIgnore:
		default:
			sc.punct(true, size)
		}
	}
	sc.flush()
}

// flush closes the current run.
func (sc *scanner) flush() {
	st := sc.st
	switch {
	case sc.run == runWS:
		if sc.oneSpace {
			st.Spaces++
		} else {
			st.SpaceRuns++
		}
	case sc.run == runPunct:
		st.PunctRuns++
	case sc.run >= runLetter:
		script := Script(sc.run - runLetter)
		st.Words[script]++
		if script == Latin {
			if sc.runLen > longWord {
				st.LongLetters += sc.runLen - longWord
			}
			if sc.keyLen <= 8 {
				if m := stopwords.lookup(sc.key); m != 0 {
					for l := range NumLatinLangs {
						if m&(1<<l) != 0 {
							st.Stop[l]++
						}
					}
				}
			}
		}
	}
	sc.run = runNone
}

func (sc *scanner) start(run uint8) {
	if sc.run != runNone {
		sc.flush()
	}
	sc.run = run
	sc.runLen = 0
}

// latin counts a Latin letter; the caller packs its lowercase bytes.
func (sc *scanner) latin(upper bool) {
	if sc.run != runLetter+uint8(Latin) {
		sc.start(runLetter + uint8(Latin))
		sc.key, sc.keyLen, sc.prevLower = 0, 0, false
	}
	st := sc.st
	st.Letters[Latin]++
	sc.runLen++
	if upper {
		st.Upper++
		if sc.prevLower {
			st.CaseSplits++
		}
	}
	sc.prevLower = !upper
}

// pack appends a byte of the current Latin word to its key.
func (sc *scanner) pack(b byte) {
	if sc.keyLen < 8 {
		sc.key |= uint64(b) << (8 * sc.keyLen)
	}
	sc.keyLen++
}

// latinRune counts a Latin letter outside ASCII.
func (sc *scanner) latinRune(r rune, upper bool) {
	if h := hintOf(r); h != 0 {
		for l := range NumLatinLangs {
			if h&(1<<l) != 0 {
				sc.st.Hint[l]++
			}
		}
	}
	sc.latin(upper)
	if upper {
		r = unicode.ToLower(r)
	}
	var buf [utf8.UTFMax]byte
	for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
		sc.pack(b)
	}
}

func (sc *scanner) letter(script Script) {
	if sc.run != runLetter+uint8(script) {
		sc.start(runLetter + uint8(script))
	}
	sc.st.Letters[script]++
	sc.runLen++
}

func (sc *scanner) digit() {
	if sc.run != runDigit {
		sc.start(runDigit)
	}
	if sc.runLen%3 == 0 {
		sc.st.DigitGroups++
	}
	sc.runLen++
	sc.st.Digits++
}

func (sc *scanner) punct(wide bool, size int) {
	if sc.run != runPunct {
		sc.start(runPunct)
	}
	if wide {
		sc.st.Wide++
		sc.st.WideBytes += size
	} else {
		sc.st.Punct++
	}
}

func (sc *scanner) space(cl uint8) {
	if sc.run != runWS {
		sc.start(runWS)
		sc.oneSpace = cl == cSpace
	} else {
		sc.oneSpace = false
	}
	if cl == cNewline {
		sc.st.Newlines++
	}
}

// mark counts the Cyrillic and Arabic letters that tell languages apart.
func (sc *scanner) mark(r rune) {
	m := -1
	switch r {
	case 'ы', 'Ы', 'э', 'Э', 'ё', 'Ё':
		m = MarkRu
	case 'і', 'І', 'ї', 'Ї', 'є', 'Є', 'ґ', 'Ґ':
		m = MarkUk
	case 'ъ', 'Ъ':
		m = MarkBg
	case 'ђ', 'Ђ', 'ј', 'Ј', 'љ', 'Љ', 'њ', 'Њ', 'ћ', 'Ћ', 'џ', 'Џ':
		m = MarkSr
	case 'ي', 'ك', 'ة', 'ى':
		m = MarkAr
	case 'پ', 'چ', 'ژ', 'گ', 'ک', 'ی':
		m = MarkFa
	case 'ٹ', 'ڈ', 'ڑ', 'ں', 'ے', 'ھ', 'ہ':
		m = MarkUr
	}
	if m >= 0 {
		sc.st.Marks[m]++
	}
}

// hintOf returns the languages (bit En…Nl) an accented Latin letter suggests.
func hintOf(r rune) uint8 {
	const (
		es = 1 << Es
		fr = 1 << Fr
		de = 1 << De
		pt = 1 << Pt
		it = 1 << It
	)
	switch unicode.ToLower(r) {
	case 'ñ':
		return es
	case 'á', 'í', 'ó', 'ú':
		return es | pt
	case 'ã', 'õ':
		return pt
	case 'ç', 'ê', 'ô', 'â':
		return fr | pt
	case 'à':
		return fr | it | pt
	case 'è', 'ù':
		return fr | it
	case 'ì', 'ò':
		return it
	case 'œ', 'î', 'ï', 'û', 'ë':
		return fr
	case 'ä', 'ö', 'ü', 'ß':
		return de
	}
	return 0
}

// classify returns the class of a rune outside ASCII and, for letters, its
// script. Blocks are checked by range; unassigned or rare ones fall back to
// the unicode package.
func classify(r rune) (uint8, Script) {
	switch {
	case r < 0xC0:
		switch r {
		case 0x85:
			return cNewline, 0
		case 0xA0:
			return cSpace, 0
		case 0xAD:
			return cIgnore, 0
		case 0xAA, 0xB5, 0xBA:
			return cLower, Latin
		}
		return cPunct, 0
	case r < 0x250:
		if r == 0xD7 || r == 0xF7 {
			return cPunct, 0
		}
		return latinCase(r), Latin
	case r < 0x300:
		return cLower, Latin // IPA and spacing modifier letters
	case r < 0x370:
		return cMark, 0
	case r < 0x400:
		if r == 0x37E || r == 0x387 {
			return cPunct, 0
		}
		return cLetter, Greek
	case r < 0x530:
		return cLetter, Cyrillic
	case r < 0x590:
		if r == 0x589 || r == 0x58A {
			return cPunct, 0
		}
		return cLetter, Armenian
	case r < 0x600:
		if r == 0x5BE || r == 0x5C0 || r == 0x5C3 || r == 0x5C6 || r == 0x5F3 || r == 0x5F4 {
			return cPunct, 0
		}
		return cLetter, Hebrew
	case r < 0x700:
		switch {
		case r >= 0x660 && r <= 0x669, r >= 0x6F0 && r <= 0x6F9:
			return cDigit, 0
		case r <= 0x605:
			return cIgnore, 0
		case r == 0x60C || r == 0x61B || r == 0x61F || (r >= 0x66A && r <= 0x66D) || r == 0x6D4:
			return cPunct, 0
		}
		return cLetter, Arabic
	case r < 0x750:
		return cLetter, OtherLetter // Syriac
	case r < 0x780:
		return cLetter, Arabic
	case r < 0x870:
		return generic(r)
	case r < 0x900:
		return cLetter, Arabic
	case r < 0xE00:
		if r == 0x964 || r == 0x965 {
			return cPunct, 0
		}
		if o := r & 0x7F; o >= 0x66 && o <= 0x6F {
			return cDigit, 0
		}
		return cLetter, Devanagari + Script((r-0x900)>>7)
	case r < 0xE80:
		if r >= 0xE50 && r <= 0xE59 {
			return cDigit, 0
		}
		if r == 0xE3F {
			return cPunct, 0
		}
		return cLetter, Thai
	case r < 0xF00:
		return cLetter, Lao
	case r < 0x1000:
		return generic(r) // Tibetan
	case r < 0x10A0:
		return cLetter, Myanmar
	case r < 0x1100:
		return cLetter, Georgian
	case r < 0x1200:
		return cLetter, Hangul
	case r < 0x13A0:
		return cLetter, Ethiopic
	case r >= 0x1780 && r < 0x1800:
		return cLetter, Khmer
	case r >= 0x1E00 && r < 0x1F00:
		return latinCase(r), Latin
	case r >= 0x1F00 && r < 0x2000:
		return cLetter, Greek
	case r >= 0x2000 && r < 0x2070:
		switch {
		case r <= 0x200A, r == 0x202F, r == 0x205F:
			return cSpace, 0
		case r == 0x2028 || r == 0x2029:
			return cNewline, 0
		case r >= 0x200B && r <= 0x200D, r >= 0x2060 && r <= 0x2064:
			return cIgnore, 0 // zero-width characters, ZWNJ inside Persian words
		}
		return cPunct, 0
	case r >= 0x2070 && r < 0x2C00:
		return cPunct, 0 // super/subscripts, currency, arrows, math, dingbats, …
	case r >= 0x2C00 && r < 0x2E80:
		return generic(r)
	case r >= 0x2E80 && r < 0x2FF0:
		return cLetter, Han // radicals
	case r >= 0x2FF0 && r < 0x3040:
		switch {
		case r == 0x3000:
			return cSpace, 0
		case r == 0x3005 || r == 0x3006 || r == 0x3007 || (r >= 0x3021 && r <= 0x3029) || r == 0x303B:
			return cLetter, Han
		case r >= 0x3031 && r <= 0x3035:
			return cLetter, Hiragana
		}
		return cPunct, 0
	case r >= 0x3040 && r < 0x30A0:
		return cLetter, Hiragana
	case r >= 0x30A0 && r < 0x3100:
		if r == 0x30FB {
			return cPunct, 0
		}
		return cLetter, Katakana
	case r >= 0x3100 && r < 0x3130:
		return cLetter, Han // Bopomofo
	case r >= 0x3130 && r < 0x3190:
		return cLetter, Hangul
	case r >= 0x3190 && r < 0x31F0:
		return cLetter, Han
	case r >= 0x31F0 && r < 0x3200:
		return cLetter, Katakana
	case r >= 0x3200 && r < 0x3400:
		return cPunct, 0 // enclosed and compatibility CJK
	case r >= 0x3400 && r < 0x4DC0, r >= 0x4E00 && r < 0xA000:
		return cLetter, Han
	case r >= 0x4DC0 && r < 0x4E00:
		return cPunct, 0
	case r >= 0xA640 && r < 0xA6A0:
		return cLetter, Cyrillic
	case r >= 0xA720 && r < 0xA800:
		return latinCase(r), Latin
	case r >= 0xA960 && r < 0xA980, r >= 0xAC00 && r < 0xD800:
		return cLetter, Hangul
	case r >= 0xE000 && r < 0xF900:
		return cPunct, 0 // private use
	case r >= 0xF900 && r < 0xFB00:
		return cLetter, Han
	case r >= 0xFB00 && r < 0xFB07:
		return cLower, Latin
	case r >= 0xFB1D && r < 0xFB50:
		return cLetter, Hebrew
	case r >= 0xFB50 && r < 0xFE00, r >= 0xFE70 && r < 0xFEFF:
		return cLetter, Arabic
	case r >= 0xFE00 && r < 0xFE10, r == 0xFEFF:
		return cIgnore, 0
	case r >= 0xFF00 && r < 0xFFF0:
		switch {
		case r >= 0xFF10 && r <= 0xFF19:
			return cDigit, 0
		case r >= 0xFF21 && r <= 0xFF3A:
			return cUpper, Latin
		case r >= 0xFF41 && r <= 0xFF5A:
			return cLower, Latin
		case r >= 0xFF66 && r <= 0xFF9F:
			return cLetter, Katakana
		case r >= 0xFFA0 && r <= 0xFFDC:
			return cLetter, Hangul
		}
		return cPunct, 0
	case r >= 0x1F000 && r < 0x1FC00:
		return cPunct, 0 // emoji and pictographs
	case r >= 0x20000 && r < 0x32000:
		return cLetter, Han
	case r >= 0xE0000 && r < 0xE1000:
		return cIgnore, 0 // tags and variation selectors
	}
	return generic(r)
}

func latinCase(r rune) uint8 {
	if unicode.IsUpper(r) {
		return cUpper
	}
	return cLower
}

// generic classifies the rare runes that classify has no range for.
func generic(r rune) (uint8, Script) {
	switch {
	case unicode.IsLetter(r):
		return cLetter, OtherLetter
	case unicode.IsMark(r):
		return cMark, 0
	case unicode.IsDigit(r):
		return cDigit, 0
	case unicode.IsSpace(r):
		return cSpace, 0
	}
	return cPunct, 0
}
