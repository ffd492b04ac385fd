package chans

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Turnstile's own tests of Semaphore; the cases ported from toro and tornado are in
// semaphore_toro_test.go and semaphore_tornado_test.go, named TestSemaphoreToro* and so on.

// The zero value is an unbounded semaphore with no permits: acquires wait
// for a Release. (toro and tornado defaulted to 1: a deliberate difference.)
func TestSemaphoreZeroValue(t *testing.T) {
	is := is.New(t)
	var s Semaphore
	is.True(s.Locked())
	is.Equal(s.Value(), 0)
	ch := s.Acquire(context.Background())
	_, _, ready := recvNow(ch)
	is.True(!ready)
	s.Release()
	r, ok, ready := recvNow(ch)
	is.True(ready && ok)
	r()
	is.Equal(s.Value(), 1)
}

// A bounded semaphore fails an AcquireN above its bound at once, since it
// could never be met; it does not queue and hold others back.
func TestBoundedSemaphoreAcquireAboveBound(t *testing.T) {
	is := is.New(t)
	s := NewBoundedSemaphore(3)
	_, ok, ready := recvNow(s.AcquireN(context.Background(), 4))
	is.True(ready && !ok)
	r, ok, ready := recvNow(s.AcquireN(context.Background(), 3))
	is.True(ready && ok)
	r()
	is.Equal(s.Value(), 3)
}

// W5: a heavy waiter at the head holds back lighter ones behind it, and
// TryAcquireN does not barge past it even when enough permits are free for
// the lighter request.
func TestSemaphoreHeavyHeadHoldsBackLight(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(3)
	r2 := <-s.AcquireN(context.Background(), 2) // 1 free
	heavy := s.AcquireN(context.Background(), 3)
	light := s.AcquireN(context.Background(), 1)
	_, ok := s.TryAcquireN(1)
	is.True(!ok)
	_, ok = s.TryAcquireN(0)
	is.True(!ok) // not even zero permits jump the queue
	_, _, ready := recvNow(light)
	is.True(!ready) // held back although 1 permit is free
	is.Equal(s.Value(), 1)
	r2()
	rh, ok, ready := recvNow(heavy)
	is.True(ready && ok)
	_, _, ready = recvNow(light)
	is.True(!ready)
	rh()
	rl, ok, ready := recvNow(light)
	is.True(ready && ok)
	rl()
	is.Equal(s.Value(), 3)
}

// AcquireN is all or nothing: a heavy head whose ctx ends holds nothing,
// and the lighter waiters behind it get in at once.
func TestSemaphoreCancelledHeavyHeadLetsLightIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(3)
		r2 := <-s.AcquireN(context.Background(), 2)
		ctx, cancel := context.WithCancel(context.Background())
		heavy := s.AcquireN(ctx, 3)
		light := s.AcquireN(context.Background(), 1)
		cancel()
		synctest.Wait()
		rl, ok, ready := recvNow(light)
		is.True(ready && ok)
		_, ok = <-heavy
		is.True(!ok)
		is.Equal(s.Value(), 0)
		r2()
		rl()
		is.Equal(s.Value(), 3)
	})
}

// AcquireN(ctx, 0) is granted at once unless someone is queued.
func TestSemaphoreAcquireZero(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(0)
	r, ok, ready := recvNow(s.AcquireN(context.Background(), 0))
	is.True(ready && ok)
	r()
	ch := s.Acquire(context.Background())
	z := s.AcquireN(context.Background(), 0)
	_, _, ready = recvNow(z)
	is.True(!ready) // behind a queued waiter
	s.Release()
	<-ch
	r, ok, ready = recvNow(z)
	is.True(ready && ok)
	r()
	is.Equal(s.Value(), 0)
}

// A permit granted on the fast path registers no AfterFunc. If its caller
// walks away while someone waits in Wait, the Wait must end with no further
// call into the semaphore (regression test for the watchLazy fix).
func TestSemaphoreWaitEndsWhenFastPathPermitIsAbandoned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		ctx, cancel := context.WithCancel(context.Background())
		ch := s.Acquire(ctx) // granted at once, never received
		w := s.Wait()
		cancel()
		synctest.Wait()
		_, _, ready := recvNow(w)
		is.True(ready)
		_, ok := <-ch
		is.True(!ok)
		is.Equal(s.Value(), 1)
	})
}

// W8: a Release called twice panics and gives back nothing the second time.
func TestSemaphoreReleaseTwicePanics(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(3)
	r := <-s.AcquireN(context.Background(), 2)
	r()
	isChansPanic(t, r)
	is.Equal(s.Value(), 3)
}

// W6: Wait on an unlocked semaphore is a closed channel and allocates nothing.
func TestSemaphoreWaitUnlockedAllocatesNothing(t *testing.T) {
	s := NewSemaphore(1)
	allocs := testing.AllocsPerRun(100, func() { <-s.Wait() })
	is.New(t).Equal(allocs, 0.0)
}

// TryAcquireN never fails while enough permits are free, however many try at
// once (see TestRWLockTryReadNeverFailsSpuriously).
func TestSemaphoreTryNeverFailsSpuriously(t *testing.T) {
	// More threads than cores, so the kernel preempts some between the
	// load of the state word and their compare-and-swap: the lost race.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	is := is.New(t)
	s := NewSemaphore(8)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20_000 {
				r, ok := s.TryAcquire()
				if !ok {
					failed.Add(1)
					continue
				}
				r()
			}
		})
	}
	wg.Wait()
	is.Equal(failed.Load(), int64(0))
}
