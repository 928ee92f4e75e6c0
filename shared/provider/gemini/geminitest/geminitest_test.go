package geminitest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/genai"

	"github.com/llm-router/router/shared/provider/gemini/geminitest"
)

// The fake is checked with Google's own Go SDK as the client: whatever the
// SDK sends, the fake must accept, and whatever the fake answers, the SDK
// must parse into the values that were scripted.

func newClient(t *testing.T, srv *geminitest.Server, key string) *genai.Client {
	t.Helper()
	c, err := genai.NewClient(context.Background(), &genai.ClientConfig{
		APIKey:      key,
		Backend:     genai.BackendGeminiAPI,
		HTTPClient:  srv.Client(),
		HTTPOptions: genai.HTTPOptions{BaseURL: srv.URL},
	})
	if err != nil {
		t.Fatalf("genai.NewClient: %v", err)
	}
	return c
}

func start(t *testing.T, opts geminitest.Options) *geminitest.Server {
	t.Helper()
	srv := geminitest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv
}

func TestSDKGenerateContent(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	srv.Enqueue(geminitest.Reply{Text: []string{"Bonjour", " Paris"}, ResponseID: "rsp-1",
		Usage: &geminitest.Usage{Prompt: 12, Candidates: 3, Thoughts: 2, Cached: 4}})

	resp, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("Say hello"),
		&genai.GenerateContentConfig{
			SystemInstruction: genai.NewContentFromText("Be terse.", genai.RoleUser),
			Temperature:       genai.Ptr[float32](0.2),
			MaxOutputTokens:   64,
		})
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	if got, want := resp.Text(), "Bonjour Paris"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	if got, want := resp.Candidates[0].FinishReason, genai.FinishReasonStop; got != want {
		t.Errorf("finishReason = %q, want %q", got, want)
	}
	u := resp.UsageMetadata
	if u == nil {
		t.Fatal("no usageMetadata")
	}
	gotUsage := [5]int32{u.PromptTokenCount, u.CandidatesTokenCount, u.ThoughtsTokenCount, u.CachedContentTokenCount, u.TotalTokenCount}
	if want := [5]int32{12, 3, 2, 4, 17}; gotUsage != want {
		t.Errorf("usage (prompt, candidates, thoughts, cached, total) = %v, want %v", gotUsage, want)
	}
	if resp.ModelVersion != "gemini-2.5-flash" || resp.ResponseID != "rsp-1" {
		t.Errorf("modelVersion, responseId = %q, %q", resp.ModelVersion, resp.ResponseID)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("the fake saw %d requests, want 1", len(reqs))
	}
	r := reqs[0]
	if got, want := r.Path, "/v1beta/models/gemini-2.5-flash:generateContent"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if got := r.Header.Get("x-goog-api-key"); got != srv.Key() {
		t.Errorf("x-goog-api-key = %q, want the key", got)
	}
	var body struct {
		SystemInstruction struct {
			Parts []struct{ Text string }
		}
		GenerationConfig struct {
			Temperature     float64
			MaxOutputTokens int
		}
	}
	if err := r.Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.SystemInstruction.Parts) != 1 || body.SystemInstruction.Parts[0].Text != "Be terse." ||
		body.GenerationConfig.MaxOutputTokens != 64 {
		t.Errorf("recorded body = %s", r.Body)
	}
}

