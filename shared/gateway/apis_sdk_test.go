package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	aoption "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// The Responses and Messages surfaces driven by the official SDKs, with each
// translating adapter's wire-format fake as the primary: what a user of
// either API sees whichever provider serves it.

// fake is one provider's fake as a route's primary, and how to script its
// next answers.
type fake struct {
	name string
	// provider and model are the YAML entries of the primary "up" and its
	// model "primary".
	provider, model string
	env             map[string]string
	text            func(s string)
	tool            func(name, args string)
	// json answers doc as the structured answer asked for under name
	// (a forced tool's input where the adapter forces one).
	json func(name, doc string)
	// fail answers an overloaded error.
	fail  func()
	calls func() int
	// last is the body of the last request received.
	last func() []byte
}

// queue is a scripted answer list for openaitest, which asks a script per
// request.
type queue struct {
	mu sync.Mutex
	q  []openaitest.Reply
}

func (q *queue) push(r openaitest.Reply) { q.mu.Lock(); q.q = append(q.q, r); q.mu.Unlock() }

func (q *queue) next(openaitest.Received) openaitest.Reply {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return openaitest.Reply{}
	}
	r := q.q[0]
	q.q = q.q[1:]
	return r
}

func openaiFake(t *testing.T) *fake {
	q := &queue{}
	srv := openaitest.NewServer("openai", q.next)
	t.Cleanup(srv.Close)
	return &fake{name: "openai",
		provider: fmt.Sprintf(`{name: up, type: openai, base_url: %q, key: "env:UP_KEY"}`, srv.BaseURL()),
		model:    `{id: primary, provider: up, upstream: gpt-4o, price: {input: 2.5, output: 10}}`,
		env:      map[string]string{"UP_KEY": "sk-up"},
		text:     func(s string) { q.push(openaitest.Reply{Text: s}) },
		tool: func(name, args string) {
			q.push(openaitest.Reply{ToolCall: name, ToolArgs: args, ToolCallID: "call_w1"})
		},
		json:  func(_, doc string) { q.push(openaitest.Reply{Text: doc}) },
		fail:  func() { q.push(openaitest.Reply{Status: 503, ErrType: "server_error", ErrMessage: "overloaded"}) },
		calls: srv.Calls,
		last:  func() []byte { r := srv.Received(); return r[len(r)-1].Body },
	}
}

func anthropicFake(t *testing.T) *fake {
	srv := anthropictest.NewServer()
	t.Cleanup(srv.Close)
	return &fake{name: "anthropic",
		provider: fmt.Sprintf(`{name: up, type: anthropic, base_url: %q, key: "env:UP_KEY"}`, srv.URL),
		model:    `{id: primary, provider: up, upstream: claude-sonnet-4-5, price: {input: 3, output: 15}}`,
		env:      map[string]string{"UP_KEY": "sk-ant-up"},
		text:     func(s string) { srv.Enqueue(anthropictest.Reply{Text: s}) },
		tool: func(name, args string) {
			srv.Enqueue(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{ID: "toolu_w1", Name: name, Input: args}}})
		},
		json: func(name, doc string) {
			srv.Enqueue(anthropictest.Reply{ToolUses: []anthropictest.ToolUse{{Name: name, Input: doc}}})
		},
		fail:  func() { srv.Enqueue(anthropictest.Reply{Status: 529}) },
		calls: func() int { return len(srv.Requests()) },
		last:  func() []byte { r, _ := srv.Last(); return r.Body },
	}
}

func geminiFake(t *testing.T) *fake {
	srv := geminitest.NewServer(geminitest.Options{})
	t.Cleanup(srv.Close)
	return &fake{name: "gemini",
		provider: fmt.Sprintf(`{name: up, type: gemini, base_url: %q, key: "env:UP_KEY"}`, srv.URL),
		model:    `{id: primary, provider: up, upstream: gemini-2.5-flash, price: {input: 0.3, output: 2.5}}`,
		env:      map[string]string{"UP_KEY": srv.Key()},
		text:     func(s string) { srv.Enqueue(geminitest.Reply{Text: strings.SplitAfter(s, " ")}) },
		tool: func(name, args string) {
			var m map[string]any
			if err := json.Unmarshal([]byte(args), &m); err != nil {
				t.Fatal(err)
			}
			srv.Enqueue(geminitest.Reply{Calls: []geminitest.Call{{ID: "call_w1", Name: name, Args: m}}})
		},
		json:  func(_, doc string) { srv.Enqueue(geminitest.Reply{Text: []string{doc}}) },
		fail:  func() { srv.Enqueue(geminitest.Reply{Error: geminitest.NewError(503, "The model is overloaded.")}) },
		calls: func() int { return len(srv.Requests()) },
		last:  func() []byte { r := srv.Requests(); return r[len(r)-1].Body },
	}
}

