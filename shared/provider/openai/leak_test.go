package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/provider/providertest"
	"github.com/llm-router/router/shared/secret"
)

// leakKey is shaped like no known key, so only the exact removal of the key
// the adapter sent can take it out.
const (
	leakKey    = "plain.key.for.tests-77"
	leakPrompt = "PATIENT-JANE-DOE-DOB-1970 reports chest pain"
)

// TestErrorsQuotingTheRequestLeakNothing: an upstream that quotes the
// Authorization header and the body it received in every field of its
// error, before a stream, inside one, inside a 200 answer and on
// embeddings, in each error shape of the OpenAI family, reaches the gateway
// as an error that shows neither the key nor the prompt.
func TestErrorsQuotingTheRequestLeakNothing(t *testing.T) {
	// quoting is the upstream's text: what it was sent, the key bare and in
	// its header.
	quoting := func(r openaitest.Received) string {
		auth := r.Header.Get("Authorization")
		return "Incorrect API key provided: " + strings.TrimPrefix(auth, "Bearer ") + " (Authorization: " + auth + "). You sent: " + string(r.Body)
	}
	nested := func(status int) func(openaitest.Received) openaitest.Reply {
		return func(r openaitest.Received) openaitest.Reply {
			q := quoting(r)
			body, _ := json.Marshal(map[string]any{"error": map[string]any{"message": q, "type": q, "param": q, "code": q}})
			return openaitest.Reply{Status: status, ErrBody: string(body)}
		}
	}
	tests := []struct {
		name   string
		op     string // chat, stream, embed
		script func(openaitest.Received) openaitest.Reply
	}{
		{"401 nested", "chat", nested(401)},
		{"400 nested", "chat", nested(400)},
		{"500 nested", "chat", nested(500)},
		{"401 before a stream", "stream", nested(401)},
		{"400 on embeddings", "embed", nested(400)},
		{"422 flat with pydantic input", "chat", func(r openaitest.Received) openaitest.Reply {
			q := quoting(r)
			body, _ := json.Marshal(map[string]any{"object": "error", "type": "invalid_request_error", "code": q,
				"message": map[string]any{"detail": []any{map[string]any{"loc": []string{"body", q}, "msg": q, "input": q}}}})
			return openaitest.Reply{Status: 422, ErrBody: string(body)}
		}},
		{"error inside a 200 answer", "chat", func(r openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Status: 402, InBand: true, ErrMessage: quoting(r)}
		}},
		{"error event mid-stream", "stream", func(r openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Text: "half an answer", Status: 502, InBand: true, ErrMessage: quoting(r)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openaitest.NewServer("up", tt.script)
			defer s.Close()
			p, err := New(&config.Provider{Name: "up", Type: "openai", BaseURL: s.BaseURL(), Key: "env:UP_KEY"},
				llm.Deps{HTTP: &http.Client{}, Keys: &secret.Resolver{Env: func(string) (string, bool) { return leakKey, true }}})
			if err != nil {
				t.Fatal(err)
			}
			body := `{"model":"fast","stream":` + fmt.Sprint(tt.op == "stream") + `,"messages":[{"role":"user","content":"` + leakPrompt + `"}]}`
			err = leakCall(p.(*Provider), tt.op, body)
			providertest.CheckNoLeak(t, err, []byte(body), "Incorrect API key provided", leakKey, leakPrompt)
		})
	}
}

// leakCall makes one call and returns its error, reading a stream to its end.
func leakCall(p *Provider, op, body string) error {
	ctx := context.Background()
	switch op {
	case "embed":
		in := `{"model":"emb","input":"` + leakPrompt + `"}`
		_, err := p.Embed(ctx, &llm.EmbeddingRequest{Body: []byte(in), Input: []string{leakPrompt}, Model: "emb", Upstream: "text-embedding-3-small"})
		return err
	case "stream":
		chat, err := llm.ParseChat([]byte(body))
		if err != nil {
			return err
		}
		st, err := p.Stream(ctx, &llm.Request{Chat: chat, Body: []byte(body), Model: "fast", Upstream: "up-model"})
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
	chat, err := llm.ParseChat([]byte(body))
	if err != nil {
		return err
	}
	_, err = p.Chat(ctx, &llm.Request{Chat: chat, Body: []byte(body), Model: "fast", Upstream: "up-model"})
	return err
}
