package responses

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// typicalRequest is a few messages and a tool (about 700 bytes).
const typicalRequest = `{"model":"gpt-4.1-mini","instructions":"You are a concise assistant for a travel agency.",
"input":[
 {"role":"user","content":"What's the weather in Paris?"},
 {"role":"assistant","content":"It is 14°C with light rain in Paris."},
 {"role":"user","content":"And tomorrow in Lyon?"}],
"tools":[{"type":"function","name":"get_forecast","description":"Forecast for a city and day","parameters":{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string"}},"required":["city","day"]}}],
"temperature":0.3,"max_output_tokens":1024,"user":"u-1"}`

// agentRequest is an agent's turn: instructions, a finished tool round
// trip, a follow-up question, two tools (about 1.6 KB).
const agentRequest = `{"model":"gpt-4.1-mini","instructions":"You are a concise assistant for a travel agency. Use tools when facts are needed.",
"input":[
 {"role":"user","content":"What's the weather in Paris and should I pack an umbrella?"},
 {"type":"function_call","id":"fc_1","call_id":"call_abc123","name":"get_weather","arguments":"{\"city\":\"Paris\",\"unit\":\"celsius\"}","status":"completed"},
 {"type":"function_call_output","call_id":"call_abc123","output":"{\"temp\":14,\"conditions\":\"light rain\",\"precip_prob\":0.7}"},
 {"id":"msg_1","type":"message","role":"assistant","status":"completed","content":[{"type":"output_text","text":"It is 14°C with light rain in Paris; a 70% chance of more. Pack an umbrella.","annotations":[]}]},
 {"role":"user","content":[{"type":"input_text","text":"And tomorrow in Lyon?"}]}],
"tools":[
 {"type":"function","name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]},"strict":false},
 {"type":"function","name":"get_forecast","description":"Forecast for a city and day","parameters":{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string"}},"required":["city","day"]},"strict":false}],
"tool_choice":"auto","temperature":0.3,"max_output_tokens":1024,"store":false,"user":"u-1"}`

func BenchmarkParse(b *testing.B) {
	for _, bm := range []struct{ name, body string }{{"typical", typicalRequest}, {"agent", agentRequest}} {
		b.Run(bm.name, func(b *testing.B) {
			body := compact(b, bm.body) // as SDKs send it
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, e := Parse(body); e != nil {
					b.Fatal(e)
				}
			}
		})
	}
}

func compact(b *testing.B, s string) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(s)); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

func BenchmarkRender(b *testing.B) {
	req := request(b, agentRequest)
	usage := llm.Usage{PromptTokens: 412, CompletionTokens: 31, CachedTokens: 256}
	for _, bm := range []struct{ name, completion string }{
		{"text", chatCompletion(`{"role":"assistant","content":"Tomorrow in Lyon: 17°C, partly cloudy, 20% chance of rain. No umbrella needed.","refusal":null}`, "stop")},
		{"tool_call", chatCompletion(`{"role":"assistant","content":null,"tool_calls":[{"id":"call_def456","type":"function","function":{"name":"get_forecast","arguments":"{\"city\":\"Lyon\",\"day\":\"tomorrow\"}"}}]}`, "tool_calls")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			completion := []byte(bm.completion)
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if dst, err = Render(dst[:0], req, completion, usage); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamChunk measures one streamed event: a chunk in the middle
// of an answer, text or a tool call's arguments.
func BenchmarkStreamChunk(b *testing.B) {
	req := request(b, typicalRequest)
	for _, bm := range []struct{ name, open, next string }{
		{"text", chunk(`{"role":"assistant","content":"Tomorrow"}`, ""), chunk(`{"content":" in Lyon"}`, "")},
		{"tool_arguments", chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_forecast","arguments":""}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			s := NewStream(req)
			dst, err := s.Chunk(make([]byte, 0, 4096), []byte(bm.open))
			if err != nil {
				b.Fatal(err)
			}
			next := []byte(bm.next)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%1000 == 0 {
					// Keep the accumulated text from growing for ever.
					s.resp.items[s.open].args = s.resp.items[s.open].args[:0]
					if ps := s.resp.items[s.open].parts; len(ps) > 0 {
						ps[len(ps)-1].text = ps[len(ps)-1].text[:0]
					}
				}
				if dst, err = s.Chunk(dst[:0], next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
