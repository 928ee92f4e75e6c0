// Package textscan walks a text once and counts what both the token estimate
// (package tokens) and the language detector (package lang) are computed from:
// letters and words per script, digits, punctuation, whitespace runs, Latin
// stopwords and a few letters that tell related languages apart. Sharing the
// walk lets the router get a prompt's size and language from one pass.
package textscan

import (
	"math/bits"
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
	Bytes   int             // UTF-8 bytes scanned
	Letters [NumScripts]int // letters, with their combining marks
	Words   [NumScripts]int // maximal runs of letters of one script
	// Upper counts Latin capitals; CaseSplits counts lower-to-upper changes
	// inside Latin words (camelCase), where BPE pre-tokenizers split.
	Upper      int
	CaseSplits int
	// LongLetters counts the Latin letters past the sixth of each word: long
	// words take more than one token.
	LongLetters int
	LatinExt    int // Latin letters outside ASCII (accented, fullwidth)
	LatinExtA   int // of which from U+0100 on: Central European, Turkish, Vietnamese
	StopWords   int // Latin words that are a stopword of some language
	CyrillicExt int // Cyrillic letters outside Russian's alphabet (і ї є ґ ј љ ә қ …)
	Digits      int
	DigitGroups int // ceil(len/3) per run of digits, as o200k splits them
	Punct       int // ASCII punctuation, symbols and control characters
	Wide        int // other punctuation and symbols: CJK punctuation, emoji, …
	WideBytes   int // their UTF-8 bytes
	PunctRuns   int // runs of punctuation and symbols of either kind
	Spaces      int // single spaces, which merge into the next word's token
	SpaceRuns   int // every other run of whitespace: newlines, indentation
	SpaceChars  int // the characters of those runs
	SpaceDigits int // single spaces before a digit, a token of their own
	Combining   int // combining marks inside words (decomposed accents)
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
	s.LatinExt += o.LatinExt
	s.LatinExtA += o.LatinExtA
	s.StopWords += o.StopWords
	s.CyrillicExt += o.CyrillicExt
	s.Digits += o.Digits
	s.DigitGroups += o.DigitGroups
	s.Punct += o.Punct
	s.Wide += o.Wide
	s.WideBytes += o.WideBytes
	s.PunctRuns += o.PunctRuns
	s.Spaces += o.Spaces
	s.SpaceRuns += o.SpaceRuns
	s.SpaceChars += o.SpaceChars
	s.SpaceDigits += o.SpaceDigits
	s.Combining += o.Combining
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

// Scan adds the counts of text to st.
//
// It alternates between two loops, one over ASCII bytes and one over other
// runes, each small enough for the compiler to keep its state in registers;
// the ASCII loop takes runs of letters, spaces, digits and punctuation whole,
// because most prompts are mostly ASCII and the scan runs on every request.
func Scan(text string, st *Stats) {
	st.Bytes += len(text)
	var rs runState
	for i := 0; i < len(text); {
		if text[i] < utf8.RuneSelf {
			i = rs.ascii(text, i, st)
		} else {
			i = rs.other(text, i, st)
		}
	}
	endRun(st, rs.kind, rs.len, rs.oneSpace, rs.key, rs.keyLen)
}

// runState is what the scan knows of the current run between characters.
type runState struct {
	kind      uint8  // runNone, runWS, runDigit, runPunct or runLetter+script
	oneSpace  bool   // the whitespace run is a single space
	prevLower uint8  // the last Latin letter was small
	len       int    // the run's length (letters for words, digits for numbers)
	key       uint64 // the current Latin word's first 8 bytes, lowercased
	keyLen    int    // the word's length in bytes (may exceed 8)
}

// ascii scans from text[i] to the next byte outside ASCII.
func (rs *runState) ascii(text string, i int, st *Stats) int {
	kind, runLen, oneSpace := rs.kind, rs.len, rs.oneSpace
	key, keyLen, prevLower := rs.key, rs.keyLen, rs.prevLower
	for i < len(text) {
		c := text[i]
		if c >= utf8.RuneSelf {
			break
		}
		switch asciiClass[c] {
		case cLower, cUpper:
			if kind != runLatin {
				if kind != runNone {
					endRun(st, kind, runLen, oneSpace, key, keyLen)
				}
				kind, runLen, key, keyLen, prevLower = runLatin, 0, 0, 0, 0
			}
			var open bool
			var w word
			i, w, open = latinWords(text, i, st, word{key, keyLen, runLen, prevLower})
			if open {
				key, keyLen, runLen, prevLower = w.key, w.keyLen, w.runLen, w.prevLower
			} else {
				kind = runNone
			}
		case cSpace, cWS, cNewline:
			if kind != runWS {
				if c == ' ' && (i+1 == len(text) || spaceFlags[text[i+1]] == 0) {
					// A single space between words: the commonest run.
					if kind != runNone {
						endRun(st, kind, runLen, oneSpace, key, keyLen)
					}
					kind = runNone
					st.Spaces++
					if i+1 < len(text) && '0' <= text[i+1] && text[i+1] <= '9' {
						st.SpaceDigits++
					}
					i++
					continue
				}
				if kind != runNone {
					endRun(st, kind, runLen, oneSpace, key, keyLen)
				}
				kind, runLen, oneSpace = runWS, 0, c == ' '
			} else {
				oneSpace = false
			}
			j, newlines := i, 0
			for ; j < len(text); j++ {
				f := spaceFlags[text[j]]
				if f == 0 {
					break
				}
				newlines += int(f >> 1)
			}
			st.Newlines += newlines
			if j-i > 1 {
				oneSpace = false
			}
			runLen += j - i
			i = j
		case cDigit:
			if kind != runDigit {
				if kind != runNone {
					endRun(st, kind, runLen, oneSpace, key, keyLen)
				}
				kind, runLen = runDigit, 0
			}
			j := i
			for j < len(text) && '0' <= text[j] && text[j] <= '9' {
				j++
			}
			after := runLen + j - i
			st.DigitGroups += (after+2)/3 - (runLen+2)/3
			st.Digits += j - i
			runLen = after
			i = j
		default:
			if kind != runPunct {
				if kind != runNone {
					endRun(st, kind, runLen, oneSpace, key, keyLen)
				}
				kind = runPunct
			}
			j := i
			for j < len(text) && text[j] < utf8.RuneSelf && asciiClass[text[j]] == cPunct {
				j++
			}
			st.Punct += j - i
			i = j
		}
	}
	rs.kind, rs.len, rs.oneSpace = kind, runLen, oneSpace
	rs.key, rs.keyLen, rs.prevLower = key, keyLen, prevLower
	return i
}

// other scans the runes from text[i] to the next ASCII byte.
func (rs *runState) other(text string, i int, st *Stats) int {
	kind, runLen, oneSpace := rs.kind, rs.len, rs.oneSpace
	key, keyLen, prevLower := rs.key, rs.keyLen, rs.prevLower
	for i < len(text) && text[i] >= utf8.RuneSelf {
		// Decode and classify by hand: as calls, they cost as much again.
		var r rune
		size := 0
		if i+3 <= len(text) {
			if b := text[i : i+3]; b[0] >= 0xE0 && b[0] < 0xF0 && b[1]&0xC0 == 0x80 && b[2]&0xC0 == 0x80 {
				r, size = rune(b[0]&0x0F)<<12|rune(b[1]&0x3F)<<6|rune(b[2]&0x3F), 3
				if r < 0x800 || (r >= 0xD800 && r <= 0xDFFF) {
					r, size = utf8.RuneError, 1
				}
			}
		}
		if size == 0 {
			r, size = decode(text, i)
		}
		i += size
		var cl uint8
		var script Script
		if b := blocks[uint32(r)>>7&(1<<9-1)]; r < 0x10000 && b != 0 {
			cl, script = uint8(b>>8)-1, Script(b)
		} else if k := uint32(r) - 0x3000; k < 0x40 {
			cl, script = cjkPunct[k], 0 // CJK punctuation, frequent in CJK text
		} else if k := uint32(r) - 0xFF00; k < 0x70 {
			cl, script = fullwidth[k], 0
		} else {
			cl, script = classify(r)
		}
		if cl == cLetter && script == 0 {
			cl, script = classify(r) // the few letters among them
		}
		switch cl {
		case cUpper, cLower:
			if kind != runLatin {
				endRun(st, kind, runLen, oneSpace, key, keyLen)
				kind, runLen, key, keyLen, prevLower = runLatin, 0, 0, 0, 0
			}
			runLen++
			st.Letters[Latin]++
			st.LatinExt++
			if r >= 0x100 {
				st.LatinExtA++
			}
			if cl == cUpper {
				st.Upper++
				st.CaseSplits += int(prevLower)
				prevLower = 0
				r = unicode.ToLower(r)
			} else {
				prevLower = 1
			}
			if h := hintOf(r); h != 0 {
				for l := range NumLatinLangs {
					st.Hint[l] += int(h >> l & 1)
				}
			}
			var buf [utf8.UTFMax]byte
			for _, b := range buf[:utf8.EncodeRune(buf[:], r)] {
				key |= uint64(b) << (8 * uint(keyLen))
				keyLen++
			}
		case cLetter:
			if kind != runLetter+uint8(script) {
				endRun(st, kind, runLen, oneSpace, key, keyLen)
				kind, runLen = runLetter+uint8(script), 0
			}
			runLen++ // endRun adds it to st.Letters: per letter, it would wait on memory
			if script == Cyrillic || script == Arabic {
				if m := markOf(r); m >= 0 {
					st.Marks[m]++
				}
				if script == Cyrillic && (r < 0x410 || r > 0x44F) && r != 0x401 && r != 0x451 {
					st.CyrillicExt++
				}
			}
		case cMark:
			if kind >= runLetter {
				if kind == runLatin {
					st.Letters[Latin]++ // Latin letters are counted as they come
				}
				st.Combining++
				runLen++
				keyLen += size // a decomposed accent: not looked up as a stopword
				continue
			}
			fallthrough
		default: // punctuation and symbols
			if kind != runPunct {
				endRun(st, kind, runLen, oneSpace, key, keyLen)
				kind = runPunct
			}
			st.Wide++
			st.WideBytes += size
		case cDigit:
			if kind != runDigit {
				endRun(st, kind, runLen, oneSpace, key, keyLen)
				kind, runLen = runDigit, 0
			}
			if runLen%3 == 0 {
				st.DigitGroups++
			}
			runLen++
			st.Digits++
		case cSpace, cWS, cNewline:
			if kind != runWS {
				endRun(st, kind, runLen, oneSpace, key, keyLen)
				kind, runLen, oneSpace = runWS, 0, cl == cSpace
			} else {
				oneSpace = false
			}
			runLen++
			if cl == cNewline {
				st.Newlines++
			}
		case cIgnore:
		}
	}
	rs.kind, rs.len, rs.oneSpace = kind, runLen, oneSpace
	rs.key, rs.keyLen, rs.prevLower = key, keyLen, prevLower
	return i
}

// word is a Latin word in progress: its key, length in bytes and letters,
// and whether its last letter was small.
type word struct {
	key       uint64
	keyLen    int
	runLen    int
	prevLower uint8
}

// latinWords scans from text[i], an ASCII letter continuing w, over ASCII
// words and the single spaces between them, and returns where it stopped:
// after a closed word (open false), or inside one that runs to the end of
// the text or into a letter outside ASCII (open true, w its state).
//
// It is a function of its own so that its counts stay in registers: kept
// in memory (in st, or spilled), each addition waits for the last one.
func latinWords(text string, i int, st *Stats, w word) (_ int, _ word, open bool) {
	table := stopwords
	var letters, upper, splits, long, stops, spaces, words int
	var lanes uint64 // stopword hits per language, packed (see stopLanes)
	key, keyLen, runLen, prevLower := w.key, w.keyLen, w.runLen, w.prevLower
	j := i
	for {
		// Eight bytes at a time: which are small and capital letters, where
		// the word ends, its key, capitals and camelCase splits, all from
		// masks, so that a word costs no branch per letter.
		start := j
		for j+8 <= len(text) {
			b := text[j : j+8]
			x := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
				uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
			lo, ascii := x&0x7f7f7f7f7f7f7f7f, ^x&0x8080808080808080
			small := (lo + 0x1f1f1f1f1f1f1f1f) &^ (lo + 0x0505050505050505) & ascii   // 'a' to 'z'
			capital := (lo + 0x3f3f3f3f3f3f3f3f) &^ (lo + 0x2525252525252525) & ascii // 'A' to 'Z'
			n := uint(bits.TrailingZeros64(^(small|capital)&0x8080808080808080)) >> 3
			in := uint64(1)<<(8*n) - 1 // the bytes of the word (all of them when n is 8)
			key |= ((x | 0x2020202020202020) & in) << (8 * uint(keyLen))
			capital &= in
			upper += bits.OnesCount64(capital)
			splits += bits.OnesCount64(capital&(small<<8)) + int(uint64(prevLower)&(capital>>7)&1)
			if n > 0 {
				prevLower = uint8(small >> (8*n - 1) & 1)
			}
			keyLen += int(n)
			j += int(n)
			if n < 8 {
				break
			}
		}
		if j+8 > len(text) {
			// The last bytes of the text, one at a time.
			for ; j < len(text); j++ {
				c := text[j]
				f := letterFlags[c]
				if f == 0 {
					break
				}
				up := f >> 1 // 1 for a capital
				upper += int(up)
				splits += int(up & prevLower)
				prevLower = f & 1
				key |= uint64(c|0x20) << (8 * uint(keyLen)) // past 63: 0
				keyLen++
			}
		}
		letters += j - start
		runLen += j - start
		if j == len(text) || text[j] >= utf8.RuneSelf {
			open = true
			break
		}
		// The word ends at an ASCII byte: close it, looking it up without a
		// branch on what it is.
		long += max(runLen-longWord, 0)
		b := (key * table.mul) >> (64 - stopBits)
		ks, ms := &table.keys[b], &table.masks[b]
		m := (ms[0]&equal(ks[0], key) | ms[1]&equal(ks[1], key)) & -uint8(b2i(keyLen <= 8))
		lanes += stopLanes[m&(1<<NumLatinLangs-1)]
		stops += int((uint(m) + 0x7f) >> 7)
		words++
		if words%256 == 0 {
			addLanes(st, lanes)
			lanes = 0
		}
		key, keyLen, runLen, prevLower = 0, 0, 0, 0
		// A single space and another word: go on.
		if text[j] != ' ' || j+1 == len(text) || letterFlags[text[j+1]] == 0 {
			break
		}
		spaces++
		j++
	}
	addLanes(st, lanes)
	st.Letters[Latin] += letters
	st.Words[Latin] += words
	st.Upper += upper
	st.CaseSplits += splits
	st.LongLetters += long
	st.StopWords += stops
	st.Spaces += spaces
	return j, word{key, keyLen, runLen, prevLower}, open
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

const runLatin = runLetter + uint8(Latin)

// endRun adds what is known only at the end of a run: words, long letters,
// stopwords, single spaces against other whitespace runs.
func endRun(st *Stats, run uint8, runLen int, oneSpace bool, key uint64, keyLen int) {
	switch {
	case run == runNone:
	case run == runWS:
		if oneSpace {
			st.Spaces++
		} else {
			st.SpaceRuns++
			st.SpaceChars += runLen
		}
	case run == runPunct:
		st.PunctRuns++
	case run == runLatin:
		st.Words[Latin]++
		if runLen > longWord {
			st.LongLetters += runLen - longWord
		}
		if keyLen <= 8 {
			if m := stopwords.lookup(key); m != 0 {
				st.StopWords++
				for l := range NumLatinLangs {
					st.Stop[l] += int(m >> l & 1)
				}
			}
		}
	case run > runLetter:
		st.Words[run-runLetter]++
		st.Letters[run-runLetter] += runLen
	}
}

// letterFlags is 1 for an ASCII small letter, 2 for a capital, 0 otherwise.
var letterFlags = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = 1
		t[c-'a'+'A'] = 2
	}
	return t
}()

