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

// isCredentialName reports whether name (letters, digits, - _ and .) names a
// credential: its last word is one that fields and headers holding secrets
// end with (api_key, x-api-key, x-goog-api-key, access_token, client_secret,
// x-amz-security-token, Authorization, Signature, apiKey). "max_tokens" is
// not one: only a whole last word counts.
func isCredentialName(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	// The last word starts after - _ . or at a lower-to-upper case change.
	k := len(name) - 1
	for k > 0 {
		c, prev := name[k], name[k-1]
		if prev == '-' || prev == '_' || prev == '.' || c >= 'A' && c <= 'Z' && prev >= 'a' && prev <= 'z' {
			break
		}
		k--
	}
	w := name[k:]
	switch len(w) {
	case 3:
		return strings.EqualFold(w, "key") || strings.EqualFold(w, "pwd") || strings.EqualFold(w, "sig")
	case 5:
		return strings.EqualFold(w, "token")
	case 6:
		return strings.EqualFold(w, "secret") || strings.EqualFold(w, "passwd") || strings.EqualFold(w, "apikey")
	case 8:
		return strings.EqualFold(w, "password")
	case 9:
		return strings.EqualFold(w, "signature")
	case 10:
		return strings.EqualFold(w, "credential")
	case 11:
		return strings.EqualFold(w, "credentials")
	case 13:
		return strings.EqualFold(w, "authorization")
	}
	return false
}

// keyPrefix returns the length of the key prefix s starts with and how many
// key characters ([A-Za-z0-9_-]) must follow it at least, or 0, 0. The
// prefixes are published key formats: OpenAI and most compatible APIs (sk-,
// sk-proj-, sk-ant-), AWS access key ids, Google API keys, GitHub, GitLab,
// Slack, Groq, xAI, Hugging Face, Replicate, Perplexity, NVIDIA, Stripe-style
// keys, and JWTs (eyJ is base64 of `{"`).
func keyPrefix(s string) (n, min int) {
	has := func(p string) bool { return strings.HasPrefix(s, p) }
	if s == "" {
		return 0, 0
	}
	switch s[0] {
	case 's':
		if has("sk-") || has("sk_") {
			return 3, 8
		}
	case 'r':
		if has("rk_") {
			return 3, 8
		}
		if has("r8_") {
			return 3, 16
		}
	case 'p':
		if has("pk_") {
			return 3, 16
		}
		if has("pplx-") {
			return 5, 16
		}
	case 'A':
		if has("AKIA") || has("ASIA") {
			return 4, 12
		}
		if has("AIza") {
			return 4, 20
		}
	case 'g':
		if has("ghp_") || has("gho_") || has("ghu_") || has("ghs_") || has("ghr_") || has("gsk_") {
			return 4, 16
		}
		if has("github_pat_") {
			return 11, 16
		}
		if has("glpat-") {
			return 6, 16
		}
	case 'x':
		if has("xoxb-") || has("xoxp-") || has("xoxa-") || has("xoxr-") || has("xoxs-") {
			return 5, 8
		}
		if has("xai-") {
			return 4, 16
		}
	case 'h':
		if has("hf_") {
			return 3, 16
		}
	case 'n':
		if has("nvapi-") {
			return 6, 16
		}
	case 'e':
		if has("eyJ") {
			return 3, 12
		}
	}
	return 0, 0
}

// looksLikeKey reports whether tok holds a key: a known key prefix at the
// start of a segment (the token, or after a character that is not a letter
// or digit); a random-looking run of letters and digits, 20 or more with both
// letters and digits, or 40 or more of any; or a run of 24 or more base64
// characters (letters, digits, + / =) mixing upper case, lower case and
// digits. Model names, paths, dates and words have shorter runs
// (gpt-4o-mini-2024-07-18, anthropic.claude-3-5-sonnet-20240620-v1:0,
// meta-llama/Llama-3.3-70B-Instruct).
func looksLikeKey(tok string) bool {
	for i := 0; i < len(tok); i++ {
		if i > 0 && isAlnum(tok[i-1]) {
			continue
		}
		if n, min := keyPrefix(tok[i:]); n > 0 && keyChars(tok[i+n:]) >= min {
			return true
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
	var upper, lower bool
	run, digits = 0, false
	for i := 0; i <= len(tok); i++ {
		if i < len(tok) {
			switch c := tok[i]; {
			case c >= 'A' && c <= 'Z':
				run, upper = run+1, true
				continue
			case c >= 'a' && c <= 'z':
				run, lower = run+1, true
				continue
			case c >= '0' && c <= '9':
				run, digits = run+1, true
				continue
			case c == '+' || c == '/' || c == '=':
				run++
				continue
			}
		}
		if run >= 24 && upper && lower && digits {
			return true
		}
		run, upper, lower, digits = 0, false, false, false
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
