package anthropic

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// A typical agent request: system prompt, a finished tool round trip, a
// follow-up question, two tools.
const typicalRequest = `{"model":"claude","temperature":0.3,"max_tokens":1024,"user":"u-1",
"messages":[
 {"role":"system","content":"You are a concise assistant for a travel agency. Use tools when facts are needed."},
 {"role":"user","content":"What's the weather in Paris and should I pack an umbrella?"},
 {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}"}}]},
 {"role":"tool","tool_call_id":"call_abc123","content":"{\"temp\":14,\"conditions\":\"light rain\",\"precip_prob\":0.7}"},
 {"role":"assistant","content":"It is 14°C with light rain in Paris; a 70% chance of more. Pack an umbrella."},
 {"role":"user","content":"And tomorrow in Lyon?"}],
"tools":[
 {"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}}},
 {"type":"function","function":{"name":"get_forecast","description":"Forecast for a city and day","parameters":{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string"}},"required":["city","day"]}}}],
"tool_choice":"auto"}`

// BenchmarkToAnthropicRequest measures building the upstream body from a
// parsed OpenAI request (the gateway parses once for all attempts).
func BenchmarkToAnthropicRequest(b *testing.B) {
	req := chatRequest(b, typicalRequest, 4096)
	p := &Provider{name: "claude"}
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalRequest)))
	for b.Loop() {
		if _, err := p.body(req, true); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToOpenAIResponse measures translating a whole answer.
func BenchmarkToOpenAIResponse(b *testing.B) {
	answer := []byte(`{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5",` +
		`"content":[{"type":"text","text":"Tomorrow in Lyon: 17°C, partly cloudy, 20% chance of rain. No umbrella needed."}],` +
		`"stop_reason":"end_turn","stop_sequence":null,"stop_details":null,` +
		`"usage":{"input_tokens":412,"cache_creation_input_tokens":0,"cache_read_input_tokens":1024,"output_tokens":31,"service_tier":"standard"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := toOpenAIResponse(answer, "claude", 1700000000); err != nil {
			b.Fatal(err)
		}
	}
}

// startedStream is a stream that has seen message_start and a tool block.
func startedStream(b *testing.B) *stream {
	s := newStream("claude", io.NopCloser(nil), "claude", 1700000000)
	for _, e := range [][2]string{{"message_start", evStart},
		{"content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_A","name":"get_weather","input":{}}}`}} {
		if _, _, err := s.translate([]byte(e[0]), []byte(e[1])); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkStreamEvent measures translating one decoded event into a chunk.
func BenchmarkStreamEvent(b *testing.B) {
	events := []struct{ name, event, data string }{
		{"text_delta", "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Tomorrow in Lyon: 17°C, partly"}}`},
		{"input_json_delta", "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Ly"}}`},
		{"message_delta", "message_delta", evDelta("end_turn", 31)},
	}
	for _, e := range events {
		b.Run(e.name, func(b *testing.B) {
			s := startedStream(b)
			name, data := []byte(e.event), []byte(e.data)
			b.ReportAllocs()
			for b.Loop() {
				c, ok, err := s.translate(name, data)
				if err != nil || !ok || len(c.Data) == 0 {
					b.Fatalf("translate: %v %v", ok, err)
				}
			}
		})
	}
}

// repeat is an endless reader of the same bytes.
type repeat struct {
	data []byte
	off  int
}

func (r *repeat) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.data[r.off:])
		n += c
		r.off = (r.off + c) % len(r.data)
	}
	return n, nil
}

// BenchmarkStreamNext measures the whole per-event path: reading the SSE
// lines from the body and translating the event.
func BenchmarkStreamNext(b *testing.B) {
	event := ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Tomorrow in Lyon: 17°C, partly"}}`)
	s := newStream("claude", io.NopCloser(&repeat{data: []byte(event)}), "claude", 1700000000)
	s.start("msg_01XFDUDYJgAACzvnptvVoYEL")
	b.ReportAllocs()
	b.SetBytes(int64(len(event)))
	for b.Loop() {
		c, err := s.Next()
		if err != nil || len(c.Data) == 0 {
			b.Fatal(err)
		}
	}
	var chunk llm.ChunkResponse
	c, _ := s.Next()
	if err := json.Unmarshal(c.Data, &chunk); err != nil || *chunk.Choices[0].Delta.Content != "Tomorrow in Lyon: 17°C, partly" {
		b.Fatalf("last chunk %s: %v", c.Data, err)
	}
}
