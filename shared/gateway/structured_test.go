package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/azure/azuretest"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// personSchema is the schema clients ask for in these tests.
const personSchema = `{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":0},"email":{"type":"string"}},"required":["name","age"],"additionalProperties":false}`

// The answers the fakes give, and what the client must get.
const (
	goodJSON      = `{"name": "Ann", "age": 41}`
	canonicalJSON = `{"age":41,"name":"Ann"}`
	wrongTypes    = `{"name": "Ann", "age": "41"}`
	missingAge    = `{"name": "Ann"}`
)

// personFormat is the response_format a client sends with the official SDK.
func personFormat() openai.ChatCompletionNewParamsResponseFormatUnion {
	return openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
		JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "person", Strict: openai.Bool(true),
			Schema: json.RawMessage(personSchema)}}}
}

// style is how a model wraps the JSON of its answer.
type style int

const (
	plain  style = iota // the JSON alone
	fenced              // in a ```json fence, with a word before
	prose               // after a sentence of prose
)

func wrap(s style, doc string) string {
	switch s {
	case fenced:
		return "Sure.\n```json\n" + doc + "\n```"
	case prose:
		return "Here is the extraction you asked for: " + doc + " Let me know if you need more."
	}
	return doc
}

// nativeUpstream is a loopback fake of one provider type, answering in
// that provider's native way.
type nativeUpstream struct {
	// provider is the providers: entry of the YAML config; model the upstream model id.
	provider, model string
	// push scripts the next answers.
	push func(t *testing.T, s style, doc string)
	// bodies are the request bodies received so far.
	bodies func() [][]byte
	// schemaSent checks that a request carried the schema in the provider's
	// native form, under the name name.
	schemaSent func(t *testing.T, body []byte, name, schema string)
	// proseIsPreamble: the provider answers through a forced tool, so prose
	// comes beside the JSON rather than around it, and is dropped.
	proseIsPreamble bool
	// tool is the name of the forced tool such a provider answers through:
	// the schema's name.
	tool string
}

// jsonField returns the JSON value at path in body.
func jsonField(t *testing.T, body []byte, path ...any) json.RawMessage {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				v = nil
			} else {
				v = l[k]
			}
		}
	}
	out, _ := json.Marshal(v)
	return out
}

