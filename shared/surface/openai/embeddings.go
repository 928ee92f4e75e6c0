// Package openai holds pure helpers for the router's own OpenAI surfaces (chat
// completions and embeddings) where the router answers a request with a
// different upstream request: embeddings asked as base64 are fetched as floats
// and encoded here, and a chat request with n > 1 is served by n calls whose
// answers are merged here. Import it with an alias where it clashes with the
// provider adapter of the same name.
package openai

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// errNotList is returned for a body that is not an embeddings list.
var errNotList = errors.New("embeddings: the answer is not a JSON object with a data array")

// AppendBase64Embeddings appends to dst a copy of an OpenAI embeddings answer
// (`{"object":"list","data":[{"embedding":[floats],…}],…}`) in which every
// embedding array is replaced by what OpenAI returns for
// encoding_format "base64": the standard base64 of the vector's float32
// values, little-endian, padded. The SDKs ask for base64 by default and decode
// exactly that. Every other byte is copied as it is; an embedding that is
// already a string is kept.
//
// Each number is read as the nearest float32, which gives back the float32 an
// upstream printed with enough digits (OpenAI's vectors are float32).
//
// Vectors are most of the answer (1536 numbers or more), so the body is read
// in one pass by the small scanner below: rawjson's iterators would skip over
// each vector once per level of nesting before it is parsed.
func AppendBase64Embeddings(dst, body []byte) ([]byte, error) {
	s := scanner{b: body, dst: dst}
	found := false
	err := s.object(func(key []byte) error {
		if string(key) != "data" || s.peek() != '[' {
			return s.skip()
		}
		found = true
		return s.array(s.item)
	})
	if err != nil || !found || s.skipSpace() < len(body) {
		return dst, errNotList
	}
	return append(s.dst, body[s.copied:]...), nil
}

// scanner walks a JSON text once, copying it to dst with the embedding
// vectors replaced.
type scanner struct {
	b, dst []byte
	i      int // the read offset
	copied int // b[:copied] is in dst already
}

// item reads one element of data, encoding its embedding.
func (s *scanner) item() error {
	if s.peek() != '{' {
		return s.skip()
	}
	return s.object(func(key []byte) error {
		if string(key) != "embedding" || s.peek() != '[' {
			return s.skip()
		}
		return s.vector()
	})
}

// vector replaces the array of numbers at the read offset by its base64
// string. Three float32s are twelve bytes, sixteen base64 characters with no
// padding, so it encodes three values at a time from a stack buffer.
func (s *scanner) vector() error {
	b := s.b
	s.dst = append(s.dst, b[s.copied:s.i]...)
	s.dst = append(s.dst, '"')
	var group [12]byte
	n := 0
	err := s.array(func() error {
		start := s.i
		for s.i < len(b) {
			c := b[s.i]
			if c == ',' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			s.i++
		}
		f, err := strconv.ParseFloat(string(b[start:s.i]), 32)
		if err != nil {
			return errors.New("embeddings: " + strconv.Quote(string(b[start:s.i])) + " is not a float32")
		}
		binary.LittleEndian.PutUint32(group[n:], math.Float32bits(float32(f)))
		if n += 4; n == len(group) {
			s.dst = base64.StdEncoding.AppendEncode(s.dst, group[:])
			n = 0
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.dst = base64.StdEncoding.AppendEncode(s.dst, group[:n])
	s.dst = append(s.dst, '"')
	s.copied = s.i
	return nil
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) skipSpace() int {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return s.i
		}
	}
	return s.i
}

// object reads the object at the read offset, calling member with each key
// when the read offset is at the member's value; member must read the value.
func (s *scanner) object(member func(key []byte) error) error {
	b := s.b
	if s.skipSpace(); s.peek() != '{' {
		return errNotList
	}
	s.i++
	if s.skipSpace(); s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		if s.peek() != '"' {
			return errNotList
		}
		start := s.i
		if err := s.skipString(); err != nil {
			return err
		}
		key := b[start+1 : s.i-1]
		if s.skipSpace(); s.peek() != ':' {
			return errNotList
		}
		s.i++
		s.skipSpace()
		if err := member(key); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
			s.skipSpace()
		case '}':
			s.i++
			return nil
		default:
			return errNotList
		}
	}
}

// array reads the array at the read offset, calling element with the read
// offset at each element; element must read it.
func (s *scanner) array(element func() error) error {
	s.i++ // '['
	if s.skipSpace(); s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) {
			return errNotList
		}
		if err := element(); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
			s.skipSpace()
		case ']':
			s.i++
			return nil
		default:
			return errNotList
		}
	}
}

func (s *scanner) skipString() error {
	b := s.b
	for j := s.i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return nil
		}
	}
	return errNotList
}

// skip reads any value.
func (s *scanner) skip() error {
	switch s.peek() {
	case '"':
		return s.skipString()
	case '{':
		return s.object(func([]byte) error { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 0:
		return errNotList
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if s.i == start {
				return errNotList
			}
			return nil
		}
		s.i++
	}
	if s.i == start {
		return errNotList
	}
	return nil
}
