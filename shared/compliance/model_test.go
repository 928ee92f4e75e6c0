package compliance

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"go.yaml.in/yaml/v3"
)

// Config is the part of the router's YAML schema the test uses, spelled as
// the documentation spells it. It is the test's own copy: the oracle must
// not read the configuration through the router's packages.
type Config struct {
	Providers   []Provider          `yaml:"providers" json:"providers"`
	Models      []Model             `yaml:"models" json:"models"`
	Routes      []Route             `yaml:"routes" json:"routes"`
	DataClasses map[string][]string `yaml:"data_classes" json:"data_classes"`
	Keys        []Key               `yaml:"keys" json:"keys"`
	Budgets     []TagBudget         `yaml:"budgets,omitempty" json:"budgets,omitempty"`
}

type Provider struct {
	Name       string   `yaml:"name" json:"name"`
	Type       string   `yaml:"type" json:"type"`
	BaseURL    string   `yaml:"base_url" json:"base_url"`
	Key        string   `yaml:"key" json:"key"`
	Compliance []string `yaml:"compliance,omitempty" json:"compliance,omitempty"`
	Timeout    string   `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

type Price struct {
	Input  float64 `yaml:"input" json:"input"`
	Output float64 `yaml:"output" json:"output"`
}

type Model struct {
	ID        string `yaml:"id" json:"id"`
	Provider  string `yaml:"provider" json:"provider"`
	Price     *Price `yaml:"price,omitempty" json:"price,omitempty"`
	MaxTokens int    `yaml:"max_tokens,omitempty" json:"max_tokens,omitempty"`
}

type Target struct {
	Model            string `yaml:"model" json:"model"`
	Timeout          string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	FirstByteTimeout string `yaml:"first_byte_timeout,omitempty" json:"first_byte_timeout,omitempty"`
	HedgeAfter       string `yaml:"hedge_after,omitempty" json:"hedge_after,omitempty"`
	Weight           int    `yaml:"weight,omitempty" json:"weight,omitempty"`
}

type Structured struct {
	OnInvalid string `yaml:"on_invalid" json:"on_invalid"`
}

type Route struct {
	Name       string      `yaml:"name" json:"name"`
	Strategy   string      `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	Require    []string    `yaml:"require,omitempty" json:"require,omitempty"`
	Targets    []Target    `yaml:"targets" json:"targets"`
	Timeout    string      `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Structured *Structured `yaml:"structured,omitempty" json:"structured,omitempty"`
}

type Downgrade struct {
	At    float64 `yaml:"at" json:"at"`
	Route string  `yaml:"route" json:"route"`
}

type Budget struct {
	MonthlyUSD float64    `yaml:"monthly_usd" json:"monthly_usd"`
	OnBudget   *Downgrade `yaml:"on_budget,omitempty" json:"on_budget,omitempty"`
}

type Key struct {
	ID        string            `yaml:"id" json:"id"`
	Hash      string            `yaml:"hash" json:"hash"`
	Routes    []string          `yaml:"routes,omitempty" json:"routes,omitempty"`
	Models    []string          `yaml:"models,omitempty" json:"models,omitempty"`
	DataClass string            `yaml:"data_class,omitempty" json:"data_class,omitempty"`
	Budget    *Budget           `yaml:"budget,omitempty" json:"budget,omitempty"`
	Tags      map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

type TagBudget struct {
	Tag        string     `yaml:"tag" json:"tag"`
	Value      string     `yaml:"value,omitempty" json:"value,omitempty"`
	MonthlyUSD float64    `yaml:"monthly_usd" json:"monthly_usd"`
	OnBudget   *Downgrade `yaml:"on_budget,omitempty" json:"on_budget,omitempty"`
}

// Case is one configuration and the requests sent to one router built
// from it, in order.
type Case struct {
	Cfg Config `json:"cfg"`
	// Dead names providers whose base_url refuses connections.
	Dead []string `json:"dead,omitempty"`
	// Parallel is how many requests are in flight at once (1: in order).
	Parallel int       `json:"parallel"`
	Reqs     []Request `json:"reqs"`
}

// Request is one HTTP request and what each upstream does with it.
type Request struct {
	Embeddings bool `json:"embeddings,omitempty"`
	// API is the surface of a chat request: "" for Chat Completions,
	// "responses" (OpenAI Responses) or "messages" (Anthropic Messages,
	// whose key goes in x-api-key).
	API    string `json:"api,omitempty"`
	Stream bool   `json:"stream,omitempty"`
	// Model is the body's model: a route name or a model id.
	Model string `json:"model"`
	// Auth holds one key id per Authorization field line.
	Auth []string `json:"auth"`
	// RouteHeader holds one value per x-router-route field line.
	RouteHeader []string `json:"route_header,omitempty"`
	// Classes holds one list per x-router-data-class field line.
	Classes [][]string `json:"classes,omitempty"`
	// Tags holds one value per x-router-tags field line.
	Tags      []string `json:"tags,omitempty"`
	JSON      bool     `json:"json,omitempty"`
	MaxTokens int      `json:"max_tokens,omitempty"`
	// Script is, per provider, what its successive attempts of this request
	// get; past the end, an answer.
	Script map[string][]outcome `json:"script,omitempty"`
}

func (c *Case) clone() *Case {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	out := new(Case)
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

func (c *Case) dead(provider string) bool { return slices.Contains(c.Dead, provider) }

func (c *Config) yaml() []byte {
	b, err := yaml.Marshal(c)
	if err != nil {
		panic(err)
	}
	return b
}

func (c *Config) provider(name string) *Provider {
	for i := range c.Providers {
		if c.Providers[i].Name == name {
			return &c.Providers[i]
		}
	}
	return nil
}

func (c *Config) model(id string) *Model {
	for i := range c.Models {
		if c.Models[i].ID == id {
			return &c.Models[i]
		}
	}
	return nil
}

func (c *Config) route(name string) *Route {
	for i := range c.Routes {
		if c.Routes[i].Name == name {
			return &c.Routes[i]
		}
	}
	return nil
}

func (c *Config) key(id string) *Key {
	for i := range c.Keys {
		if c.Keys[i].ID == id {
			return &c.Keys[i]
		}
	}
	return nil
}

// targetProviders names the providers of a route's targets.
func (c *Config) targetProviders(r *Route) []string {
	var out []string
	for _, t := range r.Targets {
		if m := c.model(t.Model); m != nil && !slices.Contains(out, m.Provider) {
			out = append(out, m.Provider)
		}
	}
	return out
}

// The documented data classes.
func dataClasses() map[string][]string {
	return map[string][]string{"phi": {"hipaa"}, "eu": {"gdpr"}, "internal": {}}
}

// token is the bearer token of key id; the configuration holds its hash.
func token(id string) string { return "sk-test-" + id }

func keyHash(id string) string {
	sum := sha256.Sum256([]byte(token(id)))
	return "sha256:" + hex.EncodeToString(sum[:])
}
