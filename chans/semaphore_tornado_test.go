package chans

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Semaphore ported from tornado's tests, named TestSemaphoreTornado*;
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

// tornado SemaphoreTest.test_acquire: FIFO hand-over, one per release, then
// instant acquires with nobody left waiting.
func TestSemaphoreTornadoAcquireHandOver(t *testing.T) {
	is := is.New(t)
	s := NewSemaphore(1)
	_, ok, ready := recvNow(s.Acquire(context.Background()))
	is.True(ready && ok)
	f1 := s.Acquire(context.Background())
	f2 := s.Acquire(context.Background())
	_, _, ready = recvNow(f1)
	is.True(!ready)
	s.Release()
	_, ok, ready = recvNow(f1)
	is.True(ready && ok)
	_, _, ready = recvNow(f2)
	is.True(!ready)
	s.Release()
	_, ok, ready = recvNow(f2)
	is.True(ready && ok)
	s.Release()
	_, ok, ready = recvNow(s.Acquire(context.Background()))
	is.True(ready && ok)
	is.Equal(s.String(), "Semaphore(value=0, waiters=0)")
}

// tornado SemaphoreTest.test_acquire_timeout: a release after the deadline
// is too late for the timed-out waiter and goes to the semaphore.
func TestSemaphoreTornadoReleaseAfterTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(2)
		<-s.Acquire(context.Background())
		<-s.Acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		ch := s.Acquire(ctx)
		time.AfterFunc(20*time.Millisecond, s.Release) // too late
		time.Sleep(300 * time.Millisecond)
		_, ok := <-ch
		is.True(!ok)
		is.Equal(s.Value(), 1)
		_, ok, ready := recvNow(s.Acquire(context.Background()))
		is.True(ready && ok)
		f := s.Acquire(context.Background())
		_, _, ready = recvNow(f)
		is.True(!ready)
		s.Release()
		_, ok, ready = recvNow(f)
		is.True(ready && ok)
	})
}

// tornado SemaphoreTest.test_acquire_timeout_preempted: a release before
// the deadline wins, and the deadline passing later takes nothing back from
// a caller that received. (tornado's caller collected its resolved future
// after the deadline; here a grant still unreceived at the deadline would be
// taken back, by W2, so the caller receives as it waits.)
func TestSemaphoreTornadoAcquireTimeoutPreempted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		<-s.Acquire(context.Background())
		time.AfterFunc(10*time.Millisecond, s.Release)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		r, ok := <-s.Acquire(ctx)
		is.True(ok)
		is.Equal(time.Since(start), 10*time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(ctx.Err(), context.DeadlineExceeded)
		is.Equal(s.Value(), 0) // still this caller's
		r()
		is.Equal(s.Value(), 1)
	})
}

// tornado SemaphoreTest.test_garbage_collection: timed-out waiters leave the
// queue by themselves (each in O(1)); the live one is still served.
func TestSemaphoreTornadoTimedOutWaitersLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		var timed []<-chan Release
		for range 101 {
			timed = append(timed, s.Acquire(ctx))
		}
		live := s.Acquire(context.Background())
		is.Equal(semInside(s, false, nil).queued, 102)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(semInside(s, false, nil).queued, 1) // removed by their AfterFuncs, no call needed
		_, _, ready := recvNow(live)
		is.True(!ready)
		s.Release()
		_, ok, ready := recvNow(live)
		is.True(ready && ok)
		for _, ch := range timed {
			_, ok, ready := recvNow(ch)
			is.True(ready && !ok)
		}
	})
}

// tornado SemaphoreContextManagerTest: test_context_manager,
// test_context_manager_exception, test_context_manager_timeout and
// test_context_manager_timeout_error: defer releases, even on panic; a
// timed-out acquire takes nothing ("counter is still 0").
func TestSemaphoreTornadoDeferRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		func() {
			r := <-s.Acquire(context.Background())
			defer r()
		}()
		is.Equal(s.Value(), 1)
		is.Equal(panicText(func() {
			r := <-s.Acquire(context.Background())
			defer r()
			panic("boom")
		}), "boom")
		is.Equal(s.Value(), 1)
		func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			r, ok := <-s.Acquire(ctx)
			is.True(ok)
			defer r()
		}()
		is.Equal(s.Value(), 1)

		z := NewSemaphore(0)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		_, ok := <-z.Acquire(ctx)
		is.True(!ok)
		_, _, ready := recvNow(z.Acquire(context.Background()))
		is.True(!ready) // counter is still 0
	})
}

// tornado SemaphoreContextManagerTest.test_context_manager_contended and
// toro ContextManagerTestsMixin.test_context_manager_contended.
func TestSemaphoreTornadoContendedHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		var mu sync.Mutex
		var history []string
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				r := <-s.Acquire(context.Background())
				defer r()
				mu.Lock()
				history = append(history, fmt.Sprint("acquired ", i))
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
				mu.Lock()
				history = append(history, fmt.Sprint("release ", i))
				mu.Unlock()
			})
			synctest.Wait()
		}
		wg.Wait()
		var want []string
		for i := range 10 {
			want = append(want, fmt.Sprint("acquired ", i), fmt.Sprint("release ", i))
		}
		is.Equal(history, want)
	})
}
