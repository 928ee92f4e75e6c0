package responses

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	oresp "github.com/openai/openai-go/v3/responses"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	name string
	data []byte
}

// readEvents splits a Responses event stream and checks its framing: every
// event is `event: NAME\ndata: JSON\n\n` on one data line, its type is its
// name, and sequence numbers count up from first.
func readEvents(t *testing.T, out []byte, first int) []sseEvent {
	t.Helper()
	if len(out) == 0 {
		return nil
	}
	if !bytes.HasSuffix(out, []byte("\n\n")) {
		t.Fatalf("the stream does not end an event: %q", out)
	}
	var evs []sseEvent
	for i, raw := range strings.Split(strings.TrimSuffix(string(out), "\n\n"), "\n\n") {
		lines := strings.Split(raw, "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "event: ") || !strings.HasPrefix(lines[1], "data: ") {
			t.Fatalf("event %d is not one event line and one data line: %q", i, raw)
		}
		ev := sseEvent{name: lines[0][len("event: "):], data: []byte(lines[1][len("data: "):])}
		var head struct {
			Type string `json:"type"`
			Seq  *int   `json:"sequence_number"`
		}
		if err := json.Unmarshal(ev.data, &head); err != nil {
			t.Fatalf("event %d data is not JSON: %v\n%s", i, err, ev.data)
		}
		if head.Type != ev.name || head.Seq == nil || *head.Seq != first+i {
			t.Fatalf("event %d: type %q sequence %v under event %q, want sequence %d", i, head.Type, head.Seq, ev.name, first+i)
		}
		evs = append(evs, ev)
	}
	return evs
}

func names(evs []sseEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = strings.TrimPrefix(e.name, "response.")
	}
	return out
}

// chunk is a chat.completion.chunk with the given delta and finish_reason.
func chunk(delta, finish string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741476542,"model":"gpt-4.1-mini",` +
		`"choices":[{"index":0,"delta":` + delta + `,"logprobs":null,"finish_reason":` + f + `}]}`
}

const usageChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741476542,"model":"gpt-4.1-mini","choices":[],` +
	`"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":100},"completion_tokens_details":{"reasoning_tokens":12}}}`

var streamUsage = llm.Usage{PromptTokens: 120, CompletionTokens: 30, CachedTokens: 100, ReasoningTokens: 12}

// The event names a text part and an item add around their deltas.
var (
	openText  = []string{"output_item.added", "content_part.added"}
	closeText = []string{"output_text.done", "content_part.done", "output_item.done"}
	start     = []string{"created", "in_progress"}
)

func seq(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			out = append(out, v)
		case []string:
			out = append(out, v...)
		}
	}
	return out
}

