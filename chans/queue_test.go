package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Tests named Tornado* are the cases of tornado's queues_test.py and Toro*
// those of toro's test_queue.py, rewritten for channels and contexts: a
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

// ---- tornado QueueBasicTest

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

// ---- tornado QueueGetTest

func TestQueueTornadoBlockingGet(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(q.TryPut(0))
	is.Equal(<-q.Get(bg()), 0)
}

func TestQueueTornadoNonblockingGet(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(q.TryPut(0))
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
}

func TestQueueTornadoNonblockingGetException(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	_, err := q.TryGet()
	is.Equal(err, ErrEmpty)
}

func TestQueueTornadoGetWithPutters(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](1)
	is.NoErr(q.TryPut(0))
	put := q.Put(bg(), 1)
	is.Equal(<-q.Get(bg()), 0)
	is.NoErr(<-put)
	is.Equal(q.Len(), 1)
}

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

// ---- tornado QueuePutTest

func TestQueueTornadoBlockingPut(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.NoErr(<-q.Put(bg(), 0))
	v, err := q.TryGet()
	is.NoErr(err)
	is.Equal(v, 0)
}

func TestQueueTornadoNonblockingPutException(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](1)
	q.Put(bg(), 0)
	is.Equal(q.TryPut(1), ErrFull)
}

func TestQueueTornadoPutWithGetters(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	get0, get1 := q.Get(bg()), q.Get(bg())
	is.NoErr(<-q.Put(bg(), 0))
	is.Equal(<-get0, 0)
	is.NoErr(<-q.Put(bg(), 1))
	is.Equal(<-get1, 1)
}

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

// ---- tornado QueueJoinTest, on every kind of queue

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

// ---- tornado ProducerConsumerTest

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

// ---- toro test_queue.py, section 1 (from gevent's test_queue.py)

func TestQueueToroSimpleQueue(t *testing.T) {
	const size = 5
	want := map[string][]int{
		"fifo": {111, 333, 222},
		"lifo": {222, 333, 111},
		"prio": {111, 222, 333},
	}
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				q := k.new(size)
				for range 2 { // twice on the same queue
					is.True(q.Empty())
					for _, v := range []int{111, 333, 222} {
						is.NoErr(q.TryPut(v))
					}
					var got []int
					for range 3 {
						v, err := q.TryGet()
						is.NoErr(err)
						got = append(got, v)
					}
					is.Equal(got, want[k.name])
					for i := range size - 1 {
						is.NoErr(q.TryPut(i))
						is.True(!q.Empty())
					}
					is.True(!q.Full())
					is.NoErr(q.TryPut(444))
					is.True(q.Full())
					is.Equal(q.TryPut(555), ErrFull)

					ctx, cancel := context.WithTimeout(bg(), 10*time.Millisecond)
					is.Equal(<-q.Put(ctx, 555), context.DeadlineExceeded)
					cancel()

					is.Equal(q.Len(), size)
					for range size {
						_, err := q.TryGet()
						is.NoErr(err)
					}
					is.True(q.Empty())
					_, err := q.TryGet()
					is.Equal(err, ErrEmpty)

					ctx, cancel = context.WithTimeout(bg(), 10*time.Millisecond)
					_, ok := <-q.Get(ctx)
					is.True(!ok)
					is.Equal(ctx.Err(), context.DeadlineExceeded)
					cancel()
				}
			})
		})
	}
}

func TestQueueToroJoinableQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		is.True(panicText(q.TaskDone) != "")
		for range 2 { // done twice, on the same queue
			var cum atomic.Int64
			for range 2 {
				go func() {
					for {
						x := <-q.Get(bg())
						if x < 0 { // the sentinel: stop
							q.TaskDone()
							return
						}
						cum.Add(int64(x))
						q.TaskDone()
					}
				}()
			}
			for i := range 100 {
				q.Put(bg(), i)
			}
			<-q.Join()
			is.Equal(cum.Load(), int64(99*100/2))
			q.Put(bg(), -1)
			q.Put(bg(), -1)
			<-q.Join() // joining twice works
			synctest.Wait()
		}
		is.True(strings.HasPrefix(panicText(q.TaskDone), "chans: "))
	})
}

// ---- toro section 2 (from gevent's test__queue.py)

