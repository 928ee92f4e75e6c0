package openai

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// benchHistory is a typical agent turn: a system prompt, a question, an
// assistant tool call (with another provider's id), its result and a follow-up.
const benchHistory = `{"model":"fast","messages":[` +
	`{"role":"system","content":"You are a triage assistant. Answer briefly."},` +
	`{"role":"user","content":"What is the weather in Paris and should I take an umbrella?","name":"alice"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01A09q90qw90lq917835lq9","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}],"refusal":null},` +
	`{"role":"tool","tool_call_id":"toolu_01A09q90qw90lq917835lq9","content":"{\"temp_c\":14,\"rain_probability\":0.7}"},` +
	`{"role":"user","content":"Thanks. And tomorrow?"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],` +
	`"temperature":0.2,"max_completion_tokens":256,"seed":7,"logprobs":false,"user":"u-123"}`

const benchAnswer = `{"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Tomorrow looks dry: 10% rain, 17C. No umbrella needed.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":131,"completion_tokens":17,"total_tokens":148,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"service_tier":"default","system_fingerprint":"fp_fc9f1d7035"}`

// benchStream is a short streamed answer with its usage chunk.
func benchStream() []byte {
	var b bytes.Buffer
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}` + "\n\n")
	for i := range 20 {
		b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"word` + strconv.Itoa(i) + ` "},"finish_reason":null}],"usage":null}` + "\n\n")
	}
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":131,"completion_tokens":21,"total_tokens":152}}` + "\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// cannedTransport answers every request in memory, so a benchmark measures
// the adapter's own work rather than the loopback network.
type cannedTransport struct{ body []byte }

func (c cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	body := c.body
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, ContentLength: int64(len(body)),
		Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
}

type fixedKey struct{}

func (fixedKey) Resolve(context.Context, string) (string, error) { return "sk-bench", nil }

func benchProvider(b *testing.B, dialect string, stream bool) llm.Provider {
	b.Helper()
	answer := []byte(benchAnswer)
	if stream {
		answer = benchStream()
	}
	p, err := New(&config.Provider{Name: "up", Type: "openai", BaseURL: "https://upstream.test/v1", Key: "env:K", Dialect: dialect},
		llm.Deps{HTTP: &http.Client{Transport: cannedTransport{body: answer}}, Keys: fixedKey{}})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func benchRequest(b *testing.B, body string) *llm.Request {
	b.Helper()
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		b.Fatal(err)
	}
	return &llm.Request{Chat: chat, Body: []byte(body), Model: "fast", Upstream: "gpt-4o-mini"}
}

// BenchmarkChat is one non-streamed attempt through the adapter: body
// preparation, the request, and reading usage from the answer.
func BenchmarkChat(b *testing.B) {
	for _, dialect := range []string{"openai", "deepseek", "mistral", "groq"} {
		b.Run(dialect, func(b *testing.B) {
			p := benchProvider(b, dialect, false)
			req := benchRequest(b, benchHistory)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Chat(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream is one streamed attempt read to its end.
func BenchmarkStream(b *testing.B) {
	for _, dialect := range []string{"openai", "mistral", "groq"} {
		b.Run(dialect, func(b *testing.B) {
			p := benchProvider(b, dialect, true)
			body := benchHistory[:len(benchHistory)-1] + `,"stream":true}`
			req := benchRequest(b, body)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				st, err := p.Stream(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := st.Next(); err != nil {
						if !errors.Is(err, io.EOF) {
							b.Fatal(err)
						}
						break
					}
				}
				_ = st.Close()
			}
		})
	}
}

// BenchmarkUpstreamBody is the body preparation alone, per dialect: plain
// openai is the relay; mistral and groq rebuild the body and its messages.
func BenchmarkUpstreamBody(b *testing.B) {
	for _, dialect := range []string{"openai", "deepseek", "mistral", "groq"} {
		for _, stream := range []bool{false, true} {
			b.Run(dialect+"/stream="+strconv.FormatBool(stream), func(b *testing.B) {
				body := benchHistory
				if stream {
					body = benchHistory[:len(benchHistory)-1] + `,"stream":true}`
				}
				req := benchRequest(b, body)
				d := newDialect(dialect)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.body(req, stream); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
