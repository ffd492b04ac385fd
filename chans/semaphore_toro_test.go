package chans

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Semaphore ported from toro's tests, named TestSemaphoreToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's
// test/test_semaphore.py (itself adapted from gevent) and tornado's
// tornado/test/locks_test.py (SemaphoreTest, SemaphoreContextManagerTest,
// BoundedSemaphoreTest) name their origin. Deliberate differences, tested as
// turnstile documents them:
//   - the zero Semaphore has 0 permits (toro's and tornado's default was 1);
//     the ports use NewSemaphore(1) where the seed used the default;
//   - each acquire yields its own Release; Release() adds an unpaired permit,
//     and on a bounded semaphore panics only when it would leave more permits
//     free than the bound (toro's ValueError); a grant's own Release that
//     would then do so panics the same way;
//   - timeouts are ctx deadlines; Wait takes no ctx, so its timeout is a
//     select on the deadline.
// Python-only cases (test_yield_sem, test_context_manager_misuse,
// test_context_manager_async_await, test_repr's exact Python format) are
// left out.

// toro test_semaphore.py: test_constructor; tornado SemaphoreTest.test_negative_value.
func TestSemaphoreToroNegativePanics(t *testing.T) {
	isChansPanic(t, func() { NewSemaphore(-1) })
	isChansPanic(t, func() { NewSemaphore(-int(^uint(0) >> 1)) })
	isChansPanic(t, func() { NewBoundedSemaphore(-1) })
	isChansPanic(t, func() { NewBoundedSemaphore(0) }) // a bound of 0 could never grant
	s := NewSemaphore(1)
	isChansPanic(t, func() { s.AcquireN(context.Background(), -1) })
	isChansPanic(t, func() { s.TryAcquireN(-1) })
	is.New(t).Equal(s.Value(), 1) // the panics changed nothing
}

// toro test_semaphore.py: test_str; tornado SemaphoreTest.test_repr.
func TestSemaphoreToroString(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(5)
	is.Equal(s.String(), "Semaphore(value=5, waiters=0)")
	b := NewBoundedSemaphore(1)
	is.Equal(b.String(), "Semaphore(value=1, bound=1, waiters=0)")
	r, _ := b.TryAcquire()
	is.Equal(b.String(), "Semaphore(value=0, bound=1, waiters=0)")
	b.Acquire(context.Background())
	is.Equal(b.String(), "Semaphore(value=0, bound=1, waiters=1)")
	r()
	is.Equal(b.String(), "Semaphore(value=0, bound=1, waiters=0)") // handed over
}

// toro test_semaphore.py: BaseSemaphoreTests.test_acquire (with wait()).
func TestSemaphoreToroAcquire(t *testing.T) {
	semTypes(t, func(t *testing.T, newSem func(int) *Semaphore) {
		is := is.New(t)
		s := newSem(1)
		is.True(!s.Locked())
		r, ok, ready := recvNow(s.Acquire(context.Background()))
		is.True(ready && ok)
		is.True(s.Locked())
		w := s.Wait()
		_, _, ready = recvNow(w)
		is.True(!ready)
		r()
		_, _, ready = recvNow(w)
		is.True(ready) // the release left it unlocked
		_, _, ready = recvNow(s.Wait())
		is.True(ready) // now Wait is instant

		s = newSem(2)
		r1 := <-s.Acquire(context.Background())
		r2 := <-s.Acquire(context.Background())
		is.Equal(s.Value(), 0)
		r1()
		r2()
		is.Equal(s.Value(), 2)
	})
}

