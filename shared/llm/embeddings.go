package llm

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/llm-router/router/shared/rawjson"
)

// MaxEmbeddingInputs is OpenAI's limit on the inputs of one embeddings call.
const MaxEmbeddingInputs = 2048

type embeddingBody struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
}

// ParseEmbedding decodes and validates an Embeddings body. Model and Upstream
// of the result are left for each attempt to fill in; the returned name is the
// route or model the client asked for. As ParseChat does, it refuses a body
// with a member name twice in an object, or a member named like one it reads
// but for case, so that what the router reads is what every upstream reads.
func ParseEmbedding(body []byte) (*EmbeddingRequest, string, error) {
	cased, e := checkBody(body)
	if e != nil {
		return nil, "", e
	}
	for m := rawjson.MembersOf(body); cased && m.Next(); {
		name := m.Name()
		if f := caseVariant(name, "model", "input", "encoding_format", "dimensions"); f != "" {
			return nil, "", errMemberCase(string(name), string(name), f)
		}
	}
	var b embeddingBody
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, "", decodeError(err)
	}
	if b.Model == "" {
		return nil, "", InvalidRequest("model", CodeMissingParam, "you must provide a model parameter")
	}
	req := &EmbeddingRequest{Body: body, EncodingFormat: b.EncodingFormat}
	switch b.EncodingFormat {
	case "", "float", "base64":
	default:
		return nil, "", InvalidRequest("encoding_format", CodeInvalidValue, `encoding_format must be "float" or "base64"`)
	}
	if b.Dimensions != nil {
		if *b.Dimensions < 1 {
			return nil, "", InvalidRequest("dimensions", CodeInvalidValue, "dimensions must be a positive integer")
		}
		req.Dimensions = *b.Dimensions
	}
	in := bytes.TrimSpace(b.Input)
	switch {
	case len(in) == 0 || bytes.Equal(in, []byte("null")):
		return nil, "", InvalidRequest("input", CodeMissingParam, "you must provide an input")
	case in[0] == '"':
		var s string
		if err := json.Unmarshal(in, &s); err != nil {
			return nil, "", InvalidRequest("input", CodeInvalidType, "input must be a string or an array")
		}
		req.Input = []string{s}
	case in[0] == '[':
		var texts []string
		if err := json.Unmarshal(in, &texts); err == nil {
			req.Input = texts
			break
		}
		var tokens []json.RawMessage
		if err := json.Unmarshal(in, &tokens); err != nil || !tokenArrays(tokens) {
			return nil, "", InvalidRequest("input", CodeInvalidType, "input must be a string, an array of strings, or token arrays")
		}
		req.TokenInput = true
		if len(tokens) > 0 && tokens[0][0] != '[' {
			tokens = tokens[:1] // one token array
		}
		if len(tokens) == 0 {
			return nil, "", InvalidRequest("input", CodeMissingParam, "input must not be empty")
		}
		return req, b.Model, nil
	default:
		return nil, "", InvalidRequest("input", CodeInvalidType, "input must be a string or an array")
	}
	if len(req.Input) == 0 {
		return nil, "", InvalidRequest("input", CodeMissingParam, "input must not be empty")
	}
	if len(req.Input) > MaxEmbeddingInputs {
		return nil, "", InvalidRequest("input", CodeInvalidValue, "at most "+strconv.Itoa(MaxEmbeddingInputs)+" inputs per request")
	}
	for i, s := range req.Input {
		if s == "" {
			return nil, "", InvalidRequest("input["+strconv.Itoa(i)+"]", CodeInvalidValue, "inputs must not be empty strings")
		}
	}
	return req, b.Model, nil
}

// tokenArrays reports whether items are integers (one token array) or arrays
// of integers.
func tokenArrays(items []json.RawMessage) bool {
	for _, it := range items {
		var n int
		if json.Unmarshal(it, &n) == nil {
			continue
		}
		var ns []int
		if json.Unmarshal(it, &ns) != nil || len(ns) == 0 {
			return false
		}
	}
	return true
}
