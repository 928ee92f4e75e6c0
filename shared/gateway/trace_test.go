package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
	"github.com/llm-router/router/shared/trace"
)

// spans records the spans a request makes, with their parents.
type spans struct {
	mu  sync.Mutex
	all []*span
}

type span struct {
	name, parent string
	notes        map[string]string
	ended        bool
	failed       bool
}

type spanKey struct{}

func (s *spans) Start(ctx context.Context, name string) (context.Context, trace.Span) {
	sp := &span{name: name, notes: map[string]string{}}
	if p, ok := ctx.Value(spanKey{}).(*span); ok {
		sp.parent = p.name
	}
	s.mu.Lock()
	s.all = append(s.all, sp)
	s.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, sp), &recorded{s: s, sp: sp}
}

type recorded struct {
	s  *spans
	sp *span
}

func (r *recorded) Annotate(k, v string) {
	r.s.mu.Lock()
	r.sp.notes[k] = v
	r.s.mu.Unlock()
}

func (r *recorded) End(err error) {
	r.s.mu.Lock()
	r.sp.ended, r.sp.failed = true, err != nil
	r.s.mu.Unlock()
}

// With a tracer, a request is one span with the routing decision and each
// attempt as children, annotated with where it went and how it ended.
func TestTraceSpans(t *testing.T) {
	prim := openaitest.NewServer("prim", func(openaitest.Received) openaitest.Reply { return openaitest.Reply{Status: 503} })
	defer prim.Close()
	back := openaitest.NewServer("back", nil)
	defer back.Close()
	cfg, err := config.Parse([]byte(twoTargets(prim.BaseURL(), back.BaseURL(), "{model: primary}")))
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder(audit.NewWriter(io.Discard))
	tr := &spans{}
	gw := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(), Tracer: tr, Sink: rec,
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) { return upstreamKeys[k], true }}},
		Log:  slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("x"), option.WithMaxRetries(0))
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "main",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}); err != nil {
		t.Fatal(err)
	}
	rec.next(t)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var got []string
	for _, s := range tr.all {
		if !s.ended {
			t.Errorf("span %s never ended", s.name)
		}
		got = append(got, s.parent+">"+s.name+":"+s.notes["provider"]+":"+s.notes["outcome"])
	}
	want := []string{">request:back:", "request>route::", "request>attempt:prim:error", "request>attempt:back:ok"}
	if !slices.Equal(got, want) {
		t.Errorf("spans %v, want %v", got, want)
	}
	if tr.all[0].notes["route"] != "main" || tr.all[0].notes["status"] != "200" || tr.all[0].failed {
		t.Errorf("request span %+v", tr.all[0])
	}
}