// toro test_semaphore.py: BaseSemaphoreTests.test_acquire_contended. Ten
// tasks each acquire twice from a semaphore of 7 with one permit taken; the
// permits are added back with unpaired releases (unbounded semaphore).
func TestSemaphoreToroAcquireContended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(7)
		<-s.Acquire(context.Background())
		var mu sync.Mutex
		var results []int
		phase := 0
		for range 10 {
			go func() {
				for range 2 {
					<-s.Acquire(context.Background())
					mu.Lock()
					results = append(results, phase)
					mu.Unlock()
				}
			}()
		}
		count := func(p int) int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, r := range results {
				if r == p {
					n++
				}
			}
			return n
		}
		synctest.Wait()
		is.Equal(count(0), 6)
		mu.Lock()
		phase = 1
		mu.Unlock()
		for range 7 {
			s.Release()
		}
		synctest.Wait()
		is.Equal(count(1), 7)
		mu.Lock()
		phase = 2
		mu.Unlock()
		for range 6 {
			s.Release()
		}
		synctest.Wait()
		is.Equal(count(2), 6)
		is.True(s.Locked()) // still locked: one task waits for its second permit
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, ok := <-s.Acquire(ctx)
		is.True(!ok)
		s.Release() // let the last task finish
		synctest.Wait()
		is.Equal(len(results), 20)
	})
}

// toro test_semaphore.py: test_try_acquire (the synchronous version of
// toro 0.x and the deadline version of toro 1.0).
func TestSemaphoreToroTryAcquire(t *testing.T) {
	semTypes(t, func(t *testing.T, newSem func(int) *Semaphore) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := newSem(2)
			r1, ok := s.TryAcquire()
			is.True(ok)
			_, ok = s.TryAcquire()
			is.True(ok)
			_, ok = s.TryAcquire()
			is.True(!ok)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, ok = <-s.Acquire(ctx)
			is.True(!ok)
			is.Equal(ctx.Err(), context.DeadlineExceeded)
			r1()
			_, ok = s.TryAcquire()
			is.True(ok)
		})
	})
}

// toro 0.x test_semaphore.py: test_try_acquire_contended: from a semaphore
// of 4 with one taken, five tasks each try twice: exactly three succeed.
func TestSemaphoreToroTryAcquireContended(t *testing.T) {
	semTypes(t, func(t *testing.T, newSem func(int) *Semaphore) {
		is := is.New(t)
		s := newSem(4)
		s.TryAcquire()
		var got atomic.Int32
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				for range 2 {
					if _, ok := s.TryAcquire(); ok {
						got.Add(1)
					}
					runtime.Gosched()
				}
			})
		}
		wg.Wait()
		is.Equal(got.Load(), int32(3))
		is.Equal(s.Value(), 0)
	})
}

// toro test_semaphore.py: test_default_value. The seed relied on a default
// of 1; turnstile's zero value has 0 permits (tested below), so this uses
// NewSemaphore(1). A waiter does not run until the holder releases.
func TestSemaphoreToroOneHolderAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		r := <-s.Acquire(context.Background())
		var finished atomic.Bool
		go func() {
			r := <-s.Acquire(context.Background())
			r()
			finished.Store(true)
		}()
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		is.True(!finished.Load())
		r()
		synctest.Wait()
		is.True(finished.Load())
	})
}

// toro test_semaphore.py: BaseSemaphoreTests.test_wait: Wait on a locked
// semaphore does not end by itself (its timeout is a select on a deadline).
func TestSemaphoreToroWaitTimeout(t *testing.T) {
	semTypes(t, func(t *testing.T, newSem func(int) *Semaphore) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := newSem(1)
			r := <-s.Acquire(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			select {
			case <-s.Wait():
				t.Fatal("Wait ended on a locked semaphore")
			case <-ctx.Done():
			}
			r()
			_, _, ready := recvNow(s.Wait())
			is.True(ready)
		})
	})
}

// toro test_semaphore.py: SemaphoreTests.test_release_unacquired (unbounded
// releases add permits) and tornado SemaphoreTest.test_release_unacquired.
func TestSemaphoreToroReleaseUnacquired(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(1)
	s.Release()
	s.Release()
	is.Equal(s.Value(), 3)
	for range 3 {
		_, ok, ready := recvNow(s.Acquire(context.Background()))
		is.True(ready && ok)
	}
	_, _, ready := recvNow(s.Acquire(context.Background()))
	is.True(!ready)
}

