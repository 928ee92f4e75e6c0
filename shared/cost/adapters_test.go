package cost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/cost"
	"github.com/llm-router/router/shared/gateway"
	"github.com/llm-router/router/shared/llm"
	"github.com/llm-router/router/shared/provider"
	"github.com/llm-router/router/shared/provider/anthropic/anthropictest"
	"github.com/llm-router/router/shared/provider/bedrock/bedrocktest"
	"github.com/llm-router/router/shared/provider/gemini/geminitest"
	"github.com/llm-router/router/shared/provider/openai/openaitest"
	"github.com/llm-router/router/shared/secret"
)

// The chat models carry no price: the router prices them from the catalog
// (infra/pricing.yaml), so these tests prove the catalog lookup, each
// adapter's usage normalisation and the arithmetic together. The embedding
// models are priced in the configuration, which overrides the catalog.
const adaptersConfig = `
providers:
  - {name: oai, type: openai, dialect: openai, base_url: "OPENAI_URL", key: "env:OPENAI_KEY"}
  - {name: ds, type: openai, dialect: deepseek, base_url: "DEEPSEEK_URL", key: "env:DEEPSEEK_KEY"}
  - {name: claude, type: anthropic, base_url: "ANTHROPIC_URL", key: "env:ANTHROPIC_KEY"}
  - {name: gem, type: gemini, base_url: "GEMINI_URL", key: "env:GEMINI_KEY"}
  - {name: br, type: bedrock, base_url: "BEDROCK_URL", region: us-east-1}
models:
  - {id: gpt-4o-mini, provider: oai}
  - {id: deepseek-v4-flash, provider: ds}
  - {id: claude-sonnet-4-5, provider: claude}
  - {id: gemini-2.5-flash, provider: gem}
  - {id: claude-bedrock, provider: br, upstream: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}
  - {id: embed-small, provider: oai, upstream: text-embedding-3-small, price: {input: 0.02, output: 0}}
  - {id: titan, provider: br, upstream: "amazon.titan-embed-text-v2:0", price: {input: 0.02, output: 0}}
routes:
  - {name: chat, targets: [{model: gpt-4o-mini}]}
`

type fakes struct {
	openai, deepseek *openaitest.Server
	anthropic        *anthropictest.Server
	gemini           *geminitest.Server
	bedrock          *bedrocktest.Server
}

type costRouter struct {
	fakes
	cfg     *config.Config
	client  openai.Client
	records chan audit.Record
}

type recordSink chan audit.Record

func (s recordSink) Emit(r *audit.Record) { s <- *r }

// bedrockEnv gives the AWS SDK dummy credentials and keeps the developer's
// own configuration out, so nothing can reach AWS.
func bedrockEnv(t *testing.T) {
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_PROFILE": "", "AWS_CONFIG_FILE": t.TempDir() + "/none",
		"AWS_SHARED_CREDENTIALS_FILE": t.TempDir() + "/none", "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_BEARER_TOKEN_BEDROCK": "", "AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": ""} {
		t.Setenv(k, v)
	}
}

func newCostRouter(t *testing.T) *costRouter {
	t.Helper()
	bedrockEnv(t)
	f := fakes{
		openai:    openaitest.NewServer("openai", nil),
		deepseek:  openaitest.NewServer("deepseek", nil),
		anthropic: anthropictest.NewServer(),
		gemini:    geminitest.NewServer(geminitest.Options{}),
		bedrock:   bedrocktest.New(t),
	}
	t.Cleanup(func() { f.openai.Close(); f.deepseek.Close(); f.anthropic.Close(); f.gemini.Close() })
	yaml := strings.NewReplacer("OPENAI_URL", f.openai.BaseURL(), "DEEPSEEK_URL", f.deepseek.BaseURL(),
		"ANTHROPIC_URL", f.anthropic.URL, "GEMINI_URL", f.gemini.URL, "BEDROCK_URL", f.bedrock.URL).Replace(adaptersConfig)
	cfg, err := config.Parse([]byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{"OPENAI_KEY": "sk-o", "DEEPSEEK_KEY": "sk-d", "ANTHROPIC_KEY": "sk-ant", "GEMINI_KEY": f.gemini.Key()}
	records := make(chan audit.Record, 16)
	gw := &gateway.Gateway{
		Source:    gateway.Static{C: cfg},
		Providers: provider.Builtin(),
		Deps: llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(k string) (string, bool) {
			v, ok := keys[k]
			return v, ok
		}}},
		Prices: defaultCatalog(t),
		Sink:   recordSink(records),
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := gw.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(srv.Close)
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &costRouter{fakes: f, cfg: cfg, client: client, records: records}
}

