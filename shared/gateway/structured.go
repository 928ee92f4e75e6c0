package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/engine"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/structured"
)

// Structured output: a request that asks for JSON (response_format
// json_object or json_schema), or whose route names a schema, gets JSON. The
// router checks every answer: it finds the JSON (the whole text, a fenced
// block, or a value after some prose), validates it against the schema, and
// answers canonical JSON in message.content. An answer that fails the check
// is repaired, falls back or is refused, as the route says (docs/STRUCTURED.md).
// Requests that ask for no JSON pay one nil check.

// codeInvalidOutput is the error code of an answer that failed the check.
const codeInvalidOutput = "invalid_structured_output"

// shape is what a request's answers must be.
type shape struct {
	// schema is nil for a JSON check only (json_object, or json_schema
	// without a schema).
	schema *structured.Schema
	// want is the kind of JSON value to look for ('{', '[' or 0 for any).
	want   byte
	policy string
}

// routeShape is a route's structured-output configuration, compiled with
// its snapshot.
type routeShape struct {
	schema *structured.Schema // nil when the route names no schema
	format []byte             // the response_format sent upstream in place of the client's
	rf     *llm.ResponseFormat
	policy string
}

// compileShapes compiles the schemas and policies of the routes that have
// them. The configuration was validated, so a schema that fails here is a
// configuration the validation let through: refused like any other.
func compileShapes(cfg *config.Config) (map[string]*routeShape, error) {
	var out map[string]*routeShape
	for i := range cfg.Routes {
		r := &cfg.Routes[i]
		if r.Schema == "" && r.Structured == nil {
			continue
		}
		rs := &routeShape{policy: r.Structured.Policy()}
		if r.Schema != "" {
			doc := cfg.Schemas[r.Schema]
			s, err := structured.Compile(doc)
			if err != nil {
				return nil, fmt.Errorf("routes[%d].schema: %w", i, err)
			}
			rs.schema = s
			rs.rf = structured.ResponseFormat(r.Schema, doc)
			if rs.format, err = json.Marshal(rs.rf); err != nil {
				return nil, fmt.Errorf("routes[%d].schema: %w", i, err)
			}
		}
		if out == nil {
			out = make(map[string]*routeShape)
		}
		out[r.Name] = rs
	}
	return out, nil
}

// structuredShape works out what the request's answers must be, nil when it
// asks for no JSON. A route's schema wins over the client's response_format:
// it is injected into the request (the raw body for relaying adapters, the
// parsed request for translating ones), so every model behind the route
// answers the same shape.
func (c *call) structuredShape() (*shape, *llm.Error) {
	var rs *routeShape
	if len(c.snap.shapes) > 0 {
		rs = c.snap.shapes[c.route.Name]
	}
	f := c.chat.ResponseFormat
	asks := f != nil && (f.Type == "json_object" || f.Type == "json_schema")
	if rs == nil && !asks {
		return nil, nil
	}
	policy := config.OnInvalidRepair
	if rs != nil {
		policy = rs.policy
	}
	if rs != nil && rs.schema != nil {
		body, err := rawjson.Set(c.body, "response_format", rs.format)
		if err != nil {
			return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body must be a JSON object")
		}
		chat := *c.chat
		chat.ResponseFormat = rs.rf
		c.chat, c.body = &chat, body
		return &shape{schema: rs.schema, want: rs.schema.Root(), policy: policy}, nil
	}
	if !asks {
		return nil, nil
	}
	if f.Type == "json_object" {
		return &shape{want: '{', policy: policy}, nil
	}
	if f.JSONSchema == nil || !present(f.JSONSchema.Schema) {
		return &shape{policy: policy}, nil // json_schema with no schema: any JSON
	}
	s, err := c.g.schemas.Get(f.JSONSchema.Schema)
	if err != nil {
		return nil, &llm.Error{Kind: llm.KindInvalidRequest, Status: http.StatusBadRequest, Type: "invalid_request_error",
			Code: "invalid_schema", Param: "response_format.json_schema.schema", Message: "response_format.json_schema.schema: " + err.Error()}
	}
	return &shape{schema: s, want: s.Root(), policy: policy}, nil
}

// present reports whether a raw JSON member holds a value other than null.
func present(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// invalidOutput is the error the client sees for an answer that failed the
// check, naming the problems (which come from the check, about the client's
// own answer; they are never logged). repaired says a repair failed again.
func invalidOutput(provider string, problems []string, repaired bool) *llm.Error {
	msg := "the model's answer did not match the requested JSON schema"
	if repaired {
		msg += ", also after a repair attempt"
	}
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error", Code: codeInvalidOutput,
		Provider: provider, Message: msg + ": " + strings.Join(problems, "; ")}
}

