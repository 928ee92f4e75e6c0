package openai

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	oai "github.com/openai/openai-go/v3"
)

// decodeBase64Vector decodes an embedding as the OpenAI SDKs do for
// encoding_format "base64" (Python: np.frombuffer(base64.b64decode(s),
// dtype="float32"), little-endian).
func decodeBase64Vector(t *testing.T, s string) []float32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("embedding %q is not standard base64: %v", s, err)
	}
	if len(raw)%4 != 0 {
		t.Fatalf("embedding decodes to %d bytes, not a whole number of float32s", len(raw))
	}
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

func TestAppendBase64Embeddings(t *testing.T) {
	tests := []struct {
		name    string
		vectors [][]string // the numbers as the upstream printed them
	}{
		{"empty vector", [][]string{{}}},
		{"one value (8 base64 chars, padded)", [][]string{{"0.0023064255"}}},
		{"two values", [][]string{{"-0.5", "1"}}},
		{"three values (no padding)", [][]string{{"0.1", "0.2", "0.3"}}},
		{"four values", [][]string{{"1e-3", "-2.5E2", "0", "-0"}}},
		{"float32 extremes", [][]string{{"3.4028235e38", "-3.4028235e38", "1e-45", "1.17549435e-38", "0.33333334"}}},
		{"several items", [][]string{{"0.1", "-0.1"}, {"0.25", "0.5", "0.75", "1.0", "1.25"}, {"7"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var items []string
			for i, v := range tt.vectors {
				items = append(items, fmt.Sprintf(`{"object":"embedding","index":%d,"embedding":[%s]}`, i, strings.Join(v, ", ")))
			}
			body := `{"object":"list","data":[` + strings.Join(items, ",") + `],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}`
			out, err := AppendBase64Embeddings([]byte("prefix:"), []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(out), "prefix:") {
				t.Fatalf("dst was not appended to: %s", out)
			}
			out = out[len("prefix:"):]

			// The SDK's own type: a base64 embedding does not decode as
			// []float64, so read the list with it and the vectors by hand.
			var resp oai.CreateEmbeddingResponse
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("openai-go cannot read the answer: %v\n%s", err, out)
			}
			if resp.Model != "text-embedding-3-small" || resp.Usage.PromptTokens != 8 || len(resp.Data) != len(tt.vectors) {
				t.Fatalf("members changed: %+v", resp)
			}
			var wire struct {
				Data []struct {
					Index     int    `json:"index"`
					Object    string `json:"object"`
					Embedding string `json:"embedding"`
				} `json:"data"`
			}
			if err := json.Unmarshal(out, &wire); err != nil {
				t.Fatalf("answer is not JSON with string embeddings: %v\n%s", err, out)
			}
			for i, v := range tt.vectors {
				got := decodeBase64Vector(t, wire.Data[i].Embedding)
				want := make([]float32, len(v))
				for j, s := range v {
					f, err := strconv.ParseFloat(s, 64)
					if err != nil {
						t.Fatal(err)
					}
					want[j] = float32(f)
				}
				if !reflect.DeepEqual(bits(got), bits(want)) {
					t.Errorf("item %d: got %v, want %v", i, got, want)
				}
				if wire.Data[i].Index != i || wire.Data[i].Object != "embedding" {
					t.Errorf("item %d: members changed: %+v", i, wire.Data[i])
				}
			}
		})
	}
}

// bits compares float32s exactly, -0 and 0 apart.
func bits(fs []float32) []uint32 {
	out := make([]uint32, len(fs))
	for i, f := range fs {
		out[i] = math.Float32bits(f)
	}
	return out
}

func TestAppendBase64EmbeddingsKeepsOtherBytes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"object":"list", "data": [ {"embedding": [1,2,3], "index": 0} ] , "x" : 1}`,
			`{"object":"list", "data": [ {"embedding": "AACAPwAAAEAAAEBA", "index": 0} ] , "x" : 1}`},
		{`{"data":[{"index":0,"embedding":"AACAPw=="}]}`, `{"data":[{"index":0,"embedding":"AACAPw=="}]}`},
		{`{"data":[{"index":0}]}`, `{"data":[{"index":0}]}`},
		{`{"data":[]}`, `{"data":[]}`},
	}
	for _, tt := range tests {
		got, err := AppendBase64Embeddings(nil, []byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("AppendBase64Embeddings(%s)\n got %s, %v\nwant %s", tt.in, got, err, tt.want)
		}
	}
}

func TestAppendBase64EmbeddingsErrors(t *testing.T) {
	for _, in := range []string{
		``,
		`[]`,
		`{"object":"list"}`,
		`{"data":{"embedding":[1]}}`,
		`{"data":[{"embedding":[1,"x"]}]}`,
		`{"data":[{"embedding":[1,true]}]}`,
		`{"data":[{"embedding":[1e99]}]}`,
		`{"data":[{"embedding":[1,2}]}`,
	} {
		if got, err := AppendBase64Embeddings(nil, []byte(in)); err == nil {
			t.Errorf("AppendBase64Embeddings(%s) = %s, want an error", in, got)
		}
	}
}

// embeddingAnswer is a text-embedding-3-small answer: one 1536-dimension
// vector printed as OpenAI prints float32s.
func embeddingAnswer() []byte {
	var b strings.Builder
	b.WriteString(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[`)
	for i := range 1536 {
		if i > 0 {
			b.WriteByte(',')
		}
		f := float32(math.Sin(float64(i))) / 25
		b.WriteString(strconv.FormatFloat(float64(f), 'g', -1, 32))
	}
	b.WriteString(`]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":5,"total_tokens":5}}`)
	return []byte(b.String())
}

func BenchmarkAppendBase64Embeddings(b *testing.B) {
	body := embeddingAnswer()
	dst := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var err error
		if dst, err = AppendBase64Embeddings(dst[:0], body); err != nil {
			b.Fatal(err)
		}
	}
}