var streamCases = []struct {
	name   string
	chunks []string
	want   []string
	// message and finish make the chat.completion this stream adds up to:
	// Render of it must give the response that response.completed carries.
	message, finish string
	items           []wantItem
}{
	{"text",
		[]string{chunk(`{"role":"assistant","content":""}`, ""), chunk(`{"content":"Hel"}`, ""), chunk(`{"content":"lo \"you\"\n"}`, ""),
			chunk(`{}`, "stop"), usageChunk},
		seq(start, openText, "output_text.delta", "output_text.delta", closeText, "completed"),
		`{"role":"assistant","content":"Hello \"you\"\n"}`, "stop",
		[]wantItem{{typ: "message", status: "completed", text: "Hello \"you\"\n"}}},
	{"text then two tool calls",
		[]string{chunk(`{"role":"assistant","content":"Let me check."}`, ""),
			chunk(`{"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`, ""),
			chunk(`{}`, "tool_calls"), usageChunk},
		seq(start, openText, "output_text.delta", closeText,
			"output_item.added", "function_call_arguments.delta", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done",
			"output_item.added", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done", "completed"),
		`{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_a","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},` +
			`{"id":"call_b","type":"function","function":{"name":"get_time","arguments":"{}"}}]}`, "tool_calls",
		[]wantItem{{typ: "message", status: "completed", text: "Let me check."},
			{typ: "function_call", status: "completed", callID: "call_a", name: "get_weather", args: `{"city":"Paris"}`},
			{typ: "function_call", status: "completed", callID: "call_b", name: "get_time", args: `{}`}}},
	{"whole calls in one chunk (Gemini-style)",
		[]string{chunk(`{"role":"assistant","tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},`+
			`{"index":1,"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]}`, "tool_calls")},
		seq(start, "output_item.added", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done",
			"output_item.added", "function_call_arguments.delta", "function_call_arguments.done", "output_item.done", "completed"),
		`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},` +
			`{"id":"c2","type":"function","function":{"name":"g","arguments":"{}"}}]}`, "tool_calls",
		[]wantItem{{typ: "function_call", status: "completed", callID: "c1", name: "f", args: `{"a":1}`},
			{typ: "function_call", status: "completed", callID: "c2", name: "g", args: `{}`}}},
	{"reasoning then text",
		[]string{chunk(`{"role":"assistant","reasoning_content":"Think"}`, ""), chunk(`{"reasoning_content":"ing."}`, ""),
			chunk(`{"content":"42"}`, "stop"), usageChunk},
		seq(start, "output_item.added", "content_part.added", "reasoning_text.delta", "reasoning_text.delta",
			"reasoning_text.done", "content_part.done", "output_item.done", openText, "output_text.delta", closeText, "completed"),
		`{"role":"assistant","content":"42","reasoning_content":"Thinking."}`, "stop",
		[]wantItem{{typ: "reasoning", status: "completed", text: "Thinking."}, {typ: "message", status: "completed", text: "42"}}},
	{"refusal",
		[]string{chunk(`{"role":"assistant","refusal":"I can't"}`, ""), chunk(`{"refusal":" help."}`, "stop")},
		seq(start, "output_item.added", "content_part.added", "refusal.delta", "refusal.delta", "refusal.done", "content_part.done", "output_item.done", "completed"),
		`{"role":"assistant","content":null,"refusal":"I can't help."}`, "stop",
		[]wantItem{{typ: "message", status: "completed", refusal: "I can't help."}}},
	{"cut at the token limit",
		[]string{chunk(`{"content":"Once upon"}`, ""), chunk(`{"content":" a"}`, "length"), usageChunk},
		seq(start, openText, "output_text.delta", "output_text.delta", closeText, "incomplete"),
		`{"role":"assistant","content":"Once upon a"}`, "length",
		[]wantItem{{typ: "message", status: "incomplete", text: "Once upon a"}}},
	{"nothing but a finish",
		[]string{chunk(`{"role":"assistant","content":""}`, "stop")},
		seq(start, openText, closeText, "completed"),
		`{"role":"assistant","content":""}`, "stop",
		[]wantItem{{typ: "message", status: "completed", text: ""}}},
}

func TestStream(t *testing.T) {
	for _, tt := range streamCases {
		t.Run(tt.name, func(t *testing.T) {
			req := request(t, `{"model":"fast","input":"hi","stream":true,"instructions":"Be terse."}`)
			s := NewStream(req)
			var out []byte
			for i, c := range tt.chunks {
				var err error
				n := len(out)
				if out, err = s.Chunk(out, []byte(c)); err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if i == 0 && len(out) == n {
					t.Fatal("the first chunk wrote nothing: the response must start there")
				}
			}
			out = s.Finish(out, nil)
			evs := readEvents(t, out, 0)
			if got := names(evs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events\n got %v\nwant %v", got, tt.want)
			}

			// Every event decodes as the SDK's stream event, and the SDK's
			// accumulator takes the sequence whole.
			var acc oresp.ResponseAccumulator
			for i, ev := range evs {
				var u oresp.ResponseStreamEventUnion
				if err := json.Unmarshal(ev.data, &u); err != nil || u.Type != ev.name || u.SequenceNumber != int64(i) {
					t.Fatalf("event %d does not decode as a stream event (%v): %s", i, err, ev.data)
				}
				var se oresp.ResponsesServerEventUnion
				if err := json.Unmarshal(ev.data, &se); err != nil {
					t.Fatal(err)
				}
				if err := acc.AddEvent(se); err != nil {
					t.Fatalf("the accumulator refused event %d: %v\n%s", i, err, ev.data)
				}
			}
			final, err := acc.ReconstructedResponse()
			if err != nil {
				t.Fatal(err)
			}
			checkOutput(t, final.Output, tt.items)
			snap := acc.Snapshot()
			if len(snap.Output) != len(tt.items) {
				t.Fatalf("accumulated %d items, want %d", len(snap.Output), len(tt.items))
			}
			for i, w := range tt.items {
				o := snap.Output[i]
				switch w.typ {
				case "function_call":
					if o.Arguments != w.args || o.Name != w.name || o.CallID != w.callID {
						t.Errorf("accumulated call %d: %+v, want %+v", i, o, w)
					}
				case "message":
					if w.refusal == "" && o.Text[0] != w.text {
						t.Errorf("accumulated text %d: %q, want %q", i, o.Text[0], w.text)
					}
				}
			}

			// The last event's response is what Render gives for the whole answer.
			last := evs[len(evs)-1]
			var env struct {
				Response json.RawMessage `json:"response"`
			}
			if err := json.Unmarshal(last.data, &env); err != nil {
				t.Fatal(err)
			}
			rendered, err := Render(nil, req, []byte(chatCompletion(tt.message, tt.finish)), streamUsage)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunks[len(tt.chunks)-1] != usageChunk {
				// No usage came: the stream says null.
				rendered = bytes.Replace(rendered, appendUsage(nil, &streamUsage), []byte("null"), 1)
			}
			if !bytes.Equal(env.Response, rendered) {
				t.Errorf("the final response differs from Render's\nstream %s\nrender %s", env.Response, rendered)
			}
			wantInput := int64(0)
			if tt.chunks[len(tt.chunks)-1] == usageChunk {
				wantInput = 120
			}
			if final.Usage.InputTokens != wantInput {
				t.Errorf("accumulated usage %+v, want %d input tokens", final.Usage, wantInput)
			}
		})
	}
}

func TestStreamEventFields(t *testing.T) {
	req := request(t, `{"model":"fast","input":"hi","stream":true}`)
	s := NewStream(req)
	out, _ := s.Chunk(nil, []byte(chunk(`{"content":"Hi"}`, "")))
	out, _ = s.Chunk(out, []byte(chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "tool_calls")))
	out = s.Finish(out, &streamUsage)
	evs := readEvents(t, out, 0)
	byName := map[string]oresp.ResponseStreamEventUnion{}
	for _, ev := range evs {
		var u oresp.ResponseStreamEventUnion
		if err := json.Unmarshal(ev.data, &u); err != nil {
			t.Fatal(err)
		}
		if _, seen := byName[ev.name]; !seen {
			byName[ev.name] = u
		}
	}
	msgID, fcID := testID[len("resp_"):]+"0000", testID[len("resp_"):]+"0001"
	created := byName["response.created"].AsResponseCreated().Response
	if created.ID != testID || created.Status != "in_progress" || len(created.Output) != 0 || created.CreatedAt != 1741476542 || created.Model != "gpt-4.1-mini" {
		t.Errorf("response.created: %+v", created)
	}
	added := byName["response.output_item.added"].AsResponseOutputItemAdded()
	if added.OutputIndex != 0 || added.Item.ID != "msg_"+msgID || added.Item.Status != "in_progress" || added.Item.Type != "message" {
		t.Errorf("output_item.added: %+v", added)
	}
	delta := byName["response.output_text.delta"].AsResponseOutputTextDelta()
	if delta.Delta != "Hi" || delta.ItemID != "msg_"+msgID || delta.OutputIndex != 0 || delta.ContentIndex != 0 {
		t.Errorf("output_text.delta: %+v", delta)
	}
	done := byName["response.output_text.done"].AsResponseOutputTextDone()
	if done.Text != "Hi" || done.ItemID != "msg_"+msgID {
		t.Errorf("output_text.done: %+v", done)
	}
	args := byName["response.function_call_arguments.done"].AsResponseFunctionCallArgumentsDone()
	if args.Arguments != "{}" || args.ItemID != "fc_"+fcID || args.OutputIndex != 1 {
		t.Errorf("function_call_arguments.done: %+v", args)
	}
	completed := byName["response.completed"].AsResponseCompleted().Response
	if completed.Status != "completed" || completed.Usage.TotalTokens != 150 || completed.OutputText() != "Hi" ||
		completed.Output[1].AsFunctionCall().CallID != "call_1" {
		t.Errorf("response.completed: %+v", completed)
	}
}