func bedrockFake(t *testing.T) *fake {
	awsTestEnv(t)
	srv := bedrocktest.New(t)
	return &fake{name: "bedrock",
		provider: fmt.Sprintf(`{name: up, type: bedrock, base_url: %q, region: us-east-1}`, srv.URL),
		model:    `{id: primary, provider: up, upstream: "anthropic.claude-3-5-sonnet-20240620-v1:0", price: {input: 3, output: 15}}`,
		text:     func(s string) { srv.Push(bedrocktest.Reply{Text: s, Usage: bedrocktest.Usage{Input: 12, Output: 6}}) },
		tool: func(name, args string) {
			srv.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tooluse_w1", Name: name, Input: args}},
				Usage: bedrocktest.Usage{Input: 12, Output: 6}})
		},
		json: func(name, doc string) {
			srv.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{{ID: "tooluse_j", Name: name, Input: doc}},
				Usage: bedrocktest.Usage{Input: 12, Output: 6}})
		},
		fail: func() {
			srv.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ServiceUnavailableException", Message: "overloaded"}})
		},
		calls: func() int { return len(srv.Requests()) },
		last:  func() []byte { return srv.Last(t).Body },
	}
}

// awsTestEnv gives the AWS SDK static test credentials and nothing else
// from this machine.
func awsTestEnv(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test-secret",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": t.TempDir() + "/none",
		"AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_BEARER_TOKEN_BEDROCK": "", "AWS_MAX_ATTEMPTS": "", "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "", "AWS_CA_BUNDLE": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_ROLE_ARN": ""} {
		t.Setenv(k, v)
	}
}

var primaryFakes = []func(*testing.T) *fake{openaiFake, anthropicFake, geminiFake, bedrockFake}

// surfaceHarness is a router whose route "main" has the fake as primary
// and a hipaa-compliant mock as backup; "only" has the primary alone.
func surfaceHarness(t *testing.T, f *fake) *harness {
	return newHarness(t, fmt.Sprintf(`
providers:
  - %s
  - {name: backup, type: mock, compliance: [hipaa], mock: {reply: "From the backup."}}
models:
  - %s
  - {id: backup, provider: backup}
routes:
  - {name: main, targets: [{model: primary}, {model: backup}]}
  - {name: only, targets: [{model: primary}]}
data_classes:
  phi: [hipaa]
`, f.provider, f.model), f.env)
}

func (h *harness) anthropic(opts ...aoption.RequestOption) anthropic.Client {
	return anthropic.NewClient(append([]aoption.RequestOption{aoption.WithBaseURL(h.srv.URL), aoption.WithAPIKey("unused"),
		aoption.WithMaxRetries(0)}, opts...)...)
}

const (
	weatherText = "It is 21°C and sunny in Paris."
	weatherArgs = `{"city":"Paris"}`
)

var weatherSchema = map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}},
	"required": []string{"city"}, "additionalProperties": false}

// checkServed asserts the audit record of a request the primary served.
func checkServed(t *testing.T, h *harness, endpoint string, stream bool) {
	t.Helper()
	rec := h.audit.next(t)
	if rec.Endpoint != endpoint || rec.Stream != stream || rec.Status != 200 || rec.Provider != "up" ||
		rec.Usage.PromptTokens == 0 || rec.CostUSD <= 0 {
		t.Errorf("audit: endpoint %q stream %v status %d provider %q usage %+v cost %g", rec.Endpoint, rec.Stream, rec.Status,
			rec.Provider, rec.Usage, rec.CostUSD)
	}
}