func TestQueueToroRepr(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.Equal(q.String(), "Queue(maxsize=0, len=0)")
	is.Equal(NewLifoQueue[int](3).String(), "LifoQueue(maxsize=3, len=0)")
	is.Equal(NewPriorityQueue(0, lessInt).String(), "PriorityQueue(maxsize=0, len=0)")
}

func TestQueueToroSendFirst(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.NoErr(<-q.Put(bg(), "hi"))
	is.Equal(<-q.Get(bg()), "hi")
}

func TestQueueToroSendLast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[string]
		go func() {
			v := <-q.Get(bg()) // blocks until the Put below
			is.Equal(v, "hi2")
			q.Put(bg(), "ok")
		}()
		synctest.Wait()
		is.NoErr(<-q.Put(bg(), "hi2"))
		is.Equal(<-q.Get(bg()), "ok")
	})
}

func TestQueueToroMaxSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[string](2)
		var mu sync.Mutex
		var results []string
		got := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(results) }
		go func() {
			for _, s := range []string{"a", "b", "c"} {
				is.NoErr(<-q.Put(bg(), s))
				mu.Lock()
				results = append(results, s)
				mu.Unlock()
			}
		}()
		synctest.Wait()
		is.Equal(got(), []string{"a", "b"})
		is.Equal(<-q.Get(bg()), "a")
		synctest.Wait()
		is.Equal(got(), []string{"a", "b", "c"})
		is.Equal(<-q.Get(bg()), "b")
		is.Equal(<-q.Get(bg()), "c")
	})
}

func TestQueueToroMultipleWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[string]
		sendings := []string{"1", "2", "3", "4"}
		results := make([]Result[string], len(sendings))
		for i := range sendings {
			go func() { results[i].Set(<-q.Get(bg())) }()
		}
		synctest.Wait()
		ready := func() int {
			synctest.Wait()
			set := map[string]bool{}
			for i := range results {
				if v, err := results[i].TryGet(); err == nil {
					set[v] = true
				}
			}
			return len(set)
		}
		q.Put(bg(), sendings[0])
		is.Equal(ready(), 1)
		q.Put(bg(), sendings[1])
		is.Equal(ready(), 2)
		q.Put(bg(), sendings[2])
		q.Put(bg(), sendings[3])
		is.Equal(ready(), 4)
	})
}

func TestQueueToroSendersThatDie(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[string]
		done := make(chan error)
		go func() { done <- <-q.Put(bg(), "sent") }()
		is.Equal(<-q.Get(bg()), "sent")
		is.NoErr(<-done)
	})
}

// gevent issue 45: Join exits at once if no job was ever put.
func TestQueueToroJoinIssue45(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.True(isClosed(q.Join()))
	is.Equal(testing.AllocsPerRun(100, func() { <-q.Join() }), 0.0) // and allocates nothing
}

// ---- toro section 3 (written for toro)

func TestQueueToroStr(t *testing.T) {
	is := is.New(t)
	is.True(strings.Contains(NewQueue[int](0).String(), "Queue"))
	is.True(strings.Contains(NewQueue[int](11).String(), "maxsize=11"))

	var q Queue[string]
	for range 7 {
		q.Get(bg())
	}
	is.True(strings.Contains(q.String(), "getters[7]"))

	q1 := NewQueue[string](1)
	for range 5 {
		q1.Put(bg(), "foo")
	}
	is.True(strings.Contains(q1.String(), "putters[4]"))

	// toro prints the items ("queue="); this Queue prints how many.
	q2 := NewQueue[string](1)
	is.True(strings.Contains(q2.String(), "len=0"))
	q2.Put(bg(), "foo")
	is.True(strings.Contains(q2.String(), "len=1"))
}

func TestQueueToroMaxsize(t *testing.T) {
	is := is.New(t)
	for _, f := range []func(){
		func() { NewQueue[int](-1) },
		func() { NewLifoQueue[int](-1) },
		func() { NewPriorityQueue(-1, lessInt) },
	} {
		msg := panicText(f)
		is.True(strings.HasPrefix(msg, "chans: "))
		is.True(strings.HasSuffix(msg, "negative maxsize"))
	}
	is.Equal(panicText(func() { NewPriorityQueue[int](0, nil) }), "chans: NewPriorityQueue with nil less")
}

func TestQueueToroFull(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.True(!q.Full())
	is.Equal(q.Cap(), 0)

	q1 := NewQueue[string](1)
	is.Equal(q1.Cap(), 1)
	is.True(!q1.Full())
	q1.Put(bg(), "foo")
	is.True(q1.Full())
}

func TestQueueToroGetTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		get := func() (int, bool, time.Duration) {
			start := time.Now()
			ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
			defer cancel()
			v, ok := <-q.Get(ctx)
			return v, ok, time.Since(start)
		}
		_, ok, took := get()
		is.True(!ok)
		is.Equal(took, 100*time.Millisecond) // the bubble's clock is exact

		// Putting and getting returns the queue to its initial state.
		q.Put(bg(), 1)
		v, ok, _ := get()
		is.True(ok)
		is.Equal(v, 1)

		_, ok, took = get()
		is.True(!ok)
		is.Equal(took, 100*time.Millisecond)
	})
}

func TestQueueToroPutTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		put := func(v int) (took time.Duration, err error) {
			start := time.Now()
			ctx, cancel := context.WithTimeout(bg(), 100*time.Millisecond)
			defer cancel()
			err = <-q.Put(ctx, v)
			return time.Since(start), err
		}
		q.Put(bg(), 1)
		took, err := put(2)
		is.Equal(err, context.DeadlineExceeded)
		is.Equal(took, 100*time.Millisecond)

		// Getting and putting returns the queue to its initial state.
		is.Equal(<-q.Get(bg()), 1)
		_, err = put(1)
		is.NoErr(err)

		took, err = put(2)
		is.Equal(err, context.DeadlineExceeded)
		is.Equal(took, 100*time.Millisecond)
		is.Equal(q.Len(), 1)
	})
}

func TestQueueToroJoinableStr(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.True(!strings.Contains(q.String(), "tasks"))
	q.Put(bg(), "foo")
	is.True(strings.Contains(q.String(), "tasks=1"))
}

func TestQueueToroJoin(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.NoErr(<-q.Put(bg(), "foo"))
	is.NoErr(<-q.Put(bg(), "bar"))
	is.Equal(q.Unfinished(), 2)
	join := q.Join()
	q.TaskDone()
	is.Equal(q.Unfinished(), 1)
	q.TaskDone()
	is.Equal(q.Unfinished(), 0)
	<-join
}

// toro runs join callbacks right after the task_done that finishes the last
// task. Here the Join channel is closed inside that TaskDone call.
func TestQueueToroJoinCallback(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	q.Put(bg(), "foo")
	q.Put(bg(), "foo")
	join := q.Join()
	q.TaskDone()
	_, _, done := recvNow(join)
	is.True(!done)
	q.TaskDone()
	_, _, done = recvNow(join)
	is.True(done)
}

func TestQueueToroJoinTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		q.Put(bg(), 1)
		start := time.Now()
		select {
		case <-q.Join():
			t.Fatal("Join returned with a task unfinished")
		case <-time.After(100 * time.Millisecond):
		}
		is.Equal(time.Since(start), 100*time.Millisecond)
		is.Equal(q.Unfinished(), 1)
	})
}

// Join blocks again once a task is added after the count reached zero.
func TestQueueToroJoinClear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[string]
		is.NoErr(q.TryPut("foo"))
		q.TaskDone()
		<-q.Join()
		<-q.Join()

		is.NoErr(q.TryPut("bar"))
		join := q.Join()
		select {
		case <-join:
			t.Fatal("Join returned with a task unfinished")
		case <-time.After(100 * time.Millisecond):
		}
		q.TaskDone()
		_, _, done := recvNow(join)
		is.True(done)
		<-q.Join()
	})
}

// ---- cancellation: nothing lost, nothing given twice

// An item taken by a Get whose ctx ends before the receive goes back where the
// next Get finds it first, for every order, without changing the unfinished
// count; Len sees it back at once (W3).
func TestQueueGetGivesBackOnCancel(t *testing.T) {
	for _, k := range queueKinds {
		t.Run(k.name, func(t *testing.T) {
			is := is.New(t)
			q := k.new(0)
			for _, v := range []int{2, 1, 3} {
				is.NoErr(q.TryPut(v))
			}
			first := map[string]int{"fifo": 2, "lifo": 3, "prio": 1}[k.name]
			ctx, cancel := context.WithCancel(bg())
			ch := q.Get(ctx) // fast path: the item is in ch, no AfterFunc yet
			is.Equal(q.Len(), 2)
			cancel()
			is.Equal(q.Len(), 3)
			is.Equal(q.Unfinished(), 3)
			_, ok := <-ch
			is.True(!ok)
			v, err := q.TryGet()
			is.NoErr(err)
			is.Equal(v, first)
		})
	}
}

