package llm

import (
	"bytes"

	"github.com/llm-router/router/shared/rawjson"
)

// Members of the router's vocabulary that OpenAI's API does not know, which
// Strip removes from a chat body.
const (
	// StripCache removes cache_control from messages, content parts, tools
	// and tools' function.
	StripCache = 1 << iota
	// StripThinking removes thinking_blocks from messages.
	StripThinking
	// StripIncludeReasoning removes the top-level include_reasoning.
	StripIncludeReasoning

	// StripExtensions is all of them.
	StripExtensions = StripCache | StripThinking | StripIncludeReasoning
)

// Strip returns a chat body without the members what names; every other
// member keeps its bytes, and names are matched decoded, as upstreams read
// them. It rebuilds the body, so callers use it only on a request that has
// such members (ChatRequest.Extended, CacheMarked).
func Strip(body []byte, what int) ([]byte, error) {
	return filterObject(make([]byte, 0, len(body)), body, func(dst []byte, name, v []byte) ([]byte, bool, error) {
		switch string(name) {
		case "include_reasoning":
			return keepIf(dst, v, what&StripIncludeReasoning == 0)
		case "messages":
			out, err := filterArray(dst, v, func(dst, msg []byte) ([]byte, error) {
				return filterObject(dst, msg, func(dst []byte, name, v []byte) ([]byte, bool, error) {
					switch string(name) {
					case "cache_control":
						return keepIf(dst, v, what&StripCache == 0)
					case "thinking_blocks":
						return keepIf(dst, v, what&StripThinking == 0)
					case "content":
						if what&StripCache != 0 && len(v) > 0 && v[0] == '[' {
							out, err := filterArray(dst, v, dropMember("cache_control"))
							return out, true, err
						}
					}
					return append(dst, v...), true, nil
				})
			})
			return out, true, err
		case "tools":
			if what&StripCache == 0 {
				break
			}
			out, err := filterArray(dst, v, func(dst, tool []byte) ([]byte, error) {
				return filterObject(dst, tool, func(dst []byte, name, v []byte) ([]byte, bool, error) {
					switch string(name) {
					case "cache_control":
						return dst, false, nil
					case "function":
						out, err := dropMember("cache_control")(dst, v)
						return out, true, err
					}
					return append(dst, v...), true, nil
				})
			})
			return out, true, err
		}
		return append(dst, v...), true, nil
	})
}

// keepIf appends v when keep is set.
func keepIf(dst, v []byte, keep bool) ([]byte, bool, error) {
	if keep {
		return append(dst, v...), true, nil
	}
	return dst, false, nil
}

// dropMember is an element filter that removes member name from objects.
func dropMember(name string) func(dst, v []byte) ([]byte, error) {
	return func(dst, v []byte) ([]byte, error) {
		return filterObject(dst, v, func(dst []byte, n, v []byte) ([]byte, bool, error) {
			if string(n) == name {
				return dst, false, nil
			}
			return append(dst, v...), true, nil
		})
	}
}

// filterObject appends obj's members to dst, each as member writes its
// value (appended to dst) or leaves it out (keep false). A value that is not
// an object is appended as it is.
func filterObject(dst, obj []byte, member func(dst []byte, name, value []byte) ([]byte, bool, error)) ([]byte, error) {
	obj = bytes.TrimLeft(obj, " \t\r\n") // answers may start with blank lines (DeepSeek's while queued)
	if len(obj) == 0 || obj[0] != '{' {
		return append(dst, obj...), nil
	}
	dst = append(dst, '{')
	n := 0
	m := rawjson.MembersOf(obj)
	for m.Next() {
		mark := len(dst)
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.Key()...)
		dst = append(dst, '"', ':')
		out, keep, err := member(dst, m.Name(), m.Value())
		if err != nil {
			return nil, err
		}
		if !keep {
			dst = dst[:mark]
			continue
		}
		dst = out
		n++
	}
	if m.Err() != nil {
		return nil, m.Err()
	}
	return append(dst, '}'), nil
}

// filterArray appends arr's elements to dst, each as each writes it. A
// value that is not an array is appended as it is.
func filterArray(dst, arr []byte, each func(dst, el []byte) ([]byte, error)) ([]byte, error) {
	if len(arr) == 0 || arr[0] != '[' {
		return append(dst, arr...), nil
	}
	dst = append(dst, '[')
	a := rawjson.ElementsOf(arr)
	for i := 0; a.Next(); i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = each(dst, a.Value()); err != nil {
			return nil, err
		}
	}
	if a.Err() != nil {
		return nil, a.Err()
	}
	return append(dst, ']'), nil
}

// HasReasoning reports whether a chat.completion or chunk may carry the
// model's reasoning (reasoning_content, OpenRouter's reasoning and
// reasoning_details, thinking_blocks): a scan for the names, which answers
// without any cost the stream's hot path notices. usage's reasoning_tokens,
// in nearly every OpenAI answer, is not one of them.
func HasReasoning(data []byte) bool {
	if bytes.Contains(data, thinkingBlocksName) {
		return true
	}
	for i := 0; ; {
		j := bytes.Index(data[i:], reasoningName)
		if j < 0 {
			return false
		}
		rest := data[i+j+len(reasoningName):]
		if len(rest) > 0 && rest[0] == '"' || bytes.HasPrefix(rest, contentSuffix) || bytes.HasPrefix(rest, detailsSuffix) {
			return true
		}
		i += j + len(reasoningName)
	}
}

var (
	reasoningName      = []byte(`"reasoning`)
	contentSuffix      = []byte(`_content"`)
	detailsSuffix      = []byte(`_details"`)
	thinkingBlocksName = []byte(`"thinking_blocks"`)
)

// AppendWithoutReasoning appends to dst a chat.completion (member
// "message") or chat.completion.chunk (member "delta") without the
// reasoning of its choices. empty reports a chunk left with nothing for the
// client: every delta emptied, no finish_reason, no usage.
func AppendWithoutReasoning(dst, data []byte, member string) (out []byte, empty bool, err error) {
	empty = member == "delta"
	out, err = filterObject(dst, data, func(dst []byte, name, v []byte) ([]byte, bool, error) {
		switch string(name) {
		case "usage":
			empty = empty && bytes.Equal(v, null)
		case "choices":
			out, err := filterArray(dst, v, func(dst, choice []byte) ([]byte, error) {
				return filterObject(dst, choice, func(dst []byte, name, v []byte) ([]byte, bool, error) {
					switch string(name) {
					case "finish_reason":
						empty = empty && bytes.Equal(v, null)
					case member:
						start := len(dst)
						out, err := filterObject(dst, v, func(dst []byte, name, v []byte) ([]byte, bool, error) {
							switch string(name) {
							case "reasoning_content", "reasoning", "reasoning_details", "thinking_blocks":
								return dst, false, nil
							}
							return append(dst, v...), true, nil
						})
						empty = empty && (err != nil || string(out[start:]) == "{}")
						return out, true, err
					}
					return append(dst, v...), true, nil
				})
			})
			return out, true, err
		}
		return append(dst, v...), true, nil
	})
	return out, empty, err
}

var null = []byte("null")