func TestStreamFail(t *testing.T) {
	overloaded := &llm.Error{Kind: llm.KindOverloaded, Status: 529, Type: "api_error", Message: "the provider is overloaded"}
	limited := &llm.Error{Kind: llm.KindRateLimited, Status: http.StatusTooManyRequests, Type: "rate_limit_error", Message: "slow down"}
	tests := []struct {
		name   string
		chunks []string
		err    *llm.Error
		code   string
		want   []string
		items  []wantItem
	}{
		{"after text", []string{chunk(`{"content":"Hel"}`, "")}, overloaded, "server_error",
			seq(start, openText, "output_text.delta", "failed"),
			[]wantItem{{typ: "message", status: "incomplete", text: "Hel"}}},
		{"after a finished item", []string{chunk(`{"content":"Hi"}`, ""), chunk(`{"tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{"}}]}`, "")},
			limited, "rate_limit_exceeded",
			seq(start, openText, "output_text.delta", closeText, "output_item.added", "function_call_arguments.delta", "failed"),
			[]wantItem{{typ: "message", status: "completed", text: "Hi"}, {typ: "function_call", status: "incomplete", callID: "c", name: "f", args: "{"}}},
		{"before any chunk", nil, llm.InvalidRequest("", "", "bad"), "invalid_prompt",
			seq(start, "failed"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStream(request(t, `{"model":"m","input":"hi","stream":true}`))
			var out []byte
			for _, c := range tt.chunks {
				out, _ = s.Chunk(out, []byte(c))
			}
			out = s.Fail(out, tt.err)
			evs := readEvents(t, out, 0)
			if got := names(evs); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("events\n got %v\nwant %v", got, tt.want)
			}
			var u oresp.ResponseStreamEventUnion
			if err := json.Unmarshal(evs[len(evs)-1].data, &u); err != nil {
				t.Fatal(err)
			}
			failed := u.AsResponseFailed().Response
			if failed.Status != "failed" || string(failed.Error.Code) != tt.code || failed.Error.Message != tt.err.Message {
				t.Errorf("response.failed: status %q error %+v", failed.Status, failed.Error)
			}
			checkOutput(t, failed.Output, tt.items)
			// Nothing may follow the end.
			if more := s.Finish(nil, nil); len(more) != 0 {
				t.Errorf("Finish after Fail wrote %s", more)
			}
			if _, err := s.Chunk(nil, []byte(chunk(`{"content":"x"}`, ""))); !errors.Is(err, errEnded) {
				t.Errorf("Chunk after Fail: %v, want errEnded", err)
			}
		})
	}
}

