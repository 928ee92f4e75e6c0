// Package detect recognises regulated data in request text: US social
// security numbers, phone numbers, email addresses, dates of birth, medical
// record numbers, and named custom regular expressions.
//
// It is a safety net for data sent on the wrong key or route by mistake, not a
// de-identification tool: a match can only put a request under a stricter data
// class, and a miss changes nothing. The built-in detectors are single-pass
// scanners over the bytes, because Go's regexp costs tens of nanoseconds per
// byte and detection runs on every prompt of a key or route that opts in.
package detect

import (
	"errors"
	"strconv"

	"github.com/llm-router/router/shared/llm"
)

// Names of the built-in detectors.
const (
	// SSN matches a US social security number written AAA-GG-SSSS or
	// AAA GG SSSS, with a valid area, group and serial.
	SSN = "ssn"
	// Phone matches a NANP number ((555) 123-4567, 555-123-4567,
	// 555.123.4567, 555 123 4567, with an optional 1 or +1 in front) and an
	// international number written with a + and 8 to 15 digits. A bare run of
	// digits is not a phone number: without separators or a +, order numbers,
	// amounts and identifiers would match far too often.
	Phone = "phone"
	// Email matches local@domain.tld, with at least one dot in the domain and
	// an alphabetic top-level domain of two letters or more.
	Email = "email"
	// DOB matches a full date (day, month and year: 01/02/1980, 1980-02-01,
	// 2 Jan 1980, January 2nd, 1980) starting within 40 bytes after a keyword
	// or ending within 20 bytes before one: DOB, D.O.B., born, birth
	// (birthdate, date of birth). A year alone is not a date.
	DOB = "dob"
	// MRN matches MRN or "medical record" (optionally followed by number,
	// num, nbr or no) and up to 4 separators among " :#.=-" and line breaks
	// on each side of that word, then 5 to 12 digits: MRN: 00123456, Medical
	// record #: 7654321. A custom pattern named mrn replaces it, since record
	// number formats differ between institutions.
	MRN = "mrn"
)

// Built-in detector ids, in the order of builtinNames.
const (
	idSSN = iota
	idPhone
	idEmail
	idDOB
	idMRN
	numBuiltins
)

var builtinNames = [numBuiltins]string{SSN, Phone, Email, DOB, MRN}

// Builtins returns the names of the built-in detectors.
func Builtins() []string { return append([]string(nil), builtinNames[:]...) }

// IsBuiltin reports whether name is a built-in detector.
func IsBuiltin(name string) bool {
	_, ok := builtinID(name)
	return ok
}

// Overridable reports whether a custom pattern may take the name of built-in
// detector name: only mrn, whose format is the institution's own.
func Overridable(name string) bool { return name == MRN }

func builtinID(name string) (int, bool) {
	for id, n := range builtinNames {
		if n == name {
			return id, true
		}
	}
	return 0, false
}

// Error is a detector that cannot be compiled.
type Error struct {
	// Detector is the name as given to Compile.
	Detector string
	Err      error
}

// Error names the detector and what is wrong with it.
func (e *Error) Error() string { return "detector " + strconv.Quote(e.Detector) + ": " + e.Err.Error() }

// Unwrap returns the underlying error, e.g. a *syntax.Error.
func (e *Error) Unwrap() error { return e.Err }

// Set is a compiled list of detectors. It is immutable and safe for
// concurrent use; a nil *Set matches nothing.
type Set struct {
	names []string
	// rank is the index in names of each built-in, -1 when not in the Set.
	rank [numBuiltins]int
	// custom holds the regular expressions, in rank order.
	custom []*pattern
}