func sameJSONText(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

func openaiUpstream(t *testing.T) *nativeUpstream {
	var mu sync.Mutex
	var queue []string
	fake := openaitest.NewServer("oa", func(openaitest.Received) openaitest.Reply {
		mu.Lock()
		defer mu.Unlock()
		text := "(nothing scripted)"
		if len(queue) > 0 {
			text, queue = queue[0], queue[1:]
		}
		return openaitest.Reply{Text: text, Usage: openaitest.Usage{Prompt: 100, Completion: 20}}
	})
	t.Cleanup(fake.Close)
	return &nativeUpstream{
		provider: fmt.Sprintf(`{name: up, type: openai, base_url: %q, key: "env:UP_KEY"}`, fake.BaseURL()),
		model:    "gpt-4o-mini",
		push: func(_ *testing.T, s style, doc string) {
			mu.Lock()
			queue = append(queue, wrap(s, doc))
			mu.Unlock()
		},
		bodies: func() [][]byte {
			var out [][]byte
			for _, r := range fake.Received() {
				out = append(out, r.Body)
			}
			return out
		},
		schemaSent: func(t *testing.T, body []byte, name, schema string) {
			t.Helper()
			if got := jsonField(t, body, "response_format", "json_schema", "name"); string(got) != `"`+name+`"` {
				t.Errorf("response_format name = %s, want %s", got, name)
			}
			if got := jsonField(t, body, "response_format", "json_schema", "schema"); !sameJSONText(got, []byte(schema)) {
				t.Errorf("response_format schema = %s, want %s", got, schema)
			}
		},
	}
}

func azureUpstream(t *testing.T) *nativeUpstream {
	fake := azuretest.New(t, upKey["UP_KEY"], "gpt-4o-deploy")
	return &nativeUpstream{
		provider: fmt.Sprintf(`{name: up, type: azure, base_url: %q, api_version: "2024-10-21", key: "env:UP_KEY"}`, fake.URL),
		model:    "gpt-4o-deploy",
		push: func(_ *testing.T, s style, doc string) {
			fake.Push(azuretest.Reply{Text: wrap(s, doc), Usage: azuretest.Usage{Prompt: 100, Completion: 20}})
		},
		bodies: func() [][]byte {
			var out [][]byte
			for _, r := range fake.Requests() {
				out = append(out, r.Body)
			}
			return out
		},
		schemaSent: func(t *testing.T, body []byte, name, schema string) {
			t.Helper()
			if got := jsonField(t, body, "response_format", "json_schema", "schema"); !sameJSONText(got, []byte(schema)) {
				t.Errorf("response_format schema = %s, want %s", got, schema)
			}
		},
	}
}

func anthropicUpstream(t *testing.T) *nativeUpstream {
	fake := anthropictest.NewServer()
	t.Cleanup(fake.Close)
	u := &nativeUpstream{tool: "person"}
	*u = nativeUpstream{tool: "person",
		provider: fmt.Sprintf(`{name: up, type: anthropic, base_url: %q, key: "env:UP_KEY"}`, fake.URL),
		model:    "claude-sonnet-4-5",
		push: func(t *testing.T, s style, doc string) {
			switch s {
			case plain:
				fake.Enqueue(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{Name: u.tool, Input: doc}}})
			case prose:
				// Claude may say a word before calling the forced tool.
				fake.Enqueue(anthropictest.Reply{Text: "Here is the extraction.", ToolUses: []anthropictest.ToolUse{{Name: u.tool, Input: doc}}})
			case fenced:
				// A model that ignored the tool and answered in text.
				fake.Enqueue(anthropictest.Reply{Text: wrap(s, doc)})
			}
		},
		bodies: func() [][]byte {
			var out [][]byte
			for _, r := range fake.Requests() {
				out = append(out, r.Body)
			}
			return out
		},
		schemaSent: func(t *testing.T, body []byte, name, schema string) {
			t.Helper()
			if got := jsonField(t, body, "tools", 0, "name"); string(got) != `"`+name+`"` {
				t.Errorf("tool name = %s, want %s", got, name)
			}
			if got := jsonField(t, body, "tools", 0, "input_schema"); !sameJSONText(got, []byte(schema)) {
				t.Errorf("tool input_schema = %s, want %s", got, schema)
			}
			if got := jsonField(t, body, "tool_choice"); !sameJSONText(got, []byte(`{"type":"tool","name":"`+name+`"}`)) {
				t.Errorf("tool_choice = %s, want the answer tool forced", got)
			}
		},
		proseIsPreamble: true,
	}
	return u
}

func geminiUpstream(t *testing.T) *nativeUpstream {
	fake := geminitest.NewServer(geminitest.Options{Key: upKey["UP_KEY"]})
	t.Cleanup(fake.Close)
	return &nativeUpstream{
		provider: fmt.Sprintf(`{name: up, type: gemini, base_url: %q, key: "env:UP_KEY"}`, fake.URL),
		model:    "gemini-2.5-flash",
		push: func(_ *testing.T, s style, doc string) {
			text := wrap(s, doc)
			mid := len(text) / 2
			fake.Enqueue(geminitest.Reply{Text: []string{text[:mid], text[mid:]}})
		},
		bodies: func() [][]byte {
			var out [][]byte
			for _, r := range fake.Requests() {
				out = append(out, r.Body)
			}
			return out
		},
		schemaSent: func(t *testing.T, body []byte, _, schema string) {
			t.Helper()
			if got := jsonField(t, body, "generationConfig", "responseMimeType"); string(got) != `"application/json"` {
				t.Errorf("responseMimeType = %s", got)
			}
			if got := jsonField(t, body, "generationConfig", "responseJsonSchema"); !sameJSONText(got, []byte(schema)) {
				t.Errorf("responseJsonSchema = %s, want %s", got, schema)
			}
		},
	}
}

