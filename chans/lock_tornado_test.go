package chans

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// The cases of Lock ported from tornado's tests, named TestLockTornado*;
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

// tornado LockTests.test_acquire_fifo: waiters get the lock in call order.
func TestLockTornadoAcquireFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		r := <-l.Acquire(context.Background())
		const n = 5
		var history []int // guarded by l
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				rel := <-l.Acquire(context.Background())
				defer rel()
				history = append(history, i)
			})
			synctest.Wait() // goroutine i has queued before i+1 starts
		}
		is.Equal(len(history), 0)
		r()
		wg.Wait()
		is.Equal(history, []int{0, 1, 2, 3, 4})
	})
}
