package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// Problems Check finds besides ErrSyntax.
var (
	// ErrTooDeep: arrays and objects nest deeper than the limit.
	ErrTooDeep = errors.New("rawjson: nested too deeply")
	// ErrDuplicate: an object has two members of the same name, once their
	// escapes are decoded. Parsers disagree on which one counts (encoding/json
	// and most take the last, some the first), so a body the router reads one
	// way could reach an upstream that reads it another.
	ErrDuplicate = errors.New("rawjson: duplicate member name")
)

// CheckError is the first problem Check found.
type CheckError struct {
	// Err is ErrSyntax, ErrTooDeep or ErrDuplicate.
	Err error
	// Offset is where in the document the problem is.
	Offset int
	// Path names the member or element of the problem, as a parameter is
	// named in an error: messages[0].role. For ErrDuplicate it is the
	// repeated member; it is empty at the top level of a syntax error.
	Path string
}

func (e *CheckError) Error() string {
	s := e.Err.Error() + " at offset " + strconv.Itoa(e.Offset)
	if e.Path != "" {
		s += " (" + e.Path + ")"
	}
	return s
}

func (e *CheckError) Unwrap() error { return e.Err }

// smallObject is how many members an object may have before Check finds
// duplicates with a map instead of comparing each name with the others.
const smallObject = 16

// keySpan is a member name in the document, without its quotes; plain names
// have no escape and are valid UTF-8, so they compare as bytes.
type keySpan struct {
	start, end int
	plain      bool
}

// frame is an array or object Check is inside.
type frame struct {
	object bool
	keys   int                 // where this object's names start in the name stack
	index  int                 // the current element, for arrays
	seen   map[string]struct{} // the names of a large object
}

// Summary is what Check learned of a document on its way through.
type Summary struct {
	// CasedNames is set when a member name has an upper-case ASCII letter,
	// a non-ASCII character or an escape: only such a name can equal
	// another one regardless of case, so a reader that refuses names that
	// differ only in case from its own can skip a document without any.
	CasedNames bool
}

// Check reports whether data is one well-formed JSON value (as json.Valid
// accepts it: invalid UTF-8 in strings included) whose arrays and objects
// nest at most maxDepth deep and whose objects have no member name twice,
// compared after decoding escapes. It returns nil or a *CheckError for the
// first problem in document order. It makes one pass, without recursion and
// without allocating for documents of usual shape.
func Check(data []byte, maxDepth int) error {
	_, err := CheckSummary(data, maxDepth)
	return err
}

// CheckSummary is Check, and what it learned of the document.
func CheckSummary(data []byte, maxDepth int) (Summary, error) {
	return check(data, maxDepth, true)
}

// Valid reports whether data is one well-formed JSON value nesting at most
// maxDepth deep: Check without its rule on repeated names, for JSON the
// router passes on as it came rather than reads (a tool call's arguments).
func Valid(data []byte, maxDepth int) bool {
	_, err := check(data, maxDepth, false)
	return err == nil
}

