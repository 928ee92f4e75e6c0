package openai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// extendedRequest uses every member of the router's vocabulary that OpenAI
// does not know, and prompt_cache_key, which it does.
const extendedRequest = `{"model":"fast","messages":[` +
	`{"role":"system","content":[{"type":"text","text":"Long rules.","cache_control":{"type":"ephemeral","ttl":"1h"}}]},` +
	`{"role":"user","content":"Weather in Paris?","cache_control":{"type":"ephemeral"}},` +
	`{"role":"assistant","content":null,"reasoning_content":"One call.","thinking_blocks":[{"type":"thinking","thinking":"One call.","signature":"c2ln"}],` +
	`"tool_calls":[{"id":"D681PevKs","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},` +
	`{"role":"tool","tool_call_id":"D681PevKs","content":"14C"}],` +
	`"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}},"cache_control":{"type":"ephemeral"}}],` +
	`"include_reasoning":true,"prompt_cache_key":"triage"}`

// strictFor is fakeFor with OpenAI's own strictness for the openai dialect.
func strictFor(dialect string) *openaitest.Server {
	if dialect == DialectOpenAI {
		return openaitest.NewServer(dialect, openaitest.OpenAI(nil))
	}
	return fakeFor(dialect, nil)
}

// Every dialect sends the router's extension members only where its API
// takes them: OpenRouter keeps cache_control and include_reasoning; no API
// gets thinking_blocks; the strict fakes accept what each sends.
func TestDialectExtensions(t *testing.T) {
	for _, dialect := range config.Dialects {
		t.Run(dialect, func(t *testing.T) {
			s := strictFor(dialect)
			defer s.Close()
			req := request(t, extendedRequest, "fast", "up-model")
			if err := send(dialectProvider(t, s.BaseURL(), dialect, "env:UP_KEY"), req, false); err != nil {
				t.Fatalf("the %s fake refused what the dialect sent: %v", dialect, err)
			}
			got := s.Received()[0].Body
			has := func(member string) bool { return bytes.Contains(got, []byte(`"`+member+`"`)) }
			openRouter := dialect == DialectOpenRouter
			if has("thinking_blocks") {
				t.Errorf("thinking_blocks sent: %s", got)
			}
			if has("cache_control") != openRouter || has("include_reasoning") != openRouter {
				t.Errorf("cache_control %v, include_reasoning %v; want both %v: %s", has("cache_control"), has("include_reasoning"), openRouter, got)
			}
			if has("prompt_cache_key") == (dialect == DialectGroq) {
				t.Errorf("prompt_cache_key sent %v (Groq has no such member; the others take or ignore it): %s", has("prompt_cache_key"), got)
			}
			if !has("reasoning_content") && dialect == DialectDeepSeek {
				t.Errorf("DeepSeek needs reasoning_content back: %s", got)
			}
		})
	}
	// The strict OpenAI fake refuses the body as the client wrote it.
	s := openaitest.NewServer("openai", openaitest.OpenAI(nil))
	defer s.Close()
	resp, err := http.Post(s.BaseURL()+"/chat/completions", "application/json", strings.NewReader(extendedRequest))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("the OpenAI fake answered %d to the router's extensions, want 400", resp.StatusCode)
	}
}

// A request without the extensions costs nothing more: plain OpenAI still
// relays the client's bytes.
func TestDialectExtensionsNotUsed(t *testing.T) {
	req := request(t, plainRequest, "fast", "up-model")
	want, err := RequestBody(req, false)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newDialect(DialectOpenAI).body(req, false)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("got %s (%v), want the relayed body", got, err)
	}
}

// reasoning_effort goes to each dialect in the form its API takes for the
// model, or not at all.
func TestReasoningEffortPerDialect(t *testing.T) {
	tests := []struct {
		dialect, model, effort string
		want                   string // the member sent, "" for none
	}{
		{DialectOpenAI, "o4-mini", "high", `"reasoning_effort":"high"`},
		{DialectOpenAI, "gpt-5", "minimal", `"reasoning_effort":"minimal"`},
		{DialectOpenAI, "gpt-4o-mini", "low", ""},
		{DialectOpenAI, "gpt-4.1", "low", ""},
		{DialectOpenAI, "gpt-5-chat-latest", "low", ""},
		{DialectDeepSeek, "deepseek-reasoner", "high", ""},
		{DialectMistral, "magistral-medium-latest", "high", `"reasoning_effort":"high"`},
		{DialectMistral, "magistral-medium-latest", "low", ""},
		{DialectGroq, "openai/gpt-oss-120b", "minimal", `"reasoning_effort":"low"`},
		{DialectGroq, "openai/gpt-oss-120b", "medium", `"reasoning_effort":"medium"`},
		{DialectGroq, "qwen/qwen3-32b", "high", `"reasoning_effort":"default"`},
		{DialectGroq, "qwen/qwen3-32b", "none", `"reasoning_effort":"none"`},
		{DialectGroq, "llama-3.3-70b-versatile", "high", ""},
		{DialectXAI, "grok-3-mini", "medium", `"reasoning_effort":"high"`},
		{DialectXAI, "grok-3-mini", "minimal", `"reasoning_effort":"low"`},
		{DialectXAI, "grok-4.3", "medium", `"reasoning_effort":"medium"`},
		{DialectXAI, "grok-4-0709", "high", ""},
		{DialectOpenRouter, "anthropic/claude-sonnet-4.5", "medium", `"reasoning":{"effort":"medium"}`},
		{DialectQwen, "qwen3-max", "low", `"reasoning_effort":"low"`},
		{DialectOllama, "gpt-oss:20b", "low", `"reasoning_effort":"low"`},
	}
	for _, tt := range tests {
		t.Run(tt.dialect+"/"+tt.model+"/"+tt.effort, func(t *testing.T) {
			s := strictFor(tt.dialect)
			defer s.Close()
			req := request(t, `{"model":"fast","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"`+tt.effort+`"}`, "fast", tt.model)
			if err := send(dialectProvider(t, s.BaseURL(), tt.dialect, "env:UP_KEY"), req, false); err != nil {
				t.Fatalf("refused: %v", err)
			}
			var top map[string]json.RawMessage
			_ = json.Unmarshal(s.Received()[0].Body, &top)
			var got string
			if v, ok := top["reasoning_effort"]; ok {
				got = `"reasoning_effort":` + string(v)
			} else if v, ok := top["reasoning"]; ok {
				got = `"reasoning":` + string(v)
			}
			if got != tt.want {
				t.Errorf("sent %s, want %s", got, tt.want)
			}
		})
	}
	// The client's own reasoning object wins on OpenRouter.
	s := strictFor(DialectOpenRouter)
	defer s.Close()
	req := request(t, `{"model":"fast","messages":[{"role":"user","content":"hi"}],"reasoning_effort":"high","reasoning":{"max_tokens":2000}}`, "fast", "x/y")
	if err := send(dialectProvider(t, s.BaseURL(), DialectOpenRouter, "env:UP_KEY"), req, false); err != nil {
		t.Fatal(err)
	}
	if got := s.Received()[0].Body; !bytes.Contains(got, []byte(`"reasoning":{"max_tokens":2000}`)) || bytes.Contains(got, []byte("reasoning_effort")) {
		t.Errorf("sent %s", got)
	}
}
