package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histogram records durations in log-linear buckets (32 per power of two, so a quantile is off by
// at most ~3%) with lock-free adds, so many reader goroutines can record into one.
type histogram struct {
	buckets [histBuckets]atomic.Uint64
	count   atomic.Uint64
	max     atomic.Int64
}

const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histExact   = 2 * histSub // values below this get a bucket each
	histBuckets = histExact + (64-histSubBits-1)*histSub
)

func histIndex(v uint64) int {
	if v < histExact {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - histSubBits
	sub := int(v>>shift) - histSub
	return histExact + (shift-1)*histSub + sub
}

// histLower is the smallest value that falls into bucket i.
func histLower(i int) uint64 {
	if i < histExact {
		return uint64(i)
	}
	shift := (i-histExact)/histSub + 1
	sub := (i - histExact) % histSub
	return uint64(histSub+sub) << shift
}

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[histIndex(uint64(d))].Add(1)
	h.count.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// Quantiles summarises a histogram in milliseconds.
type Quantiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *histogram) quantiles() Quantiles {
	var counts [histBuckets]uint64
	var total uint64
	for i := range counts {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	q := Quantiles{Count: total, Max: ms(time.Duration(h.max.Load()))}
	if total == 0 {
		return q
	}
	at := func(p float64) float64 {
		rank := uint64(p*float64(total-1)) + 1
		var seen uint64
		for i, c := range counts {
			seen += c
			if seen >= rank {
				// The bucket's midpoint, capped by the true maximum.
				mid := (histLower(i) + histLower(i+1)) / 2
				return min(ms(time.Duration(mid)), q.Max)
			}
		}
		return q.Max
	}
	q.P50, q.P90, q.P99 = at(0.50), at(0.90), at(0.99)
	return q
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
