package tokens

import (
	"strings"
	"testing"

	"github.com/llm-router/router/shared/lang"
)

func TestFamilyFor(t *testing.T) {
	tests := []struct {
		providerType, dialect string
		want                  Family
	}{
		{"openai", "", OpenAI},
		{"openai", "openai", OpenAI},
		{"openai", "deepseek", Other},
		{"openai", "qwen", Other},
		{"openai", "openrouter", Other},
		{"azure", "", OpenAI},
		{"anthropic", "", Anthropic},
		{"gemini", "", Gemini},
		{"bedrock", "", Other},
		{"mock", "", Other},
		{"", "", Other},
	}
	for _, tt := range tests {
		if got := FamilyFor(tt.providerType, tt.dialect); got != tt.want {
			t.Errorf("FamilyFor(%q, %q) = %v, want %v", tt.providerType, tt.dialect, got, tt.want)
		}
	}
}

func TestFamilyString(t *testing.T) {
	tests := []struct {
		f    Family
		want string
	}{{OpenAI, "openai"}, {Anthropic, "anthropic"}, {Gemini, "gemini"}, {Other, "other"}, {Family(9), "other"}}
	for _, tt := range tests {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("Family(%d).String() = %q, want %q", tt.f, got, tt.want)
		}
	}
}

func TestEstimate(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		min, max int // for openai; o200k_base gives the true count in the comment
	}{
		{"empty", "", 0, 0},
		{"one letter", "a", 1, 2},                               // 1
		{"one space", " ", 1, 1},                                // 1
		{"greeting", "Hello!", 2, 3},                            // 2
		{"sentence", "What is the capital of Australia?", 7, 9}, // 7
		{"digits", "1234567890", 4, 6},                          // 4
		{"chinese", "请帮我写一封邮件。", 6, 10},                         // 7
		{"emoji", "👍👍👍", 3, 8},                                  // 3
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Estimate(tt.text, OpenAI); got < tt.min || got > tt.max {
				t.Errorf("Estimate(%q, openai) = %d, want %d to %d", tt.text, got, tt.min, tt.max)
			}
			for f := range numFamilies {
				got := Estimate(tt.text, f)
				if (tt.text == "") != (got == 0) {
					t.Errorf("Estimate(%q, %v) = %d: zero if and only if empty", tt.text, f, got)
				}
			}
		})
	}
}

// TestEstimateGrows checks that more text never estimates fewer tokens, and
// that the estimate is about linear in the text's length.
func TestEstimateGrows(t *testing.T) {
	for _, s := range loadCorpus(t) {
		one := Estimate(s.text+"\n", OpenAI)
		ten := Estimate(strings.Repeat(s.text+"\n", 10), OpenAI)
		if ten < 10*(one-1) || ten > 10*one {
			t.Errorf("%s: estimate %d once but %d ten times", s.name, one, ten)
		}
	}
}

func TestCounter(t *testing.T) {
	const text = "Summarize the attached discharge note in three bullet points."
	tests := []struct {
		name  string
		build func(c *Counter)
		want  func(f Family) int
	}{
		{"empty", func(c *Counter) {}, func(Family) int { return 0 }},
		{"text", func(c *Counter) { c.Add(text) }, func(f Family) int {
			return Estimate(text, f) + overheads[f].request
		}},
		{"messages", func(c *Counter) {
			c.AddMessage()
			c.Add(text)
			c.AddMessage()
		}, func(f Family) int {
			return Estimate(text, f) + overheads[f].request + 2*overheads[f].message
		}},
		{"images", func(c *Counter) {
			c.AddImage("low")
			c.AddImage("high")
			c.AddImage("")
		}, func(f Family) int {
			return overheads[f].request + ImageTokens(f, "low") + 2*ImageTokens(f, "auto")
		}},
		{"tools", func(c *Counter) {
			c.AddTool("get_weather", "", []byte(`{"type":"object"}`))
			c.AddTool("get_time", "", nil)
		}, func(f Family) int {
			var c Counter
			c.Add("get_weather")
			c.Add(`{"type":"object"}`)
			c.Add("get_time")
			return c.Tokens(f) + overheads[f].toolsOnce + 2*overheads[f].tool
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Counter
			tt.build(&c)
			for f := range numFamilies {
				if got, want := c.Tokens(f), tt.want(f); got != want {
					t.Errorf("Tokens(%v) = %d, want %d", f, got, want)
				}
			}
		})
	}
}

// TestAddDetect checks that the one-pass AddDetect counts what Add counts and
// detects what lang.Detect detects.
func TestAddDetect(t *testing.T) {
	for _, s := range loadCorpus(t) {
		var one, two Counter
		got := one.AddDetect(s.text)
		two.Add(s.text)
		if want := lang.Detect(s.text); got != want {
			t.Errorf("%s: AddDetect = %+v, lang.Detect = %+v", s.name, got, want)
		}
		for f := range numFamilies {
			if one.Tokens(f) != two.Tokens(f) {
				t.Errorf("%s: AddDetect counts %d tokens, Add %d", s.name, one.Tokens(f), two.Tokens(f))
			}
		}
	}
}

func TestCounterAllocs(t *testing.T) {
	text := strings.Repeat("请帮我优化这个 React 组件, and explain why. ", 20)
	n := testing.AllocsPerRun(100, func() {
		var c Counter
		c.AddMessage()
		c.Add(text)
		c.AddDetect(text)
		c.AddImage("auto")
		for f := range numFamilies {
			c.Tokens(f)
		}
		Estimate(text, Anthropic)
	})
	if n != 0 {
		t.Errorf("counting allocates %v times, want 0", n)
	}
}
