// Package scrub removes what must never reach a client or a log from text a
// provider wrote: the keys the router sent it, anything shaped like a
// credential, and the text of the request it answers. Providers quote all
// three in error messages (an Authorization header, a prompt, an image's
// data), and a caller who can make a provider fail can read whatever the
// router relays.
package scrub

import (
	"strings"
)

// MinKeyLen is the shortest key Secrets removes by exact match. A shorter
// "key" is no secret worth the mangled text of removing it everywhere.
const MinKeyLen = 8

// Marks left where text was removed.
const (
	// KeyMark replaces a key Secrets was given. It is shorter than
	// MinKeyLen, so removing keys always shortens the text and ends.
	KeyMark = "[key]"
	// SecretMark replaces a token shaped like a credential.
	SecretMark = "[redacted]"
)

// Secrets returns s without keys (each removed wherever it occurs, however
// often) and without any token shaped like a credential: bearer and basic
// credentials, the value after a name such as api_key= or "password":,
// tokens with a known key prefix (sk-, AKIA, AIza, ghp_, eyJ… JWTs, …), and
// long random-looking runs of letters and digits. A token is a run of bytes
// between spaces, quotes, brackets, commas and semicolons; a token that holds
// a secret is replaced whole, so no part of a key that also matched a pattern
// is left behind. Text without secrets is returned as it is, without
// allocating.
func Secrets(s string, keys ...string) string {
	for _, k := range keys {
		if len(k) < MinKeyLen {
			continue
		}
		for strings.Contains(s, k) {
			s = strings.ReplaceAll(s, k, KeyMark)
		}
	}
	return redactTokens(s)
}

// isDelim reports whether c ends a token. Bytes of multi-byte characters are
// delimiters too: keys are ASCII.
func isDelim(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '`', ',', ';', '(', ')', '[', ']', '{', '}', '<', '>', '|', '\\':
		return true
	}
	return c < 0x20 || c >= 0x7f
}

// What the tokens before the current one announce.
const (
	announceNothing = iota
	announceName    // a credential's name: a separator then its value may follow
	announceValue   // the next token is a credential
)

// redactTokens replaces the tokens of s that hold secrets with SecretMark.
func redactTokens(s string) string {
	var out []byte // nil until the first redaction
	last := 0      // s[last:] is not yet copied to out
	state := announceNothing
	for i := 0; i < len(s); {
		if s[i] == '[' && (strings.HasPrefix(s[i:], SecretMark) || strings.HasPrefix(s[i:], KeyMark)) {
			// What an earlier pass removed: "Bearer [redacted]" stays so.
			i += strings.IndexByte(s[i:], ']') + 1
			state = announceNothing
			continue
		}
		if isDelim(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isDelim(s[j]) {
			j++
		}
		var secret bool
		secret, state = classify(s[i:j], state)
		if secret {
			if out == nil {
				out = make([]byte, 0, len(s))
			}
			out = append(out, s[last:i]...)
			out = append(out, SecretMark...)
			last = j
		}
		i = j
	}
	if out == nil {
		return s
	}
	return string(append(out, s[last:]...))
}

// classify reports whether tok is a secret, given what the tokens before it
// announced, and what tok announces for the next one.
func classify(tok string, state int) (secret bool, next int) {
	switch {
	case isScheme(tok):
		// "Authorization: Bearer X": the scheme is not the secret, X is.
		return false, announceValue
	case isSeparator(tok):
		// `"api_key" : "X"`: the colon after a name announces the value.
		if state == announceName {
			return false, announceValue
		}
		return false, state
	case state == announceValue && len(tok) >= 6:
		return true, announceNothing
	case looksLikeKey(tok):
		return true, announceNothing
	}
	if name, value, ok := splitAssignment(tok); ok && isCredentialName(name) {
		if value == "" {
			return false, announceValue // api_key: X
		}
		return len(value) >= 6, announceNothing // api_key=X
	}
	if isCredentialName(tok) {
		return false, announceName
	}
	return false, announceNothing
}

// isScheme reports whether tok is an HTTP authentication scheme that a
// credential follows.
func isScheme(tok string) bool {
	return strings.EqualFold(tok, "bearer") || strings.EqualFold(tok, "basic")
}

// isSeparator reports whether tok only separates a name from its value.
func isSeparator(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if tok[i] != ':' && tok[i] != '=' && tok[i] != '>' {
			return false
		}
	}
	return true
}

