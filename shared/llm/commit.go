package llm

import (
	"context"
	"io"

	"github.com/llm-router/router/shared/rawjson"
)

// HasContent reports whether a chat.completion.chunk carries content: text,
// a tool-call delta, a refusal or reasoning (thinking blocks included). A stream commits to its target
// at its first such chunk; chunks before it (the role-only first chunk,
// Anthropic's message_start, Bedrock's messageStart, pings) carry nothing a
// client could not get from another target, so a failure before it may
// still fall back.
func HasContent(chunk []byte) bool {
	choices, ok := rawjson.Find(chunk, "choices")
	if !ok || len(choices) < 2 || choices[0] != '[' {
		return false
	}
	it := rawjson.ElementsOf(choices)
	for it.Next() {
		delta, ok := rawjson.Find(it.Value(), "delta")
		if !ok {
			continue
		}
		m := rawjson.MembersOf(delta)
		for m.Next() {
			v := m.Value()
			switch string(m.Key()) {
			case "content", "refusal", "reasoning_content", "reasoning":
				if len(v) > 2 && v[0] == '"' {
					return true
				}
			case "tool_calls", "thinking_blocks":
				if len(v) > 2 && v[0] == '[' {
					return true
				}
			}
		}
	}
	return false
}

type firstByteKey struct{}

// WithFirstByte returns a context that asks the transport to call seen once
// the first byte of an answer's body arrives (not its headers: an upstream
// may send headers at once and the body only when the model has answered).
func WithFirstByte(ctx context.Context, seen func()) context.Context {
	return context.WithValue(ctx, firstByteKey{}, seen)
}

// FirstByte tells ctx's first-byte hook, if any, that the body has started.
// Adapters that do not read an HTTP body (the mock) call it themselves.
func FirstByte(ctx context.Context) {
	if seen, _ := ctx.Value(firstByteKey{}).(func()); seen != nil {
		seen()
	}
}

// WatchFirstByte wraps body so that ctx's first-byte hook, if any, is told
// when its first byte is read; without a hook body is returned as it is.
func WatchFirstByte(ctx context.Context, body io.ReadCloser) io.ReadCloser {
	seen, _ := ctx.Value(firstByteKey{}).(func())
	if seen == nil {
		return body
	}
	return &firstByteBody{ReadCloser: body, seen: seen}
}

type firstByteBody struct {
	io.ReadCloser
	seen func()
}

func (b *firstByteBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 && b.seen != nil {
		b.seen()
		b.seen = nil
	}
	return n, err
}
