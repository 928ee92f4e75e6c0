package bedrock_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
)

const titan = "amazon.titan-embed-text-v2:0"

type embeddingList struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func TestEmbed(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		dims     int
		wantDims int
	}{
		{"float, default dimensions", "", 0, 1024},
		{"float, 256 dimensions", "float", 256, 256},
		{"base64", "base64", 512, 512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, fake := newAdapter(t)
			inputs := []string{"hello world", "the quick brown fox"}
			resp, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{
				Input: inputs, Model: "titan", Upstream: titan, Dimensions: tt.dims, EncodingFormat: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			var got embeddingList
			if err := json.Unmarshal(resp.Body, &got); err != nil {
				t.Fatalf("%s: %v", resp.Body, err)
			}
			if got.Object != "list" || got.Model != "titan" || len(got.Data) != 2 {
				t.Fatalf("got object %q model %q %d items, want list, titan, 2", got.Object, got.Model, len(got.Data))
			}
			for i, d := range got.Data {
				vec := decodeVector(t, d.Embedding, tt.format == "base64")
				want := bedrocktest.Embedding(inputs[i], tt.wantDims)
				if d.Index != i || d.Object != "embedding" || len(vec) != tt.wantDims || vec[0] != want[0] || vec[len(vec)-1] != want[len(want)-1] {
					t.Errorf("item %d: index %d object %q, %d dimensions, want index %d, the fake's %d-dimension vector", i, d.Index, d.Object, len(vec), i, tt.wantDims)
				}
			}
			// 2 + 4 words: the fake counts a token per word.
			if got.Usage.PromptTokens != 6 || got.Usage.TotalTokens != 6 || resp.Usage.PromptTokens != 6 {
				t.Errorf("got usage %+v / %+v, want 6 prompt tokens", got.Usage, resp.Usage)
			}
			reqs := fake.Requests()
			if len(reqs) != 2 {
				t.Fatalf("got %d InvokeModel calls, want one per input", len(reqs))
			}
			for i, r := range reqs {
				var body map[string]any
				if err := r.Decode(&body); err != nil {
					t.Fatal(err)
				}
				if r.Operation != "invoke" || r.ModelID != titan || body["inputText"] != inputs[i] || body["normalize"] != true {
					t.Errorf("call %d: %s %s %v, want invoke of %s with the input, normalize true", i, r.Operation, r.ModelID, body, titan)
				}
				if dims, sent := body["dimensions"]; (tt.dims == 0) == sent || sent && dims != float64(tt.dims) {
					t.Errorf("call %d: dimensions %v (sent %v), want %d (omitted when 0)", i, dims, sent, tt.dims)
				}
				if ct := r.Header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("call %d: Content-Type %q", i, ct)
				}
			}
		})
	}
}

func decodeVector(t *testing.T, raw json.RawMessage, b64 bool) []float32 {
	t.Helper()
	if !b64 {
		var v []float32
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("embedding %s: %v", raw, err)
		}
		return v
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("embedding %s is not a base64 string: %v", raw, err)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b)%4 != 0 {
		t.Fatalf("bad base64 embedding: %v", err)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func TestEmbedErrors(t *testing.T) {
	t.Run("bad dimensions is Bedrock's 400", func(t *testing.T) {
		p, _ := newAdapter(t)
		_, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{Input: []string{"x"}, Model: "titan", Upstream: titan, Dimensions: 100})
		if e := llm.AsError(err); e == nil || e.Status != http.StatusBadRequest || !strings.Contains(e.Detail, "dimensions") {
			t.Errorf("got %#v, want Bedrock's 400 about dimensions", err)
		}
	})
	t.Run("empty input is refused before any call", func(t *testing.T) {
		p, fake := newAdapter(t)
		_, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{Input: []string{"a", ""}, Model: "titan", Upstream: titan})
		if e := llm.AsError(err); e == nil || e.Status != http.StatusBadRequest || e.Param != "input[1]" {
			t.Errorf("got %#v, want a 400 on input[1]", err)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Errorf("got %d calls, want none", n)
		}
	})
	t.Run("throttling stops the batch", func(t *testing.T) {
		p, fake := newAdapter(t)
		fake.Push(bedrocktest.Reply{}, bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "ThrottlingException", Message: "slow"}})
		_, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{Input: []string{"a", "b", "c"}, Model: "titan", Upstream: titan})
		if e := llm.AsError(err); e == nil || e.Status != http.StatusTooManyRequests {
			t.Errorf("got %#v, want 429", err)
		}
		if n := len(fake.Requests()); n != 2 {
			t.Errorf("got %d calls, want 2 (stop at the failure)", n)
		}
	})
}

func TestProbe(t *testing.T) {
	t.Run("chat model: a one-token Converse", func(t *testing.T) {
		p, fake := newAdapter(t)
		if err := p.(llm.Prober).Probe(context.Background(), upstream); err != nil {
			t.Fatal(err)
		}
		r := fake.Last(t)
		want := `{"messages":[{"role":"user","content":[{"text":"ping"}]}],"inferenceConfig":{"maxTokens":1}}`
		if r.Operation != "converse" || r.ModelID != upstream || !sameJSON(t, r.Body, []byte(want)) {
			t.Errorf("probe sent %s %s %s, want converse %s %s", r.Operation, r.ModelID, r.Body, upstream, want)
		}
	})
	t.Run("embedding model: one InvokeModel", func(t *testing.T) {
		p, fake := newAdapter(t)
		if err := p.(llm.Prober).Probe(context.Background(), titan); err != nil {
			t.Fatal(err)
		}
		if r := fake.Last(t); r.Operation != "invoke" || r.ModelID != titan {
			t.Errorf("probe sent %s %s, want invoke %s", r.Operation, r.ModelID, titan)
		}
	})
	t.Run("access denied is reported", func(t *testing.T) {
		p, fake := newAdapter(t)
		fake.Push(bedrocktest.Reply{Error: &bedrocktest.Exception{Name: "AccessDeniedException", Message: "no model access"}})
		err := p.(llm.Prober).Probe(context.Background(), upstream)
		if e := llm.AsError(err); e == nil || e.Status != http.StatusForbidden {
			t.Errorf("got %#v, want 403", err)
		}
	})
	t.Run("no model", func(t *testing.T) {
		p, _ := newAdapter(t)
		if err := p.(llm.Prober).Probe(context.Background(), ""); llm.AsError(err) == nil {
			t.Errorf("got %v, want an error asking for the model", err)
		}
	})
}
