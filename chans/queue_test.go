package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Turnstile's own tests of Queue; the cases ported from tornado and toro
// are in queue_tornado_test.go and queue_toro_test.go.

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
				v, seq := s.pop()
				var want int
				switch o {
				case fifo, prio:
					want, model = model[0], model[1:]
				case lifo:
					want, model = model[len(model)-1], model[:len(model)-1]
				}
				is.Equal(v, want)
				if op == 9 { // give it back
					s.unpop(v, seq)
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

// #11: a priority queue's less that panics panics the call that ran it and
// leaves the queue as it was: a Put adds nothing, a Get takes nothing.
func TestQueueLessPanics(t *testing.T) {
	is := is.New(t)
	var boom atomic.Bool
	q := NewPriorityQueue[int](0, func(a, b int) bool {
		if boom.Load() {
			panic("less")
		}
		return a < b
	})
	for _, v := range []int{5, 3, 8} {
		is.NoErr(q.TryPut(v))
	}
	boom.Store(true)
	is.Equal(panicText(func() { _ = q.TryPut(1) }), "less")
	is.Equal(panicText(func() { _ = q.PutWait(bg(), 1) }), "less")
	is.Equal(panicText(func() { _, _ = q.TryGet() }), "less")
	is.Equal(q.Len(), 3)
	is.Equal(q.Unfinished(), 3)
	boom.Store(false)
	var got []int
	for range 3 {
		v, err := q.TryGet()
		is.NoErr(err)
		got = append(got, v)
	}
	is.Equal(got, []int{3, 5, 8}) // the heap is whole
}

// An item that comes back from a getter whose ctx ended is put back in the
// goroutine context.AfterFunc starts: a less that panics there must not crash
// the process nor lose the item, which goes first in line.
func TestQueueLessPanicsInTheLibrarysGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var boom atomic.Bool
		q := NewPriorityQueue[int](0, func(a, b int) bool {
			if boom.Load() {
				panic("less")
			}
			return a < b
		})
		ctx, cancel := context.WithCancel(bg())
		g := q.Get(ctx)       // queued, so its ctx is watched
		is.NoErr(q.TryPut(4)) // to g's buffer
		is.NoErr(q.TryPut(9)) // stored: 4 will have to find its place beside it
		boom.Store(true)
		cancel() // 4 comes back in the AfterFunc's goroutine, where less panics
		synctest.Wait()
		_, ok := <-g
		is.True(!ok)
		boom.Store(false)
		for _, want := range []int{4, 9} { // 4 kept, and first in line
			v, err := q.TryGet()
			is.NoErr(err)
			is.Equal(v, want)
		}
		q.mu.Lock()
		is.Equal(q.lost, "less") // absorbed, and recorded
		q.mu.Unlock()
	})
}

// #11: items that compare equal come out of a priority queue oldest first,
// also when one comes back from a getter that walked away.
func TestQueuePriorityStable(t *testing.T) {
	is := is.New(t)
	type job struct{ prio, id int }
	q := NewPriorityQueue[job](0, func(a, b job) bool { return a.prio < b.prio })
	for id := range 6 {
		is.NoErr(q.TryPut(job{id % 2, id}))
	}
	j := <-q.Get(bg()) // {0, 0}
	is.Equal(j, job{0, 0})
	ctx, cancel := context.WithCancel(bg())
	g := q.Get(ctx) // {0, 2}, left unreceived
	cancel()        // the next call takes it back, with its place among equals
	var ids []int
	for range 5 {
		j, err := q.TryGet()
		is.NoErr(err)
		ids = append(ids, j.id)
	}
	is.Equal(ids, []int{2, 4, 1, 3, 5})
	_, ok := <-g
	is.True(!ok)
}

// #11: after a burst of blocked putters drains, the queue keeps none of
// their memory: the items they waited with are held in slots that go once
// all are free.
func TestQueueGivesMemoryBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		q := NewQueue[[64]byte](1)
		is.NoErr(q.TryPut([64]byte{}))
		const n = 20_000
		answers := make([]<-chan error, n)
		for i := range answers {
			answers[i] = q.Put(bg(), [64]byte{})
		}
		for range n + 1 {
			_, err := q.GetWait(bg())
			is.NoErr(err)
		}
		for _, a := range answers {
			is.NoErr(<-a)
		}
		st := queueInside(q, true, nil)
		is.Equal(st.pending, 0)
		q.mu.Lock()
		is.True(q.slots == nil && q.freeSlots == nil)
		is.True(q.putters.nfree <= maxFree)
		q.mu.Unlock()
	})
}
