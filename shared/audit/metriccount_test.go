package audit_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/llm-router/router/shared/audit"
	"github.com/llm-router/router/shared/benchmark"
	"github.com/llm-router/router/shared/config"
)

// metricCount is the most CloudWatch custom metrics a configuration can
// create: each metric name times each value its dimension sets can take.
// Route takes the routes, the model ids (a key may call a model directly)
// and none; [Model, Provider] the models and none; a tag dimension its
// allowed values, other and untagged. FailedAttempts is per model,
// HealthTargets per status, the audit table and config refresh failure
// counters one each, and the cache metrics one each per route that caches.
func metricCount(c *config.Config) (perName, total int) {
	perName = len(c.Routes) + len(c.Models) + 1 // [Route]
	perName += len(c.Models) + 1                // [Model, Provider]
	for _, vals := range c.DimensionValues() {
		perName += len(vals) + 2 // listed values, other, untagged
	}
	cached := 0
	for _, r := range c.Routes {
		if r.Cache != nil {
			cached++
		}
	}
	total = len(audit.RequestMetrics())*perName + len(c.Models) + 3 + 2 + len(audit.CacheMetrics())*cached
	return perName, total
}

// docs/OPERATIONS.md states what the example configuration's metrics cost;
// this holds the number to the code.
func TestExampleConfigMetricCount(t *testing.T) {
	c, err := config.LoadFile("../../infra/config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	perName, total := metricCount(c)
	doc, err := os.ReadFile("../../docs/OPERATIONS.md")
	if err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, r := range c.Routes {
		for _, tg := range r.Targets {
			routed[tg.Model] = true
		}
	}
	for _, want := range []string{
		fmt.Sprintf("**%d benchmark metrics**", len(benchmark.Metrics())*len(routed)),
		fmt.Sprintf("the example's %d routed models", len(routed)),
		fmt.Sprintf("%d values per metric name", perName),
		fmt.Sprintf("**%d custom metrics**", total),
		fmt.Sprintf("%d × 0.30 = %.2f USD", total, float64(total)*0.30),
	} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("docs/OPERATIONS.md does not say %q (infra/config.example.yaml: %d routes, %d models, tag values %v)",
				want, len(c.Routes), len(c.Models), c.DimensionValues())
		}
	}
}
