// Package secret resolves provider key references (env:NAME,
// secret:SECRET_ID#field, secret:SECRET_ID) to keys, with an in-process cache, so
// no key is ever written in configuration.
package secret

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultSecretID is the secret that secret:#field references read when
// ROUTER_SECRET_ID does not name another.
const DefaultSecretID = "llm-router/provider-keys"

// Ref is a parsed key reference.
type Ref struct {
	// Scheme is "env" or "secret".
	Scheme string
	// Name is the environment variable or the Secrets Manager secret id; empty
	// for secret:#field, which reads the router's default secret.
	Name string
	// Field is the JSON field inside the secret; empty means the whole string.
	Field string
}

// ErrLiteral is returned for a key written in configuration instead of a reference.
var ErrLiteral = errors.New("a literal key is not allowed; use env:NAME or secret:SECRET_ID#field")

// ParseRef parses env:NAME, secret:ID#field, secret:ID, or secret:#field (a
// field of the default secret, ROUTER_SECRET_ID).
func ParseRef(s string) (Ref, error) {
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Ref{}, ErrLiteral
	}
	switch scheme {
	case "env":
		if !validEnvName(rest) {
			return Ref{}, fmt.Errorf("bad environment variable name %q in key reference", rest)
		}
		return Ref{Scheme: "env", Name: rest}, nil
	case "secret":
		id, field, hasField := strings.Cut(rest, "#")
		if id == "" && !hasField {
			return Ref{}, errors.New("secret: reference needs a secret id or a #field of the default secret, as in secret:llm-router/provider-keys#openai or secret:#openai")
		}
		if hasField && field == "" {
			return Ref{}, errors.New("secret: reference has an empty #field")
		}
		return Ref{Scheme: "secret", Name: id, Field: field}, nil
	}
	return Ref{}, ErrLiteral
}

func (r Ref) String() string {
	switch {
	case r.Scheme == "env":
		return "env:" + r.Name
	case r.Field != "":
		return "secret:" + r.Name + "#" + r.Field
	}
	return "secret:" + r.Name
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
