package detect

import (
	"math/bits"
	"strings"
)

// Character classes of the scanners. Only ASCII forms are recognised: a
// full-width digit or a no-break space is not a separator.
const (
	fDigit = 1 << iota
	fAlpha
)

var charClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = fDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = fAlpha
		t[c-'a'+'A'] = fAlpha
	}
	return t
}()

func isDigit(c byte) bool { return charClass[c]&fDigit != 0 }
func isAlpha(c byte) bool { return charClass[c]&fAlpha != 0 }
func isAlnum(c byte) bool { return charClass[c]&(fDigit|fAlpha) != 0 }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// at is t[i], or 0 past either end, so lookarounds need no bounds checks.
func at(t string, i int) byte {
	if i < 0 || i >= len(t) {
		return 0
	}
	return t[i]
}

// hasFold reports whether t[i:] starts with the lower-case ASCII word w, in
// any case.
func hasFold(t string, i int, w string) bool {
	if len(t)-i < len(w) {
		return false
	}
	for k := 0; k < len(w); k++ {
		if lower(t[i+k]) != w[k] {
			return false
		}
	}
	return true
}

// isJoin reports whether c joins digit groups into one longer number
// (1.2.3.4, 12-34-56, 1/2/3), so a match must not border it on a digit.
func isJoin(c byte) bool { return c == '-' || c == '.' || c == '/' }

// startsNumber reports whether a number starting at i is a whole value: not
// inside a word or number, and not the continuation of a digit group.
func startsNumber(t string, i int) bool {
	if i == 0 {
		return true
	}
	c := t[i-1]
	return !isAlnum(c) && !(isJoin(c) && i >= 2 && isDigit(t[i-2]))
}

// endsNumber reports whether a value ending before j is whole: not followed
// by a letter or digit, nor by a joiner and a digit (a sentence's full stop
// is fine).
func endsNumber(t string, j int) bool {
	c := at(t, j)
	if isAlnum(c) {
		return false
	}
	return !(isJoin(c) && isDigit(at(t, j+1)))
}

// digitsAt reports whether t[i:i+n] is n ASCII digits.
func digitsAt(t string, i, n int) bool {
	if i < 0 || i+n > len(t) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(t[k]) {
			return false
		}
	}
	return true
}

// digitRun returns the end of the run of digits starting at i.
func digitRun(t string, i int) int {
	for i < len(t) && isDigit(t[i]) {
		i++
	}
	return i
}

// searched are the built-ins found by a vectorised search for a rare byte
// ('@', b) rather than by the pass over the digits.
const searched = 1<<idEmail | 1<<idDOB

// scan returns the lowest rank below limit of a built-in matching text, or
// limit. Email and DOB search for their rare byte first. SSNs, phone numbers
// and MRNs all hold digits, so the rest is one pass from number to number:
// eight bytes at a time, a few word operations find the next digit, and the
// detectors run at the start of each number, MRN looking for its keyword
// just before it. Each detector is dropped as soon as one ranked before it
// has matched.
func (s *Set) scan(t string, limit int) int {
	best := limit
	want := s.wanted(best)
	if want&(1<<idEmail) != 0 && hasEmail(t) {
		best = s.rank[idEmail]
		want = s.wanted(best)
	}
	if want&(1<<idDOB) != 0 && hasDOB(t) {
		best = s.rank[idDOB]
		want = s.wanted(best)
	}
	lengths := numberLengths(want)
	for i := 0; want&^searched != 0; {
		// The next digit: eight bytes at a time, then the last few.
		var m uint64
		for ; i+8 <= len(t); i += 8 {
			if m = digitMask(word(t, i)); m != 0 {
				break
			}
		}
		if m == 0 {
			if m = digitMask(tailWord(t, i)); m == 0 {
				break
			}
		}
		k := i + bits.TrailingZeros64(m)>>3
		i = digitRun(t, k)
		// Most numbers (2 and 4 digits: doses, vitals, years) can be no
		// part of what is wanted, unless a + makes them a phone number.
		if n := i - k; (n >= 32 || lengths&(1<<n) == 0) && (want&(1<<idPhone) == 0 || at(t, k-1) != '+') {
			continue
		}
		if !startsNumber(t, k) {
			continue
		}
		if hit := s.numberAt(t, k, i, want); hit < best {
			best = hit
			want = s.wanted(best)
			lengths = numberLengths(want)
		}
	}
	return best
}

