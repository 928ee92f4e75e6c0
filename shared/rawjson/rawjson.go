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

// Each calls fn for every top-level member of obj, in order, with the raw key
// (still escaped) and raw value.
func Each(obj []byte, fn func(key, value []byte)) error {
	return eachMember(obj, func(_ int, k []byte, vStart, vEnd int) { fn(k, obj[vStart:vEnd]) })
}

// Scan calls fn for every top-level member of obj with the raw key and the
// value's byte range obj[start:end], so a caller can find several members in
// one pass and splice the object without copying it first.
func Scan(obj []byte, fn func(key []byte, start, end int)) error {
	return eachMember(obj, func(_ int, k []byte, vStart, vEnd int) { fn(k, vStart, vEnd) })
}

// locate finds key's value range [start,end), the start of its member (the
// opening quote of the key) and the end of the previous member's value (-1 for
// the first member).
func locate(obj []byte, key string) (start, end, memberStart, prevEnd int, found bool, err error) {
	prevEnd = -1
	lastEnd := -1
	err = eachMember(obj, func(kStart int, k []byte, vStart, vEnd int) {
		if keyEquals(k, key) {
			start, end, memberStart, found = vStart, vEnd, kStart, true
			prevEnd = lastEnd
		}
		lastEnd = vEnd
	})
	return start, end, memberStart, prevEnd, found, err
}

func eachMember(obj []byte, fn func(kStart int, k []byte, vStart, vEnd int)) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return ErrSyntax
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return ErrSyntax
		}
		kEnd, err := skipString(obj, i)
		if err != nil {
			return err
		}
		kStart := i
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return ErrSyntax
		}
		vStart := skipSpace(obj, i+1)
		vEnd, err := skipValue(obj, vStart)
		if err != nil {
			return err
		}
		fn(kStart, obj[kStart+1:kEnd-1], vStart, vEnd)
		i = skipSpace(obj, vEnd)
		if i >= len(obj) {
			return ErrSyntax
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return nil
		default:
			return ErrSyntax
		}
	}
	return ErrSyntax
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
