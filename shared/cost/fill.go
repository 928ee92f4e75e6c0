package cost

import (
	"fmt"
	"slices"
	"strings"

	"github.com/llm-router/router/shared/config"
)

// Pricer gives a model's list price and output cap: its configured ones,
// else the catalog's, else nil and 0 (Catalog is one).
type Pricer interface {
	Price(p *config.Provider, m *config.Model) *config.Price
	OutputCap(p *config.Provider, m *config.Model) int
}

// Fill is cfg with a price and an output cap for every model: its own, else
// the catalog's (p, which may be nil); a price, failing both, only for the
// simulated provider, zero (a simulator bills nothing). A model left without
// a price is an error that names it, never a silent $0: price: {input: 0,
// output: 0} declares a free model (self-hosted). Routers refuse such a
// configuration, and the seed and keys tools check it the same way before
// writing it. cfg itself is left as it is; when nothing was filled in it is
// returned as it is.
func Fill(cfg *config.Config, p Pricer) (*config.Config, error) {
	var models []config.Model
	var missing []string
	for i := range cfg.Models {
		m := &cfg.Models[i]
		var prov *config.Provider
		for j := range cfg.Providers {
			if cfg.Providers[j].Name == m.Provider {
				prov = &cfg.Providers[j]
			}
		}
		// The catalog's output cap, where the configuration sets none, so
		// max_tokens is clamped and reserved at what the model can write.
		if m.MaxOutputTokens == 0 && prov != nil && p != nil {
			if n := p.OutputCap(prov, m); n > 0 {
				if models == nil {
					models = slices.Clone(cfg.Models)
				}
				models[i].MaxOutputTokens = n
			}
		}
		if m.Price != nil {
			continue
		}
		var price *config.Price
		switch {
		case prov == nil:
		case p != nil && p.Price(prov, m) != nil:
			price = p.Price(prov, m)
		case prov.Type == config.TypeMock:
			price = &config.Price{}
		}
		if price == nil {
			missing = append(missing, fmt.Sprintf("models[%d] (%s)", i, m.ID))
			continue
		}
		if models == nil {
			models = slices.Clone(cfg.Models)
		}
		models[i].Price = price
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no price in the configuration or the pricing catalog; give each a price (price: {input: 0, output: 0} for a free model)",
			strings.Join(missing, ", "))
	}
	if models == nil {
		return cfg, nil
	}
	out := *cfg
	out.Models = models
	return &out, nil
}
