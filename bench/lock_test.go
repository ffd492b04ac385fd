package main

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/exp/stats"
	"golang.org/x/sync/semaphore"
)

// The lock benchmarks. Baselines: chanmutex (a channel of capacity one used
// as a mutex), xsync (golang.org/x/sync/semaphore.Weighted of size 1, the
// FIFO lock with a ctx that Go users reach for), mutex (sync.Mutex).

// BenchmarkLockUncontended: <-Lock.Acquire(Background) and Release, nobody
// else around: the channel API's floor.
func BenchmarkLockUncontended(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var l chans.Lock
		b.ReportAllocs()
		for b.Loop() {
			r := <-l.Acquire(bg)
			r()
		}
	})
	b.Run("impl=chanmutex", uncontendedChanMutex)
	b.Run("impl=mutex", uncontendedMutex)
	b.Run("impl=xsync", uncontendedXSync)
}

// BenchmarkLockWait: the blocking twin, Lock.AcquireWait and its Release.
func BenchmarkLockWait(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var l chans.Lock
		b.ReportAllocs()
		for b.Loop() {
			r, err := l.AcquireWait(bg)
			if err != nil {
				b.Fatal(err)
			}
			r()
		}
	})
	b.Run("impl=xsync", uncontendedXSync)
	b.Run("impl=mutex", uncontendedMutex)
}

// BenchmarkLockGuard: Lock.AcquireGuard, whose hold is a value (no Release
// func to allocate), and Guard.Release.
func BenchmarkLockGuard(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		var l chans.Lock
		b.ReportAllocs()
		for b.Loop() {
			g, err := l.AcquireGuard(bg)
			if err != nil {
				b.Fatal(err)
			}
			g.Release()
		}
	})
	b.Run("impl=xsync", uncontendedXSync)
	b.Run("impl=mutex", uncontendedMutex)
}

func uncontendedChanMutex(b *testing.B) {
	m := newChanMutex()
	b.ReportAllocs()
	for b.Loop() {
		m.lock()
		m.unlock()
	}
}

func uncontendedMutex(b *testing.B) {
	var m sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		m.Lock()
		//lint:ignore SA2001 an empty critical section is what is measured
		m.Unlock()
	}
}

func uncontendedXSync(b *testing.B) {
	s := semaphore.NewWeighted(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Acquire(bg, 1); err != nil {
			b.Fatal(err)
		}
		s.Release(1)
	}
}

// The lockers of the contended benchmarks, each a fresh lock.

func chansAcquire() locker {
	var l chans.Lock
	return func() func() {
		r, ok := <-l.Acquire(bg)
		if !ok {
			panic("Acquire(Background) failed")
		}
		return r
	}
}

func chansAcquireWait() locker {
	var l chans.Lock
	return func() func() {
		r, err := l.AcquireWait(bg)
		if err != nil {
			panic(err)
		}
		return r
	}
}

func xsyncLocker() locker {
	s := semaphore.NewWeighted(1)
	release := func() { s.Release(1) } // made once: baselines pay no closure per op
	return func() func() {
		if err := s.Acquire(bg, 1); err != nil {
			panic(err)
		}
		return release
	}
}

func chanMutexLocker() locker {
	m := newChanMutex()
	unlock := m.unlock
	return func() func() { m.lock(); return unlock }
}

func mutexLocker() locker {
	var m sync.Mutex
	unlock := m.Unlock
	return func() func() { m.Lock(); return unlock }
}

// BenchmarkLockContended: <-Acquire and Release by 4×GOMAXPROCS goroutines
// at once; most acquisitions queue and are handed the lock by a release.
func BenchmarkLockContended(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) { contended(b, chansAcquire()) })
	b.Run("impl=xsync", func(b *testing.B) { contended(b, xsyncLocker()) })
	b.Run("impl=chanmutex", func(b *testing.B) { contended(b, chanMutexLocker()) })
	b.Run("impl=mutex", func(b *testing.B) { contended(b, mutexLocker()) })
}

// BenchmarkLockWaitContended is BenchmarkLockContended with AcquireWait.
func BenchmarkLockWaitContended(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) { contended(b, chansAcquireWait()) })
	b.Run("impl=xsync", func(b *testing.B) { contended(b, xsyncLocker()) })
	b.Run("impl=chanmutex", func(b *testing.B) { contended(b, chanMutexLocker()) })
	b.Run("impl=mutex", func(b *testing.B) { contended(b, mutexLocker()) })
}

