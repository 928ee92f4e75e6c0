// Package rawjson reads and edits the top-level members of a JSON object in
// place, without decoding the rest. The router relays OpenAI-compatible bodies
// this way: it rewrites "model" or reads "usage" and leaves every other byte as
// the client or upstream wrote it, which is both faithful and cheap.
package rawjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// ErrSyntax is returned for input that is not a well-formed JSON object.
var ErrSyntax = errors.New("rawjson: malformed JSON object")

// Find returns the raw value of key among obj's top-level members. A key that
// appears twice yields its last value, as encoding/json would decode it.
func Find(obj []byte, key string) (value []byte, ok bool) {
	start, end, _, _, found, err := locate(obj, key)
	if err != nil || !found {
		return nil, false
	}
	return obj[start:end], true
}

// Has reports whether obj has a top-level member key whose value is not null.
func Has(obj []byte, key string) bool {
	v, ok := Find(obj, key)
	return ok && !bytes.Equal(v, []byte("null"))
}

// AppendSet appends to dst a copy of obj whose top-level member key has the raw
// JSON value; the member is added first when obj lacks it.
func AppendSet(dst, obj []byte, key string, value []byte) ([]byte, error) {
	start, end, _, _, found, err := locate(obj, key)
	if err != nil {
		return dst, err
	}
	if found {
		dst = append(dst, obj[:start]...)
		dst = append(dst, value...)
		return append(dst, obj[end:]...), nil
	}
	open := bytes.IndexByte(obj, '{')
	dst = append(dst, obj[:open+1]...)
	dst = appendKey(dst, key)
	dst = append(dst, value...)
	rest := obj[open+1:]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '}' {
		dst = append(dst, ',')
	}
	return append(dst, rest...), nil
}

// Set returns a copy of obj with key set to the raw JSON value.
func Set(obj []byte, key string, value []byte) ([]byte, error) {
	return AppendSet(make([]byte, 0, len(obj)+len(key)+len(value)+4), obj, key, value)
}

// Delete returns a copy of obj without its top-level member key; obj itself is
// returned when the key is absent.
func Delete(obj []byte, key string) ([]byte, error) {
	_, end, memberStart, prevEnd, found, err := locate(obj, key)
	if err != nil || !found {
		return obj, err
	}
	out := make([]byte, 0, len(obj))
	// Remove the member with the comma that separates it from a neighbour.
	after := skipSpace(obj, end)
	if obj[after] == ',' {
		out = append(out, obj[:memberStart]...)
		return append(out, obj[skipSpace(obj, after+1):]...), nil
	}
	if prevEnd >= 0 { // last member: drop the comma before it
		out = append(out, obj[:prevEnd]...)
		return append(out, obj[after:]...), nil
	}
	out = append(out, obj[:memberStart]...)
	return append(out, obj[after:]...), nil
}

// Members iterates over the members of a JSON object without allocating:
//
//	m := rawjson.MembersOf(obj)
//	for m.Next() {
//		use(m.Key(), m.Value())
//	}
//	if err := m.Err(); err != nil { ... }
type Members struct {
	data                       []byte
	keyStart, keyEnd           int
	valueStart, valueEnd, next int
	state                      uint8 // 0 before '{', 1 inside, 2 done
	err                        error
}

// MembersOf starts an iteration over obj's members.
func MembersOf(obj []byte) Members { return Members{data: obj} }

// Next moves to the next member; it reports false at the end or on a syntax error.
func (m *Members) Next() bool {
	b := m.data
	var i int
	switch m.state {
	case 2:
		return false
	case 0:
		i = skipSpace(b, 0)
		if i >= len(b) || b[i] != '{' {
			return m.fail()
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			m.state = 2
			return false
		}
		m.state = 1
	default:
		i = skipSpace(b, m.next)
		if i >= len(b) {
			return m.fail()
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			m.state = 2
			return false
		default:
			return m.fail()
		}
	}
	if i >= len(b) || b[i] != '"' {
		return m.fail()
	}
	kEnd, err := skipString(b, i)
	if err != nil {
		return m.fail()
	}
	m.keyStart, m.keyEnd = i+1, kEnd-1
	i = skipSpace(b, kEnd)
	if i >= len(b) || b[i] != ':' {
		return m.fail()
	}
	vStart := skipSpace(b, i+1)
	vEnd, err := skipValue(b, vStart)
	if err != nil {
		return m.fail()
	}
	m.valueStart, m.valueEnd, m.next = vStart, vEnd, vEnd
	return true
}

