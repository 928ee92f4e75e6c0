package gemini

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// jsonEqual reports whether two JSON texts hold the same value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("bad JSON %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestGenerateRequestFromChat(t *testing.T) {
	const synthesized = "call_gm0123456789abcdef"
	tests := []struct {
		name string
		in   string // OpenAI request body
		want string // Gemini request body
	}{
		{
			name: "user text",
			in:   `{"model":"m","messages":[{"role":"user","content":"Hi"}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`,
		},
		{
			name: "system and developer hoisted into systemInstruction",
			in: `{"model":"m","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hi"},
				{"role":"assistant","content":"Hello."},{"role":"developer","content":[{"type":"text","text":"Use French."}]},
				{"role":"user","content":"Again"}]}`,
			want: `{"systemInstruction":{"parts":[{"text":"Be terse."},{"text":"Use French."}]},
				"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello."}]},
				{"role":"user","parts":[{"text":"Again"}]}]}`,
		},
		{
			name: "only a system message becomes the user turn",
			in:   `{"model":"m","messages":[{"role":"system","content":"Tell a joke."}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Tell a joke."}]}]}`,
		},
		{
			name: "text and data URI image parts",
			in: `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"What is this?"},{"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}}]}]}`,
		},
		{
			name: "empty assistant turn dropped",
			in:   `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null},{"role":"user","content":"Hello?"}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"user","parts":[{"text":"Hello?"}]}]}`,
		},
		{
			name: "tool round trip: calls, consecutive tool messages in one content",
			in: `{"model":"m","messages":[{"role":"user","content":"Weather and time in Paris?"},
				{"role":"assistant","content":null,"tool_calls":[
					{"id":"` + synthesized + `","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
					{"id":"gemini-id-2","type":"function","function":{"name":"get_time","arguments":""}}]},
				{"role":"tool","tool_call_id":"` + synthesized + `","content":"{\"temp\":21}"},
				{"role":"tool","tool_call_id":"gemini-id-2","content":"noon"},
				{"role":"assistant","content":"21°C at noon."},
				{"role":"user","content":"Thanks"}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Weather and time in Paris?"}]},
				{"role":"model","parts":[
					{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"},
					{"functionCall":{"id":"gemini-id-2","name":"get_time","args":{}}}]},
				{"role":"user","parts":[
					{"functionResponse":{"name":"get_weather","response":{"output":{"temp":21}}}},
					{"functionResponse":{"id":"gemini-id-2","name":"get_time","response":{"output":"noon"}}}]},
				{"role":"model","parts":[{"text":"21°C at noon."}]},
				{"role":"user","parts":[{"text":"Thanks"}]}]}`,
		},
		{
			name: "thought signatures from extra_content are echoed",
			in: `{"model":"m","messages":[{"role":"user","content":"Go"},
				{"role":"assistant","content":"Calling.","tool_calls":[
					{"id":"a","type":"function","function":{"name":"f","arguments":"{}"},"extra_content":{"google":{"thought_signature":"c2lnLTE="}}},
					{"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}]},
				{"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"[1,2]"}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Go"}]},
				{"role":"model","parts":[{"text":"Calling."},
					{"functionCall":{"id":"a","name":"f","args":{}},"thoughtSignature":"c2lnLTE="},
					{"functionCall":{"id":"b","name":"g","args":{}}}]},
				{"role":"user","parts":[{"functionResponse":{"id":"a","name":"f","response":{"output":1}}},
					{"functionResponse":{"id":"b","name":"g","response":{"output":[1,2]}}}]}]}`,
		},
		{
			name: "tools with a JSON Schema and tool_choice auto",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"auto",
				"tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false},"strict":true}},
				{"type":"function","function":{"name":"ping"}}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],
				"tools":[{"functionDeclarations":[{"name":"get_weather","description":"Weather","parametersJsonSchema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}},{"name":"ping"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"AUTO"}}}`,
		},
		{
			name: "tool_choice required",
			in:   `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"ANY"}}}`,
		},
		{
			name: "tool_choice none",
			in:   `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":"none","tools":[{"type":"function","function":{"name":"f"}}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"tools":[{"functionDeclarations":[{"name":"f"}]}],"toolConfig":{"functionCallingConfig":{"mode":"NONE"}}}`,
		},
		{
			name: "tool_choice names a function",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":{"type":"function","function":{"name":"g"}},
				"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g"}}]}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"tools":[{"functionDeclarations":[{"name":"f"},{"name":"g"}]}],
				"toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["g"]}}}`,
		},
		{
			name: "generation settings",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"}],"temperature":0.2,"top_p":0.9,"max_tokens":100,
				"max_completion_tokens":50,"stop":"END","n":2,"seed":7,"presence_penalty":0.5,"frequency_penalty":-0.5,
				"response_format":{"type":"json_object"},"user":"u-1","parallel_tool_calls":false}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"temperature":0.2,"topP":0.9,
				"maxOutputTokens":50,"stopSequences":["END"],"candidateCount":2,"seed":7,"presencePenalty":0.5,"frequencyPenalty":-0.5,
				"responseMimeType":"application/json"}}`,
		},
		{
			name: "json_schema response format",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"}],"stop":["a","b"],
				"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":{"type":"object","properties":{"x":{"type":"integer"}}}}}}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"stopSequences":["a","b"],
				"responseMimeType":"application/json","responseJsonSchema":{"type":"object","properties":{"x":{"type":"integer"}}}}}`,
		},
		{
			name: "text response format sends nothing",
			in:   `{"model":"m","messages":[{"role":"user","content":"Hi"}],"response_format":{"type":"text"}}`,
			want: `{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat, err := llm.ParseChat([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseChat: %v", err)
			}
			g, err := generateRequestFromChat(chat, []byte(tt.in), "gemini-2.0-flash")
			if err != nil {
				t.Fatalf("generateRequestFromChat: %v", err)
			}
			got, err := json.Marshal(g)
			if err != nil {
				t.Fatal(err)
			}
			if !jsonEqual(t, got, []byte(tt.want)) {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestGenerateRequestFromChatErrors(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantParam string
		wantCode  string
	}{
		{
			name:      "remote image URL",
			in:        `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url", wantCode: "unsupported_image_url",
		},
		{
			name:      "data URI not base64",
			in:        `{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/svg+xml,%3Csvg%3E"}}]}]}`,
			wantParam: "messages[0].content[0].image_url.url", wantCode: llm.CodeInvalidValue,
		},
		{
			name:      "unsupported part type",
			in:        `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}}]}]}`,
			wantParam: "messages[0].content[0].type", wantCode: llm.CodeInvalidValue,
		},
		{
			name: "arguments not an object",
			in: `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":null,
				"tool_calls":[{"id":"x","type":"function","function":{"name":"f","arguments":"[1]"}}]}]}`,
			wantParam: "messages[1].tool_calls[0].function.arguments", wantCode: llm.CodeInvalidValue,
		},
		{
			name:      "tool message answers no call",
			in:        `{"model":"m","messages":[{"role":"user","content":"Hi"},{"role":"tool","tool_call_id":"nope","content":"1"}]}`,
			wantParam: "messages[1].tool_call_id", wantCode: llm.CodeInvalidValue,
		},
		{
			name:      "tool_choice names an undeclared function",
			in:        `{"model":"m","messages":[{"role":"user","content":"Hi"}],"tool_choice":{"type":"function","function":{"name":"g"}},"tools":[{"type":"function","function":{"name":"f"}}]}`,
			wantParam: "tool_choice", wantCode: llm.CodeInvalidValue,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chat, err := llm.ParseChat([]byte(tt.in))
			if err != nil {
				t.Fatalf("ParseChat: %v", err)
			}
			_, err = generateRequestFromChat(chat, []byte(tt.in), "gemini-2.0-flash")
			e := llm.AsError(err)
			if e == nil {
				t.Fatalf("err = %v, want an *llm.Error", err)
			}
			// A 400 for this provider; unsupported ones (another provider
			// may take them) or invalid ones alike.
			if e.Status != 400 || (e.Kind != llm.KindInvalidRequest && e.Kind != llm.KindUnsupported) || e.Param != tt.wantParam ||
				e.Code != tt.wantCode || e.Message == "" {
				t.Errorf("got %d %v param %q code %q, want 400 invalid_request param %q code %q",
					e.Status, e.Kind, e.Param, e.Code, tt.wantParam, tt.wantCode)
			}
		})
	}
}

func TestSeed32(t *testing.T) {
	tests := []struct {
		in   int64
		want int32
	}{
		{7, 7},
		{-7, -7},
		{math.MaxInt32, math.MaxInt32},
		{math.MinInt32, math.MinInt32},
		{1 << 32, 1},              // high half folded onto the low half
		{1<<32 | 5, 4},            // 5 ^ 1
		{math.MaxInt64, -1 << 31}, // 0xffffffff ^ 0x7fffffff
	}
	for _, tt := range tests {
		if got := seed32(tt.in); got != tt.want {
			t.Errorf("seed32(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
