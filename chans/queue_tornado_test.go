package chans

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of tornado's tornado/test/queues_test.py, named TestQueueTornado*, each
// naming its origin upstream, rewritten for channels and contexts: a
// timeout is a ctx deadline, a future's done() is a non-blocking receive, a
// coroutine is a goroutine in a synctest bubble. Where this package means to
// differ, the test says so.

// queueWaiting counts the waiters queued in q, dead or alive (as tornado's
// len(q._getters) does).
func queueWaiting[T any](q *Queue[T]) (n struct{ getters, putters int }) {
	st := queueInside(q, false, nil)
	n.getters, n.putters = st.getters.queued, st.putters.queued
	return n
}

// tornado tornado/test/queues_test.py: QueueBasicTest.test_repr_and_str.
func TestQueueTornadoReprAndStr(t *testing.T) {
	is := is.New(t)
	q := NewQueue[any](1)
	q.Get(bg())
	s := q.String()
	is.True(strings.HasPrefix(s, "Queue("))
	is.True(strings.Contains(s, "maxsize=1"))
	is.True(strings.Contains(s, "getters[1]"))
	is.True(!strings.Contains(s, "putters"))
	is.True(!strings.Contains(s, "tasks"))

	q.Put(bg(), nil) // to the getter
	q.Put(bg(), nil) // stored: now the queue is full
	q.Put(bg(), nil) // this putter blocks
	s = q.String()
	is.True(!strings.Contains(s, "getters"))
	is.True(strings.Contains(s, "putters[1]"))
	is.True(strings.Contains(s, "tasks=2"))
	is.Equal(s, "Queue(maxsize=1, len=1, putters[1], tasks=2)")
}

// tornado tornado/test/queues_test.py: QueueBasicTest.test_order.
func TestQueueTornadoOrder(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	for _, v := range []int{1, 3, 2} {
		is.NoErr(q.TryPut(v))
	}
	var got []int
	for range 3 {
		v, err := q.TryGet()
		is.NoErr(err)
		got = append(got, v)
	}
	is.Equal(got, []int{1, 3, 2})
}

