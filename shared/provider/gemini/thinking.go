package gemini

import (
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// Thinking from reasoning_effort, for the models that think. Gemini 2.5
// takes a budget in tokens: minimal 512 (Flash-Lite's floor), low 1024,
// medium 8192, high 24576 (Google's own mapping of OpenAI's efforts), and
// none 0, which turns thinking off on Flash and Flash-Lite; Pro cannot turn
// it off and gets its floor, 128. Gemini 3 takes a level: Flash all four
// (minimal to high), Pro low and high (minimal and low are low, medium and
// high are high); none is the lowest level. includeThoughts is set when the
// client asked for the reasoning (include_reasoning), and the thoughts come
// back as reasoning_content. Levels are written as the enum's names
// (LOW, HIGH), as Google's SDK sends them. Prompt caching is Gemini's own (implicit):
// nothing is sent for it, and cachedContentTokenCount is read as cached
// tokens.

func thinkingConfigFor(c *llm.ChatRequest, model string) *thinkingConfig {
	m := strings.ToLower(strings.TrimPrefix(model, "models/"))
	gen3, gen25 := strings.HasPrefix(m, "gemini-3"), strings.HasPrefix(m, "gemini-2.5")
	if !gen3 && !gen25 {
		return nil
	}
	tc := &thinkingConfig{IncludeThoughts: c.WantsReasoning()}
	effort := c.ReasoningEffort
	pro := strings.Contains(m, "pro")
	switch {
	case effort == "":
	case gen3 && pro:
		switch effort {
		case llm.EffortNone, llm.EffortMinimal, llm.EffortLow:
			tc.ThinkingLevel = "LOW"
		case llm.EffortMedium, llm.EffortHigh, llm.EffortXHigh:
			tc.ThinkingLevel = "HIGH"
		}
	case gen3:
		switch effort {
		case llm.EffortNone, llm.EffortMinimal:
			tc.ThinkingLevel = "MINIMAL"
		case llm.EffortLow, llm.EffortMedium, llm.EffortHigh:
			tc.ThinkingLevel = strings.ToUpper(effort)
		case llm.EffortXHigh:
			tc.ThinkingLevel = "HIGH"
		}
	default:
		budget := -1
		switch effort {
		case llm.EffortNone:
			budget = 0
			if pro {
				budget = 128
			}
		case llm.EffortMinimal:
			budget = 512
		case llm.EffortLow:
			budget = 1024
		case llm.EffortMedium:
			budget = 8192
		case llm.EffortHigh, llm.EffortXHigh:
			budget = 24576
		}
		if budget >= 0 {
			tc.ThinkingBudget = &budget
		}
	}
	if !tc.IncludeThoughts && tc.ThinkingLevel == "" && tc.ThinkingBudget == nil {
		return nil
	}
	return tc
}
