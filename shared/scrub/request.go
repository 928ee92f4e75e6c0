package scrub

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"unicode/utf8"
)

// MinRun is the shortest run of the request's text RequestText removes.
// Shorter runs are words and field names that any message shares with any
// request ("max_tokens", "is not supported"); from 16 bytes on a run is the
// request's own text.
const MinRun = 16

// RequestMark replaces a run of the request's text. It is shorter than
// MinRun, so each removal shortens the text.
const RequestMark = "[request text]"

// maxRounds bounds RequestText's passes. A pass can only create a new match
// where a mark meets the text around it, which a request can provoke by
// containing the mark; past this many passes the text is dropped.
const maxRounds = 3

// RequestText returns s with every run of MinRun or more bytes that also
// occurs in a string of the JSON document body (a member name or a string
// value, unescaped) replaced by RequestMark: an upstream's error message can
// quote the prompt, and the caller must not read it back from the router (nor
// a log keep it). The result has no MinRun-byte run in common with any string
// of body. It costs time linear in len(s)+len(body), and nothing when s is
// shorter than MinRun.
func RequestText(s string, body []byte) string {
	if len(s) < MinRun || len(body) < MinRun {
		return s
	}
	strs := stringsOf(body)
	for range maxRounds {
		spans := matches(s, strs)
		if len(spans) == 0 {
			return s
		}
		s = replaceSpans(s, spans, RequestMark)
		if len(s) < MinRun {
			return s
		}
	}
	if len(matches(s, strs)) > 0 {
		return ""
	}
	return s
}

// stringsOf returns the strings of a JSON document, unescaped; a body with
// no string at all (not JSON) is returned whole, as text.
func stringsOf(body []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(body); i++ {
		if body[i] != '"' {
			continue
		}
		escaped := false
		j := i + 1
		for ; j < len(body); j++ {
			if body[j] == '\\' {
				escaped = true
				j++
				continue
			}
			if body[j] == '"' {
				break
			}
		}
		if j >= len(body) {
			out = append(out, body[i+1:])
			break
		}
		raw := body[i+1 : j]
		if escaped {
			var dec string
			if json.Unmarshal(body[i:j+1], &dec) == nil {
				raw = []byte(dec)
			}
		}
		if len(raw) >= MinRun {
			out = append(out, raw)
		}
		i = j
	}
	if out == nil && bytes.IndexByte(body, '"') < 0 {
		out = append(out, body)
	}
	return out
}

// span is a byte range [start, end) of the text.
type span struct{ start, end int }

// matches returns the merged ranges of s covered by MinRun-byte windows that
// also occur in one of strs. Every common substring of MinRun or more bytes
// is a union of such windows, so the ranges are exactly what s shares with
// strs in runs of MinRun or more. Ranges are widened to whole UTF-8
// characters.
func matches(s string, strs [][]byte) []span {
	ix := newWindowIndex(s)
	for _, str := range strs {
		for k := 0; k+MinRun <= len(str); k++ {
			ix.mark(str[k : k+MinRun])
		}
	}
	var spans []span
	for p, m := range ix.marked {
		if !m {
			continue
		}
		start, end := p, p+MinRun
		for start > 0 && !utf8.RuneStart(s[start]) {
			start--
		}
		for end < len(s) && !utf8.RuneStart(s[end]) {
			end++
		}
		if n := len(spans); n > 0 && start <= spans[n-1].end {
			spans[n-1].end = max(spans[n-1].end, end)
			continue
		}
		spans = append(spans, span{start, end})
	}
	return spans
}

// replaceSpans replaces each of spans (ordered, disjoint) of s with mark.
func replaceSpans(s string, spans []span, mark string) string {
	out := make([]byte, 0, len(s))
	last := 0
	for _, sp := range spans {
		out = append(out, s[last:sp.start]...)
		out = append(out, mark...)
		last = sp.end
	}
	return string(append(out, s[last:]...))
}

// windowIndex finds the MinRun-byte windows of a text by content. It is an
// open-addressing table of the distinct windows, hashed with a random seed so
// no input can be built to collide; windows with the same content are chained
// so a match marks all of them once.
type windowIndex struct {
	s      string
	seed   maphash.Seed
	mask   uint64
	slots  []int32  // position+1 of a distinct window, 0 for an empty slot
	hashes []uint64 // the hash of the window in each slot
	next   []int32  // the next position with the same window, -1 at the end
	marked []bool   // marked[p]: the window at p occurs in the request
}

func newWindowIndex(s string) *windowIndex {
	n := len(s) - MinRun + 1
	size := 16
	for size < 2*n {
		size *= 2
	}
	ix := &windowIndex{s: s, seed: maphash.MakeSeed(), mask: uint64(size - 1),
		slots: make([]int32, size), hashes: make([]uint64, size), next: make([]int32, n), marked: make([]bool, n)}
	tail := make([]int32, n) // of a distinct window's first position: its chain's last
	for p := 0; p < n; p++ {
		ix.next[p] = -1
		w := s[p : p+MinRun]
		h := maphash.String(ix.seed, w)
		for i := h & ix.mask; ; i = (i + 1) & ix.mask {
			q := ix.slots[i] - 1
			if q < 0 {
				ix.slots[i], ix.hashes[i] = int32(p)+1, h
				tail[p] = int32(p)
				break
			}
			if ix.hashes[i] == h && s[q:q+MinRun] == w {
				ix.next[tail[q]] = int32(p)
				tail[q] = int32(p)
				break
			}
		}
	}
	return ix
}

// mark marks every window of the text equal to w.
func (ix *windowIndex) mark(w []byte) {
	h := maphash.Bytes(ix.seed, w)
	for i := h & ix.mask; ; i = (i + 1) & ix.mask {
		q := ix.slots[i] - 1
		if q < 0 {
			return
		}
		if ix.hashes[i] == h && ix.s[q:q+MinRun] == string(w) {
			if !ix.marked[q] {
				for p := q; p >= 0; p = ix.next[p] {
					ix.marked[p] = true
				}
			}
			return
		}
	}
}
