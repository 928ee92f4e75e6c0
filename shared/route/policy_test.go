package route

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

const policyCfg = `
providers:
  - {name: claude, type: anthropic, key: "env:K"}
  - {name: aws, type: bedrock, region: us-east-1}
  - {name: oai, type: openai, key: "env:K"}
models:
  - {id: sonnet, provider: claude, price: {input: 3, output: 15}}
  - {id: nova, provider: aws, upstream: amazon.nova-pro-v1:0, price: {input: 0.8, output: 3.2}}
  - {id: gpt, provider: oai, price: {input: 2.5, output: 10}}
routes:
  - name: cached
    prompt_cache: auto
    targets: [{model: sonnet}, {model: nova}, {model: gpt}]
  - name: nocache
    prompt_cache: "off"
    targets: [{model: sonnet}]
  - name: thinking
    reasoning: {default: low, max: medium}
    targets: [{model: sonnet}]
  - name: plain
    targets: [{model: sonnet}]
`

// attempt parses body and applies route's policy for its target i.
func attempt(t *testing.T, tb *Table, route string, i int, body string) (in, out *llm.Request) {
	t.Helper()
	r, ok := tb.Lookup(route)
	if !ok {
		t.Fatalf("no route %s", route)
	}
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	in = &llm.Request{Chat: chat, Body: []byte(body), Model: "m", Upstream: "u"}
	out, err = r.Policy.Apply(in, r.Targets[i])
	if err != nil {
		t.Fatal(err)
	}
	return in, out
}

// snapshot is a request's parsed form and body, to show it was not modified.
func snapshot(r *llm.Request) string {
	b, _ := json.Marshal(r.Chat)
	return string(b) + string(r.Body)
}

func markerAt(m *llm.Message) *llm.CacheControl { return m.CacheControl }

const agentTurn = `{"model":"cached","messages":[` +
	`{"role":"system","content":"You are an agent."},` +
	`{"role":"user","content":"Book a table."},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"find","arguments":"{}"}}]},` +
	`{"role":"tool","tool_call_id":"c1","content":"Chez Paul"},` +
	`{"role":"assistant","content":null,"tool_calls":[{"id":"c2","type":"function","function":{"name":"book","arguments":"{}"}}]},` +
	`{"role":"tool","tool_call_id":"c2","content":"booked"},` +
	`{"role":"assistant","content":"Done."},` +
	`{"role":"user","content":"Thanks! And tomorrow?"}],` +
	`"tools":[{"type":"function","function":{"name":"find"}},{"type":"function","function":{"name":"book"}}]}`

func TestPolicyAutoMarksTheStablePrefix(t *testing.T) {
	tb := table(t, policyCfg)
	in, out := attempt(t, tb, "cached", 0, agentTurn)
	before := snapshot(in)
	c := out.Chat
	if c.Tools[0].CacheControl != nil || c.Tools[1].CacheControl == nil {
		t.Errorf("tools: want the last one marked, got %+v %+v", c.Tools[0].CacheControl, c.Tools[1].CacheControl)
	}
	// system, then the two latest turn ends (messages 6 and 4) within the
	// limit of four.
	want := map[int]bool{0: true, 4: true, 6: true}
	for i := range c.Messages {
		if got := markerAt(&c.Messages[i]) != nil; got != want[i] {
			t.Errorf("message %d (%s) marked %v, want %v", i, c.Messages[i].Role, got, want[i])
		}
	}
	if n := c.CacheMarkers(); n != llm.MaxCacheMarkers {
		t.Errorf("%d markers, want %d", n, llm.MaxCacheMarkers)
	}
	if c.PromptCacheKey != "cached" {
		t.Errorf("prompt_cache_key = %q, want the route's name", c.PromptCacheKey)
	}
	if !bytes.Equal(out.Body, in.Body) {
		t.Error("auto changed the body: markers are for translating adapters only")
	}
	if snapshot(in) != before || in.Chat.CacheMarked() {
		t.Error("the shared request was modified")
	}

	// Bedrock takes markers too; an OpenAI target gets only the key.
	if _, b := attempt(t, tb, "cached", 1, agentTurn); b.Chat.CacheMarkers() != llm.MaxCacheMarkers {
		t.Errorf("bedrock target: %d markers", b.Chat.CacheMarkers())
	}
	_, o := attempt(t, tb, "cached", 2, agentTurn)
	if o.Chat.CacheMarked() || o.Chat.PromptCacheKey != "cached" {
		t.Errorf("openai target: marked %v, key %q", o.Chat.CacheMarked(), o.Chat.PromptCacheKey)
	}
	// The client's key stays.
	_, k := attempt(t, tb, "cached", 2, agentTurn[:len(agentTurn)-1]+`,"prompt_cache_key":"mine"}`)
	if k.Chat.PromptCacheKey != "mine" {
		t.Errorf("client key replaced by %q", k.Chat.PromptCacheKey)
	}
}