// BenchmarkHandoff: 2×GOMAXPROCS goroutines take turns with one lock. With
// more goroutines than Ps, a release nearly always finds a waiter parked, and
// a FIFO lock hands it the lock rather than let the releaser take it back:
// each op (one acquisition) is then a wake-up of a parked goroutine, as each
// message of a ping-pong is. handoffs/op is the share of acquisitions that
// went to another goroutine than the last holder: near 1 for a FIFO lock, far
// less for one that lets the releaser barge (mutex, chanmutex), whose times
// are then not comparable. The baseline impl=chan is the floor for passing
// control from one goroutine to another: two goroutines passing a message
// back and forth over an unbuffered channel, one op per message.
func BenchmarkHandoff(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) { handoff(b, chansAcquireWait()) })
	b.Run("impl=chan", pingPong)
	b.Run("impl=xsync", func(b *testing.B) { handoff(b, xsyncLocker()) })
	b.Run("impl=chanmutex", func(b *testing.B) { handoff(b, chanMutexLocker()) })
	b.Run("impl=mutex", func(b *testing.B) { handoff(b, mutexLocker()) })
}

func handoff(b *testing.B, lock locker) {
	last, turns := -1, 0 // both guarded by the lock
	b.ReportAllocs()
	var wg sync.WaitGroup
	k := 2 * runtime.GOMAXPROCS(0)
	for id := range k {
		n := b.N / k
		if id == 0 {
			n += b.N % k
		}
		wg.Go(func() {
			for range n {
				unlock := lock()
				if last != id {
					last = id
					turns++
				}
				unlock()
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(turns)/float64(b.N), "handoffs/op")
}

// pingPong passes one message back and forth between two goroutines over an
// unbuffered channel, b.N messages in all.
func pingPong(b *testing.B) {
	c := make(chan struct{})
	b.ReportAllocs()
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < b.N; i += 2 {
			c <- struct{}{}
			if i+1 < b.N {
				<-c
			}
		}
	})
	wg.Go(func() {
		for i := 0; i < b.N; i += 2 {
			<-c
			if i+1 < b.N {
				c <- struct{}{}
			}
		}
	})
	wg.Wait()
	b.ReportMetric(1, "handoffs/op")
}

// BenchmarkWakeup measures wake-up latency: a goroutine parks waiting for a
// held lock, and the holder releases it. The latency of one handoff is from
// the release call to the waiter running with the lock; p50-ns and p99-ns
// are over every handoff of the run. One op is one handoff, including the
// wait for the waiter to park, so the time per op says little.
func BenchmarkWakeup(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) { wakeup(b, chansAcquire()) })
	b.Run("impl=chanmutex", func(b *testing.B) { wakeup(b, chanMutexLocker()) })
	b.Run("impl=xsync", func(b *testing.B) { wakeup(b, xsyncLocker()) })
	b.Run("impl=mutex", func(b *testing.B) { wakeup(b, mutexLocker()) })
}

// parkDelay is how long the holder waits, after letting the waiter go,
// before it releases: long enough for the waiter to have called lock and
// parked, so each sample is a wake-up from a parked state, not a spin. No
// channel can tell that another goroutine is parked inside a lock call, so
// this one sleep sets up the measurement; nothing is synchronized by it.
const parkDelay = 100 * time.Microsecond

func wakeup(b *testing.B, lock locker) {
	epoch := time.Now()
	var (
		released time.Duration // set by the holder just before unlock; the unlock orders it
		lat      []float64     // the waiter's, read after done
		turn     = make(chan bool)
		done     = make(chan struct{})
	)
	go func() {
		for <-turn {
			unlock := lock()
			lat = append(lat, float64(time.Since(epoch)-released))
			unlock()
			done <- struct{}{}
		}
		close(done)
	}()
	unlock := lock()
	for b.Loop() {
		turn <- true
		time.Sleep(parkDelay)
		released = time.Since(epoch)
		unlock()
		<-done
		unlock = lock()
	}
	unlock()
	turn <- false
	<-done
	q := stats.Quantiles(lat, 0.5, 0.99)
	b.ReportMetric(q[0], "p50-ns")
	b.ReportMetric(q[1], "p99-ns")
}
