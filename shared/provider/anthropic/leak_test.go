package anthropic

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/providertest"
)

// leakKey is shaped like no known key, so only the exact removal of the key
// the adapter sent can take it out.
const (
	leakKey    = "plain.key.for.tests-77"
	leakPrompt = "PATIENT-JANE-DOE-DOB-1970 reports chest pain"
)

type plainKey struct{}

func (plainKey) Resolve(context.Context, string) (string, error) { return leakKey, nil }

// TestErrorsQuotingTheRequestLeakNothing: Anthropic errors whose message
// quotes the x-api-key header and the body the API received reach the
// gateway showing neither, as answers and as a stream's error event.
func TestErrorsQuotingTheRequestLeakNothing(t *testing.T) {
	const quoting = "invalid x-api-key " + providertest.QuoteKey + " (" + providertest.QuoteAuth + "). Request: " + providertest.QuoteBody
	tests := []struct {
		name   string
		stream bool
		reply  anthropictest.Reply
	}{
		{"401", false, anthropictest.Reply{Status: 401, ErrorMessage: quoting}},
		{"400", false, anthropictest.Reply{Status: 400, ErrorMessage: quoting}},
		{"529", false, anthropictest.Reply{Status: 529, ErrorMessage: quoting}},
		{"unknown type", false, anthropictest.Reply{Status: 418, ErrorType: leakPrompt, ErrorMessage: quoting}},
		{"400 before a stream", true, anthropictest.Reply{Status: 400, ErrorMessage: quoting}},
		{"error event mid-stream", true, anthropictest.Reply{Text: "Once upon a time", StreamError: "api_error", StreamErrorMessage: quoting}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := anthropictest.NewServer()
			t.Cleanup(srv.Close)
			srv.SetAPIKey(leakKey)
			p, err := New(&config.Provider{Name: "claude-direct", Type: config.TypeAnthropic, BaseURL: srv.URL, Key: "env:K"},
				llm.Deps{HTTP: &http.Client{}, Keys: plainKey{}})
			if err != nil {
				t.Fatal(err)
			}
			srv.Enqueue(tt.reply)
			body := fmt.Sprintf(`{"model":"claude","stream":%v,"messages":[{"role":"user","content":%q}]}`, tt.stream, leakPrompt)
			req := chatRequest(t, body, 1024)
			if tt.stream {
				err = streamError(p, req)
			} else {
				_, err = p.Chat(context.Background(), req)
			}
			providertest.CheckNoLeak(t, err, []byte(body), "invalid x-api-key", leakKey, leakPrompt)
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