// toro test_semaphore.py: BoundedSemaphoreTests.test_release_unacquired and
// tornado BoundedSemaphoreTest.test_release_unacquired. Releasing past the
// bound panics and leaves the state as it was. The seed's paired
// release() calls are the grants' Releases here.
func TestSemaphoreToroBoundedOverRelease(t *testing.T) {
	is := is.New(t)
	s := NewBoundedSemaphore(1)
	isChansPanic(t, s.Release)
	is.Equal(s.Value(), 1)
	r1 := <-s.Acquire(context.Background()) // value 0
	f := s.Acquire(context.Background())
	_, _, ready := recvNow(f)
	is.True(!ready)
	// An unpaired Release while a grant is out is allowed (toro counts only
	// the free permits, #11): it passes a permit to f.
	s.Release()
	r2, ok, ready := recvNow(f)
	is.True(ready && ok)
	r1() // value 1
	// Now r2's own release would leave 2 free in a semaphore bounded at 1:
	// it panics and releases nothing; once a permit is taken, it can.
	isChansPanic(t, r2)
	is.Equal(s.Value(), 1)
	r3 := <-s.Acquire(context.Background())
	r2() // value 1 again
	is.Equal(s.Value(), 1)
	_ = r3 // its permit is the one the unpaired Release() made extra
	isChansPanic(t, s.Release)
	is.Equal(s.Value(), 1)
	is.Equal(s.String(), "Semaphore(value=1, bound=1, waiters=0)")
	_, ok = s.TryAcquireN(2)
	is.True(!ok)
}

// toro test_semaphore.py: TestTimeoutAcquire.test_timeout_acquire, and
// toro 0.x test_acquire_returns_false_after_timeout.
func TestSemaphoreToroAcquireTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, ok := <-s.Acquire(ctx)
		is.True(!ok)
		is.Equal(time.Since(start), 10*time.Millisecond)
		is.Equal(s.Value(), 0)
	})
}

// toro test_semaphore.py: TestTimeoutAcquire.test_release_twice (from
// gevent): acquire, release, acquire, release: both acquires served, in order.
func TestSemaphoreToroReleaseTwice(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(1)
	var result []string
	if r, ok, _ := recvNow(s.Acquire(context.Background())); ok {
		result = append(result, "a")
		r()
	}
	if r, ok, _ := recvNow(s.Acquire(context.Background())); ok {
		result = append(result, "b")
		r()
	}
	is.Equal(result, []string{"a", "b"})
}

// toro test_semaphore.py: SemaphoreTests2.test_acquire_callback: each release
// wakes the next acquire; Wait ends only at a release that leaves the
// semaphore unlocked, and then Locked is false.
func TestSemaphoreToroAcquireAndWaitOrder(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(0)
	var history []string
	acq := []<-chan Release{s.Acquire(context.Background()), s.Acquire(context.Background())}
	waits := []<-chan struct{}{s.Wait(), s.Wait()}
	seen := make([]bool, 4)
	check := func() {
		for i, ch := range acq {
			if _, ok, ready := recvNow(ch); !seen[i] && ready && ok {
				seen[i] = true
				history = append(history, fmt.Sprint("acquire", i+1))
			}
		}
		for i, ch := range waits {
			if _, _, ready := recvNow(ch); !seen[2+i] && ready {
				seen[2+i] = true
				is.True(!s.Locked())
				history = append(history, fmt.Sprint("wait", i+1))
			}
		}
	}
	for i := 1; i <= 3; i++ {
		s.Release()
		check()
		history = append(history, fmt.Sprint("release", i))
	}
	is.Equal(history, []string{
		"acquire1", "release1",
		"acquire2", "release2",
		"wait1", "wait2", "release3",
	})
}

// semTypes runs a case on an unbounded and a bounded semaphore, as toro's
// BaseSemaphoreTests did.
func semTypes(t *testing.T, f func(t *testing.T, newSem func(int) *Semaphore)) {
	t.Run("unbounded", func(t *testing.T) { f(t, NewSemaphore) })
	t.Run("bounded", func(t *testing.T) { f(t, NewBoundedSemaphore) })
}
