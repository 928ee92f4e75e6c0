package messages

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// typicalRequest is a few messages and a tool (about 700 bytes).
const typicalRequest = `{"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are a concise assistant for a travel agency.",
"messages":[
 {"role":"user","content":"What's the weather in Paris?"},
 {"role":"assistant","content":"It is 14°C with light rain in Paris."},
 {"role":"user","content":"And tomorrow in Lyon?"}],
"tools":[{"name":"get_forecast","description":"Forecast for a city and day","input_schema":{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string"}},"required":["city","day"]}}],
"temperature":0.3,"metadata":{"user_id":"u-1"}}`

// agentRequest is an agent's turn: system blocks, a finished tool round
// trip, a follow-up question, two tools (about 1.6 KB).
const agentRequest = `{"model":"claude-sonnet-4-5","max_tokens":1024,
"system":[{"type":"text","text":"You are a concise assistant for a travel agency. Use tools when facts are needed.","cache_control":{"type":"ephemeral"}}],
"messages":[
 {"role":"user","content":"What's the weather in Paris and should I pack an umbrella?"},
 {"role":"assistant","content":[{"type":"text","text":"Let me check."},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris","unit":"celsius"}}]},
 {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01A","content":"{\"temp\":14,\"conditions\":\"light rain\",\"precip_prob\":0.7}"}]},
 {"role":"assistant","content":[{"type":"text","text":"It is 14°C with light rain in Paris; a 70% chance of more. Pack an umbrella."}]},
 {"role":"user","content":[{"type":"text","text":"And tomorrow in Lyon?"}]}],
"tools":[
 {"name":"get_weather","description":"Current weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}},
 {"name":"get_forecast","description":"Forecast for a city and day","input_schema":{"type":"object","properties":{"city":{"type":"string"},"day":{"type":"string"}},"required":["city","day"]}}],
"tool_choice":{"type":"auto"},"temperature":0.3,"metadata":{"user_id":"u-1"}}`

func compact(b *testing.B, s string) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, []byte(s)); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}

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

func BenchmarkRender(b *testing.B) {
	req := request(b, agentRequest)
	usage := llm.Usage{PromptTokens: 1436, CompletionTokens: 31, CachedTokens: 1024}
	for _, bm := range []struct{ name, choice string }{
		{"text", choice(`{"role":"assistant","content":"Tomorrow in Lyon: 17°C, partly cloudy, 20% chance of rain. No umbrella needed.","refusal":null}`, "stop")},
		{"tool_call", choice(`{"role":"assistant","content":null,"tool_calls":[{"id":"toolu_01B","type":"function","function":{"name":"get_forecast","arguments":"{\"city\":\"Lyon\",\"day\":\"tomorrow\"}"}}]}`, "tool_calls")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			completion := []byte(chatCompletion(bm.choice))
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

// BenchmarkStreamChunk measures one streamed event in the middle of an
// answer: a text delta, or a piece of a tool call's arguments.
func BenchmarkStreamChunk(b *testing.B) {
	req := request(b, agentRequest)
	for _, bm := range []struct{ name, open, next string }{
		{"text", chunk(`{"role":"assistant","content":"Tomorrow"}`, ""), chunk(`{"content":" in Lyon"}`, "")},
		{"tool_arguments", chunk(`{"tool_calls":[{"index":0,"id":"toolu_1","type":"function","function":{"name":"get_forecast","arguments":""}}]}`, ""),
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
			for b.Loop() {
				if dst, err = s.Chunk(dst[:0], next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
