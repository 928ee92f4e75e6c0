package anthropictest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Sign is the signature the fake gives a thinking block, and checks when
// the block comes back: the real API's signatures are opaque, and a
// thinking block sent back with any other is refused.
func Sign(thinking string) string {
	sum := sha256.Sum256([]byte("fake-thinking:" + thinking))
	return base64.StdEncoding.EncodeToString(sum[:18])
}

// A prompt cache as Anthropic's works, for what a test can observe: the
// prompt is its tools, then its system blocks, then its messages' blocks,
// in that order; a breakpoint (cache_control) caches the prefix that ends
// with its block, when that prefix is at least the model's minimum; a later
// request whose prefix up to a breakpoint, or up to one of the 20 blocks
// before it, was cached reads it. Tokens are counted as a quarter of the
// bytes of each block's JSON (without its cache_control), at least one per
// block. Entries do not expire: tests need no clock.

// unit is one block of the prompt.
type unit struct {
	tokens int
	marker *wireCacheControl
}

type wireCacheControl struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

// promptUnits lists the blocks of a request's prompt in cache order, and
// the cumulative hash of the prompt up to each.
func promptUnits(top map[string]json.RawMessage) ([]unit, [][32]byte) {
	var raws []json.RawMessage
	var tools []json.RawMessage
	_ = json.Unmarshal(top["tools"], &tools)
	raws = append(raws, tools...)
	if sys := bytes.TrimSpace(top["system"]); len(sys) > 0 && sys[0] == '[' {
		var blocks []json.RawMessage
		_ = json.Unmarshal(sys, &blocks)
		raws = append(raws, blocks...)
	} else if len(sys) > 0 {
		raws = append(raws, sys)
	}
	var msgs []wireMessage
	_ = json.Unmarshal(top["messages"], &msgs)
	for _, m := range msgs {
		c := bytes.TrimSpace(m.Content)
		if len(c) > 0 && c[0] == '[' {
			var blocks []json.RawMessage
			_ = json.Unmarshal(c, &blocks)
			raws = append(raws, blocks...)
		} else {
			raws = append(raws, c)
		}
	}
	units := make([]unit, len(raws))
	hashes := make([][32]byte, len(raws))
	h := sha256.New()
	for i, raw := range raws {
		var obj map[string]json.RawMessage
		content := []byte(raw)
		if json.Unmarshal(raw, &obj) == nil && obj != nil {
			if cc, ok := obj["cache_control"]; ok {
				units[i].marker = new(wireCacheControl)
				_ = json.Unmarshal(cc, units[i].marker)
				delete(obj, "cache_control")
			}
			content, _ = json.Marshal(obj)
		}
		units[i].tokens = max(len(content)/4, 1)
		h.Write(content)
		copy(hashes[i][:], h.Sum(nil))
	}
	return units, hashes
}

// minCacheable is the shortest prefix, in tokens, the model caches.
func minCacheable(model string) int {
	switch m := strings.ToLower(model); {
	case strings.Contains(m, "haiku-4-5"), strings.Contains(m, "opus-4-5"):
		return 4096
	case strings.Contains(m, "haiku-3"), strings.Contains(m, "3-haiku"), strings.Contains(m, "3-5-haiku"):
		return 2048
	}
	return 1024
}

// lookback is how many blocks before a breakpoint a read may start from.
const lookback = 20

// cacheUsage reads and writes the server's cache for a request's prompt and
// returns its usage; ok is false when the prompt has no breakpoint.
func (s *Server) cacheUsage(top map[string]json.RawMessage, model string, output int) (Usage, bool) {
	units, hashes := promptUnits(top)
	var marks []int
	for i, u := range units {
		if u.marker != nil {
			marks = append(marks, i)
		}
	}
	if len(marks) == 0 {
		return Usage{}, false
	}
	cum := make([]int, len(units))
	total := 0
	for i, u := range units {
		total += u.tokens
		cum[i] = total
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = make(map[[32]byte]bool)
	}
	read := 0
	for _, b := range marks {
		for i := b; i >= 0 && i >= b-lookback; i-- {
			if s.cache[hashes[i]] && cum[i] > read {
				read = cum[i]
			}
		}
	}
	u := Usage{OutputTokens: output, CacheReadInputTokens: read}
	floor := minCacheable(model)
	prev := read
	for _, b := range marks {
		if cum[b] < floor || cum[b] <= prev {
			continue
		}
		s.cache[hashes[b]] = true
		written := cum[b] - prev
		u.CacheCreationInputTokens += written
		if units[b].marker.TTL == "1h" {
			u.CacheCreation1hInputTokens += written
		}
		prev = cum[b]
	}
	u.InputTokens = total - read - u.CacheCreationInputTokens
	return u, true
}
