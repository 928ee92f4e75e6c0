package openai

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/llm"
)

// errorBody covers the error shapes of the OpenAI-compatible family: OpenAI's
// nested {"error":{...}}, Mistral's and vLLM's flat {"object":"error",...}, and
// OpenRouter's nested error with a numeric code equal to the HTTP status.
// Message is raw because Mistral's validation errors (422) carry an object
// or an array of pydantic details there instead of a string.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Object  string          `json:"object"`
	Message json.RawMessage `json:"message"`
	Type    json.RawMessage `json:"type"`
	Param   json.RawMessage `json:"param"`
	Code    json.RawMessage `json:"code"`
	Detail  json.RawMessage `json:"detail"`
}

// ParseError turns an upstream error answer into an *llm.Error: the
// provider's type, code and param where they belong to the router's
// vocabularies (llm.UpstreamType, UpstreamCode, UpstreamParam), and its
// message as the error's Detail, scrubbed of credentials. status is the HTTP
// status; an error carried in a 200 answer or a stream passes the status it
// stands for. The key that was sent is not known here: httpapi.Client, or
// the stream that read the error, removes it.
func ParseError(status int, data []byte) *llm.Error {
	var b errorBody
	var typ, code, msg, param string
	if json.Unmarshal(data, &b) == nil {
		switch {
		case isObject(b.Error):
			var nested errorBody
			_ = json.Unmarshal(b.Error, &nested)
			typ, msg = stringOf(nested.Type), messageOf(nested.Message)
			code, status = codeOf(nested.Code, status)
			param = stringOf(nested.Param)
		case len(b.Error) > 0 && b.Error[0] == '"': // {"error":"..."} (Ollama's native errors)
			msg = stringOf(b.Error)
		case b.Object == "error" || b.Object == "Error" || len(b.Message) > 0:
			typ, msg = stringOf(b.Type), messageOf(b.Message)
			if msg == "" {
				msg = detailText(b.Detail)
			}
			code, status = codeOf(b.Code, status)
		case len(b.Detail) > 0: // FastAPI-style servers
			msg = messageOf(b.Detail)
		}
	}
	e := llm.UpstreamError("", status, typ, code, msg)
	e.Param = llm.UpstreamParam(param)
	return e
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	return len(raw) > 0 && raw[0] == '{'
}

// messageOf reads an error message: a string, a string holding JSON (older
// Mistral bodies), an object with a detail list, or the list itself.
func messageOf(raw json.RawMessage) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		s := stringOf(raw)
		if strings.HasPrefix(s, `{"detail"`) {
			if d := messageOf(json.RawMessage(s)); d != "" {
				return d
			}
		}
		return s
	case '{':
		var inner struct {
			Detail  json.RawMessage `json:"detail"`
			Message json.RawMessage `json:"message"`
		}
		if json.Unmarshal(raw, &inner) != nil {
			return ""
		}
		if d := detailText(inner.Detail); d != "" {
			return d
		}
		return messageOf(inner.Message)
	case '[':
		return detailText(raw)
	}
	return ""
}

// detailText summarises pydantic validation details as "loc: msg" pairs. The
// offending input, which may quote the prompt, is left out.
func detailText(raw json.RawMessage) string {
	var details []struct {
		Loc []json.RawMessage `json:"loc"`
		Msg string            `json:"msg"`
	}
	if json.Unmarshal(raw, &details) != nil {
		return stringOf(raw)
	}
	parts := make([]string, 0, len(details))
	for _, d := range details {
		var loc []string
		for _, l := range d.Loc {
			if s := strings.Trim(string(l), `"`); s != "body" {
				loc = append(loc, s)
			}
		}
		if len(loc) == 0 {
			parts = append(parts, d.Msg)
			continue
		}
		parts = append(parts, strings.Join(loc, ".")+": "+d.Msg)
	}
	return strings.Join(parts, "; ")
}

// codeOf reads an error code that may be a string, a number or null. A numeric
// code that is an HTTP error status (OpenRouter) replaces a 200 status.
func codeOf(raw json.RawMessage, status int) (string, int) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", status
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, status
	}
	var n int
	if json.Unmarshal(raw, &n) == nil {
		if n >= 400 && n <= 599 && (status < 400 || status == http.StatusBadGateway) {
			status = n
		}
		return strconv.Itoa(n), status
	}
	return "", status
}

func stringOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}