// check is Check, finding repeated names only when names is set; without
// them it records no name, which pathOf then leaves out.
func check(data []byte, maxDepth int, names bool) (Summary, error) {
	var sum Summary
	// The state lives in local slices backed by arrays on the stack; the
	// helpers take and return them rather than share a struct, which would
	// move them to the heap.
	var frameBuf [16]frame
	var keyBuf [64]keySpan
	frames, keys := frameBuf[:0], keyBuf[:0]
	b := data
	i := skipSpace(b, 0)
	for {
		// A value starts at i; expectName is set when it is an object's
		// first member.
		expectName := false
		if i >= len(b) {
			return sum, checkError(ErrSyntax, i, data, frames, keys)
		}
		switch b[i] {
		case '{', '[':
			if len(frames) >= maxDepth {
				return sum, checkError(ErrTooDeep, i, data, frames, keys)
			}
			obj := b[i] == '{'
			frames = append(frames, frame{object: obj, keys: len(keys)})
			i = skipSpace(b, i+1)
			if i < len(b) && (obj && b[i] == '}' || !obj && b[i] == ']') {
				i++
				keys = keys[:frames[len(frames)-1].keys]
				frames = frames[:len(frames)-1]
				break
			}
			if !obj {
				continue // the array's first element
			}
			expectName = true
		case '"':
			end, _, _, ok := scanString(b, i)
			if !ok {
				return sum, checkError(ErrSyntax, end, data, frames, keys)
			}
			i = end
		case 't':
			if !bytes.HasPrefix(b[i:], []byte("true")) {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			i += 4
		case 'f':
			if !bytes.HasPrefix(b[i:], []byte("false")) {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			i += 5
		case 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			i += 4
		default:
			end, ok := scanNumber(b, i)
			if !ok {
				return sum, checkError(ErrSyntax, end, data, frames, keys)
			}
			i = end
		}
		// After a value: a separator, the end of the enclosing container, or
		// the end of the document.
		for !expectName {
			i = skipSpace(b, i)
			if len(frames) == 0 {
				if i != len(b) {
					return sum, checkError(ErrSyntax, i, data, frames, keys)
				}
				return sum, nil
			}
			if i >= len(b) {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			f := &frames[len(frames)-1]
			if f.object && b[i] == '}' || !f.object && b[i] == ']' {
				i++
				keys = keys[:f.keys]
				frames = frames[:len(frames)-1]
				continue
			}
			if b[i] != ',' {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			i = skipSpace(b, i+1)
			if !f.object {
				f.index++
				break
			}
			expectName = true
		}
		if expectName {
			// A member: its name, new in its object, and a colon.
			if i >= len(b) || b[i] != '"' {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			end, plain, cased, ok := scanString(b, i)
			if !ok {
				return sum, checkError(ErrSyntax, end, data, frames, keys)
			}
			sum.CasedNames = sum.CasedNames || cased
			if names {
				k := keySpan{start: i + 1, end: end - 1, plain: plain}
				f := &frames[len(frames)-1]
				dup := seen(data, keys[f.keys:], f, k)
				keys = append(keys, k)
				if dup {
					return sum, checkError(ErrDuplicate, i, data, frames, keys)
				}
			}
			i = skipSpace(b, end)
			if i >= len(b) || b[i] != ':' {
				return sum, checkError(ErrSyntax, i, data, frames, keys)
			}
			i = skipSpace(b, i+1)
		}
	}
}

// checkError is the problem err found at offset at, named by where the
// check was.
func checkError(err error, at int, data []byte, frames []frame, keys []keySpan) error {
	return &CheckError{Err: err, Offset: at, Path: pathOf(data, frames, keys)}
}

// seen reports whether k is one of names, the member names of f so far.
func seen(data []byte, names []keySpan, f *frame, k keySpan) bool {
	if f.seen == nil && len(names) < smallObject {
		for _, o := range names {
			if o.plain && k.plain {
				if bytes.Equal(data[o.start:o.end], data[k.start:k.end]) {
					return true
				}
			} else if nameOf(data, o) == nameOf(data, k) {
				return true
			}
		}
		return false
	}
	if f.seen == nil {
		f.seen = make(map[string]struct{}, 2*len(names))
		for _, o := range names {
			f.seen[nameOf(data, o)] = struct{}{}
		}
	}
	n := nameOf(data, k)
	if _, dup := f.seen[n]; dup {
		return true
	}
	f.seen[n] = struct{}{}
	return false
}

// nameOf is a member name, decoded.
func nameOf(data []byte, k keySpan) string {
	return Unquote(data[k.start:k.end], k.plain)
}

// pathOf names where a check stopped: member names and element indexes from
// the top.
func pathOf(data []byte, frames []frame, keys []keySpan) string {
	var p []byte
	for n, f := range frames {
		if !f.object {
			p = append(p, '[')
			p = strconv.AppendInt(p, int64(f.index), 10)
			p = append(p, ']')
			continue
		}
		// An object's current member is the last name it recorded before
		// the next container opened.
		last := len(keys) - 1
		if n+1 < len(frames) {
			last = frames[n+1].keys - 1
		}
		if last < f.keys {
			break
		}
		if len(p) > 0 {
			p = append(p, '.')
		}
		p = append(p, nameOf(data, keys[last])...)
	}
	return string(p)
}

// Unquote decodes the contents of a JSON string (without its quotes) as
// encoding/json does: escapes decoded, invalid UTF-8 replaced by U+FFFD.
// plain says the contents have no escape and are valid UTF-8, which makes
// decoding a copy.
func Unquote(raw []byte, plain bool) string {
	if plain {
		return string(raw)
	}
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if json.Unmarshal(q, &s) != nil {
		return string(raw)
	}
	return s
}

// stringClass classifies the bytes of a string's contents for scanString:
// 0 plain ASCII, 1 the closing quote, 2 a backslash, 3 a control character
// (which must be escaped), 4 a byte of a multi-byte character, 5 an
// upper-case ASCII letter. It is a constant so the table is read-only data.
const stringClass = "" +
	"\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03" +
	"\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x00\x02\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04" +
	"\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04\x04"

// scanString reads the string starting at b[i] == '"'. It returns the
// offset after its closing quote (or of the error); whether its contents are
// plain (no escape, valid UTF-8); whether they are cased (an upper-case ASCII
// letter, a non-ASCII character or an escape: see Summary.CasedNames); and
// whether the string is well formed: control characters must be escaped, and
// escapes must be JSON's.
func scanString(b []byte, i int) (end int, plain, cased, ok bool) {
	plain = true
	ascii := true
	for j := i + 1; j < len(b); j++ {
		switch stringClass[b[j]] {
		case 0:
		case 1:
			if !ascii && !utf8.Valid(b[i+1:j]) {
				plain = false
			}
			return j + 1, plain, cased || !ascii || !plain, true
		case 2:
			plain = false
			j++
			if j >= len(b) {
				return j, false, true, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) || !isHex(b[j+1]) || !isHex(b[j+2]) || !isHex(b[j+3]) || !isHex(b[j+4]) {
					return j, false, true, false
				}
				j += 4
			default:
				return j, false, true, false
			}
		case 3:
			return j, false, true, false
		case 4:
			ascii = false
		default:
			cased = true
		}
	}
	return len(b), false, true, false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanNumber reads a JSON number at b[i]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (end int, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	return i, true
}
