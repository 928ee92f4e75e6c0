package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const base = `
providers:
  - {name: p1, type: openai, base_url: "http://127.0.0.1:1/v1", key: "env:P1_KEY"}
  - {name: p2, type: mock, compliance: [hipaa]}
models:
  - {id: m1, provider: p1, upstream: gpt-x, price: {input: 1, output: 2}}
  - {id: m2, provider: p2}
routes:
  - name: r1
    targets: [{model: m1, first_byte_timeout: 2s}, {model: m2}]
data_classes:
  phi: [hipaa]
keys:
  - {id: k1, hash: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", routes: [r1], data_class: phi}
`

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(base))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Routes[0].Targets[0].FirstByteTimeout.D(); got != 2*time.Second {
		t.Errorf("first_byte_timeout = %v, want 2s", got)
	}
	if got := c.Models[0].UpstreamName(); got != "gpt-x" {
		t.Errorf("upstream = %q, want gpt-x", got)
	}
	if got := c.Models[1].UpstreamName(); got != "m2" {
		t.Errorf("upstream default = %q, want the id m2", got)
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if len(c.Keys) != 0 {
		t.Errorf("the default config must run open locally, has %d keys", len(c.Keys))
	}
	found := false
	for _, r := range c.Routes {
		found = found || r.Name == "demo"
	}
	if !found {
		t.Error("the default config has no demo route")
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name       string
		from, to   string // replace from with to in base
		wantField  string
		wantSubstr string
	}{
		{"unknown provider", "provider: p2}", "provider: nope}", "models[1].provider", `unknown provider "nope"`},
		{"duplicate provider", "{name: p2, type: mock", "{name: p1, type: mock", "providers[1].name", "duplicate provider"},
		{"duplicate model", "{id: m2,", "{id: m1,", "models[1].id", "duplicate model"},
		{"route named like a model", "name: r1", "name: m1", "routes[0].name", "same name as a model"},
		{"unsatisfiable require", "name: r1\n", "name: r1\n    require: [pci]\n", "routes[0].require", "never serve"},
		{"bad duration", "first_byte_timeout: 2s", "first_byte_timeout: 2 seconds", "routes[0].targets[0].first_byte_timeout", "bad duration"},
		{"negative duration", "first_byte_timeout: 2s", "first_byte_timeout: -2s", "routes[0].targets[0].first_byte_timeout", "negative"},
		{"literal key", `key: "env:P1_KEY"`, `key: "sk-live-123"`, "providers[0].key", "literal key"},
		{"unknown target model", "{model: m2}", "{model: m9}", "routes[0].targets[1].model", `unknown model "m9"`},
		{"unknown type", "type: mock,", "type: llama,", "providers[1].type", "unknown provider type"},
		{"unknown strategy", "name: r1\n", "name: r1\n    strategy: random\n", "routes[0].strategy", "unknown strategy"},
		{"bad hash", "hash: \"sha256:9f86", "hash: \"md5:9f86", "keys[0].hash", "sha256:"},
		{"key on unknown route", "routes: [r1]", "routes: [r7]", "keys[0].routes[0]", `unknown route "r7"`},
		{"key with unknown class", "data_class: phi}", "data_class: pii}", "keys[0].data_class", "unknown data class"},
		{"unknown field", "{id: m2, provider: p2}", "{id: m2, provider: p2, colour: blue}", "models[1].colour", "not found"},
		{"bad base url", `base_url: "http://127.0.0.1:1/v1"`, `base_url: "ftp//x"`, "providers[0].base_url", "not an http(s) URL"},
		{"empty route", "targets: [{model: m1, first_byte_timeout: 2s}, {model: m2}]", "targets: []", "routes[0].targets", "at least one target"},
		{"type error", "{id: m2, provider: p2}", "{id: m2, provider: p2, max_tokens: lots}", "models[1].max_tokens", "cannot unmarshal"},
		{"default above the output cap", "{id: m2, provider: p2}", "{id: m2, provider: p2, max_tokens: 20000, max_output_tokens: 16384}", "models[1].max_tokens", "above the model's max_output_tokens"},
		{"negative output cap", "{id: m2, provider: p2}", "{id: m2, provider: p2, max_output_tokens: -1}", "models[1].max_output_tokens", "negative"},
		{"unknown cache policy", "name: r1\n", "name: r1\n    prompt_cache: always\n", "routes[0].prompt_cache", `unknown policy "always"`},
		{"unknown default effort", "name: r1\n", "name: r1\n    reasoning: {default: extreme}\n", "routes[0].reasoning.default", `unknown effort "extreme"`},
		{"unknown max effort", "name: r1\n", "name: r1\n    reasoning: {max: xhigh}\n", "routes[0].reasoning.max", `unknown effort "xhigh"`},
		{"default above max", "name: r1\n", "name: r1\n    reasoning: {default: high, max: low}\n", "routes[0].reasoning.default", `above the route's max "low"`},
		{"unknown reasoning field", "name: r1\n", "name: r1\n    reasoning: {ceiling: low}\n", "routes[0].reasoning.ceiling", "not found"},
		{"negative one-hour write price", "price: {input: 1, output: 2}", "price: {input: 1, output: 2, cache_write_1h: -1}", "models[0].price", "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(base, tt.from) {
				t.Fatalf("test setup: %q not in base config", tt.from)
			}
			_, err := Parse([]byte(strings.Replace(base, tt.from, tt.to, 1)))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want a ValidationError", err)
			}
			for _, fe := range ve.Errors {
				if fe.Field == tt.wantField && strings.Contains(fe.Message, tt.wantSubstr) {
					return
				}
			}
			t.Errorf("errors = %v; want field %s with %q", err, tt.wantField, tt.wantSubstr)
		})
	}
}

func TestParseCachingPolicies(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(base, "name: r1\n", "name: r1\n    prompt_cache: auto\n    reasoning: {default: low, max: medium}\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Routes[0]; r.PromptCache != PromptCacheAuto || r.Reasoning == nil || r.Reasoning.Default != "low" || r.Reasoning.Max != "medium" {
		t.Errorf("route = %+v, %+v", r, r.Reasoning)
	}
}

func TestParseEmpty(t *testing.T) {
	if _, err := Parse(nil); err == nil {
		t.Error("an empty file parsed without error")
	}
}

// The example configurations shipped in infra/ must stay valid.
func TestInfraExamplesAreValid(t *testing.T) {
	paths, err := filepath.Glob("../../infra/config*.yaml")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no example configs found: %v", err)
	}
	for _, p := range paths {
		if _, err := LoadFile(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func TestOutputLimitAndCap(t *testing.T) {
	tests := []struct {
		name               string
		m                  Model
		wantLimit, wantCap int
	}{
		{"nothing set", Model{}, DefaultMaxTokens, 0},
		{"default only", Model{MaxTokens: 1000}, 1000, 0},
		{"cap above the default", Model{MaxOutputTokens: 16384}, DefaultMaxTokens, 16384},
		{"cap below the default", Model{MaxOutputTokens: 2048}, 2048, 2048},
		{"both", Model{MaxTokens: 8000, MaxOutputTokens: 8192}, 8000, 8192},
		{"a default above a cap the catalog filled in", Model{MaxTokens: 100000, MaxOutputTokens: 64000}, 64000, 64000},
	}
	for _, tt := range tests {
		if got, gotCap := tt.m.OutputLimit(), tt.m.OutputCap(); got != tt.wantLimit || gotCap != tt.wantCap {
			t.Errorf("%s: OutputLimit %d OutputCap %d, want %d %d", tt.name, got, gotCap, tt.wantLimit, tt.wantCap)
		}
	}
}
