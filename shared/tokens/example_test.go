package tokens_test

import (
	"fmt"

	"github.com/llm-router/router/shared/tokens"
)

// The router walks a request once: every message through the Counter, the
// last user message through AddDetect for its language; then it asks each
// target's family whether prompt plus max_tokens fits the context window.
func ExampleCounter() {
	messages := []struct{ role, content string }{
		{"system", "You are a terse assistant for a hospital pharmacy."},
		{"user", "请把这段出院医嘱翻译成英文：每日两次，饭后服用。"},
	}
	var c tokens.Counter
	var language string
	for i, m := range messages {
		c.AddMessage()
		if i == len(messages)-1 && m.role == "user" {
			language = c.AddDetect(m.content).Lang
		} else {
			c.Add(m.content)
		}
	}
	const window, maxTokens = 128000, 4096
	f := tokens.FamilyFor("anthropic", "")
	fmt.Println(language, f, c.Tokens(f)+maxTokens <= window)
	// Output: zh anthropic true
}