func TestSDKFunctionCalls(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	sig := []byte("opaque-signature-bytes")
	srv.Enqueue(geminitest.Reply{Calls: []geminitest.Call{
		{Name: "get_weather", Args: map[string]any{"city": "Paris"}, ThoughtSignature: sig},
		{ID: "fc-2", Name: "get_time", Args: map[string]any{"tz": "CET"}},
	}})
	tools := []*genai.Tool{{FunctionDeclarations: []*genai.FunctionDeclaration{
		{Name: "get_weather", ParametersJsonSchema: map[string]any{"type": "object"}},
		{Name: "get_time", ParametersJsonSchema: map[string]any{"type": "object"}},
	}}}
	resp, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("Weather?"),
		&genai.GenerateContentConfig{Tools: tools, ToolConfig: &genai.ToolConfig{FunctionCallingConfig: &genai.FunctionCallingConfig{Mode: genai.FunctionCallingConfigModeAuto}}})
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	calls := resp.FunctionCalls()
	type call struct {
		ID, Name string
		Args     map[string]any
	}
	var got []call
	for _, c := range calls {
		got = append(got, call{c.ID, c.Name, c.Args})
	}
	want := []call{{"", "get_weather", map[string]any{"city": "Paris"}}, {"fc-2", "get_time", map[string]any{"tz": "CET"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("function calls = %+v, want %+v", got, want)
	}
	if parts := resp.Candidates[0].Content.Parts; !bytes.Equal(parts[0].ThoughtSignature, sig) {
		t.Errorf("thoughtSignature = %q, want %q", parts[0].ThoughtSignature, sig)
	}

	// The SDK's function response, sent back as the next turn, is accepted.
	history := []*genai.Content{
		genai.NewContentFromText("Weather?", genai.RoleUser),
		resp.Candidates[0].Content,
		genai.NewContentFromFunctionResponse("get_weather", map[string]any{"output": map[string]any{"temp": 21}}, genai.RoleUser),
	}
	if _, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", history, &genai.GenerateContentConfig{Tools: tools}); err != nil {
		t.Fatalf("GenerateContent with a function response: %v", err)
	}
}

func TestSDKStream(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	srv.Enqueue(geminitest.Reply{Thought: "thinking", Text: []string{"one", " two", " three"},
		Usage: &geminitest.Usage{Prompt: 5, Candidates: 3}})

	var texts []string
	var last *genai.GenerateContentResponse
	thoughts := 0
	for resp, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("Count"), nil) {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		for _, p := range resp.Candidates[0].Content.Parts {
			if p.Thought {
				thoughts++
				continue
			}
			texts = append(texts, p.Text)
		}
		last = resp
	}
	if want := []string{"one", " two", " three"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("streamed text parts = %q, want the incremental pieces %q", texts, want)
	}
	if thoughts != 1 {
		t.Errorf("thought parts = %d, want 1", thoughts)
	}
	if last == nil || last.Candidates[0].FinishReason != genai.FinishReasonStop || last.UsageMetadata.CandidatesTokenCount != 3 {
		t.Errorf("last event = %+v, want finishReason STOP and the final usage", last)
	}
	r := srv.Requests()[0]
	if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.Query.Get("alt") != "sse" {
		t.Errorf("request = %s?%s, want streamGenerateContent?alt=sse", r.Path, r.Query.Encode())
	}
}

func TestSDKStreamErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply geminitest.Reply
	}{
		{"data event", geminitest.Reply{Text: []string{"partial"}, StreamError: geminitest.NewError(500, "")}},
		{"bare object", geminitest.Reply{Text: []string{"partial"}, StreamError: geminitest.NewError(500, ""), StreamErrorBare: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, geminitest.Options{})
			client := newClient(t, srv, srv.Key())
			srv.Enqueue(tt.reply)
			var text string
			var apiErr genai.APIError
			for resp, err := range client.Models.GenerateContentStream(context.Background(), "gemini-2.5-flash", genai.Text("Hi"), nil) {
				if err != nil {
					if !errors.As(err, &apiErr) {
						t.Fatalf("stream error %v is not a genai.APIError", err)
					}
					break
				}
				text += resp.Text()
			}
			if text != "partial" {
				t.Errorf("text before the error = %q, want %q", text, "partial")
			}
			if apiErr.Code != 500 || apiErr.Status != "INTERNAL" {
				t.Errorf("error = %d %s, want 500 INTERNAL", apiErr.Code, apiErr.Status)
			}
		})
	}
}

