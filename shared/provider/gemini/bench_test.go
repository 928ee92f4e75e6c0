package gemini

import (
	"encoding/json"
	"io"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// A typical chat request: a system prompt, a short history, one tool.
const benchRequest = `{"model":"chat","messages":[
	{"role":"system","content":"You are a concise assistant for a travel booking site. Answer in the user's language."},
	{"role":"user","content":"What is the weather like in Paris this weekend?"},
	{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"days\":2}"}}]},
	{"role":"tool","tool_call_id":"call_abc123","content":"{\"sat\":{\"high\":24,\"low\":15,\"sky\":\"sunny\"},\"sun\":{\"high\":22,\"low\":14,\"sky\":\"cloudy\"}}"},
	{"role":"assistant","content":"Sunny on Saturday (24°C), cloudy on Sunday (22°C)."},
	{"role":"user","content":"And should I pack an umbrella?"}],
	"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather forecast for a city",
		"parameters":{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}],
	"temperature":0.7,"max_tokens":512,"stream":true,"stream_options":{"include_usage":true}}`

// BenchmarkRequestFromChat measures building the upstream body from a parsed
// OpenAI request (the gateway parses once per request, adapters translate
// once per attempt).
func BenchmarkRequestFromChat(b *testing.B) {
	chat, err := llm.ParseChat([]byte(benchRequest))
	if err != nil {
		b.Fatal(err)
	}
	p, _ := New(&config.Provider{Name: "gem"}, llm.Deps{})
	req := &llm.Request{Chat: chat, Body: []byte(benchRequest), Model: "chat", Upstream: "gemini-2.5-flash"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.(*Provider).requestBody(req); err != nil {
			b.Fatal(err)
		}
	}
}

// A typical streamed event: a piece of text with Gemini's extra fields.
const benchEvent = `{"candidates":[{"content":{"parts":[{"text":" No umbrella needed on Saturday, but pack a light one for Sunday,"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":187,"totalTokenCount":187,"promptTokensDetails":[{"modality":"TEXT","tokenCount":187}]},"modelVersion":"gemini-2.5-flash","responseId":"c3lZaOaKBO2Bz7IP3rKd8Ao"}`

// BenchmarkStreamEvent measures translating one streamed event's data into
// an OpenAI chunk.
func BenchmarkStreamEvent(b *testing.B) {
	s := newStream("gem", io.NopCloser(strings.NewReader("")), "chat", 1700000000)
	data := []byte(benchEvent)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.chunk(data); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkStreamNext measures a whole Next: reading one SSE event from the
// connection's buffer and translating it.
func BenchmarkStreamNext(b *testing.B) {
	const events = 1024
	body := strings.Repeat("data: "+benchEvent+"\r\n\r\n", events)
	var s *stream
	b.ReportAllocs()
	i := events
	for b.Loop() {
		if i == events {
			b.StopTimer()
			s = newStream("gem", io.NopCloser(strings.NewReader(body)), "chat", 1700000000)
			i = 0
			b.StartTimer()
		}
		if _, err := s.Next(); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkChatFromGemini measures translating a whole non-streamed answer.
func BenchmarkChatFromGemini(b *testing.B) {
	answer := []byte(`{"candidates":[{"content":{"parts":[{"text":"No umbrella needed on Saturday, but pack a light one for Sunday, when clouds may bring a shower in the afternoon."}],"role":"model"},"finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],"usageMetadata":{"promptTokenCount":187,"candidatesTokenCount":29,"totalTokenCount":216},"modelVersion":"gemini-2.5-flash","responseId":"c3lZaOaKBO2Bz7IP3rKd8Ao"}`)
	b.ReportAllocs()
	for b.Loop() {
		var r generateContentResponse
		if err := json.Unmarshal(answer, &r); err != nil {
			b.Fatal(err)
		}
		out, e := chatFromGemini(&r, "chat", 1700000000)
		if e != nil {
			b.Fatal(e)
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}
