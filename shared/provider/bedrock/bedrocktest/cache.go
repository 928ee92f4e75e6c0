package bedrocktest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// Sign is the signature the fake gives a reasoning block, and checks when
// it comes back: a Claude model on Bedrock refuses reasoning sent back
// with another.
func Sign(text string) string {
	sum := sha256.Sum256([]byte("fake-reasoning:" + text))
	return base64.StdEncoding.EncodeToString(sum[:18])
}

// The fake's prompt cache works as Bedrock's does for what a test can see:
// the prompt is toolConfig's tools, then system, then the messages'
// content blocks; a cachePoint caches the prefix before it when that prefix
// is at least the model's minimum (1,024 tokens for Claude Sonnet, 4,096
// for Haiku 4.5, 1,000 for Nova); a later request reads the longest cached
// prefix ending at one of its cache points or one of the 20 blocks before
// each. Tokens are a quarter of the bytes of each block's JSON, at least
// one per block. Entries do not expire.

type cacheUnit struct {
	tokens int
	point  *cachePointJSON // the cache point after this block
}

type cachePointJSON struct {
	Type string `json:"type"`
	TTL  string `json:"ttl"`
}

// converseUnits lists a Converse request's prompt blocks and their
// cumulative hashes; points counts the cache points, and cacheTools those
// among the tools.
func converseUnits(body []byte) (units []cacheUnit, hashes [][32]byte, points, toolPoints int) {
	var req struct {
		System   []map[string]json.RawMessage `json:"system"`
		Messages []struct {
			Content []map[string]json.RawMessage `json:"content"`
		} `json:"messages"`
		ToolConfig struct {
			Tools []map[string]json.RawMessage `json:"tools"`
		} `json:"toolConfig"`
	}
	_ = json.Unmarshal(body, &req)
	h := sha256.New()
	add := func(blocks []map[string]json.RawMessage, tools bool) {
		for _, b := range blocks {
			if cp, ok := b["cachePoint"]; ok {
				points++
				if tools {
					toolPoints++
				}
				if n := len(units); n > 0 {
					units[n-1].point = new(cachePointJSON)
					_ = json.Unmarshal(cp, units[n-1].point)
				}
				continue
			}
			data, _ := json.Marshal(b)
			h.Write(data)
			var sum [32]byte
			copy(sum[:], h.Sum(nil))
			units = append(units, cacheUnit{tokens: max(len(data)/4, 1)})
			hashes = append(hashes, sum)
		}
	}
	add(req.ToolConfig.Tools, true)
	add(req.System, false)
	for _, m := range req.Messages {
		add(m.Content, false)
	}
	return units, hashes, points, toolPoints
}

// cachesFor reports whether Bedrock caches for the model, and the shortest
// prefix it caches.
func cachesFor(model string) (bool, int) {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "amazon.nova"):
		return true, 1000
	case !strings.Contains(m, "anthropic.claude"):
		return false, 0
	case strings.Contains(m, "claude-3-haiku"), strings.Contains(m, "claude-3-sonnet"), strings.Contains(m, "claude-3-opus"),
		strings.Contains(m, "claude-3-5-sonnet"):
		return false, 0
	case strings.Contains(m, "haiku-4-5"), strings.Contains(m, "opus-4-5"):
		return true, 4096
	case strings.Contains(m, "claude-3-5-haiku"):
		return true, 2048
	}
	return true, 1024
}

// validateCache returns the ValidationException message for cache points
// the model does not take, or "".
func validateCache(model string, body []byte) string {
	units, _, points, toolPoints := converseUnits(body)
	if points == 0 {
		return ""
	}
	ok, _ := cachesFor(model)
	switch {
	case !ok:
		return "You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information."
	case points > 4:
		return "The number of cache points in the request, " + strconv.Itoa(points) + ", exceeds the maximum of 4."
	case toolPoints > 0 && !strings.Contains(strings.ToLower(model), "anthropic.claude"):
		return "The model " + model + " does not support cache points in toolConfig."
	}
	shorter := false
	for _, u := range units {
		if u.point == nil {
			continue
		}
		switch {
		case u.point.Type != "default":
			return "Malformed input request: #/cachePoint/type: " + u.point.Type + " is not a valid enum value, please reformat your input and try again."
		case u.point.TTL == "1h" && shorter:
			return "A cache point with a 1h TTL must not come after one with a 5m TTL."
		case u.point.TTL != "1h":
			shorter = true
		}
	}
	return ""
}

// lookback is how many blocks before a cache point a read may start from.
const lookback = 20