// numberLengths has bit n set when a number of n digits can start a match of
// a built-in of want, besides phone numbers after a +: 3 (SSN, NANP), 1 (the
// 1 of 1-800-…) and 5 to 12 (MRN).
func numberLengths(want uint8) uint32 {
	var l uint32
	if want&(1<<idSSN) != 0 {
		l |= 1 << 3
	}
	if want&(1<<idPhone) != 0 {
		l |= 1<<1 | 1<<3
	}
	if want&(1<<idMRN) != 0 {
		for n := mrnMinDigits; n <= mrnMaxDigits; n++ {
			l |= 1 << n
		}
	}
	return l
}

// word reads t[i:i+8] as a little-endian word (one load once compiled).
func word(t string, i int) uint64 {
	w := t[i : i+8]
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
}

// tailWord reads the fewer than eight bytes from i to the end of t, padded
// with zero bytes.
func tailWord(t string, i int) uint64 {
	var x uint64
	for k := len(t) - 1; k >= i; k-- {
		x = x<<8 | uint64(t[k])
	}
	return x
}

// digitMask sets the high bit of each byte of x that is an ASCII digit.
// Per byte b, with no carry or borrow between bytes: the high bit of
// 0x7f+':'-b&0x7f is set when b&0x7f < ':', that of b&0x7f+0x7f-'/' when
// b&0x7f > '/', and &^x drops bytes from 0x80 up (Sean Anderson's bit
// twiddling hacks, hasbetween).
func digitMask(x uint64) uint64 {
	const ones, low7 = 0x0101010101010101, 0x7f7f7f7f7f7f7f7f
	return (ones*(127+'9'+1) - x&low7) &^ x & (x&low7 + ones*(127-('0'-1))) & (ones * 0x80)
}

// numberAt returns the lowest rank of the wanted built-ins that match at the
// number whose digits are t[i:j], or a rank past every detector.
func (s *Set) numberAt(t string, i, j int, want uint8) int {
	best := len(s.names)
	n := j - i
	if want&(1<<idSSN) != 0 && n == 3 && ssnAt(t, i) {
		best = min(best, s.rank[idSSN])
	}
	if want&(1<<idPhone) != 0 && phoneAt(t, i, j) {
		best = min(best, s.rank[idPhone])
	}
	if want&(1<<idMRN) != 0 && n >= mrnMinDigits && n <= mrnMaxDigits && mrnBefore(t, i) {
		best = min(best, s.rank[idMRN])
	}
	return best
}

// phoneAt reports a phone number around the number t[i:j]: starting at it
// (555-123-4567, 1-555-…), at the parenthesis before it ((555) 123-4567), or
// at the + before it.
func phoneAt(t string, i, j int) bool {
	switch {
	case at(t, i-1) == '+':
		return plusPhoneAt(t, i-1)
	case j-i == 1:
		return t[i] == '1' && trunkAt(t, j)
	case j-i != 3:
		return false
	case at(t, i-1) == '(':
		return !isAlnum(at(t, i-2)) && nanpAt(t, i-1)
	}
	return nanpAt(t, i)
}

// ssnAt reports an SSN starting at i, the start of a 3-digit run: AAA-GG-SSSS
// or AAA GG SSSS (one separator throughout). Areas 000, 666 and 900-999,
// group 00 and serial 0000 are never issued.
func ssnAt(t string, i int) bool {
	sep := at(t, i+3)
	if (sep != '-' && sep != ' ') || !digitsAt(t, i+4, 2) || at(t, i+6) != sep ||
		!digitsAt(t, i+7, 4) || !endsNumber(t, i+11) {
		return false
	}
	area, group, serial := t[i:i+3], t[i+4:i+6], t[i+7:i+11]
	return area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000"
}

func isPhoneSep(c byte) bool { return c == '-' || c == '.' || c == ' ' }

// nanpAt reports a NANP number starting at i: (AAA) EEE-LLLL with an optional
// space or '-' after the parenthesis, or AAA-EEE-LLLL where each separator is
// '-', '.' or ' '. Area codes never start with 0 or 1; exchanges are not
// checked, so the 555-123-4567 of examples matches.
func nanpAt(t string, i int) bool {
	if at(t, i) == '(' {
		if !digitsAt(t, i+1, 3) || at(t, i+4) != ')' || t[i+1] < '2' {
			return false
		}
		i += 5
		if c := at(t, i); c == ' ' || c == '-' {
			i++
		}
	} else {
		if !digitsAt(t, i, 3) || t[i] < '2' || !isPhoneSep(at(t, i+3)) {
			return false
		}
		i += 4
	}
	return digitsAt(t, i, 3) && isPhoneSep(at(t, i+3)) && digitsAt(t, i+4, 4) && endsNumber(t, i+8)
}