// awsEnv gives the Bedrock adapter's SDK dummy credentials and shuts out
// everything else the default chain would read.
func awsEnv(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": t.TempDir() + "/none",
		"AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none", "AWS_EC2_METADATA_DISABLED": "true", "AWS_BEARER_TOKEN_BEDROCK": "",
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": ""} {
		t.Setenv(k, v)
	}
}

func bedrockUpstream(t *testing.T) *nativeUpstream {
	awsEnv(t)
	fake := bedrocktest.New(t)
	u := &nativeUpstream{tool: "person"}
	*u = nativeUpstream{tool: "person",
		provider: fmt.Sprintf(`{name: up, type: bedrock, base_url: %q, region: us-east-1}`, fake.URL),
		model:    "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
		push: func(_ *testing.T, s style, doc string) {
			switch s {
			case plain:
				fake.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: u.tool, Input: doc}}, Usage: bedrocktest.Usage{Input: 100, Output: 20}})
			case prose:
				fake.Push(bedrocktest.Reply{Text: "Here is the extraction.", ToolUses: []bedrocktest.ToolUse{{ID: "tu1", Name: u.tool, Input: doc}}, Usage: bedrocktest.Usage{Input: 100, Output: 20}})
			case fenced:
				fake.Push(bedrocktest.Reply{Text: wrap(s, doc), Usage: bedrocktest.Usage{Input: 100, Output: 20}})
			}
		},
		bodies: func() [][]byte {
			var out [][]byte
			for _, r := range fake.Requests() {
				out = append(out, r.Body)
			}
			return out
		},
		schemaSent: func(t *testing.T, body []byte, name, schema string) {
			t.Helper()
			if got := jsonField(t, body, "toolConfig", "tools", 0, "toolSpec", "name"); string(got) != `"`+name+`"` {
				t.Errorf("toolSpec name = %s, want %s", got, name)
			}
			if got := jsonField(t, body, "toolConfig", "tools", 0, "toolSpec", "inputSchema", "json"); !sameJSONText(got, []byte(schema)) {
				t.Errorf("inputSchema = %s, want %s", got, schema)
			}
			if got := jsonField(t, body, "toolConfig", "toolChoice", "tool", "name"); string(got) != `"`+name+`"` {
				t.Errorf("toolChoice = %s, want the answer tool forced", got)
			}
		},
		proseIsPreamble: true,
	}
	return u
}

var upstreamTypes = []struct {
	name string
	new  func(t *testing.T) *nativeUpstream
}{
	{"openai", openaiUpstream},
	{"azure", azureUpstream},
	{"anthropic", anthropicUpstream},
	{"gemini", geminiUpstream},
	{"bedrock", bedrockUpstream},
}

// oneTarget is a route "extract" on the upstream, with policy.
func oneTarget(u *nativeUpstream, structured string) string {
	return fmt.Sprintf(`
providers:
  - %s
models:
  - {id: m, provider: up, upstream: %q, price: {input: 1, output: 2}}
routes:
  - name: extract
    %s
    targets: [{model: m}]
`, u.provider, u.model, structured)
}

var upKey = map[string]string{"UP_KEY": "upstream-secret"}

// apiError is the OpenAI error the client got, or fails the test.
func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var e *openai.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an API error", err)
	}
	return e
}