// An item given back to a bounded queue whose slot a putter took meanwhile
// still goes back: Len exceeds Cap for a while rather than lose it.
func TestQueueGiveBackOverCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		is.NoErr(q.TryPut(1))
		put := q.Put(bg(), 2) // blocked
		ctx, cancel := context.WithCancel(bg())
		get := q.Get(ctx) // takes 1, which lets 2 in
		is.NoErr(<-put)
		is.Equal(q.Len(), 1)
		cancel()
		is.Equal(q.Len(), 2) // 1 is back (W3), on top of 2
		_, ok := <-get
		is.True(!ok)
		is.True(q.Full())
		is.Equal(q.TryPut(3), ErrFull)
		put3 := q.Put(bg(), 3)
		v, _ := q.TryGet() // over Cap: frees no real slot
		is.Equal(v, 1)
		_, _, done := recvNow(put3)
		is.True(!done)
		v, _ = q.TryGet() // now it does: 3 goes in behind 2
		is.Equal(v, 2)
		is.NoErr(<-put3)
		v, _ = q.TryGet()
		is.Equal(v, 3)
		is.Equal(q.Unfinished(), 3)
	})
}

// A putter whose ctx ends before its item is accepted leaves no trace.
func TestQueuePutCancelLeavesNoTrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](1)
		is.NoErr(q.TryPut(1))
		ctx, cancel := context.WithCancel(bg())
		put := q.Put(ctx, 2)
		cancel()
		err, ok := <-put
		is.True(ok) // a Put's channel always carries its answer
		is.Equal(err, context.Canceled)
		_, ok = <-put
		is.True(!ok)
		is.Equal(q.Len(), 1)
		is.Equal(q.Unfinished(), 1)
		is.Equal(queueInside(q, false, nil).pending, 0)
		v, _ := q.TryGet()
		is.Equal(v, 1)
		_, err = q.TryGet()
		is.Equal(err, ErrEmpty)
	})
}

// Blocked putters go in in the order of their calls, and cancelled ones are
// skipped.
func TestQueuePuttersFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewLifoQueue[int](1)
		is.NoErr(q.TryPut(0))
		ctx, cancel := context.WithCancel(bg())
		p1 := q.Put(bg(), 1)
		p2 := q.Put(ctx, 2)
		p3 := q.Put(bg(), 3)
		cancel()
		synctest.Wait()
		is.Equal(<-p2, context.Canceled)
		is.Equal(<-q.Get(bg()), 1) // 1 goes in on top, and comes out
		is.NoErr(<-p1)
		is.Equal(<-q.Get(bg()), 3)
		is.NoErr(<-p3)
		is.Equal(<-q.Get(bg()), 0)
		is.Equal(q.Unfinished(), 3)
	})
}

// ---- shutdown (asyncio 3.13)

func TestQueueShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[int](2)
		is.NoErr(q.TryPut(1))
		is.NoErr(q.TryPut(2))
		put := q.Put(bg(), 3)
		q.Shutdown(false)
		err, ok := <-put
		is.True(ok)
		is.Equal(err, ErrShutdown)
		is.Equal(<-q.Put(bg(), 4), ErrShutdown)
		is.Equal(q.TryPut(4), ErrShutdown)
		is.True(strings.HasSuffix(q.String(), ", shutdown)"))

		// Getters drain what is left.
		is.Equal(q.Len(), 2)
		is.Equal(<-q.Get(bg()), 1)
		v, err := q.TryGet()
		is.NoErr(err)
		is.Equal(v, 2)
		_, err = q.TryGet()
		is.Equal(err, ErrShutdown)
		_, ok = <-q.Get(bg())
		is.True(!ok)

		// Tasks still count: the items taken were not marked done.
		is.Equal(q.Unfinished(), 2)
		q.TaskDone()
		q.TaskDone()
		<-q.Join()
	})
}

func TestQueueShutdownWakesGetters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		g1, g2 := q.Get(bg()), q.Get(bg())
		var n atomic.Int32
		ctx, cancel := context.WithCancel(bg())
		defer cancel()
		go func() {
			for range q.All(ctx) {
				n.Add(1)
			}
		}()
		synctest.Wait()
		q.Shutdown(false)
		synctest.Wait() // the All loop has ended
		_, ok := <-g1
		is.True(!ok)
		_, ok = <-g2
		is.True(!ok)
		is.Equal(n.Load(), int32(0))
	})
}

