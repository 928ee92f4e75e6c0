package openai

import (
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// finish applies to a body about to be sent what the router's vocabulary
// asks of this API, in passes that cost nothing unless the request uses
// the feature:
//
//   - the router's extension members (cache_control, thinking_blocks,
//     include_reasoning) are removed: OpenAI refuses members it does not
//     know, and so do the strict dialects. OpenRouter keeps cache_control
//     (it passes markers on to Anthropic and Gemini) and include_reasoning
//     (its own name);
//   - reasoning_effort goes as the API takes it, or not at all
//     (reasoningEffort);
//   - the route's prompt_cache_key is added for OpenAI itself, which the
//     client's body lacks when the route set it.
func (d *dialect) finish(body []byte, req *llm.Request) ([]byte, error) {
	c := req.Chat
	if c == nil {
		return body, nil
	}
	var err error
	if c.Extended() {
		what := llm.StripExtensions
		if d.name == DialectOpenRouter {
			what = llm.StripThinking
		}
		if body, err = llm.Strip(body, what); err != nil {
			return nil, notObject()
		}
	}
	if c.ReasoningEffort != "" && d.effort == nil { // Mistral's are kept or dropped by edit
		if body, err = d.reasoningEffort(body, req.Upstream, c.ReasoningEffort); err != nil {
			return nil, notObject()
		}
	}
	if c.PromptCacheKey != "" && d.cacheKey && !rawjson.Has(body, "prompt_cache_key") {
		if body, err = rawjson.Set(body, "prompt_cache_key", strconv.AppendQuote(nil, c.PromptCacheKey)); err != nil {
			return nil, notObject()
		}
	}
	return body, nil
}

// reasoningEffort writes the request's effort as the API takes it for
// model, or removes it where the API or the model refuses it.
func (d *dialect) reasoningEffort(body []byte, model, effort string) ([]byte, error) {
	out, ok := effortFor(d.name, strings.ToLower(model), effort)
	switch {
	case d.name == DialectOpenRouter:
		// OpenRouter's own form, unless the client wrote it.
		body, err := rawjson.Delete(body, "reasoning_effort")
		if err != nil || rawjson.Has(body, "reasoning") {
			return body, err
		}
		return rawjson.Set(body, "reasoning", append(strconv.AppendQuote([]byte(`{"effort":`), out), '}'))
	case !ok:
		return rawjson.Delete(body, "reasoning_effort")
	case out != effort:
		return rawjson.Set(body, "reasoning_effort", strconv.AppendQuote(nil, out))
	}
	return body, nil
}

// effortFor is the reasoning_effort a dialect's API takes for model, and
// whether it takes one at all:
//
//   - openai (and Azure): the o-series and gpt-5 take it; the models known
//     to refuse it (the gpt-4 family, gpt-4o and gpt-4.1 included, gpt-3.5,
//     chatgpt-4o, gpt-5-chat) do not, and other names are given it (an
//     Azure deployment is known by its name);
//   - deepseek: none of its models takes it (the reasoner thinks at one
//     level);
//   - groq: gpt-oss takes low, medium and high; qwen3 takes none or
//     default; its other models refuse it;
//   - xai: grok-3-mini takes low or high, grok-4.x (4.3 on) low, medium
//     and high; the others refuse it;
//   - openrouter: every effort, as reasoning.effort;
//   - the others (qwen, together, fireworks, ollama, vllm) get it as sent.
func effortFor(dialect, model, effort string) (string, bool) {
	switch dialect {
	case DialectOpenAI:
		for _, p := range []string{"gpt-4", "gpt-3.5", "gpt-35", "chatgpt-", "gpt-5-chat"} {
			if strings.HasPrefix(model, p) {
				return "", false
			}
		}
	case DialectDeepSeek:
		return "", false
	case DialectGroq:
		switch {
		case strings.Contains(model, "gpt-oss"):
			return levels(effort), true
		case strings.Contains(model, "qwen3"):
			if effort == llm.EffortNone {
				return effort, true
			}
			return "default", true
		}
		return "", false
	case DialectXAI:
		switch {
		case strings.HasPrefix(model, "grok-3-mini"):
			if llm.EffortRank(effort) >= llm.EffortRank(llm.EffortMedium) {
				return llm.EffortHigh, true
			}
			return llm.EffortLow, true
		case strings.HasPrefix(model, "grok-4."):
			return levels(effort), true
		}
		return "", false
	}
	return effort, true
}

// levels maps an effort onto low, medium and high (none and minimal are
// low, xhigh high); unknown values pass as they are.
func levels(effort string) string {
	switch effort {
	case llm.EffortNone, llm.EffortMinimal:
		return llm.EffortLow
	case llm.EffortXHigh:
		return llm.EffortHigh
	}
	return effort
}