// Every provider type, answering in its native way, through the official
// client: the client gets canonical, schema-valid JSON or a clear error, and
// the audit line says what happened.
func TestStructuredOutputPerProvider(t *testing.T) {
	for _, ut := range upstreamTypes {
		t.Run(ut.name, func(t *testing.T) {
			cases := []struct {
				name    string
				answers []struct {
					s   style
					doc string
				}
				wantHow   string // audit structured; "" with wantError
				wantError bool
				wantCalls int
			}{
				{name: "plain JSON", answers: []struct {
					s   style
					doc string
				}{{plain, goodJSON}}, wantHow: audit.StructuredValid, wantCalls: 1},
				{name: "fenced JSON", answers: []struct {
					s   style
					doc string
				}{{fenced, goodJSON}}, wantHow: audit.StructuredExtracted, wantCalls: 1},
				{name: "prose before JSON", answers: []struct {
					s   style
					doc string
				}{{prose, goodJSON}}, wantHow: audit.StructuredExtracted, wantCalls: 1},
				{name: "wrong types, repaired", answers: []struct {
					s   style
					doc string
				}{{plain, wrongTypes}, {plain, goodJSON}}, wantHow: audit.StructuredRepaired, wantCalls: 2},
				{name: "missing field twice", answers: []struct {
					s   style
					doc string
				}{{plain, missingAge}, {fenced, missingAge}}, wantError: true, wantCalls: 2},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					u := ut.new(t)
					h := newHarness(t, oneTarget(u, ""), upKey)
					for _, a := range tc.answers {
						u.push(t, a.s, a.doc)
					}
					var resp *http.Response
					got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
						Model: "extract", Messages: userMessage("Extract the person: Ann, 41."), ResponseFormat: personFormat(),
					}, option.WithResponseInto(&resp))
					rec := h.audit.next(t)
					bodies := u.bodies()
					if len(bodies) != tc.wantCalls {
						t.Fatalf("upstream calls = %d, want %d", len(bodies), tc.wantCalls)
					}
					u.schemaSent(t, bodies[0], "person", personSchema)
					if tc.wantCalls > 1 {
						// The repair: the same schema, the bad answer, and what was wrong with it.
						u.schemaSent(t, bodies[1], "person", personSchema)
						if !bytes.Contains(bodies[1], []byte("Reply again with only the corrected JSON value")) || !bytes.Contains(bodies[1], []byte("age")) {
							t.Errorf("repair request does not name the problem: %s", bodies[1])
						}
					}
					if tc.wantError {
						e := apiError(t, err)
						if e.StatusCode != http.StatusBadGateway || e.Code != "invalid_structured_output" || e.Type != "api_error" ||
							!strings.Contains(e.Message, "age") || !strings.Contains(e.Message, "repair") {
							t.Errorf("error = %d %s %s: %s", e.StatusCode, e.Type, e.Code, e.Message)
						}
						if rec.Structured != audit.StructuredInvalid || rec.ErrorCode != "invalid_structured_output" || rec.Status != http.StatusBadGateway ||
							len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeInvalidOutput {
							t.Errorf("audit = %+v", rec)
						}
						if rec.CostUSD <= 0 {
							t.Errorf("the discarded answers cost nothing in the audit record: %v", rec.CostUSD)
						}
						return
					}
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					if c := got.Choices[0].Message.Content; c != canonicalJSON {
						t.Errorf("content = %q, want %q", c, canonicalJSON)
					}
					if got.Choices[0].FinishReason != "stop" {
						t.Errorf("finish_reason = %q, want stop", got.Choices[0].FinishReason)
					}
					wantHow := tc.wantHow
					if wantHow == audit.StructuredExtracted && u.proseIsPreamble && tc.answers[0].s == prose {
						wantHow = audit.StructuredValid // the tool input was the answer; the prose beside it is dropped
					}
					if rec.Structured != wantHow || rec.Status != http.StatusOK || len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeOK {
						t.Errorf("audit structured %q status %d attempts %+v; want %q", rec.Structured, rec.Status, rec.Attempts, wantHow)
					}
					if resp.Header.Get("X-Router-Attempts") != "1" {
						t.Errorf("x-router-attempts = %q", resp.Header.Get("X-Router-Attempts"))
					}
				})
			}
		})
	}
}

