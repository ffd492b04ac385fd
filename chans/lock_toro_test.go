package chans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Lock ported from toro's tests, named TestLockToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's test/test_lock.py and
// test/__init__.py (ContextManagerTestsMixin) and from tornado's
// tornado/test/locks_test.py (LockTests) name their origin. toro's and
// tornado's acquire returned a future; here it is a channel, a timeout is a
// ctx deadline (the channel closes empty and ctx.Err() says
// context.DeadlineExceeded), and release is the Release the channel yielded.
// Python-only cases (test_yield_lock, test_context_manager_misuse,
// test_acquire_fifo_async_with) have no Go counterpart.

// toro test_lock.py: test_acquire_release; tornado LockTests.test_acquire_release.
func TestLockToroAcquireRelease(t *testing.T) {
	is := is.New(t)
	var l Lock // the zero value is an unlocked Lock
	is.True(!l.Locked())
	r, ok, ready := recvNow(l.Acquire(context.Background()))
	is.True(ready && ok) // a free lock is granted at once
	is.True(l.Locked())
	ch := l.Acquire(context.Background())
	_, _, ready = recvNow(ch)
	is.True(!ready) // held: the second acquire waits
	r()
	r2, ok, ready := recvNow(ch)
	is.True(ready && ok) // the release handed the lock over in the same call
	is.True(l.Locked())
	r2()
	is.True(!l.Locked())
}

// toro test_lock.py: test_acquire_contended.
func TestLockToroAcquireContended(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		r := <-l.Acquire(context.Background())
		const n = 5
		var done atomic.Int32
		for range n {
			go func() {
				rel, ok := <-l.Acquire(context.Background())
				if ok {
					done.Add(1)
					rel()
				}
			}()
		}
		synctest.Wait()
		is.Equal(done.Load(), int32(0)) // all wait while the lock is held
		r()
		synctest.Wait()
		is.Equal(done.Load(), int32(n))
		is.True(!l.Locked())
	})
}

// toro test_lock.py: test_reacquire. The lock is not reentrant: a holder
// asking again waits until its first hold is released (here by the test,
// from another goroutine, as toro's test did).
func TestLockToroReacquire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		var phase atomic.Int32
		first := make(chan Release, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			first <- <-l.Acquire(context.Background())
			phase.Add(1)
			r := <-l.Acquire(context.Background())
			phase.Add(1)
			is.True(l.Locked())
			r()
		}()
		synctest.Wait()
		is.Equal(phase.Load(), int32(1))
		is.True(l.Locked())
		(<-first)()
		<-done
		is.Equal(phase.Load(), int32(2))
		is.True(!l.Locked())
	})
}

// toro test_lock.py: test_str; tornado LockTests.test_repr.
func TestLockToroString(t *testing.T) {
	is := is.New(t)
	var l Lock
	is.Equal(l.String(), "Lock(unlocked, waiters=0)")
	r, _ := l.TryAcquire()
	is.Equal(l.String(), "Lock(locked, waiters=0)")
	ctx, cancel := context.WithCancel(context.Background())
	l.Acquire(ctx)
	l.Acquire(context.Background())
	is.Equal(l.String(), "Lock(locked, waiters=2)")
	cancel() // a waiter whose ctx ended is no longer counted
	is.Equal(l.String(), "Lock(locked, waiters=1)")
	r()
	is.Equal(l.String(), "Lock(locked, waiters=0)")
}

// toro test_lock.py: test_acquire_timeout; tornado LockTests.test_acquire_timeout.
// The timeout is a ctx deadline: the channel closes empty at the deadline,
// ctx.Err() is context.DeadlineExceeded, and the lock stays with its holder.
func TestLockToroAcquireTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		r := <-l.Acquire(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, ok := <-l.Acquire(ctx)
		is.True(!ok)
		is.Equal(time.Since(start), 100*time.Millisecond) // fake time: exact
		is.Equal(ctx.Err(), context.DeadlineExceeded)
		is.True(l.Locked())
		// tornado: "Still locked": a new acquire waits.
		_, _, ready := recvNow(l.Acquire(context.Background()))
		is.True(!ready)
		r()
	})
}

// toro test_lock.py: test_acquire_callback. The first acquire is granted at
// once; a release hands the lock to the next waiter before it returns.
func TestLockToroAcquireCallbackOrder(t *testing.T) {
	is := is.New(t)
	var l Lock
	var history []string
	ch1 := l.Acquire(context.Background())
	ch2 := l.Acquire(context.Background())
	r1, ok, ready := recvNow(ch1)
	if ready && ok {
		history = append(history, "acquire1")
	}
	r1()
	if _, ok, ready := recvNow(ch2); ready && ok {
		history = append(history, "acquire2")
	}
	history = append(history, "release")
	is.Equal(history, []string{"acquire1", "acquire2", "release"})
}

// toro test_lock.py: test_multi_release; tornado LockTests.test_multi_release.
// There is no unpaired release; calling a Release a second time panics, even
// after another caller took the lock, and leaves that caller's hold intact.
func TestLockToroReleaseTwicePanics(t *testing.T) {
	is := is.New(t)
	var l Lock
	r, _ := l.TryAcquire()
	r()
	isChansPanic(t, r) // lock free
	r2, ok := l.TryAcquire()
	is.True(ok)
	isChansPanic(t, r) // lock held by r2's grant
	is.True(l.Locked())
	r2()
	is.True(!l.Locked())
}

// toro ContextManagerTestsMixin: test_context_manager and
// test_context_manager_exception. defer is Go's with-statement: the lock is
// released even when the critical section panics.
func TestLockToroDeferRelease(t *testing.T) {
	is := is.New(t)
	var l Lock
	func() {
		r := <-l.Acquire(context.Background())
		defer r()
		is.True(l.Locked())
	}()
	is.True(!l.Locked())
	msg := panicText(func() {
		r := <-l.Acquire(context.Background())
		defer r()
		panic("boom")
	})
	is.Equal(msg, "boom")
	is.True(!l.Locked())
}

// toro ContextManagerTestsMixin: test_context_manager_contended: holders do
// not overlap and are served in order.
func TestLockToroContendedHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		var mu sync.Mutex
		var history []string
		record := func(s string) { mu.Lock(); history = append(history, s); mu.Unlock() }
		var wg sync.WaitGroup
		const n = 10
		for i := range n {
			wg.Go(func() {
				r := <-l.Acquire(context.Background())
				defer r()
				record(fmt.Sprint("acquired ", i))
				time.Sleep(10 * time.Millisecond) // fake time: lets the others run
				record(fmt.Sprint("releasing ", i))
			})
			synctest.Wait()
		}
		wg.Wait()
		var want []string
		for i := range n {
			want = append(want, fmt.Sprint("acquired ", i), fmt.Sprint("releasing ", i))
		}
		is.Equal(history, want)
	})
}
