package wiring

import (
	"context"
	"errors"
	"sync"
	"time"
)

// bookkeeping is what a Lambda invocation owes once its answer has been
// sent (lambdaapi.Answer.Close runs it before the runtime polls again): a
// frozen execution environment runs no background goroutine, so the audit
// lines, the audit table, the response cache's new answers, the health view
// and the limit counters are written now. The stdout lines go first, always:
// they are the record of last resort. The DynamoDB writes then run side by
// side, each within its own bound and ctx (the invocation's remaining time),
// so slow DynamoDB costs the invocation the slowest of them, never the
// client.
func (r *Router) bookkeeping(ctx context.Context) error {
	err := r.Audit.Flush()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs = []error{err}
	)
	run := func(limit time.Duration, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fctx, cancel := context.WithTimeout(ctx, limit)
			defer cancel()
			if err := f(fctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	if r.AuditTable != nil {
		// The sink bounds its own write (audittable.DefaultFlushTimeout).
		run(auditTableFlushLimit, func(context.Context) error { return r.AuditTable.Flush() })
	}
	if r.ResponseCache != nil {
		// The table bounds its own writes (cachetable.DefaultFlushTimeout).
		run(auditTableFlushLimit, func(context.Context) error { return r.ResponseCache.Flush() })
	}
	run(healthFlushTimeout, r.Health.Flush)
	run(limitsFlushTimeout, r.Limits.Flush)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// Out of the invocation's time: a write still under way resumes
		// when the environment next thaws, and what fails is retried by the
		// next invocation's bookkeeping.
		mu.Lock()
		errs = append(errs, ctx.Err())
		mu.Unlock()
	}
	mu.Lock()
	defer mu.Unlock()
	return errors.Join(errs...)
}

// auditTableFlushLimit is only for the wait: the audit table sink and the
// cache table bound their writes themselves.
const auditTableFlushLimit = time.Minute
