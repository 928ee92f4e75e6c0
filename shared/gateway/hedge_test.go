package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// watched serves s's handler and reports each request whose client closed
// the connection before the handler was done: what an upstream sees of a
// cancelled attempt.
func watched(t *testing.T, s *openaitest.Server) (baseURL string, closed <-chan struct{}) {
	t.Helper()
	ch := make(chan struct{}, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Config.Handler.ServeHTTP(w, r)
		// Checked before this handler returns, so only the client going away
		// can have cancelled it.
		if r.Context().Err() != nil {
			ch <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1", ch
}

func waitClosed(t *testing.T, closed <-chan struct{}, who string) {
	t.Helper()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s never saw its connection closed", who)
	}
}

// The primary sends nothing within hedge_after: the backup starts beside
// it, answers, and the primary's connection is closed. Both attempts are in
// the audit record, in the order they started.
func TestHedgeSlowPrimary(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(map[bool]string{false: "one piece", true: "stream"}[stream], func(t *testing.T) {
			// Hang sends nothing; HangBody, for a stream, sends the headers
			// and no chunk: not an answer yet either way.
			prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
				return openaitest.Reply{Hang: !stream, HangBody: stream}
			})
			defer prim.Close()
			primURL, primClosed := watched(t, prim)
			back := openaitest.NewServer("back", nil)
			defer back.Close()
			h := newHarness(t, twoTargets(primURL, back.BaseURL(), "{model: primary, hedge_after: 50ms}"), upstreamKeys)

			var resp *http.Response
			content := ask(t, h, stream, &resp)
			if content != "Hello from gpt-4o-mini." {
				t.Errorf("content = %q, want the hedge's (backup's) answer", content)
			}
			if resp.Header.Get("X-Router-Model") != "backup" || resp.Header.Get("X-Router-Attempts") != "2" {
				t.Errorf("model %q attempts %q, want backup 2", resp.Header.Get("X-Router-Model"), resp.Header.Get("X-Router-Attempts"))
			}
			waitClosed(t, primClosed, "the slow primary")
			rec := h.audit.next(t)
			if len(rec.Attempts) != 2 {
				t.Fatalf("attempts = %+v", rec.Attempts)
			}
			a0, a1 := rec.Attempts[0], rec.Attempts[1]
			// The primary started first and lost: it was too slow, which
			// counts against it (outpaced), unlike a hedge that lost.
			if a0.Model != "primary" || a0.Outcome != audit.OutcomeOutpaced || a0.Status != 499 {
				t.Errorf("first attempt = %+v, want primary outpaced 499", a0)
			}
			if a1.Model != "backup" || a1.Outcome != audit.OutcomeOK || a1.Status != 200 {
				t.Errorf("second attempt = %+v, want backup ok", a1)
			}
			// The hedge started at hedge_after, not at once.
			if a0.LatencyMs < 50 {
				t.Errorf("primary ran %.1f ms, less than hedge_after", a0.LatencyMs)
			}
			// Only the served answer was charged: the primary never answered.
			if want := 10*0.15/1e6 + 5*0.6/1e6; rec.CostUSD != want || rec.Model != "backup" || rec.Status != 200 {
				t.Errorf("record: model %s status %d cost %v, want backup 200 %v", rec.Model, rec.Status, rec.CostUSD, want)
			}
			if prim.Calls() != 1 || back.Calls() != 1 {
				t.Errorf("calls: primary %d backup %d, want 1 and 1", prim.Calls(), back.Calls())
			}
		})
	}
}

// ask sends one chat request through the OpenAI client and returns the
// answer's text.
func ask(t *testing.T, h *harness, stream bool, resp **http.Response) string {
	t.Helper()
	params := openai.ChatCompletionNewParams{Model: "main", Messages: userMessage("hi")}
	client := h.client("unused")
	if stream {
		s := client.Chat.Completions.NewStreaming(context.Background(), params, option.WithResponseInto(resp))
		var acc openai.ChatCompletionAccumulator
		for s.Next() {
			acc.AddChunk(s.Current())
		}
		if err := s.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		return acc.Choices[0].Message.Content
	}
	got, err := client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(resp))
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	return got.Choices[0].Message.Content
}

// A primary that answers within hedge_after is the only attempt.
func TestHedgeNotNeeded(t *testing.T) {
	prim := openaitest.NewServer("prim", nil)
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary, hedge_after: 5s}"), upstreamKeys)
	for _, stream := range []bool{false, true} {
		var resp *http.Response
		if got := ask(t, h, stream, &resp); got != "Hello from gpt-4o." {
			t.Errorf("stream=%v: content = %q", stream, got)
		}
		if rec := h.audit.next(t); len(rec.Attempts) != 1 || rec.Attempts[0].Outcome != audit.OutcomeOK {
			t.Errorf("stream=%v: attempts = %+v", stream, rec.Attempts)
		}
	}
	if back.Calls() != 0 {
		t.Errorf("the backup was called %d times", back.Calls())
	}
}

