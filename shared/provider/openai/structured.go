package openai

import (
	"bytes"
	"strings"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/rawjson"
	"github.com/llm-router/router/shared/structured"
)

// jsonObjectFormat is the response_format of JSON mode.
var jsonObjectFormat = []byte(`{"type":"json_object"}`)

// jsonInstruction is the system message a JSON-mode-only dialect needs for
// c, empty when none: for a json_schema, which the API refuses ("This
// response_format type is unavailable now"), the schema in words, sent with
// JSON mode; for json_object, a request for JSON when no message says
// "json", which the API requires of JSON mode.
func (d *dialect) jsonInstruction(c *llm.ChatRequest) string {
	if !d.jsonMode || c == nil || c.ResponseFormat == nil {
		return ""
	}
	switch c.ResponseFormat.Type {
	case "json_schema":
		return structured.Instruction(c.ResponseFormat)
	case "json_object":
		for i := range c.Messages {
			if strings.Contains(strings.ToLower(c.Messages[i].Content.String()), "json") {
				return ""
			}
		}
		return structured.Instruction(c.ResponseFormat)
	}
	return ""
}

// prependSystem returns the messages array msgs with a system message first.
func prependSystem(msgs []byte, text string) []byte {
	msgs = bytes.TrimSpace(msgs)
	if len(msgs) < 2 || msgs[0] != '[' {
		return msgs
	}
	out := make([]byte, 0, len(msgs)+len(text)+40)
	out = append(out, `[{"role":"system","content":`...)
	out = rawjson.AppendString(out, text)
	out = append(out, '}')
	if rest := bytes.TrimSpace(msgs[1:]); len(rest) > 0 && rest[0] != ']' {
		out = append(out, ',')
	}
	return append(out, msgs[1:]...)
}
