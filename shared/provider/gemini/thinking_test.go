package gemini

import (
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

func TestThinkingConfigFor(t *testing.T) {
	tests := []struct {
		model, effort string
		include       bool
		want          string // "" for none
	}{
		{"gemini-2.5-flash", "low", false, `{"thinkingBudget":1024}`},
		{"gemini-2.5-flash", "minimal", false, `{"thinkingBudget":512}`},
		{"gemini-2.5-flash", "high", true, `{"thinkingBudget":24576,"includeThoughts":true}`},
		{"gemini-2.5-flash", "none", false, `{"thinkingBudget":0}`},
		{"gemini-2.5-pro", "none", false, `{"thinkingBudget":128}`},
		{"models/gemini-2.5-pro", "medium", false, `{"thinkingBudget":8192}`},
		{"gemini-3-pro-preview", "minimal", false, `{"thinkingLevel":"LOW"}`},
		{"gemini-3-pro-preview", "medium", false, `{"thinkingLevel":"HIGH"}`},
		{"gemini-3-flash-preview", "medium", false, `{"thinkingLevel":"MEDIUM"}`},
		{"gemini-3-flash-preview", "none", false, `{"thinkingLevel":"MINIMAL"}`},
		{"gemini-2.5-flash", "", true, `{"includeThoughts":true}`},
		{"gemini-2.5-flash", "", false, ``},
		{"gemini-2.0-flash", "high", true, ``},
	}
	for _, tt := range tests {
		c := &llm.ChatRequest{ReasoningEffort: tt.effort}
		if tt.include {
			c.IncludeReasoning = &tt.include
		}
		got := ""
		if tc := thinkingConfigFor(c, tt.model); tc != nil {
			b, _ := json.Marshal(tc)
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("%s %q include %v: %s, want %s", tt.model, tt.effort, tt.include, got, tt.want)
		}
	}
}