func (r *costRouter) next(t *testing.T) audit.Record {
	t.Helper()
	select {
	case rec := <-r.records:
		return rec
	case <-time.After(10 * time.Second):
		t.Fatal("no audit record")
		return audit.Record{}
	}
}

// chat sends one request, streamed or not, and returns the cost the audit
// record (and, unstreamed, the x-router-cost-usd header) reports.
func (r *costRouter) chat(t *testing.T, model string, stream bool) (audit.Record, string) {
	t.Helper()
	params := openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Summarise the note.")}}
	if !stream {
		var resp *http.Response
		if _, err := r.client.Chat.Completions.New(context.Background(), params, option.WithResponseInto(&resp)); err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		return r.next(t), resp.Header.Get("X-Router-Cost-Usd")
	}
	// No include_usage: the router asks the provider for usage itself, so
	// a stream is metered whatever the client asked.
	s := r.client.Chat.Completions.NewStreaming(context.Background(), params)
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatalf("%s stream: %v", model, err)
	}
	return r.next(t), ""
}

// within is the acceptance bound: cost correct to 1e-9 USD.
const within = 1e-9

// Each case's want is worked out by hand from the catalog's prices (USD per
// 1M tokens), in micro-dollars, in the comment above it.
func TestCostPerProviderUsageShape(t *testing.T) {
	cases := []struct {
		name   string
		model  string
		script func(f *fakes)
		usage  audit.Usage
		want   float64
	}{
		{
			// gpt-4o-mini 0.15 / 0.60, cached 0.075: prompt_tokens 2000 of
			// which prompt_tokens_details.cached_tokens 1500, completion 300.
			// 500*0.15 + 1500*0.075 + 300*0.60 = 75 + 112.5 + 180 = 367.5
			name: "openai cached_tokens", model: "gpt-4o-mini",
			script: func(f *fakes) {
				f.openai.SetScript(func(openaitest.Received) openaitest.Reply {
					return openaitest.Reply{Usage: openaitest.Usage{Prompt: 2000, Completion: 300, Cached: 1500}}
				})
			},
			usage: audit.Usage{PromptTokens: 2000, CompletionTokens: 300, CachedTokens: 1500},
			want:  367.5e-6,
		},
		{
			// deepseek-v4-flash 0.14 / 0.28, cache hit 0.0028:
			// prompt_cache_hit_tokens 8000, miss 2000, completion 500.
			// 2000*0.14 + 8000*0.0028 + 500*0.28 = 280 + 22.4 + 140 = 442.4
			name: "deepseek prompt_cache_hit_tokens", model: "deepseek-v4-flash",
			script: func(f *fakes) {
				f.deepseek.SetScript(func(openaitest.Received) openaitest.Reply {
					return openaitest.Reply{Usage: openaitest.Usage{Prompt: 10000, Completion: 500, Cached: 8000}, CacheHitTokens: true}
				})
			},
			usage: audit.Usage{PromptTokens: 10000, CompletionTokens: 500, CachedTokens: 8000},
			want:  442.4e-6,
		},
		{
			// claude-sonnet-4-5 3 / 15, cache read 0.30, write 3.75:
			// input_tokens 100 (uncached), cache_read 2000, cache_creation 500, output 40.
			// 100*3 + 2000*0.30 + 500*3.75 + 40*15 = 300 + 600 + 1875 + 600 = 3375
			name: "anthropic cache read and write", model: "claude-sonnet-4-5",
			script: func(f *fakes) {
				f.anthropic.Enqueue(anthropictest.Reply{Text: "Noted.", Usage: &anthropictest.Usage{InputTokens: 100,
					OutputTokens: 40, CacheReadInputTokens: 2000, CacheCreationInputTokens: 500}})
			},
			usage: audit.Usage{PromptTokens: 2600, CompletionTokens: 40, CachedTokens: 2000, CacheWriteTokens: 500},
			want:  3375e-6,
		},
		{
			// gemini-2.5-flash 0.30 / 2.50, cached 0.03: promptTokenCount
			// 1000 of which cachedContentTokenCount 400; candidates 200 plus
			// thoughts 100, both billed as output.
			// 600*0.30 + 400*0.03 + 300*2.50 = 180 + 12 + 750 = 942
			name: "gemini cachedContentTokenCount", model: "gemini-2.5-flash",
			script: func(f *fakes) {
				f.gemini.Enqueue(geminitest.Reply{Text: []string{"Noted", "."},
					Usage: &geminitest.Usage{Prompt: 1000, Candidates: 200, Thoughts: 100, Cached: 400}})
			},
			usage: audit.Usage{PromptTokens: 1000, CompletionTokens: 300, CachedTokens: 400},
			want:  942e-6,
		},
		{
			// us. Sonnet 4.5 profile 3.30 / 16.50, cache read 0.33, write
			// 4.125: inputTokens 10, cacheReadInputTokens 100,
			// cacheWriteInputTokens 20, outputTokens 5.
			// 10*3.30 + 100*0.33 + 20*4.125 + 5*16.50 = 33 + 33 + 82.5 + 82.5 = 231
			name: "bedrock cacheRead and cacheWrite", model: "claude-bedrock",
			script: func(f *fakes) {
				f.bedrock.Push(bedrocktest.Reply{Text: "Noted.", Usage: bedrocktest.Usage{Input: 10, Output: 5, CacheRead: 100, CacheWrite: 20}})
			},
			usage: audit.Usage{PromptTokens: 130, CompletionTokens: 5, CachedTokens: 100, CacheWriteTokens: 20},
			want:  231e-6,
		},
	}
	r := newCostRouter(t)
	for _, tc := range cases {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", tc.name, stream), func(t *testing.T) {
				tc.script(&r.fakes)
				rec, header := r.chat(t, tc.model, stream)
				if rec.Usage != tc.usage || rec.UsageMissing {
					t.Errorf("usage %+v (missing %v), want %+v", rec.Usage, rec.UsageMissing, tc.usage)
				}
				if math.Abs(rec.CostUSD-tc.want) > within {
					t.Errorf("audit cost_usd = %.12f, want %.12f", rec.CostUSD, tc.want)
				}
				if !stream {
					got, err := strconv.ParseFloat(header, 64)
					if err != nil || math.Abs(got-tc.want) > within {
						t.Errorf("x-router-cost-usd = %q, want %.12f", header, tc.want)
					}
				}
				if direct := cost.USD(r.priceOf(t, tc.model), llmUsage(tc.usage)); math.Abs(direct-tc.want) > within {
					t.Errorf("cost.USD = %.12f, want %.12f", direct, tc.want)
				}
			})
		}
	}
}

