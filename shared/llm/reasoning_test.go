package llm

import "testing"

func TestClaudeBudget(t *testing.T) {
	for _, tc := range []struct {
		effort string
		limit  int
		want   int
	}{
		{EffortHigh, 64000, BudgetHigh},
		{EffortHigh, 4096, 3072},
		{EffortMinimal, 4096, BudgetMinimal},
		{EffortLow, 1366, 1024},
		{EffortLow, 1365, 0},
		{EffortNone, 64000, 0},
		{"", 64000, 0},
		{"extreme", 64000, 0},
		{EffortMedium, 0, 0},
	} {
		if got := ClaudeBudget(tc.effort, tc.limit); got != tc.want {
			t.Errorf("ClaudeBudget(%q, %d) = %d, want %d", tc.effort, tc.limit, got, tc.want)
		}
	}
}

func TestThinkingBlockSigned(t *testing.T) {
	for _, tc := range []struct {
		b    ThinkingBlock
		want bool
	}{
		{ThinkingBlock{Type: "thinking", Thinking: "x", Signature: "sig"}, true},
		{ThinkingBlock{Type: "thinking", Thinking: "x"}, false},
		{ThinkingBlock{Type: "redacted_thinking", Data: "ZGF0YQ=="}, true},
		{ThinkingBlock{Type: "redacted_thinking"}, false},
		{ThinkingBlock{Type: "redacted_thinking", Signature: "sig"}, false},
		{ThinkingBlock{Type: "thinking", Data: "ZGF0YQ=="}, false},
		{ThinkingBlock{Type: "other", Signature: "sig", Data: "d"}, false},
	} {
		if got := tc.b.Signed(); got != tc.want {
			t.Errorf("%+v.Signed() = %v, want %v", tc.b, got, tc.want)
		}
	}
}

func TestToolLoopTurn(t *testing.T) {
	msgs := func(roles ...string) []Message {
		out := make([]Message, len(roles))
		for i, r := range roles {
			out[i].Role = r
		}
		return out
	}
	for _, tc := range []struct {
		msgs []Message
		want int
	}{
		{nil, -1},
		{msgs("user"), -1},
		{msgs("user", "assistant"), 1},
		{msgs("user", "assistant", "tool"), 1},
		{msgs("user", "assistant", "tool", "tool"), 1},
		{msgs("user", "assistant", "tool", "user"), -1},
		{msgs("tool", "tool"), -1},
		{msgs("assistant", "tool", "system", "tool"), -1},
	} {
		if got := ToolLoopTurn(tc.msgs); got != tc.want {
			t.Errorf("ToolLoopTurn(%d messages) = %d, want %d", len(tc.msgs), got, tc.want)
		}
	}
}
