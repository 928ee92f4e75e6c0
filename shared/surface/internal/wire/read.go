// Package wire holds what the surface packages share: reading JSON scalars
// found by rawjson, writing a Chat Completions body from an llm.ChatRequest,
// server-sent events and random ids. Nothing here knows a surface's format.
package wire

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"github.com/llm-router/router/shared/rawjson"
)

// String reads a JSON string; null and an absent value (nil) give "". ok is
// false for any other value. Strings without escapes, the usual case, are
// copied without decoding.
func String(v []byte) (s string, ok bool) {
	if len(v) == 0 {
		return "", true
	}
	switch v[0] {
	case 'n':
		return "", bytes.Equal(v, null)
	case '"':
	default:
		return "", false
	}
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if plain(inner) {
		return string(inner), true
	}
	var buf [256]byte
	out, ok := AppendUnquoted(buf[:0], inner)
	if !ok {
		return "", false
	}
	return string(out), true
}

// plain reports whether a string body needs no decoding: ASCII without
// escapes or control characters, or valid UTF-8 likewise.
func plain(b []byte) bool {
	ascii := true
	for _, c := range b {
		if c < 0x20 || c == '\\' {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.Valid(b)
}

var null = []byte("null")

// StringBody is the escaped body of a raw JSON string, nil for anything
// else.
func StringBody(raw []byte) []byte {
	if !IsString(raw) {
		return nil
	}
	return raw[1 : len(raw)-1]
}

// IsString reports whether raw is a JSON string (a value rawjson found).
func IsString(raw []byte) bool { return len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' }

// IsNull reports whether v is the JSON null (or absent).
func IsNull(v []byte) bool { return len(v) == 0 || bytes.Equal(v, null) }

// Count is the number of elements of an array (0 for anything else), to
// size a slice once before filling it.
func Count(v []byte) int {
	if len(v) == 0 || v[0] != '[' {
		return 0
	}
	n := 0
	for els := rawjson.ElementsOf(v); els.Next(); {
		n++
	}
	return n
}

// Bool reads true or false; null and an absent value give false. ok is false
// for other values.
func Bool(v []byte) (b, ok bool) {
	switch string(v) {
	case "true":
		return true, true
	case "false", "null", "":
		return false, true
	}
	return false, false
}

// Float reads a JSON number. ok is false for any other value, null included.
func Float(v []byte) (float64, bool) {
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(v), 64)
	return f, err == nil
}

// Int reads a JSON integer; a number with a zero fraction (16.0) counts, as
// encoding/json would not but OpenAI and Anthropic do. ok is false otherwise.
func Int(v []byte) (int, bool) {
	if n, err := strconv.Atoi(string(v)); err == nil {
		return n, true
	}
	f, ok := Float(v)
	if !ok || f < -1e15 || f > 1e15 || f != float64(int(f)) {
		return 0, false
	}
	return int(f), true
}

// Type names the JSON type of v for error messages.
func Type(v []byte) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}