func TestCostEmbeddings(t *testing.T) {
	r := newCostRouter(t)
	t.Run("openai", func(t *testing.T) {
		r.openai.SetScript(func(openaitest.Received) openaitest.Reply {
			return openaitest.Reply{Usage: openaitest.Usage{Prompt: 1234}}
		})
		var resp *http.Response
		_, err := r.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "embed-small",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"chest pain", "fever"}}}, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		// 1234 * 0.02 = 24.68 micro-USD (the configured price: no output tokens)
		rec := r.next(t)
		if rec.Usage.PromptTokens != 1234 || math.Abs(rec.CostUSD-24.68e-6) > within {
			t.Errorf("record usage %+v cost %.12f, want 1234 tokens costing 0.00002468", rec.Usage, rec.CostUSD)
		}
		if h := resp.Header.Get("X-Router-Cost-Usd"); h != "0.00002468" {
			t.Errorf("x-router-cost-usd = %q", h)
		}
	})
	t.Run("bedrock titan", func(t *testing.T) {
		// Titan counts inputTextTokenCount; the fake counts words: 4.
		// 4 * 0.02 = 0.08 micro-USD
		_, err := r.client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "titan",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("one two three four")}})
		if err != nil {
			t.Fatal(err)
		}
		if rec := r.next(t); rec.Usage.PromptTokens != 4 || math.Abs(rec.CostUSD-0.08e-6) > within {
			t.Errorf("record usage %+v cost %.12f, want 4 tokens costing 0.00000008", rec.Usage, rec.CostUSD)
		}
	})
}

