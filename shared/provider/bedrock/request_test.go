package bedrock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// TestRequestTranslation sends OpenAI requests through the adapter and checks
// the exact native body Bedrock receives, as the SDK serialised it.
func TestRequestTranslation(t *testing.T) {
	const png = "iVBORw0KGgo=" // the PNG signature, base64
	tests := []struct {
		name string
		body string
		want string // the Converse body
	}{
		{"plain user text",
			`{"model":"claude","messages":[{"role":"user","content":"Hello"}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}`},
		{"system and developer messages become system blocks",
			`{"model":"claude","messages":[{"role":"system","content":"Be terse."},{"role":"developer","content":[{"type":"text","text":"Answer in French."}]},{"role":"user","content":"Hi"}]}`,
			`{"system":[{"text":"Be terse."},{"text":"Answer in French."}],"messages":[{"role":"user","content":[{"text":"Hi"}]}]}`},
		{"inference settings, temperature clamped to 1",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"max_tokens":100,"max_completion_tokens":200,"temperature":1.5,"top_p":0.5,"stop":"END"}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"inferenceConfig":{"maxTokens":200,"temperature":1,"topP":0.5,"stopSequences":["END"]}}`},
		{"OpenAI-only fields are not sent",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"seed":7,"n":1,"user":"u1","presence_penalty":0.5,"frequency_penalty":0.1,"logprobs":true,"top_logprobs":2,"metadata":{"a":"b"},"parallel_tool_calls":true,"reasoning_effort":"low"}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}`},
		{"consecutive user turns merge",
			`{"model":"claude","messages":[{"role":"user","content":"one"},{"role":"user","content":[{"type":"text","text":"two"}]}]}`,
			`{"messages":[{"role":"user","content":[{"text":"one"},{"text":"two"}]}]}`},
		{"a conversation opened by the assistant gets a user turn first",
			`{"model":"claude","messages":[{"role":"system","content":"S"},{"role":"assistant","content":"How can I help?"},{"role":"user","content":"Hi"}]}`,
			`{"system":[{"text":"S"}],"messages":[{"role":"user","content":[{"text":"."}]},{"role":"assistant","content":[{"text":"How can I help?"}]},{"role":"user","content":[{"text":"Hi"}]}]}`},
		{"image data URI becomes bytes",
			`{"model":"claude","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + png + `"}}]}]}`,
			`{"messages":[{"role":"user","content":[{"text":"What is this?"},{"image":{"format":"png","source":{"bytes":"` + png + `"}}}]}]}`},
		{"tools and tool_choice auto",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],"tool_choice":"auto"}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Current weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}}],"toolChoice":{"auto":{}}}}`},
		{"tool_choice required is any",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"w"}}],"tool_choice":"required"}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"w","inputSchema":{"json":{"type":"object","properties":{}}}}}],"toolChoice":{"any":{}}}}`},
		{"a named tool_choice is tool",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"w","strict":true,"parameters":{"type":"object"}}}],"tool_choice":{"type":"function","function":{"name":"w"}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"w","strict":true,"inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"w"}}}}`},
		{"tool_choice none leaves the tools out",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"w"}}],"tool_choice":"none"}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]}]}`},
		{"tool round trip: results merge into one user turn before the next user text",
			`{"model":"claude","messages":[{"role":"user","content":"Weather and time in Paris?"},
			 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\",\"n\":12345678901234567890}"}},{"id":"call_2","type":"function","function":{"name":"get_time","arguments":""}}]},
			 {"role":"tool","tool_call_id":"call_1","content":"{\"temp\":21.50}"},
			 {"role":"tool","tool_call_id":"call_2","content":"noon"},
			 {"role":"user","content":"And tomorrow?"}],
			 "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}},{"type":"function","function":{"name":"get_time","parameters":{"type":"object"}}}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather and time in Paris?"}]},
			 {"role":"assistant","content":[{"toolUse":{"toolUseId":"call_1","name":"get_weather","input":{"city":"Paris","n":12345678901234567890}}},{"toolUse":{"toolUseId":"call_2","name":"get_time","input":{}}}]},
			 {"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"json":{"temp":21.50}}]}},{"toolResult":{"toolUseId":"call_2","content":[{"text":"noon"}]}},{"text":"And tomorrow?"}]}],
			 "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}},{"toolSpec":{"name":"get_time","inputSchema":{"json":{"type":"object"}}}}]}}`},
		{"tool history without declared tools gets a permissive toolConfig",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"},
			 {"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
			 {"role":"tool","tool_call_id":"call_1","content":""}]}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},
			 {"role":"assistant","content":[{"text":"Checking."},{"toolUse":{"toolUseId":"call_1","name":"get_weather","input":{}}}]},
			 {"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"json":{}}]}}]}],
			 "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]}}`},
		{"tool_choice none with tool history still declares the tools, with no choice",
			`{"model":"claude","messages":[{"role":"user","content":"Weather?"},
			 {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{}"}}]},
			 {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
			 "tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}],"tool_choice":"none"}`,
			`{"messages":[{"role":"user","content":[{"text":"Weather?"}]},
			 {"role":"assistant","content":[{"toolUse":{"toolUseId":"call_1","name":"w","input":{}}}]},
			 {"role":"user","content":[{"toolResult":{"toolUseId":"call_1","content":[{"text":"sunny"}]}}]}],
			 "toolConfig":{"tools":[{"toolSpec":{"name":"w","inputSchema":{"json":{"type":"object"}}}}]}}`},
		{"json_schema response_format is a forced tool on Claude",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"greeting","schema":{"type":"object","properties":{"text":{"type":"string"}}}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"greeting","description":"Give your final answer by calling this tool: its input is the answer, as JSON.",` +
				`"inputSchema":{"json":{"type":"object","properties":{"text":{"type":"string"}}}}}}],"toolChoice":{"tool":{"name":"greeting"}}}}`},
		{"json_object response_format is a forced tool taking any object",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_object"}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"json_response","description":"Give your final answer by calling this tool: its input is the answer, as JSON.",` +
				`"inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"tool":{"name":"json_response"}}}}`},
		{"json_schema beside the client's tools: any tool",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}],"response_format":{"type":"json_schema","json_schema":{"name":"greeting","schema":{"type":"object"}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"w","inputSchema":{"json":{"type":"object"}}}},` +
				`{"toolSpec":{"name":"greeting","description":"Give your final answer by calling this tool: its input is the answer, as JSON.","inputSchema":{"json":{"type":"object"}}}}],"toolChoice":{"any":{}}}}`},
		{"a schema whose root is not an object is asked for in words",
			`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"list","schema":{"type":"array"}}}}`,
			`{"messages":[{"role":"user","content":[{"text":"Hi"}]}],"system":[{"text":"Respond with a single JSON value that matches the JSON Schema below, and nothing else: no prose and no code fences.\nJSON Schema:\n{\"type\":\"array\"}"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			if _, err := p.Chat(context.Background(), chatRequest(t, tt.body)); err != nil {
				t.Fatal(err)
			}
			got := fake.Last(t)
			if !sameJSON(t, got.Body, []byte(tt.want)) {
				t.Errorf("Bedrock received\n%s\nwant\n%s", got.Body, tt.want)
			}
			if got.ModelID != upstream || got.Operation != "converse" {
				t.Errorf("got %s on %q, want converse on %q", got.Operation, got.ModelID, upstream)
			}
			if auth := got.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !strings.Contains(auth, "/bedrock/aws4_request") {
				t.Errorf("Authorization %q is not a SigV4 signature for bedrock", auth)
			}
		})
	}
}

