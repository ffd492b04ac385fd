package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/semaphore"
)

// The crowd benchmarks park -crowd goroutines (10^5 by default) on one
// primitive at once. One op is one crowd: park them all, measure, let them
// all go, wait until every one has returned; the time per op says little.
// The metrics:
//   - B/waiter: the growth of the live heap (after a GC) per parked
//     goroutine, above that of a bare goroutine parked on a channel receive,
//     measured in the same benchmark: what the wait itself costs.
//   - free-ns/waiter: from the call that frees the crowd (cancelling its
//     ctx, a release, Set, close) until every goroutine has returned,
//     divided by the crowd's size.
//   - free-goroutines/op: goroutines started between that call and the
//     last return, beyond the crowd's own.

// A crowd makes a fresh primitive and returns what each of its goroutines
// runs, which must block until free is called, and free. A crowd that
// waits with ctx frees its waiters with cancel, which ends ctx.
type crowd func(ctx context.Context, cancel context.CancelFunc) (park, free func())

// BenchmarkCrowd: goroutines queued on one held Lock, each in <-Acquire, all
// with one shared cancellable ctx (ctx=cancel; freed by cancelling it: every
// waiter must come back empty) or with Background (ctx=background; freed by
// releasing the lock, which then passes down the line). Baselines: x/sync's
// Weighted.Acquire(ctx, 1), and a channel-mutex send in a select on
// ctx.Done(), the way a cancellable channel lock is written by hand.
func BenchmarkCrowd(b *testing.B) {
	b.Run("ctx=cancel/impl=chans", func(b *testing.B) { runCrowd(b, lockCrowd(true)) })
	b.Run("ctx=cancel/impl=xsync", func(b *testing.B) { runCrowd(b, xsyncCrowd(true)) })
	b.Run("ctx=cancel/impl=chanmutex", func(b *testing.B) { runCrowd(b, chanMutexCrowd(true)) })
	b.Run("ctx=background/impl=chans", func(b *testing.B) { runCrowd(b, lockCrowd(false)) })
	b.Run("ctx=background/impl=xsync", func(b *testing.B) { runCrowd(b, xsyncCrowd(false)) })
	b.Run("ctx=background/impl=chanmutex", func(b *testing.B) { runCrowd(b, chanMutexCrowd(false)) })
}

// BenchmarkWakeAll: goroutines waiting on Event.Wait, woken by one Set,
// against the same on a channel woken by close.
func BenchmarkWakeAll(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		runCrowd(b, func(context.Context, context.CancelFunc) (func(), func()) {
			var e chans.Event
			return func() { <-e.Wait() }, e.Set
		})
	})
	b.Run("impl=chan", func(b *testing.B) { runCrowd(b, bareCrowd) })
}

func lockCrowd(cancellable bool) crowd {
	return func(ctx context.Context, cancel context.CancelFunc) (func(), func()) {
		var l chans.Lock
		hold, _ := l.TryAcquire()
		if !cancellable {
			ctx = context.Background()
		}
		park := func() {
			r, ok := <-l.Acquire(ctx)
			if ok == cancellable {
				panic(fmt.Sprintf("Lock.Acquire: got the lock = %v in a crowd that cancels = %v", ok, cancellable))
			}
			if ok {
				r()
			}
		}
		return park, freeBy(cancellable, cancel, hold)
	}
}

func xsyncCrowd(cancellable bool) crowd {
	return func(ctx context.Context, cancel context.CancelFunc) (func(), func()) {
		s := semaphore.NewWeighted(1)
		s.TryAcquire(1)
		if !cancellable {
			ctx = context.Background()
		}
		park := func() {
			err := s.Acquire(ctx, 1)
			if (err == nil) == cancellable {
				panic(fmt.Sprintf("x/sync Acquire: err = %v in a crowd that cancels = %v", err, cancellable))
			}
			if err == nil {
				s.Release(1)
			}
		}
		return park, freeBy(cancellable, cancel, func() { s.Release(1) })
	}
}

