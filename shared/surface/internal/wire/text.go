package wire

import (
	"bytes"
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnquoted appends the text of the JSON string body s (without its
// quotes) to dst, decoding escapes as encoding/json does: unpaired
// surrogates and invalid UTF-8 become U+FFFD. ok is false for a raw control
// character or a bad escape.
func AppendUnquoted(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			if i+1 >= len(s) {
				return dst, false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				dst = append(dst, s[i+1])
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r, ok := hex4(s[i+2:])
				if !ok {
					return dst, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok2 = hex4(s[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default:
				return dst, false
			}
			i += 2
		case c < 0x20:
			return dst, false
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
		}
	}
	return dst, true
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 || !isHex4(s[:4]) {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		r <<= 4
		switch {
		case c <= '9':
			r |= rune(c - '0')
		case c >= 'a':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r, true
}

func isHex4(h []byte) bool {
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// AppendCompact appends the valid JSON value raw without whitespace outside
// strings, as encoding/json.Compact does, without allocating. Strings are
// found with bytes.IndexByte and copied whole.
func AppendCompact(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		q := bytes.IndexByte(raw[i:], '"')
		if q < 0 {
			return appendNoSpace(dst, raw[i:])
		}
		dst = appendNoSpace(dst, raw[i:i+q])
		end := i + q + 1 // past the closing quote
		for {
			n := bytes.IndexByte(raw[end:], '"')
			if n < 0 {
				return append(dst, raw[i+q:]...)
			}
			end += n
			backslashes := 0
			for k := end - 1; raw[k] == '\\'; k-- {
				backslashes++
			}
			end++
			if backslashes%2 == 0 {
				break
			}
		}
		dst = append(dst, raw[i+q:end]...)
		i = end
	}
	return dst
}

// appendNoSpace appends b without its whitespace (b holds no string).
func appendNoSpace(dst, b []byte) []byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			dst = append(dst, c)
		}
	}
	return dst
}