func TestSDKBlockedPrompt(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	srv.Enqueue(geminitest.Reply{BlockReason: "SAFETY"})
	resp, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("something bad"), nil)
	if err != nil {
		t.Fatalf("GenerateContent: %v", err)
	}
	if len(resp.Candidates) != 0 || resp.PromptFeedback == nil || resp.PromptFeedback.BlockReason != genai.BlockedReasonSafety {
		t.Errorf("answer = %+v, want no candidates and blockReason SAFETY", resp)
	}
}

func TestSDKEmbed(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	contents := []*genai.Content{genai.NewContentFromText("alpha", genai.RoleUser), genai.NewContentFromText("beta", genai.RoleUser)}
	resp, err := client.Models.EmbedContent(context.Background(), "gemini-embedding-001", contents,
		&genai.EmbedContentConfig{OutputDimensionality: genai.Ptr[int32](4)})
	if err != nil {
		t.Fatalf("EmbedContent: %v", err)
	}
	if len(resp.Embeddings) != 2 {
		t.Fatalf("embeddings = %d, want 2", len(resp.Embeddings))
	}
	for i, text := range []string{"alpha", "beta"} {
		if got, want := resp.Embeddings[i].Values, geminitest.Vector(text, 4); !reflect.DeepEqual(got, want) {
			t.Errorf("embedding %d = %v, want %v", i, got, want)
		}
	}
	if got, want := srv.Requests()[0].Path, "/v1beta/models/gemini-embedding-001:batchEmbedContents"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
}

func TestSDKListModels(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	page, err := client.Models.List(context.Background(), &genai.ListModelsConfig{PageSize: 1})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(page.Items) != 1 || page.Items[0].Name != "models/gemini-2.5-flash" || page.NextPageToken == "" {
		t.Errorf("page = %d items, first %+v, next %q; want one model and a next page", len(page.Items), page.Items, page.NextPageToken)
	}
}

func TestSDKErrors(t *testing.T) {
	tests := []struct {
		name       string
		key        string
		reply      *geminitest.Reply
		wantCode   int
		wantStatus string
		wantDetail string // a detail's @type or reason that must be present
	}{
		{"rate limited", "", &geminitest.Reply{Error: geminitest.NewError(429, "")}, 429, "RESOURCE_EXHAUSTED", "type.googleapis.com/google.rpc.RetryInfo"},
		{"unavailable", "", &geminitest.Reply{Error: geminitest.NewError(503, "")}, 503, "UNAVAILABLE", ""},
		{"internal", "", &geminitest.Reply{Error: geminitest.NewError(500, "")}, 500, "INTERNAL", ""},
		{"not found", "", &geminitest.Reply{Error: geminitest.NewError(404, "models/nope is not found")}, 404, "NOT_FOUND", ""},
		{"bad key", "wrong-key", nil, 400, "INVALID_ARGUMENT", "API_KEY_INVALID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := start(t, geminitest.Options{})
			key := tt.key
			if key == "" {
				key = srv.Key()
			}
			client := newClient(t, srv, key)
			if tt.reply != nil {
				srv.Enqueue(*tt.reply)
			}
			_, err := client.Models.GenerateContent(context.Background(), "gemini-2.5-flash", genai.Text("Hi"), nil)
			var apiErr genai.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not a genai.APIError", err)
			}
			if apiErr.Code != tt.wantCode || apiErr.Status != tt.wantStatus || apiErr.Message == "" {
				t.Errorf("error = %d %s %q, want %d %s with a message", apiErr.Code, apiErr.Status, apiErr.Message, tt.wantCode, tt.wantStatus)
			}
			if tt.wantDetail != "" && !hasDetail(apiErr.Details, tt.wantDetail) {
				t.Errorf("details = %v, want one with %q", apiErr.Details, tt.wantDetail)
			}
		})
	}
}

func hasDetail(details []map[string]any, want string) bool {
	for _, d := range details {
		if d["@type"] == want || d["reason"] == want {
			return true
		}
	}
	return false
}