// checked is an attempt's Do that makes its calls through send, checks the
// answer and applies the route's policy. An answer that fails is an
// engine.OutputError carrying what the discarded answers cost; the policy
// says whether another target may be tried. It touches only its attempt, as
// hedged attempts run concurrently.
func (c *call) checked(sh *shape, send func(context.Context, *engine.Attempt, *llm.Request) (*llm.Response, error)) func(context.Context, *engine.Attempt) (*llm.Response, error) {
	return func(ctx context.Context, a *engine.Attempt) (*llm.Response, error) {
		resp, err := send(ctx, a, c.chatRequest(a.Target))
		if err != nil {
			return nil, err
		}
		body, how, bad, problems := sh.normalize(resp.Body)
		if problems == nil {
			a.Structured = how
			return &llm.Response{Body: body, Usage: resp.Usage}, nil
		}
		fail := func(problems []string, spent llm.Usage, final, repaired bool) error {
			return &engine.OutputError{Err: invalidOutput(a.Target.Provider.Name, problems, repaired), Usage: spent, Final: final}
		}
		switch sh.policy {
		case config.OnInvalidFallback:
			return nil, fail(problems, resp.Usage, false, false)
		case config.OnInvalidError:
			return nil, fail(problems, resp.Usage, true, false)
		}
		// Repair: the same target, within the same attempt, once.
		req, rerr := repairRequest(c.chatRequest(a.Target), bad, problems)
		if rerr != nil {
			return nil, fail(problems, resp.Usage, true, false)
		}
		again, err := send(ctx, a, req)
		if err != nil {
			return nil, err
		}
		total := resp.Usage.Add(again.Usage)
		body, _, _, problems = sh.normalize(again.Body)
		if problems != nil {
			return nil, fail(problems, total, true, true)
		}
		a.Structured = audit.StructuredRepaired
		return &llm.Response{Body: body, Usage: total}, nil
	}
}

// errNoJSON is the problem of an answer with no JSON in it.
const errNoJSON = "the answer contains no JSON value"

// normalize checks the content of every choice of a chat.completion and
// writes it back as canonical JSON. how is valid (the content was the JSON)
// or extracted (it was found in fences or prose). When a choice fails,
// problems says why and bad is its content. A choice with no content that
// called tools or refused is left as it is: that is an answer too. Only the
// content strings change: they are spliced into a copy of the body, every
// other byte stays as the provider sent it.
func (sh *shape) normalize(body []byte) (out []byte, how, bad string, problems []string) {
	choices, ok := rawjson.Find(body, "choices")
	if !ok || len(choices) == 0 || choices[0] != '[' {
		return nil, "", "", []string{"the answer has no choices"}
	}
	how = audit.StructuredValid
	type splice struct {
		start, end int
		value      []byte
	}
	var edits []splice
	grow := 0
	it := rawjson.ElementsOf(choices)
	for it.Next() {
		msg, _ := rawjson.Find(it.Value(), "message")
		content, _ := rawjson.Find(msg, "content")
		var text string
		if len(content) > 0 && content[0] == '"' && json.Unmarshal(content, &text) != nil {
			return nil, "", "", []string{errNoJSON}
		}
		if strings.TrimSpace(text) == "" && (rawjson.Has(msg, "tool_calls") || rawjson.Has(msg, "refusal")) {
			continue
		}
		canon, extracted, p := sh.check([]byte(text), false)
		if p != nil {
			return nil, "", text, p
		}
		if extracted {
			how = audit.StructuredExtracted
		}
		// content is a subslice of body (rawjson returns subslices): its
		// capacity says where it starts.
		start := cap(body) - cap(content)
		if start < 0 || start+len(content) > len(body) || &body[start] != &content[0] {
			return nil, "", text, []string{"the answer could not be rewritten"}
		}
		value := rawjson.AppendString(make([]byte, 0, len(canon)+16), canon)
		edits = append(edits, splice{start: start, end: start + len(content), value: value})
		grow += len(value) - len(content)
	}
	if it.Err() != nil {
		return nil, "", "", []string{"the answer has no choices"}
	}
	out = make([]byte, 0, len(body)+grow)
	at := 0
	for _, e := range edits {
		out = append(out, body[at:e.start]...)
		out = append(out, e.value...)
		at = e.end
	}
	return append(out, body[at:]...), how, "", nil
}