func (m *Members) fail() bool {
	m.state, m.err = 2, ErrSyntax
	return false
}

// Key is the current member's raw key, still escaped.
func (m *Members) Key() []byte { return m.data[m.keyStart:m.keyEnd] }

// Name is the current member's name with its escapes decoded, as every JSON
// parser reads it: "mod\u0065l" is model. A name without escapes, the usual
// case, is returned as it is, without copying.
func (m *Members) Name() []byte {
	k := m.Key()
	if bytes.IndexByte(k, '\\') < 0 {
		return k
	}
	return []byte(Unquote(k, false))
}

// Value is the current member's raw value.
func (m *Members) Value() []byte { return m.data[m.valueStart:m.valueEnd] }

// Start is the offset of the current value in the object.
func (m *Members) Start() int { return m.valueStart }

// End is the offset just past the current value.
func (m *Members) End() int { return m.valueEnd }

// Err is the syntax error that ended the iteration, if any.
func (m *Members) Err() error { return m.err }

// Elements iterates over the elements of a JSON array without allocating.
type Elements struct {
	data       []byte
	start, end int
	state      uint8
	err        error
}

// ElementsOf starts an iteration over arr's elements.
func ElementsOf(arr []byte) Elements { return Elements{data: arr} }

// Next moves to the next element; it reports false at the end or on a syntax error.
func (a *Elements) Next() bool {
	b := a.data
	var i int
	switch a.state {
	case 2:
		return false
	case 0:
		i = skipSpace(b, 0)
		if i >= len(b) || b[i] != '[' {
			return a.fail()
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			a.state = 2
			return false
		}
		a.state = 1
	default:
		i = skipSpace(b, a.end)
		if i >= len(b) {
			return a.fail()
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			a.state = 2
			return false
		default:
			return a.fail()
		}
	}
	end, err := skipValue(b, i)
	if err != nil {
		return a.fail()
	}
	a.start, a.end = i, end
	return true
}

func (a *Elements) fail() bool {
	a.state, a.err = 2, ErrSyntax
	return false
}

// Value is the current element.
func (a *Elements) Value() []byte { return a.data[a.start:a.end] }

// Err is the syntax error that ended the iteration, if any.
func (a *Elements) Err() error { return a.err }

// locate finds key's value range [start,end), the start of its member (the
// opening quote of the key) and the end of the previous member's value (-1 for
// the first member).
func locate(obj []byte, key string) (start, end, memberStart, prevEnd int, found bool, err error) {
	prevEnd = -1
	lastEnd := -1
	m := MembersOf(obj)
	for m.Next() {
		if keyEquals(m.Key(), key) {
			start, end, memberStart, found = m.valueStart, m.valueEnd, m.keyStart-1, true
			prevEnd = lastEnd
		}
		lastEnd = m.valueEnd
	}
	return start, end, memberStart, prevEnd, found, m.Err()
}

func keyEquals(raw []byte, key string) bool {
	// Escapes and invalid UTF-8 (which encoding/json turns into U+FFFD) need a
	// real decode; plain keys compare as bytes.
	if bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		return string(raw) == key
	}
	var k string
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	return json.Unmarshal(quoted, &k) == nil && k == key
}

func appendKey(dst []byte, key string) []byte {
	q, _ := json.Marshal(key)
	dst = append(dst, q...)
	return append(dst, ':')
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, ErrSyntax
}

// skipValue returns the index just past the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, ErrSyntax
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, ErrSyntax
	}
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if j == i {
				return 0, ErrSyntax
			}
			return j, nil
		}
		j++
	}
	if j == i {
		return 0, ErrSyntax
	}
	return j, nil
}
