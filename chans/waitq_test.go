package chans

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Unit tests for the waiter queue every primitive shares. testOwner is the
// smallest primitive: it records what the queue asks of it, and with auto
// set its dispatch grants the next value to the oldest live waiter.

type testOwner struct {
	mu         sync.Mutex
	q          waitq[int]
	reclaimed  []int
	dispatches int
	auto       bool
	next       int
	left       []*waiter[int]
}

func newTestOwner() *testOwner {
	o := &testOwner{}
	o.q.bind(&o.mu, o)
	return o
}

func (o *testOwner) reclaim(_ *waiter[int], v int) { o.reclaimed = append(o.reclaimed, v) }

func (o *testOwner) dispatch() {
	o.dispatches++
	if !o.auto {
		return
	}
	if w := o.q.first(); w != nil {
		o.next++
		o.q.grant(w, o.next, true)
	}
}

// leaverOwner is a testOwner that is also a leaver.
type leaverOwner struct{ *testOwner }

func (o leaverOwner) left(w *waiter[int]) {
	o.testOwner.left = append(o.testOwner.left, w)
	w.ch <- -1
}

// locked runs f with the owner's mutex held, as every primitive calls the
// queue.
func (o *testOwner) locked(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f()
}

func TestWaitqFIFO(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	var ws []*waiter[int]
	o.locked(func() {
		for range 3 {
			ws = append(ws, o.q.enqueue(context.Background(), 1, false))
		}
		is.Equal(o.q.len(), 3)
		for i := range 3 {
			w := o.q.first()
			is.Equal(w, ws[i])
			o.q.grant(w, i, true)
		}
		is.True(o.q.empty())
	})
	for i, w := range ws {
		v, ok := <-w.ch
		is.True(ok)
		is.Equal(v, i)
		_, ok = <-w.ch
		is.True(!ok) // W1: one value, then closed
	}
}

// first finishes dead waiters at the head and closes their channels.
func TestWaitqFirstSkipsDead(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	var dead1, dead2, live *waiter[int]
	o.locked(func() {
		dead1 = o.q.enqueue(ctx, 1, false)
		dead2 = o.q.enqueue(ctx, 1, false)
		live = o.q.enqueue(context.Background(), 1, false)
		cancel()
		is.Equal(o.q.first(), live)
		is.Equal(o.q.len(), 1)
	})
	for _, w := range []*waiter[int]{dead1, dead2} {
		_, ok, ready := recvNow(w.ch)
		is.True(ready && !ok)
		is.Equal(w.state, finished)
	}
}

// firstMatch returns the oldest live waiter that accepts the value, finishing
// dead ones it passes and leaving others queued.
func TestWaitqFirstMatch(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	o.locked(func() {
		even := o.q.enqueue(context.Background(), 0, false)
		even.match = func(v int) bool { return v%2 == 0 }
		dead := o.q.enqueue(ctx, 0, false)
		anyv := o.q.enqueue(context.Background(), 0, false)
		cancel()
		is.Equal(o.q.firstMatch(3), anyv) // passes even, finishes dead
		is.Equal(dead.state, finished)
		is.Equal(o.q.firstMatch(4), even)
		is.Equal(o.q.len(), 2)
		o.q.grant(anyv, 3, true)
		o.q.grant(even, 4, true)
		is.Equal(o.q.firstMatch(5), nil)
	})
}

// grant keeps an exclusive grant to a cancellable waiter in out until it is
// known to be received; a final grant, or one to a ctx that cannot end,
// finishes the waiter and stops its registration at once.
func TestWaitqGrantStates(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx := newCountingCtx()
	defer ctx.cancel()
	o.locked(func() {
		kept := o.q.enqueue(ctx, 1, false)
		final := o.q.enqueue(ctx, 1, false)
		bg := o.q.enqueue(context.Background(), 1, false)
		is.Equal(ctx.live(), 2)
		is.Equal(bg.stop, nil) // nothing registered for a ctx that cannot end

		o.q.grant(kept, 1, true)
		is.Equal(kept.state, granted)
		is.Equal(o.q.out.n, 1)

		o.q.grant(final, 2, false)
		is.Equal(final.state, finished)
		is.Equal(ctx.live(), 1) // final's registration stopped

		o.q.grant(bg, 3, true)
		is.Equal(bg.state, finished) // nothing to take back from Background
		is.Equal(o.q.out.n, 1)
	})
}