func TestQueueShutdownImmediate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewLifoQueue[int](2)
		is.NoErr(q.TryPut(1))
		is.NoErr(q.TryPut(2))
		put := q.Put(bg(), 3)
		held := <-q.Get(bg()) // 3 goes in, and comes out (LIFO)
		is.Equal(held, 3)
		is.NoErr(<-put)
		put = q.Put(bg(), 4)
		join := q.Join()
		q.Shutdown(true)
		is.Equal(<-put, ErrShutdown)
		is.Equal(q.Len(), 0)
		is.Equal(q.Unfinished(), 1) // the item held by a getter
		_, _, done := recvNow(join)
		is.True(!done)
		q.TaskDone()
		_, _, done = recvNow(join)
		is.True(done)
		_, err := q.TryGet()
		is.Equal(err, ErrShutdown)
	})
}

// After Shutdown(true), an item a getter gives back is dropped with its task;
// after Shutdown(false) it goes back to be drained.
func TestQueueShutdownGiveBack(t *testing.T) {
	for _, immediate := range []bool{false, true} {
		t.Run(fmt.Sprint("immediate=", immediate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				var q Queue[int]
				ctx, cancel := context.WithCancel(bg())
				get := q.Get(ctx)
				q.Put(bg(), 1) // into get's buffer
				q.Shutdown(immediate)
				join := q.Join()
				cancel()
				synctest.Wait()
				_, ok := <-get
				is.True(!ok)
				_, _, done := recvNow(join)
				if immediate {
					is.Equal(q.Len(), 0)
					is.Equal(q.Unfinished(), 0)
					is.True(done)
				} else {
					is.Equal(q.Len(), 1)
					is.Equal(q.Unfinished(), 1)
					is.True(!done)
					v, err := q.TryGet()
					is.NoErr(err)
					is.Equal(v, 1)
				}
			})
		})
	}
}

// After Shutdown(true), a getter walking away from an item it never
// received finishes that item's task; Join must learn of it when the ctx
// ends, without waiting for another call into the queue.
func TestQueueShutdownImmediateJoinAfterGiveBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		q.TryPut(1)
		ctx, cancel := context.WithCancel(bg())
		get := q.Get(ctx) // fast path: no AfterFunc registered yet
		join := q.Join()
		q.Shutdown(true)
		cancel()
		synctest.Wait()
		_, _, done := recvNow(join)
		is.True(done)
		_, ok := <-get
		is.True(!ok)
	})
}

// Shutdown(true) wakes getters with closed channels and Join waiters when no
// task is left; TaskDone already called for stored items does not underflow.
func TestQueueShutdownImmediateJoin(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	q.TryPut(1)
	q.TryPut(2)
	q.TaskDone() // for an item still stored: allowed, as in asyncio
	join := q.Join()
	q.Shutdown(false)
	is.Equal(q.Len(), 2)
	q.Shutdown(true) // drops what Shutdown(false) left
	is.Equal(q.Len(), 0)
	is.Equal(q.Unfinished(), 0)
	_, _, done := recvNow(join)
	is.True(done)
	is.True(panicText(q.TaskDone) != "")
}

// ---- All

func TestQueueAllBreakLosesNothing(t *testing.T) {
	is := is.New(t)
	q := NewQueue[int](0)
	for i := range 5 {
		q.TryPut(i)
	}
	for v := range q.All(bg()) {
		if v == 1 {
			break
		}
	}
	is.Equal(q.Len(), 3)
	v, _ := q.TryGet()
	is.Equal(v, 2)
}

func TestQueueAllEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var q Queue[int]
		q.TryPut(1)
		q.TryPut(2)
		ctx, cancel := context.WithTimeout(bg(), time.Second)
		defer cancel()
		var got []int
		for v := range q.All(ctx) { // ends when ctx does
			got = append(got, v)
		}
		is.Equal(got, []int{1, 2})
		is.Equal(ctx.Err(), context.DeadlineExceeded)

		q.TryPut(3)
		q.Shutdown(false)
		got = nil
		for v := range q.All(bg()) { // ends once shut down and drained
			got = append(got, v)
		}
		is.Equal(got, []int{3})
	})
}