// splitAssignment splits "name=value" or "name:value" at the first = or :.
func splitAssignment(tok string) (name, value string, ok bool) {
	i := strings.IndexAny(tok, ":=")
	if i <= 0 {
		return "", "", false
	}
	value = strings.TrimLeft(tok[i+1:], ":=")
	return tok[:i], value, true
}

// isCredentialName reports whether name (letters, digits, - and _) names a
// credential. "max_tokens" does not: only a whole word at the end counts.
func isCredentialName(name string) bool {
	if len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	// The last word of the names of fields and headers that hold secrets:
	// api_key, x-api-key, x-goog-api-key, access_token, client_secret,
	// x-amz-security-token, Authorization, Signature.
	suffixes := [...]string{"key", "token", "secret", "password", "passwd", "pwd",
		"authorization", "signature", "credential", "credentials", "sig"}
	for _, suf := range suffixes {
		if len(name) < len(suf) || !strings.EqualFold(name[len(name)-len(suf):], suf) {
			continue
		}
		// The suffix must start a word: the name itself, or after - _ . or
		// a lower-to-upper case change (apiKey).
		k := len(name) - len(suf)
		if k == 0 || name[k-1] == '-' || name[k-1] == '_' || name[k-1] == '.' ||
			(name[k] >= 'A' && name[k] <= 'Z' && name[k-1] >= 'a' && name[k-1] <= 'z') {
			return true
		}
	}
	return false
}

// keyPrefix is the start of a provider's key format and how many key
// characters ([A-Za-z0-9_-]) must follow it at least.
type keyPrefix struct {
	prefix string
	min    int
}

// looksLikeKey reports whether tok holds a key: a known key prefix at the
// start of a segment (the token, or after a character that is not a letter
// or digit), or a random-looking run of letters and digits: 20 or more with
// both letters and digits, or 40 or more of any. Model names, paths, dates
// and words have shorter runs (gpt-4o-mini-2024-07-18,
// anthropic.claude-3-5-sonnet-20240620-v1:0).
func looksLikeKey(tok string) bool {
	// Published key formats: OpenAI and most compatible APIs (sk-, sk-proj-,
	// sk-ant-), AWS access key ids, Google API keys, GitHub, GitLab, Slack,
	// Groq, xAI, Hugging Face, Replicate, Perplexity, NVIDIA, Stripe-style
	// keys, and JWTs (eyJ is base64 of `{"`).
	prefixes := [...]keyPrefix{
		{"sk-", 8}, {"sk_", 8}, {"rk_", 8}, {"pk_", 16}, {"AKIA", 12}, {"ASIA", 12}, {"AIza", 20},
		{"ghp_", 16}, {"gho_", 16}, {"ghu_", 16}, {"ghs_", 16}, {"ghr_", 16}, {"github_pat_", 16},
		{"glpat-", 16}, {"xoxb-", 8}, {"xoxp-", 8}, {"xoxa-", 8}, {"xoxr-", 8}, {"xoxs-", 8},
		{"gsk_", 16}, {"xai-", 16}, {"hf_", 16}, {"r8_", 16}, {"pplx-", 16}, {"nvapi-", 16}, {"eyJ", 12},
	}
	for i := 0; i < len(tok); i++ {
		if i > 0 && isAlnum(tok[i-1]) {
			continue
		}
		for _, kp := range prefixes {
			if strings.HasPrefix(tok[i:], kp.prefix) && keyChars(tok[i+len(kp.prefix):]) >= kp.min {
				return true
			}
		}
	}
	run, letters, digits := 0, false, false
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) && isAlnum(tok[i]) {
			run++
			if tok[i] <= '9' {
				digits = true
			} else {
				letters = true
			}
			continue
		}
		if run >= 40 || run >= 20 && letters && digits {
			return true
		}
		run, letters, digits = 0, false, false
	}
	return false
}

// keyChars counts the leading characters of s that keys are made of.
func keyChars(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '-' && c != '_' && c != '*' && c != '.' {
			return i
		}
	}
	return len(s)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
