package gemini

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/providertest"
)

// leakKey is shaped like no known key (a Google key starts AIza), so only
// the exact removal of the key the adapter sent can take it out.
const (
	leakKey    = "plain.key.for.tests-77"
	leakPrompt = "PATIENT-JANE-DOE-DOB-1970 reports chest pain"
)

// TestErrorsQuotingTheRequestLeakNothing: Gemini errors whose message quotes
// the x-goog-api-key header and the body the API received reach the gateway
// showing neither: as answers, before and inside a stream (as a data event
// and as a bare object), and on embeddings.
func TestErrorsQuotingTheRequestLeakNothing(t *testing.T) {
	const quoting = "API key not valid: " + providertest.QuoteKey + " (" + providertest.QuoteAuth + "). Request: " + providertest.QuoteBody
	tests := []struct {
		name  string
		op    string // chat, stream, embed
		reply geminitest.Reply
	}{
		{"400", "chat", geminitest.Reply{Error: geminitest.NewError(400, quoting)}},
		{"403", "chat", geminitest.Reply{Error: geminitest.NewError(403, quoting)}},
		{"429", "chat", geminitest.Reply{Error: geminitest.NewError(429, quoting)}},
		{"500", "chat", geminitest.Reply{Error: geminitest.NewError(500, quoting)}},
		{"400 before a stream", "stream", geminitest.Reply{Error: geminitest.NewError(400, quoting)}},
		{"error event mid-stream", "stream", geminitest.Reply{Text: []string{"Once ", "upon a time"}, StreamError: geminitest.NewError(500, quoting)}},
		{"bare error object mid-stream", "stream", geminitest.Reply{Text: []string{"Once ", "upon a time"}, StreamError: geminitest.NewError(503, quoting), StreamErrorBare: true}},
		{"400 on embeddings", "embed", geminitest.Reply{Error: geminitest.NewError(400, quoting)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t, geminitest.Options{Key: leakKey})
			p := newProvider(t, srv, &testKeys{key: leakKey})
			srv.Enqueue(tt.reply)
			ctx := context.Background()
			body := fmt.Sprintf(`{"model":"client-model","stream":%v,"messages":[{"role":"user","content":%q}]}`, tt.op == "stream", leakPrompt)
			var err error
			switch tt.op {
			case "chat":
				_, err = p.Chat(ctx, chatRequest(t, body))
			case "stream":
				err = streamError(p, chatRequest(t, body))
			case "embed":
				body = fmt.Sprintf(`{"model":"embed-model","input":%q}`, leakPrompt)
				_, err = p.Embed(ctx, &llm.EmbeddingRequest{Body: []byte(body), Input: []string{leakPrompt},
					Model: "embed-model", Upstream: "gemini-embedding-001"})
			}
			providertest.CheckNoLeak(t, err, []byte(body), "API key not valid", leakKey, leakPrompt)
		})
	}
}

// streamError opens a stream and reads it to its error.
func streamError(p llm.Provider, req *llm.Request) error {
	st, err := p.Stream(context.Background(), req)
	if err != nil {
		return err
	}
	defer st.Close()
	for {
		if _, err := st.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				return errors.New("the stream ended without an error")
			}
			return err
		}
	}
}
