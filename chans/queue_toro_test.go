package chans

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of toro's test/test_queue.py, named TestQueueToro*, each
// naming its origin upstream, rewritten for channels and contexts: a
// timeout is a ctx deadline, a future's done() is a non-blocking receive, a
// coroutine is a goroutine in a synctest bubble. Where this package means to
// differ, the test says so.

// toro test/test_queue.py (section 1, from gevent's test_queue.py): test_simple_queue.
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

// toro test/test_queue.py (section 1, from gevent's test_queue.py): test_joinable_queue.
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

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_repr.
func TestQueueToroRepr(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.Equal(q.String(), "Queue(maxsize=0, len=0)")
	is.Equal(NewLifoQueue[int](3).String(), "LifoQueue(maxsize=3, len=0)")
	is.Equal(NewPriorityQueue(0, lessInt).String(), "PriorityQueue(maxsize=0, len=0)")
}

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_send_first.
func TestQueueToroSendFirst(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.NoErr(<-q.Put(bg(), "hi"))
	is.Equal(<-q.Get(bg()), "hi")
}

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_send_last.
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

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_max_size.
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

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_multiple_waiters.
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

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_senders_that_die.
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

// toro test/test_queue.py (section 2, from gevent's test__queue.py): test_join_issue_45.
//
// gevent issue 45: Join exits at once if no job was ever put.
func TestQueueToroJoinIssue45(t *testing.T) {
	is := is.New(t)
	var q Queue[int]
	is.True(isClosed(q.Join()))
	is.Equal(testing.AllocsPerRun(100, func() { <-q.Join() }), 0.0) // and allocates nothing
}

// toro test/test_queue.py (section 3, written for toro): test_str.
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

// toro test/test_queue.py (section 3, written for toro): test_maxsize.
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

// toro test/test_queue.py (section 3, written for toro): test_full.
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

// toro test/test_queue.py (section 3, written for toro): test_get_timeout.
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

// toro test/test_queue.py (section 3, written for toro): test_put_timeout.
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

// toro test/test_queue.py (section 3, written for toro): test_joinable_str.
func TestQueueToroJoinableStr(t *testing.T) {
	is := is.New(t)
	var q Queue[string]
	is.True(!strings.Contains(q.String(), "tasks"))
	q.Put(bg(), "foo")
	is.True(strings.Contains(q.String(), "tasks=1"))
}

// toro test/test_queue.py (section 3, written for toro): test_join.
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

// toro test/test_queue.py (section 3, written for toro): test_join_callback.
//
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

// toro test/test_queue.py (section 3, written for toro): test_join_timeout.
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

// toro test/test_queue.py (section 3, written for toro): test_join_clear.
//
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