// TestRequestRefused checks the 400s the adapter answers itself, before any
// call, for requests Converse cannot carry faithfully.
func TestRequestRefused(t *testing.T) {
	tests := []struct {
		name, body, param string
	}{
		{"n above 1", `{"model":"m","messages":[{"role":"user","content":"Hi"}],"n":2}`, "n"},
		{"remote image URL", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"unsupported image type", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AAAA"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"bad base64", `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!"}}]}]}`,
			"messages[0].content[0].image_url.url"},
		{"audio part", `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			"messages[0].content[0].type"},
		{"tool arguments not JSON", `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
			"messages[1].tool_calls[0].function.arguments"},
		{"tool arguments not an object", `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			"messages[1].tool_calls[0].function.arguments"},
		{"parameters not an object", `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}`,
			"tools[0].function.parameters"},
		{"only system messages", `{"model":"m","messages":[{"role":"system","content":"S"}]}`, "messages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			_, err := p.Chat(context.Background(), chatRequest(t, tt.body))
			e := llm.AsError(err)
			if e == nil || e.Status != http.StatusBadRequest || e.Param != tt.param || e.Type != "invalid_request_error" {
				t.Fatalf("got %#v, want a 400 invalid_request_error on %s", err, tt.param)
			}
			if n := len(fake.Requests()); n != 0 {
				t.Errorf("the fake got %d requests, want none", n)
			}
		})
	}
}

// TestNumbersKeepTheirDigits guards the document conversion: the SDK
// re-encodes documents, and a float64 round trip would turn a large integer
// argument into 12345678901234567000.
func TestNumbersKeepTheirDigits(t *testing.T) {
	p, fake := newAdapter(t)
	body := `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{\"id\":12345678901234567890,\"x\":1.10}"}}]},{"role":"tool","tool_call_id":"c","content":"ok"}],"tools":[{"type":"function","function":{"name":"f"}}]}`
	if _, err := p.Chat(context.Background(), chatRequest(t, body)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Messages []struct {
			Content []struct {
				ToolUse *struct {
					Input json.RawMessage `json:"input"`
				} `json:"toolUse"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := fake.Last(t).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if in := string(got.Messages[1].Content[0].ToolUse.Input); in != `{"id":12345678901234567890,"x":1.10}` {
		t.Errorf("got input %s, want the digits as the client wrote them", in)
	}
}
