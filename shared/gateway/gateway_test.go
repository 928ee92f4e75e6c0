package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

var upstreamKeys = map[string]string{"PRIM_KEY": "sk-prim-secret-0001", "BACK_KEY": "sk-back-secret-0002"}

// twoTargets is a route "main" with a primary and a backup upstream.
func twoTargets(primaryURL, backupURL, primaryTarget string) string {
	return fmt.Sprintf(`
providers:
  - {name: prim, type: openai, base_url: %q, key: "env:PRIM_KEY"}
  - {name: back, type: openai, base_url: %q, key: "env:BACK_KEY"}
models:
  - {id: primary, provider: prim, upstream: gpt-4o, price: {input: 2.5, output: 10, cached_input: 1.25}}
  - {id: backup, provider: back, upstream: gpt-4o-mini, price: {input: 0.15, output: 0.6}}
routes:
  - name: main
    targets:
      - %s
      - {model: backup}
`, primaryURL, backupURL, primaryTarget)
}

func TestChatThroughOpenAIClient(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "The capital is Paris.", Usage: openaitest.Usage{Prompt: 1000, Completion: 100, Cached: 400}}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary}"), upstreamKeys)

	var resp *http.Response
	got, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "main", Messages: userMessage("What is the capital of France?"),
	}, option.WithResponseInto(&resp), option.WithHeader("x-router-tags", "team=triage,feature=refill"))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got.Choices[0].Message.Content != "The capital is Paris." {
		t.Errorf("content = %q", got.Choices[0].Message.Content)
	}
	if got.Model != "primary" {
		t.Errorf("body model = %q, want the serving model id primary", got.Model)
	}
	if got.Usage.PromptTokens != 1000 || got.Usage.CompletionTokens != 100 {
		t.Errorf("usage = %+v", got.Usage)
	}
	// (1000-400)*2.5 + 400*1.25 + 100*10 = 1500 + 500 + 1000 micro-USD
	wantHeaders := map[string]string{"X-Router-Route": "main", "X-Router-Model": "primary", "X-Router-Provider": "prim",
		"X-Router-Attempts": "1", "X-Router-Cost-Usd": "0.003"}
	for k, want := range wantHeaders {
		if v := resp.Header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if id := resp.Header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("X-Request-Id = %q", id)
	}
	if r := prim.Received()[0]; r.Model != "gpt-4o" || r.Header.Get("Authorization") != "Bearer sk-prim-secret-0001" {
		t.Errorf("upstream got model %q auth %q", r.Model, r.Header.Get("Authorization"))
	}
	rec := h.audit.next(t)
	if rec.RequestID != resp.Header.Get("X-Request-Id") || rec.Model != "primary" || rec.UpstreamModel != "gpt-4o" ||
		rec.Status != 200 || rec.CostUSD != 0.003 || rec.Tags["team"] != "triage" || rec.Usage.CachedTokens != 400 {
		t.Errorf("audit record = %+v", rec)
	}
	if back.Calls() != 0 {
		t.Errorf("backup called %d times", back.Calls())
	}
}