// The audit line and its metered tokens count both calls of a repaired
// attempt: the provider billed both.
func TestRepairIsMetered(t *testing.T) {
	u := openaiUpstream(t)
	h := newHarness(t, oneTarget(u, ""), upKey)
	u.push(t, plain, wrongTypes)
	u.push(t, plain, goodJSON)
	var resp *http.Response
	if _, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "extract", Messages: userMessage("Ann, 41"), ResponseFormat: personFormat()}, option.WithResponseInto(&resp)); err != nil {
		t.Fatal(err)
	}
	rec := h.audit.next(t)
	if rec.Usage.PromptTokens != 200 || rec.Usage.CompletionTokens != 40 {
		t.Errorf("usage = %+v, want both calls (200 prompt, 40 completion tokens)", rec.Usage)
	}
	// 200 * 1 + 40 * 2 micro-USD
	if rec.CostUSD != 0.00028 || resp.Header.Get("X-Router-Cost-Usd") != "0.00028" {
		t.Errorf("cost = %v, header %q; want 0.00028", rec.CostUSD, resp.Header.Get("X-Router-Cost-Usd"))
	}
	// The repair continues the conversation: the bad answer as the
	// assistant's turn, then the problems as the user's.
	var sent struct {
		Messages []struct{ Role, Content string } `json:"messages"`
	}
	if err := json.Unmarshal(u.bodies()[1], &sent); err != nil {
		t.Fatal(err)
	}
	if n := len(sent.Messages); n != 3 || sent.Messages[1].Role != "assistant" || sent.Messages[1].Content != wrongTypes ||
		sent.Messages[2].Role != "user" || !strings.Contains(sent.Messages[2].Content, "/age") {
		t.Errorf("repair messages = %+v", sent.Messages)
	}
	if strings.Contains(h.stderr.String(), "Ann") {
		t.Errorf("the model's answer reached the logs: %s", h.stderr)
	}
}

// A repair of an n > 1 answer from a provider that answers one choice per
// call fans out as the first try does: the client gets n checked answers,
// and n never reaches the provider.
func TestRepairFansOut(t *testing.T) {
	fake := anthropictest.NewServer()
	defer fake.Close()
	fake.SetDefault(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{Name: "person", Input: goodJSON}}})
	fake.Enqueue(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{Name: "person", Input: wrongTypes}}})
	u := &nativeUpstream{provider: fmt.Sprintf(`{name: up, type: anthropic, base_url: %q, key: "env:UP_KEY"}`, fake.URL),
		model: "claude-sonnet-4-5"}
	h := newHarness(t, oneTarget(u, ""), upKey)
	got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "extract", Messages: userMessage("Ann, 41"), ResponseFormat: personFormat(), N: openai.Int(3)})
	rec := h.audit.next(t)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Choices) != 3 {
		t.Fatalf("%d choices, want 3: %s", len(got.Choices), got.RawJSON())
	}
	for i, c := range got.Choices {
		if c.Index != int64(i) || c.Message.Content != canonicalJSON {
			t.Errorf("choice %d: %s", i, c.RawJSON())
		}
	}
	reqs := fake.Requests()
	if len(reqs) != 6 {
		t.Fatalf("Anthropic got %d calls, want 3 and 3 for the repair", len(reqs))
	}
	repairs := 0
	for _, r := range reqs {
		if _, ok := r.JSON()["n"]; ok {
			t.Errorf("n reached Anthropic: %s", r.Body)
		}
		if bytes.Contains(r.Body, []byte("Reply again with only the corrected JSON value")) {
			repairs++
		}
	}
	if repairs != 3 {
		t.Errorf("%d repair calls, want 3", repairs)
	}
	if rec.Structured != audit.StructuredRepaired || rec.Usage.PromptTokens != 60 || rec.Usage.CompletionTokens != 120 {
		t.Errorf("audit structured %q usage %+v; want repaired and the sum of six calls (60, 120)", rec.Structured, rec.Usage)
	}
}

