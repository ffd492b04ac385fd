package chans

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// The tests of asyncio's Barrier (CPython Lib/test/test_asyncio/test_locks.py,
// class BarrierTests), ported one for one and named after them. A task is a
// goroutine, asyncio.gather is gather below, "await asyncio.sleep(0)" (let
// every task run until it blocks) is synctest.Wait, and BrokenBarrierError
// is a channel closed empty while the ctx is live. Where the semantics
// differ (Barrier's doc lists how), the test says so and checks ours.

const asyncioN = 5 // BarrierTests.asyncSetUp: self.N = 5

// arrive waits at b with ctx and reports the index, or false if the barrier
// let the caller go empty-handed (asyncio's BrokenBarrierError).
func arrive(ctx context.Context, b *Barrier) (int, bool) {
	i, ok := <-b.Wait(ctx)
	return i, ok
}

// gather runs n tasks and waits for all of them (asyncio.gather); each gets
// its number 0..n-1 and returns a value.
func gather[R any](n int, task func(k int) R) []R {
	out := make([]R, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() { out[k] = task(k) })
	}
	wg.Wait()
	return out
}

// spawn starts task in a goroutine and returns a channel closed when it has
// returned (asyncio.create_task).
func spawn(task func()) <-chan struct{} {
	done := make(chan struct{})
	go func() { defer close(done); task() }()
	return done
}

func TestBarrierAsyncioBarrier(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(asyncioN)
	is.True(strings.Contains(b.String(), "filling"))
	// asyncio checks that a Barrier cannot be awaited; in Go that does not
	// compile.
}

func TestBarrierAsyncioRepr(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx := t.Context()
		b := NewBarrier(asyncioN)
		is.Equal(b.String(), "Barrier(filling, waiters=0/5)")
		var waiters []<-chan struct{}
		wait := func() { arrive(ctx, b) }
		const incr = 2
		for range incr {
			waiters = append(waiters, spawn(wait))
		}
		synctest.Wait()
		is.Equal(b.String(), "Barrier(filling, waiters=2/5)")

		// Create the missing waiters: asyncio shows "draining" until they
		// have all resumed; here the trip lets them all through at once.
		for range b.Parties() - b.Waiting() {
			waiters = append(waiters, spawn(wait))
		}
		synctest.Wait()
		is.Equal(b.String(), "Barrier(filling, waiters=0/5)")

		// Add a part of waiters and reset: asyncio shows "resetting" until
		// they have left; here they are let go at once.
		for range incr {
			waiters = append(waiters, spawn(wait))
		}
		synctest.Wait()
		b.Reset()
		is.Equal(b.String(), "Barrier(filling, waiters=0/5)")

		// Add a part of waiters again and abort.
		for range incr {
			waiters = append(waiters, spawn(wait))
		}
		synctest.Wait()
		b.Abort()
		is.Equal(b.String(), "Barrier(broken, waiters=0/5)")
		is.True(b.Broken())
		for _, w := range waiters {
			<-w
		}
	})
}

func TestBarrierAsyncioBarrierParties(t *testing.T) {
	is := is.New(t)
	isChansPanic(t, func() { NewBarrier(0) })
	isChansPanic(t, func() { NewBarrier(-4) })
	is.Equal(NewBarrier(asyncioN).Parties(), asyncioN)
}

func TestBarrierAsyncioContextManager(t *testing.T) {
	is := is.New(t)
	const n = 3
	b := NewBarrier(n)
	res := gather(n, func(int) int { i, _ := arrive(t.Context(), b); return i })
	slices.Sort(res)
	is.Equal(res, []int{0, 1, 2})
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

func TestBarrierAsyncioFillingOneTask(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(1)
	i, ok := arrive(t.Context(), b)
	is.True(ok)
	is.Equal(i, 0)
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

func TestBarrierAsyncioFillingOneTaskTwice(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(1)
	i1, ok1 := arrive(t.Context(), b)
	is.Equal(b.Waiting(), 0)
	i2, ok2 := arrive(t.Context(), b)
	is.True(ok1 && ok2)
	is.Equal(i1, i2)
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

func TestBarrierAsyncioFillingTaskByTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(3)
		t1 := spawn(func() { arrive(t.Context(), b) })
		synctest.Wait()
		is.Equal(b.Waiting(), 1)
		is.True(strings.Contains(b.String(), "filling"))
		t2 := spawn(func() { arrive(t.Context(), b) })
		synctest.Wait()
		is.Equal(b.Waiting(), 2)
		is.True(strings.Contains(b.String(), "filling"))
		t3 := spawn(func() { arrive(t.Context(), b) })
		<-t1
		<-t2
		<-t3
		is.Equal(b.Waiting(), 0)
		is.True(!b.Broken())
	})
}

