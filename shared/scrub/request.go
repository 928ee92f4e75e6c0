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
// no string at all (not JSON) is returned whole, as text. Strings are found
// with bytes.IndexByte, which reads many bytes at a time.
func stringsOf(body []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(body); {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			break
		}
		start := i + q + 1
		// The closing quote is the first one after an even run of
		// backslashes.
		end := -1
		for j := start; ; {
			e := bytes.IndexByte(body[j:], '"')
			if e < 0 {
				break
			}
			e += j
			n := 0
			for k := e - 1; k >= start && body[k] == '\\'; k-- {
				n++
			}
			if n%2 == 0 {
				end = e
				break
			}
			j = e + 1
		}
		if end < 0 {
			out = append(out, body[start:])
			break
		}
		raw := body[start:end]
		if bytes.IndexByte(raw, '\\') >= 0 {
			var dec string
			if json.Unmarshal(body[start-1:end+1], &dec) == nil {
				raw = []byte(dec)
			}
		}
		if len(raw) >= MinRun {
			out = append(out, raw)
		}
		i = end + 1
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
		if len(str) < MinRun {
			continue
		}
		// A rolling hash filters the request's windows, so only the few
		// that may match pay for a lookup in the index; and while the text
		// goes on as the request does, each next window is the text's next
		// one, found by comparing one byte.
		r := rollInit(str[:MinRun])
		cur := -1 // a position of the text whose window is the current one
		for k := 0; ; k++ {
			if cur < 0 && ix.maybe(r) {
				cur = ix.mark(str[k : k+MinRun])
			}
			if k+MinRun >= len(str) {
				break
			}
			r = roll(r, str[k], str[k+MinRun])
			if cur >= 0 && cur+1 < len(ix.marked) && ix.s[cur+MinRun] == str[k+MinRun] {
				cur++
				ix.markAt(cur)
			} else {
				cur = -1
			}
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

// Rolling hash of a MinRun-byte window: the polynomial sum of its bytes in
// base rollBase, modulo 2^64. It only filters: a window it lets through is
// looked up by content, so an input built to collide costs time, never a
// wrong answer.
const rollBase = 0x100000001b3

// rollOut is rollBase to the power MinRun modulo 2^64, what the byte
// leaving a window weighs (TestRollOut checks it).
const rollOut = 0x4efe15c813151841

func rollInit[T string | []byte](w T) uint64 {
	var h uint64
	for i := 0; i < MinRun; i++ {
		h = h*rollBase + uint64(w[i])
	}
	return h
}

// roll moves the window one byte on: out leaves it, in enters it.
func roll(h uint64, out, in byte) uint64 {
	return h*rollBase + uint64(in) - uint64(out)*rollOut
}

// windowIndex finds the MinRun-byte windows of a text by content. It is an
// open-addressing table of the distinct windows, hashed with a random seed so
// no input can be built to collide; windows with the same content are chained
// so a match marks all of them once. A bitset of the windows' rolling hashes
// (maybe) answers most lookups without hashing.
type windowIndex struct {
	s       string
	seed    maphash.Seed
	mask    uint64
	slots   []int32  // position+1 of a distinct window, 0 for an empty slot
	hashes  []uint64 // the hash of the window in each slot
	next    []int32  // the next position with the same window, -1 at the end
	head    []int32  // the first position with the same window
	marked  []bool   // marked[p]: the window at p occurs in the request
	bits    []uint64 // bit r&bitMask is set for the rolling hash r of each window
	bitMask uint64
}

// maybe reports whether a window with rolling hash r may be in the text.
func (ix *windowIndex) maybe(r uint64) bool {
	r &= ix.bitMask
	return ix.bits[r>>6]&(1<<(r&63)) != 0
}

func newWindowIndex(s string) *windowIndex {
	n := len(s) - MinRun + 1
	size := 16
	for size < 2*n {
		size *= 2
	}
	nbits := 512
	for nbits < 16*n {
		nbits *= 2
	}
	ix := &windowIndex{s: s, seed: maphash.MakeSeed(), mask: uint64(size - 1),
		slots: make([]int32, size), hashes: make([]uint64, size), next: make([]int32, n), head: make([]int32, n), marked: make([]bool, n),
		bits: make([]uint64, nbits/64), bitMask: uint64(nbits - 1)}
	r := rollInit(s[:MinRun])
	for p := 0; ; p++ {
		b := r & ix.bitMask
		ix.bits[b>>6] |= 1 << (b & 63)
		if p+MinRun >= len(s) {
			break
		}
		r = roll(r, s[p], s[p+MinRun])
	}
	tail := make([]int32, n) // of a distinct window's first position: its chain's last
	for p := 0; p < n; p++ {
		ix.next[p] = -1
		w := s[p : p+MinRun]
		h := maphash.String(ix.seed, w)
		for i := h & ix.mask; ; i = (i + 1) & ix.mask {
			q := ix.slots[i] - 1
			if q < 0 {
				ix.slots[i], ix.hashes[i] = int32(p)+1, h
				tail[p], ix.head[p] = int32(p), int32(p)
				break
			}
			if ix.hashes[i] == h && s[q:q+MinRun] == w {
				ix.next[tail[q]] = int32(p)
				tail[q], ix.head[p] = int32(p), q
				break
			}
		}
	}
	return ix
}

// mark marks every window of the text equal to w and returns the position
// of one, or -1 when w is not in the text.
func (ix *windowIndex) mark(w []byte) int {
	h := maphash.Bytes(ix.seed, w)
	for i := h & ix.mask; ; i = (i + 1) & ix.mask {
		q := ix.slots[i] - 1
		if q < 0 {
			return -1
		}
		if ix.hashes[i] == h && ix.s[q:q+MinRun] == string(w) {
			ix.markAt(int(q))
			return int(q)
		}
	}
}

// markAt marks the window at p and every other window equal to it.
func (ix *windowIndex) markAt(p int) {
	h := ix.head[p]
	if ix.marked[h] {
		return
	}
	for q := h; q >= 0; q = ix.next[q] {
		ix.marked[q] = true
	}
}
