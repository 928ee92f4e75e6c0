package wiring

import (
	"log/slog"
	"time"

	"github.com/llm-router/router/shared/limits"
	"github.com/llm-router/router/shared/store/dynamo"
)

// limitsFlushTimeout bounds the limit bookkeeping at the end of a Lambda
// invocation (usually nothing to write).
const limitsFlushTimeout = 2 * time.Second

// wireLimits gives the gateway its limiter: counters in the state table with
// the DynamoDB store, shared by every instance; in memory with the file store
// (one process, whose counts are then exact and free, so it claims per
// request).
func (r *Router) wireLimits(s Settings, log *slog.Logger) {
	r.Limits = &limits.Limiter{Log: log}
	if r.Source != nil {
		r.Limits.Counters = &dynamo.StateStore{DB: r.Source.DB, Table: s.StateTable}
	} else {
		r.Limits.Counters = &limits.Memory{}
		r.Limits.LeaseFor = -1
	}
	r.Gateway.Limiter = r.Limits
}
