package wiring

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/respcache"
	"github.com/llm-router/router/shared/respcache/cachetable"
	"github.com/llm-router/router/shared/store/dynamo"
)

const cacheTable = "llm-router-cache"

// withCachedRoute is newStack with the cache table created and a route
// "cached" to the upstream that caches its answers.
func withCachedRoute(t *testing.T) *stack {
	t.Helper()
	s := newStack(t)
	db := dynamodb.NewFromConfig(s.aws)
	if err := cachetable.CreateTable(t.Context(), db, cacheTable); err != nil {
		t.Fatal(err)
	}
	c := s.config(t)
	c.Routes = append(c.Routes, config.Route{Name: "cached", Cache: &config.Cache{TTL: config.Duration(10 * time.Minute)},
		Targets: []config.Target{{Model: "gpt-4o-mini"}}})
	if _, err := dynamo.WriteConfig(t.Context(), db, dynamo.DefaultConfigTable, dynamo.DefaultConfigName, c, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s
}

// ROUTER_CACHE_TABLE builds the DynamoDB store; without it the cache is in
// memory.
func TestResponseCacheStore(t *testing.T) {
	s := withCachedRoute(t)
	r, _ := s.build(t, map[string]string{"ROUTER_STORE": "dynamodb"})
	if _, ok := r.Gateway.Cache.(*respcache.Memory); !ok || r.ResponseCache != nil {
		t.Errorf("without ROUTER_CACHE_TABLE: %T", r.Gateway.Cache)
	}
	r, _ = s.build(t, map[string]string{"ROUTER_STORE": "dynamodb", "ROUTER_CACHE_TABLE": cacheTable})
	if r.ResponseCache == nil || r.ResponseCache.Table() != cacheTable || r.Gateway.Cache != respcache.Store(r.ResponseCache) {
		t.Errorf("with ROUTER_CACHE_TABLE: %T", r.Gateway.Cache)
	}
}

// On Lambda a miss is written by the invocation's bookkeeping, and the next
// invocation's hit is answered with one AWS call, the GetItem, and no
// provider call. Requests on routes without cache still make none.
func TestLambdaResponseCache(t *testing.T) {
	s := withCachedRoute(t)
	for _, streaming := range []string{"0", "1"} {
		t.Run("ROUTER_STREAMING="+streaming, func(t *testing.T) {
			r, _ := s.build(t, map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1", "ROUTER_STREAMING": streaming,
				"ROUTER_CACHE_TABLE": cacheTable, "ROUTER_CACHE_TTL": "1m"})
			h := lambda.NewHandler(r.LambdaHandler())
			invoke := func(route string) (cache, body string) {
				t.Helper()
				ctx, cancel := invocationContext()
				defer cancel()
				// The body differs per subtest: each begins with a miss.
				out, err := h.Invoke(ctx, restEvent("POST", "/v1/chat/completions",
					`{"model":"`+route+`","messages":[{"role":"user","content":"streaming `+streaming+`"}]}`))
				if err != nil {
					t.Fatal(err)
				}
				if streaming == "0" {
					var resp events.APIGatewayProxyResponse
					if err := json.Unmarshal(out, &resp); err != nil {
						t.Fatal(err)
					}
					return header(resp, "X-Router-Cache"), resp.Body
				}
				i := bytes.Index(out, make([]byte, 8))
				var prelude struct {
					Headers           map[string]string   `json:"headers"`
					MultiValueHeaders map[string][]string `json:"multiValueHeaders"`
				}
				if i < 0 || json.Unmarshal(out[:i], &prelude) != nil {
					t.Fatalf("no prelude in %q", out)
				}
				cache = prelude.Headers["X-Router-Cache"]
				if v := prelude.MultiValueHeaders["X-Router-Cache"]; len(v) == 1 {
					cache = v[0]
				}
				return cache, string(out[i+8:])
			}
			// The provider key is fetched once, by the first request.
			invoke("upstream")
			calls, upstream := s.calls.Count(), len(s.upstream.Received())
			cache, first := invoke("cached")
			if cache != "miss" || len(s.upstream.Received()) != upstream+1 {
				t.Fatalf("first request: %q, upstream %d", cache, len(s.upstream.Received())-upstream)
			}
			// One GetItem before the answer, one PutItem after it.
			if n := s.calls.Count() - calls; n != 2 {
				t.Errorf("a miss made %d AWS calls, want 2", n)
			}
			calls = s.calls.Count()
			cache, again := invoke("cached")
			if cache != "hit" || again != first || len(s.upstream.Received()) != upstream+1 {
				t.Errorf("second request: %q, upstream %d, want a hit without the upstream", cache, len(s.upstream.Received())-upstream)
			}
			if n := s.calls.Count() - calls; n != 1 {
				t.Errorf("a hit made %d AWS calls, want 1 (GetItem)", n)
			}
			calls = s.calls.Count()
			if cache, _ := invoke("upstream"); cache != "" {
				t.Errorf("a route without cache answered x-router-cache %q", cache)
			}
			if n := s.calls.Count() - calls; n != 0 {
				t.Errorf("a warm request on a route without cache made %d AWS calls", n)
			}
			if st := r.ResponseCache.Stats(); st.Written != 1 || st.Failed != 0 {
				t.Errorf("table stats %+v", st)
			}
		})
	}
	out, err := dynamodb.NewFromConfig(s.aws).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(cacheTable)})
	if err != nil || out.Count != 2 {
		t.Errorf("%d items in the cache table, want 2 (one per subtest): %v", out.Count, err)
	}
}