// twoUpstreams is a route with a primary and a backup OpenAI upstream.
func twoUpstreams(primary, backup *nativeUpstream, route string) string {
	return fmt.Sprintf(`
providers:
  - %s
  - %s
models:
  - {id: primary, provider: up, upstream: gpt-4o, price: {input: 1, output: 2}}
  - {id: backup, provider: back, upstream: gpt-4o-mini, price: {input: 1, output: 2}}
routes:
  - name: extract
    %s
`, primary.provider, strings.Replace(backup.provider, "name: up", "name: back", 1), route)
}

func TestStructuredPolicies(t *testing.T) {
	tests := []struct {
		name        string
		route       string
		wantStatus  int
		wantServed  string
		wantOutcome []string
		wantPrimary int // calls to the primary
	}{
		{"fallback moves to the next target", "structured: {on_invalid: fallback}\n    targets: [{model: primary}, {model: backup}]",
			200, "backup", []string{audit.OutcomeInvalidOutput, audit.OutcomeOK}, 1},
		{"fallback when hedged", "structured: {on_invalid: fallback}\n    targets: [{model: primary, hedge_after: 10s}, {model: backup}]",
			200, "backup", []string{audit.OutcomeInvalidOutput, audit.OutcomeOK}, 1},
		{"error answers at once", "structured: {on_invalid: error}\n    targets: [{model: primary}, {model: backup}]",
			502, "", []string{audit.OutcomeInvalidOutput}, 1},
		{"repair, then error: no other target", "targets: [{model: primary}, {model: backup}]",
			502, "", []string{audit.OutcomeInvalidOutput}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			primary, backup := openaiUpstream(t), openaiUpstream(t)
			h := newHarness(t, twoUpstreams(primary, backup, tt.route), upKey)
			primary.push(t, plain, missingAge)
			primary.push(t, plain, missingAge)
			backup.push(t, fenced, goodJSON)
			var resp *http.Response
			got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "extract", Messages: userMessage("Ann, 41"), ResponseFormat: personFormat()}, option.WithResponseInto(&resp))
			rec := h.audit.next(t)
			var outcomes []string
			for _, a := range rec.Attempts {
				outcomes = append(outcomes, a.Outcome)
			}
			if !slices.Equal(outcomes, tt.wantOutcome) {
				t.Errorf("attempt outcomes = %v, want %v", outcomes, tt.wantOutcome)
			}
			if n := len(primary.bodies()); n != tt.wantPrimary {
				t.Errorf("primary calls = %d, want %d", n, tt.wantPrimary)
			}
			if tt.wantStatus != 200 {
				e := apiError(t, err)
				if e.StatusCode != tt.wantStatus || e.Code != "invalid_structured_output" {
					t.Errorf("error = %d %s: %s", e.StatusCode, e.Code, e.Message)
				}
				if len(backup.bodies()) != 0 {
					t.Error("the backup was called")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Choices[0].Message.Content != canonicalJSON || rec.Model != tt.wantServed || rec.Structured != audit.StructuredExtracted ||
				resp.Header.Get("X-Router-Attempts") != "2" {
				t.Errorf("content %q served by %s, structured %q, attempts %s", got.Choices[0].Message.Content, rec.Model, rec.Structured,
					resp.Header.Get("X-Router-Attempts"))
			}
		})
	}
}

// All targets keep answering badly under fallback: the client learns why,
// per target.
func TestFallbackAllInvalid(t *testing.T) {
	primary, backup := openaiUpstream(t), openaiUpstream(t)
	h := newHarness(t, twoUpstreams(primary, backup, "structured: {on_invalid: fallback}\n    targets: [{model: primary}, {model: backup}]"), upKey)
	primary.push(t, plain, missingAge)
	backup.push(t, prose, "no JSON here")
	_, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "extract", Messages: userMessage("Ann, 41"), ResponseFormat: personFormat()})
	e := apiError(t, err)
	if e.StatusCode != 502 || e.Code != "all_targets_failed" || !strings.Contains(e.Message, "age") || !strings.Contains(e.Message, "no JSON") {
		t.Errorf("error = %d %s: %s", e.StatusCode, e.Code, e.Message)
	}
	if rec := h.audit.next(t); rec.Structured != audit.StructuredInvalid {
		t.Errorf("audit structured = %q", rec.Structured)
	}
}