func TestResponsesThroughSDK(t *testing.T) {
	for _, newFake := range primaryFakes {
		f := newFake(t)
		t.Run(f.name, func(t *testing.T) {
			h := surfaceHarness(t, f)
			client := h.client("unused")
			ctx := context.Background()
			user := responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Paris?")}

			f.text(weatherText)
			resp, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "main", Input: user})
			if err != nil {
				t.Fatalf("plain: %v", err)
			}
			if resp.Status != "completed" || resp.OutputText() != weatherText || resp.Usage.InputTokens == 0 {
				t.Errorf("plain: %s", resp.RawJSON())
			}
			checkServed(t, h, "responses", false)

			f.text(weatherText)
			stream := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "main", Input: user})
			var deltas, final string
			for stream.Next() {
				switch ev := stream.Current(); ev.Type {
				case "response.output_text.delta":
					deltas += ev.Delta
				case "response.completed":
					final = ev.Response.OutputText()
				}
			}
			if err := stream.Err(); err != nil || deltas != weatherText || final != weatherText {
				t.Errorf("streamed deltas %q, completed %q (%v)", deltas, final, err)
			}
			checkServed(t, h, "responses", true)

			// A tool call, then the answer once the result is sent back.
			f.tool("get_weather", weatherArgs)
			f.text(weatherText)
			first := []responses.ResponseInputItemUnionParam{
				responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser)}
			tools := []responses.ToolUnionParam{responses.ToolParamOfFunction("get_weather", weatherSchema, true)}
			resp, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: "main", Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: first}})
			if err != nil {
				t.Fatalf("tool call: %v", err)
			}
			checkServed(t, h, "responses", false)
			if len(resp.Output) != 1 || resp.Output[0].Type != "function_call" {
				t.Fatalf("tool call: %s", resp.RawJSON())
			}
			call := resp.Output[0].AsFunctionCall()
			if call.Name != "get_weather" || !sameJSONText([]byte(call.Arguments), []byte(weatherArgs)) || call.CallID == "" {
				t.Errorf("call = %s", call.RawJSON())
			}
			p := call.ToParam()
			out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"temp_c":21}`)
			out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
			input := append(first, responses.ResponseInputItemUnionParam{OfFunctionCall: &p}, out)
			resp, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: "main", Tools: tools,
				Input: responses.ResponseNewParamsInputUnion{OfInputItemList: input}})
			if err != nil || resp.OutputText() != weatherText {
				t.Fatalf("after the tool's result: %v %s", err, resp.RawJSON())
			}
			checkServed(t, h, "responses", false)
			if !bytes.Contains(f.last(), []byte("temp_c")) {
				t.Errorf("the tool's result did not reach the provider: %s", f.last())
			}

			// An answer that misses a required property is repaired.
			f.json("weather", `{}`)
			f.json("weather", `{"city": "Paris"}`)
			before := f.calls()
			resp, err = client.Responses.New(ctx, responses.ResponseNewParams{Model: "main", Input: user,
				Text: responses.ResponseTextConfigParam{Format: responses.ResponseFormatTextConfigUnionParam{
					OfJSONSchema: &responses.ResponseFormatTextJSONSchemaConfigParam{Name: "weather", Schema: weatherSchema,
						Strict: openai.Bool(true)}}}})
			if err != nil {
				t.Fatalf("structured: %v", err)
			}
			if resp.OutputText() != `{"city":"Paris"}` {
				t.Errorf("structured answer %q, want the repaired canonical JSON", resp.OutputText())
			}
			if n := f.calls() - before; n != 2 {
				t.Errorf("%d provider calls, want 2 (the answer and its repair)", n)
			}
			if rec := h.audit.next(t); rec.Endpoint != "responses" || rec.Structured != "repaired" || rec.Provider != "up" {
				t.Errorf("structured audit: endpoint %q structured %q provider %q", rec.Endpoint, rec.Structured, rec.Provider)
			}
		})
	}
}

func TestMessagesThroughSDK(t *testing.T) {
	for _, newFake := range primaryFakes {
		f := newFake(t)
		t.Run(f.name, func(t *testing.T) {
			h := surfaceHarness(t, f)
			client := h.anthropic()
			ctx := context.Background()
			user := []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Weather in Paris?"))}

			f.text(weatherText)
			msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "main", MaxTokens: 256, Messages: user})
			if err != nil {
				t.Fatalf("plain: %v", err)
			}
			if msg.StopReason != "end_turn" || len(msg.Content) != 1 || msg.Content[0].Text != weatherText ||
				msg.Usage.InputTokens == 0 || !strings.HasPrefix(msg.ID, "msg_") {
				t.Errorf("plain: %s", msg.RawJSON())
			}
			checkServed(t, h, "messages", false)

			f.text(weatherText)
			stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{Model: "main", MaxTokens: 256, Messages: user})
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil || acc.StopReason != "end_turn" || len(acc.Content) != 1 ||
				acc.Content[0].Text != weatherText || acc.Usage.OutputTokens == 0 {
				t.Errorf("streamed: %v %s", err, acc.RawJSON())
			}
			checkServed(t, h, "messages", true)

			// A tool call, then the answer once the result is sent back.
			f.tool("get_weather", weatherArgs)
			f.text(weatherText)
			tools := []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "get_weather",
				InputSchema: anthropic.ToolInputSchemaParam{Properties: weatherSchema["properties"], Required: []string{"city"}}}}}
			msg, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "main", MaxTokens: 256, Messages: user, Tools: tools})
			if err != nil {
				t.Fatalf("tool call: %v", err)
			}
			checkServed(t, h, "messages", false)
			if msg.StopReason != "tool_use" || len(msg.Content) != 1 || msg.Content[0].Type != "tool_use" {
				t.Fatalf("tool call: %s", msg.RawJSON())
			}
			use := msg.Content[0].AsToolUse()
			if use.Name != "get_weather" || !sameJSONText(use.Input, []byte(weatherArgs)) || use.ID == "" {
				t.Errorf("tool_use: %s", use.RawJSON())
			}
			next := append(user, msg.ToParam(), anthropic.NewUserMessage(anthropic.NewToolResultBlock(use.ID, `{"temp_c":21}`, false)))
			msg, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "main", MaxTokens: 256, Messages: next, Tools: tools})
			if err != nil || msg.StopReason != "end_turn" || msg.Content[0].Text != weatherText {
				t.Fatalf("after the tool's result: %v %s", err, msg.RawJSON())
			}
			checkServed(t, h, "messages", false)
			if !bytes.Contains(f.last(), []byte("temp_c")) {
				t.Errorf("the tool's result did not reach the provider: %s", f.last())
			}

			// The primary overloaded and no other target: Anthropic's error
			// shape, with a status the SDK maps to the same class.
			f.fail()
			_, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "only", MaxTokens: 256, Messages: user})
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) || apiErr.Type() == "" || apiErr.StatusCode < 500 {
				t.Errorf("overloaded primary: %v, want an Anthropic server error", err)
			} else if want := map[string]int{"overloaded_error": 529, "api_error": 500}[string(apiErr.Type())]; want != apiErr.StatusCode {
				t.Errorf("error type %q with status %d", apiErr.Type(), apiErr.StatusCode)
			}
			if rec := h.audit.next(t); rec.Endpoint != "messages" || len(rec.Attempts) != 1 || rec.Status < 500 {
				t.Errorf("failure audit: endpoint %q attempts %d status %d", rec.Endpoint, len(rec.Attempts), rec.Status)
			}

			// A phi request never reaches a provider without hipaa: the
			// backup serves it, and a route with no such target refuses it.
			before := f.calls()
			phi := aoption.WithHeader("x-router-data-class", "phi")
			msg, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "main", MaxTokens: 256, Messages: user}, phi)
			if err != nil || msg.Content[0].Text != "From the backup." {
				t.Errorf("phi on main: %v %s", err, msg.RawJSON())
			}
			if rec := h.audit.next(t); rec.Provider != "backup" || rec.Endpoint != "messages" {
				t.Errorf("phi audit: provider %q endpoint %q", rec.Provider, rec.Endpoint)
			}
			_, err = client.Messages.New(ctx, anthropic.MessageNewParams{Model: "only", MaxTokens: 256, Messages: user}, phi)
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 || apiErr.Type() != "permission_error" {
				t.Errorf("phi on a route without hipaa: %v, want a 403 permission_error", err)
			}
			h.audit.next(t)
			if n := f.calls() - before; n != 0 {
				t.Errorf("the non-hipaa primary received %d phi requests", n)
			}
		})
	}
}

// TestMessagesRateLimited: a key over its rpm is refused on /v1/messages in
// Anthropic's 429 shape, which the SDK reads as a rate_limit_error, with
// Retry-After.
func TestMessagesRateLimited(t *testing.T) {
	h, _, calls := limitedHarness(t, limitsConfig(fmt.Sprintf(`  - {id: app, hash: %q, routes: ["*"], rpm: 1}`, hashOf("sk-app"))), fixedClock())
	client := h.anthropic(aoption.WithAPIKey("sk-app"))
	params := anthropic.MessageNewParams{Model: "economy", MaxTokens: 20,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}}
	if _, err := client.Messages.New(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	h.audit.next(t)
	_, err := client.Messages.New(context.Background(), params)
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests || apiErr.Type() != "rate_limit_error" {
		t.Fatalf("second request: %v, want a 429 rate_limit_error", err)
	}
	if apiErr.Response.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if n := calls["cheap"].Load(); n != 1 {
		t.Errorf("provider calls = %d, want 1", n)
	}
	if rec := h.audit.next(t); rec.Endpoint != "messages" || rec.Status != 429 || rec.Limit != "rpm" {
		t.Errorf("audit: endpoint %q status %d limit %q", rec.Endpoint, rec.Status, rec.Limit)
	}
}
