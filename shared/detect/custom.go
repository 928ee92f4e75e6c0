package detect

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
	"unicode/utf8"
)

// pattern is a custom detector: a regular expression behind a prefilter.
type pattern struct {
	rank int
	re   *regexp.Regexp
	// lit is a string every match contains, "" when none is known. Searching
	// for it is vectorised and tens of times faster than the regexp, and most
	// prompts do not contain it.
	lit string
	// fold marks lit as lower-case ASCII to be found in any case.
	fold bool
}

func (p *pattern) match(text string) bool {
	switch {
	case p.lit == "":
	case p.fold:
		if indexFold(text, p.lit) < 0 {
			return false
		}
	case !strings.Contains(text, p.lit):
		return false
	}
	return p.re.MatchString(text)
}

func compilePattern(expr string) (*pattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("the pattern does not compile (RE2 syntax, as Go's regexp package): %w", err)
	}
	// regexp.Compile parses with syntax.Perl; the same tree is analysed here.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, err
	}
	tree = tree.Simplify()
	if minLen(tree) == 0 {
		return nil, errors.New("the pattern can match empty text, so it would match every request")
	}
	p := &pattern{re: re}
	requiredLiterals(tree, func(lit string, fold bool) {
		if len(lit) > len(p.lit) || (len(lit) == len(p.lit) && p.fold && !fold) {
			p.lit, p.fold = lit, fold
		}
	})
	return p, nil
}

// unbounded stands for the length of a match that cannot happen.
const unbounded = 1 << 30

// minLen is the fewest runes a match of re can span.
func minLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpNoMatch:
		return unbounded
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return unbounded
		}
		return 1
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return minLen(re.Sub[0])
	case syntax.OpRepeat:
		return min(unbounded, re.Min*minLen(re.Sub[0]))
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(unbounded, n+minLen(s))
		}
		return n
	case syntax.OpAlternate:
		n := unbounded
		for _, s := range re.Sub {
			n = min(n, minLen(s))
		}
		return n
	}
	// Empty matches, assertions, star and quest.
	return 0
}

// requiredLiterals calls add with strings that every match of re contains:
// literals of concatenations and of repetitions taken at least once.
// Alternations contribute nothing (no single branch is required).
func requiredLiterals(re *syntax.Regexp, add func(lit string, fold bool)) {
	switch re.Op {
	case syntax.OpLiteral:
		fold := re.Flags&syntax.FoldCase != 0
		var b strings.Builder
		for _, r := range re.Rune {
			if !literalSafe(r, fold) {
				if b.Len() > 0 {
					add(b.String(), fold)
				}
				b.Reset()
				continue
			}
			if fold {
				r = unicode.ToLower(r)
			}
			b.WriteRune(r)
		}
		if b.Len() > 0 {
			add(b.String(), fold)
		}
	case syntax.OpCapture, syntax.OpPlus:
		requiredLiterals(re.Sub[0], add)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			requiredLiterals(re.Sub[0], add)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			requiredLiterals(s, add)
		}
	}
}

// literalSafe reports whether rune r of a literal can be searched for as
// bytes. U+FFFD also matches invalid UTF-8, which has other bytes; under
// case folding only ASCII runes whose every case is ASCII are searched
// (k and s also fold to the Kelvin sign and the long s).
func literalSafe(r rune, fold bool) bool {
	if r == utf8.RuneError {
		return false
	}
	if !fold {
		return true
	}
	if r >= utf8.RuneSelf {
		return false
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// indexFold is the index of the lower-case ASCII string lit in s, in any
// ASCII case, or -1.
func indexFold(s, lit string) int {
	c0 := lit[0]
	for i := 0; i+len(lit) <= len(s); i++ {
		if lower(s[i]) != c0 {
			continue
		}
		if hasFold(s, i, lit) {
			return i
		}
	}
	return -1
}