const invoiceSchema = `{"type":"object","properties":{"number":{"type":"string"},"total":{"type":"number"}},"required":["number","total"],"additionalProperties":false}`

// A route with a canonical schema: a client that sent no response_format, or
// another one, gets the route's shape from every provider, and the provider
// receives the route's schema in its native form.
func TestRouteSchema(t *testing.T) {
	for _, ut := range []struct {
		name string
		new  func(t *testing.T) *nativeUpstream
	}{{"openai", openaiUpstream}, {"anthropic", anthropicUpstream}} {
		t.Run(ut.name, func(t *testing.T) {
			u := ut.new(t)
			u.tool = "invoice"
			cfg := strings.Replace(oneTarget(u, "schema: invoice"), "routes:", "schemas:\n  invoice: '"+invoiceSchema+"'\nroutes:", 1)
			h := newHarness(t, cfg, upKey)
			answer := `{"total": 12.50, "number": "INV-7"}`
			u.push(t, plain, answer)
			u.push(t, plain, answer)
			for i, format := range []openai.ChatCompletionNewParamsResponseFormatUnion{{}, personFormat()} {
				got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "extract", Messages: userMessage("Invoice INV-7, 12.50 due."), ResponseFormat: format})
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if c := got.Choices[0].Message.Content; c != `{"number":"INV-7","total":12.50}` {
					t.Errorf("request %d: content = %s, want the route's canonical JSON", i, c)
				}
				h.audit.next(t)
				bodies := u.bodies()
				u.schemaSent(t, bodies[len(bodies)-1], "invoice", invoiceSchema)
				if ut.name == "openai" {
					if strict := jsonField(t, bodies[len(bodies)-1], "response_format", "json_schema", "strict"); string(strict) != "true" {
						t.Errorf("strict = %s: the route's schema meets OpenAI's strict rules", strict)
					}
				}
			}
		})
	}
}

// Streams with a schema are relayed as they come and checked at the end:
// valid JSON ends with [DONE]; anything else ends with an error event.
func TestStructuredStream(t *testing.T) {
	tests := []struct {
		name      string
		upstream  func(t *testing.T) *nativeUpstream
		answer    string
		s         style
		wantError string
	}{
		{"openai valid", openaiUpstream, goodJSON, plain, ""},
		{"anthropic tool input streamed as content", anthropicUpstream, goodJSON, plain, ""},
		{"bedrock tool input streamed as content", bedrockUpstream, goodJSON, plain, ""},
		{"wrong types", openaiUpstream, wrongTypes, plain, "invalid_structured_output"},
		{"prose around the JSON", openaiUpstream, goodJSON, prose, "invalid_structured_output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.upstream(t)
			h := newHarness(t, oneTarget(u, ""), upKey)
			u.push(t, tt.s, tt.answer)
			stream := h.client("unused").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
				Model: "extract", Messages: userMessage("Ann, 41"), ResponseFormat: personFormat()})
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				acc.AddChunk(stream.Current())
			}
			rec := h.audit.next(t)
			if len(u.bodies()) != 1 {
				t.Errorf("upstream calls = %d: a stream is never repaired", len(u.bodies()))
			}
			u.schemaSent(t, u.bodies()[0], "person", personSchema)
			if tt.wantError != "" {
				if err := stream.Err(); err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Errorf("stream error = %v, want %s", err, tt.wantError)
				}
				if rec.Structured != audit.StructuredInvalid || rec.ErrorCode != tt.wantError || rec.Attempts[0].Outcome != audit.OutcomeInvalidOutput {
					t.Errorf("audit = %+v", rec)
				}
				return
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			var v map[string]any
			if c := acc.Choices[0].Message.Content; json.Unmarshal([]byte(c), &v) != nil || v["name"] != "Ann" || v["age"] != float64(41) {
				t.Errorf("streamed content = %q", c)
			}
			if rec.Structured != audit.StructuredValid || !rec.Stream {
				t.Errorf("audit structured %q stream %v", rec.Structured, rec.Stream)
			}
		})
	}
}