// takeBack and the channel decide who got a grant: whoever received first.
func TestWaitqTakeBack(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var unreceived, received *waiter[int]
	o.locked(func() {
		unreceived = o.q.enqueue(ctx, 1, false)
		received = o.q.enqueue(ctx, 1, false)
		o.q.grant(unreceived, 10, true)
		o.q.grant(received, 20, true)
	})
	v, ok := <-received.ch
	is.True(ok && v == 20)
	o.locked(func() {
		is.True(o.q.takeBack(unreceived))
		is.True(!o.q.takeBack(received))
		is.Equal(o.reclaimed, []int{10}) // only the unreceived grant came back
		is.Equal(o.q.out.n, 0)
	})
	_, ok = <-unreceived.ch
	is.True(!ok)
}

// sweep forgets received grants (dropping their registrations), takes back
// unreceived grants of ended contexts, drops dead waiters at the head, and
// calls dispatch only when something came back or left.
func TestWaitqSweep(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	long := newCountingCtx()
	defer long.cancel()
	ctx, cancel := context.WithCancel(context.Background())
	var got, ended *waiter[int]
	o.locked(func() {
		got = o.q.enqueue(long, 1, false)
		ended = o.q.enqueue(ctx, 1, false)
		o.q.grant(got, 1, true)
		o.q.grant(ended, 2, true)
	})
	<-got.ch
	o.locked(func() {
		o.q.sweep()
		is.Equal(o.dispatches, 0) // nothing came back
		is.Equal(o.q.out.n, 1)    // got forgotten, ended still out
		is.Equal(long.live(), 0)  // and got's registration dropped
	})
	o.mu.Lock()
	// ctx ends while the owner's mutex is held, so its AfterFunc must wait:
	// only the sweep can bring the grant back here.
	cancel()
	o.q.sweep()
	is.Equal(o.reclaimed, []int{2})
	is.Equal(o.dispatches, 1)
	is.Equal(o.q.out.n, 0)
	dctx, dcancel := context.WithCancel(context.Background())
	dead := o.q.enqueue(dctx, 1, false)
	dcancel()
	o.q.sweep()
	is.Equal(dead.state, finished)
	is.Equal(o.dispatches, 2)
	o.mu.Unlock()
}

// A queued waiter whose ctx ends leaves promptly through its AfterFunc, and
// the owner is asked to dispatch; a granted one's unreceived grant comes back.
func TestWaitqAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		o := newTestOwner()
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		var queued, out *waiter[int]
		o.locked(func() {
			queued = o.q.enqueue(ctx1, 1, false)
			out = o.q.enqueue(ctx2, 1, false)
			o.q.grant(out, 7, true)
		})
		cancel1()
		cancel2()
		synctest.Wait()
		o.locked(func() {
			is.Equal(queued.state, finished)
			is.Equal(out.state, finished)
			is.Equal(o.reclaimed, []int{7})
			is.Equal(o.dispatches, 2)
			is.True(o.q.empty())
			is.Equal(o.q.out.n, 0)
		})
		_, ok, ready := recvNow(queued.ch)
		is.True(ready && !ok)
	})
}

// With auto dispatch, a grant that comes back goes to the next live waiter.
func TestWaitqReclaimedGrantGoesToNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		o := newTestOwner()
		o.auto = true
		ctx, cancel := context.WithCancel(context.Background())
		var a, b *waiter[int]
		o.locked(func() {
			a = o.q.enqueue(ctx, 1, false)
			b = o.q.enqueue(context.Background(), 1, false)
			o.next++
			o.q.grant(a, o.next, true)
		})
		cancel()
		synctest.Wait()
		v, ok, ready := recvNow(b.ch)
		is.True(ready && ok && v == 2)
		is.Equal(o.reclaimed, []int{1})
		_, ok = <-a.ch
		is.True(!ok)
	})
}

// now hands out a grant without queuing and without registering; it is
// remembered (lazy) only when it is exclusive and its ctx can end.
func TestWaitqNow(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx := newCountingCtx()
	defer ctx.cancel()
	o.locked(func() {
		ch := o.q.now(ctx, 1, false, 5, true)
		v, ok, ready := recvNow(ch)
		is.True(ready && ok && v == 5)
		is.Equal(o.q.lazy, 1)
		is.Equal(o.q.out.n, 1)
		is.Equal(ctx.registered(), 0)

		o.q.now(context.Background(), 1, false, 6, true)
		o.q.now(ctx, 1, false, 7, false)
		is.Equal(o.q.lazy, 1) // neither is remembered
		is.Equal(o.q.out.n, 1)

		o.q.sweep() // the first was received: forgotten
		is.Equal(o.q.lazy, 0)
		is.Equal(o.q.out.n, 0)
	})
}