func TestPolicyAutoCountsTheClientsMarkers(t *testing.T) {
	tb := table(t, policyCfg)
	// Three markers of the client's leave one: the last tool's.
	body := `{"model":"cached","messages":[{"role":"system","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral","ttl":"1h"}}]},` +
		`{"role":"user","content":"b","cache_control":{"type":"ephemeral","ttl":"1h"}},{"role":"assistant","content":"c"},` +
		`{"role":"user","content":"d","cache_control":{"type":"ephemeral"}}],"tools":[{"type":"function","function":{"name":"f"}}]}`
	_, out := attempt(t, tb, "cached", 0, body)
	c := out.Chat
	if c.CacheMarkers() != 4 || c.Tools[0].CacheControl == nil || c.Messages[2].CacheControl != nil {
		t.Fatalf("markers %d, tool %+v, turn end %+v", c.CacheMarkers(), c.Tools[0].CacheControl, c.Messages[2].CacheControl)
	}
	// It precedes the client's one-hour markers, so it is one-hour too.
	if c.Tools[0].CacheControl.TTL != llm.TTL1h {
		t.Errorf("tool marker ttl %q, want 1h before the client's 1h markers", c.Tools[0].CacheControl.TTL)
	}
	full := `{"model":"cached","messages":[{"role":"user","content":[` +
		`{"type":"text","text":"1","cache_control":{"type":"ephemeral"}},{"type":"text","text":"2","cache_control":{"type":"ephemeral"}},` +
		`{"type":"text","text":"3","cache_control":{"type":"ephemeral"}},{"type":"text","text":"4","cache_control":{"type":"ephemeral"}}]}],` +
		`"tools":[{"type":"function","function":{"name":"f"}}]}`
	in, out := attempt(t, tb, "cached", 0, full)
	if out.Chat.CacheMarkers() != 4 || out.Chat.Tools[0].CacheControl != nil {
		t.Errorf("a request at the limit got more markers: %d", out.Chat.CacheMarkers())
	}
	if out.Chat.Messages[0].Content.Parts[0].CacheControl != in.Chat.Messages[0].Content.Parts[0].CacheControl {
		t.Error("the client's markers were replaced")
	}
}

func TestPolicyOffRemovesEveryMarker(t *testing.T) {
	tb := table(t, policyCfg)
	body := `{"model":"nocache","messages":[{"role":"system","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]},` +
		`{"role":"user","content":"b","cache_control":{"type":"ephemeral"}}],"tools":[{"type":"function","function":{"name":"f","cache_control":{"type":"ephemeral"}},"cache_control":{"type":"ephemeral"}}]}`
	in, out := attempt(t, tb, "nocache", 0, body)
	before := snapshot(in)
	if out.Chat.CacheMarked() || bytes.Contains(out.Body, []byte("cache_control")) {
		t.Errorf("markers left: %s", out.Body)
	}
	if snapshot(in) != before || in.Chat.CacheMarkers() != 3 {
		t.Error("the shared request was modified")
	}
	// Nothing to remove: the request itself.
	if in, out := attempt(t, tb, "nocache", 0, `{"model":"nocache","messages":[{"role":"user","content":"b"}]}`); in != out {
		t.Error("off copied a request without markers")
	}
}

func TestPolicyReasoning(t *testing.T) {
	tb := table(t, policyCfg)
	for _, tt := range []struct{ name, effort, want string }{
		{"default when none", ``, "low"},
		{"client's under the ceiling", `,"reasoning_effort":"minimal"`, "minimal"},
		{"client's at the ceiling", `,"reasoning_effort":"medium"`, "medium"},
		{"capped", `,"reasoning_effort":"high"`, "medium"},
		{"unknown values capped", `,"reasoning_effort":"max"`, "medium"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, out := attempt(t, tb, "thinking", 0, `{"model":"thinking","messages":[{"role":"user","content":"x"}]`+tt.effort+`}`)
			if out.Chat.ReasoningEffort != tt.want {
				t.Errorf("effort %q, want %q", out.Chat.ReasoningEffort, tt.want)
			}
			// The body says the same, for relaying adapters.
			back, err := llm.ParseChat(out.Body)
			if err != nil || back.ReasoningEffort != tt.want {
				t.Errorf("body effort %q (%v): %s", back.ReasoningEffort, err, out.Body)
			}
			if in.Chat.ReasoningEffort == tt.want && in != out {
				t.Error("nothing changed, yet the request was copied")
			}
		})
	}
	in, out := attempt(t, tb, "plain", 0, `{"model":"plain","messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"}`)
	if in != out {
		t.Error("a route without a policy copied the request")
	}
	r, _ := tb.Lookup("thinking")
	if !reflect.DeepEqual([2]string{r.Policy.Effort, r.Policy.MaxEffort}, [2]string{"low", "medium"}) {
		t.Errorf("compiled policy %+v", r.Policy)
	}
	if m, _ := tb.Lookup("sonnet"); m.Policy.PromptCache != "" || m.Policy.Effort != "" {
		t.Errorf("a model's implicit route has a policy: %+v", m.Policy)
	}
}
