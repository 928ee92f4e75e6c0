package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httputil"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
)

// The edge as a caller with a router key attacks it: each test below drives
// the router's HTTP API against loopback upstreams that record what they
// receive, and holds one thing such a caller must not be able to do.

const edgeKey = "sk-router-edge-0001"

// Provider keys the router sends upstream. The second has no credential
// shape at all: only removing the exact key keeps it out of an answer.
const (
	alphaKey = "sk-proj-Q7vXk2LmN9pR4sT8wY1zA3bC6dE0fG5hJ"
	betaKey  = "tea-kettle-whistle-42"
)

// leakPrompt is the text the upstreams quote back.
const leakPrompt = "Patient Alice Zephyr, record 55501234, reports chest pain radiating to the left arm since Tuesday."

// leaked names what of the keys or the prompt occurs in out: a key whole, or
// any run of 16 bytes of the prompt (the shortest run the router promises
// to remove from an upstream's words); "" when none does.
func leaked(out []byte, prompt string, keys ...string) string {
	for _, k := range keys {
		if bytes.Contains(out, []byte(k)) {
			return "the provider key " + strconv.Quote(k)
		}
	}
	for i := 0; i+16 <= len(prompt); i++ {
		if bytes.Contains(out, []byte(prompt[i:i+16])) {
			return "the prompt's text " + strconv.Quote(prompt[i:i+16])
		}
	}
	return ""
}

// quote is what an upstream that quotes its request says: the
// Authorization header it received and the whole body.
func quote(r openaitest.Received) string {
	return "Incorrect request with Authorization: " + r.Header.Get("Authorization") + " and body " + string(r.Body)
}

// errorBody is an OpenAI error body whose every field may quote the request.
func errorBody(typ, param, code, msg string) string {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": param, "code": code}})
	return string(b)
}

