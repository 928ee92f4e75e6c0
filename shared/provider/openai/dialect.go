package openai

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// Dialect names, as config.Provider.Dialect spells them.
const (
	DialectOpenAI     = "openai"
	DialectDeepSeek   = "deepseek"
	DialectMistral    = "mistral"
	DialectQwen       = "qwen"
	DialectGroq       = "groq"
	DialectTogether   = "together"
	DialectXAI        = "xai"
	DialectOpenRouter = "openrouter"
	DialectFireworks  = "fireworks"
	DialectOllama     = "ollama"
	DialectVLLM       = "vllm"
)

// DetectDialect names the dialect of an OpenAI-compatible API from its base
// URL's host: the router knows the public endpoints of the providers whose
// quirks it handles, and Ollama's default port. Anything else, vLLM included
// (it has no well-known host), is plain openai.
func DetectDialect(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil {
		return DialectOpenAI
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "api.deepseek.com":
		return DialectDeepSeek
	case host == "api.mistral.ai":
		return DialectMistral
	case strings.HasSuffix(host, ".aliyuncs.com") && strings.Contains(host, "dashscope"):
		return DialectQwen // dashscope, dashscope-intl, dashscope-us, cn-hongkong.dashscope
	case host == "api.groq.com":
		return DialectGroq
	case host == "api.together.xyz":
		return DialectTogether
	case host == "api.x.ai":
		return DialectXAI
	case host == "openrouter.ai":
		return DialectOpenRouter
	case host == "api.fireworks.ai":
		return DialectFireworks
	case u.Port() == "11434":
		return DialectOllama
	}
	return DialectOpenAI
}

// dialect is what one OpenAI-compatible API needs changed in a request and
// read differently in an answer. Most APIs accept OpenAI's body as it is: for
// them edits is false and the body is relayed with only the model rewritten.
// The others reject what they do not know with a 400 or 422, so the fields
// they do not support are dropped or mapped rather than sent to fail.
type dialect struct {
	name  string
	label string // the provider's name in messages to clients

	// edits is set when any rule below changes a request body.
	edits bool
	// maxTokens sends max_completion_tokens as max_tokens, the only name
	// the API knows (it would ignore or refuse the newer one).
	maxTokens bool
	// randomSeed sends seed as random_seed (Mistral).
	randomSeed bool
	// noStreamOptions leaves stream_options out (Mistral rejects it and
	// reports usage in its last chunk anyway).
	noStreamOptions bool
	// keep, when set, is the only top-level members sent: the API refuses
	// every member it does not know.
	keep map[string]bool
	// drop is top-level members the API refuses.
	drop map[string]bool
	// effort, when set, is the reasoning_effort values the API accepts;
	// another value is dropped rather than sent to fail.
	effort map[string]bool
	// oneChoice marks an API that answers one choice per request: the
	// gateway serves n above 1 with one call per choice (MultiChoice), and
	// the adapter itself refuses n above 1 with a message that says why,
	// rather than sending a request the API answers with a 400.
	oneChoice bool
	messages  *messageRules
	// jsonMode marks an API with JSON mode (json_object) but no
	// json_schema, and which wants the word "json" in the prompt for JSON
	// mode (DeepSeek): a json_schema is sent as json_object, and the schema,
	// or the request for JSON, as a system message (structured.go).
	jsonMode bool

	// xGroqUsage reads a stream's usage from x_groq.usage when the chunk has
	// no OpenAI usage (Groq).
	xGroqUsage bool
	// cacheKey sends the route's prompt_cache_key (OpenAI's own API).
	cacheKey bool
}

