package bedrocktest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

// The official SDK is the judge of the fake's fidelity: if bedrockruntime
// parses what the fake sends, adapters tested against the fake see what they
// will see from Bedrock.

func sdkClient(s *bedrocktest.Server) *bedrockruntime.Client {
	return bedrockruntime.New(bedrockruntime.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   guarded{&http.Client{}},
	})
}

// guarded hides the request body's WriteTo, as the bedrock adapter does, to
// avoid the SDK's race with net/http (aws/aws-sdk-go-v2#2737), which on
// loopback sometimes closes the connection under the response.
type guarded struct{ c *http.Client }

func (g guarded) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body = struct{ io.ReadCloser }{r.Body}
	}
	return g.c.Do(r)
}

const model = "anthropic.claude-3-5-sonnet-20240620-v1:0"

func userText(text string) []types.Message {
	return []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: text}}}}
}

func TestConverseText(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{Text: "Bonjour.", Usage: bedrocktest.Usage{Input: 10, Output: 3, CacheRead: 4, CacheWrite: 2}})
	out, err := sdkClient(s).Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(model), Messages: userText("Hello")})
	if err != nil {
		t.Fatal(err)
	}
	msg, ok := out.Output.(*types.ConverseOutputMemberMessage)
	if !ok {
		t.Fatalf("output is %T, want a message", out.Output)
	}
	if len(msg.Value.Content) != 1 {
		t.Fatalf("got %d content blocks, want 1", len(msg.Value.Content))
	}
	if got, ok := msg.Value.Content[0].(*types.ContentBlockMemberText); !ok || got.Value != "Bonjour." {
		t.Errorf("got content %#v, want text Bonjour.", msg.Value.Content[0])
	}
	if out.StopReason != types.StopReasonEndTurn {
		t.Errorf("got stop reason %q, want end_turn", out.StopReason)
	}
	u := out.Usage
	got := [5]int32{*u.InputTokens, *u.OutputTokens, *u.TotalTokens, *u.CacheReadInputTokens, *u.CacheWriteInputTokens}
	if want := [5]int32{10, 3, 19, 4, 2}; got != want {
		t.Errorf("got usage %v, want %v", got, want)
	}
	req := s.Last(t)
	if req.Operation != "converse" || req.ModelID != model {
		t.Errorf("got operation %q model %q, want converse %q", req.Operation, req.ModelID, model)
	}
	if auth := req.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") ||
		!strings.Contains(auth, "/us-east-1/bedrock/aws4_request") {
		t.Errorf("got Authorization %q, want a SigV4 signature for bedrock in us-east-1", auth)
	}
}

func TestConverseToolUse(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{Text: "Let me look.", ToolUses: []bedrocktest.ToolUse{{ID: "tooluse_1", Name: "get_weather", Input: `{"city":"Paris","days":3}`}}})
	out, err := sdkClient(s).Converse(context.Background(), &bedrockruntime.ConverseInput{
		ModelId: aws.String(model), Messages: userText("Weather?")})
	if err != nil {
		t.Fatal(err)
	}
	if out.StopReason != types.StopReasonToolUse {
		t.Errorf("got stop reason %q, want tool_use", out.StopReason)
	}
	content := out.Output.(*types.ConverseOutputMemberMessage).Value.Content
	if len(content) != 2 {
		t.Fatalf("got %d blocks, want 2", len(content))
	}
	tu, ok := content[1].(*types.ContentBlockMemberToolUse)
	if !ok {
		t.Fatalf("block 1 is %T, want toolUse", content[1])
	}
	var input map[string]any
	if err := tu.Value.Input.UnmarshalSmithyDocument(&input); err != nil {
		t.Fatal(err)
	}
	if *tu.Value.ToolUseId != "tooluse_1" || *tu.Value.Name != "get_weather" || input["city"] != "Paris" {
		t.Errorf("got tool use %s %s %v, want tooluse_1 get_weather city=Paris", *tu.Value.ToolUseId, *tu.Value.Name, input)
	}
}

// collect reads a whole ConverseStream.
type collected struct {
	roles      []string
	text       string
	reasoning  string
	toolStarts []types.ToolUseBlockStart
	toolInput  map[int32]string
	stop       types.StopReason
	usage      *types.TokenUsage
	err        error
}