func TestBarrierAsyncioFillingTasksWaitTwice(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(asyncioN)
	var mu sync.Mutex
	var results []bool
	gather(asyncioN, func(int) struct{} {
		arrive(t.Context(), b)
		mu.Lock()
		results = append(results, true)
		mu.Unlock()
		arrive(t.Context(), b)
		mu.Lock()
		results = append(results, false)
		mu.Unlock()
		return struct{}{}
	})
	is.Equal(len(results), 2*asyncioN)
	is.Equal(countOf(results, true), asyncioN)
	is.Equal(countOf(results, false), asyncioN)
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

func countOf[T comparable](s []T, v T) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestBarrierAsyncioFillingTasksCheckReturnValue(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(asyncioN)
	res := gather(asyncioN, func(int) int {
		_, ok1 := arrive(t.Context(), b)
		i, ok2 := arrive(t.Context(), b)
		is.True(ok1 && ok2)
		return i
	})
	slices.Sort(res)
	is.Equal(res, []int{0, 1, 2, 3, 4})
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

// asyncio: every task but the last to leave sees "draining". Here there is
// no draining: every task, once through, sees the barrier filling again.
func TestBarrierAsyncioDrainingState(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(asyncioN)
	res := gather(asyncioN, func(int) bool {
		arrive(t.Context(), b)
		return strings.Contains(b.String(), "filling")
	})
	is.Equal(res, []bool{true, true, true, true, true})
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

// Tasks that come back to the barrier right after a trip wait for the next
// round (asyncio blocks them while draining; here they simply join the next
// round). Success means every task got through both rounds.
func TestBarrierAsyncioBlockingTasksWhileDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		const rewait = 2
		b := NewBarrier(asyncioN)
		noWaiting := NewBarrier(asyncioN - rewait)
		var mu sync.Mutex
		rewaitN := rewait
		res := gather(asyncioN, func(int) bool {
			_, ok := arrive(t.Context(), b)
			mu.Lock()
			again := rewaitN > 0
			rewaitN--
			mu.Unlock()
			if again {
				_, ok2 := arrive(t.Context(), b)
				return ok && ok2
			}
			_, ok2 := arrive(t.Context(), noWaiting)
			_, ok3 := arrive(t.Context(), b)
			return ok && ok2 && ok3
		})
		is.Equal(res, []bool{true, true, true, true, true})
	})
}

// A waiter cancelled before the trip leaves: it does not count, and here it
// takes its index with it (asyncio could then hand out one index twice).
func TestBarrierAsyncioFillingTasksCancelOne(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(3)
		var mu sync.Mutex
		var indexes []int
		coro := func(ctx context.Context) func() {
			return func() {
				if i, ok := arrive(ctx, b); ok {
					mu.Lock()
					indexes = append(indexes, i)
					mu.Unlock()
				}
			}
		}
		ctx1, cancel1 := context.WithCancel(t.Context())
		t1 := spawn(coro(ctx1))
		synctest.Wait()
		is.Equal(b.Waiting(), 1)
		t2 := spawn(coro(t.Context()))
		synctest.Wait()
		is.Equal(b.Waiting(), 2)

		cancel1()
		synctest.Wait()
		is.Equal(b.Waiting(), 1)
		<-t1 // left empty-handed

		t3 := spawn(coro(t.Context()))
		synctest.Wait()
		is.Equal(b.Waiting(), 2)
		t4 := spawn(coro(t.Context()))
		<-t2
		<-t3
		<-t4
		slices.Sort(indexes)
		is.Equal(indexes, []int{0, 1, 2}) // three parties, each index once
		is.Equal(b.Waiting(), 0)
		is.True(!b.Broken())
	})
}

func TestBarrierAsyncioResetBarrier(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(1)
	b.Reset()
	is.Equal(b.Waiting(), 0)
	is.True(!b.Broken())
}