// spaceFlags is 1 for ASCII whitespace, 3 for a newline, 0 otherwise.
var spaceFlags = func() (t [256]uint8) {
	for _, c := range " \t\r\v\f" {
		t[c] = 1
	}
	t['\n'] = 3
	return t
}()

// markOf returns which of the Marks a Cyrillic or Arabic letter is, or -1.
func markOf(r rune) int {
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
	return m
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

// decode is utf8.DecodeRuneInString with the two-byte form inlined (the
// scan decodes the three-byte forms itself before it calls decode).
func decode(text string, i int) (rune, int) {
	if c := text[i]; c >= 0xC2 && c < 0xE0 && i+1 < len(text) && text[i+1]&0xC0 == 0x80 {
		return rune(c&0x1F)<<6 | rune(text[i+1]&0x3F), 2
	}
	return utf8.DecodeRuneInString(text[i:])
}

// cjkPunct and fullwidth are classify's classes for U+3000-U+303F and
// U+FF00-U+FF6F, mixed blocks that CJK text uses all the time (cLetter for
// the few letters, which classify then names).
var cjkPunct, fullwidth = func() (a [0x40]uint8, b [0x70]uint8) {
	for k := range a {
		a[k], _ = classify(rune(0x3000 + k))
	}
	for k := range b {
		b[k], _ = classify(rune(0xFF00 + k))
	}
	return a, b
}()

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