// ---- the rest

func TestQueueZeroValueUnbounded(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	for i := range 1000 {
		is.NoErr(q.TryPut(i))
	}
	is.True(!q.Full())
	is.Equal(q.Len(), 1000)
	for i := range 1000 {
		v, err := q.TryGet()
		is.NoErr(err)
		is.Equal(v, i)
	}
}

// Queue[error] has two waiter queues of the same type; each must keep its
// own owner (Put answers, Get items).
func TestQueueOfErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[error](1)
		e1, e2 := errors.New("one"), errors.New("two")
		is.NoErr(<-q.Put(bg(), e1))
		ctx, cancel := context.WithCancel(bg())
		put := q.Put(ctx, e2)
		cancel()
		is.Equal(<-put, context.Canceled)
		ctx, cancel = context.WithCancel(bg())
		get := q.Get(ctx)
		cancel()
		is.Equal(q.Len(), 1)
		_, ok := <-get
		is.True(!ok)
		is.Equal(<-q.Get(bg()), e1)
		_, err := q.TryGet()
		is.Equal(err, ErrEmpty)
	})
}

// The store against slices: ring wrap-around, growth and shrinking, items
// put back at the front, the heap's order.
func TestQueueStore(t *testing.T) {
	is := is.New(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, o := range []queueOrder{fifo, lifo, prio} {
		s := queueStore[int]{order: o, less: lessInt}
		var model []int // fifo: front first; lifo: top last; prio: sorted
		for range 20000 {
			switch op := r.IntN(10); {
			case op < 4 || (op < 6 && len(model) < 300):
				v := r.IntN(1000)
				s.push(v)
				switch o {
				case fifo, lifo:
					model = append(model, v)
				case prio:
					i, _ := slices.BinarySearch(model, v)
					model = slices.Insert(model, i, v)
				}
			case len(model) > 0:
				v := s.pop()
				var want int
				switch o {
				case fifo, prio:
					want, model = model[0], model[1:]
				case lifo:
					want, model = model[len(model)-1], model[:len(model)-1]
				}
				is.Equal(v, want)
				if op == 9 { // give it back
					s.unpop(v)
					if o == lifo {
						model = append(model, v)
					} else {
						model = slices.Insert(model, 0, v)
					}
				}
			}
			is.Equal(s.len(), len(model))
		}
	}
}

// ---- benchmarks

func BenchmarkQueueTryPutTryGet(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		q := NewQueue[int](64)
		for i := 0; b.Loop(); i++ {
			if q.TryPut(i) != nil {
				b.Fatal("full")
			}
			if _, err := q.TryGet(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan int, 64)
		for i := 0; b.Loop(); i++ {
			select {
			case ch <- i:
			default:
				b.Fatal("full")
			}
			select {
			case <-ch:
			default:
				b.Fatal("empty")
			}
		}
	})
}

// Put then Get through the returned channels, in one goroutine, with a
// cancellable ctx (the costly case: grants are tracked until received).
func BenchmarkQueuePutGet(b *testing.B) {
	ctx, cancel := context.WithCancel(bg())
	defer cancel()
	b.Run("impl=chans", func(b *testing.B) {
		q := NewQueue[int](64)
		for i := 0; b.Loop(); i++ {
			if err := <-q.Put(ctx, i); err != nil {
				b.Fatal(err)
			}
			<-q.Get(ctx)
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan int, 64)
		for i := 0; b.Loop(); i++ {
			select {
			case ch <- i:
			case <-ctx.Done():
			}
			select {
			case <-ch:
			case <-ctx.Done():
			}
		}
	})
}

// One producer and one consumer goroutine through a bounded queue, blocking
// on both sides.
func BenchmarkQueueProducerConsumer(b *testing.B) {
	ctx, cancel := context.WithCancel(bg())
	defer cancel()
	b.Run("impl=chans", func(b *testing.B) {
		q := NewQueue[int](16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range b.N {
				<-q.Get(ctx)
			}
		}()
		for i := range b.N {
			<-q.Put(ctx, i)
		}
		<-done
	})
	b.Run("impl=chan", func(b *testing.B) {
		ch := make(chan int, 16)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range b.N {
				select {
				case <-ch:
				case <-ctx.Done():
				}
			}
		}()
		for i := range b.N {
			select {
			case ch <- i:
			case <-ctx.Done():
			}
		}
		<-done
	})
}
