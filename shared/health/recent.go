package health

import (
	"slices"
	"time"
)

// recentSize is how many of a target's latest attempts its recent p90 and
// error rate are computed over: enough for a p90 that one outlier does not
// move, few enough to follow a change within a minute of busy traffic.
const recentSize = 64

// recent is a ring of a target's latest attempts with a verdict (neutral
// outcomes, such as the client leaving, are not counted).
type recent struct {
	lat    [recentSize]float64 // ms; for failures, the time they took
	failed [recentSize]bool
	n      int // samples held, at most recentSize
	next   int
	// p90 caches the percentile until the next sample; -1 when stale.
	p90 float64
}

func (r *recent) add(ms float64, failed bool) {
	r.lat[r.next], r.failed[r.next] = ms, failed
	r.next = (r.next + 1) % recentSize
	r.n = min(r.n+1, recentSize)
	r.p90 = -1
}

// percentile90 is the 90th percentile of the successful attempts' latencies
// (a fast failure is not a fast answer), and whether there is one.
func (r *recent) percentile90() (float64, bool) {
	if r.p90 >= 0 {
		return r.p90, r.p90 > 0
	}
	var buf [recentSize]float64
	ok := buf[:0]
	for i := 0; i < r.n; i++ {
		if !r.failed[i] {
			ok = append(ok, r.lat[i])
		}
	}
	if len(ok) == 0 {
		r.p90 = 0
		return 0, false
	}
	slices.Sort(ok)
	r.p90 = ok[(len(ok)*9+9)/10-1]
	return r.p90, true
}

func (r *recent) errorRate() (float64, bool) {
	if r.n == 0 {
		return 0, false
	}
	bad := 0
	for i := 0; i < r.n; i++ {
		if r.failed[i] {
			bad++
		}
	}
	return float64(bad) / float64(r.n), true
}

// P90 is the 90th-percentile latency of the target's recent successful
// attempts (time to first byte), for conditional targets
// (when: p90_latency_below). Without live attempts it is the latest
// benchmark run's, if any.
func (v *View) P90(provider, model string) (time.Duration, bool) {
	if s := v.get(target{provider, model}); s != nil {
		s.mu.Lock()
		p, ok := s.recent.percentile90()
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
		r, ok := s.recent.errorRate()
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