// check finds the JSON of one answer's text, validates it and returns it
// canonical. whole requires the text to be the JSON itself (a stream, whose
// text the client already has).
func (sh *shape) check(text []byte, whole bool) (canon []byte, extracted bool, problems []string) {
	trimmed := bytes.TrimSpace(text)
	doc := trimmed
	if !whole {
		var err error
		if doc, err = structured.Extract(text, sh.want); err != nil {
			return nil, false, []string{errNoJSON}
		}
	} else if !json.Valid(doc) {
		return nil, false, []string{"the streamed answer is not a JSON value (it holds prose, fences or broken JSON)"}
	}
	canon, err := sh.schema.Check(doc)
	if err != nil {
		var inv *structured.InvalidError
		if errors.As(err, &inv) {
			return nil, false, inv.Problems
		}
		return nil, false, []string{errNoJSON}
	}
	if sh.schema == nil && sh.want != 0 && (len(doc) == 0 || doc[0] != sh.want) {
		return nil, false, []string{"the answer is not a JSON object"}
	}
	return canon, len(doc) != len(trimmed), nil
}

// repairRequest is the attempt's request with two more messages: the bad
// answer as the assistant's, and a user message naming the problems and
// asking for the JSON only. Both forms of the request get them: the raw body
// (relaying adapters) and a copy of the parsed messages (translating ones).
func repairRequest(req *llm.Request, bad string, problems []string) (*llm.Request, error) {
	if strings.TrimSpace(bad) == "" {
		bad = "(an empty answer)" // some APIs refuse an empty assistant turn
	}
	ask := "Your answer is not the JSON that was asked for. Problems: " + strings.Join(problems, "; ") +
		". Reply again with only the corrected JSON value: no prose and no code fences."
	out := *req
	if req.Chat != nil {
		chat := *req.Chat
		chat.Messages = append(slices.Clip(chat.Messages),
			llm.Message{Role: "assistant", Content: llm.Content{Text: bad}},
			llm.Message{Role: "user", Content: llm.Content{Text: ask}})
		out.Chat = &chat
	}
	msgs, ok := rawjson.Find(req.Body, "messages")
	msgs = bytes.TrimSpace(msgs)
	if !ok || len(msgs) < 2 || msgs[0] != '[' || msgs[len(msgs)-1] != ']' {
		return nil, errors.New("the request has no messages array")
	}
	extra := make([]byte, 0, len(msgs)+len(bad)+len(ask)+80)
	extra = append(extra, msgs[:len(msgs)-1]...)
	if len(bytes.TrimSpace(msgs[1:len(msgs)-1])) > 0 {
		extra = append(extra, ',')
	}
	extra = append(extra, `{"role":"assistant","content":`...)
	extra = rawjson.AppendString(extra, bad)
	extra = append(extra, `},{"role":"user","content":`...)
	extra = rawjson.AppendString(extra, ask)
	extra = append(extra, "}]"...)
	body, err := rawjson.Set(req.Body, "messages", extra)
	if err != nil {
		return nil, err
	}
	out.Body = body
	return &out, nil
}

// streamCheck accumulates a structured stream's content per choice, to
// check it when the stream ends.
type streamCheck struct {
	sh      *shape
	content map[int]*bytes.Buffer
	tools   map[int]bool
}

func newStreamCheck(sh *shape) *streamCheck {
	return &streamCheck{sh: sh, content: map[int]*bytes.Buffer{}, tools: map[int]bool{}}
}

// add takes one chunk's content deltas.
func (s *streamCheck) add(chunk []byte) {
	choices, ok := rawjson.Find(chunk, "choices")
	if !ok || len(choices) == 0 || choices[0] != '[' {
		return
	}
	it := rawjson.ElementsOf(choices)
	for it.Next() {
		choice := it.Value()
		index := 0
		if v, ok := rawjson.Find(choice, "index"); ok {
			_ = json.Unmarshal(v, &index)
		}
		delta, _ := rawjson.Find(choice, "delta")
		if rawjson.Has(delta, "tool_calls") {
			s.tools[index] = true
		}
		v, ok := rawjson.Find(delta, "content")
		if !ok || len(v) < 2 || v[0] != '"' {
			continue
		}
		b := s.content[index]
		if b == nil {
			b = &bytes.Buffer{}
			s.content[index] = b
		}
		if bytes.IndexByte(v, '\\') < 0 {
			b.Write(v[1 : len(v)-1])
			continue
		}
		var text string
		if json.Unmarshal(v, &text) == nil {
			b.WriteString(text)
		}
	}
}

// verify checks what was streamed: every choice's content must be, as a
// whole, JSON that matches. A choice that only called tools is an answer too.
func (s *streamCheck) verify() []string {
	checked := false
	for i, b := range s.content {
		if len(bytes.TrimSpace(b.Bytes())) == 0 && s.tools[i] {
			continue
		}
		if _, _, p := s.sh.check(b.Bytes(), true); p != nil {
			return p
		}
		checked = true
	}
	if !checked && len(s.tools) == 0 {
		return []string{errNoJSON}
	}
	return nil
}