func TestStreamChunkErrors(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   error
	}{
		{"not an object", []string{`[1]`}, errBadChunk},
		{"bad choice", []string{`{"choices":[{"index":0,"delta":{"content":"x"}]}`}, errBadChunk},
		{"tool call without a name", []string{chunk(`{"tool_calls":[{"index":0,"id":"c","function":{"arguments":"{}"}}]}`, "")}, errBadChunk},
		{"arguments after another item started", []string{
			chunk(`{"tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":1,"id":"b","function":{"name":"g","arguments":"{}"}}]}`, ""),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"}"}}]}`, "")}, errInterleaved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStream(request(t, `{"model":"m","input":"hi","stream":true}`))
			var err error
			for _, c := range tt.chunks {
				if _, err = s.Chunk(nil, []byte(c)); err != nil {
					break
				}
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestStreamIgnoresOtherChoices: the Responses API has no n, so only
// choice 0 is followed.
func TestStreamIgnoresOtherChoices(t *testing.T) {
	s := NewStream(request(t, `{"model":"m","input":"hi","stream":true}`))
	out, err := s.Chunk(nil, []byte(`{"model":"m","created":1,"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	out = s.Finish(out, nil)
	if bytes.Contains(out, []byte("other")) || !bytes.Contains(out, []byte(`"delta":"mine"`)) {
		t.Errorf("stream: %s", out)
	}
}

// TestStreamCallWithoutID: an upstream that gives a call no id still gets
// a call_id the client can answer.
func TestStreamCallWithoutID(t *testing.T) {
	s := NewStream(request(t, `{"model":"m","input":"hi","stream":true}`))
	out, err := s.Chunk(nil, []byte(chunk(`{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}`, "tool_calls")))
	if err != nil {
		t.Fatal(err)
	}
	out = s.Finish(out, nil)
	evs := readEvents(t, out, 0)
	var u oresp.ResponseStreamEventUnion
	if err := json.Unmarshal(evs[len(evs)-1].data, &u); err != nil {
		t.Fatal(err)
	}
	fc := u.AsResponseCompleted().Response.Output[0].AsFunctionCall()
	if want := "call_" + testID[len("resp_"):] + "0000"; fc.CallID != want {
		t.Errorf("call_id = %q, want %q", fc.CallID, want)
	}
}

func TestItemIDs(t *testing.T) {
	seen := map[string]bool{}
	for k := range 300 {
		for _, kind := range []byte{kindMessage, kindReasoning, kindCall} {
			id := itemID(testID, kind, k)
			if seen[id] {
				t.Fatalf("id %s repeats", id)
			}
			seen[id] = true
		}
	}
	if got := itemID(testID, kindCall, 26); got != "fc_0123456789abcdef0123456789abcdef001a" {
		t.Errorf("itemID = %s", got)
	}
}