// dump is every byte of an answer the client reads: status line, headers
// and body (every event of a stream).
func dump(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	out, err := httputil.DumpResponse(resp, true)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// An upstream's error text, which may quote the request's Authorization
// header (the provider key) and its body, never reaches the caller or the
// router's logs: not in the status line, a header, the body or any event of
// a stream, for chat (plain and streamed) and embeddings, nor in a 502 that
// lists two providers. A 400 about a parameter still names the parameter.
func TestUpstreamErrorTextNeverReachesTheCaller(t *testing.T) {
	alpha := openaitest.NewServer("alpha", nil)
	beta := openaitest.NewServer("beta", nil)
	t.Cleanup(alpha.Close)
	t.Cleanup(beta.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: alpha, type: openai, base_url: %q, key: "env:ALPHA_KEY"}
  - {name: beta, type: openai, base_url: %q, key: "env:BETA_KEY"}
models:
  - {id: alpha-chat, provider: alpha, price: {input: 1, output: 1}}
  - {id: beta-chat, provider: beta, price: {input: 1, output: 1}}
  - {id: alpha-embed, provider: alpha, price: {input: 1, output: 0}}
routes:
  - {name: solo, targets: [{model: alpha-chat}]}
  - {name: pair, targets: [{model: alpha-chat}, {model: beta-chat}]}
  - {name: embed, targets: [{model: alpha-embed}]}
keys:
  - {id: app, hash: %q, routes: ["*"]}
`, alpha.BaseURL(), beta.BaseURL(), hashOf(edgeKey))
	h := newHarness(t, cfg, map[string]string{"ALPHA_KEY": alphaKey, "BETA_KEY": betaKey})

	chat := func(route string, stream bool) string {
		return fmt.Sprintf(`{"model":%q,"stream":%v,"temperature":1.5,"messages":[{"role":"user","content":%q}]}`, route, stream, leakPrompt)
	}
	embed := fmt.Sprintf(`{"model":"embed","input":[%q]}`, leakPrompt)
	status := func(code int, typ, errCode string) func(openaitest.Received) openaitest.Reply {
		return func(r openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Status: code, ErrBody: errorBody(typ, quote(r), errCode, quote(r))}
		}
	}
	aboutParam := func(param string) func(openaitest.Received) openaitest.Reply {
		return func(r openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Status: 400, ErrBody: errorBody("invalid_request_error", param, "invalid_value",
				"Invalid value for '"+param+"': "+quote(r))}
		}
	}
	inBand := func(r openaitest.Received) openaitest.Reply {
		return openaitest.Reply{Status: 500, InBand: true, Text: "Partial answer then", ErrMessage: quote(r)}
	}
	tests := []struct {
		name, path, body string
		script           func(openaitest.Received) openaitest.Reply
		second           func(openaitest.Received) openaitest.Reply // beta's, when not script
		status           int
		code, param      string
		event            bool // the error comes as an event of a 200 stream
	}{
		{"chat 401", "/v1/chat/completions", chat("solo", false), status(401, "invalid_request_error", "invalid_api_key"), nil, 502, "upstream_auth_failed", "", false},
		{"chat 400 about a parameter", "/v1/chat/completions", chat("solo", false), aboutParam("temperature"), nil, 400, "invalid_value", "temperature", false},
		{"chat 500", "/v1/chat/completions", chat("solo", false), status(500, "server_error", "server_error"), nil, 502, "all_targets_failed", "", false},
		{"chat 500 from two providers", "/v1/chat/completions", chat("pair", false), status(500, "server_error", "server_error"), nil, 502, "all_targets_failed", "", false},
		{"chat error in a 200 answer", "/v1/chat/completions", chat("solo", false), inBand, nil, 502, "all_targets_failed", "", false},
		{"chat 400 from the second provider", "/v1/chat/completions", chat("pair", false), status(500, "server_error", "server_error"), aboutParam("temperature"), 400, "invalid_value", "temperature", false},
		{"stream 401", "/v1/chat/completions", chat("solo", true), status(401, "invalid_request_error", "invalid_api_key"), nil, 502, "upstream_auth_failed", "", false},
		{"stream 400 about a parameter", "/v1/chat/completions", chat("solo", true), aboutParam("temperature"), nil, 400, "invalid_value", "temperature", false},
		{"stream 500 from two providers", "/v1/chat/completions", chat("pair", true), status(500, "server_error", "server_error"), nil, 502, "all_targets_failed", "", false},
		{"stream error event", "/v1/chat/completions", chat("solo", true), inBand, nil, 200, "", "", true},
		{"embeddings 401", "/v1/embeddings", embed, status(401, "invalid_request_error", "invalid_api_key"), nil, 502, "upstream_auth_failed", "", false},
		{"embeddings 400 about a parameter", "/v1/embeddings", embed, aboutParam("input"), nil, 400, "invalid_value", "input", false},
		{"embeddings 500", "/v1/embeddings", embed, status(500, "server_error", "server_error"), nil, 502, "all_targets_failed", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alpha.SetScript(tt.script)
			beta.SetScript(tt.script)
			if tt.second != nil {
				beta.SetScript(tt.second)
			}
			before := alpha.Calls() + beta.Calls()
			resp := h.post(t, tt.path, tt.body, map[string]string{"Authorization": "Bearer " + edgeKey})
			out := dump(t, resp)
			h.audit.next(t)
			if alpha.Calls()+beta.Calls() == before {
				t.Fatalf("no upstream was called:\n%s", out)
			}
			if what := leaked(out, leakPrompt, alphaKey, betaKey); what != "" {
				t.Errorf("the client received %s:\n%s", what, out)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d:\n%s", resp.StatusCode, tt.status, out)
			}
			body := out[bytes.Index(out, []byte("\r\n\r\n"))+4:]
			if tt.event {
				if !bytes.Contains(body, []byte("data: {\"error\"")) {
					t.Errorf("no error event in the stream:\n%s", body)
				}
				return
			}
			var e struct {
				Error struct {
					Message, Code string
					Param         *string
				}
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("not an error body: %v\n%s", err, body)
			}
			if e.Error.Code != tt.code {
				t.Errorf("code %q, want %q", e.Error.Code, tt.code)
			}
			if param := e.Error.Param; tt.param != "" && (param == nil || *param != tt.param) {
				t.Errorf("param %s, want %q: the client must still learn which parameter", body, tt.param)
			}
			if strings.Contains(tt.name, "two providers") && !(strings.Contains(e.Error.Message, "alpha") && strings.Contains(e.Error.Message, "beta")) {
				t.Errorf("the 502 does not list both providers: %q", e.Error.Message)
			}
		})
	}
	for _, up := range []struct {
		s   *openaitest.Server
		key string
	}{{alpha, alphaKey}, {beta, betaKey}} {
		if got := up.s.Received()[0].Header.Get("Authorization"); got != "Bearer "+up.key {
			t.Fatalf("%s received Authorization %q: the test quotes nothing secret", up.s.Name, got)
		}
	}
	if err := h.audit.lines.Flush(); err != nil {
		t.Fatal(err)
	}
	if what := leaked([]byte(h.stderr.String()), leakPrompt, alphaKey, betaKey); what != "" {
		t.Errorf("the router's log holds %s:\n%s", what, h.stderr.String())
	}
	if what := leaked([]byte(h.stdout.String()), leakPrompt, alphaKey, betaKey); what != "" {
		t.Errorf("the audit or metric lines hold %s", what)
	}
}

// A body that names the model twice (escaped, repeated, or differing only in
// case) is refused with a 400 before any upstream is called: otherwise the
// router could authorize and price one model while the upstream's parser
// serves the other. The key may use pub-model only.
func TestModelCannotBeSmuggled(t *testing.T) {
	pub := openaitest.NewServer("pub", nil)
	t.Cleanup(pub.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: pub, type: openai, base_url: %q, key: "env:PUB_KEY"}
models:
  - {id: pub-model, provider: pub, price: {input: 0.1, output: 0.4}}
  - {id: pub-expensive, provider: pub, price: {input: 15, output: 60}}
  - {id: pub-embed, provider: pub, price: {input: 0.02, output: 0}}
  - {id: pub-embed-large, provider: pub, price: {input: 0.13, output: 0}}
keys:
  - {id: app, hash: %q, models: [pub-model, pub-embed]}
`, pub.BaseURL(), hashOf(edgeKey))
	h := newHarness(t, cfg, map[string]string{"PUB_KEY": alphaKey})
	auth := map[string]string{"Authorization": "Bearer " + edgeKey}
	const msgs = `"messages":[{"role":"user","content":"hi"}]`

	// The key's limits as plain requests see them.
	if resp := h.post(t, "/v1/chat/completions", `{"model":"pub-model",`+msgs+`}`, auth); resp.StatusCode != 200 {
		t.Fatalf("pub-model: status %d", resp.StatusCode)
	}
	h.audit.next(t)
	if resp := h.post(t, "/v1/chat/completions", `{"model":"pub-expensive",`+msgs+`}`, auth); resp.StatusCode != 403 {
		t.Fatalf("pub-expensive: status %d, want 403", resp.StatusCode)
	}
	h.audit.next(t)
	calls := pub.Calls()

	for _, tt := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"pub-model","mod\u0065l":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"mod\u0065l":"pub-expensive","model":"pub-model",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"pub-model","model":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"pub-model","\u006d\u006f\u0064\u0065\u006c":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"pub-model","Model":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"pub-model","MODEL":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"model":"pub-model","\u004dodel":"pub-expensive",` + msgs + `}`},
		{"/v1/chat/completions", `{"Model":"pub-expensive","model":"pub-model",` + msgs + `}`},
		{"/v1/embeddings", `{"model":"pub-embed","mod\u0065l":"pub-embed-large","input":"hi"}`},
		{"/v1/embeddings", `{"model":"pub-embed","Model":"pub-embed-large","input":"hi"}`},
	} {
		resp := h.post(t, tt.path, tt.body, auth)
		body, _ := io.ReadAll(resp.Body)
		var e struct {
			Error struct{ Code, Param string }
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != 400 || (e.Error.Code != "duplicate_member" && e.Error.Code != "member_name_case") ||
			!strings.EqualFold(e.Error.Param, "model") {
			t.Errorf("%s %s: %d %s", tt.path, tt.body, resp.StatusCode, body)
		}
		h.audit.next(t)
		if n := pub.Calls(); n != calls {
			t.Errorf("%s: the upstream was called (%d calls), for model %q", tt.body, n-calls, pub.Received()[n-1].Model)
			calls = n
		}
	}
}

// sentMaxTokens is the output limit a request asked an upstream for.
func sentMaxTokens(body []byte) int64 {
	var b struct {
		MaxTokens           *int64 `json:"max_tokens"`
		MaxCompletionTokens *int64 `json:"max_completion_tokens"`
	}
	_ = json.Unmarshal(body, &b)
	switch {
	case b.MaxCompletionTokens != nil:
		return *b.MaxCompletionTokens
	case b.MaxTokens != nil:
		return *b.MaxTokens
	}
	return 0
}

// One request with an absurd max_tokens cannot turn a key's tpm off: after
// it (the upstream refuses it, so it uses nothing), six requests of about
// 1,500 tokens in the same minute are admitted only up to tpm plus one
// request's reservation. With the model's max_output_tokens set, the absurd
// value is clamped to it before it is reserved or sent.
func TestHugeMaxTokensKeepsTPM(t *testing.T) {
	const tpm, perRequest = 2000, 1500 // 1,400 prompt and 100 completion tokens
	for _, capped := range []bool{false, true} {
		t.Run(fmt.Sprintf("max_output_tokens set=%v", capped), func(t *testing.T) {
			up := openaitest.NewServer("up", func(r openaitest.Received) openaitest.Reply {
				n := sentMaxTokens(r.Body)
				if n > 100_000 {
					return openaitest.Reply{Status: 400, ErrType: "invalid_request_error", ErrCode: "invalid_value",
						ErrMessage: "max_tokens is too large: " + strconv.FormatInt(n, 10)}
				}
				prompt := 10
				if n == perRequest-1400 {
					prompt = 1400
				}
				// A model that writes all it may.
				return openaitest.Reply{Usage: openaitest.Usage{Prompt: prompt, Completion: int(n)}}
			})
			t.Cleanup(up.Close)
			outputCap := ""
			if capped {
				outputCap = ", max_output_tokens: 1000"
			}
			cfg := fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
models:
  - {id: m, provider: up, price: {input: 1, output: 1}%s}
routes:
  - {name: r, targets: [{model: m}]}
keys:
  - {id: app, hash: %q, routes: [r], tpm: %d}
`, up.BaseURL(), outputCap, hashOf(edgeKey), tpm)
			clock := fixedClock()
			lim := &limits.Limiter{Counters: &limits.Memory{Now: clock}, Now: clock}
			h := newHarness(t, cfg, nil, func(g *gateway.Gateway) { g.Limiter = lim })
			auth := map[string]string{"Authorization": "Bearer " + edgeKey}

			admitted := 0 // real tokens of the requests admitted in the minute
			resp := h.post(t, "/v1/chat/completions",
				`{"model":"r","max_tokens":1000000000000000,"messages":[{"role":"user","content":"Write forever."}]}`, auth)
			body, _ := io.ReadAll(resp.Body)
			rec := h.audit.next(t)
			if up.Calls() != 1 {
				t.Fatalf("the huge request: status %d %s, and %d upstream calls", resp.StatusCode, body, up.Calls())
			}
			sent := sentMaxTokens(up.Received()[0].Body)
			if capped && sent != 1000 {
				t.Errorf("the upstream received max_tokens %d, want the model's max_output_tokens, 1000", sent)
			}
			if resp.StatusCode == 200 {
				admitted += rec.Usage.PromptTokens + rec.Usage.CompletionTokens
			}
			t.Logf("the huge request: status %d, upstream received max_tokens %d", resp.StatusCode, sent)

			text := strings.Repeat("word ", 1100) // about 1,400 tokens by any estimate
			served := 0
			for range 6 {
				resp := h.post(t, "/v1/chat/completions", fmt.Sprintf(`{"model":"r","max_tokens":%d,"messages":[{"role":"user","content":%q}]}`,
					perRequest-1400, text), auth)
				body, _ := io.ReadAll(resp.Body)
				rec := h.audit.next(t)
				switch resp.StatusCode {
				case 200:
					served++
					admitted += rec.Usage.PromptTokens + rec.Usage.CompletionTokens
				case 429:
				default:
					t.Fatalf("status %d %s", resp.StatusCode, body)
				}
			}
			t.Logf("%d of 6 requests served; %d real tokens admitted in the minute", served, admitted)
			if admitted > tpm+perRequest {
				t.Errorf("%d real tokens admitted in one minute (%d requests of 6 served): more than tpm %d plus one request's %d",
					admitted, served, tpm, perRequest)
			}
			if served == 0 {
				// The refused request used nothing, so the minute's tokens are still there.
				t.Errorf("no request was served: the huge request's reservation was never released")
			}
		})
	}
}

