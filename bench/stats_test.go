//go:build unix && statscost

package main

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/chans"
)

// BenchmarkHotPath measures the paths that Stats and tracking must not slow
// down while tracking is off (issue 16: at most 2%). It uses only API that
// predates Stats, so the same file builds against the commit before them:
// build both test binaries with `go test -tags statscost -c`, run them in
// turn (-test.bench HotPath -test.count 1, six or more times each,
// alternating) and compare the two outputs with benchstat.
// docs/STATS-COST.md has the figures and the exact commands.
//
// The build tag keeps it out of the report harness (`go run .`), which runs
// and describes every benchmark of the package: this one compares two
// commits of ours, not ours with a baseline.
func BenchmarkHotPath(b *testing.B) {
	bg := context.Background()
	b.Run("path=LockAcquire", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			// Uncontended Acquire(Background) + receive + Release: the one-CAS
			// fast path both ways.
			var l chans.Lock
			b.ReportAllocs()
			for b.Loop() {
				release := <-l.Acquire(bg)
				release()
			}
		})
	})
	b.Run("path=LockAcquireWait", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			var l chans.Lock
			b.ReportAllocs()
			for b.Loop() {
				release, _ := l.AcquireWait(bg)
				release()
			}
		})
	})
	b.Run("path=LockAcquireGuard", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			var l chans.Lock
			b.ReportAllocs()
			for b.Loop() {
				g, _ := l.AcquireGuard(bg)
				g.Release()
			}
		})
	})
	b.Run("path=SemaphoreAcquireNWait", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			s := chans.NewSemaphore(4)
			b.ReportAllocs()
			for b.Loop() {
				release, _ := s.AcquireNWait(bg, 2)
				release()
			}
		})
	})
	b.Run("path=RWLockReadWait", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			var l chans.RWLock
			b.ReportAllocs()
			for b.Loop() {
				release, _ := l.AcquireReadWait(bg)
				release()
			}
		})
	})
	b.Run("path=QueueTryPutTryGet", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			q := chans.NewQueue[int](64)
			b.ReportAllocs()
			for b.Loop() {
				_ = q.TryPut(1)
				_, _ = q.TryGet()
			}
		})
	})
	b.Run("path=QueuePutWaitGetWait", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			q := chans.NewQueue[int](64)
			b.ReportAllocs()
			for b.Loop() {
				_ = q.PutWait(bg, 1)
				_, _ = q.GetWait(bg)
			}
		})
	})
	b.Run("path=QueuePutGetCtx", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			// A cancellable ctx: Get is granted at once but kept in doubt
			// (the waitq's now, under the mutex), the path that pays a timestamp
			// only when tracked.
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			q := chans.NewQueue[int](64)
			b.ReportAllocs()
			for b.Loop() {
				<-q.Put(ctx, 1)
				<-q.Get(ctx)
			}
		})
	})
	b.Run("path=LockContended", func(b *testing.B) {
		measure(b, func(b *testing.B) {
			// Not a fast path: every acquire queues and is handed off, which
			// costs one clock read per queued caller (its Waiter.Age).
			var l chans.Lock
			var wg sync.WaitGroup
			const workers = 8
			n := b.N / workers
			b.ResetTimer()
			for range workers {
				wg.Go(func() {
					for range n {
						release, _ := l.AcquireWait(bg)
						release()
					}
				})
			}
			wg.Wait()
		})
	})
}

// cpuTime is the CPU time the process has used, user and system. On a
// machine shared with other work, wall time per op moves with every other
// process's load, while CPU time per op moves much less: each sub-benchmark
// reports both, as sec/op and cpu-ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs body as the benchmark and reports its CPU time per op.
func measure(b *testing.B, body func(b *testing.B)) {
	start := cpuTime()
	body(b)
	if b.N > 0 {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}
