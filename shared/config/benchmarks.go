package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/llm-router/router/shared/detect"
)

// Benchmarks is the prompt set the weekly benchmark function sends to every
// model of the routes (docs/HEALTH.md, "Weekly benchmarks"). Its results are
// the latency strategy's prior and conditional targets' fallback figures.
//
// The prompts are sent as data of DataClass, checked against each target's
// provider exactly as a request of that class would be. A class that is PHI,
// or that has detectors (so it stands for data found in text), is refused:
// benchmark prompts are configuration text, not anyone's data.
type Benchmarks struct {
	// DataClass is a declared data class the prompts run under (required).
	DataClass string `yaml:"data_class" json:"data_class"`
	// Runs is how many times each prompt is sent to each model (default 3).
	Runs int `yaml:"runs,omitempty" json:"runs,omitempty"`
	// Concurrency is how many calls are in flight at once, each to a
	// different model (default 4): a model's own calls are made one at a
	// time, so it is never measured under the benchmark's own load.
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	// Timeout bounds one call, its whole stream included (default 60s). A
	// call is started only when its timeout fits before the invocation's
	// deadline.
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Prompts are the benchmark set.
	Prompts []BenchmarkPrompt `yaml:"prompts" json:"prompts"`
}

// BenchmarkPrompt is one prompt of the set, with an optional check of its
// answer.
type BenchmarkPrompt struct {
	// Name identifies the prompt in logs and results (the text never is).
	Name     string             `yaml:"name" json:"name"`
	Messages []BenchmarkMessage `yaml:"messages" json:"messages"`
	// MaxTokens is the output limit of each call (default 256).
	MaxTokens int `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
	// Schema names a schema under schemas: the prompt asks for JSON of that
	// shape, and an answer passes when it holds such JSON.
	Schema string `yaml:"schema,omitempty" json:"schema,omitempty"`
	// Expect is the exact answer (surrounding whitespace aside) that passes.
	Expect string `yaml:"expect,omitempty" json:"expect,omitempty"`
}

// BenchmarkMessage is one chat message of a benchmark prompt.
type BenchmarkMessage struct {
	Role    string `yaml:"role" json:"role"`
	Content string `yaml:"content" json:"content"`
}

// Defaults and bounds of Benchmarks.
const (
	DefaultBenchmarkRuns        = 3
	DefaultBenchmarkConcurrency = 4
	DefaultBenchmarkTimeout     = 60 * time.Second
	DefaultBenchmarkMaxTokens   = 256
	MaxBenchmarkRuns            = 20
	MaxBenchmarkConcurrency     = 16
	MaxBenchmarkPrompts         = 50
	MaxBenchmarkTimeout         = 5 * time.Minute
	MaxBenchmarkMaxTokens       = 8192
)

// RunsOrDefault is Runs with its default.
func (b *Benchmarks) RunsOrDefault() int {
	if b.Runs > 0 {
		return b.Runs
	}
	return DefaultBenchmarkRuns
}

// ConcurrencyOrDefault is Concurrency with its default.
func (b *Benchmarks) ConcurrencyOrDefault() int {
	if b.Concurrency > 0 {
		return b.Concurrency
	}
	return DefaultBenchmarkConcurrency
}

// TimeoutOrDefault is Timeout with its default.
func (b *Benchmarks) TimeoutOrDefault() time.Duration {
	if b.Timeout > 0 {
		return b.Timeout.D()
	}
	return DefaultBenchmarkTimeout
}

// MaxTokensOrDefault is MaxTokens with its default.
func (p *BenchmarkPrompt) MaxTokensOrDefault() int {
	if p.MaxTokens > 0 {
		return p.MaxTokens
	}
	return DefaultBenchmarkMaxTokens
}

func (c *Config) validateBenchmarks(ck *checker) {
	b := c.Benchmarks
	if b == nil {
		return
	}
	const f = "benchmarks"
	dc, declared := c.DataClasses[b.DataClass]
	switch {
	case b.DataClass == "":
		ck.add(f+".data_class", "is required: the data class the prompts run under (declare one without detectors, e.g. benchmark: [])")
	case strings.EqualFold(b.DataClass, "phi"):
		ck.add(f+".data_class", "benchmark prompts never run as PHI: use a class of their own")
	case !declared:
		ck.add(f+".data_class", "unknown data class %q (declare it under data_classes)", b.DataClass)
	case len(dc.Detect) > 0:
		ck.add(f+".data_class", "data class %q has detectors: it stands for data found in requests, which benchmark prompts must not hold; use a class of their own", b.DataClass)
	}
	if b.Runs < 0 || b.Runs > MaxBenchmarkRuns {
		ck.add(f+".runs", "must be between 1 and %d", MaxBenchmarkRuns)
	}
	if b.Concurrency < 0 || b.Concurrency > MaxBenchmarkConcurrency {
		ck.add(f+".concurrency", "must be between 1 and %d", MaxBenchmarkConcurrency)
	}
	if b.Timeout.D() > MaxBenchmarkTimeout {
		ck.add(f+".timeout", "must be at most %s", MaxBenchmarkTimeout)
	}
	switch {
	case len(b.Prompts) == 0:
		ck.add(f+".prompts", "a benchmark needs at least one prompt")
	case len(b.Prompts) > MaxBenchmarkPrompts:
		ck.add(f+".prompts", "at most %d prompts (each is sent runs times to every model)", MaxBenchmarkPrompts)
	}
	// Every detector the configuration declares scans the prompts: text a
	// detector takes for regulated data is refused whatever the class says.
	var sets []struct {
		class string
		set   *detect.Set
	}
	for _, name := range sortedKeys(c.DataClasses) {
		if set, err := c.CompileDetectors(name); err == nil && set != nil {
			sets = append(sets, struct {
				class string
				set   *detect.Set
			}{name, set})
		}
	}
	seen := map[string]bool{}
	for i := range b.Prompts {
		p := &b.Prompts[i]
		pf := fmt.Sprintf("%s.prompts[%d]", f, i)
		switch {
		case !tagPattern.MatchString(p.Name):
			ck.add(pf+".name", "%q must be letters, digits and _ . -, up to 64", p.Name)
		case seen[p.Name]:
			ck.add(pf+".name", "duplicate prompt %q", p.Name)
		}
		seen[p.Name] = true
		if len(p.Messages) == 0 {
			ck.add(pf+".messages", "a prompt needs at least one message")
		}
		for j, m := range p.Messages {
			mf := fmt.Sprintf("%s.messages[%d]", pf, j)
			if !slices.Contains([]string{"system", "developer", "user", "assistant"}, m.Role) {
				ck.add(mf+".role", "%q: want system, developer, user or assistant", m.Role)
			}
			if strings.TrimSpace(m.Content) == "" {
				ck.add(mf+".content", "is empty")
			}
			for _, s := range sets {
				if d, ok := s.set.Match(m.Content); ok {
					ck.add(mf+".content", "detector %s of data class %s matches it: benchmark prompts must not hold regulated data", d, s.class)
				}
			}
		}
		if p.MaxTokens < 0 || p.MaxTokens > MaxBenchmarkMaxTokens {
			ck.add(pf+".max_tokens", "must be between 1 and %d", MaxBenchmarkMaxTokens)
		}
		if p.Schema != "" {
			if _, ok := c.Schemas[p.Schema]; !ok {
				ck.add(pf+".schema", "unknown schema %q (declare it under schemas)", p.Schema)
			}
			if p.Expect != "" {
				ck.add(pf+".expect", "a prompt checks its answer against a schema or an expected text, not both")
			}
		}
	}
}