// priceOf is the catalog price of a model of adaptersConfig.
func (r *costRouter) priceOf(t *testing.T, model string) *config.Price {
	t.Helper()
	cfg, cat := r.cfg, defaultCatalog(t)
	for i := range cfg.Models {
		if m := &cfg.Models[i]; m.ID == model {
			for j := range cfg.Providers {
				if cfg.Providers[j].Name == m.Provider {
					return cat.Price(&cfg.Providers[j], m)
				}
			}
		}
	}
	t.Fatalf("no model %s", model)
	return nil
}

func llmUsage(u audit.Usage) llm.Usage {
	return llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		CachedTokens: u.CachedTokens, CacheWriteTokens: u.CacheWriteTokens}
}

// The catalog also feeds the cost strategy: with no price in the
// configuration, the cheaper model (by list price) is tried first. A model
// neither prices costs 0 and the router says so when it loads the config.
func TestCatalogPricesRoutingAndRefusesUnpricedModels(t *testing.T) {
	const base = `
providers:
  - {name: oai, type: openai, base_url: "https://api.openai.com/v1", key: "env:K"}
  - {name: ds, type: openai, base_url: "https://api.deepseek.com/v1", key: "env:K"}
  - {name: local, type: mock}
  - {name: vllm, type: openai, base_url: "http://127.0.0.1:8000/v1"}
models:
  - {id: gpt-4o, provider: oai}
  - {id: deepseek-v4-flash, provider: ds}
  - {id: simulated, provider: local}
`
	routes := `
routes:
  - {name: cheapest, strategy: cost, targets: [{model: gpt-4o}, {model: deepseek-v4-flash}]}
`
	gateway := func(t *testing.T, yaml string) (*gateway.Gateway, error) {
		cfg, err := config.Parse([]byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		gw := &gateway.Gateway{Source: gateway.Static{C: cfg}, Providers: provider.Builtin(),
			Deps:   llm.Deps{HTTP: provider.HTTPClient(), Keys: &secret.Resolver{Env: func(string) (string, bool) { return "sk", true }}},
			Prices: defaultCatalog(t), Sink: recordSink(make(chan audit.Record, 4)), Log: slog.New(slog.DiscardHandler)}
		return gw, gw.Init(context.Background())
	}

	// A self-hosted model the catalog cannot know, left unpriced: refused,
	// by name, rather than metered at $0.
	_, err := gateway(t, base+"  - {id: homegrown, provider: vllm}\n"+routes)
	if err == nil || !strings.Contains(err.Error(), "models[3] (homegrown)") || !strings.Contains(err.Error(), "no price") {
		t.Fatalf("unpriced model: Init = %v, want an error naming models[3] (homegrown)", err)
	}
	// Declared free, it is accepted.
	gw, err := gateway(t, base+"  - {id: homegrown, provider: vllm, price: {input: 0, output: 0}}\n"+routes)
	if err != nil {
		t.Fatalf("free model: %v", err)
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/router/explain", "application/json",
		strings.NewReader(`{"model":"cheapest","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var explain struct{ Candidates []struct{ Model string } }
	if err := json.NewDecoder(resp.Body).Decode(&explain); err != nil {
		t.Fatal(err)
	}
	if len(explain.Candidates) != 2 || explain.Candidates[0].Model != "deepseek-v4-flash" {
		t.Errorf("candidates %+v, want deepseek-v4-flash (0.14/0.28) before gpt-4o (2.50/10)", explain.Candidates)
	}
}