// messageRules is what a dialect changes inside messages.
type messageRules struct {
	// systemForDeveloper sends developer messages as system ones: the API
	// knows only system, user, assistant and tool.
	systemForDeveloper bool
	// toolIDs rewrites tool call ids to Mistral's [a-zA-Z0-9]{9}.
	toolIDs bool
	// allowed, by role, is the only members a message of that role may
	// carry; a role without a list keeps all of them.
	allowed map[string]map[string]bool
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// newDialect returns the rules of a dialect; unknown names (config
// validation refuses them) and the relay dialects get none.
func newDialect(name string) *dialect {
	d := &dialect{name: name, label: name}
	switch name {
	case DialectOpenAI:
		d.cacheKey = true
	case DialectDeepSeek:
		// DeepSeek documents max_tokens only, and refuses the developer role
		// ("unknown variant `developer`"). reasoning_content in history is
		// kept: V4 thinking mode requires it back on tool-call turns.
		d.label = "DeepSeek"
		d.maxTokens = true
		d.messages = &messageRules{systemForDeveloper: true}
		d.jsonMode = true
	case DialectMistral:
		// Mistral validates strictly (422 extra_forbidden) at the top level
		// and inside messages, and wants its own seed name, max_tokens and
		// 9-character tool call ids. The members kept are those of Mistral's
		// chat completion request (client-python, 2026), less metadata, whose
		// OpenAI meaning (tags for stored completions) it does not share.
		d.label = "Mistral"
		d.maxTokens, d.randomSeed, d.noStreamOptions = true, true, true
		d.keep = set("model", "messages", "temperature", "top_p", "max_tokens", "stream", "stop",
			"random_seed", "response_format", "tools", "tool_choice", "presence_penalty",
			"frequency_penalty", "n", "prediction", "parallel_tool_calls", "safe_prompt",
			"prompt_mode", "reasoning_effort", "prompt_cache_key", "guardrails")
		d.effort = set("none", "high")
		d.messages = &messageRules{systemForDeveloper: true, toolIDs: true, allowed: map[string]map[string]bool{
			"system":    set("role", "content"),
			"user":      set("role", "content"),
			"assistant": set("role", "content", "tool_calls", "prefix"),
			"tool":      set("role", "content", "tool_call_id", "name"),
		}}
	case DialectGroq:
		// Groq answers 400 for logprobs, logit_bias, top_logprobs,
		// messages[].name and n > 1, and for any message member it does not
		// know ("property 'reasoning_content' is unsupported").
		d.label = "Groq"
		d.drop = set("logprobs", "logit_bias", "top_logprobs", "prompt_cache_key")
		d.oneChoice = true
		d.xGroqUsage = true
		d.messages = &messageRules{allowed: map[string]map[string]bool{
			"system":    set("role", "content"),
			"developer": set("role", "content"),
			"user":      set("role", "content"),
			"assistant": set("role", "content", "tool_calls", "reasoning"),
			"tool":      set("role", "content", "tool_call_id"),
		}}
	}
	d.edits = d.maxTokens || d.randomSeed || d.noStreamOptions || d.keep != nil || d.drop != nil ||
		d.effort != nil || d.messages != nil || d.jsonMode
	return d
}

// body is the request body to send upstream. A dialect with nothing to
// change for this request takes the relay path, byte for byte what plain
// OpenAI gets.
func (d *dialect) body(req *llm.Request, stream bool) ([]byte, error) {
	if d.oneChoice && req.Chat != nil && req.Chat.N != nil && *req.Chat.N > 1 {
		return nil, llm.InvalidRequest("n", llm.CodeInvalidValue,
			"n must be 1 for this model: its provider ("+d.label+") returns one choice per request")
	}
	if !d.needsEdit(req) {
		body, err := RequestBody(req, stream)
		if err != nil {
			return nil, err
		}
		return d.finish(body, req)
	}
	out, err := d.edit(req, stream)
	if err != nil {
		return nil, llm.InvalidRequest("", llm.CodeInvalidJSON, "the request body is not a JSON object")
	}
	return d.finish(out, req)
}

// needsEdit tells from the parsed request whether the body must change, so
// a dialect with few rules (DeepSeek) relays most requests untouched.
// Dialects that refuse unknown members must look at every body.
func (d *dialect) needsEdit(req *llm.Request) bool {
	if !d.edits {
		return false
	}
	if d.keep != nil || d.drop != nil || d.noStreamOptions || d.randomSeed || d.effort != nil {
		return true
	}
	c := req.Chat
	if c == nil {
		return true
	}
	return d.maxTokens && c.MaxCompletionTokens != nil || d.messages.needed(c) || d.jsonInstruction(c) != ""
}

// needed tells from the parsed request whether any message must change.
func (m *messageRules) needed(c *llm.ChatRequest) bool {
	switch {
	case m == nil:
		return false
	case c == nil || m.allowed != nil || m.toolIDs:
		return true
	case m.systemForDeveloper:
		for i := range c.Messages {
			if c.Messages[i].Role == "developer" {
				return true
			}
		}
	}
	return false
}

// edit rebuilds the top-level object in one pass, copying every member it
// keeps as the client wrote it; only messages are looked into, and only the
// members that must change are re-encoded.
func (d *dialect) edit(req *llm.Request, stream bool) ([]byte, error) {
	body := req.Body
	newMax := d.maxTokens && rawjson.Has(body, "max_completion_tokens")
	nativeSeed := d.randomSeed && rawjson.Has(body, "random_seed")
	wantsUsage := req.Chat != nil && req.Chat.WantsUsage()
	editMessages := d.messages.needed(req.Chat)
	instruction := d.jsonInstruction(req.Chat)
	var ids *toolIDs
	if editMessages && d.messages.toolIDs {
		ids = newToolIDs(req.Chat)
	}

	w := objectWriter{buf: make([]byte, 0, len(body)+64)}
	w.buf = append(w.buf, '{')
	sawModel, sawStreamOptions := false, false
	var err error
	m := rawjson.MembersOf(body)
	for err == nil && m.Next() {
		// Members are matched by name, escapes decoded, as the upstream
		// reads them, and written back with the name as the client wrote it.
		k, v := m.Key(), m.Value()
		null := bytes.Equal(v, nullValue)
		switch key := string(m.Name()); {
		case key == "model":
			sawModel = true
			w.member("model", quote(req.Upstream))
		case key == "messages" && (editMessages || instruction != ""):
			if instruction != "" {
				v = prependSystem(v, instruction)
			}
			w.key(k)
			if editMessages {
				w.buf, err = d.messages.rewrite(w.buf, v, ids)
			} else {
				w.buf = append(w.buf, v...)
			}
		case key == "response_format" && instruction != "":
			w.rawMember(k, jsonObjectFormat)
		case key == "stream_options":
			sawStreamOptions = true
			switch {
			case d.noStreamOptions:
			case stream && !wantsUsage:
				w.rawMember(k, withUsage(v))
			default:
				w.rawMember(k, v)
			}
		case d.maxTokens && key == "max_completion_tokens":
			if !null {
				w.member("max_tokens", v)
			}
		case newMax && key == "max_tokens":
			// max_completion_tokens wins, as ChatRequest.MaxOutputTokens has it.
		case d.randomSeed && key == "seed":
			if !null && !nativeSeed {
				w.member("random_seed", v)
			}
		case d.effort != nil && key == "reasoning_effort":
			if s, ok := unquote(v); ok && d.effort[s] {
				w.rawMember(k, v)
			}
		case d.drop[key]:
		case d.keep != nil && !d.keep[key]:
		default:
			w.rawMember(k, v)
		}
	}
	if m.Err() != nil {
		return nil, m.Err()
	}
	if err != nil {
		return nil, err
	}
	if !sawModel {
		w.member("model", quote(req.Upstream))
	}
	if stream && !d.noStreamOptions && !sawStreamOptions {
		w.member("stream_options", []byte(`{"include_usage":true}`))
	}
	return append(w.buf, '}'), nil
}

// withUsage is a stream_options object with include_usage turned on.
func withUsage(cur []byte) []byte {
	if len(cur) > 0 && cur[0] == '{' {
		if opts, err := rawjson.Set(cur, "include_usage", []byte("true")); err == nil {
			return opts
		}
	}
	return []byte(`{"include_usage":true}`)
}

// objectWriter appends the members of a JSON object being rebuilt.
type objectWriter struct {
	buf []byte
	n   int
}

func (w *objectWriter) member(key string, value []byte) {
	w.rawMember([]byte(key), value)
}

// rawMember writes a member whose key is still escaped as it was read.
func (w *objectWriter) rawMember(key, value []byte) {
	w.key(key)
	w.buf = append(w.buf, value...)
}

// key starts a member; its value is appended to buf next.
func (w *objectWriter) key(key []byte) {
	if w.n > 0 {
		w.buf = append(w.buf, ',')
	}
	w.n++
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, key...)
	w.buf = append(w.buf, '"', ':')
}

