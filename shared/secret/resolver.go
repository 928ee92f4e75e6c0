package secret

import (
	"context"
	"errors"
	"fmt"
)

// ErrNotFound is returned when a referenced variable or secret field is absent.
var ErrNotFound = errors.New("key not found")

// Store fetches a secret's string value by id; Secrets Manager implements it.
type Store interface {
	GetSecret(ctx context.Context, id string) (string, error)
}

// Resolver resolves key references. Env looks up environment variables (main
// passes os.LookupEnv, so nothing below main reads the environment). Secrets
// resolves secret: references and may be nil where none are used.
// DefaultSecret is the secret of secret:#field references (DefaultSecretID
// when empty).
type Resolver struct {
	Env           func(string) (string, bool)
	Secrets       *Cache
	DefaultSecret string
}

func (r *Resolver) secretID(p Ref) string {
	switch {
	case p.Name != "":
		return p.Name
	case r.DefaultSecret != "":
		return r.DefaultSecret
	}
	return DefaultSecretID
}

// Resolve returns the key a reference names. Errors never contain the key.
func (r *Resolver) Resolve(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	p, err := ParseRef(ref)
	if err != nil {
		return "", err
	}
	switch p.Scheme {
	case "env":
		if r.Env != nil {
			if v, ok := r.Env(p.Name); ok && v != "" {
				return v, nil
			}
		}
		return "", fmt.Errorf("%w: environment variable %s is not set", ErrNotFound, p.Name)
	default:
		if r.Secrets == nil {
			return "", fmt.Errorf("%s: no secret store is configured", p)
		}
		p.Name = r.secretID(p)
		return r.Secrets.Get(ctx, p)
	}
}

// Invalidate drops a cached secret so the next Resolve fetches it again, for a
// key that a provider has just rejected (it may have been rotated).
func (r *Resolver) Invalidate(ref string) {
	p, err := ParseRef(ref)
	if err != nil || p.Scheme != "secret" || r.Secrets == nil {
		return
	}
	r.Secrets.Invalidate(r.secretID(p))
}