func TestBarrierAsyncioResetBarrierWhileTasksWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		results := make(chan bool, asyncioN)
		var tasks []<-chan struct{}
		for range asyncioN - 1 {
			tasks = append(tasks, spawn(func() {
				if _, ok := arrive(t.Context(), b); !ok {
					results <- true // BrokenBarrierError
				}
			}))
		}
		synctest.Wait()
		b.Reset()
		for _, tk := range tasks {
			<-tk
		}
		is.Equal(len(results), asyncioN-1)
		is.Equal(b.Waiting(), 0)
		is.True(!b.Broken())
	})
}

// asyncio: a task through the barrier resets it while half the tasks are
// still draining, and those raise BrokenBarrierError although the barrier
// tripped. Here a trip is final: every task got through, and the reset
// breaks nobody.
func TestBarrierAsyncioResetBarrierWhenTasksHalfDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		var mu sync.Mutex
		through := 0
		res := gather(asyncioN, func(int) bool {
			_, ok := arrive(t.Context(), b)
			if ok {
				mu.Lock()
				through++
				if through == asyncioN/2 {
					b.Reset()
				}
				mu.Unlock()
			}
			return ok
		})
		is.Equal(res, []bool{true, true, true, true, true})
		is.Equal(b.Waiting(), 0)
		is.True(!b.Broken())
	})
}

// asyncio: the first N/2 tasks through wait again, the others reset the
// barrier and wait again; the reset breaks the tasks still draining, which
// then wait again too, and the second round completes with nobody broken
// in it. Here the first round is final for all; a reset breaks whoever
// waits in the round after it, so the order is set with synctest: the N/2
// blocking tasks wait in round 2, a reset lets them go, and then all N
// meet again.
func TestBarrierAsyncioResetBarrierWhenTasksHalfDrainingHalfBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		const blocking = asyncioN / 2
		first := gather(asyncioN, func(int) bool { _, ok := arrive(t.Context(), b); return ok })
		is.Equal(first, []bool{true, true, true, true, true}) // asyncio breaks N/2 here

		broken := make(chan bool, asyncioN)
		var tasks []<-chan struct{}
		for range blocking {
			tasks = append(tasks, spawn(func() {
				if _, ok := arrive(t.Context(), b); !ok {
					broken <- true
					arrive(t.Context(), b) // and wait again
				}
			}))
		}
		synctest.Wait()
		b.Reset()
		synctest.Wait()
		is.Equal(len(broken), blocking)
		for range asyncioN - blocking {
			tasks = append(tasks, spawn(func() { arrive(t.Context(), b) }))
		}
		for _, tk := range tasks {
			<-tk
		}
		is.Equal(b.Waiting(), 0)
		is.True(!b.Broken())
	})
}

func TestBarrierAsyncioResetBarrierWhileTasksWaitingAndWaitingAgain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		results1 := make(chan bool, asyncioN)
		results2 := make(chan bool, asyncioN)
		var tasks []<-chan struct{}
		for range asyncioN - 1 {
			tasks = append(tasks, spawn(func() {
				if _, ok := arrive(t.Context(), b); !ok {
					results1 <- true
				}
				// finally:
				if _, ok := arrive(t.Context(), b); ok {
					results2 <- true
				}
			}))
		}
		synctest.Wait()
		b.Reset() // the N-1 waiting tasks are broken, then wait again
		synctest.Wait()
		coro2 := spawn(func() {
			if _, ok := arrive(t.Context(), b); ok {
				results2 <- true
			}
		})
		for _, tk := range tasks {
			<-tk
		}
		<-coro2
		is.True(!b.Broken())
		is.Equal(len(results1), asyncioN-1)
		is.Equal(len(results2), asyncioN)
		is.Equal(b.Waiting(), 0)
	})
}

// asyncio: the last task out of the first round resets the barrier, which
// breaks nobody because the others are held out of the barrier while it
// drains; then everyone gets through two more rounds. Here the others
// already wait in round 2 when the last one resets (set up with synctest),
// so the reset lets them go; everyone then meets again, twice.
func TestBarrierAsyncioResetBarrierWhileTasksDraining(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		resetNow := make(chan struct{})
		var mu sync.Mutex
		var secondOK, secondBroken, third int
		count := 0
		res := gather(asyncioN, func(int) bool {
			_, ok := arrive(t.Context(), b)
			mu.Lock()
			count++
			last := count == asyncioN
			mu.Unlock()
			if last {
				synctest.Wait() // the others wait in round 2
				b.Reset()
				close(resetNow)
			} else if _, ok2 := arrive(t.Context(), b); ok2 {
				mu.Lock()
				secondOK++
				mu.Unlock()
			} else {
				mu.Lock()
				secondBroken++
				mu.Unlock()
				<-resetNow
			}
			// Now, pass the barrier again: the last wait must complete.
			_, ok3 := arrive(t.Context(), b)
			mu.Lock()
			third += b2i(ok3)
			mu.Unlock()
			return ok
		})
		is.Equal(res, []bool{true, true, true, true, true})
		is.True(!b.Broken())
		is.Equal(secondOK, 0)              // asyncio: N-1
		is.Equal(secondBroken, asyncioN-1) // asyncio: 0
		is.Equal(third, asyncioN)
		is.Equal(b.Waiting(), 0)
	})
}