// enqueue registers the lazy grants it queues behind, once; watchLazy does
// the same on its own and is free when there are none.
func TestWaitqWatchLazy(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	lazyCtx := newCountingCtx()
	defer lazyCtx.cancel()
	o.locked(func() {
		o.q.now(lazyCtx, 1, false, 1, true)
		o.q.now(lazyCtx, 1, false, 2, true)
		o.q.watchLazy()
		is.Equal(lazyCtx.registered(), 2)
		is.Equal(o.q.lazy, 0)
		o.q.watchLazy()
		is.Equal(lazyCtx.registered(), 2) // nothing new to watch
		o.q.now(lazyCtx, 1, false, 3, true)
		o.q.enqueue(context.Background(), 1, false)
		is.Equal(lazyCtx.registered(), 3)
		is.Equal(o.q.lazy, 0)
	})
}

// A lazy grant whose ctx ends is taken back by the sweep, keeping the lazy
// count right.
func TestWaitqLazyTakenBackBySweep(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	var ch chan int
	o.locked(func() { ch = o.q.now(ctx, 1, false, 9, true) })
	cancel()
	o.locked(func() {
		o.q.sweep()
		is.Equal(o.reclaimed, []int{9})
		is.Equal(o.q.lazy, 0)
		is.Equal(o.q.out.n, 0)
	})
	_, ok := <-ch
	is.True(!ok)
}

// A leaver owner is told when a waiter leaves, before its channel closes.
func TestWaitqLeaver(t *testing.T) {
	is := is.New(t)
	base := newTestOwner()
	o := leaverOwner{base}
	base.q = waitq[int]{}
	base.q.bind(&base.mu, o)
	ctx, cancel := context.WithCancel(context.Background())
	var w *waiter[int]
	base.locked(func() {
		w = base.q.enqueue(ctx, 1, false)
		cancel()
		is.Equal(base.q.first(), nil)
		is.Equal(base.left, []*waiter[int]{w})
	})
	v, ok := <-w.ch
	is.True(ok && v == -1)
	_, ok = <-w.ch
	is.True(!ok)
}

// live counts queued waiters whose ctx has not ended, even before they leave.
func TestWaitqLive(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	o.locked(func() {
		o.q.enqueue(ctx, 1, false)
		o.q.enqueue(context.Background(), 1, false)
		is.Equal(o.q.live(), 2)
		cancel()
		is.Equal(o.q.live(), 1)
		is.Equal(o.q.len(), 2) // still there until swept or abandoned
	})
}

func TestWlist(t *testing.T) {
	is := is.New(t)
	var l wlist[int]
	ws := make([]*waiter[int], 4)
	for i := range ws {
		ws[i] = &waiter[int]{n: i}
		l.pushBack(ws[i])
	}
	order := func() []int {
		var out []int
		for w := l.head; w != nil; w = w.next {
			out = append(out, w.n)
		}
		var back []int
		for w := l.tail; w != nil; w = w.prev {
			back = append([]int{w.n}, back...)
		}
		is.Equal(out, back) // both directions agree
		is.Equal(len(out), l.n)
		return out
	}
	is.Equal(order(), []int{0, 1, 2, 3})
	l.remove(ws[1]) // middle
	is.Equal(order(), []int{0, 2, 3})
	l.remove(ws[0]) // head
	is.Equal(order(), []int{2, 3})
	l.remove(ws[3]) // tail
	is.Equal(order(), []int{2})
	l.remove(ws[2])
	is.Equal(order(), []int(nil))
	is.True(l.head == nil && l.tail == nil)
	l.pushBack(ws[0])
	is.Equal(order(), []int{0})
}

// A latch shares one channel per round; when the condition holds it hands
// out the shared closed channel without allocating.
func TestLatch(t *testing.T) {
	is := is.New(t)
	var l latch
	a, b := l.wait(false), l.wait(false)
	is.Equal(a, b)
	is.True(!isClosed(a))
	l.open()
	is.True(isClosed(a))
	c := l.wait(false)
	is.True(c != a) // a new round
	l.open()
	l.open() // opening with nobody waiting is harmless
	is.True(isClosed(c))
	is.Equal(l.wait(true), (<-chan struct{})(closedCh))
	allocs := testing.AllocsPerRun(100, func() { <-l.wait(true) })
	is.Equal(allocs, 0.0)
}

func TestClosed(t *testing.T) {
	is := is.New(t)
	v, ok, ready := recvNow[int](closed[int]())
	is.True(ready && !ok && v == 0)
	is.True(isClosed(closedCh))
}