// rewrite appends the messages array with each message edited by the rules.
func (m *messageRules) rewrite(dst, raw []byte, ids *toolIDs) ([]byte, error) {
	// rawjson walks objects only, so encoding/json splits the array (a copy
	// of each message); only the dialects that edit messages pay for it.
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return nil, err
	}
	dst = append(dst, '[')
	for i, msg := range msgs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = m.message(dst, msg, ids); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

// message appends one message, keeping the members its role allows.
func (m *messageRules) message(dst, msg []byte, ids *toolIDs) ([]byte, error) {
	role := ""
	if v, ok := rawjson.Find(msg, "role"); ok {
		role, _ = unquote(v)
	}
	asSystem := m.systemForDeveloper && role == "developer"
	if asSystem {
		role = "system"
	}
	allowed := m.allowed[role]
	w := objectWriter{buf: append(dst, '{')}
	var err error
	it := rawjson.MembersOf(msg)
	for err == nil && it.Next() {
		k, v := it.Key(), it.Value()
		name := string(it.Name())
		if allowed != nil && !allowed[name] {
			continue
		}
		switch name {
		case "role":
			if asSystem {
				v = []byte(`"system"`)
			}
		case "tool_calls":
			if ids != nil && role == "assistant" && !bytes.Equal(v, nullValue) {
				v, err = ids.rewriteCalls(v)
			}
		case "tool_call_id":
			if ids != nil {
				if id, ok := unquote(v); ok {
					if out := ids.id(id); out != id {
						v = quote(out)
					}
				}
			}
		}
		w.rawMember(k, v)
	}
	if it.Err() != nil {
		return nil, it.Err()
	}
	return append(w.buf, '}'), err
}

// unquote reads a JSON string value.
func unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}