func TestBarrierAsyncioAbortBarrier(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(1)
	b.Abort()
	is.Equal(b.Waiting(), 0)
	is.True(b.Broken())
}

// asyncio: the tasks still draining when a task through the barrier aborts
// it raise BrokenBarrierError (results1), and the blocking ones that wait
// again are broken too (results2). Here the trip is final, so results1 is
// empty, and the tasks that wait again are broken as in asyncio.
func TestBarrierAsyncioAbortBarrierWhenTasksHalfDrainingHalfBlocking(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(asyncioN)
		const blocking = asyncioN / 2
		var mu sync.Mutex
		var results1, results2, count int
		gather(asyncioN, func(int) struct{} {
			if _, ok := arrive(t.Context(), b); !ok {
				mu.Lock()
				results1++
				mu.Unlock()
				return struct{}{}
			}
			mu.Lock()
			count++
			abort := count > blocking
			mu.Unlock()
			if abort {
				// The blocking ones are broken whether they wait again
				// before or after this.
				b.Abort()
			} else if _, ok := arrive(t.Context(), b); !ok {
				mu.Lock()
				results2++
				mu.Unlock()
			}
			return struct{}{}
		})
		is.True(b.Broken())
		is.Equal(results1, 0) // asyncio: N/2
		is.Equal(results2, blocking)
		is.Equal(b.Waiting(), 0)
	})
}

// From threading.Barrier's tests (lock_tests.test_reset): a task fails
// inside the barrier and aborts it; everyone else is broken out of the next
// wait.
func TestBarrierAsyncioAbortBarrierWhenException(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(asyncioN)
	var mu sync.Mutex
	var results1, results2 int
	gather(asyncioN, func(int) struct{} {
		i, _ := arrive(t.Context(), b)
		if i == asyncioN/2 { // raise RuntimeError ... except: abort
			b.Abort()
			return struct{}{}
		}
		_, ok := arrive(t.Context(), b)
		mu.Lock()
		if ok {
			results1++
		} else {
			results2++
		}
		mu.Unlock()
		return struct{}{}
	})
	is.True(b.Broken())
	is.Equal(results1, 0)
	is.Equal(results2, asyncioN-1)
	is.Equal(b.Waiting(), 0)
}

// From threading.Barrier's tests (lock_tests.test_abort_and_reset): as
// above, then a second barrier synchronizes everyone, one of them resets the
// first, and all pass it again.
func TestBarrierAsyncioAbortBarrierWhenExceptionThenResetting(t *testing.T) {
	is := is.New(t)
	b1, b2 := NewBarrier(asyncioN), NewBarrier(asyncioN)
	var mu sync.Mutex
	var results1, results2, results3 int
	gather(asyncioN, func(int) struct{} {
		if i, _ := arrive(t.Context(), b1); i == asyncioN/2 {
			b1.Abort()
		} else if _, ok := arrive(t.Context(), b1); ok {
			mu.Lock()
			results1++
			mu.Unlock()
		} else {
			mu.Lock()
			results2++
			mu.Unlock()
		}
		// Synchronize and reset the barrier. Must synchronize first so that
		// everyone has left it when we reset, and after so that no one
		// enters it before the reset.
		if i, _ := arrive(t.Context(), b2); i == asyncioN/2 {
			b1.Reset()
		}
		arrive(t.Context(), b2)
		if _, ok := arrive(t.Context(), b1); ok {
			mu.Lock()
			results3++
			mu.Unlock()
		}
		return struct{}{}
	})
	is.True(!b1.Broken())
	is.Equal(results1, 0)
	is.Equal(results2, asyncioN-1)
	is.Equal(results3, asyncioN)
	is.Equal(b1.Waiting(), 0)
}
