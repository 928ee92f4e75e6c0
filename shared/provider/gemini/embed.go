package gemini

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/llm-router/router/shared/provider/httpapi"

	"github.com/llm-router/router/shared/rawjson"

	"github.com/llm-router/router/shared/llm"
)

// Embed sends the inputs in one batchEmbedContents call (the call the Go SDK
// makes for any number of inputs) and answers OpenAI's embeddings list.
//
// Gemini's embedding API reports no token counts, so usage is an estimate:
// one token per four characters (Unicode code points) of each input, rounded
// up, at least one per input; Google documents about four characters a
// token. When the answer does carry per-embedding token counts (Vertex's
// statistics.tokenCount) their sum is used instead.
func (p *Provider) Embed(ctx context.Context, req *llm.EmbeddingRequest) (*llm.Response, error) {
	switch {
	case len(req.Input) == 0:
		return nil, p.own(llm.InvalidRequest("input", llm.CodeMissingParam, "input must be a non-empty string or array"))
	case req.Dimensions < 0:
		return nil, p.own(llm.InvalidRequest("dimensions", llm.CodeInvalidValue, "dimensions must be positive"))
	case req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64":
		return nil, p.own(llm.InvalidRequest("encoding_format", llm.CodeInvalidValue, `encoding_format must be "float" or "base64"`))
	}
	body, err := json.Marshal(embedRequestFromOpenAI(req))
	if err != nil {
		return nil, p.own(llm.InvalidRequest("", llm.CodeInvalidJSON, "the request could not be encoded for Gemini"))
	}
	resp, err := p.api.Post(ctx, p.modelURL(req.Upstream, ":batchEmbedContents"), body, false)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := httpapi.ReadBody(resp)
	if err != nil {
		return nil, llm.Unavailable(p.name, err)
	}
	var r batchEmbedResponse
	if err := json.Unmarshal(data, &r); err != nil || len(r.Embeddings) != len(req.Input) {
		return nil, p.own(badResponse("the provider's embeddings answer did not match the inputs"))
	}
	usage := llm.Usage{PromptTokens: embedTokens(req.Input, r.Embeddings)}
	return &llm.Response{Body: embeddingsFromGemini(r.Embeddings, req.Model, req.EncodingFormat == "base64", usage), Usage: usage}, nil
}

// embedRequestFromOpenAI is the batchEmbedContents body: one request per
// input, each naming the model, as the API requires.
func embedRequestFromOpenAI(req *llm.EmbeddingRequest) *batchEmbedRequest {
	model := modelName(req.Upstream)
	b := &batchEmbedRequest{Requests: make([]embedRequest, len(req.Input))}
	for i, in := range req.Input {
		b.Requests[i] = embedRequest{Model: model, Content: content{Parts: []part{{Text: in}}},
			OutputDimensionality: req.Dimensions}
	}
	return b
}

// embedTokens is the prompt token count of an embeddings call; see Embed.
func embedTokens(inputs []string, embs []contentEmbedding) int {
	exact := 0
	for _, e := range embs {
		if e.Statistics == nil {
			exact = -1
			break
		}
		exact += int(e.Statistics.TokenCount)
	}
	if exact >= 0 {
		return exact
	}
	n := 0
	for _, in := range inputs {
		n += max(1, (utf8.RuneCountInString(in)+3)/4)
	}
	return n
}

// embeddingsFromGemini writes OpenAI's embeddings list. base64 vectors are
// little-endian float32, as OpenAI encodes them.
func embeddingsFromGemini(embs []contentEmbedding, model string, asBase64 bool, u llm.Usage) []byte {
	size := 128
	for _, e := range embs {
		size += 48 + len(e.Values)*12
	}
	b := make([]byte, 0, size)
	b = append(b, `{"object":"list","data":[`...)
	var raw []byte
	for i, e := range embs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if asBase64 {
			raw = raw[:0]
			for _, v := range e.Values {
				raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, v := range e.Values {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, `],"model":`...)
	b = rawjson.AppendString(b, model)
	b = append(b, `,"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	return append(b, "}}"...)
}