func collect(t *testing.T, out *bedrockruntime.ConverseStreamOutput) collected {
	t.Helper()
	es := out.GetStream()
	defer es.Close()
	c := collected{toolInput: map[int32]string{}}
	for ev := range es.Events() {
		switch e := ev.(type) {
		case *types.ConverseStreamOutputMemberMessageStart:
			c.roles = append(c.roles, string(e.Value.Role))
		case *types.ConverseStreamOutputMemberContentBlockStart:
			if tu, ok := e.Value.Start.(*types.ContentBlockStartMemberToolUse); ok {
				c.toolStarts = append(c.toolStarts, tu.Value)
			}
		case *types.ConverseStreamOutputMemberContentBlockDelta:
			switch d := e.Value.Delta.(type) {
			case *types.ContentBlockDeltaMemberText:
				c.text += d.Value
			case *types.ContentBlockDeltaMemberToolUse:
				c.toolInput[*e.Value.ContentBlockIndex] += *d.Value.Input
			case *types.ContentBlockDeltaMemberReasoningContent:
				if r, ok := d.Value.(*types.ReasoningContentBlockDeltaMemberText); ok {
					c.reasoning += r.Value
				}
			}
		case *types.ConverseStreamOutputMemberMessageStop:
			c.stop = e.Value.StopReason
		case *types.ConverseStreamOutputMemberMetadata:
			c.usage = e.Value.Usage
		}
	}
	c.err = es.Err()
	return c
}

func TestConverseStreamText(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{Text: "It is sunny in Paris.", Reasoning: "The user asks about weather.", Usage: bedrocktest.Usage{Input: 20, Output: 7}})
	out, err := sdkClient(s).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model), Messages: userText("Weather?")})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, out)
	if c.err != nil {
		t.Fatal(c.err)
	}
	if len(c.roles) != 1 || c.roles[0] != "assistant" {
		t.Errorf("got messageStart roles %v, want [assistant]", c.roles)
	}
	if c.text != "It is sunny in Paris." || c.reasoning != "The user asks about weather." {
		t.Errorf("got text %q reasoning %q", c.text, c.reasoning)
	}
	if c.stop != types.StopReasonEndTurn {
		t.Errorf("got stop %q, want end_turn", c.stop)
	}
	if c.usage == nil || *c.usage.InputTokens != 20 || *c.usage.OutputTokens != 7 {
		t.Errorf("got usage %+v, want 20 in, 7 out", c.usage)
	}
	if got := s.Last(t).Operation; got != "converse-stream" {
		t.Errorf("got operation %q, want converse-stream", got)
	}
}

func TestConverseStreamToolUse(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{ToolUses: []bedrocktest.ToolUse{
		{ID: "tooluse_a", Name: "get_weather", Input: `{"city":"Paris"}`},
		{ID: "tooluse_b", Name: "get_time", Input: `{"tz":"Europe/Paris"}`},
	}})
	out, err := sdkClient(s).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model), Messages: userText("Weather and time?")})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, out)
	if c.err != nil {
		t.Fatal(c.err)
	}
	if len(c.toolStarts) != 2 || *c.toolStarts[0].ToolUseId != "tooluse_a" || *c.toolStarts[1].Name != "get_time" {
		t.Fatalf("got tool starts %+v, want tooluse_a/get_weather and tooluse_b/get_time", c.toolStarts)
	}
	want := map[int32]string{0: `{"city":"Paris"}`, 1: `{"tz":"Europe/Paris"}`}
	for i, w := range want {
		if c.toolInput[i] != w {
			t.Errorf("block %d: got input %q, want %q", i, c.toolInput[i], w)
		}
	}
	if c.stop != types.StopReasonToolUse {
		t.Errorf("got stop %q, want tool_use", c.stop)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		exception  string
		wantStatus int
		check      func(error) bool
	}{
		{"throttling", "ThrottlingException", 429, func(err error) bool { var e *types.ThrottlingException; return errors.As(err, &e) }},
		{"validation", "ValidationException", 400, func(err error) bool { var e *types.ValidationException; return errors.As(err, &e) }},
		{"unavailable", "ServiceUnavailableException", 503, func(err error) bool { var e *types.ServiceUnavailableException; return errors.As(err, &e) }},
		{"not found", "ResourceNotFoundException", 404, func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }},
		{"model timeout", "ModelTimeoutException", 408, func(err error) bool { var e *types.ModelTimeoutException; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bedrocktest.New(t)
			s.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: tt.exception, Message: "simulated " + tt.name}})
			_, err := sdkClient(s).Converse(context.Background(), &bedrockruntime.ConverseInput{
				ModelId: aws.String(model), Messages: userText("Hi")})
			if err == nil || !tt.check(err) {
				t.Fatalf("got error %v, want a typed %s", err, tt.exception)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.wantStatus {
				t.Errorf("got %v, want HTTP status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestStreamException(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{Text: "Partial answer", StreamError: &bedrocktest.Exception{Name: "ModelStreamErrorException", Message: "the model stopped"}})
	out, err := sdkClient(s).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model), Messages: userText("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, out)
	if c.text != "Partial answer" {
		t.Errorf("got text %q before the exception, want %q", c.text, "Partial answer")
	}
	var e *types.ModelStreamErrorException
	if !errors.As(c.err, &e) || e.ErrorMessage() != "the model stopped" {
		t.Errorf("got stream error %v, want ModelStreamErrorException", c.err)
	}
}

// A throttled model can accept a stream and fail before any content:
// messageStart, then the exception.
func TestStreamExceptionBeforeContent(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{StreamError: &bedrocktest.Exception{Name: "ThrottlingException", Message: "Too many requests"}})
	out, err := sdkClient(s).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model), Messages: userText("Hi")})
	if err != nil {
		t.Fatal(err)
	}
	c := collect(t, out)
	if len(c.roles) != 1 || c.text != "" {
		t.Errorf("got roles %v text %q, want messageStart only", c.roles, c.text)
	}
	var e *types.ThrottlingException
	if !errors.As(c.err, &e) {
		t.Errorf("got stream error %v, want ThrottlingException", c.err)
	}
}