// tornado tornado/test/queues_test.py: QueueBasicTest.test_maxsize.
func TestQueueTornadoMaxsize(t *testing.T) {
	is := is.New(t)
	is.True(strings.HasPrefix(panicText(func() { NewQueue[int](-1) }), "chans: "))

	q := NewQueue[int](2)
	is.True(q.Empty())
	is.True(!q.Full())
	is.Equal(q.Cap(), 2)
	_, _, done := recvNow(q.Put(bg(), 0))
	is.True(done)
	_, _, done = recvNow(q.Put(bg(), 1))
	is.True(done)
	is.True(!q.Empty())
	is.True(q.Full())
	put2 := q.Put(bg(), 2)
	_, _, done = recvNow(put2)
	is.True(!done)
	is.Equal(<-q.Get(bg()), 0) // make room
	err, ok, done := recvNow(put2)
	is.True(done && ok)
	is.NoErr(err)
	is.True(!q.Empty())
	is.True(q.Full())
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_blocking_get.
func TestQueueTornadoBlockingGet(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(q.TryPut(0))
	is.Equal(<-q.Get(bg()), 0)
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_nonblocking_get.
func TestQueueTornadoNonblockingGet(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(q.TryPut(0))
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_nonblocking_get_exception.
func TestQueueTornadoNonblockingGetException(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	_, err := q.TryGet()
	is.Equal(err, ErrEmpty)
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_get_with_putters.
func TestQueueTornadoGetWithPutters(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](1)
	is.NoErr(q.TryPut(0))
	put := q.Put(bg(), 1)
	is.Equal(<-q.Get(bg()), 0)
	is.NoErr(<-put)
	is.Equal(q.Len(), 1)
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_blocking_get_wait.
func TestQueueTornadoBlockingGetWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		q.Put(bg(), 0)
		var wg sync.WaitGroup
		wg.Go(func() { time.Sleep(10 * time.Millisecond); q.Put(bg(), 1) })
		wg.Go(func() { time.Sleep(20 * time.Millisecond); q.Put(bg(), 2) })
		for want := range 2 {
			ctx, cancel := context.WithTimeout(bg(), time.Second)
			v, ok := <-q.Get(ctx)
			cancel()
			is.True(ok)
			is.Equal(v, want)
		}
		wg.Wait()
		is.Equal(q.Len(), 1)
	})
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_get_timeout.
func TestQueueTornadoGetTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
		defer cancel()
		getTimeout := q.Get(ctx)
		get := q.Get(bg())
		_, ok := <-getTimeout
		is.True(!ok)
		is.Equal(ctx.Err(), context.DeadlineExceeded)

		is.NoErr(q.TryPut(0))
		is.Equal(<-get, 0)
	})
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_get_timeout_preempted.
//
// In tornado the getter's future is resolved with the item, and a timeout
// after that changes nothing. Here the item sits unreceived in the channel
// when the deadline passes, so W2 gives it back to the queue: it is not lost,
// and the next Get finds it.
func TestQueueTornadoGetTimeoutPreempted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
		defer cancel()
		get := q.Get(ctx)
		is.NoErr(<-q.Put(bg(), 0))
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		_, ok := <-get
		is.True(!ok)
		is.Equal(q.Len(), 1)
		is.Equal(q.Unfinished(), 1)
		is.Equal(<-q.Get(bg()), 0)

		// Received before the deadline, the item is the caller's for good.
		ctx2, cancel2 := context.WithTimeout(bg(), 10*time.Millisecond)
		defer cancel2()
		get = q.Get(ctx2)
		q.Put(bg(), 1)
		v, ok := <-get
		is.True(ok)
		is.Equal(v, 1)
		time.Sleep(20 * time.Millisecond)
		is.Equal(q.Len(), 0)
	})
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_get_clears_timed_out_putters.
func TestQueueTornadoGetClearsTimedOutPutters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		var putters []<-chan error
		for i := range 10 { // the first succeeds, the rest block
			ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
			defer cancel()
			putters = append(putters, q.Put(ctx, i))
		}
		put := q.Put(bg(), 10)
		is.Equal(queueWaiting(q).putters, 10)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		// Tornado keeps timed-out putters queued until the next get; here
		// their ctx's end removes them at once.
		is.Equal(queueWaiting(q).putters, 1)
		_, _, done := recvNow(put)
		is.True(!done) // the final waiter is still active
		q.Put(bg(), 11)
		is.Equal(<-q.Get(bg()), 0)
		is.Equal(queueWaiting(q).putters, 1)
		is.NoErr(<-put)
		for _, p := range putters[1:] {
			is.Equal(<-p, context.DeadlineExceeded)
		}
		is.NoErr(<-putters[0])
	})
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_get_clears_timed_out_getters.
func TestQueueTornadoGetClearsTimedOutGetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		var getters []<-chan int
		for range 10 {
			ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
			defer cancel()
			getters = append(getters, q.Get(ctx))
		}
		get := q.Get(bg())
		is.Equal(queueWaiting(&q).getters, 11)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(queueWaiting(&q).getters, 1)
		_, _, done := recvNow(get)
		is.True(!done) // the final waiter is still active
		q.Get(bg())
		is.Equal(queueWaiting(&q).getters, 2)
		for _, g := range getters {
			_, ok := <-g
			is.True(!ok)
		}
	})
}