func chanMutexCrowd(cancellable bool) crowd {
	return func(ctx context.Context, cancel context.CancelFunc) (func(), func()) {
		m := newChanMutex()
		m.lock()
		if !cancellable {
			ctx = context.Background()
		}
		park := func() {
			select {
			case m <- struct{}{}:
				if cancellable {
					panic("channel-mutex taken in a crowd that cancels")
				}
				m.unlock()
			case <-ctx.Done():
			}
		}
		return park, freeBy(cancellable, cancel, m.unlock)
	}
}

// freeBy is the free of a lock crowd: cancelling its ctx, or the holder's
// release.
func freeBy(cancellable bool, cancel context.CancelFunc, release func()) func() {
	if cancellable {
		return cancel
	}
	return release
}

// bareCrowd is the floor: goroutines parked on one shared channel cost a
// stack and a sudog each and nothing else.
func bareCrowd(context.Context, context.CancelFunc) (func(), func()) {
	c := make(chan struct{})
	return func() { <-c }, func() { close(c) }
}

// crowdStats is one crowd's measurement.
type crowdStats struct {
	heap       float64 // live heap bytes per parked goroutine
	free       float64 // ns from free() until every goroutine returned, per goroutine
	goroutines uint64  // started from free() until every goroutine returned
}

// runCrowd measures crowds made by c and reports the metrics above.
func runCrowd(b *testing.B, c crowd) {
	n := *crowdSize
	// Goroutine structs are never returned to the heap, and the runtime
	// reuses dead ones, so a crowd of bare goroutines runs first: after it,
	// the heap a crowd adds is what its waits cost, not its g structs. The
	// second bare crowd is the floor.
	measureCrowd(b, bareCrowd, n)
	bare := measureCrowd(b, bareCrowd, n)
	var sum crowdStats
	ops := 0
	for b.Loop() {
		s := measureCrowd(b, c, n)
		sum.heap += s.heap
		sum.free += s.free
		sum.goroutines += s.goroutines
		ops++
	}
	b.ReportMetric(sum.heap/float64(ops)-bare.heap, "B/waiter")
	b.ReportMetric(sum.free/float64(ops), "free-ns/waiter")
	b.ReportMetric(float64(sum.goroutines)/float64(ops), "free-goroutines/op")
}

// measureCrowd parks n goroutines in a crowd made by c, measures the heap
// once all are parked, then frees them and times how long until all have
// returned.
func measureCrowd(b *testing.B, c crowd, n int) crowdStats {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	park, free := c(ctx, cancel)

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	var (
		done    sync.WaitGroup
		entered atomic.Int64
	)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			entered.Add(1)
			park()
		}()
	}
	if err := awaitParked(&entered, int64(n)); err != nil {
		free()
		done.Wait()
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)

	g0 := created()
	t0 := time.Now()
	free()
	done.Wait()
	elapsed := time.Since(t0)
	return crowdStats{
		heap:       float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n),
		free:       float64(elapsed.Nanoseconds()) / float64(n),
		goroutines: created() - g0,
	}
}

var schedSamples = []metrics.Sample{
	{Name: "/sched/goroutines/runnable:goroutines"},
	{Name: "/sched/goroutines/running:goroutines"},
}

// awaitParked polls until all n goroutines of a crowd have entered their
// wait and none is runnable or running but the caller: only then has every
// one of them allocated what its wait costs. A crowd goroutine that is parked
// stays parked until the crowd is freed, so seeing this twice in a row, a
// millisecond apart, is conclusive even though the scheduler's counts are
// read without stopping the world. No channel can say that a goroutine is
// parked inside a wait of the runtime's, hence the polling; it is bounded by
// a minute.
func awaitParked(entered *atomic.Int64, n int64) error {
	deadline := time.Now().Add(time.Minute)
	for settled := 0; settled < 2; {
		time.Sleep(time.Millisecond)
		metrics.Read(schedSamples)
		runnable, running := schedSamples[0].Value.Uint64(), schedSamples[1].Value.Uint64()
		if entered.Load() == n && runnable == 0 && running <= 1 {
			settled++
		} else {
			settled = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after a minute, %d of %d goroutines entered; %d runnable, %d running",
				entered.Load(), n, runnable, running)
		}
	}
	return nil
}