func TestStreamingThroughOpenAIClient(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "one two three four", Usage: openaitest.Usage{Prompt: 20, Completion: 4}}
	})
	defer prim.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), openaitest.ClosedURL(), "{model: primary, first_byte_timeout: 5s}"), upstreamKeys)

	for _, wantUsage := range []bool{false, true} {
		t.Run("include_usage="+strconv.FormatBool(wantUsage), func(t *testing.T) {
			params := openai.ChatCompletionNewParams{Model: "main", Messages: userMessage("count to four")}
			if wantUsage {
				params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			var resp *http.Response
			stream := h.client("unused").Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(&resp))
			var acc openai.ChatCompletionAccumulator
			sawUsageChunk := false
			for stream.Next() {
				c := stream.Current()
				acc.AddChunk(c)
				if len(c.Choices) == 0 {
					sawUsageChunk = true
				}
				if c.Model != "primary" {
					t.Errorf("chunk model = %q, want primary", c.Model)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if acc.Choices[0].Message.Content != "one two three four" {
				t.Errorf("content = %q", acc.Choices[0].Message.Content)
			}
			if sawUsageChunk != wantUsage {
				t.Errorf("usage chunk seen = %v, want %v (the client asked: %v)", sawUsageChunk, wantUsage, wantUsage)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			if resp.Header.Get("X-Router-Model") != "primary" || resp.Header.Get("X-Router-Attempts") != "1" {
				t.Errorf("headers = %v", resp.Header)
			}
			rec := h.audit.next(t)
			// The router metered the stream whether or not the client asked for usage.
			if !rec.Stream || rec.Usage.PromptTokens != 20 || rec.Usage.CompletionTokens != 4 || rec.CostUSD != 0.00009 || rec.UsageMissing {
				t.Errorf("audit = %+v", rec)
			}
			if rec.TTFBMs <= 0 || rec.TTFBMs > rec.LatencyMs {
				t.Errorf("ttfb %v, latency %v", rec.TTFBMs, rec.LatencyMs)
			}
		})
	}
}

// Each documented fallback trigger moves to the next target; a client
// error does not.
func TestFallbackTriggers(t *testing.T) {
	closed := openaitest.ClosedURL()
	tests := []struct {
		name        string
		reply       openaitest.Reply
		primaryDown bool
		target      string
		stream      bool
		wantOutcome string
		wantStatus  int // the primary attempt's status in the audit record
	}{
		{name: "connect error", primaryDown: true, wantOutcome: audit.OutcomeUnavailable, wantStatus: 502},
		{name: "first byte timeout", reply: openaitest.Reply{Hang: true}, target: "{model: primary, first_byte_timeout: 50ms}",
			wantOutcome: audit.OutcomeFirstByteTimeout, wantStatus: 504},
		{name: "first chunk timeout (stream)", reply: openaitest.Reply{HangBody: true}, target: "{model: primary, first_byte_timeout: 50ms}",
			stream: true, wantOutcome: audit.OutcomeFirstByteTimeout, wantStatus: 504},
		{name: "model timeout", reply: openaitest.Reply{HangBody: true}, target: "{model: primary, first_byte_timeout: 5s, timeout: 100ms}",
			wantOutcome: audit.OutcomeTimeout, wantStatus: 504},
		{name: "408", reply: openaitest.Reply{Status: 408}, wantOutcome: audit.OutcomeError, wantStatus: 408},
		{name: "429", reply: openaitest.Reply{Status: 429, ErrType: "requests", ErrCode: "rate_limit_exceeded", RetryAfter: "3"}, wantOutcome: audit.OutcomeRateLimited, wantStatus: 429},
		{name: "500", reply: openaitest.Reply{Status: 500, ErrType: "server_error"}, wantOutcome: audit.OutcomeError, wantStatus: 500},
		{name: "502", reply: openaitest.Reply{Status: 502}, wantOutcome: audit.OutcomeError, wantStatus: 502},
		{name: "503", reply: openaitest.Reply{Status: 503, ErrCode: "slow_down"}, wantOutcome: audit.OutcomeError, wantStatus: 503},
		{name: "503 (stream)", reply: openaitest.Reply{Status: 503}, stream: true, wantOutcome: audit.OutcomeError, wantStatus: 503},
		{name: "504", reply: openaitest.Reply{Status: 504}, wantOutcome: audit.OutcomeError, wantStatus: 504},
		{name: "529", reply: openaitest.Reply{Status: 529}, wantOutcome: audit.OutcomeError, wantStatus: 529},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply { return tt.reply })
			defer prim.Close()
			back := openaitest.NewServer("back", nil)
			defer back.Close()
			primURL := prim.BaseURL()
			if tt.primaryDown {
				primURL = closed
			}
			target := tt.target
			if target == "" {
				target = "{model: primary}"
			}
			h := newHarness(t, twoTargets(primURL, back.BaseURL(), target), upstreamKeys)
			client := h.client("unused")
			var content string
			var resp *http.Response
			if tt.stream {
				stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
					Model: "main", Messages: userMessage("hi")}, option.WithResponseInto(&resp))
				var acc openai.ChatCompletionAccumulator
				for stream.Next() {
					acc.AddChunk(stream.Current())
				}
				if err := stream.Err(); err != nil {
					t.Fatalf("stream: %v", err)
				}
				content = acc.Choices[0].Message.Content
			} else {
				got, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "main", Messages: userMessage("hi")}, option.WithResponseInto(&resp))
				if err != nil {
					t.Fatalf("chat: %v", err)
				}
				content = got.Choices[0].Message.Content
			}
			if content != "Hello from gpt-4o-mini." {
				t.Errorf("content = %q, want the backup's answer", content)
			}
			wantPrimCalls := 1
			if tt.primaryDown {
				wantPrimCalls = 0
			}
			if prim.Calls() != wantPrimCalls || back.Calls() != 1 {
				t.Errorf("calls: primary %d, backup %d; want %d then 1", prim.Calls(), back.Calls(), wantPrimCalls)
			}
			if resp.Header.Get("X-Router-Attempts") != "2" || resp.Header.Get("X-Router-Model") != "backup" {
				t.Errorf("attempts %q model %q", resp.Header.Get("X-Router-Attempts"), resp.Header.Get("X-Router-Model"))
			}
			rec := h.audit.next(t)
			if len(rec.Attempts) != 2 {
				t.Fatalf("audit attempts = %+v", rec.Attempts)
			}
			a0, a1 := rec.Attempts[0], rec.Attempts[1]
			if a0.Model != "primary" || a0.Outcome != tt.wantOutcome || a0.Status != tt.wantStatus {
				t.Errorf("first attempt = %+v, want primary %s %d", a0, tt.wantOutcome, tt.wantStatus)
			}
			if a1.Model != "backup" || a1.Outcome != audit.OutcomeOK {
				t.Errorf("second attempt = %+v", a1)
			}
		})
	}
}