// tornado tornado/test/queues_test.py: QueueGetTest.test_async_for.
func TestQueueTornadoAsyncFor(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	for i := range 5 {
		q.Put(bg(), i)
	}
	var got []int
	for v := range q.All(bg()) {
		got = append(got, v)
		if v == 4 {
			break
		}
	}
	is.Equal(got, []int{0, 1, 2, 3, 4})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_blocking_put.
func TestQueueTornadoBlockingPut(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(<-q.Put(bg(), 0))
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_nonblocking_put_exception.
func TestQueueTornadoNonblockingPutException(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](1)
	q.Put(bg(), 0)
	is.Equal(q.TryPut(1), ErrFull)
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_put_with_getters.
func TestQueueTornadoPutWithGetters(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	get0, get1 := q.Get(bg()), q.Get(bg())
	is.NoErr(<-q.Put(bg(), 0))
	is.Equal(<-get0, 0)
	is.NoErr(<-q.Put(bg(), 1))
	is.Equal(<-get1, 1)
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_nonblocking_put_with_getters.
//
// Tornado's put_nowait does not unblock getters until the next tick; here the
// item is handed over inside TryPut.
func TestQueueTornadoNonblockingPutWithGetters(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	get0, get1 := q.Get(bg()), q.Get(bg())
	is.NoErr(q.TryPut(0))
	v, ok, done := recvNow(get0)
	is.True(done && ok)
	is.Equal(v, 0)
	is.NoErr(q.TryPut(1))
	v, ok, done = recvNow(get1)
	is.True(done && ok)
	is.Equal(v, 1)
	is.Equal(q.Len(), 0)
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_blocking_put_wait.
func TestQueueTornadoBlockingPutWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		is.NoErr(q.TryPut(0))
		go func() { time.Sleep(10 * time.Millisecond); <-q.Get(bg()) }()
		go func() { time.Sleep(20 * time.Millisecond); <-q.Get(bg()) }()
		puts := []<-chan error{q.Put(bg(), 0), q.Put(bg(), 1)}
		for _, p := range puts {
			_, _, done := recvNow(p)
			is.True(!done)
		}
		for _, p := range puts {
			is.NoErr(<-p)
		}
		synctest.Wait()
	})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_put_timeout.
func TestQueueTornadoPutTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		is.NoErr(q.TryPut(0)) // now it's full
		ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
		defer cancel()
		putTimeout := q.Put(ctx, 1)
		put := q.Put(bg(), 2)
		is.Equal(<-putTimeout, context.DeadlineExceeded)
		v, err := q.TryGet()
		is.NoErr(err)
		is.Equal(v, 0)
		is.Equal(<-q.Get(bg()), 2) // 1 was never put in the queue
		is.NoErr(<-put)            // the TryGet made room for it
		is.Equal(q.Unfinished(), 2)
	})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_put_timeout_preempted.
func TestQueueTornadoPutTimeoutPreempted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		is.NoErr(q.TryPut(0))
		ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
		defer cancel()
		put := q.Put(ctx, 1)
		q.Get(bg())
		time.Sleep(20 * time.Millisecond)
		is.NoErr(<-put) // acceptance is final: no DeadlineExceeded
		is.Equal(q.Len(), 1)
	})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_put_clears_timed_out_putters.
func TestQueueTornadoPutClearsTimedOutPutters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		var putters []<-chan error
		for i := range 10 {
			ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
			defer cancel()
			putters = append(putters, q.Put(ctx, i))
		}
		put := q.Put(bg(), 10)
		is.Equal(queueWaiting(q).putters, 10)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(queueWaiting(q).putters, 1)
		_, _, done := recvNow(put)
		is.True(!done)
		q.Put(bg(), 11)
		is.Equal(queueWaiting(q).putters, 2)
		for _, p := range putters[1:] {
			is.Equal(<-p, context.DeadlineExceeded)
		}
	})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_put_clears_timed_out_getters.
func TestQueueTornadoPutClearsTimedOutGetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		var getters []<-chan int
		for range 10 {
			ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
			defer cancel()
			getters = append(getters, q.Get(ctx))
		}
		get := q.Get(bg())
		q.Get(bg())
		is.Equal(queueWaiting(&q).getters, 12)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(queueWaiting(&q).getters, 2)
		_, _, done := recvNow(get)
		is.True(!done)
		q.Put(bg(), 0)
		is.Equal(queueWaiting(&q).getters, 1)
		is.Equal(<-get, 0)
		for _, g := range getters {
			_, ok := <-g
			is.True(!ok)
		}
	})
}

// tornado tornado/test/queues_test.py: QueuePutTest.test_float_maxsize.
//
// tornado's test_float_maxsize checks that maxsize=1.3 acts as a bound of 2.
// A Go maxsize is an int, so only the behaviour around the bound is ported.
func TestQueueTornadoFloatMaxsize(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](2)
	is.True(q.Empty())
	is.True(!q.Full())
	is.NoErr(q.TryPut(0))
	is.NoErr(q.TryPut(1))
	is.True(!q.Empty())
	is.True(q.Full())
	is.Equal(q.TryPut(2), ErrFull)
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
	is.True(!q.Empty())
	is.True(!q.Full())

	is.NoErr(<-q.Put(bg(), 2))
	put := q.Put(bg(), 3)
	_, _, done := recvNow(put)
	is.True(!done)
	is.Equal(<-q.Get(bg()), 1)
	is.NoErr(<-put)
	is.True(q.Full())
}