// A request for n choices is billed for n: eight concurrent requests with
// n: 128 against a $0.01 key budget spend at most the budget plus one
// request's reservation, as the upstream's calls and the audit's costs show.
func TestBudgetCountsChoices(t *testing.T) {
	const n, maxTokens, requests, budget = 128, 20, 8, 0.01
	// Output at $1 per 1M tokens, input free: a request's most is
	// n × max_tokens tokens, $0.00256.
	const most = n * maxTokens * 1e-6
	release := make(chan struct{})
	arrived := make(chan struct{}, requests)
	up := openaitest.NewServer("up", func(r openaitest.Received) openaitest.Reply {
		arrived <- struct{}{}
		<-release // every request is admitted or refused before any ends
		var b struct{ N int }
		_ = json.Unmarshal(r.Body, &b)
		// The provider generates and bills every choice in full.
		return openaitest.Reply{Usage: openaitest.Usage{Prompt: 12, Completion: b.N * int(sentMaxTokens(r.Body))}}
	})
	t.Cleanup(up.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
models:
  - {id: m, provider: up, price: {input: 0, output: 1}}
routes:
  - {name: r, targets: [{model: m}]}
keys:
  - {id: app, hash: %q, routes: [r], budget: {monthly_usd: %v}}
`, up.BaseURL(), hashOf(edgeKey), budget)
	clock := fixedClock()
	lim := &limits.Limiter{Counters: &limits.Memory{Now: clock}, Now: clock}
	h := newHarness(t, cfg, nil, func(g *gateway.Gateway) { g.Limiter = lim })

	answered := make(chan int, requests)
	body := fmt.Sprintf(`{"model":"r","n":%d,"max_tokens":%d,"messages":[{"role":"user","content":"Name a colour."}]}`, n, maxTokens)
	for range requests {
		go func() {
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+edgeKey)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answered <- resp.StatusCode
		}()
	}
	statuses := map[int]int{}
	for decided := 0; decided < requests; decided++ {
		select {
		case <-arrived:
		case s := <-answered:
			statuses[s]++
		}
	}
	close(release)
	for range requests - sumValues(statuses) {
		statuses[<-answered]++
	}
	spent := 0.0
	for range requests {
		spent += h.audit.next(t).CostUSD
	}
	t.Logf("statuses %v; %d upstream calls; audit costs sum to $%.5f", statuses, up.Calls(), spent)
	if up.Calls() != statuses[200] || statuses[200]+statuses[429] != requests {
		t.Errorf("statuses %v and %d upstream calls: every request is either served or refused before the upstream", statuses, up.Calls())
	}
	if spent > budget+most+1e-9 {
		t.Errorf("spent $%.5f of a $%v budget: more than one request's reservation ($%.5f) over", spent, budget, most)
	}
	if statuses[200] == 0 {
		t.Error("no request was served")
	}
}

func sumValues(m map[int]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}

// lineBreaking reports the first character of line that some line-oriented
// reader takes for a line end: a C0 or C1 control (U+0085 is NEL) or a
// Unicode line or paragraph separator.
func lineBreaking(line []byte) (rune, bool) {
	for _, r := range string(line) {
		if r < 0x20 || r >= 0x7f && r <= 0x9f || r == '\u2028' || r == '\u2029' {
			return r, true
		}
	}
	return 0, false
}

// Caller text that reaches the audit and metric lines (x-router-tags,
// x-client-request-id) cannot split a line: every line on stdout holds no
// raw line or paragraph separator or C1 control, is one JSON document, and
// the audit line gives back exactly what was sent.
func TestAuditLinesStayOneLine(t *testing.T) {
	up := openaitest.NewServer("up", nil)
	t.Cleanup(up.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
models:
  - {id: m, provider: up, price: {input: 1, output: 1}}
routes:
  - {name: r, targets: [{model: m}]}
keys:
  - {id: app, hash: %q, routes: [r]}
metrics:
  tag_dimensions: [team, site]
`, up.BaseURL(), hashOf(edgeKey))
	h := newHarness(t, cfg, nil)
	sent := []struct{ tags, id string }{
		{"team=triage\u2028x,site=north\u2029y", "cid\u2028one"},
		{"team=a\u0085b,site=c\u009bd", "cid\u0085\u2029two"},
		{"team=\u0080\u009f,feature=e\u2028\u2029\u0085f", "\u009fcid\u0080three"},
	}
	for _, s := range sent {
		resp := h.post(t, "/v1/chat/completions", `{"model":"r","messages":[{"role":"user","content":"hi"}]}`,
			map[string]string{"Authorization": "Bearer " + edgeKey, "X-Router-Tags": s.tags, "X-Client-Request-Id": s.id})
		if resp.StatusCode != 200 {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("tags %q: %d %s", s.tags, resp.StatusCode, body)
		}
		h.audit.next(t)
	}
	if err := h.audit.lines.Flush(); err != nil {
		t.Fatal(err)
	}
	var audits []map[string]any
	for _, line := range bytes.Split(bytes.TrimSuffix([]byte(h.stdout.String()), []byte("\n")), []byte("\n")) {
		if r, ok := lineBreaking(line); ok {
			t.Errorf("a line holds U+%04X unescaped: %q", r, line)
		}
		var v map[string]any
		if err := json.Unmarshal(line, &v); err != nil {
			t.Errorf("a line is not one JSON document (%v): %q", err, line)
			continue
		}
		if v["type"] == "audit" {
			audits = append(audits, v)
		}
	}
	if len(audits) != len(sent) {
		t.Fatalf("%d audit lines for %d requests", len(audits), len(sent))
	}
	for i, s := range sent {
		tags, _ := audits[i]["tags"].(map[string]any)
		for pair := range strings.SplitSeq(s.tags, ",") {
			k, v, _ := strings.Cut(pair, "=")
			if tags[k] != v {
				t.Errorf("audit line %d: tag %s = %q, want %q as sent", i, k, tags[k], v)
			}
		}
		if got := audits[i]["client_request_id"]; got != s.id {
			t.Errorf("audit line %d: client_request_id %q, want %q as sent", i, got, s.id)
		}
	}
}

