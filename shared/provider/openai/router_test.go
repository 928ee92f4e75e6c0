package openai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// These tests run the whole router with the official openai-go client in
// front and a fake as strict as each dialect's API behind: what a user of
// the router sees, for each dialect.

// records is an audit sink that hands every record to the test.
type records chan audit.Record

func (r records) Emit(rec *audit.Record) { r <- *rec }

// next waits for the record of the request that just finished: a stream's is
// emitted after the client read [DONE], so it may come a little later.
func (r records) next(t *testing.T) audit.Record {
	t.Helper()
	select {
	case rec := <-r:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record within 10s")
		return audit.Record{}
	}
}

type router struct {
	client  openai.Client
	records records
}

// newRouter serves a router whose one model, "m", is served by a provider
// of the dialect at fake, priced at 1 USD per 1M input tokens, 0.1 cached
// and 2 output, so costs are easy to check.
func newRouter(t *testing.T, dialect string, fake *openaitest.Server) *router {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
providers: [{name: up, type: openai, dialect: %s, base_url: %q, key: "env:UP_KEY"}]
models: [{id: m, provider: up, upstream: up-model, price: {input: 1, output: 2, cached_input: 0.1}}]
routes: [{name: r, targets: [{model: m}]}]
`, dialect, fake.BaseURL())))
	if err != nil {
		t.Fatal(err)
	}
	rec := make(records, 16)
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return "sk-up", k == "UP_KEY"
		}}},
		Sink: rec,
		Log:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	return &router{client: openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0)),
		records: rec}
}

// strictFake is a fake with the dialect's API's strictness.
func strictFake(dialect string, script func(openaitest.Received) openaitest.Reply) *openaitest.Server {
	switch dialect {
	case "deepseek":
		script = openaitest.DeepSeek(script)
	case "mistral":
		script = openaitest.Mistral(script)
	case "groq":
		script = openaitest.Groq(script)
	}
	return openaitest.NewServer(dialect, script)
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name: "get_weather", Parameters: shared.FunctionParameters{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	})
}

// weatherScript calls get_weather until the conversation holds its result,
// then answers.
func weatherScript(r openaitest.Received) openaitest.Reply {
	usage := openaitest.Usage{Prompt: 1000, Completion: 100, Cached: 600}
	if strings.Contains(string(r.Body), `"role":"tool"`) {
		return openaitest.Reply{Text: "It is 14C and raining in Paris.", Usage: usage}
	}
	return openaitest.Reply{ToolCall: "get_weather", ToolArgs: `{"city":"Paris"}`, Usage: usage}
}

// 1000 prompt tokens of which 600 cached, 100 completion tokens:
// 400*1 + 600*0.1 + 100*2 = 660 micro-USD.
const wantCost = 0.00066

// Every dialect, through the router: DeepSeek, Mistral and Groq against
// fakes as strict as their APIs, the others against the plain fake.
func TestRouterDialects(t *testing.T) {
	for _, dialect := range config.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			t.Run("chat", func(t *testing.T) {
				fake := strictFake(dialect, func(openaitest.Received) openaitest.Reply {
					return openaitest.Reply{Text: "Bonjour.", Usage: openaitest.Usage{Prompt: 1000, Completion: 100, Cached: 600}}
				})
				defer fake.Close()
				rt := newRouter(t, dialect, fake)
				var resp *http.Response
				got, err := rt.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "r",
					Messages:            []openai.ChatCompletionMessageParamUnion{openai.DeveloperMessage("Answer in French."), openai.UserMessage("Hello")},
					MaxCompletionTokens: openai.Int(64), Seed: openai.Int(7), User: openai.String("u-1")},
					option.WithResponseInto(&resp))
				if err != nil {
					t.Fatalf("chat: %v", err)
				}
				if got.Choices[0].Message.Content != "Bonjour." || got.Model != "m" {
					t.Errorf("answer %q from model %q, want Bonjour. from m", got.Choices[0].Message.Content, got.Model)
				}
				if got.Usage.PromptTokens != 1000 || got.Usage.CompletionTokens != 100 {
					t.Errorf("usage = %+v", got.Usage)
				}
				rec := rt.records.next(t)
				if rec.CostUSD != wantCost || rec.Usage.CachedTokens != 600 {
					t.Errorf("record cost %v cached %d, want %v and 600", rec.CostUSD, rec.Usage.CachedTokens, wantCost)
				}
				if h := resp.Header.Get("X-Router-Cost-Usd"); h != "0.00066" {
					t.Errorf("X-Router-Cost-Usd = %q", h)
				}
			})

			t.Run("stream with usage", func(t *testing.T) {
				fake := strictFake(dialect, func(openaitest.Received) openaitest.Reply {
					return openaitest.Reply{Text: "one two three", Usage: openaitest.Usage{Prompt: 1000, Completion: 100, Cached: 600}}
				})
				defer fake.Close()
				rt := newRouter(t, dialect, fake)
				for _, askUsage := range []bool{true, false} {
					params := openai.ChatCompletionNewParams{Model: "r", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Count")}}
					if askUsage {
						params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
					}
					stream := rt.client.Chat.Completions.NewStreaming(ctx, params)
					var acc openai.ChatCompletionAccumulator
					for stream.Next() {
						acc.AddChunk(stream.Current())
					}
					if err := stream.Err(); err != nil {
						t.Fatalf("stream (usage asked %v): %v", askUsage, err)
					}
					if acc.Choices[0].Message.Content != "one two three" {
						t.Errorf("content = %q", acc.Choices[0].Message.Content)
					}
					if askUsage && acc.Usage.TotalTokens != 1100 {
						t.Errorf("client usage = %+v, want 1100 tokens", acc.Usage)
					}
					rec := rt.records.next(t)
					if rec.UsageMissing || rec.CostUSD != wantCost || rec.Usage.PromptTokens != 1000 {
						t.Errorf("usage asked %v: record usage %+v cost %v missing %v, want cost %v", askUsage, rec.Usage, rec.CostUSD, rec.UsageMissing, wantCost)
					}
				}
			})

			t.Run("tool round trip", func(t *testing.T) {
				fake := strictFake(dialect, weatherScript)
				defer fake.Close()
				rt := newRouter(t, dialect, fake)
				msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")}
				params := openai.ChatCompletionNewParams{Model: "r", Messages: msgs, Tools: []openai.ChatCompletionToolUnionParam{weatherTool()}}
				// The model's reasoning reaches clients that ask for it.
				params.SetExtraFields(map[string]any{"include_reasoning": true})
				first, err := rt.client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("first turn: %v", err)
				}
				rt.records.next(t)
				msg := first.Choices[0].Message
				if first.Choices[0].FinishReason != "tool_calls" || len(msg.ToolCalls) != 1 || msg.ToolCalls[0].Function.Name != "get_weather" {
					t.Fatalf("first turn = %+v, want a get_weather call", first.Choices[0])
				}
				callID := msg.ToolCalls[0].ID
				asst := msg.ToAssistantMessageParam()
				if rc, ok := msg.JSON.ExtraFields["reasoning_content"]; ok {
					// DeepSeek's thinking must go back with the tool call.
					var text string
					_ = json.Unmarshal([]byte(rc.Raw()), &text)
					asst.SetExtraFields(map[string]any{"reasoning_content": text})
				} else if dialect == "deepseek" {
					t.Fatal("the DeepSeek answer lost its reasoning_content")
				}
				params.Messages = append(msgs, openai.ChatCompletionMessageParamUnion{OfAssistant: &asst},
					openai.ToolMessage(`{"temp_c":14,"rain":true}`, callID))
				second, err := rt.client.Chat.Completions.New(ctx, params)
				if err != nil {
					t.Fatalf("second turn: %v", err)
				}
				if second.Choices[0].Message.Content != "It is 14C and raining in Paris." {
					t.Errorf("second turn = %q", second.Choices[0].Message.Content)
				}
				if rec := rt.records.next(t); rec.CostUSD != wantCost {
					t.Errorf("cost = %v, want %v", rec.CostUSD, wantCost)
				}
				// The id the provider made went back unchanged.
				var sent struct {
					Messages []struct {
						ToolCallID string `json:"tool_call_id"`
					} `json:"messages"`
				}
				_ = json.Unmarshal(fake.Received()[1].Body, &sent)
				if got := sent.Messages[2].ToolCallID; got != callID {
					t.Errorf("tool_call_id sent = %q, want the provider's own %q", got, callID)
				}
			})

			t.Run("streamed tool call", func(t *testing.T) {
				fake := strictFake(dialect, weatherScript)
				defer fake.Close()
				rt := newRouter(t, dialect, fake)
				stream := rt.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "r",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
					Tools:    []openai.ChatCompletionToolUnionParam{weatherTool()}})
				var acc openai.ChatCompletionAccumulator
				for stream.Next() {
					acc.AddChunk(stream.Current())
				}
				if err := stream.Err(); err != nil {
					t.Fatal(err)
				}
				tc := acc.Choices[0].Message.ToolCalls
				if len(tc) != 1 || tc[0].ID == "" || tc[0].Function.Name != "get_weather" || tc[0].Function.Arguments != `{"city":"Paris"}` ||
					acc.Choices[0].FinishReason != "tool_calls" {
					t.Errorf("tool calls = %+v, finish %q", tc, acc.Choices[0].FinishReason)
				}
				if rec := rt.records.next(t); rec.CostUSD != wantCost {
					t.Errorf("cost = %v, want %v", rec.CostUSD, wantCost)
				}
			})

			t.Run("images and response formats", func(t *testing.T) {
				// The router checks answers to JSON requests: the fake answers JSON.
				fake := strictFake(dialect, func(openaitest.Received) openaitest.Reply {
					return openaitest.Reply{Text: `{"thing":"a pixel"}`}
				})
				defer fake.Close()
				rt := newRouter(t, dialect, fake)
				const image = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
				user := openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
					openai.TextContentPart("What is in this image? Answer in JSON."),
					openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: image, Detail: "low"}),
				})
				formats := map[string]openai.ChatCompletionNewParamsResponseFormatUnion{
					`{"type":"json_object"}`: {OfJSONObject: &shared.ResponseFormatJSONObjectParam{}},
					`{"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object","properties":{"thing":{"type":"string"}}},"strict":true}}`: {
						OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
							Name: "answer", Strict: openai.Bool(true),
							Schema: map[string]any{"type": "object", "properties": map[string]any{"thing": map[string]any{"type": "string"}}}}}},
				}
				for want, format := range formats {
					_, err := rt.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "r",
						Messages: []openai.ChatCompletionMessageParamUnion{user}, ResponseFormat: format})
					if err != nil {
						t.Fatalf("%s: %v", want, err)
					}
					rt.records.next(t)
					received := fake.Received()
					var sent struct {
						ResponseFormat json.RawMessage   `json:"response_format"`
						Messages       []json.RawMessage `json:"messages"`
					}
					if err := json.Unmarshal(received[len(received)-1].Body, &sent); err != nil {
						t.Fatal(err)
					}
					var user struct {
						Content []struct {
							ImageURL struct {
								URL    string `json:"url"`
								Detail string `json:"detail"`
							} `json:"image_url"`
						} `json:"content"`
					}
					first := 0
					if dialect == "deepseek" && strings.Contains(want, "json_schema") {
						// DeepSeek has JSON mode only: the schema goes as a system message.
						want, first = `{"type":"json_object"}`, 1
						if !strings.Contains(string(received[len(received)-1].Body), `"role":"system","content":"Respond with a single JSON value`) {
							t.Errorf("DeepSeek got no schema instruction: %s", received[len(received)-1].Body)
						}
					}
					if !sameJSON(sent.ResponseFormat, want) {
						t.Errorf("response_format sent = %s, want %s", sent.ResponseFormat, want)
					}
					if err := json.Unmarshal(sent.Messages[first], &user); err != nil || len(user.Content) < 2 {
						t.Fatalf("user message sent = %s (%v)", sent.Messages[first], err)
					}
					if img := user.Content[1].ImageURL; img.URL != image || img.Detail != "low" {
						t.Errorf("image part sent = %+v", img)
					}
				}
			})
		})
	}
}

