package benchmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/health"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/structured"
)

// prompt is a benchmark prompt ready to send: its messages and options as
// JSON members, and its check.
type prompt struct {
	name string
	// members is the body after "model": messages, stream, the output limit
	// and the response format.
	members   []byte
	maxTokens int
	expect    string
	schema    *structured.Schema
}

// prepare encodes each prompt once; a schema asks for JSON of its shape the
// way a route's schema does.
func prepare(cfg *config.Config) ([]*prompt, error) {
	b := cfg.Benchmarks
	out := make([]*prompt, 0, len(b.Prompts))
	for i := range b.Prompts {
		p := &b.Prompts[i]
		msgs, err := json.Marshal(p.Messages)
		if err != nil {
			return nil, err
		}
		pp := &prompt{name: p.Name, maxTokens: p.MaxTokensOrDefault(), expect: p.Expect}
		members := `,"messages":` + string(msgs) + `,"stream":true,"max_completion_tokens":` + fmt.Sprint(pp.maxTokens)
		if p.Schema != "" {
			doc := cfg.Schemas[p.Schema]
			if pp.schema, err = structured.Compile(doc); err != nil {
				return nil, fmt.Errorf("benchmark: prompt %s: schema %s: %w", p.Name, p.Schema, err)
			}
			rf, err := json.Marshal(structured.ResponseFormat(p.Schema, doc))
			if err != nil {
				return nil, err
			}
			members += `,"response_format":` + string(rf)
		}
		pp.members = []byte(members + "}")
		out = append(out, pp)
	}
	return out, nil
}

// request is p for model m.
func (p *prompt) request(m *config.Model) (*llm.Request, error) {
	id, _ := json.Marshal(m.ID)
	body := append(append([]byte(`{"model":`), id...), p.members...)
	chat, err := llm.ParseChat(body)
	if err != nil {
		return nil, err
	}
	return &llm.Request{Chat: chat, Body: body, Model: m.ID, Upstream: m.UpstreamName(), MaxTokens: p.maxTokens}, nil
}

// sample is one call's outcome.
type sample struct {
	prompt string
	failed bool
	// problem says why the call failed or its answer did not pass; never
	// the upstream's message or the answer's text.
	problem     string
	ttft, total time.Duration
	usage       llm.Usage
	checked     bool
	passed      bool
}

// problemKey counts a prompt's failures by reason.
type problemKey struct{ prompt, problem string }

// measured is what the calls to one target gave.
type measured struct {
	samples  []sample
	notRun   int
	problems map[problemKey]int
}

func (m *measured) problemKeys() []problemKey {
	keys := make([]problemKey, 0, len(m.problems))
	for k := range m.problems {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b problemKey) int {
		return strings.Compare(a.prompt+"\x00"+a.problem, b.prompt+"\x00"+b.problem)
	})
	return keys
}

// measure makes every call: each target's calls one after the other (a
// model is not measured under the benchmark's own load), at most
// Concurrency calls in flight, each to a different target. Every prompt's
// first run comes before any second one, so a deadline cuts the last runs
// of every target rather than whole targets. A call starts only if its
// timeout ends WriteMargin before ctx's deadline; the others are not run.
func (r *Runner) measure(ctx context.Context, targets []target, prompts []*prompt, b *config.Benchmarks) []measured {
	timeout := b.TimeoutOrDefault()
	runs := b.RunsOrDefault()
	sem := make(chan struct{}, b.ConcurrencyOrDefault())
	out := make([]measured, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &out[i]
			m.problems = map[problemKey]int{}
			total := runs * len(prompts)
			for n := 0; n < total; n++ {
				p := prompts[n%len(prompts)]
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					m.notRun += total - n
					return
				}
				if !r.fits(ctx, timeout) {
					<-sem
					m.notRun += total - n
					return
				}
				s := call(ctx, targets[i], p, timeout)
				<-sem
				m.samples = append(m.samples, s)
				if s.problem != "" {
					m.problems[problemKey{p.name, s.problem}]++
				}
			}
		}()
	}
	wg.Wait()
	return out
}

