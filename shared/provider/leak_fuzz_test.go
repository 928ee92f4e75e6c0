package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/scrub"
)

// The credentials Bedrock signs with in FuzzUpstreamErrorsLeakNothing; the
// other adapters send the fuzzed key.
const (
	fuzzAccessKey = "AKIDFUZZACCESSKEY1"
	fuzzSession   = "fuzz.session.token-0042"
)

// FuzzUpstreamErrorsLeakNothing drives every adapter's error mapping with
// upstream error bodies built from the request's prompt, the provider key
// and random text, in each provider's error shapes: answers with an error
// status, errors inside a 200 answer, and error events inside a stream, on
// chat, streams and embeddings. The upstream quotes what it received: the
// key bare and in its header, and the body. Whatever the mix, the key never
// reaches a client-visible field, Detail or err.Error() (what logs see), and
// the prompt never reaches a client-visible field or err.Error(), nor Detail
// once scrub.RequestText has seen the client's body.
func FuzzUpstreamErrorsLeakNothing(f *testing.F) {
	f.Setenv("AWS_ACCESS_KEY_ID", fuzzAccessKey)
	f.Setenv("AWS_SECRET_ACCESS_KEY", "fuzz-secret-access-key")
	f.Setenv("AWS_SESSION_TOKEN", fuzzSession)
	f.Setenv("AWS_REGION", "us-east-1")
	for _, v := range []string{"AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_MAX_ATTEMPTS", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_BEDROCK_RUNTIME", "AWS_CA_BUNDLE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"} {
		f.Setenv(v, "")
	}
	f.Setenv("AWS_CONFIG_FILE", f.TempDir()+"/none")
	f.Setenv("AWS_SHARED_CREDENTIALS_FILE", f.TempDir()+"/none")
	f.Setenv("AWS_EC2_METADATA_DISABLED", "true")

	f.Add("tell me about the patient Jane Doe", "plain.key.for.fuzz-1", "Incorrect API key provided:", uint16(0))
	f.Add("summarise: diagnosis code 1234-XYZ", "sk-proj-AbC123xyz789", "invalid request", uint16(0x1234))
	f.Add("a prompt with \"quotes\" and \\ slashes", "my-vllm-key-2024", "model_not_found", uint16(0xffff))
	f.Add("émoji 🎉 and unicode text here", "0123456789abcdef0123", "rate limited", uint16(0x8a5c))
	f.Fuzz(func(t *testing.T, text, key, noise string, layout uint16) {
		if !validKey(key) || !utf8.ValidString(text) || !utf8.ValidString(noise) {
			return
		}
		// A prompt is text, unlike anything the router writes itself.
		prompt := "PROMPT " + text
		if len(prompt) < scrub.MinRun {
			return
		}
		for _, typ := range []string{config.TypeOpenAI, config.TypeAzure, config.TypeAnthropic, config.TypeGemini, config.TypeBedrock} {
			up := &upstream{typ: typ, noise: noise, layout: layout}
			ops := []string{"chat", "stream", "embed"}
			op := ops[int(layout>>12)%len(ops)]
			if typ == config.TypeAnthropic && op == "embed" {
				op = "chat"
			}
			body, err := call(t, typ, up, op, key, prompt)
			secrets := []string{key}
			if typ == config.TypeBedrock {
				secrets = []string{fuzzAccessKey, fuzzSession}
			}
			checkLeak(t, typ+"/"+op, err, body, prompt, secrets)
		}
	})
}

// validKey reports whether key looks like a provider key: 12 to 128
// characters of the key alphabet with a letter and a digit (so it cannot be
// a word or a number of the router's own messages).
func validKey(key string) bool {
	if len(key) < 12 || len(key) > 128 {
		return false
	}
	letter, digit := false, false
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case strings.IndexByte("._~+/=-", c) >= 0:
		default:
			return false
		}
	}
	return letter && digit
}

// call makes one request of op through a fresh adapter of type typ whose
// upstream is up, and returns the client's body and the call's error.
func call(t *testing.T, typ string, up *upstream, op, key, prompt string) ([]byte, error) {
	p, err := provider.Builtin()[typ](&config.Provider{Name: "up", Type: typ, BaseURL: "http://upstream.test", Key: "env:K"},
		llm.Deps{HTTP: &http.Client{Transport: up}, Keys: fixedKey(key)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if op == "embed" {
		body, _ := json.Marshal(map[string]any{"model": "e", "input": prompt})
		upstream := "text-embedding-3-small"
		if typ == config.TypeBedrock {
			upstream = "amazon.titan-embed-text-v2:0"
		}
		_, err := p.(llm.Embedder).Embed(ctx, &llm.EmbeddingRequest{Body: body, Input: []string{prompt}, Model: "e", Upstream: upstream})
		return body, err
	}
	body, _ := json.Marshal(map[string]any{"model": "m", "stream": op == "stream",
		"messages": []any{map[string]string{"role": "user", "content": prompt}}})
	chat, err := llm.ParseChat(body)
	if err != nil {
		t.Fatalf("ParseChat(%s): %v", body, err)
	}
	req := &llm.Request{Chat: chat, Body: body, Model: "m", Upstream: "up-model", MaxTokens: 100}
	if typ == config.TypeBedrock {
		req.Upstream = "anthropic.claude-3-5-sonnet-20240620-v1:0"
	}
	if op == "chat" {
		_, err := p.Chat(ctx, req)
		return body, err
	}
	st, err := p.Stream(ctx, req)
	if err != nil {
		return body, err
	}
	defer st.Close()
	for {
		if _, err := st.Next(); err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatalf("%s: the stream ended without the upstream's error", typ)
			}
			return body, err
		}
	}
}

