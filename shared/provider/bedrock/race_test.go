package bedrock_test

import (
	"context"
	"testing"

	"github.com/llm-router/router/shared/llm"
)

// TestNoClosedConnectionRace is a regression test for the SDK/net/http race
// awshttp.Guard works around. It can only catch it by chance: without the
// guard, about one run in four under -race failed here with "use of closed
// network connection" on a fresh connection.
func TestNoClosedConnectionRace(t *testing.T) {
	for i := range 200 {
		p, _ := newAdapter(t)
		_, err := p.(llm.Embedder).Embed(context.Background(), &llm.EmbeddingRequest{
			Input: []string{"hello world", "x y"}, Model: "titan", Upstream: titan})
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
	}
}
