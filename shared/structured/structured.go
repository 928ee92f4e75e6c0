// Package structured turns a model's answer into JSON a program can rely on:
// it finds the JSON in the text (the whole answer, a fenced block, or a value
// after some prose), validates it against a JSON Schema, and returns it as
// canonical JSON (compact, keys sorted, numbers as written).
package structured

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ErrNoJSON is returned when an answer holds no JSON value.
var ErrNoJSON = errors.New("the answer contains no JSON value")

// maxCandidates bounds how many embedded '{' or '[' positions Extract tries,
// so a long answer full of braces cannot make it quadratic.
const maxCandidates = 64

// Extract returns the JSON value of a model's answer: the whole text when it
// is JSON, else the first fenced ``` block that is, else the first object or
// array embedded in the text. want is '{' or '[' to look only for that kind of
// value, or 0 for either.
func Extract(text []byte, want byte) ([]byte, error) {
	t := bytes.TrimSpace(text)
	if len(t) > 0 && kindOK(t[0], want) && json.Valid(t) {
		return t, nil
	}
	if v := fenced(t, want); v != nil {
		return v, nil
	}
	tries := 0
	for i := 0; i < len(t) && tries < maxCandidates; i++ {
		c := t[i]
		if (c != '{' && c != '[') || !kindOK(c, want) {
			continue
		}
		tries++
		end := matchEnd(t, i)
		if end > 0 && json.Valid(t[i:end]) {
			return t[i:end], nil
		}
	}
	return nil, ErrNoJSON
}

func kindOK(c, want byte) bool {
	if want == 0 {
		return c == '{' || c == '['
	}
	return c == want
}

// fenced returns the first ```-fenced block (any language tag) whose content
// is a JSON value of the wanted kind.
func fenced(t []byte, want byte) []byte {
	rest := t
	for {
		open := bytes.Index(rest, []byte("```"))
		if open < 0 {
			return nil
		}
		body := rest[open+3:]
		nl := bytes.IndexByte(body, '\n')
		if nl < 0 {
			return nil
		}
		body = body[nl+1:]
		closing := bytes.Index(body, []byte("```"))
		if closing < 0 {
			return nil
		}
		v := bytes.TrimSpace(body[:closing])
		if len(v) > 0 && kindOK(v[0], want) && json.Valid(v) {
			return v
		}
		rest = body[closing+3:]
	}
}

// matchEnd returns the index just past the bracket that closes the one at
// t[start], skipping strings, or -1.
func matchEnd(t []byte, start int) int {
	depth := 0
	for i := start; i < len(t); i++ {
		switch t[i] {
		case '"':
			for i++; i < len(t) && t[i] != '"'; i++ {
				if t[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// Schema is a compiled JSON Schema (schema.go).
type Schema struct {
	n *node
	// root is '{' or '[' when the schema's root type is object or array.
	root byte
}

// Compile checks and compiles a JSON Schema document (draft 2020-12, and the
// keywords of drafts 04 to 2019-09). References must stay inside the
// document. Nothing is prepared ahead: a router that never sees a schema
// pays nothing for this package at start.
func Compile(doc []byte) (*Schema, error) {
	parsed, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("the schema is not valid JSON: %w", err)
	}
	n, err := compileSchema(parsed)
	if err != nil {
		return nil, fmt.Errorf("the schema is not valid: %s", firstLine(err.Error()))
	}
	out := &Schema{n: n}
	if m, ok := parsed.(map[string]any); ok {
		switch m["type"] {
		case "object":
			out.root = '{'
		case "array":
			out.root = '['
		}
	}
	return out, nil
}

// decode parses one JSON value, numbers as written.
func decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

// Root is '{' or '[' when the schema's root is an object or array, else 0:
// the kind of value Extract should look for.
func (s *Schema) Root() byte { return s.root }

// InvalidError lists why a document does not match its schema, in short
// lines fit for a client error or a repair prompt.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	return "the JSON does not match the schema: " + strings.Join(e.Problems, "; ")
}

// maxProblems bounds the problems an InvalidError lists.
const maxProblems = 8

// Check parses doc, validates it, and returns it as canonical JSON. A nil
// schema checks only that doc is JSON.
func (s *Schema) Check(doc []byte) ([]byte, error) {
	v, err := decode(doc)
	if err != nil {
		return nil, ErrNoJSON
	}
	if s != nil {
		if o := s.n.validate(v, "", 0); !o.ok() {
			out := make([]string, 0, min(len(o.problems), maxProblems))
			for _, p := range o.problems[:min(len(o.problems), maxProblems)] {
				loc := p.loc
				if loc == "" {
					loc = "/"
				}
				out = append(out, loc+": "+p.msg)
			}
			return nil, &InvalidError{Problems: out}
		}
	}
	return canonical(v)
}

// Canonical is the JSON document doc compact, with sorted keys, numbers as
// written and no HTML escaping.
func Canonical(doc []byte) ([]byte, error) {
	v, err := decode(doc)
	if err != nil {
		return nil, err
	}
	return canonical(v)
}

// canonical is v encoded compactly with sorted keys and without HTML escaping.
func canonical(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Cache keeps compiled schemas by content, so a client sending the same
// schema with every request compiles it once. It holds at most Max schemas
// (default 256), dropping them all when full: schemas are few in practice,
// and a bound matters more than recency.
type Cache struct {
	Max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]*Schema
}

// Get returns the compiled schema of doc.
func (c *Cache) Get(doc []byte) (*Schema, error) {
	key := sha256.Sum256(doc)
	c.mu.Lock()
	s := c.m[key]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := Compile(doc)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	limit := c.Max
	if limit <= 0 {
		limit = 256
	}
	if c.m == nil || len(c.m) >= limit {
		c.m = make(map[[sha256.Size]byte]*Schema)
	}
	c.m[key] = s
	return s, nil
}
