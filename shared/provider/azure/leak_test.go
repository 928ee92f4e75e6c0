package azure_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/azure/azuretest"
	"github.com/llm-router/router/shared/provider/providertest"
)

const leakPrompt = "PATIENT-JANE-DOE-DOB-1970 reports chest pain"

// TestErrorsQuotingTheRequestLeakNothing: Azure errors whose message quotes
// the api-key header and the body it received, and whose code is the key or
// the prompt, reach the gateway showing neither: before a stream, inside
// one, and on embeddings. The key is shaped like no known key, so only its
// exact removal can take it out.
func TestErrorsQuotingTheRequestLeakNothing(t *testing.T) {
	const quoting = "Access denied due to invalid subscription key " + providertest.QuoteKey + " (" + providertest.QuoteAuth + "). Request: " + providertest.QuoteBody
	tests := []struct {
		name  string
		op    string // chat, stream, embed
		reply azuretest.Reply
	}{
		{"401", "chat", azuretest.Reply{Error: &azuretest.Error{Status: 401, Code: key, Message: quoting}}},
		{"400", "chat", azuretest.Reply{Error: &azuretest.Error{Status: 400, Code: leakPrompt, Message: quoting}}},
		{"500", "chat", azuretest.Reply{Error: &azuretest.Error{Status: 500, Code: "InternalServerError", Message: quoting}}},
		{"400 before a stream", "stream", azuretest.Reply{Error: &azuretest.Error{Status: 400, Code: "BadRequest", Message: quoting}}},
		{"error event mid-stream", "stream", azuretest.Reply{Text: "Half an answer", StreamError: &azuretest.Error{Code: key, Message: quoting}}},
		{"400 on embeddings", "embed", azuretest.Reply{Error: &azuretest.Error{Status: 400, Code: leakPrompt, Message: quoting}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t, config.Provider{})
			fake.Push(tt.reply)
			ctx := context.Background()
			body := fmt.Sprintf(`{"model":"gpt-4o","stream":%v,"messages":[{"role":"user","content":%q}]}`, tt.op == "stream", leakPrompt)
			var err error
			switch tt.op {
			case "chat":
				_, err = p.Chat(ctx, chatRequest(t, body))
			case "stream":
				err = streamError(p, chatRequest(t, body))
			case "embed":
				body = fmt.Sprintf(`{"model":"embed","input":%q}`, leakPrompt)
				_, err = p.(llm.Embedder).Embed(ctx, &llm.EmbeddingRequest{Body: []byte(body), Input: []string{leakPrompt},
					Model: "embed", Upstream: "embed-small"})
			}
			providertest.CheckNoLeak(t, err, []byte(body), "Access denied", key, leakPrompt)
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
