package openai

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	oai "github.com/openai/openai-go/v3"
)

func completion(id, content string, prompt, completion int) llm.Response {
	body := `{"id":"` + id + `","object":"chat.completion","created":1700000000,"model":"gpt-4o","system_fingerprint":"fp_1",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"` + content + `","refusal":null},"logprobs":null,"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
	return llm.Response{Body: []byte(body), Usage: llm.Usage{PromptTokens: prompt, CompletionTokens: completion}}
}

func TestAppendMerged(t *testing.T) {
	twoChoices := llm.Response{Body: []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m",` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"},` +
		`{"message":{"role":"assistant","content":"y"},"finish_reason":"length"}]}`),
		Usage: llm.Usage{PromptTokens: 5, CompletionTokens: 2, CachedTokens: 3, ReasoningTokens: 1}}
	tests := []struct {
		name      string
		answers   []llm.Response
		contents  []string
		wantUsage llm.Usage
	}{
		{"one", []llm.Response{completion("a", "one", 10, 3)}, []string{"one"}, llm.Usage{PromptTokens: 10, CompletionTokens: 3}},
		{"three, prompt counted per call", []llm.Response{completion("a", "one", 10, 3), completion("b", "two", 10, 4), completion("c", "three", 11, 5)},
			[]string{"one", "two", "three"}, llm.Usage{PromptTokens: 31, CompletionTokens: 12}},
		{"an answer with two choices, one without index", []llm.Response{completion("a", "one", 5, 1), twoChoices},
			[]string{"one", "x", "y"}, llm.Usage{PromptTokens: 10, CompletionTokens: 3, CachedTokens: 3, ReasoningTokens: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, u, err := AppendMerged(nil, tt.answers)
			if err != nil {
				t.Fatal(err)
			}
			if u != tt.wantUsage {
				t.Errorf("usage = %+v, want %+v", u, tt.wantUsage)
			}
			var got oai.ChatCompletion
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("openai-go cannot read the merged answer: %v\n%s", err, out)
			}
			if got.ID != "a" || got.Model != "gpt-4o" || got.JSON.SystemFingerprint.Raw() != `"fp_1"` || got.Created != 1700000000 {
				t.Errorf("first answer's members not kept: %s", out)
			}
			if len(got.Choices) != len(tt.contents) {
				t.Fatalf("got %d choices, want %d: %s", len(got.Choices), len(tt.contents), out)
			}
			for i, c := range got.Choices {
				if c.Index != int64(i) || c.Message.Content != tt.contents[i] {
					t.Errorf("choice %d = index %d %q, want index %d %q", i, c.Index, c.Message.Content, i, tt.contents[i])
				}
			}
			if got.Usage.PromptTokens != int64(tt.wantUsage.PromptTokens) || got.Usage.CompletionTokens != int64(tt.wantUsage.CompletionTokens) ||
				got.Usage.TotalTokens != int64(tt.wantUsage.Total()) ||
				got.Usage.PromptTokensDetails.CachedTokens != int64(tt.wantUsage.CachedTokens) ||
				got.Usage.CompletionTokensDetails.ReasoningTokens != int64(tt.wantUsage.ReasoningTokens) {
				t.Errorf("usage in body = %+v, want %+v", got.Usage, tt.wantUsage)
			}
			if strings.Count(string(out), `"usage"`) != 1 {
				t.Errorf("usage written more than once: %s", out)
			}
		})
	}
}

func TestAppendMergedErrors(t *testing.T) {
	tests := []struct {
		name    string
		answers []llm.Response
	}{
		{"none", nil},
		{"not an object", []llm.Response{{Body: []byte(`[1]`)}}},
		{"no choices", []llm.Response{{Body: []byte(`{"id":"a"}`)}}},
		{"second without choices", []llm.Response{completion("a", "x", 1, 1), {Body: []byte(`{"id":"b"}`)}}},
		{"choice not an object", []llm.Response{{Body: []byte(`{"choices":[1]}`)}}},
	}
	for _, tt := range tests {
		if out, _, err := AppendMerged(nil, tt.answers); err == nil {
			t.Errorf("%s: AppendMerged = %s, want an error", tt.name, out)
		}
	}
}

func TestAppendChunkAs(t *testing.T) {
	tests := []struct {
		name, chunk, id string
		index           int
		want            string
	}{
		{"index and id", `{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}`, "chatcmpl-1", 2,
			`{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":2,"delta":{"content":"a"},"finish_reason":null}]}`},
		{"id kept when empty", `{"id":"x","choices":[{"index":0,"delta":{}}]}`, "", 1,
			`{"id":"x","choices":[{"index":1,"delta":{}}]}`},
		{"usage chunk", `{"id":"x","choices":[],"usage":{"prompt_tokens":1}}`, "y", 3,
			`{"id":"y","choices":[],"usage":{"prompt_tokens":1}}`},
		{"choice without index", `{"choices":[{"delta":{}}]}`, "y", 1, `{"choices":[{"index":1,"delta":{}}]}`},
		{"empty choice", `{"choices":[{}]}`, "", 4, `{"choices":[{"index":4}]}`},
	}
	for _, tt := range tests {
		got, err := AppendChunkAs(nil, []byte(tt.chunk), tt.id, tt.index)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s:\n got %s, %v\nwant %s", tt.name, got, err, tt.want)
		}
	}
	if got, err := AppendChunkAs(nil, []byte(`{"choices":[1`), "", 0); err == nil {
		t.Errorf("malformed chunk: got %s, want an error", got)
	}
}

// TestAppendChunkAsAccumulates interleaves two streams' chunks, as the
// router relays n streams, and accumulates them with openai-go.
func TestAppendChunkAsAccumulates(t *testing.T) {
	streams := [][]string{
		{`{"id":"s0","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"id":"s0","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}`,
			`{"id":"s0","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}`},
		{`{"id":"s1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`,
			`{"id":"s1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]}`,
			`{"id":"s1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`},
	}
	var acc oai.ChatCompletionAccumulator
	for step := range 3 {
		for n, s := range streams {
			out, err := AppendChunkAs(nil, []byte(s[step]), "chatcmpl-merged", n)
			if err != nil {
				t.Fatal(err)
			}
			var chunk oai.ChatCompletionChunk
			if err := json.Unmarshal(out, &chunk); err != nil {
				t.Fatal(err)
			}
			if !acc.AddChunk(chunk) {
				t.Fatalf("the accumulator refused %s", out)
			}
		}
	}
	if len(acc.Choices) != 2 {
		t.Fatalf("accumulated %d choices, want 2", len(acc.Choices))
	}
	if got := acc.Choices[0].Message.Content; got != "Hello" {
		t.Errorf("choice 0 content = %q, want Hello", got)
	}
	if tc := acc.Choices[1].Message.ToolCalls; len(tc) != 1 || tc[0].Function.Name != "f" || acc.Choices[1].FinishReason != "tool_calls" {
		t.Errorf("choice 1 = %+v, want the tool call f", acc.Choices[1])
	}
}

func BenchmarkAppendMerged(b *testing.B) {
	answers := []llm.Response{completion("a", "one answer of a few words", 120, 30), completion("b", "another answer", 120, 20)}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, _, err = AppendMerged(dst[:0], answers); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendChunkAs(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-abc","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":" the"},"logprobs":null,"finish_reason":null}]}`)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = AppendChunkAs(dst[:0], chunk, "chatcmpl-merged", 1); err != nil {
			b.Fatal(err)
		}
	}
}