// The hedge fails while the slow primary is still running: the request
// waits for the primary rather than failing, and both attempts are recorded.
func TestHedgeFailsPrimaryAnswers(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Delay: 300 * time.Millisecond}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary, hedge_after: 20ms}"), upstreamKeys)
	var resp *http.Response
	if got := ask(t, h, false, &resp); got != "Hello from gpt-4o." {
		t.Errorf("content = %q, want the primary's", got)
	}
	rec := h.audit.next(t)
	if len(rec.Attempts) != 2 || rec.Attempts[0].Model != "primary" || rec.Attempts[0].Outcome != audit.OutcomeOK ||
		rec.Attempts[1].Model != "backup" || rec.Attempts[1].Outcome != audit.OutcomeError || rec.Attempts[1].Status != 503 {
		t.Errorf("attempts = %+v, want primary ok then backup error 503", rec.Attempts)
	}
	if resp.Header.Get("X-Router-Attempts") != "2" {
		t.Errorf("X-Router-Attempts = %q", resp.Header.Get("X-Router-Attempts"))
	}
}

// Both hedged attempts fail: the answer is all_targets_failed naming both.
func TestHedgeAllFail(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Status: 500, Delay: 100 * time.Millisecond}
	})
	defer prim.Close()
	back := openaitest.NewServer("back", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	defer back.Close()
	h := newHarness(t, twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary, hedge_after: 20ms}"), upstreamKeys)
	resp := h.post(t, "/v1/chat/completions", `{"model":"main","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 502 {
		t.Fatalf("status = %d, want 502", resp.StatusCode)
	}
	rec := h.audit.next(t)
	if rec.ErrorCode != "all_targets_failed" || len(rec.Attempts) != 2 {
		t.Errorf("record: code %q attempts %+v", rec.ErrorCode, rec.Attempts)
	}
}

// lateLoser is a provider whose "slow" model answers in full only once its
// attempt was cancelled, as an upstream whose whole answer was already on
// the wire when the hedge won; "fast" answers at once.
type lateLoser struct{ name string }

func (p *lateLoser) Name() string { return p.name }

func (p *lateLoser) Chat(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	usage := llm.Usage{PromptTokens: 1000, CompletionTokens: 100}
	if req.Model == "slow" {
		<-ctx.Done()
	}
	body := fmt.Sprintf(`{"id":"x","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":"from %s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":100,"total_tokens":1100}}`, req.Model, req.Model)
	return &llm.Response{Body: []byte(body), Usage: usage}, nil
}

func (p *lateLoser) Stream(context.Context, *llm.Request) (llm.Stream, error) {
	return nil, llm.UpstreamError(p.name, 400, "", "", "no streams here")
}

// A loser whose whole answer arrived was charged: its cost is in the audit
// record's cost_usd beside the winner's (the header has the served answer's).
func TestHedgeLoserCostCounted(t *testing.T) {
	h := newHarness(t, `
providers:
  - {name: p, type: mock}
models:
  - {id: slow, provider: p, price: {input: 2, output: 10}}
  - {id: fast, provider: p, price: {input: 1, output: 1}}
routes:
  - name: main
    targets: [{model: slow, hedge_after: 10ms}, {model: fast}]
`, nil)
	h.gw.Providers[config.TypeMock] = func(p *config.Provider, _ llm.Deps) (llm.Provider, error) {
		return &lateLoser{name: p.Name}, nil
	}
	resp := h.post(t, "/v1/chat/completions", `{"model":"main","messages":[{"role":"user","content":"hi"}]}`, nil)
	if resp.StatusCode != 200 || resp.Header.Get("X-Router-Model") != "fast" {
		t.Fatalf("status %d model %q", resp.StatusCode, resp.Header.Get("X-Router-Model"))
	}
	if got := resp.Header.Get("X-Router-Cost-Usd"); got != "0.0011" {
		t.Errorf("X-Router-Cost-Usd = %s, want the served answer's 0.0011", got)
	}
	rec := h.audit.next(t)
	// fast: 1000*1 + 100*1 = 0.0011; slow: 1000*2 + 100*10 = 0.003.
	if rec.CostUSD != 0.0011+0.003 {
		t.Errorf("cost_usd = %v, want %v (both answers were charged)", rec.CostUSD, 0.0011+0.003)
	}
	if len(rec.Attempts) != 2 || rec.Attempts[0].Outcome != audit.OutcomeOutpaced || rec.Attempts[0].Status != 200 {
		t.Errorf("attempts = %+v, want slow outpaced with status 200 first", rec.Attempts)
	}
}