// Compile builds the Set of the detectors names, in that order. A name is a
// built-in or a key of custom, whose value is an RE2 pattern (Go regexp
// syntax); a custom mrn replaces the built-in. An unknown name, a name given
// twice, a custom pattern under another built-in's name, a pattern that does
// not compile or that can match empty text is an *Error.
func Compile(names []string, custom map[string]string) (*Set, error) {
	s := &Set{names: make([]string, 0, len(names))}
	for i := range s.rank {
		s.rank[i] = -1
	}
	for _, name := range names {
		rank := len(s.names)
		if name == "" {
			return nil, &Error{Detector: name, Err: errors.New("a detector needs a name")}
		}
		for _, n := range s.names {
			if n == name {
				return nil, &Error{Detector: name, Err: errors.New("named twice")}
			}
		}
		id, builtin := builtinID(name)
		expr, isCustom := custom[name]
		switch {
		case isCustom && builtin && !Overridable(name):
			return nil, &Error{Detector: name, Err: errors.New("is a built-in detector; only mrn can be replaced by a pattern (give the pattern another name)")}
		case isCustom:
			p, err := compilePattern(expr)
			if err != nil {
				return nil, &Error{Detector: name, Err: err}
			}
			p.rank = rank
			s.custom = append(s.custom, p)
		case builtin:
			s.rank[id] = rank
		default:
			return nil, &Error{Detector: name, Err: errors.New("unknown detector (not built-in, and no pattern has this name)")}
		}
		s.names = append(s.names, name)
	}
	return s, nil
}

// Names returns the Set's detectors in the order Match prefers them.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.names...)
}

// Match reports whether any detector of the Set matches text and names it.
// When several match, it names the first in the Set's order, so the same Set
// and text always give the same answer. It never returns any of the text.
func (s *Set) Match(text string) (detector string, ok bool) {
	if s == nil {
		return "", false
	}
	return s.result(s.match(text, len(s.names)))
}

// MatchTexts is Match over several texts (an embeddings input): the first
// detector in the Set's order that matches any of them. A value is not
// matched across two texts.
func (s *Set) MatchTexts(texts []string) (detector string, ok bool) {
	if s == nil {
		return "", false
	}
	best := len(s.names)
	for _, t := range texts {
		if best = s.match(t, best); best == 0 {
			break
		}
	}
	return s.result(best)
}

// MatchChat is Match over every text of a chat request's messages: string
// content, text and refusal parts, tool call arguments, tool results (tool
// messages' content) and reasoning content. Each is scanned on its own: a
// value split across two parts is not matched. Tool declarations and the
// response format are the application's, not the conversation's, and are
// not scanned.
func (s *Set) MatchChat(req *llm.ChatRequest) (detector string, ok bool) {
	if s == nil || req == nil {
		return "", false
	}
	best := len(s.names)
	for i := range req.Messages {
		m := &req.Messages[i]
		best = s.match(m.Content.Text, best)
		for j := range m.Content.Parts {
			best = s.match(m.Content.Parts[j].Text, best)
			best = s.match(m.Content.Parts[j].Refusal, best)
		}
		for j := range m.ToolCalls {
			best = s.match(m.ToolCalls[j].Function.Arguments, best)
		}
		best = s.match(m.ReasoningContent, best)
		if best == 0 {
			break
		}
	}
	return s.result(best)
}

func (s *Set) result(rank int) (string, bool) {
	if rank >= len(s.names) {
		return "", false
	}
	return s.names[rank], true
}

// match returns the lowest rank below limit of a detector matching text, or
// limit when none does: detectors ranked at or after limit are not run.
func (s *Set) match(text string, limit int) int {
	if text == "" {
		return limit
	}
	best := s.scan(text, limit)
	for _, p := range s.custom {
		if p.rank >= best {
			break
		}
		if p.match(text) {
			return p.rank
		}
	}
	return best
}

// wanted is the bit set of the built-ins ranked below limit.
func (s *Set) wanted(limit int) uint8 {
	var m uint8
	for id, r := range s.rank {
		if r >= 0 && r < limit {
			m |= 1 << id
		}
	}
	return m
}