// json_object: any JSON object, found and made canonical; a JSON array is
// not an object.
func TestJSONObject(t *testing.T) {
	u := openaiUpstream(t)
	h := newHarness(t, oneTarget(u, "structured: {on_invalid: error}"), upKey)
	format := openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONObject: &shared.ResponseFormatJSONObjectParam{}}
	u.push(t, fenced, `{"b": [1, 2.50], "a": "<x>"}`)
	got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "extract", Messages: userMessage("Answer in JSON."), ResponseFormat: format})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Choices[0].Message.Content; c != `{"a":"<x>","b":[1,2.50]}` {
		t.Errorf("content = %s", c)
	}
	if rec := h.audit.next(t); rec.Structured != audit.StructuredExtracted {
		t.Errorf("audit structured = %q", rec.Structured)
	}
	u.push(t, plain, `[1, 2]`)
	_, err = h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "extract", Messages: userMessage("Answer in JSON."), ResponseFormat: format})
	if e := apiError(t, err); e.Code != "invalid_structured_output" {
		t.Errorf("error = %s: %s", e.Code, e.Message)
	}
	h.audit.next(t)
}

// A client schema the router cannot use is the client's error, before any
// provider is called: external references are never fetched.
func TestInvalidClientSchema(t *testing.T) {
	u := openaiUpstream(t)
	h := newHarness(t, oneTarget(u, ""), upKey)
	for _, schema := range []string{`{"$ref":"https://example.com/s.json"}`, `{"type":"nonsense"}`} {
		_, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "extract", Messages: userMessage("hi"), ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{
				OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
					Name: "s", Schema: json.RawMessage(schema)}}}})
		e := apiError(t, err)
		if e.StatusCode != 400 || e.Code != "invalid_schema" || e.Param != "response_format.json_schema.schema" {
			t.Errorf("%s: error = %d %s %s: %s", schema, e.StatusCode, e.Code, e.Param, e.Message)
		}
		h.audit.next(t)
	}
	if n := len(u.bodies()); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}

// The built-in mock answers structured requests in shape, and a configured
// reply goes through the same check as any provider's answer.
func TestStructuredMock(t *testing.T) {
	tests := []struct {
		name, reply, want, wantCode, wantHow string
	}{
		{"schema instance", "", `{"age":0,"name":"example"}`, "", audit.StructuredValid},
		{"fenced reply", "Here:\n```json\n{\"age\": 7, \"name\": \"Bo\"}\n```", `{"age":7,"name":"Bo"}`, "", audit.StructuredExtracted},
		{"prose reply", `The person is {"name": "Bo", "age": 7}.`, `{"age":7,"name":"Bo"}`, "", audit.StructuredExtracted},
		{"wrong types", `{"name": "Bo", "age": "seven"}`, "", "invalid_structured_output", audit.StructuredInvalid},
		{"missing field", `{"name": "Bo"}`, "", "invalid_structured_output", audit.StructuredInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, fmt.Sprintf(`
providers: [{name: sim, type: mock, mock: {reply: %q}}]
models: [{id: m, provider: sim}]
routes: [{name: extract, targets: [{model: m}]}]
`, tt.reply), nil)
			got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: "extract", Messages: userMessage("Bo, 7"), ResponseFormat: personFormat()})
			rec := h.audit.next(t)
			if rec.Structured != tt.wantHow {
				t.Errorf("audit structured = %q, want %q", rec.Structured, tt.wantHow)
			}
			if tt.wantCode != "" {
				if e := apiError(t, err); e.Code != tt.wantCode {
					t.Errorf("error = %s: %s", e.Code, e.Message)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c := got.Choices[0].Message.Content; c != tt.want {
				t.Errorf("content = %s, want %s", c, tt.want)
			}
		})
	}
}