// A client error from the upstream is the caller's: it comes back as is and
// no other target is tried.
func TestUpstreamClientErrorIsNotRetried(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Status: 400, ErrType: "invalid_request_error", ErrCode: "invalid_value",
			ErrMessage: "Invalid value for 'temperature': maximum is 2."}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary}"), upstreamKeys)
	_, err := h.client("unused").Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "main", Messages: userMessage("hi")})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "invalid_value" ||
		apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, "temperature") {
		t.Fatalf("err = %v, want the upstream's 400", err)
	}
	if back.Calls() != 0 {
		t.Errorf("backup called %d times after a client error", back.Calls())
	}
	if rec := h.audit.next(t); rec.Status != 400 || len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeRejected {
		t.Errorf("audit = %+v", rec)
	}
}

// Once the first byte of a stream reached the client, a failure ends the
// stream with an error event; no other target is tried.
func TestNoFallbackAfterFirstStreamedByte(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Text: "one two three four five", BreakAfter: 2}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary}"), upstreamKeys)
	stream := h.client("unused").Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
		Model: "main", Messages: userMessage("count")})
	var acc openai.ChatCompletionAccumulator
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if stream.Err() == nil {
		t.Fatal("the stream ended without an error after the upstream dropped")
	}
	if got := acc.Choices[0].Message.Content; got != "one two " {
		t.Errorf("content before the failure = %q", got)
	}
	if back.Calls() != 0 {
		t.Errorf("backup called %d times after the first byte", back.Calls())
	}
	// The client got a 200 and then an error event: the record says what
	// that event said, and that the answer was incomplete.
	rec := h.audit.next(t)
	if len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeStreamError || rec.Status != 502 ||
		!rec.Incomplete || rec.ErrorCode != "stream_error" {
		t.Errorf("audit = %+v", rec)
	}
}

func TestRequestDeadline(t *testing.T) {
	hang := func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Hang: true} }
	prim := openaitest.NewServer("prim", hang)
	defer prim.Close()
	back := openaitest.NewServer("back", hang)
	defer back.Close()
	cfg := strings.Replace(twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary, timeout: 10s}"),
		"  - name: main\n", "  - name: main\n    timeout: 150ms\n", 1)
	h := newHarness(t, cfg, upstreamKeys)
	resp := h.post(t, "/v1/chat/completions", `{"model":"main","messages":[{"role":"user","content":"hi"}]}`, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 504 || !strings.Contains(string(body), `"code":"timeout"`) {
		t.Fatalf("status %d body %s; want 504 timeout", resp.StatusCode, body)
	}
	if back.Calls() != 0 {
		t.Errorf("backup tried after the request deadline passed")
	}
}

func TestAllTargetsFailedListsEachAttempt(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	defer prim.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), openaitest.ClosedURL(), "{model: primary}"), upstreamKeys)
	resp := h.post(t, "/v1/chat/completions", `{"model":"main","messages":[{"role":"user","content":"hi"}]}`, nil)
	var body struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 502 || body.Error.Code != "all_targets_failed" || body.Error.Type != "api_error" {
		t.Fatalf("status %d, error %+v", resp.StatusCode, body.Error)
	}
	for _, want := range []string{"primary (prim): status 503", "backup (back): could not connect"} {
		if !strings.Contains(body.Error.Message, want) {
			t.Errorf("message %q does not say %q", body.Error.Message, want)
		}
	}
	if rec := h.audit.next(t); rec.Status != 502 || len(rec.Attempts) != 2 {
		t.Errorf("audit = %+v", rec)
	}
}
