package detect

import "strings"

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
	if isAlnum(at(t, i-1)) {
		return false
	}
	return !(isJoin(at(t, i-1)) && isDigit(at(t, i-2)))
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

// scan returns the lowest rank below limit of a built-in matching text, or
// limit. It runs email's vectorised search for '@' first, then one pass over
// the bytes for everything else, dropping each detector as soon as one ranked
// before it has matched.
func (s *Set) scan(t string, limit int) int {
	best := limit
	want := s.wanted(best)
	if want&(1<<idEmail) != 0 && hasEmail(t) {
		best = s.rank[idEmail]
		want = s.wanted(best)
	}
	if want&^(1<<idEmail) == 0 {
		return best
	}
	trigger := &s.trigger
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !trigger[c] {
			continue
		}
		id := -1
		switch {
		case isDigit(c):
			j := digitRun(t, i)
			if startsNumber(t, i) {
				switch {
				case j-i == 3 && want&(1<<idSSN) != 0 && ssnAt(t, i):
					id = idSSN
				case j-i == 3 && want&(1<<idPhone) != 0 && nanpAt(t, i),
					j-i == 1 && c == '1' && want&(1<<idPhone) != 0 && trunkAt(t, j):
					id = idPhone
				}
			}
			i = j - 1
		case c == '(':
			if want&(1<<idPhone) != 0 && !isAlnum(at(t, i-1)) && nanpAt(t, i) {
				id = idPhone
			}
		case c == '+':
			if want&(1<<idPhone) != 0 && plusPhoneAt(t, i) {
				id = idPhone
			}
		case isAlpha(at(t, i-1)): // b, d, m: a keyword only starts a word
		case lower(c) == 'm':
			if want&(1<<idMRN) != 0 && mrnAt(t, i) {
				id = idMRN
			}
		default:
			if want&(1<<idDOB) != 0 && dobAt(t, i) {
				id = idDOB
			}
		}
		if id >= 0 {
			best = s.rank[id]
			if want = s.wanted(best); want&^(1<<idEmail) == 0 {
				return best
			}
		}
	}
	return best
}

// triggers is the table of the bytes where the built-ins of a Set can start:
// digits, '(' and '+' for SSNs and phone numbers, b and d for the DOB
// keywords, m for the MRN keywords. The scan looks at nothing else, so prose
// costs one table lookup a byte.
func triggers(rank *[numBuiltins]int) (t [256]bool) {
	on := func(id int, bytes string) {
		if rank[id] >= 0 {
			for i := 0; i < len(bytes); i++ {
				t[bytes[i]] = true
			}
		}
	}
	on(idSSN, "0123456789")
	on(idPhone, "0123456789(+")
	on(idDOB, "bBdD")
	on(idMRN, "mM")
	return t
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

// dobAt reports a DOB keyword starting at i (the start of a word) with a date
// near it.
func dobAt(t string, i int) bool {
	end := 0
	switch lower(t[i]) {
	case 'd':
		switch {
		case hasFold(t, i, "dob"):
			end = i + 3
		case hasFold(t, i, "d.o.b"):
			end = i + 5
			if at(t, end) == '.' {
				end++
			}
		default:
			return false
		}
		if isAlpha(at(t, end)) {
			return false
		}
	case 'b':
		switch {
		case hasFold(t, i, "born"):
			end = i + 4
			if isAlpha(at(t, end)) { // borne
				return false
			}
		case hasFold(t, i, "birth"): // birthdate, birthday
			end = i + 5
			for isAlpha(at(t, end)) {
				end++
			}
		default:
			return false
		}
	default:
		return false
	}
	for p := end; p < len(t) && p <= end+dobAfter; p++ {
		if _, ok := dateAt(t, p); ok {
			return true
		}
	}
	for p := max(0, i-dobBefore-maxDateLen); p < i; p++ {
		if e, ok := dateAt(t, p); ok && e <= i && i-e <= dobBefore {
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

var months = [...]struct{ abbr, full string }{
	{"jan", "january"}, {"feb", "february"}, {"mar", "march"}, {"apr", "april"},
	{"may", "may"}, {"jun", "june"}, {"jul", "july"}, {"aug", "august"},
	{"sep", "september"}, {"oct", "october"}, {"nov", "november"}, {"dec", "december"},
}

// month reads a month name at i (full, three letters, or sept, optionally
// followed by a dot) and returns its number, 0 if there is none.
func month(t string, i int) (m, end int) {
	e := i
	for isAlpha(at(t, e)) {
		e++
	}
	w := t[i:e]
	for k, mo := range months {
		if strings.EqualFold(w, mo.abbr) || strings.EqualFold(w, mo.full) || (k == 8 && strings.EqualFold(w, "sept")) {
			if at(t, e) == '.' {
				e++
			}
			return k + 1, e
		}
	}
	return 0, i
}

// mrnAt reports a medical record number at i (the start of a word): MRN or
// "medical record" (then optionally number, num, no or nbr), up to 4
// separators among " \t\r\n:#.=-", then 5 to 12 digits.
func mrnAt(t string, i int) bool {
	var e int
	switch {
	case hasFold(t, i, "mrn"):
		e = i + 3
	case hasFold(t, i, "medical record"):
		e = i + len("medical record")
	default:
		return false
	}
	if isAlpha(at(t, e)) {
		return false
	}
	e = mrnSeparators(t, e)
	for _, w := range [...]string{"number", "num", "nbr", "no"} {
		if hasFold(t, e, w) && !isAlpha(at(t, e+len(w))) {
			e = mrnSeparators(t, e+len(w))
			break
		}
	}
	k := digitRun(t, e)
	return k-e >= 5 && k-e <= 12 && !isAlnum(at(t, k))
}

func mrnSeparators(t string, e int) int {
	for n := 0; n < 4 && strings.IndexByte(" \t\r\n:#.=-", at(t, e)) >= 0; n++ {
		e++
	}
	return e
}