// tornado tornado/test/queues_test.py: QueueJoinTest.test_task_done_underflow.
func TestQueueTornadoTaskDoneUnderflow(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			is := is.New(t)
			q := k.new(0)
			is.True(strings.HasPrefix(panicText(q.TaskDone), "chans: "))
			is.Equal(q.Unfinished(), 0)
		})
	}
}

// tornado tornado/test/queues_test.py: QueueJoinTest.test_task_done.
func TestQueueTornadoTaskDone(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				q := k.new(0)
				for i := range 100 {
					is.NoErr(q.TryPut(i))
				}
				var sum atomic.Int64
				ctx, cancel := context.WithCancel(bg())
				var wg sync.WaitGroup
				for range 2 { // two goroutines share the work
					wg.Go(func() {
						for v := range q.All(ctx) {
							sum.Add(int64(v))
							q.TaskDone()
							time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
						}
					})
				}
				<-q.Join()
				is.Equal(sum.Load(), int64(99*100/2))
				cancel()
				wg.Wait()
			})
		})
	}
}

// tornado tornado/test/queues_test.py: QueueJoinTest.test_task_done_delay.
//
// It is TaskDone, not Get, that unblocks Join.
func TestQueueTornadoTaskDoneDelay(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			is := is.New(t)
			q := k.new(0)
			is.NoErr(q.TryPut(0))
			join := q.Join()
			_, _, done := recvNow(join)
			is.True(!done)
			<-q.Get(bg())
			_, _, done = recvNow(join)
			is.True(!done)
			q.TaskDone()
			_, _, done = recvNow(join)
			is.True(done)
		})
	}
}

// tornado tornado/test/queues_test.py: QueueJoinTest.test_join_empty_queue.
func TestQueueTornadoJoinEmptyQueue(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			is := is.New(t)
			q := k.new(0)
			for range 2 {
				_, _, done := recvNow(q.Join())
				is.True(done)
			}
		})
	}
}

// tornado tornado/test/queues_test.py: QueueJoinTest.test_join_timeout.
func TestQueueTornadoJoinTimeout(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				q := k.new(0)
				q.Put(bg(), 0)
				ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
				defer cancel()
				select {
				case <-q.Join():
					t.Fatal("Join returned with a task unfinished")
				case <-ctx.Done():
				}
				is.Equal(q.Unfinished(), 1)
			})
		})
	}
}

// tornado tornado/test/queues_test.py: PriorityQueueJoinTest.test_order.
//
// When a Get frees a slot in a full queue, the oldest blocked putter's item
// goes in first: so in a full LIFO or priority queue, Get may return it.
func TestQueueTornadoPriorityOrder(t *testing.T) {
	is := is.New(t)
	type pair struct {
		p int
		s string
	}
	q := NewPriorityQueue(2, func(a, b pair) bool { return a.p < b.p })
	is.NoErr(q.TryPut(pair{1, "a"}))
	is.NoErr(q.TryPut(pair{0, "b"}))
	is.True(q.Full())
	q.Put(bg(), pair{3, "c"})
	q.Put(bg(), pair{2, "d"})
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, pair{0, "b"})
	is.Equal(<-q.Get(bg()), pair{1, "a"})
	v, err = q.TryGet()
	is.NoErr(err)
	is.Equal(v, pair{2, "d"})
	is.Equal(<-q.Get(bg()), pair{3, "c"})
	is.True(q.Empty())
}

// tornado tornado/test/queues_test.py: LifoQueueJoinTest.test_order.
func TestQueueTornadoLifoOrder(t *testing.T) {
	is := is.New(t)
	q := NewLifoQueue[int](2)
	is.NoErr(q.TryPut(1))
	is.NoErr(q.TryPut(0))
	is.True(q.Full())
	q.Put(bg(), 3)
	q.Put(bg(), 2)
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 3)
	is.Equal(<-q.Get(bg()), 2)
	v, err = q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
	is.Equal(<-q.Get(bg()), 1)
	is.True(q.Empty())
}

// tornado tornado/test/queues_test.py: ProducerConsumerTest.test_producer_consumer.
func TestQueueTornadoProducerConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](3)
		var history []int
		ctx, cancel := context.WithCancel(bg())
		go func() {
			for v := range q.All(ctx) {
				history = append(history, v)
				q.TaskDone()
			}
		}()
		for i := range 10 {
			is.NoErr(<-q.Put(bg(), i))
		}
		<-q.Join()
		is.Equal(history, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
		cancel()
		synctest.Wait()
	})
}
