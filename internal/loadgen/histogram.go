package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// Histogram records latencies in microseconds in log-linear buckets (as
// HdrHistogram does): 64 linear sub-buckets per power of two, so any
// recorded value is reported within 1/64 (1.6%) of its true value. It is not
// safe for concurrent use; merge per-worker histograms with Merge.
type Histogram struct {
	counts [64 * 64]uint64
	n      uint64
	sum    float64
	max    uint64
}

const subBits = 6 // 64 sub-buckets

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - subBits // >= 1
	return e<<subBits | int(v>>(e-1))&(1<<subBits-1)
}

// lowOf is the smallest value that falls in bucket i.
func lowOf(i int) uint64 {
	e, sub := i>>subBits, uint64(i&(1<<subBits-1))
	if e == 0 {
		return sub
	}
	return (1<<subBits | sub) << (e - 1)
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d.Microseconds(), 0))
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += float64(v)
	h.max = max(h.max, v)
}

// Merge adds o's counts into h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is how many values were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest value recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) * time.Microsecond }

// Mean is the average value recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum/float64(h.n)) * time.Microsecond
}

// Quantile returns the value at quantile q (0..1): the lower edge of the
// bucket holding the ceil(q*n)-th smallest value.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(lowOf(i), h.max)) * time.Microsecond
		}
	}
	return h.Max()
}