// trunkAt reports a NANP number after a leading 1 that ends before i: 1-555-…,
// 1 (555) …, 1(555)….
func trunkAt(t string, i int) bool {
	if at(t, i) == '(' {
		return nanpAt(t, i)
	}
	return isPhoneSep(at(t, i)) && (isDigit(at(t, i+1)) || at(t, i+1) == '(') && nanpAt(t, i+1)
}

// plusPhoneAt reports a phone number at the '+' at i: +1 followed by a NANP
// number, or E.164: a country code (not 0) and 8 to 15 digits in all, in
// groups separated by single '-', '.' or ' ' (+33 1 42 68 53 00).
func plusPhoneAt(t string, i int) bool {
	if isAlnum(at(t, i-1)) {
		return false
	}
	j := i + 1
	if c := at(t, j); c < '1' || c > '9' {
		return false
	}
	if t[j] == '1' && !isDigit(at(t, j+1)) && trunkAt(t, j+1) {
		return true
	}
	count := 0
	for {
		k := digitRun(t, j)
		if count += k - j; count > 15 {
			return false
		}
		if count >= 8 && endsNumber(t, k) {
			return true
		}
		if !isPhoneSep(at(t, k)) || !isDigit(at(t, k+1)) {
			return false
		}
		j = k + 1
	}
}