// fits reports whether a call of timeout may start now.
func (r *Runner) fits(ctx context.Context, timeout time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	deadline, ok := ctx.Deadline()
	return !ok || time.Now().Add(timeout+r.margin()).Before(deadline)
}

// call sends p to the target as a stream and measures it: the time to the
// first chunk with content (the moment the router commits a stream to its
// target) and to the end of the stream.
func call(ctx context.Context, tg target, p *prompt, timeout time.Duration) sample {
	s := sample{prompt: p.name, checked: p.expect != "" || p.schema != nil}
	req, err := p.request(tg.t.Model)
	if err != nil {
		s.failed, s.problem = true, "the prompt could not be encoded"
		return s
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	fail := func(err error) sample {
		s.failed, s.total = true, time.Since(start)
		if cctx.Err() != nil && ctx.Err() == nil {
			s.problem = "no answer within " + timeout.String()
		} else {
			s.problem = health.Describe(err, timeout)
		}
		return s
	}
	st, err := tg.adapter.Stream(cctx, req)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	var text strings.Builder
	first := false
	for {
		c, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fail(err)
		}
		if !first && llm.HasContent(c.Data) {
			first, s.ttft = true, time.Since(start)
		}
		if c.Usage != nil {
			s.usage = *c.Usage
		}
		appendContent(&text, c.Data)
	}
	s.total = time.Since(start)
	if !first {
		s.ttft = s.total
	}
	if s.checked {
		s.passed, s.problem = check(p, text.String())
	}
	return s
}

// appendContent adds the first choice's content delta of a chunk.
func appendContent(b *strings.Builder, chunk []byte) {
	var c struct {
		Choices []struct {
			Index int `json:"index"`
			Delta struct {
				Content *string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(chunk, &c) != nil {
		return
	}
	for _, ch := range c.Choices {
		if ch.Index == 0 && ch.Delta.Content != nil {
			b.WriteString(*ch.Delta.Content)
		}
	}
}

// check judges an answer; problem names the failure without quoting it.
func check(p *prompt, answer string) (passed bool, problem string) {
	if p.schema != nil {
		doc, err := structured.Extract([]byte(answer), p.schema.Root())
		if err != nil {
			return false, "the answer holds no JSON value"
		}
		if _, err := p.schema.Check(doc); err != nil {
			return false, "the answer's JSON does not match the schema"
		}
		return true, ""
	}
	if strings.TrimSpace(answer) != strings.TrimSpace(p.expect) {
		return false, "the answer is not the expected one"
	}
	return true, ""
}

// summarize turns a target's samples into its figures.
func summarize(tg target, samples []sample, prices *cost.Catalog) health.BenchmarkResult {
	res := health.BenchmarkResult{Provider: tg.t.Provider.Name, Model: tg.t.Model.ID, Requests: len(samples)}
	price := tg.t.Model.Price
	if prices != nil {
		price = prices.Price(tg.t.Provider, tg.t.Model)
	}
	res.Priced = price != nil
	var ttft, total []float64
	failed, passed := 0, 0
	var usd float64
	for _, s := range samples {
		res.PromptTokens += s.usage.PromptTokens
		res.CompletionTokens += s.usage.CompletionTokens
		usd += cost.USD(price, s.usage)
		if s.checked {
			res.Checked++
			if s.passed {
				passed++
			}
		}
		if s.failed {
			failed++
			continue
		}
		ttft = append(ttft, ms(s.ttft))
		total = append(total, ms(s.total))
	}
	res.CostUSD = math.Round(usd*1e12) / 1e12
	res.ErrorRate = float64(failed) / float64(len(samples))
	if res.Checked > 0 {
		res.PassRate = float64(passed) / float64(res.Checked)
	}
	res.TTFTMs = percentile(ttft, 0.5)
	res.P50Ms = percentile(total, 0.5)
	res.P90Ms = percentile(total, 0.9)
	return res
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 100 }

// percentile is the nearest-rank percentile q of xs, 0 when xs is empty.
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(q*float64(len(s))))-1]
}