// cacheUsage reads and writes the fake's cache for a request; ok is false
// when the request has no cache point.
func (s *Server) cacheUsage(model string, body []byte) (u Usage, ok bool) {
	units, hashes, points, _ := converseUnits(body)
	if points == 0 {
		return Usage{}, false
	}
	_, floor := cachesFor(model)
	cum := make([]int, len(units))
	total := 0
	var marks []int
	for i, un := range units {
		total += un.tokens
		cum[i] = total
		if un.point != nil {
			marks = append(marks, i)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cache == nil {
		s.cache = make(map[[32]byte]bool)
	}
	for _, b := range marks {
		for i := b; i >= 0 && i >= b-lookback; i-- {
			if s.cache[hashes[i]] && cum[i] > u.CacheRead {
				u.CacheRead = cum[i]
			}
		}
	}
	prev := u.CacheRead
	for _, b := range marks {
		if cum[b] < floor || cum[b] <= prev {
			continue
		}
		s.cache[hashes[b]] = true
		w := cum[b] - prev
		u.CacheWrite += w
		if units[b].point.TTL == "1h" {
			u.CacheWrite1h += w
		}
		prev = cum[b]
	}
	u.Input = total - u.CacheRead - u.CacheWrite
	return u, true
}

// validateReasoning checks additionalModelRequestFields' reasoning as the
// models behind Converse do: Claude's thinking (a budget of at least 1024
// below maxTokens, no temperature or topP, no forced tool, a final
// assistant turn that starts with its signed reasoning, signatures the
// fake issued); Nova 2's reasoningConfig (enabled, low, medium or high).
func validateReasoning(model string, body []byte) string {
	var req struct {
		Additional struct {
			Thinking *struct {
				Type   string `json:"type"`
				Budget int    `json:"budget_tokens"`
			} `json:"thinking"`
			ReasoningConfig *struct {
				Type   string `json:"type"`
				Effort string `json:"maxReasoningEffort"`
			} `json:"reasoningConfig"`
		} `json:"additionalModelRequestFields"`
		InferenceConfig struct {
			MaxTokens   int              `json:"maxTokens"`
			Temperature *json.RawMessage `json:"temperature"`
			TopP        *json.RawMessage `json:"topP"`
		} `json:"inferenceConfig"`
		ToolConfig struct {
			ToolChoice map[string]json.RawMessage `json:"toolChoice"`
		} `json:"toolConfig"`
		Messages []struct {
			Role    string `json:"role"`
			Content []struct {
				ReasoningContent *struct {
					ReasoningText *struct {
						Text      string `json:"text"`
						Signature string `json:"signature"`
					} `json:"reasoningText"`
					RedactedContent string `json:"redactedContent"`
				} `json:"reasoningContent"`
				ToolResult json.RawMessage `json:"toolResult"`
			} `json:"content"`
		} `json:"messages"`
	}
	_ = json.Unmarshal(body, &req)
	for i, m := range req.Messages {
		for j, c := range m.Content {
			if r := c.ReasoningContent; r != nil && r.ReasoningText != nil && r.ReasoningText.Signature != Sign(r.ReasoningText.Text) {
				return "The signature in messages." + strconv.Itoa(i) + ".content." + strconv.Itoa(j) + ".reasoningContent is not valid."
			}
		}
	}
	if rc := req.Additional.ReasoningConfig; rc != nil {
		if !strings.Contains(strings.ToLower(model), "nova-2") {
			return "Malformed input request: extraneous key [reasoningConfig] is not permitted, please reformat your input and try again."
		}
		switch rc.Effort {
		case "low", "medium", "high":
		default:
			return "Malformed input request: #/reasoningConfig/maxReasoningEffort: " + rc.Effort + " is not a valid enum value, please reformat your input and try again."
		}
	}
	th := req.Additional.Thinking
	if th == nil || th.Type != "enabled" {
		return ""
	}
	switch {
	case !strings.Contains(strings.ToLower(model), "anthropic.claude"):
		return "Malformed input request: extraneous key [thinking] is not permitted, please reformat your input and try again."
	case th.Budget < 1024:
		return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
	case req.InferenceConfig.MaxTokens <= th.Budget:
		return "The maximum tokens you requested exceeds the model limit of " + strconv.Itoa(req.InferenceConfig.MaxTokens) +
			": `max_tokens` must be greater than `thinking.budget_tokens`."
	case req.InferenceConfig.Temperature != nil || req.InferenceConfig.TopP != nil:
		return "`temperature` may only be set to 1 when thinking is enabled, and top_p must be unset."
	}
	if _, forced := req.ToolConfig.ToolChoice["any"]; forced {
		return "Thinking may not be enabled when tool_choice forces tool use."
	}
	if _, forced := req.ToolConfig.ToolChoice["tool"]; forced {
		return "Thinking may not be enabled when tool_choice forces tool use."
	}
	final := len(req.Messages) - 1
	if final >= 0 && req.Messages[final].Role == "user" {
		results := len(req.Messages[final].Content) > 0
		for _, c := range req.Messages[final].Content {
			results = results && len(bytes.TrimSpace(c.ToolResult)) > 0
		}
		if !results {
			return ""
		}
		final--
	}
	if final >= 0 && req.Messages[final].Role == "assistant" {
		if c := req.Messages[final].Content; len(c) == 0 || c[0].ReasoningContent == nil {
			return "Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block."
		}
	}
	return ""
}
