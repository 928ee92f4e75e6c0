// Package mock is the built-in simulated provider: configurable latency,
// failure rate and status, streaming and tool calls, deterministic for a given
// seed and request sequence. The default configuration, demos, tests and
// benchmarks run on it.
package mock

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/structured"
)

// Provider simulates an upstream.
type Provider struct {
	name string
	spec config.Mock
	n    atomic.Uint64 // requests seen; drives the failure sequence
	now  func() time.Time
}

var (
	_ llm.Provider = (*Provider)(nil)
	_ llm.Prober   = (*Provider)(nil)
	_ llm.Embedder = (*Provider)(nil)
)

// New builds a mock provider from its configuration.
func New(p *config.Provider, _ llm.Deps) (llm.Provider, error) {
	m := &Provider{name: p.Name, now: time.Now}
	if p.Mock != nil {
		m.spec = *p.Mock
	}
	if m.spec.FailStatus == 0 {
		m.spec.FailStatus = http.StatusServiceUnavailable
	}
	return m, nil
}

// Name is the provider's configured name.
func (m *Provider) Name() string { return m.name }

// next numbers a request and decides, deterministically, whether it fails.
func (m *Provider) next() (n uint64, fail bool) {
	n = m.n.Add(1)
	if m.spec.FailRate <= 0 {
		return n, false
	}
	x := splitmix64(m.spec.Seed + n)
	return n, float64(x>>11)/(1<<53) < m.spec.FailRate
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	z := x
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// wait sleeps d or until ctx ends.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// firstByte waits for the simulated latency, then tells ctx's first-byte
// hook that the answer started, as the HTTP transport does for a body.
func (m *Provider) firstByte(ctx context.Context) error {
	if err := wait(ctx, m.spec.Latency.D()); err != nil {
		return llm.Unavailable(m.name, err)
	}
	llm.FirstByte(ctx)
	return nil
}

func (m *Provider) failure() error {
	s := m.spec.FailStatus
	e := llm.UpstreamError(m.name, s, "", "", "simulated failure ("+strconv.Itoa(s)+")")
	if s == http.StatusTooManyRequests {
		e.RetryAfter = time.Second
	}
	return e
}

// answer is what the mock says to a request.
type answer struct {
	text     string
	toolCall *llm.ToolCall
	usage    llm.Usage
}

func (m *Provider) answer(req *llm.Request, n uint64) answer {
	c := req.Chat
	var a answer
	last := c.Messages[len(c.Messages)-1]
	choice, _ := llm.ParseToolChoice(c.ToolChoice)
	if len(c.Tools) > 0 && last.Role != "tool" && choice.Mode != "none" {
		name := c.Tools[0].Function.Name
		if choice.Mode == "function" {
			name = choice.Name
		}
		a.toolCall = &llm.ToolCall{ID: "call_mock" + strconv.FormatUint(n, 10), Type: "function",
			Function: llm.FunctionCall{Name: name, Arguments: "{}"}}
	} else {
		a.text = m.spec.Reply
		if a.text == "" {
			a.text = "This is a simulated answer from " + req.Model + "."
			if js := jsonAnswer(c.ResponseFormat, a.text); js != "" {
				a.text = js
			}
		}
	}
	// Token counts are estimates (4 bytes a token), stable for a given request.
	prompt := 0
	for _, msg := range c.Messages {
		prompt += 4 + (len(msg.Content.String())+3)/4
	}
	completion := len(strings.Fields(a.text))
	if a.toolCall != nil {
		completion = 8
	}
	if limit := c.MaxOutputTokens(); limit > 0 && completion > limit {
		completion = limit
	}
	a.usage = llm.Usage{PromptTokens: prompt, CompletionTokens: completion}
	return a
}

// Chat answers after the simulated latency, or fails as configured.
func (m *Provider) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	n, failing := m.next()
	if err := m.firstByte(ctx); err != nil {
		return nil, err
	}
	if failing {
		return nil, m.failure()
	}
	a := m.answer(req, n)
	msg := llm.ResponseMessage{Role: "assistant"}
	finish := llm.FinishStop
	if a.toolCall != nil {
		msg.ToolCalls = []llm.ToolCall{*a.toolCall}
		finish = llm.FinishToolCalls
	} else {
		msg.Content = &a.text
	}
	body, err := json.Marshal(llm.ChatResponse{
		ID: completionID(), Object: "chat.completion",
		Created: m.now().Unix(), Model: req.Model,
		Choices: []llm.Choice{{Message: msg, FinishReason: finish, Logprobs: json.RawMessage("null")}},
		Usage:   &a.usage,
	})
	if err != nil {
		return nil, err
	}
	return &llm.Response{Body: body, Usage: a.usage}, nil
}

// completionID is a fresh random id: ids must not repeat across providers,
// router instances or restarts, since clients and logs key on them.
func completionID() string {
	var b [12]byte
	_, _ = crand.Read(b[:])
	return "chatcmpl-mock-" + hex.EncodeToString(b[:])
}