// A conversation whose tool calls were made by Anthropic and OpenAI models
// continues on Mistral: the ids are rewritten to Mistral's form, the same way
// in the call and in its result.
func TestRouterMistralForeignToolIDs(t *testing.T) {
	fake := strictFake("mistral", weatherScript)
	defer fake.Close()
	rt := newRouter(t, "mistral", fake)
	call := func(id, city string) openai.ChatCompletionMessageToolCallUnionParam {
		return openai.ChatCompletionMessageToolCallUnionParam{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
			ID: id, Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"` + city + `"}`}}}
	}
	ids := []string{"toolu_01A09q90qw90lq917835lq9", "call_abc123XYZ789"}
	got, err := rt.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "r",
		Tools: []openai.ChatCompletionToolUnionParam{weatherTool()},
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("Weather in Paris and Rome?"),
			{OfAssistant: &openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{
				call(ids[0], "Paris"), call(ids[1], "Rome")}}},
			openai.ToolMessage("14C", ids[0]),
			openai.ToolMessage("21C", ids[1]),
		}})
	if err != nil {
		t.Fatalf("chat: %v", err) // the strict fake refuses any id it would not accept
	}
	if got.Choices[0].Message.Content == "" {
		t.Error("empty answer")
	}
	var sent struct {
		Messages []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(fake.Received()[0].Body, &sent); err != nil {
		t.Fatal(err)
	}
	calls := sent.Messages[1].ToolCalls
	if len(calls) != 2 || calls[0].ID == calls[1].ID {
		t.Fatalf("tool calls sent = %+v, want two distinct ids", calls)
	}
	for i, c := range calls {
		if c.ID == ids[i] {
			t.Errorf("id %q was sent unchanged", c.ID)
		}
		if result := sent.Messages[2+i].ToolCallID; result != c.ID {
			t.Errorf("result %d answers %q, but its call was sent as %q", i, result, c.ID)
		}
	}
	rt.records.next(t)
}

// Groq answers 400 for n > 1: the router makes n calls with n = 1 (which
// the strict fake accepts) and merges them.
func TestRouterGroqSeveralChoices(t *testing.T) {
	fake := strictFake("groq", nil)
	defer fake.Close()
	rt := newRouter(t, "groq", fake)
	resp, err := rt.client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "r",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Two takes, please")}, N: openai.Int(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Choices) != 2 || resp.Choices[0].Index != 0 || resp.Choices[1].Index != 1 {
		t.Errorf("choices %+v, want two, numbered 0 and 1", resp.Choices)
	}
	if fake.Calls() != 2 {
		t.Errorf("the upstream got %d requests, want two with one choice each", fake.Calls())
	}
	rt.records.next(t)
}

func sameJSON(got json.RawMessage, want string) bool {
	var a, b any
	return json.Unmarshal(got, &a) == nil && json.Unmarshal([]byte(want), &b) == nil && reflect.DeepEqual(a, b)
}
