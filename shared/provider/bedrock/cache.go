package bedrock

import (
	"encoding/base64"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/llm-router/router/shared/llm"
)

// Prompt caching on Bedrock is a cachePoint block placed after the content
// to cache: in system, in a message's content, in toolConfig's tools. The
// router puts one after each block its request marks (a message's marker
// after the message's last block), for the models Bedrock caches for:
// Anthropic Claude (3.5 Haiku, 3.7 Sonnet, Claude 4 on) and Amazon Nova.
// Tools are cached for Claude only. Markers on other models are not sent.

// caches reports whether Bedrock takes cache points for the model.
func caches(modelID string) bool {
	id := strings.ToLower(modelID)
	if isNova(id) {
		return true
	}
	if !isClaude(id) {
		return false
	}
	for _, old := range []string{"claude-3-haiku", "claude-3-sonnet", "claude-3-opus", "claude-3-5-sonnet", "claude-v2", "claude-instant"} {
		if strings.Contains(id, old) {
			return false
		}
	}
	return true
}

func isClaude(modelID string) bool {
	return strings.Contains(strings.ToLower(modelID), "anthropic.claude")
}

func isNova(modelID string) bool { return strings.Contains(strings.ToLower(modelID), "amazon.nova") }

// longTTL reports whether the model takes the one-hour cache: Claude from
// 4.5 on (Opus 4.5, Sonnet 4.5, Haiku 4.5 and later). Other models get a
// one-hour marker as five minutes.
func longTTL(modelID string) bool {
	id := strings.ToLower(modelID)
	return isClaude(id) && !strings.Contains(id, "claude-3") && !strings.Contains(id, "-4-20") && !strings.Contains(id, "opus-4-1")
}

// cachePoint is the block for a marker on modelID.
func cachePoint(c *llm.CacheControl, modelID string) types.CachePointBlock {
	cp := types.CachePointBlock{Type: types.CachePointTypeDefault}
	if c.LongerTTL() && longTTL(modelID) {
		cp.Ttl = types.CacheTTLOneHour
	}
	return cp
}

// limitCachePoints holds the request to Bedrock's limit of four cache
// points, dropping the earliest extras (a later point's prefix contains the
// earlier ones', and a read there reads them all), and sends a one-hour
// point after a five-minute one as five minutes, as Anthropic requires of
// Claude. Order: tools, system, messages.
func limitCachePoints(in *bedrockruntime.ConverseInput) {
	var points []*types.CachePointBlock
	var drop []func()
	if tc := in.ToolConfig; tc != nil {
		for i := range tc.Tools {
			if cp, ok := tc.Tools[i].(*types.ToolMemberCachePoint); ok {
				points = append(points, &cp.Value)
				i := i
				drop = append(drop, func() { tc.Tools[i] = nil })
			}
		}
	}
	for i := range in.System {
		if cp, ok := in.System[i].(*types.SystemContentBlockMemberCachePoint); ok {
			points = append(points, &cp.Value)
			i := i
			drop = append(drop, func() { in.System[i] = nil })
		}
	}
	for m := range in.Messages {
		content := in.Messages[m].Content
		for i := range content {
			if cp, ok := content[i].(*types.ContentBlockMemberCachePoint); ok {
				points = append(points, &cp.Value)
				i := i
				drop = append(drop, func() { content[i] = nil })
			}
		}
	}
	extra := len(points) - llm.MaxCacheMarkers
	shorter := false
	for i, cp := range points {
		switch {
		case i < extra:
			drop[i]()
		case cp.Ttl == types.CacheTTLOneHour && shorter:
			cp.Ttl = ""
		case cp.Ttl != types.CacheTTLOneHour:
			shorter = true
		}
	}
	if extra <= 0 {
		return
	}
	if tc := in.ToolConfig; tc != nil {
		tc.Tools = compact(tc.Tools)
	}
	in.System = compact(in.System)
	for m := range in.Messages {
		in.Messages[m].Content = compact(in.Messages[m].Content)
	}
}

// compact removes the nil entries limitCachePoints left.
func compact[T comparable](list []T) []T {
	var zero T
	out := list[:0]
	for _, v := range list {
		if v != zero {
			out = append(out, v)
		}
	}
	return out
}

// Reasoning on Bedrock is the model's own request field in
// additionalModelRequestFields: Claude's thinking {type: enabled,
// budget_tokens} (the budgets and rules of the anthropic adapter: the
// effort's budget, at most three quarters of maxTokens, none under 1024;
// temperature and topP dropped; off with a forced tool, a prefill, or a
// tool loop whose signed reasoning was dropped), Nova 2's reasoningConfig
// {type: enabled, maxReasoningEffort: low|medium|high}. Other models take
// no reasoning setting here and get none.

