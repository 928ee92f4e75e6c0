package gemini

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// chatFromGemini translates a whole generateContent answer into an OpenAI
// chat.completion for model.
func chatFromGemini(r *generateContentResponse, model string, created int64) (*chatCompletion, *llm.Error) {
	out := &chatCompletion{ID: completionID(r.ResponseID), Object: "chat.completion", Created: created,
		Model: model, Usage: usageFromGemini(r.UsageMetadata)}
	if len(r.Candidates) == 0 {
		if r.PromptFeedback == nil || r.PromptFeedback.BlockReason == "" {
			return nil, badResponse("the provider's answer had no candidates")
		}
		// A blocked prompt is a 200 with no candidates. It is answered as
		// OpenAI answers filtered content: an empty message whose
		// finish_reason is content_filter, so clients see a normal answer.
		empty := ""
		out.Choices = []chatChoice{{Message: chatMessage{Role: "assistant", Content: &empty},
			FinishReason: llm.FinishContentFilter}}
		return out, nil
	}
	out.Choices = make([]chatChoice, len(r.Candidates))
	for i := range r.Candidates {
		c := &r.Candidates[i]
		msg := chatMessage{Role: "assistant"}
		var text, thoughts strings.Builder
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				switch {
				case p.Thought:
					// Thought summaries, sent with includeThoughts: the
					// reasoning, not the answer (Chat keeps them only
					// for a client that asked).
					thoughts.WriteString(p.Text)
				case p.FunctionCall != nil:
					msg.ToolCalls = append(msg.ToolCalls,
						toolCallFromGemini(p, r.ResponseID, c.Index, len(msg.ToolCalls)))
				default:
					text.WriteString(p.Text)
				}
			}
		}
		switch s := text.String(); {
		case s != "":
			msg.Content = &s
		case len(msg.ToolCalls) == 0:
			msg.Content = &s // no text and no calls: "" rather than null
		}
		msg.ReasoningContent = thoughts.String()
		out.Choices[i] = chatChoice{Index: c.Index, Message: msg,
			FinishReason: finishReasonFromGemini(c.FinishReason, len(msg.ToolCalls) > 0)}
	}
	return out, nil
}

// toolCallFromGemini is the OpenAI tool call of a functionCall part; k counts
// the candidate's calls before it.
func toolCallFromGemini(p part, responseID string, cand, k int) toolCall {
	fc := p.FunctionCall
	args := compactArgs(fc.Args)
	tc := toolCall{ID: fc.ID, Type: "function", Function: llm.FunctionCall{Name: fc.Name, Arguments: args}}
	if tc.ID == "" {
		tc.ID = synthesizedID(responseID, cand, k, fc.Name, args)
	}
	if p.ThoughtSignature != "" {
		tc.ExtraContent = &extraContent{Google: &googleExtra{ThoughtSignature: p.ThoughtSignature}}
	}
	return tc
}

// compactArgs is a call's arguments as OpenAI clients expect them: compact
// JSON text ("{}" when absent). Gemini indents its non-streamed answers, and
// the id of a call must not depend on how its answer was formatted.
func compactArgs(args json.RawMessage) string {
	if len(args) == 0 || string(args) == "null" {
		return "{}"
	}
	var b bytes.Buffer
	if json.Compact(&b, args) != nil {
		return string(args)
	}
	return b.String()
}

// synthesizedIDPrefix marks tool-call ids the adapter made up because Gemini
// sent none. Such ids are 23 characters, within OpenAI's limit of 40, so a
// history holding them can later go to any provider.
const synthesizedIDPrefix = "call_gm"

// synthesizedID is a deterministic OpenAI tool-call id for a functionCall
// without one: a hash of the response id, the candidate, the call's position
// and the call itself. The same answer gives the same ids, and ids within a
// conversation differ because Gemini's responseId does.
func synthesizedID(responseID string, cand, k int, name, args string) string {
	h := fnv.New64a()
	var num [20]byte
	_, _ = h.Write([]byte(responseID))
	_, _ = h.Write(strconv.AppendInt(append(num[:0], 0), int64(cand), 10))
	_, _ = h.Write(strconv.AppendInt(append(num[:0], 0), int64(k), 10))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(name))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(args))
	var b [len(synthesizedIDPrefix) + 16]byte
	copy(b[:], synthesizedIDPrefix)
	v := h.Sum64()
	const digits = "0123456789abcdef"
	for i := len(b) - 1; i >= len(synthesizedIDPrefix); i-- {
		b[i] = digits[v&0xf]
		v >>= 4
	}
	return string(b[:])
}

// isSynthesizedID reports whether id has the form synthesizedID makes.
func isSynthesizedID(id string) bool {
	rest, ok := strings.CutPrefix(id, synthesizedIDPrefix)
	if !ok || len(rest) != 16 {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// finishReasonFromGemini maps Gemini's finishReason. Function calls come with
// STOP, so whether the turn ended in tool calls is read from the parts.
func finishReasonFromGemini(reason string, calls bool) string {
	switch reason {
	case "STOP", "":
		if calls {
			return llm.FinishToolCalls
		}
		return llm.FinishStop
	case "MAX_TOKENS":
		return llm.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII":
		return llm.FinishContentFilter
	}
	if strings.HasPrefix(reason, "IMAGE_") {
		return llm.FinishContentFilter
	}
	// LANGUAGE, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
	// TOO_MANY_TOOL_CALLS, NO_IMAGE, FINISH_REASON_UNSPECIFIED and reasons
	// added later end the answer without a better OpenAI word.
	return llm.FinishStop
}

// usageFromGemini converts usageMetadata to OpenAI's convention: the prompt
// includes tool-use prompt tokens (and, as Gemini counts it, cached tokens);
// the completion includes thinking tokens.
func usageFromGemini(u *usageMetadata) llm.Usage {
	if u == nil {
		return llm.Usage{}
	}
	return llm.Usage{
		PromptTokens:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		CachedTokens:     u.CachedContentTokenCount,
		ReasoningTokens:  u.ThoughtsTokenCount,
	}
}

// completionID is the OpenAI id of an answer: Gemini's responseId when it
// sent one, else a random id.
func completionID(responseID string) string {
	if responseID != "" {
		return "chatcmpl-" + responseID
	}
	return "chatcmpl-" + strconv.FormatUint(rand.Uint64(), 36)
}

func badResponse(msg string) *llm.Error {
	return &llm.Error{Kind: llm.KindUpstream, Status: http.StatusBadGateway, Type: "api_error",
		Code: "bad_upstream_response", Message: msg}
}
