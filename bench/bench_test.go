package main

// The benchmarks. Each Benchmark function measures one operation, with ours
// as the sub-benchmark impl=chans and each baseline beside it (impl=chanmutex,
// impl=xsync, impl=chan, impl=reflect, impl=errgroup...), so that
//
//	go test -run '^$' -bench . -count 10 > new.txt
//	go tool benchstat -col /impl new.txt
//
// compares them. `go run .` runs the same functions, interleaved, and checks
// the targets (targets.go). Quantities that are not a time per op (heap bytes
// per waiter, wake-up latency, goroutines started) are b.ReportMetric units.
//
// This file holds what the benchmark files share.

import (
	"context"
	"flag"
	"runtime/metrics"
	"testing"
)

// crowdSize is the number of goroutines parked at once by the crowd
// benchmarks; the harness's quick mode and its test make it small.
var crowdSize = flag.Int("crowd", 100_000, "goroutines parked at once in BenchmarkCrowd and BenchmarkWakeAll")

// A chanMutex is the classic Go idiom for a lock that composes with select:
// a channel of capacity one, full while the lock is held.
type chanMutex chan struct{}

func newChanMutex() chanMutex { return make(chanMutex, 1) }
func (m chanMutex) lock()     { m <- struct{}{} }
func (m chanMutex) unlock()   { <-m }

// A locker is one lock of a contended benchmark: lock blocks until the
// caller holds it and returns its unlock.
type locker func() (unlock func())

// contended runs lock/unlock pairs from 4×GOMAXPROCS goroutines around a
// shared counter, then checks the counter: a lock that let two holders in
// would lose increments (and fail under -race).
func contended(b *testing.B, lock locker) {
	n := 0
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			unlock := lock()
			n++
			unlock()
		}
	})
	if n != b.N {
		b.Fatalf("counter is %d after %d locked increments", n, b.N)
	}
}

// created is the number of goroutines the program has started so far.
func created() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// reportGoroutines reports how many goroutines were started per op since
// before, which was taken with created() when the timed loop began.
func reportGoroutines(b *testing.B, before uint64) {
	b.ReportMetric(float64(created()-before)/float64(b.N), "goroutines/op")
}

// bg is the ctx of the benchmarks that never end a wait early.
var bg = context.Background()
