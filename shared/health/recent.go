package health

import (
	"slices"
	"time"
)

// recentSize is how many of a target's latest attempts its recent p90 and
// error rate are computed over: enough for a p90 that one outlier does not
// move, few enough to follow a change within a minute of busy traffic.
const recentSize = 64

// recentWindow is how long a sample counts. A target a condition keeps out
// gets no traffic to show it recovered: once its samples are this old it
// has no figures, its condition is not held against it, and the next
// requests measure it again (its chat probes, meanwhile, add samples).
const recentWindow = 2 * time.Minute

// recent is a ring of a target's latest attempts with a verdict (neutral
// outcomes, such as the client leaving, are not counted).
type recent struct {
	lat    [recentSize]float64 // ms; for failures, the time they took
	failed [recentSize]bool
	at     [recentSize]int64 // Unix nanoseconds
	n      int               // samples held, at most recentSize
	next   int
	// p90 caches the percentile until the next sample or until the oldest
	// counted sample expires; -1 when stale.
	p90      float64
	p90Until int64
}

func (r *recent) add(now time.Time, ms float64, failed bool) {
	r.lat[r.next], r.failed[r.next], r.at[r.next] = ms, failed, now.UnixNano()
	r.next = (r.next + 1) % recentSize
	r.n = min(r.n+1, recentSize)
	r.p90 = -1
}

// live reports whether sample i still counts at now.
func (r *recent) live(i int, now int64) bool { return now-r.at[i] < int64(recentWindow) }

// percentile90 is the 90th percentile of the successful attempts' latencies
// (a fast failure is not a fast answer), and whether there is one.
func (r *recent) percentile90(now time.Time) (float64, bool) {
	t := now.UnixNano()
	if r.p90 >= 0 && t < r.p90Until {
		return r.p90, r.p90 > 0
	}
	var buf [recentSize]float64
	ok := buf[:0]
	oldest := t
	for i := 0; i < r.n; i++ {
		if !r.failed[i] && r.live(i, t) {
			ok = append(ok, r.lat[i])
			oldest = min(oldest, r.at[i])
		}
	}
	r.p90Until = oldest + int64(recentWindow)
	if len(ok) == 0 {
		r.p90 = 0
		return 0, false
	}
	slices.Sort(ok)
	r.p90 = ok[(len(ok)*9+9)/10-1]
	return r.p90, true
}

func (r *recent) errorRate(now time.Time) (float64, bool) {
	t := now.UnixNano()
	bad, n := 0, 0
	for i := 0; i < r.n; i++ {
		if !r.live(i, t) {
			continue
		}
		n++
		if r.failed[i] {
			bad++
		}
	}
	if n == 0 {
		return 0, false
	}
	return float64(bad) / float64(n), true
}

// P90 is the 90th-percentile latency of the target's recent successful
// attempts (time to first byte), for conditional targets
// (when: p90_latency_below). Without live attempts it is the latest
// benchmark run's, if any.
func (v *View) P90(provider, model string) (time.Duration, bool) {
	if s := v.get(target{provider, model}); s != nil {
		s.mu.Lock()
		p, ok := s.recent.percentile90(v.now())
		s.mu.Unlock()
		if ok {
			return durationOfMs(p), true
		}
	}
	if b, ok := v.benchmark(provider, model); ok && b.P90Ms > 0 {
		return durationOfMs(b.P90Ms), true
	}
	return 0, false
}

// ErrorRate is the share of the target's recent attempts that failed, for
// conditional targets (when: error_rate_below). Without live attempts it is
// the latest benchmark run's, if any.
func (v *View) ErrorRate(provider, model string) (float64, bool) {
	if s := v.get(target{provider, model}); s != nil {
		s.mu.Lock()
		r, ok := s.recent.errorRate(v.now())
		s.mu.Unlock()
		if ok {
			return r, true
		}
	}
	if b, ok := v.benchmark(provider, model); ok && b.Requests > 0 {
		return b.ErrorRate, true
	}
	return 0, false
}
