package loadgen

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinPrecision(t *testing.T) {
	var h Histogram
	rng := rand.New(rand.NewPCG(7, 7))
	var vals []int64
	for i := 0; i < 100000; i++ {
		v := int64(rng.ExpFloat64()*2000) + 50 // µs, long tail
		vals = append(vals, v)
		h.Record(time.Duration(v) * time.Microsecond)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.Quantile(q).Microseconds()
		if got > want || float64(want-got) > float64(want)/64+1 {
			t.Errorf("p%v = %dµs, want %dµs within 1/64", q*100, got, want)
		}
	}
	if h.Count() != 100000 || h.Max().Microseconds() != vals[len(vals)-1] {
		t.Errorf("count %d max %v", h.Count(), h.Max())
	}
}

func TestBucketEdges(t *testing.T) {
	for _, v := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 1 << 20, 1<<40 + 12345} {
		b := bucketOf(v)
		if lo := lowOf(b); lo > v || (b+1 < len(Histogram{}.counts) && lowOf(b+1) <= v) {
			t.Errorf("value %d in bucket %d [%d, %d)", v, b, lo, lowOf(b+1))
		}
	}
}