// Tag values come from the caller, so they must not become metric
// dimension values beyond the configured allow-list: 150 distinct values
// from one key give only the listed values and "other". And the health
// endpoint shows a key only the models it may reach.
func TestCallerCannotChooseMetricsOrSeeOtherRoutes(t *testing.T) {
	up := openaitest.NewServer("up", nil)
	t.Cleanup(up.Close)
	cfg := fmt.Sprintf(`
providers:
  - {name: up, type: openai, base_url: %q}
  - {name: secret-vendor, type: openai, base_url: %q}
models:
  - {id: m, provider: up, price: {input: 1, output: 1}}
  - {id: m-fallback, provider: up, price: {input: 1, output: 1}}
  - {id: internal-model, provider: secret-vendor, price: {input: 1, output: 1}}
routes:
  - {name: r, targets: [{model: m}, {model: m-fallback}]}
  - {name: internal, targets: [{model: internal-model}]}
keys:
  - {id: app, hash: %q, routes: [r]}
metrics:
  tag_dimensions: [team]
  tag_values: {team: [triage, billing]}
`, up.BaseURL(), up.BaseURL(), hashOf(edgeKey))
	h := newHarness(t, cfg, nil)
	auth := func(tags string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + edgeKey, "X-Router-Tags": tags}
	}
	teams := []string{"triage", "billing"}
	for i := range 150 {
		teams = append(teams, fmt.Sprintf("team-%03d", i))
	}
	for _, team := range teams {
		resp := h.post(t, "/v1/chat/completions", `{"model":"r","messages":[{"role":"user","content":"hi"}]}`, auth("team="+team))
		if resp.StatusCode != 200 {
			t.Fatalf("team %s: status %d", team, resp.StatusCode)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		h.audit.next(t)
	}
	if err := h.audit.lines.Flush(); err != nil {
		t.Fatal(err)
	}
	values := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(h.stdout.String()), "\n") {
		var v map[string]any
		if json.Unmarshal([]byte(line), &v) != nil || v["_aws"] == nil {
			continue
		}
		if team, ok := v["team"].(string); ok {
			values[team]++
		}
	}
	want := map[string]int{"triage": 1, "billing": 1, "other": 150}
	if len(values) != len(want) || values["triage"] != 1 || values["billing"] != 1 || values["other"] != 150 {
		names := slices.Sorted(maps.Keys(values))
		if len(names) > 8 {
			names = append(names[:8], "…")
		}
		t.Errorf("%d distinct team dimension values (%v), want %v", len(values), names, want)
	}

	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/router/health", nil)
	req.Header.Set("Authorization", "Bearer "+edgeKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Data []struct{ Provider, Model string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, d := range health.Data {
		seen = append(seen, d.Model+" ("+d.Provider+")")
	}
	if !slices.Equal(seen, []string{"m (up)", "m-fallback (up)"}) {
		t.Errorf("the health endpoint shows the key %v, want only its route's models [m (up) m-fallback (up)]", seen)
	}
}