// hasEmail reports an email address around any '@' of t.
func hasEmail(t string) bool {
	for off := 0; ; {
		k := strings.IndexByte(t[off:], '@')
		if k < 0 {
			return false
		}
		if emailAt(t, off+k) {
			return true
		}
		off += k + 1
	}
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// emailAt reports an address around the '@' at a: a local part of
// [A-Za-z0-9._%+-] with a letter or digit and not ending with '.', then two
// or more dot-separated labels of letters, digits and inner '-', the last
// all letters and at least 2 long.
func emailAt(t string, a int) bool {
	if c := at(t, a-1); !isLocal(c) || c == '.' {
		return false
	}
	alnum := false
	for k := a - 1; k >= 0 && k >= a-64 && isLocal(t[k]); k-- {
		if isAlnum(t[k]) {
			alnum = true
			break
		}
	}
	if !alnum {
		return false
	}
	labels, last, lastEnd := 0, 0, 0
	for j := a + 1; isAlnum(at(t, j)); {
		k := j
		for isAlnum(at(t, k)) || at(t, k) == '-' {
			k++
		}
		for t[k-1] == '-' {
			k--
		}
		labels++
		last, lastEnd = j, k
		if at(t, k) != '.' || !isAlnum(at(t, k+1)) {
			break
		}
		j = k + 1
	}
	if labels < 2 || lastEnd-last < 2 {
		return false
	}
	for k := last; k < lastEnd; k++ {
		if !isAlpha(t[k]) {
			return false
		}
	}
	return true
}

// How far from a DOB keyword a date may be: its first byte at most dobAfter
// bytes after the keyword, or its last at most dobBefore bytes before it.
const (
	dobAfter   = 40
	dobBefore  = 20
	maxDateLen = len("September 30th, 2000")
)

// hasDOB reports a DOB keyword with a date near it. Every keyword has a b
// (DOB, D.O.B., born, birth), a rare letter: a vectorised search for it
// finds the few candidates, and dates are parsed only around a keyword.
func hasDOB(t string) bool {
	for _, b := range [...]byte{'b', 'B'} {
		for off := 0; ; {
			k := strings.IndexByte(t[off:], b)
			if k < 0 {
				break
			}
			p := off + k
			// The b is the first letter of born or birth, or the last of dob
			// or d.o.b; one or two bytes next to it rule out most b's.
			if c := lower(at(t, p+1)); ((c == 'o' || c == 'i') && dobAt(t, p, p)) ||
				(lower(at(t, p-1)) == 'o' && dobAt(t, p-2, p)) ||
				(at(t, p-1) == '.' && dobAt(t, p-4, p)) {
				return true
			}
			off = p + 1
		}
	}
	return false
}

// dobAt reports a DOB keyword at ks, holding the b at p, with a date near it.
func dobAt(t string, ks, p int) bool {
	if ks < 0 || isAlpha(at(t, ks-1)) {
		return false
	}
	ke, ok := dobKeyword(t, ks)
	return ok && ke > p && dateNear(t, ks, ke)
}

// dobKeyword reports a DOB keyword at p, the start of a word (DOB, D.O.B.,
// born, birth, birthdate, date of birth), and where it ends.
func dobKeyword(t string, p int) (end int, ok bool) {
	switch {
	case hasFold(t, p, "dob"):
		end = p + 3
	case hasFold(t, p, "d.o.b"):
		end = p + 5
		if at(t, end) == '.' {
			end++
		}
	case hasFold(t, p, "born"):
		end = p + 4
	case hasFold(t, p, "birth"):
		end = p + 5
		for isAlpha(at(t, end)) {
			end++
		}
	default:
		return 0, false
	}
	return end, !isAlpha(at(t, end)) // not adobe, borne
}

// dateNear reports a date starting at most dobAfter bytes after the keyword
// t[ks:ke], or ending at most dobBefore bytes before it.
func dateNear(t string, ks, ke int) bool {
	for p := ke; p < len(t) && p <= ke+dobAfter; p++ {
		if _, ok := dateAt(t, p); ok {
			return true
		}
	}
	for p := max(0, ks-dobBefore-maxDateLen); p < ks; p++ {
		if e, ok := dateAt(t, p); ok && e <= ks && ks-e <= dobBefore {
			return true
		}
	}
	return false
}

// dateAt reports a full date (day, month and year) starting at p and where it
// ends: M/D/Y, D/M/Y and Y-M-D with '/', '-' or '.', 2- or 4-digit years
// (4 for Y-M-D); 3 March 1980, 3rd of March, 1980, 03-Mar-1980; March 3,
// 1980, Mar. 3rd 1980. Day and month must be possible (13/32/1980 is not a
// date).
func dateAt(t string, p int) (end int, ok bool) {
	c := at(t, p)
	switch {
	case isDigit(c):
		if !startsNumber(t, p) {
			return 0, false
		}
	case isAlpha(c):
		if isAlpha(at(t, p-1)) {
			return 0, false
		}
		return monthFirstDate(t, p)
	default:
		return 0, false
	}
	a, ea := number(t, p)
	la, sep := ea-p, at(t, ea)
	switch {
	case la == 4 && isJoin(sep): // Y-M-D
		m, em := number(t, ea+1)
		d, ed := number(t, em+1)
		if em-ea-1 < 1 || em-ea-1 > 2 || at(t, em) != sep || ed-em-1 < 1 || ed-em-1 > 2 ||
			!plausibleYear(a) || !validDay(m, d) || !endsNumber(t, ed) {
			return 0, false
		}
		return ed, true
	case la == 1 || la == 2:
		if isJoin(sep) { // M/D/Y or D/M/Y
			b, eb := number(t, ea+1)
			y, ey := number(t, eb+1)
			lb, ly := eb-ea-1, ey-eb-1
			if lb >= 1 && lb <= 2 && at(t, eb) == sep && (ly == 2 || (ly == 4 && plausibleYear(y))) &&
				(validDay(a, b) || validDay(b, a)) && endsNumber(t, ey) {
				return ey, true
			}
		}
		// 3 March 1980, 3rd of March, 1980, 03-Mar-1980
		e := ordinal(t, ea)
		if c := at(t, e); c != ' ' && c != '-' {
			return 0, false
		}
		e++
		if hasFold(t, e, "of ") {
			e += 3
		}
		m, em := month(t, e)
		if m == 0 || !validDay(m, a) {
			return 0, false
		}
		return yearAfter(t, em)
	}
	return 0, false
}

// monthFirstDate reads March 3, 1980 / Mar. 3rd 1980 / Mar-03-1980 at p.
func monthFirstDate(t string, p int) (int, bool) {
	m, e := month(t, p)
	if m == 0 {
		return 0, false
	}
	if c := at(t, e); c != ' ' && c != '-' {
		return 0, false
	}
	for at(t, e) == ' ' || at(t, e) == '-' {
		e++
	}
	d, ed := number(t, e)
	if ed-e < 1 || ed-e > 2 || !validDay(m, d) {
		return 0, false
	}
	return yearAfter(t, ordinal(t, ed))
}

// yearAfter reads the separator and 4-digit year that end a date with a
// month name: ", 1980", " 1980", "-1980".
func yearAfter(t string, e int) (int, bool) {
	if at(t, e) == ',' {
		e++
	}
	if c := at(t, e); c != ' ' && c != '-' {
		return 0, false
	}
	for at(t, e) == ' ' || at(t, e) == '-' {
		e++
	}
	y, ey := number(t, e)
	if ey-e != 4 || !plausibleYear(y) || !endsNumber(t, ey) {
		return 0, false
	}
	return ey, true
}

// number reads up to 4 digits at i: their value and where they end. A longer
// run ends past i+4, which every caller refuses by its length check.
func number(t string, i int) (v, end int) {
	end = i
	for end < len(t) && isDigit(t[end]) {
		if end-i < 4 {
			v = v*10 + int(t[end]-'0')
		}
		end++
	}
	return v, end
}

// ordinal skips st, nd, rd or th after a day number at i.
func ordinal(t string, i int) int {
	for _, suf := range [...]string{"st", "nd", "rd", "th"} {
		if hasFold(t, i, suf) && !isAlpha(at(t, i+2)) {
			return i + 2
		}
	}
	return i
}

func plausibleYear(y int) bool { return y >= 1800 && y <= 2099 }

// validDay reports whether day d can exist in month m (any year).
func validDay(m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	switch m {
	case 2:
		return d <= 29
	case 4, 6, 9, 11:
		return d <= 30
	}
	return d <= 31
}

// months are the month names by number; their first three letters are the
// abbreviation, and no two months share them.
var months = [...]string{"", "january", "february", "march", "april", "may", "june", "july",
	"august", "september", "october", "november", "december"}

// month reads a month name at i (full, three letters, or sept, optionally
// followed by a dot) and returns its number, 0 if there is none. It is
// called at many short words after numbers (mg, of, weeks), so it rejects
// on length and the first three letters before comparing anything else.
func month(t string, i int) (m, end int) {
	e := i
	for isAlpha(at(t, e)) && e-i <= len("september") {
		e++
	}
	n := e - i
	if n < 3 || n > len("september") {
		return 0, i
	}
	a, b, c := lower(t[i]), lower(t[i+1]), lower(t[i+2])
	for k := 1; k < len(months); k++ {
		full := months[k]
		if a != full[0] || b != full[1] || c != full[2] {
			continue
		}
		if n == 3 || (n == len(full) && hasFold(t, i, full)) || (k == 9 && n == 4 && lower(t[i+3]) == 't') {
			if at(t, e) == '.' {
				e++
			}
			return k, e
		}
		return 0, i
	}
	return 0, i
}

// The length of a medical record number.
const (
	mrnMinDigits = 5
	mrnMaxDigits = 12
	// mrnLead is the longest keyword and separators before the digits.
	mrnLead = len("medical record") + 4 + len("number") + 4
)

// mrnBefore reports an MRN keyword before the digits starting at ds.
func mrnBefore(t string, ds int) bool {
	for p := max(0, ds-mrnLead); p < ds; p++ {
		if lower(t[p]) == 'm' && !isAlpha(at(t, p-1)) && mrnDigits(t, p) == ds {
			return true
		}
	}
	return false
}

// mrnDigits returns where the digits of a medical record number start after
// the keyword at p (the start of a word), or -1: MRN or "medical record",
// optionally number, num, nbr or no, up to 4 separators among " \t\r\n:#.=-"
// on each side of that word, then 5 to 12 digits.
func mrnDigits(t string, p int) int {
	var e int
	switch {
	case hasFold(t, p, "mrn"):
		e = p + 3
	case hasFold(t, p, "medical record"):
		e = p + len("medical record")
	default:
		return -1
	}
	if isAlpha(at(t, e)) {
		return -1
	}
	e = mrnSeparators(t, e)
	for _, w := range [...]string{"number", "num", "nbr", "no"} {
		if hasFold(t, e, w) && !isAlpha(at(t, e+len(w))) {
			e = mrnSeparators(t, e+len(w))
			break
		}
	}
	k := digitRun(t, e)
	if k-e < mrnMinDigits || k-e > mrnMaxDigits || isAlnum(at(t, k)) {
		return -1
	}
	return e
}

func mrnSeparators(t string, e int) int {
	for n := 0; n < 4 && strings.IndexByte(" \t\r\n:#.=-", at(t, e)) >= 0; n++ {
		e++
	}
	return e
}
