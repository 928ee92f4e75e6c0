package bedrock_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/providertest"
)

const (
	leakAccessKey = "AKIDPLAINFORTESTS"
	leakSession   = "session.token.for.tests-99"
	leakPrompt    = "PATIENT-JANE-DOE-DOB-1970 reports chest pain"
)

// TestErrorsQuotingTheRequestLeakNothing: Bedrock exceptions whose message
// quotes the signed request's Authorization and security token headers and
// its body reach the gateway showing neither the credentials nor the
// prompt: on Converse, before and inside ConverseStream, and on Titan
// embeddings. The credentials are shaped like no known key, so only the
// exact removal of the ones the request was signed with takes them out.
func TestErrorsQuotingTheRequestLeakNothing(t *testing.T) {
	const quoting = "The security token included in the request is invalid: " + providertest.QuoteKey +
		" (" + providertest.QuoteAuth + "). Request: " + providertest.QuoteBody
	tests := []struct {
		name  string
		op    string // chat, stream, embed
		reply bedrocktest.Reply
	}{
		{"validation", "chat", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ValidationException", Message: quoting}}},
		{"credentials refused", "chat", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "UnrecognizedClientException", Message: quoting}}},
		{"server error", "chat", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "InternalServerException", Message: quoting}}},
		{"unknown exception", "chat", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "PromptSaysHelloException", Message: quoting, Status: 409}}},
		{"before a stream", "stream", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ValidationException", Message: quoting}}},
		{"exception mid-stream", "stream", bedrocktest.Reply{Text: "Half an answer", StreamError: &bedrocktest.Exception{Name: "ModelStreamErrorException", Message: quoting}}},
		{"titan embeddings", "embed", bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ValidationException", Message: quoting}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			awsEnv(t)
			t.Setenv("AWS_ACCESS_KEY_ID", leakAccessKey)
			t.Setenv("AWS_SESSION_TOKEN", leakSession)
			fake := bedrocktest.New(t)
			p, err := bedrock.New(&config.Provider{Name: "br", Type: config.TypeBedrock, BaseURL: fake.URL}, llm.Deps{HTTP: &http.Client{}})
			if err != nil {
				t.Fatal(err)
			}
			fake.Push(tt.reply)
			ctx := context.Background()
			body := fmt.Sprintf(`{"model":"claude","stream":%v,"messages":[{"role":"user","content":%q}]}`, tt.op == "stream", leakPrompt)
			switch tt.op {
			case "chat":
				_, err = p.Chat(ctx, chatRequest(t, body))
			case "stream":
				err = streamError(p, chatRequest(t, body))
			case "embed":
				body = fmt.Sprintf(`{"model":"titan","input":%q}`, leakPrompt)
				_, err = p.(llm.Embedder).Embed(ctx, &llm.EmbeddingRequest{Body: []byte(body), Input: []string{leakPrompt},
					Model: "titan", Upstream: titan})
			}
			providertest.CheckNoLeak(t, err, []byte(body), "The security token included", leakAccessKey, leakSession, leakPrompt)
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
