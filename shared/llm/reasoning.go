package llm

// Reasoning efforts, OpenAI's names, in order. A provider that takes fewer
// levels gets the nearest one it takes.
const (
	EffortNone    = "none"
	EffortMinimal = "minimal"
	EffortLow     = "low"
	EffortMedium  = "medium"
	EffortHigh    = "high"
	EffortXHigh   = "xhigh"
)

// EffortRank orders reasoning efforts, none lowest; -1 for a value the
// router does not know.
func EffortRank(effort string) int {
	switch effort {
	case EffortNone:
		return 0
	case EffortMinimal:
		return 1
	case EffortLow:
		return 2
	case EffortMedium:
		return 3
	case EffortHigh:
		return 4
	case EffortXHigh:
		return 5
	}
	return -1
}

// CapEffort is effort lowered to ceiling where it is above it. A value the
// router does not know is above any ceiling: a route's limit must hold
// whatever a client sends. No ceiling, or no effort, changes nothing.
func CapEffort(effort, ceiling string) string {
	if effort == "" || ceiling == "" {
		return effort
	}
	if r := EffortRank(effort); r < 0 || r > EffortRank(ceiling) {
		return ceiling
	}
	return effort
}

// Thinking budgets, in tokens, for providers that take a budget rather than
// a level (Anthropic's thinking, on its API and on Bedrock). Anthropic's
// floor is 1024; low, medium and high land inside the ranges the Messages
// surface maps budgets back to efforts from (under 4096 low, under 16384
// medium), so an effort survives the round trip.
const (
	BudgetMinimal = 1024
	BudgetLow     = 2048
	BudgetMedium  = 8192
	BudgetHigh    = 24576
	BudgetXHigh   = 32768
)

// ThinkingBudget is the thinking budget of an effort; 0 for none and for
// values the router does not know (no thinking).
func ThinkingBudget(effort string) int {
	switch effort {
	case EffortMinimal:
		return BudgetMinimal
	case EffortLow:
		return BudgetLow
	case EffortMedium:
		return BudgetMedium
	case EffortHigh:
		return BudgetHigh
	case EffortXHigh:
		return BudgetXHigh
	}
	return 0
}

// ClaudeBudget is the budget_tokens of Claude's extended thinking at effort
// under an output limit of limit tokens, on Anthropic's API and on Bedrock:
// the effort's budget, at most three quarters of limit (thinking shares the
// limit with the answer and must stay below it). 0 means no thinking: for
// none, an effort the router does not know, or a budget under Claude's
// floor of BudgetMinimal.
func ClaudeBudget(effort string, limit int) int {
	if budget := min(ThinkingBudget(effort), limit*3/4); budget >= BudgetMinimal {
		return budget
	}
	return 0
}

// Signed reports whether b can go back to Claude: a thinking block with its
// signature, or a redacted block with its data. Claude refuses the others.
func (b *ThinkingBlock) Signed() bool {
	return b.Type == "thinking" && b.Signature != "" || b.Type == "redacted_thinking" && b.Data != ""
}

// ToolLoopTurn is the index of the assistant turn that the tool messages
// ending msgs answer (the last message, when it is an assistant turn), or
// -1 when no assistant turn precedes them. Claude, thinking, needs that
// turn's signed thinking back.
func ToolLoopTurn(msgs []Message) int {
	for i := len(msgs) - 1; i >= 0; i-- {
		switch msgs[i].Role {
		case "tool":
			continue
		case "assistant":
			return i
		}
		return -1
	}
	return -1
}
