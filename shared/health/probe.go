package health

import (
	"context"
	"strconv"

	"github.com/llm-router/router/shared/config"
	"github.com/llm-router/router/shared/llm"
)

// probe is one check of a round: a provider, the models its result is
// written for, and how to run it.
type probe struct {
	provider *config.Provider
	// models are the items the result is written to: all the provider's
	// models for a models probe, one model for a chat probe.
	models []*config.Model
	kind   string
	run    func(ctx context.Context) error
}

// ProbeKind is the probe a provider gets: its probe setting, else the
// cheapest honest one for its type. Listing models proves the endpoint
// answers and accepts the key, for free; bedrock's runtime has no listing
// (and its access is granted per model), and an adapter that cannot list
// is checked with a one-token completion.
func ProbeKind(p *config.Provider, adapter llm.Provider) string {
	if p.Probe != "" {
		return p.Probe
	}
	if p.Type == config.TypeBedrock {
		return ProbeChat
	}
	if _, ok := adapter.(llm.Prober); !ok {
		return ProbeChat
	}
	return ProbeModels
}

// plan lists a configuration's probes: one per provider for a models
// probe, one per model for a chat probe. Providers without models are not
// probed: nothing routes to them.
func plan(cfg *config.Config, adapters map[string]llm.Provider) []probe {
	byProvider := make(map[string][]*config.Model, len(cfg.Providers))
	for i := range cfg.Models {
		m := &cfg.Models[i]
		byProvider[m.Provider] = append(byProvider[m.Provider], m)
	}
	var out []probe
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		models := byProvider[p.Name]
		adapter := adapters[p.Name]
		if len(models) == 0 || adapter == nil {
			continue
		}
		kind := ProbeKind(p, adapter)
		prober, canProbe := adapter.(llm.Prober)
		if kind == ProbeModels && canProbe {
			upstream := models[0].UpstreamName()
			out = append(out, probe{provider: p, models: models, kind: kind,
				run: func(ctx context.Context) error { return prober.Probe(ctx, upstream) }})
			continue
		}
		for _, m := range models {
			run := func(ctx context.Context) error { return chatProbe(ctx, adapter, m) }
			if canProbe && (p.Type == config.TypeAzure || p.Type == config.TypeBedrock) {
				// Their own probe is the chat one (azure with probe: chat;
				// bedrock always), and knows their quirks: Titan embedding
				// models, Azure's deployment paths.
				upstream := m.UpstreamName()
				run = func(ctx context.Context) error { return prober.Probe(ctx, upstream) }
			}
			out = append(out, probe{provider: p, models: []*config.Model{m}, kind: ProbeChat, run: run})
		}
	}
	return out
}

// chatProbe sends a one-token completion through the adapter, the same path
// live requests take: it proves the model itself answers, for the price of a
// few tokens.
func chatProbe(ctx context.Context, adapter llm.Provider, m *config.Model) error {
	body := []byte(`{"model":` + strconv.Quote(m.ID) + `,"messages":[{"role":"user","content":"ping"}],"max_completion_tokens":1}`)
	chat, err := llm.ParseChat(body)
	if err != nil {
		return err
	}
	_, err = adapter.Chat(ctx, &llm.Request{Chat: chat, Body: body, Model: m.ID, Upstream: m.UpstreamName(), MaxTokens: 1})
	return err
}
