package bedrock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/llm-router/router/shared/rawjson"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/llm-router/router/shared/llm"
)

// titanRequest is the InvokeModel body of Amazon Titan text embeddings (v2).
type titanRequest struct {
	InputText  string `json:"inputText"`
	Dimensions int    `json:"dimensions,omitempty"`
	Normalize  bool   `json:"normalize"`
}

// titanResponse is Titan's answer; the embedding is kept raw so float output
// is relayed without reformatting every number.
type titanResponse struct {
	Embedding           json.RawMessage `json:"embedding"`
	InputTextTokenCount int             `json:"inputTextTokenCount"`
}

func isTitanEmbed(model string) bool {
	return strings.Contains(model, "titan-embed")
}

// Base64Embeddings reports that encoding_format "base64" is answered as
// OpenAI answers it: the adapter encodes Titan's floats itself.
func (p *Provider) Base64Embeddings() bool { return true }

// Embed serves OpenAI embeddings with a Titan text embeddings model
// (amazon.titan-embed-text-v2:0): Titan embeds one text per call, so inputs
// are sent one after the other, in order. Vectors are normalized, which is
// what OpenAI's embeddings are.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	if len(req.Input) == 0 {
		return nil, llm.InvalidRequest("input", llm.CodeMissingParam, "input must be a string or a non-empty array of strings")
	}
	for i, text := range req.Input {
		if text == "" {
			return nil, llm.InvalidRequest("input["+strconv.Itoa(i)+"]", llm.CodeInvalidValue, "an input must not be empty")
		}
	}
	b64 := req.EncodingFormat == "base64"
	out := make([]byte, 0, 64+len(req.Input)*(req.Dimensions*12+64))
	out = append(out, `{"object":"list","data":[`...)
	tokens := 0
	for i, text := range req.Input {
		vec, n, err := p.embedOne(ctx, req.Upstream, text, req.Dimensions)
		if err != nil {
			return nil, err
		}
		tokens += n
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"object":"embedding","index":`...)
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, `,"embedding":`...)
		if b64 {
			if out, err = appendBase64(out, vec); err != nil {
				return nil, badResponse(p.name, err)
			}
		} else {
			out = append(out, vec...)
		}
		out = append(out, '}')
	}
	out = append(out, `],"model":`...)
	out = rawjson.AppendString(out, req.Model)
	out = append(out, `,"usage":{"prompt_tokens":`...)
	out = strconv.AppendInt(out, int64(tokens), 10)
	out = append(out, `,"total_tokens":`...)
	out = strconv.AppendInt(out, int64(tokens), 10)
	out = append(out, `}}`...)
	return &llm.Response{Body: out, Usage: llm.Usage{PromptTokens: tokens}}, nil
}

// embedOne embeds one text and returns the raw JSON array and its token count.
func (p *Provider) embedOne(ctx context.Context, model, text string, dims int) (json.RawMessage, int, error) {
	body, err := json.Marshal(titanRequest{InputText: text, Dimensions: dims, Normalize: true})
	if err != nil {
		return nil, 0, err
	}
	out, err := p.client.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(model), Body: body,
		ContentType: aws.String("application/json"), Accept: aws.String("application/json")})
	if err != nil {
		return nil, 0, p.mapError(ctx, err)
	}
	var r titanResponse
	if err := json.Unmarshal(out.Body, &r); err != nil || len(r.Embedding) == 0 || r.Embedding[0] != '[' {
		return nil, 0, badResponse(p.name, err)
	}
	return bytes.TrimSpace(r.Embedding), r.InputTextTokenCount, nil
}

// appendBase64 writes a float array as OpenAI's base64 encoding: the
// little-endian float32 bytes, base64-encoded, as a JSON string.
func appendBase64(dst []byte, vec json.RawMessage) ([]byte, error) {
	var floats []float32
	if err := json.Unmarshal(vec, &floats); err != nil {
		return dst, err
	}
	raw := make([]byte, 4*len(floats))
	for i, f := range floats {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, raw)
	return append(dst, '"'), nil
}
