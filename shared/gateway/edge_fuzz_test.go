package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// jsonText is s as the inside of a JSON string.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// escapedText is s with every character written as a \u escape, as a
// provider's JSON encoder may write it.
func escapedText(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r > 0xffff {
			r = 0xfffd
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// upstreamError is the error body of the given shape, built from random text
// around the provider key, the prompt and the request's whole body.
func upstreamError(shape uint8, a, b, c, key, prompt string, body []byte) string {
	text := a + "Authorization: Bearer " + key + b + prompt + c + string(body)
	switch shape % 6 {
	case 0: // OpenAI's nested error, every field quoting
		return errorBody(a+key, b+prompt, c+key, text)
	case 1: // the flat shape of Mistral and vLLM
		out, _ := json.Marshal(map[string]any{"object": "error", "message": text, "type": a, "param": prompt, "code": key})
		return string(out)
	case 2: // FastAPI's validation details, with the offending input
		out, _ := json.Marshal(map[string]any{"detail": []any{map[string]any{"loc": []any{"body", a}, "msg": b + prompt, "input": key + c}}})
		return string(out)
	case 3: // a string error (Ollama)
		out, _ := json.Marshal(map[string]any{"error": text})
		return string(out)
	case 4: // the key and the prompt escaped character by character
		return `{"error":{"message":"` + jsonText(a) + escapedText(key) + jsonText(b) + escapedText(prompt) + jsonText(c) +
			`","type":"invalid_request_error","param":"` + escapedText(prompt) + `","code":null}}`
	}
	return text // not JSON at all
}

// FuzzUpstreamErrorBodies drives the router's HTTP API against an upstream
// whose error answers are built from the request's provider key, its prompt
// and random text, in the error shapes of OpenAI-compatible providers: as an
// error status, an error in a 200 answer, before and inside a stream, and on
// embeddings. Whatever the upstream writes, no byte the client receives and
// no log line holds the key or a 16-byte run of the prompt.
func FuzzUpstreamErrorBodies(f *testing.F) {
	f.Add(uint16(0), uint8(0), uint8(0), "Invalid value for 'temperature': ", " near ", "")
	f.Add(uint16(1), uint8(1), uint8(0), "", "", "")
	f.Add(uint16(22), uint8(2), uint8(4), "messages", "value error: ", " (input)")
	f.Add(uint16(100), uint8(3), uint8(1), "upstream crashed: ", "\n", "\u2028")
	f.Add(uint16(29), uint8(4), uint8(2), "sk-", "Bearer ", "\"}")
	f.Add(uint16(103), uint8(5), uint8(3), "<html>", "</html>", "[key]")
	f.Add(uint16(13), uint8(0), uint8(4), "api_key=", "password: ", "[request text]")

	up := openaitest.NewServer("up", nil)
	f.Cleanup(up.Close)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q, key: "env:UP_KEY"}
models:
  - {id: chat, provider: up, price: {input: 1, output: 1}}
  - {id: embed, provider: up, price: {input: 1, output: 0}}
routes:
  - {name: r, targets: [{model: chat}]}
  - {name: e, targets: [{model: embed}]}
keys:
  - {id: app, hash: %q, routes: ["*"]}
`, up.BaseURL(), hashOf(edgeKey))))
	if err != nil {
		f.Fatal(err)
	}
	logs := &syncBuffer{}
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			return alphaKey, k == "UP_KEY"
		}}},
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	srv := httptest.NewServer(gw)
	f.Cleanup(srv.Close)

	f.Fuzz(func(t *testing.T, status uint16, shape, mode uint8, a, b, c string) {
		code := 400 + int(status)%200
		var mu sync.Mutex
		called := 0
		up.SetScript(func(r openaitest.Received) openaitest.Reply {
			mu.Lock()
			called++
			mu.Unlock()
			switch mode % 5 {
			case 1: // an error in a 200 answer
				return openaitest.Reply{Status: code, InBand: true, ErrMessage: upstreamError(3, a, b, c, alphaKey, leakPrompt, r.Body)}
			case 3: // an error event after the stream's first words
				return openaitest.Reply{Status: code, InBand: true, Text: "Once upon", ErrMessage: upstreamError(shape, a, b, c, alphaKey, leakPrompt, r.Body)}
			}
			return openaitest.Reply{Status: code, ErrBody: upstreamError(shape, a, b, c, alphaKey, leakPrompt, r.Body)}
		})
		path, body := "/v1/chat/completions", fmt.Sprintf(`{"model":"r","stream":%v,"messages":[{"role":"user","content":%q}]}`, mode%5 >= 2, leakPrompt)
		if mode%5 == 4 {
			path, body = "/v1/embeddings", fmt.Sprintf(`{"model":"e","input":%q}`, leakPrompt)
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+edgeKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, err := httputil.DumpResponse(resp, true)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := called
		mu.Unlock()
		if n == 0 {
			t.Fatalf("the upstream was not called: %s", out)
		}
		if what := leaked(out, leakPrompt, alphaKey); what != "" {
			t.Fatalf("the client received %s:\n%s", what, out)
		}
		// What was logged since the last input: a line written after an
		// answer is checked with the next one.
		logs.mu.Lock()
		logged := bytes.Clone(logs.b.Bytes())
		logs.b.Reset()
		logs.mu.Unlock()
		if what := leaked(logged, leakPrompt, alphaKey); what != "" {
			t.Fatalf("the log holds %s:\n%s", what, logged)
		}
	})
}