// TestRejectsWhatGeminiRejects pins the fake's request checks, which the
// adapter's tests rely on to catch OpenAI fields leaking into Gemini bodies.
func TestRejectsWhatGeminiRejects(t *testing.T) {
	srv := start(t, geminitest.Options{RequireThoughtSignatures: true})
	tests := []struct {
		name       string
		path       string
		key        string
		body       string
		wantStatus int
		wantMsg    string
	}{
		{"openai body", ":generateContent", srv.Key(), `{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"hi"}]}`, 400, `Unknown name "model"`},
		{"stream_options", ":generateContent", srv.Key(), `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"stream_options":{}}`, 400, `Unknown name "stream_options"`},
		{"openai field in generationConfig", ":generateContent", srv.Key(), `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"generationConfig":{"max_tokens":5}}`, 400, `Unknown name "max_tokens"`},
		{"no contents", ":generateContent", srv.Key(), `{"contents":[]}`, 400, "contents is not specified"},
		{"empty parts", ":generateContent", srv.Key(), `{"contents":[{"role":"user","parts":[]}]}`, 400, "must not be empty"},
		{"assistant role", ":generateContent", srv.Key(), `{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}`, 400, "valid role"},
		{"response not an object", ":generateContent", srv.Key(), `{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":"x"}}]}]}`, 400, "function_response.response"},
		{"unsigned call", ":generateContent", srv.Key(), `{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"output":1}}}]}]}`, 400, "thought_signature"},
		{"missing key", ":generateContent", "", `{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}`, 403, "unregistered callers"},
		{"embed model mismatch", ":batchEmbedContents", srv.Key(), `{"requests":[{"model":"models/other","content":{"parts":[{"text":"a"}]}}]}`, 400, "must match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1beta/models/gemini-2.5-flash"+tt.path, strings.NewReader(tt.body))
			if tt.key != "" {
				req.Header.Set("x-goog-api-key", tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			var e struct {
				Error struct {
					Code    int
					Message string
					Status  string
				}
			}
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatalf("error body %s is not Google's shape: %v", data, err)
			}
			if resp.StatusCode != tt.wantStatus || e.Error.Code != tt.wantStatus || !strings.Contains(e.Error.Message, tt.wantMsg) {
				t.Errorf("got %d %+v, want %d with a message containing %q", resp.StatusCode, e.Error, tt.wantStatus, tt.wantMsg)
			}
		})
	}
}

// The SDK's thinkingConfig: accepted as the service takes it, refused where
// the service refuses it.
func TestSDKThinkingConfig(t *testing.T) {
	srv := start(t, geminitest.Options{})
	client := newClient(t, srv, srv.Key())
	budget := func(n int32) *int32 { return &n }
	for _, tt := range []struct {
		model string
		tc    genai.ThinkingConfig
		ok    bool
	}{
		{"gemini-2.5-flash", genai.ThinkingConfig{ThinkingBudget: budget(1024), IncludeThoughts: true}, true},
		{"gemini-2.5-flash", genai.ThinkingConfig{ThinkingBudget: budget(0)}, true},
		{"gemini-2.5-pro", genai.ThinkingConfig{ThinkingBudget: budget(0)}, false},
		{"gemini-2.5-flash", genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow}, false},
		{"gemini-3-pro-preview", genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelHigh}, true},
		{"gemini-3-pro-preview", genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelMedium}, false},
		{"gemini-3-flash-preview", genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelMinimal}, true},
		{"gemini-3-flash-preview", genai.ThinkingConfig{ThinkingLevel: genai.ThinkingLevelLow, ThinkingBudget: budget(1024)}, false},
	} {
		tc := tt.tc
		_, err := client.Models.GenerateContent(context.Background(), tt.model, genai.Text("hi"), &genai.GenerateContentConfig{ThinkingConfig: &tc})
		var apiErr genai.APIError
		if tt.ok && err != nil || !tt.ok && (!errors.As(err, &apiErr) || apiErr.Code != 400) {
			t.Errorf("%s %+v: err = %v, want ok %v", tt.model, tt.tc, err, tt.ok)
		}
	}
}
