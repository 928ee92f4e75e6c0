package cost_test

import (
	"testing"

	"github.com/llm-router/router/shared/cost"
)

// BenchmarkDefaultCatalog is what parsing the compiled-in catalog adds to a
// router's start (once per process; on Lambda, once per execution environment).
func BenchmarkDefaultCatalog(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cost.DefaultCatalog(); err != nil {
			b.Fatal(err)
		}
	}
}
