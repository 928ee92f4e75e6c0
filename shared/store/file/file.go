// Package file serves the router's configuration from a YAML file and
// reloads it when the file changes, so a key revoked with scripts/keys stops
// working on a running local router within the cache TTL, as it does with
// the DynamoDB store.
package file

import (
	"context"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/config"
)

// DefaultTTL is how long a copy is trusted before the file is looked at again.
const DefaultTTL = 5 * time.Second

// Source implements gateway.ConfigSource for a YAML file. Within TTL of the
// last look it answers from memory; after it, the first caller stats the
// file (one system call) and parses it again only if it changed. A changed
// file that does not parse or validate is refused, logged once, and the last
// good configuration keeps serving (as the DynamoDB store fails static).
type Source struct {
	// Path is the YAML file (required).
	Path string
	// TTL is how long a copy is trusted (default DefaultTTL).
	TTL time.Duration
	// Log receives reloads and refusals (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	cur      atomic.Pointer[loaded]
	checking atomic.Bool
}

// loaded is one copy of the file and when to look again.
type loaded struct {
	cfg  *config.Config
	info os.FileInfo // of the copy served
	seen os.FileInfo // of the file last looked at (a refused version included)
	next time.Time
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) ttl() time.Duration {
	if s.TTL > 0 {
		return s.TTL
	}
	return DefaultTTL
}

func (s *Source) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Load reads the file for the first time; its error is the router's start-up
// error.
func (s *Source) Load() (*config.Config, error) {
	info, err := os.Stat(s.Path)
	if err != nil {
		return nil, err
	}
	c, err := config.LoadFile(s.Path)
	if err != nil {
		return nil, err
	}
	s.cur.Store(&loaded{cfg: c, info: info, seen: info, next: s.now().Add(s.ttl())})
	return c, nil
}

// Config returns the current configuration: the same pointer while the file
// is unchanged, so the gateway compiles nothing again.
func (s *Source) Config(context.Context) (*config.Config, error) {
	l := s.cur.Load()
	if l == nil {
		return s.Load()
	}
	now := s.now()
	if now.Before(l.next) || !s.checking.CompareAndSwap(false, true) {
		return l.cfg, nil
	}
	defer s.checking.Store(false)
	next := *l
	next.next = now.Add(s.ttl())
	info, err := os.Stat(s.Path)
	switch {
	case err != nil:
		if !unchanged(l.seen, nil) {
			s.log().Error("config file unreadable; serving the last good configuration", "path", s.Path, "error", err)
		}
		next.seen = nil
	case unchanged(l.seen, info):
	default:
		next.seen = info
		c, err := config.LoadFile(s.Path)
		if err != nil {
			s.log().Error("new configuration refused; serving the last good one", "path", s.Path, "error", err)
			break
		}
		next.cfg, next.info = c, info
		s.log().Info("configuration reloaded", "path", s.Path)
	}
	s.cur.Store(&next)
	return next.cfg, nil
}

// unchanged reports whether two looks at the file saw the same version: the
// same file (an atomic rename makes a new one), size and modification time.
func unchanged(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
