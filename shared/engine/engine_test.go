package engine_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/route"
)

// A request is incomplete (an error in the metrics) whenever the client did
// not get a whole answer, its client leaving included, but not when its own
// request was refused.
func TestIncomplete(t *testing.T) {
	clientClosed := &llm.Error{Status: 499, Code: "client_closed"}
	tests := []struct {
		name string
		res  engine.Result
		want bool
	}{
		{name: "complete", res: engine.Result{}, want: false},
		{name: "the caller's bad request", res: engine.Result{Err: &llm.Error{Status: 400, Code: "invalid_value"}}, want: false},
		{name: "client left before the commit", res: engine.Result{Err: clientClosed}, want: true},
		{name: "client left mid-stream", res: engine.Result{Err: clientClosed, Committed: true}, want: true},
		{name: "every target failed", res: engine.Result{Err: &llm.Error{Status: 502, Code: "all_targets_failed"}}, want: true},
		{name: "every target rate limited", res: engine.Result{Err: &llm.Error{Status: 429, Code: "rate_limit_exceeded"}}, want: true},
		{name: "deadline", res: engine.Result{Err: &llm.Error{Status: 504, Code: "timeout"}}, want: true},
		{name: "stream cut", res: engine.Result{Err: &llm.Error{Status: 502, Code: "stream_error"}, Committed: true}, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.Incomplete(); got != tt.want {
				t.Errorf("Incomplete() = %v, want %v", got, tt.want)
			}
		})
	}
}

// script is a stream of chunks, then err (io.EOF: a clean end).
type script struct {
	chunks []string
	err    error
}

func (s *script) Next() (llm.Chunk, error) {
	if len(s.chunks) == 0 {
		return llm.Chunk{}, s.err
	}
	c := s.chunks[0]
	s.chunks = s.chunks[1:]
	return llm.Chunk{Data: []byte(c)}, nil
}

func (s *script) Close() error { return nil }

// sink keeps what a stream wrote to the client.
type sink struct{ chunks []string }

func (s *sink) Commit(*route.Target, int) error { return nil }
func (s *sink) Chunk(c llm.Chunk) error         { s.chunks = append(s.chunks, string(c.Data)); return nil }
func (s *sink) Close(*llm.Usage) *llm.Error     { return nil }
func (s *sink) Fail(*llm.Error)                 {}

func target(model string) *route.Target {
	return &route.Target{Model: &config.Model{ID: model, Provider: "p" + model}, Provider: &config.Provider{Name: "p" + model},
		Timeout: time.Minute}
}

const (
	roleChunk    = `{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`
	contentChunk = `{"choices":[{"index":0,"delta":{"content":"hi"}}]}`
)

// A stream whose connection breaks after it began and before any content
// is an upstream error, not a failure to connect: it falls back, and the
// router's words say what happened.
func TestStreamBrokenBeforeContent(t *testing.T) {
	broken := llm.Unavailable("pa", errors.New("read: connection reset by peer"))
	tests := []struct {
		name         string
		candidates   []string
		wantAttempts []audit.Attempt
		wantErr      string // in the client's error message; "" for an answer
	}{
		{name: "falls back", candidates: []string{"a", "b"}, wantAttempts: []audit.Attempt{
			{Model: "a", Provider: "pa", Outcome: audit.OutcomeError, Status: 502, Failed: true},
			{Model: "b", Provider: "pb", Outcome: audit.OutcomeOK, Status: 200}}},
		{name: "alone", candidates: []string{"a"}, wantAttempts: []audit.Attempt{
			{Model: "a", Provider: "pa", Outcome: audit.OutcomeError, Status: 502, Failed: true}},
			wantErr: "all targets failed: a (pa): the stream broke off before any content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cands []*route.Target
			for _, m := range tt.candidates {
				cands = append(cands, target(m))
			}
			out := &sink{}
			e := &engine.Engine{Log: slog.New(slog.DiscardHandler)}
			res := e.Run(context.Background(), &engine.Plan{Route: "r", Candidates: cands, Sink: out,
				Open: func(_ context.Context, a *engine.Attempt) (llm.Stream, error) {
					if a.Target.Model.ID == "a" {
						return &script{chunks: []string{roleChunk}, err: broken}, nil
					}
					return &script{chunks: []string{roleChunk, contentChunk}, err: io.EOF}, nil
				}})
			for i := range res.Attempts {
				res.Attempts[i].LatencyMs = 0
			}
			if len(res.Attempts) != len(tt.wantAttempts) {
				t.Fatalf("attempts = %+v, want %+v", res.Attempts, tt.wantAttempts)
			}
			for i, a := range res.Attempts {
				if a != tt.wantAttempts[i] {
					t.Errorf("attempt %d = %+v, want %+v", i, a, tt.wantAttempts[i])
				}
			}
			switch {
			case tt.wantErr == "" && res.Err != nil:
				t.Errorf("error %v, want the backup's answer", res.Err)
			case tt.wantErr != "" && (res.Err == nil || res.Err.Message != tt.wantErr):
				t.Errorf("error = %v, want %q", res.Err, tt.wantErr)
			case tt.wantErr == "" && strings.Join(out.chunks, "") != roleChunk+contentChunk:
				t.Errorf("client got %v, want the backup's two chunks only", out.chunks)
			}
		})
	}
}
