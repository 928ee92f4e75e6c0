// Package respcache keeps the answers of routes that cache them (a route's
// cache:), under a hash of the request the gateway computes: Memory is an
// LRU for the local server, cachetable a DynamoDB table for AWS. Only the
// answer and its usage are kept, never the request.
package respcache

import (
	"context"
	"time"

	"github.com/llm-router/router/shared/llm"
)

// Entry is one cached answer.
type Entry struct {
	// Body is the chat.completion JSON the answer was, before any surface
	// rendered it; it is shared, never modified.
	Body  []byte
	Usage llm.Usage
	// Model and Provider name the target that wrote the answer.
	Model, Provider string
	// CostUSD is what the answer cost when it was made: what a hit saves.
	CostUSD float64
	// Expires is when the entry stops being served.
	Expires time.Time
}

// MaxBody is the largest answer cached. A DynamoDB item holds at most
// 400 KB, attribute names included (counted here as 400,000 bytes, the
// stricter reading); the entry's other attributes take far less than the
// 2 KiB left for them. Larger answers are not cached, by either store, so
// the local server behaves as the deployed one does.
const MaxBody = 400_000 - 2<<10

// Store holds entries by key.
type Store interface {
	// Get returns the entry under key, or nil when there is none or it has
	// expired at now.
	Get(ctx context.Context, key string, now time.Time) (*Entry, error)
	// Put keeps e under key, replacing any entry there. A store may write
	// it later (cachetable writes once the answer has gone); an entry it
	// cannot hold (Body over MaxBody) is skipped.
	Put(ctx context.Context, key string, e *Entry) error
}