// checkLeak fails t if err shows a secret or the prompt where a client or a
// log could read it.
func checkLeak(t *testing.T, where string, err error, body []byte, prompt string, secrets []string) {
	t.Helper()
	e := llm.AsError(err)
	if e == nil {
		t.Fatalf("%s: got %v, want an *llm.Error", where, err)
	}
	fields := map[string]string{"Message": e.Message, "Type": e.Type, "Code": e.Code, "Param": e.Param, "Error()": e.Error()}
	for name, v := range fields {
		for _, s := range append(secrets, prompt) {
			if strings.Contains(v, s) {
				t.Fatalf("%s: %s holds %q: %q", where, name, s, v)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(e.Detail, s) {
			t.Fatalf("%s: Detail holds %q: %q", where, s, e.Detail)
		}
	}
	// The prompt as the upstream read it: JSON-decoded from the body.
	var decoded string
	_ = json.Unmarshal(mustJSON(prompt), &decoded)
	detail := scrub.RequestText(e.Detail, body)
	for k := 0; k+scrub.MinRun <= len(decoded); k++ {
		if w := decoded[k : k+scrub.MinRun]; strings.Contains(detail, w) {
			t.Fatalf("%s: Detail after RequestText holds %q of the prompt: %q", where, w, detail)
		}
	}
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

type fixedKey string

func (k fixedKey) Resolve(context.Context, string) (string, error) { return string(k), nil }

// upstream is a provider that fails every request, in typ's error shapes,
// with error text that quotes what it received. layout picks, bit by bit,
// the status, the answer's form and what each error field holds.
type upstream struct {
	typ    string
	noise  string
	layout uint16
}

// piece is what one error field holds: random text, the key, the
// credential headers, or the request's body, as received.
func (u *upstream) piece(n uint, bareKey, headers, body string) string {
	switch (u.layout >> (2 * n)) & 3 {
	case 1:
		return bareKey
	case 2:
		return headers
	case 3:
		return body
	}
	return u.noise
}

func (u *upstream) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		_ = r.Body.Close()
	}
	var keys, headers []string
	for _, name := range []string{"Authorization", "Api-Key", "X-Api-Key", "X-Goog-Api-Key", "X-Amz-Security-Token"} {
		if v := r.Header.Get(name); v != "" {
			keys = append(keys, strings.TrimPrefix(v, "Bearer "))
			headers = append(headers, name+": "+v)
		}
	}
	bareKey, hdrs := strings.Join(keys, " "), strings.Join(headers, "; ")
	msg := u.noise + " " + bareKey + " (" + hdrs + ") you sent: " + string(body)
	typ, code := u.piece(0, bareKey, hdrs, string(body)), u.piece(1, bareKey, hdrs, string(body))
	param, reqID := u.piece(2, bareKey, hdrs, string(body)), u.piece(3, bareKey, hdrs, string(body))
	statuses := []int{400, 401, 403, 404, 413, 422, 429, 500, 502, 503, 529}
	status := statuses[int(u.layout>>8)%len(statuses)]
	inBand := u.layout&0x10 != 0 // in a 200 answer, or in the stream
	stream := strings.Contains(r.Header.Get("Accept"), "event-stream") || strings.Contains(r.URL.Path, "stream")

	header := http.Header{"Content-Type": {"application/json"}}
	var out []byte
	switch u.typ {
	case config.TypeAnthropic:
		out = marshal(map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}, "request_id": reqID})
		if inBand && stream {
			header.Set("Content-Type", "text/event-stream")
			return answer(r, 200, header, append(append([]byte("event: error\ndata: "), out...), "\n\n"...)), nil
		}
	case config.TypeGemini:
		out = marshal(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": typ,
			"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": code}}}})
		if inBand && stream {
			header.Set("Content-Type", "text/event-stream")
			return answer(r, 200, header, append(append([]byte("data: "), out...), "\n\n"...)), nil
		}
		if inBand && !strings.Contains(r.URL.Path, "embed") {
			return answer(r, 200, header, out), nil
		}
	case config.TypeBedrock:
		header.Set("X-Amzn-Errortype", typ)
		header.Set("X-Amzn-Requestid", reqID)
		out = marshal(map[string]any{"message": msg})
	default: // openai, azure
		inner := map[string]any{"message": msg, "type": typ, "param": param, "code": code}
		if u.layout&0x20 != 0 {
			inner = map[string]any{"message": map[string]any{"detail": []any{map[string]any{"loc": []string{"body", param},
				"msg": msg, "input": string(body)}}}, "type": typ, "code": code}
		}
		if inBand {
			inner["code"] = status
			if stream {
				header.Set("Content-Type", "text/event-stream")
				return answer(r, 200, header, append(append([]byte("data: "), marshal(map[string]any{"error": inner})...), "\n\n"...)), nil
			}
			if !strings.Contains(r.URL.Path, "embed") {
				return answer(r, 200, header, marshal(map[string]any{"error": inner})), nil
			}
		}
		if u.layout&0x40 != 0 {
			inner["object"] = "error"
			out = marshal(inner)
		} else {
			out = marshal(map[string]any{"error": inner})
		}
	}
	return answer(r, status, header, out), nil
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// answer is the response to r, as an http.Transport returns it.
func answer(r *http.Request, status int, header http.Header, body []byte) *http.Response {
	return &http.Response{Request: r, StatusCode: status, Status: http.StatusText(status), Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}