// A stream spaced by Gap is the same stream, delivered slowly.
func TestConverseStreamWithGap(t *testing.T) {
	s := bedrocktest.New(t)
	s.Push(bedrocktest.Reply{Text: "one two three", Gap: 5 * time.Millisecond})
	out, err := sdkClient(s).ConverseStream(context.Background(), &bedrockruntime.ConverseStreamInput{
		ModelId: aws.String(model), Messages: userText("Count")})
	if err != nil {
		t.Fatal(err)
	}
	if c := collect(t, out); c.err != nil || c.text != "one two three" || c.stop != types.StopReasonEndTurn {
		t.Errorf("got text %q stop %q err %v", c.text, c.stop, c.err)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name string
		in   *bedrockruntime.ConverseInput
		want string
	}{
		{"starts with assistant", &bedrockruntime.ConverseInput{Messages: []types.Message{
			{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberText{Value: "Hi"}}}}},
			"must start with a user message"},
		{"does not alternate", &bedrockruntime.ConverseInput{Messages: append(userText("a"), userText("b")...)},
			"must alternate"},
		{"tool blocks without toolConfig", &bedrockruntime.ConverseInput{Messages: []types.Message{
			userText("Weather?")[0],
			{Role: types.ConversationRoleAssistant, Content: []types.ContentBlock{&types.ContentBlockMemberToolUse{Value: types.ToolUseBlock{
				ToolUseId: aws.String("t1"), Name: aws.String("w"), Input: document.NewLazyDocument(map[string]any{})}}}}}},
			"toolConfig field must be defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bedrocktest.New(t)
			tt.in.ModelId = aws.String(model)
			_, err := sdkClient(s).Converse(context.Background(), tt.in)
			var e *types.ValidationException
			if !errors.As(err, &e) || !strings.Contains(e.ErrorMessage(), tt.want) {
				t.Errorf("got %v, want a ValidationException saying %q", err, tt.want)
			}
		})
	}
}

func TestInvokeTitan(t *testing.T) {
	s := bedrocktest.New(t)
	out, err := sdkClient(s).InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{
		ModelId: aws.String("amazon.titan-embed-text-v2:0"), ContentType: aws.String("application/json"),
		Body: []byte(`{"inputText":"hello world","dimensions":256,"normalize":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Embedding []float32 `json:"embedding"`
		Tokens    int       `json:"inputTextTokenCount"`
	}
	if err := json.Unmarshal(out.Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Embedding) != 256 || got.Tokens != 2 {
		t.Errorf("got %d dimensions and %d tokens, want 256 and 2", len(got.Embedding), got.Tokens)
	}
	if got.Embedding[0] != bedrocktest.Embedding("hello world", 256)[0] {
		t.Error("the embedding is not the documented deterministic vector")
	}
}

func TestMissingSignature(t *testing.T) {
	s := bedrocktest.New(t)
	resp, err := http.Post(s.URL+"/model/"+model+"/converse", "application/json", strings.NewReader(`{"messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.HasPrefix(resp.Header.Get("X-Amzn-Errortype"), "MissingAuthenticationTokenException") {
		t.Errorf("got %d %q, want 403 MissingAuthenticationTokenException", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}
