package mock

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/llm-router/router/shared/engine"
	"io"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

func newMock(t *testing.T, spec config.Mock) llm.Provider {
	t.Helper()
	p, err := New(&config.Provider{Name: "sim", Type: "mock", Mock: &spec}, llm.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func chat(t *testing.T, body string) *llm.Request {
	t.Helper()
	c, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return &llm.Request{Chat: c, Body: []byte(body), Model: "m1", Upstream: "m1"}
}

// The same seed gives the same sequence of failures, at about the configured rate.
func TestFailureSequenceIsDeterministic(t *testing.T) {
	run := func() string {
		p := newMock(t, config.Mock{FailRate: 0.3, FailStatus: 529, Seed: 42})
		var b strings.Builder
		for i := 0; i < 1000; i++ {
			_, err := p.Chat(context.Background(), chat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
			switch e := llm.AsError(err); {
			case err == nil:
				b.WriteByte('.')
			case e != nil && e.Status == 529 && engine.FallsBack(e):
				// Simulated failures read as real ones: the router's words,
				// the provider's in Detail.
				if e.Message != llm.UpstreamMessage(529, llm.KindOverloaded) || e.Detail != "simulated failure (529)" {
					t.Fatalf("failure %+v, want the router's message and the mock's detail", e)
				}
				b.WriteByte('x')
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b {
		t.Fatal("two runs with the same seed failed differently")
	}
	if n := strings.Count(a, "x"); n < 250 || n > 350 {
		t.Errorf("%d failures in 1000 at fail_rate 0.3", n)
	}
}

func TestStreamShape(t *testing.T) {
	p := newMock(t, config.Mock{Reply: "one two three"})
	st, err := p.Stream(context.Background(), chat(t, `{"model":"m","stream":true,"messages":[{"role":"user","content":"hello there"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var text strings.Builder
	var finish string
	var usage *llm.Usage
	for {
		c, err := st.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var chunk llm.ChunkResponse
		if err := json.Unmarshal(c.Data, &chunk); err != nil || chunk.Object != "chat.completion.chunk" || chunk.Model != "m1" {
			t.Fatalf("chunk %s: %v", c.Data, err)
		}
		if c.UsageOnly {
			usage = c.Usage
			if len(chunk.Choices) != 0 {
				t.Errorf("usage chunk has choices")
			}
			continue
		}
		if d := chunk.Choices[0].Delta.Content; d != nil {
			text.WriteString(*d)
		}
		if f := chunk.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	if text.String() != "one two three" || finish != "stop" || usage == nil || usage.CompletionTokens != 3 {
		t.Errorf("text %q finish %q usage %+v", text.String(), finish, usage)
	}
}

func TestToolCallThenAnswer(t *testing.T) {
	p := newMock(t, config.Mock{})
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]`
	resp, err := p.Chat(context.Background(), chat(t, `{"model":"m",`+tools+`,"messages":[{"role":"user","content":"weather?"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var out llm.ChatResponse
	_ = json.Unmarshal(resp.Body, &out)
	if out.Choices[0].FinishReason != "tool_calls" || out.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
		t.Fatalf("first answer %s", resp.Body)
	}
	id := out.Choices[0].Message.ToolCalls[0].ID
	resp, err = p.Chat(context.Background(), chat(t, `{"model":"m",`+tools+`,"messages":[{"role":"user","content":"weather?"},
		{"role":"assistant","content":null,"tool_calls":[{"id":"`+id+`","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
		{"role":"tool","tool_call_id":"`+id+`","content":"21C"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(resp.Body, &out)
	if out.Choices[0].FinishReason != "stop" || out.Choices[0].Message.Content == nil {
		t.Errorf("answer after the tool result: %s", resp.Body)
	}
}

func TestEmbeddingsAreStable(t *testing.T) {
	p := newMock(t, config.Mock{}).(llm.Embedder)
	get := func(input string) []float64 {
		resp, err := p.Embed(context.Background(), &llm.EmbeddingRequest{Input: []string{input}, Model: "e"})
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data []struct{ Embedding []float64 }
		}
		_ = json.Unmarshal(resp.Body, &out)
		return out.Data[0].Embedding
	}
	a, b, c := get("alpha"), get("alpha"), get("beta")
	if len(a) != embeddingSize || a[0] != b[0] || a[0] == c[0] {
		t.Errorf("vectors: %v %v %v", a, b, c)
	}
}

func TestLatencyRespectsCancellation(t *testing.T) {
	p := newMock(t, config.Mock{Latency: config.Duration(1 << 62)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Chat(ctx, chat(t, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
	if e := llm.AsError(err); e == nil || e.Kind != llm.KindUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
