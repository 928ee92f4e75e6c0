package bedrock

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// A tool round trip with a system prompt: the shape of an agent's request.
const benchBody = `{"model":"claude","max_tokens":512,"temperature":0.2,
"messages":[{"role":"system","content":"You are a terse assistant for a weather service."},
{"role":"user","content":"What is the weather in Paris and in Lyon?"},
{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Lyon\"}"}}]},
{"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21,\"sky\":\"clear\"}"},
{"role":"tool","tool_call_id":"call_2","content":"{\"temp\":18,\"sky\":\"rain\"}"}],
"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
{"type":"function","function":{"name":"get_time","description":"Local time","parameters":{"type":"object","properties":{"tz":{"type":"string"}}}}}]}`

func BenchmarkConverseInput(b *testing.B) {
	chat, err := llm.ParseChat([]byte(benchBody))
	if err != nil {
		b.Fatal(err)
	}
	req := &llm.Request{Chat: chat, Body: []byte(benchBody), Model: "claude", Upstream: "anthropic.claude-3-5-sonnet-20240620-v1:0"}
	b.ReportAllocs()
	for b.Loop() {
		if _, e := converseInput(req); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkStreamTextEvent(b *testing.B) {
	s := newStream("br", nil, nil, "chatcmpl-0123456789abcdef", "claude", 1700000000)
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(0), Delta: &types.ContentBlockDeltaMemberText{Value: " the weather in Paris is"}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.chunk(ev); !ok {
			b.Fatal("no chunk")
		}
	}
}

func BenchmarkStreamToolDeltaEvent(b *testing.B) {
	s := newStream("br", nil, nil, "chatcmpl-0123456789abcdef", "claude", 1700000000)
	ev := &types.ConverseStreamOutputMemberContentBlockDelta{Value: types.ContentBlockDeltaEvent{
		ContentBlockIndex: aws.Int32(1), Delta: &types.ContentBlockDeltaMemberToolUse{Value: types.ToolUseBlockDelta{Input: aws.String(`{"city":"Pa`)}}}}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.chunk(ev); !ok {
			b.Fatal("no chunk")
		}
	}
}

// BenchmarkNew is what a configuration reload pays per bedrock provider.
func BenchmarkNew(b *testing.B) {
	b.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	b.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	b.Setenv("AWS_REGION", "us-east-1")
	b.Setenv("AWS_CONFIG_FILE", b.TempDir()+"/none")
	b.Setenv("AWS_SHARED_CREDENTIALS_FILE", b.TempDir()+"/none")
	b.Setenv("AWS_CA_BUNDLE", "")
	p := &config.Provider{Name: "br", Type: config.TypeBedrock, Region: "eu-west-1"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(p, llm.Deps{}); err != nil {
			b.Fatal(err)
		}
	}
}