// Stream answers word by word, a chunk every ChunkDelay, then a usage chunk.
func (m *Provider) Stream(ctx context.Context, req *llm.Request) (llm.Stream, error) {
	n, failing := m.next()
	if err := m.firstByte(ctx); err != nil {
		return nil, err
	}
	if failing {
		return nil, m.failure()
	}
	a := m.answer(req, n)
	s := &stream{ctx: ctx, delay: m.spec.ChunkDelay.D(), usage: a.usage,
		base: llm.ChunkResponse{ID: completionID(),
			Object: "chat.completion.chunk", Created: m.now().Unix(), Model: req.Model}}
	s.deltas = append(s.deltas, llm.Delta{Role: "assistant", Content: llm.Ptr("")})
	if a.toolCall != nil {
		tc := *a.toolCall
		tc.Index = llm.Ptr(0)
		s.deltas = append(s.deltas, llm.Delta{ToolCalls: []llm.ToolCall{tc}})
		s.finish = llm.FinishToolCalls
	} else {
		words := strings.SplitAfter(a.text, " ")
		for _, w := range words {
			s.deltas = append(s.deltas, llm.Delta{Content: llm.Ptr(w)})
		}
		s.finish = llm.FinishStop
	}
	return s, nil
}

type stream struct {
	ctx    context.Context
	delay  time.Duration
	base   llm.ChunkResponse
	deltas []llm.Delta
	finish string
	usage  llm.Usage
	i      int
}

func (s *stream) Next() (llm.Chunk, error) {
	c := s.base
	switch {
	case s.i < len(s.deltas):
		if s.i > 0 {
			if err := wait(s.ctx, s.delay); err != nil {
				return llm.Chunk{}, err
			}
		}
		c.Choices = []llm.ChunkChoice{{Delta: s.deltas[s.i]}}
	case s.i == len(s.deltas):
		c.Choices = []llm.ChunkChoice{{Delta: llm.Delta{}, FinishReason: &s.finish}}
	case s.i == len(s.deltas)+1:
		c.Choices = []llm.ChunkChoice{}
		c.Usage = &s.usage
		s.i++
		data, err := json.Marshal(c)
		return llm.Chunk{Data: data, Usage: &s.usage, UsageOnly: true}, err
	default:
		return llm.Chunk{}, io.EOF
	}
	s.i++
	data, err := json.Marshal(c)
	return llm.Chunk{Data: data}, err
}

func (s *stream) Close() error {
	s.i = len(s.deltas) + 2
	return nil
}

// Probe succeeds after the simulated latency unless the provider always fails.
func (m *Provider) Probe(ctx context.Context, _ string) error {
	if err := wait(ctx, m.spec.Latency.D()); err != nil {
		return llm.Unavailable(m.name, err)
	}
	if m.spec.FailRate >= 1 {
		return m.failure()
	}
	return nil
}

// embeddingSize is the length of the mock's vectors (OpenAI's smallest model
// has 1536; a short vector keeps demos readable).
const embeddingSize = 8

// Embed answers deterministic unit vectors derived from each input's text, so
// equal inputs get equal vectors. Token arrays are embedded by their JSON.
func (m *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	_, failing := m.next()
	if err := m.firstByte(ctx); err != nil {
		return nil, err
	}
	if failing {
		return nil, m.failure()
	}
	inputs := req.Input
	if req.TokenInput {
		inputs = []string{string(req.Body)}
	}
	size := embeddingSize
	if req.Dimensions > 0 {
		size = req.Dimensions
	}
	type item struct {
		Object    string    `json:"object"`
		Embedding []float64 `json:"embedding"`
		Index     int       `json:"index"`
	}
	out := struct {
		Object string    `json:"object"`
		Data   []item    `json:"data"`
		Model  string    `json:"model"`
		Usage  llm.Usage `json:"usage"`
	}{Object: "list", Model: req.Model, Data: make([]item, len(inputs))}
	for i, in := range inputs {
		out.Data[i] = item{Object: "embedding", Embedding: vector(in, size), Index: i}
		out.Usage.PromptTokens += (len(in) + 3) / 4
	}
	body, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	return &llm.Response{Body: body, Usage: out.Usage}, nil
}

// vector is a unit vector seeded by the text.
func vector(text string, size int) []float64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(text); i++ {
		h = (h ^ uint64(text[i])) * 1099511628211
	}
	v := make([]float64, size)
	var norm float64
	for i := range v {
		h = splitmix64(h)
		v[i] = float64(int64(h>>11)-(1<<52)) / (1 << 52)
		norm += v[i] * v[i]
	}
	norm = math.Sqrt(norm)
	for i := range v {
		v[i] = math.Round(v[i]/norm*1e6) / 1e6
	}
	return v
}

// jsonAnswer is the mock's answer to a request for JSON, empty for other
// requests: a small instance of the schema, so demos of structured routes
// answer in shape, or an object holding the sentence for json_object. A
// configured reply is answered as it is, to demo the router's extraction.
func jsonAnswer(f *llm.ResponseFormat, sentence string) string {
	if f == nil {
		return ""
	}
	switch {
	case f.Type == "json_schema" && f.JSONSchema != nil && len(f.JSONSchema.Schema) > 0:
		return string(structured.Instance(f.JSONSchema.Schema))
	case f.Type == "json_schema" || f.Type == "json_object":
		b, _ := json.Marshal(map[string]string{"answer": sentence})
		return string(b)
	}
	return ""
}