// reasoning sets in up for the request's reasoning effort and reports
// whether it turned reasoning on; maxTokens is the output limit to send when
// thinking needs one and the client set none.
func reasoning(in *bedrockruntime.ConverseInput, c *llm.ChatRequest, modelID string, maxTokens int) bool {
	effort := c.ReasoningEffort
	switch {
	case effort == "" || effort == llm.EffortNone:
	case isClaude(modelID):
		if !thinks(modelID) || !thinkingAllowed(c, in) {
			return false
		}
		limit := c.MaxOutputTokens()
		if limit <= 0 {
			limit = maxTokens
		}
		budget := llm.ClaudeBudget(effort, limit)
		if budget == 0 {
			return false
		}
		ic := in.InferenceConfig
		if ic == nil {
			ic = &types.InferenceConfiguration{}
			in.InferenceConfig = ic
		}
		ic.MaxTokens = aws.Int32(int32(limit))
		ic.Temperature, ic.TopP = nil, nil
		setField(in, "thinking", map[string]any{"type": "enabled", "budget_tokens": budget})
		return true
	case strings.Contains(strings.ToLower(modelID), "nova-2"):
		level := effort
		switch effort {
		case llm.EffortMinimal:
			level = llm.EffortLow
		case llm.EffortXHigh:
			level = llm.EffortHigh
		case llm.EffortLow, llm.EffortMedium, llm.EffortHigh:
		default:
			return false
		}
		setField(in, "reasoningConfig", map[string]any{"type": "enabled", "maxReasoningEffort": level})
		return true
	}
	return false
}

// thinks reports whether a Claude model on Bedrock takes extended thinking:
// Claude 3.7 Sonnet and Claude 4 on.
func thinks(modelID string) bool {
	id := strings.ToLower(modelID)
	return strings.Contains(id, "claude-3-7") || !strings.Contains(id, "claude-3") && !strings.Contains(id, "claude-v2") &&
		!strings.Contains(id, "claude-instant")
}

// thinkingAllowed: Claude refuses thinking with a forced tool and with a
// prefill, and in a tool loop whose last assistant turn comes back without
// the signed reasoning it began with.
func thinkingAllowed(c *llm.ChatRequest, in *bedrockruntime.ConverseInput) bool {
	if tc := in.ToolConfig; tc != nil {
		switch tc.ToolChoice.(type) {
		case *types.ToolChoiceMemberAny, *types.ToolChoiceMemberTool:
			return false
		}
	}
	if n := len(in.Messages); n > 0 && in.Messages[n-1].Role == types.ConversationRoleAssistant {
		return false
	}
	// reasoningBlocks, not Signed: a redacted block whose data is not base64
	// is not sent back, so it does not count.
	i := llm.ToolLoopTurn(c.Messages)
	return i < 0 || len(c.Messages[i].ToolCalls) == 0 || len(reasoningBlocks(&c.Messages[i])) > 0
}

// setField sets additionalModelRequestFields to the one member: a request
// takes one reasoning setting, and nothing else writes the field.
func setField(in *bedrockruntime.ConverseInput, key string, v any) {
	in.AdditionalModelRequestFields = document.NewLazyDocument(map[string]any{key: v})
}

// reasoningBlocks are an assistant message's signed thinking blocks as
// Converse reasoningContent blocks.
func reasoningBlocks(m *llm.Message) []types.ContentBlock {
	var out []types.ContentBlock
	for _, b := range m.ThinkingBlocks {
		switch {
		case !b.Signed():
		case b.Type == "thinking":
			out = append(out, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberReasoningText{
				Value: types.ReasoningTextBlock{Text: aws.String(b.Thinking), Signature: aws.String(b.Signature)}}})
		default:
			if raw, err := base64.StdEncoding.DecodeString(b.Data); err == nil {
				out = append(out, &types.ContentBlockMemberReasoningContent{Value: &types.ReasoningContentBlockMemberRedactedContent{Value: raw}})
			}
		}
	}
	return out
}

// withoutReasoning removes the reasoning blocks of a request that ends up
// without thinking. A turn left empty goes, and the turns around it are
// joined: Bedrock wants roles to alternate.
func withoutReasoning(in *bedrockruntime.ConverseInput) {
	msgs := in.Messages[:0]
	for _, m := range in.Messages {
		kept := m.Content[:0]
		for _, b := range m.Content {
			if _, r := b.(*types.ContentBlockMemberReasoningContent); !r {
				kept = append(kept, b)
			}
		}
		switch n := len(msgs); {
		case len(kept) == 0:
		case n > 0 && msgs[n-1].Role == m.Role:
			msgs[n-1].Content = append(msgs[n-1].Content, kept...)
		default:
			m.Content = kept
			msgs = append(msgs, m)
		}
	}
	in.Messages = msgs
}
