package engine_test

import (
	"testing"

	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
)

// A request is incomplete (an error in the metrics) when the router or its
// providers failed it, never when its client chose to leave.
func TestIncomplete(t *testing.T) {
	clientClosed := &llm.Error{Status: 499, Code: "client_closed"}
	tests := []struct {
		name string
		res  engine.Result
		want bool
	}{
		{name: "complete", res: engine.Result{}, want: false},
		{name: "the caller's bad request", res: engine.Result{Err: &llm.Error{Status: 400, Code: "invalid_value"}}, want: false},
		{name: "client left before the commit", res: engine.Result{Err: clientClosed}, want: false},
		{name: "client left mid-stream", res: engine.Result{Err: clientClosed, Committed: true}, want: false},
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
