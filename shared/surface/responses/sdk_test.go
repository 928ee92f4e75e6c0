package responses

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	oresp "github.com/openai/openai-go/v3/responses"
)

// fakeEngine stands in for the router's engine behind this package: it
// answers a chat request with a fixed tool call, or with fixed text once the
// conversation holds the tool's result. The model "flaky" fails after its
// first streamed chunk.
type fakeEngine struct {
	mu   sync.Mutex
	seen []*llm.ChatRequest
}

const (
	callAnswer = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`
	textAnswer = `{"role":"assistant","content":"It is 21°C in Paris."}`
)

func (f *fakeEngine) answer(c *llm.ChatRequest) (message, finish string, chunks []string) {
	if c.Messages[len(c.Messages)-1].Role == "tool" {
		return textAnswer, "stop", []string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"It is 21°C"}`, ""),
			chunk(`{"content":" in Paris."}`, ""), chunk(`{}`, "stop"), usageChunk}
	}
	return callAnswer, "tool_calls", []string{
		chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
		chunk(`{}`, "tool_calls"), usageChunk}
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req, e := Parse(body)
	if e != nil {
		writeError(w, e)
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, req.Chat)
	f.mu.Unlock()
	message, finish, chunks := f.answer(req.Chat)
	if !req.Stream() {
		out, err := Render(nil, req, []byte(chatCompletion(message, finish)), streamUsage)
		if err != nil {
			writeError(w, &llm.Error{Status: 500, Message: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	s := NewStream(req)
	for i, c := range chunks {
		out, err := s.Chunk(nil, []byte(c))
		if err != nil {
			_, _ = w.Write(s.Fail(nil, &llm.Error{Status: 502, Message: "bad chunk"}))
			return
		}
		_, _ = w.Write(out)
		if req.Chat.Model == "flaky" && i == 1 {
			_, _ = w.Write(s.Fail(nil, &llm.Error{Kind: llm.KindOverloaded, Status: 529, Message: "the provider is overloaded"}))
			return
		}
	}
	_, _ = w.Write(s.Finish(nil, nil))
}

// writeError writes OpenAI's error body, as the gateway does.
func writeError(w http.ResponseWriter, e *llm.Error) {
	b := []byte(`{"error":{"message":`)
	b = rawjson.AppendString(b, e.Message)
	b = append(b, `,"type":`...)
	b = rawjson.AppendString(b, e.Type)
	b = append(b, `,"param":`...)
	b = rawjson.AppendString(b, e.Param)
	b = append(b, `,"code":`...)
	b = rawjson.AppendString(b, e.Code)
	b = append(b, "}}"...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_, _ = w.Write(b)
}

func sdkClient(t *testing.T) (oai.Client, *fakeEngine) {
	eng := &fakeEngine{}
	srv := httptest.NewServer(eng)
	t.Cleanup(srv.Close)
	return oai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("test"), option.WithMaxRetries(0)), eng
}

var weatherTool = oresp.ToolParamOfFunction("get_weather", map[string]any{
	"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"},
	"additionalProperties": false}, true)

// followUp is the next request of a stateless agent loop: the conversation
// so far, the previous answer's items as the SDK turns them into input, and
// the tool's result.
func followUp(first []oresp.ResponseInputItemUnionParam, answer []oresp.ResponseOutputItemUnion, result string) oresp.ResponseInputParam {
	input := append(oresp.ResponseInputParam{}, first...)
	for _, it := range answer {
		switch it.Type {
		case "function_call":
			call := it.AsFunctionCall()
			p := call.ToParam() // the item as received, raw
			input = append(input, oresp.ResponseInputItemUnionParam{OfFunctionCall: &p})
			out := oresp.ResponseInputItemParamOfFunctionCallOutput(result)
			out.OfFunctionCallOutput.CallID = oai.String(call.CallID)
			input = append(input, out)
		case "message":
			p := it.AsMessage().ToParam()
			input = append(input, oresp.ResponseInputItemUnionParam{OfOutputMessage: &p})
		}
	}
	return input
}

// TestSDKAgentLoop drives the translation with openai-go's Responses
// client: a tool call, then the answer once the tool's result is sent back
// with the previous output items.
func TestSDKAgentLoop(t *testing.T) {
	client, eng := sdkClient(t)
	ctx := context.Background()
	first := []oresp.ResponseInputItemUnionParam{oresp.ResponseInputItemParamOfMessage("Weather in Paris?", oresp.EasyInputMessageRoleUser)}
	params := oresp.ResponseNewParams{Model: "fast", Instructions: oai.String("Be terse."), Tools: []oresp.ToolUnionParam{weatherTool},
		Input: oresp.ResponseNewParamsInputUnion{OfInputItemList: first}, MaxOutputTokens: oai.Int(300), Store: oai.Bool(false),
		Metadata: map[string]string{"team": "triage"}}
	resp, err := client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != "completed" || len(resp.Output) != 1 || resp.Output[0].Type != "function_call" {
		t.Fatalf("first answer: %s", resp.RawJSON())
	}
	call := resp.Output[0].AsFunctionCall()
	if call.Name != "get_weather" || call.Arguments != `{"city":"Paris"}` || call.CallID != "call_w1" {
		t.Errorf("call = %+v", call)
	}
	if resp.Usage.TotalTokens != 150 || resp.Instructions.OfString != "Be terse." || resp.Metadata["team"] != "triage" ||
		resp.MaxOutputTokens != 300 || resp.Tools[0].Name != "get_weather" {
		t.Errorf("usage or echoed settings: %s", resp.RawJSON())
	}

	params.Input = oresp.ResponseNewParamsInputUnion{OfInputItemList: followUp(first, resp.Output, `{"temp":21}`)}
	resp, err = client.Responses.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.OutputText(); got != "It is 21°C in Paris." {
		t.Errorf("second answer text = %q", got)
	}
	// The engine saw the loop as a chat conversation.
	last := eng.seen[len(eng.seen)-1]
	roles := ""
	for _, m := range last.Messages {
		roles += m.Role + " "
	}
	if roles != "system user assistant tool " || last.Messages[2].ToolCalls[0].ID != "call_w1" ||
		last.Messages[3].ToolCallID != "call_w1" || last.Messages[3].Content.Text != `{"temp":21}` ||
		*last.MaxCompletionTokens != 300 || len(last.Tools) != 1 || !*last.Tools[0].Function.Strict {
		t.Errorf("the engine saw %q: %+v", roles, last)
	}
}

// TestSDKStreaming runs the same loop with NewStreaming and reads the events
// as the SDK gives them.
func TestSDKStreaming(t *testing.T) {
	client, _ := sdkClient(t)
	ctx := context.Background()
	first := []oresp.ResponseInputItemUnionParam{oresp.ResponseInputItemParamOfMessage("Weather in Paris?", oresp.EasyInputMessageRoleUser)}
	params := oresp.ResponseNewParams{Model: "fast", Tools: []oresp.ToolUnionParam{weatherTool},
		Input: oresp.ResponseNewParamsInputUnion{OfInputItemList: first}}

	var args string
	var final oresp.Response
	stream := client.Responses.NewStreaming(ctx, params)
	n := 0
	for stream.Next() {
		ev := stream.Current()
		if ev.SequenceNumber != int64(n) {
			t.Errorf("event %d has sequence_number %d", n, ev.SequenceNumber)
		}
		n++
		switch ev.Type {
		case "response.function_call_arguments.delta":
			args += ev.Delta
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if args != `{"city":"Paris"}` || final.Status != "completed" || final.Output[0].AsFunctionCall().Arguments != args {
		t.Fatalf("streamed call: args %q final %s", args, final.RawJSON())
	}

	params.Input = oresp.ResponseNewParamsInputUnion{OfInputItemList: followUp(first, final.Output, `{"temp":21}`)}
	stream = client.Responses.NewStreaming(ctx, params)
	text := ""
	for stream.Next() {
		ev := stream.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text += ev.Delta
		case "response.completed":
			final = ev.AsResponseCompleted().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if text != "It is 21°C in Paris." || final.OutputText() != text || final.Usage.OutputTokens != 30 {
		t.Errorf("streamed text %q, final %s", text, final.RawJSON())
	}
}

// TestSDKErrors: a refused request is an *openai.Error naming the param; a
// stream that fails after it started ends with response.failed.
func TestSDKErrors(t *testing.T) {
	client, _ := sdkClient(t)
	ctx := context.Background()
	_, err := client.Responses.New(ctx, oresp.ResponseNewParams{Model: "fast", PreviousResponseID: oai.String("resp_1"),
		Input: oresp.ResponseNewParamsInputUnion{OfString: oai.String("hi")}})
	var apiErr *oai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "previous_response_id" || apiErr.Code != codeUnsupported {
		t.Errorf("err = %v, want a 400 naming previous_response_id", err)
	}
	_, err = client.Responses.New(ctx, oresp.ResponseNewParams{Model: "fast",
		Input: oresp.ResponseNewParamsInputUnion{OfString: oai.String("hi")},
		Tools: []oresp.ToolUnionParam{{OfWebSearch: &oresp.WebSearchToolParam{Type: "web_search"}}}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "tools[0].type" {
		t.Errorf("err = %v, want a 400 naming tools[0].type", err)
	}

	stream := client.Responses.NewStreaming(ctx, oresp.ResponseNewParams{Model: "flaky",
		Input: oresp.ResponseNewParamsInputUnion{OfString: oai.String("hi")}})
	var types []string
	var failed oresp.Response
	for stream.Next() {
		ev := stream.Current()
		types = append(types, ev.Type)
		if ev.Type == "response.failed" {
			failed = ev.AsResponseFailed().Response
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if len(types) == 0 || types[len(types)-1] != "response.failed" || failed.Status != "failed" ||
		failed.Error.Code != "server_error" || failed.Error.Message != "the provider is overloaded" {
		t.Errorf("events %v, failed %s", types, failed.RawJSON())
	}
}
