package pg

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
)

// impls returns both queues on one pool, in the order benchmarks run them.
func impls(tb testing.TB) []struct {
	name string
	impl impl
} {
	pool := newPool(tb)
	return []struct {
		name string
		impl impl
	}{
		{"impl=turnstile", newTurnstile(tb, pool)},
		{"impl=river", newRiver(tb, pool)},
	}
}

// drain runs workers on q until n items were seen, and returns how long
// that took.
func drain(tb testing.TB, q impl, workers, n int) time.Duration {
	ctx := context.Background()
	var count atomic.Int64
	all := make(chan struct{})
	start := time.Now()
	stop, err := q.run(ctx, workers, func(time.Time) {
		if count.Add(1) == int64(n) {
			close(all)
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		tb.Fatalf("only %d of %d items after 5 minutes", count.Load(), n)
	}
	elapsed := time.Since(start)
	stop()
	return elapsed
}

// BenchmarkThroughput: b.N items loaded beforehand, then taken and done by
// 1 or 8 workers in one process; items/s is b.N over the time from starting
// the workers to the last item seen.
func BenchmarkThroughput(b *testing.B) {
	for _, im := range impls(b) {
		for _, workers := range []int{1, 8} {
			b.Run(im.name+"/workers="+strconv.Itoa(workers), func(b *testing.B) {
				ctx := context.Background()
				if err := im.impl.reset(ctx); err != nil {
					b.Fatal(err)
				}
				if err := im.impl.load(ctx, b.N); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				elapsed := drain(b, im.impl, workers, b.N)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "items/s")
			})
		}
	}
}

// BenchmarkLatency: one item at a time, put by the benchmark and taken by a
// waiting worker (woken by LISTEN/NOTIFY on both sides); p50 and p99 of the
// time from the put's call to the worker holding the item.
func BenchmarkLatency(b *testing.B) {
	for _, im := range impls(b) {
		b.Run(im.name, func(b *testing.B) {
			ctx := context.Background()
			if err := im.impl.reset(ctx); err != nil {
				b.Fatal(err)
			}
			got := make(chan time.Duration, 1)
			stop, err := im.impl.run(ctx, 1, func(put time.Time) { got <- time.Since(put) })
			if err != nil {
				b.Fatal(err)
			}
			defer stop()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				if err := im.impl.put(ctx); err != nil {
					b.Fatal(err)
				}
				select {
				case d := <-got:
					lat = append(lat, d)
				case <-time.After(time.Minute):
					b.Fatal("an item put was not seen within a minute")
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// TestBothDeliver checks the harness itself on a few items, so that the
// benchmarks measure queues that work: every item loaded is seen exactly
// once by each implementation, and a put is seen by a waiting worker.
func TestBothDeliver(t *testing.T) {
	for _, im := range impls(t) {
		t.Run(im.name, func(t *testing.T) {
			is := is.New(t)
			ctx := context.Background()
			is.NoErr(im.impl.reset(ctx))
			is.NoErr(im.impl.load(ctx, 50))
			drain(t, im.impl, 4, 50)
			var mu sync.Mutex
			var seen []time.Duration
			got := make(chan struct{}, 1)
			stop, err := im.impl.run(ctx, 1, func(put time.Time) {
				mu.Lock()
				seen = append(seen, time.Since(put))
				mu.Unlock()
				got <- struct{}{}
			})
			is.NoErr(err)
			is.NoErr(im.impl.put(ctx))
			select {
			case <-got:
			case <-time.After(time.Minute):
				t.Fatal("a put was not seen")
			}
			stop()
			is.Equal(len(seen), 1)
		})
	}
}
