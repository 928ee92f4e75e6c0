package openai

import (
	"encoding/json"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
)

// Mistral refuses tool call ids that are not exactly nine ASCII letters or
// digits ("Tool call id was call_0fypS1hVX but must be a-z, A-Z, 0-9, with a
// length of 9"), so a history that holds another provider's ids (toolu_01…,
// call_…) is sent with ids rewritten.
const (
	toolIDLen      = 9
	toolIDAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// validToolID reports whether id is already in Mistral's form; such ids,
// the model's own among them, are sent unchanged.
func validToolID(id string) bool {
	if len(id) != toolIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// toolIDs maps one request's tool call ids to Mistral's form. The same id
// always gives the same output within a request, so an assistant tool call
// and the tool message answering it still match; an output is never shared
// by two inputs, nor equal to an id of the request that is already valid.
// Outputs come from a hash of the input, so the same history resent gives
// the same ids and the upstream's prompt cache keeps matching.
type toolIDs struct {
	out  map[string]string // input id -> id sent
	used map[string]bool   // ids sent or reserved
}

// newToolIDs reserves the ids of chat that are already valid, before any
// other id is rewritten.
func newToolIDs(chat *llm.ChatRequest) *toolIDs {
	t := &toolIDs{out: map[string]string{}, used: map[string]bool{}}
	if chat == nil {
		return t
	}
	for i := range chat.Messages {
		m := &chat.Messages[i]
		for _, tc := range m.ToolCalls {
			t.reserve(tc.ID)
		}
		t.reserve(m.ToolCallID)
	}
	return t
}

func (t *toolIDs) reserve(id string) {
	if validToolID(id) {
		t.out[id] = id
		t.used[id] = true
	}
}

// id is the id sent for in.
func (t *toolIDs) id(in string) string {
	if out, ok := t.out[in]; ok {
		return out
	}
	if validToolID(in) {
		t.reserve(in)
		return in
	}
	for salt := uint64(0); ; salt++ {
		out := hashToolID(in, salt)
		if !t.used[out] {
			t.out[in] = out
			t.used[out] = true
			return out
		}
	}
}

// hashToolID derives a nine-character id from in. salt moves to another
// candidate when one is taken.
func hashToolID(in string, salt uint64) string {
	h := uint64(14695981039346656037) // FNV-1a
	for i := 0; i < len(in); i++ {
		h ^= uint64(in[i])
		h *= 1099511628211
	}
	h ^= salt
	// splitmix64's finaliser spreads FNV's weak low bits over the word.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	var b [toolIDLen]byte
	for i := range b {
		b[i] = toolIDAlphabet[h%62]
		h /= 62
	}
	return string(b[:])
}

// rewriteCalls rewrites the id of every call of an assistant's tool_calls.
func (t *toolIDs) rewriteCalls(raw []byte) ([]byte, error) {
	var calls []json.RawMessage
	if err := json.Unmarshal(raw, &calls); err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(raw))
	out = append(out, '[')
	for i, call := range calls {
		if i > 0 {
			out = append(out, ',')
		}
		if v, ok := rawjson.Find(call, "id"); ok {
			if id, ok := unquote(v); ok {
				if sent := t.id(id); sent != id {
					edited, err := rawjson.Set(call, "id", quote(sent))
					if err != nil {
						return nil, err
					}
					call = edited
				}
			}
		}
		out = append(out, call...)
	}
	return append(out, ']'), nil
}
