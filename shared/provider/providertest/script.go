// Package providertest holds what the providers' loopback fakes share.
package providertest

import (
	"sync"
	"testing"
)

// Script is a fake's memory: the replies a test queues, used in order, and
// the log of the requests the fake received.
type Script[Req, Reply any] struct {
	mu    sync.Mutex
	queue []Reply
	reqs  []Req
}

// Push queues replies, used in order.
func (s *Script[Req, Reply]) Push(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, replies...)
}

// Requests returns every request received so far.
func (s *Script[Req, Reply]) Requests() []Req {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Req(nil), s.reqs...)
}

// Last returns the latest request, failing the test when there is none.
func (s *Script[Req, Reply]) Last(t testing.TB) Req {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake received no request")
	}
	return reqs[len(reqs)-1]
}

// Take logs req and returns its sequence number, from 1, and, when scripted
// (a request that consumes replies), the next queued reply; ok is false when
// none is queued.
func (s *Script[Req, Reply]) Take(req Req, scripted bool) (seq int, reply Reply, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, req)
	if scripted && len(s.queue) > 0 {
		reply, s.queue, ok = s.queue[0], s.queue[1:], true
	}
	return len(s.reqs), reply, ok
}
