package chans

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/internal/choice"
)

// Unit tests for the waiter queue every primitive shares. testOwner is the
// smallest primitive: it records what the queue asks of it, and with auto
// set its dispatch grants the next value to the oldest live waiter. Waiters
// are recycled once finished, so the tests keep a waiter's channel, not the
// waiter, to look at it afterwards.

type testOwner struct {
	mu         sync.Mutex
	q          waitq[int]
	reclaimed  []int
	dispatches int
	auto       bool
	next       int
	lefts      int   // waiters told they left
	why        error // the cause a causer owner gives
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
		o.q.grant(w, o.next, exclusive)
	}
}

// place grants the next value at once with auto set, and queues otherwise.
func (o *testOwner) place(w *waiter[int]) {
	if o.auto && o.q.empty() {
		o.next++
		o.q.send(w, o.next, exclusive)
		return
	}
	o.q.push(w)
}

func (o *testOwner) causeOf(*waiter[int]) error { return o.why }

// leaverOwner is a testOwner that is also a leaver and a causer.
type leaverOwner struct{ *testOwner }

func (o leaverOwner) left(w *waiter[int]) {
	o.testOwner.lefts++
	if w.kind == byChannel {
		w.ch <- -1
	}
}

func (o leaverOwner) cause(w *waiter[int]) error { return o.causeOf(w) }

func newLeaverOwner() leaverOwner {
	o := leaverOwner{&testOwner{}}
	o.q.bind(&o.mu, o)
	return o
}

// locked runs f with the owner's mutex held, as every primitive calls the
// queue.
func (o *testOwner) locked(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f()
}

// closedEmpty reports whether ch is closed with nothing in it.
func closedEmpty[T any](ch <-chan T) bool {
	_, ok, ready := recvNow(ch)
	return ready && !ok
}

// enq queues a channel waiter and returns it with its channel.
func (o *testOwner) enq(ctx context.Context) (*waiter[int], chan int) {
	w := o.q.enqueue(ctx, ask[int]{n: 1}, byChannel)
	return w, w.ch
}

func TestWaitqFIFO(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	var chs []chan int
	o.locked(func() {
		var ws []*waiter[int]
		for range 3 {
			w, ch := o.enq(context.Background())
			ws, chs = append(ws, w), append(chs, ch)
		}
		is.Equal(o.q.len(), 3)
		for i := range 3 {
			w := o.q.first()
			is.Equal(w, ws[i])
			o.q.grant(w, i, exclusive)
		}
		is.True(o.q.empty())
	})
	for i, ch := range chs {
		v, ok := <-ch
		is.True(ok)
		is.Equal(v, i)
		_, ok = <-ch
		is.True(!ok) // W1: one value, then closed
	}
}

// first finishes dead waiters at the head and closes their channels.
func TestWaitqFirstSkipsDead(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	var dead1, dead2 chan int
	o.locked(func() {
		_, dead1 = o.enq(ctx)
		_, dead2 = o.enq(ctx)
		live, _ := o.enq(context.Background())
		cancel()
		is.Equal(o.q.first(), live)
		is.Equal(o.q.len(), 1)
	})
	for _, ch := range []chan int{dead1, dead2} {
		_, ok, ready := recvNow(ch)
		is.True(ready && !ok)
	}
}

// firstMatch returns the oldest live waiter that accepts the value, finishing
// dead ones it passes and leaving others queued. A match that panics stops
// the search at its waiter, still queued, with the panic and its stack.
func TestWaitqFirstMatch(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	o.locked(func() {
		even := o.q.enqueue(context.Background(), ask[int]{match: func(v int) bool { return v%2 == 0 }}, byChannel)
		dead := o.q.enqueue(ctx, ask[int]{}, byChannel)
		deadCh := dead.ch
		anyv := o.q.enqueue(context.Background(), ask[int]{}, byChannel)
		cancel()
		w, bad, p := o.q.firstMatch(3) // passes even, finishes dead
		is.Equal(w, anyv)
		is.True(bad == nil && p == nil)
		is.True(closedEmpty(deadCh))
		w, _, _ = o.q.firstMatch(4)
		is.Equal(w, even)
		is.Equal(o.q.len(), 2)
		o.q.grant(anyv, 3, exclusive)
		o.q.grant(even, 4, exclusive)
		w, _, _ = o.q.firstMatch(5)
		is.Equal(w, nil)

		boom := o.q.enqueue(context.Background(), ask[int]{match: func(int) bool { panic("boom") }}, byChannel)
		w, bad, p = o.q.firstMatch(6)
		is.True(w == nil)
		is.Equal(bad, boom)
		is.Equal(p.Value, "boom")
		is.True(len(p.Stack) > 0)
		is.Equal(boom.state, queued) // the caller decides
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
		kept, _ := o.enq(ctx)
		fin, _ := o.enq(ctx)
		bg, _ := o.enq(context.Background())
		is.Equal(ctx.live(), 1) // kept and final share one registration
		is.Equal(bg.crowd, nil) // nothing registered for a ctx that cannot end

		o.q.grant(kept, 1, exclusive)
		is.Equal(kept.state, granted)
		is.Equal(o.q.out.n, 1)

		o.q.grant(fin, 2, final)
		is.Equal(fin.crowd, nil)
		is.Equal(ctx.live(), 1) // still held by kept

		o.q.grant(bg, 3, exclusive)
		is.Equal(o.q.out.n, 1) // nothing to take back from Background
	})
}

// takeBack and the channel decide who got a grant: whoever received first.
func TestWaitqTakeBack(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var unreceived, received *waiter[int]
	var uch, rch chan int
	o.locked(func() {
		unreceived, uch = o.enq(ctx)
		received, rch = o.enq(ctx)
		o.q.grant(unreceived, 10, exclusive)
		o.q.grant(received, 20, exclusive)
	})
	v, ok := <-rch
	is.True(ok && v == 20)
	o.locked(func() {
		is.True(o.q.takeBack(unreceived))
		is.True(!o.q.takeBack(received))
		is.Equal(o.reclaimed, []int{10}) // only the unreceived grant came back
		is.Equal(o.q.out.n, 0)
	})
	_, ok = <-uch
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
	var gotCh chan int
	o.locked(func() {
		var got, ended *waiter[int]
		got, gotCh = o.enq(long)
		ended, _ = o.enq(ctx)
		o.q.grant(got, 1, exclusive)
		o.q.grant(ended, 2, exclusive)
	})
	<-gotCh
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
	_, deadCh := o.enq(dctx)
	dcancel()
	o.q.sweep()
	is.True(closedEmpty(deadCh))
	is.Equal(o.dispatches, 2)
	o.mu.Unlock()
}

// A queued waiter whose ctx ends leaves promptly through its AfterFunc, and
// the owner is asked to dispatch; a granted one's unreceived grant comes back.
func TestWaitqFire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		o := newTestOwner()
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		var queuedCh chan int
		o.locked(func() {
			_, queuedCh = o.enq(ctx1)
			out, _ := o.enq(ctx2)
			o.q.grant(out, 7, exclusive)
		})
		cancel1()
		cancel2()
		synctest.Wait()
		o.locked(func() {
			is.Equal(o.reclaimed, []int{7})
			is.Equal(o.dispatches, 2) // one per crowd
			is.True(o.q.empty())
			is.Equal(o.q.out.n, 0)
			is.Equal(len(o.q.crowds), 0)
		})
		_, ok, ready := recvNow(queuedCh)
		is.True(ready && !ok)
	})
}

// Waiters registering one after another with the same Done channel share one
// registration, queued or granted; a different ctx starts a new crowd, and a
// crowd's registration is stopped once its last member is gone.
func TestWaitqCrowds(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	a, b := newCountingCtx(), newCountingCtx()
	defer a.cancel()
	defer b.cancel()
	var chs []chan int
	o.locked(func() {
		for range 5 {
			_, ch := o.enq(a)
			chs = append(chs, ch)
		}
		is.Equal(a.registered(), 1)
		_, ch := o.enq(b)
		chs = append(chs, ch)
		_, ch = o.enq(a) // a's crowd is no longer the newest
		chs = append(chs, ch)
		is.Equal(a.registered(), 2)
		is.Equal(b.registered(), 1)
		is.Equal(len(o.q.crowds), 3)
		is.Equal(o.q.pinned, 7)
		is.Equal(o.q.regs.pin, &o.q)
		for w := o.q.first(); w != nil; w = o.q.first() {
			o.q.grant(w, 0, exclusive)
		}
		is.Equal(o.q.pinned, 0)
		is.Equal(o.q.regs.pin, nil) // granted waiters do not hold the primitive
		is.Equal(a.live(), 2)       // the grants are in doubt: still watched
	})
	for _, ch := range chs {
		<-ch
	}
	o.locked(func() {
		o.q.sweep()
		is.Equal(a.live(), 0)
		is.Equal(b.live(), 0)
		is.Equal(len(o.q.crowds), 0)
		is.Equal(len(o.q.regs.stops), 0)
	})
}

// Cancelling one ctx shared by a crowd of queued waiters runs one AfterFunc,
// which takes them all out under one acquisition of the mutex: one goroutine,
// not one per waiter (W7).
func TestWaitqCrowdCancelOneGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		o := newTestOwner()
		ctx := newCountingCtx()
		const n = 10000
		chs := make([]chan int, n)
		o.locked(func() {
			for i := range chs {
				_, chs[i] = o.enq(ctx)
			}
		})
		is.Equal(ctx.registered(), 1)
		ctx.cancel()
		synctest.Wait()
		for _, ch := range chs {
			is.True(closedEmpty(ch))
		}
		o.locked(func() {
			is.True(o.q.empty())
			is.Equal(o.dispatches, 1)
		})
	})
}

// With auto dispatch, a grant that comes back goes to the next live waiter.
func TestWaitqReclaimedGrantGoesToNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		o := newTestOwner()
		o.auto = true
		ctx, cancel := context.WithCancel(context.Background())
		var ach, bch chan int
		o.locked(func() {
			var a *waiter[int]
			a, ach = o.enq(ctx)
			_, bch = o.enq(context.Background())
			o.next++
			o.q.grant(a, o.next, exclusive)
		})
		cancel()
		synctest.Wait()
		v, ok, ready := recvNow(bch)
		is.True(ready && ok && v == 2)
		is.Equal(o.reclaimed, []int{1})
		_, ok = <-ach
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
		ch := o.q.now(ctx, ask[int]{n: 1}, 5, exclusive)
		v, ok, ready := recvNow(ch)
		is.True(ready && ok && v == 5)
		is.Equal(o.q.lazy, 1)
		is.Equal(o.q.out.n, 1)
		is.Equal(ctx.registered(), 0)

		o.q.now(context.Background(), ask[int]{n: 1}, 6, exclusive)
		o.q.now(ctx, ask[int]{n: 1}, 7, final)
		is.Equal(o.q.lazy, 1) // neither is remembered
		is.Equal(o.q.out.n, 1)

		o.q.sweep() // the first was received: forgotten
		is.Equal(o.q.lazy, 0)
		is.Equal(o.q.out.n, 0)
	})
}

// enqueue registers the lazy grants it queues behind, once; watchLazy does
// the same on its own and is free when there are none. Lazy grants on one ctx
// share a crowd.
func TestWaitqWatchLazy(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	lazyCtx := newCountingCtx()
	defer lazyCtx.cancel()
	o.locked(func() {
		o.q.now(lazyCtx, ask[int]{n: 1}, 1, exclusive)
		o.q.now(lazyCtx, ask[int]{n: 1}, 2, exclusive)
		o.q.watchLazy()
		is.Equal(lazyCtx.registered(), 1)
		is.Equal(o.q.lazy, 0)
		o.q.watchLazy()
		is.Equal(lazyCtx.registered(), 1) // nothing new to watch
		o.q.now(lazyCtx, ask[int]{n: 1}, 3, exclusive)
		o.q.enqueue(context.Background(), ask[int]{n: 1}, byChannel)
		is.Equal(lazyCtx.registered(), 1) // joined the crowd
		is.Equal(o.q.crowds[0].n, 3)
		is.Equal(o.q.lazy, 0)
	})
}

// A lazy grant whose ctx ends is taken back by the sweep, keeping the lazy
// count right.
func TestWaitqLazyTakenBackBySweep(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	var ch <-chan int
	o.locked(func() { ch = o.q.now(ctx, ask[int]{n: 1}, 9, exclusive) })
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
	o := newLeaverOwner()
	ctx, cancel := context.WithCancel(context.Background())
	var ch chan int
	o.locked(func() {
		_, ch = o.enq(ctx)
		cancel()
		is.Equal(o.q.first(), nil)
		is.Equal(o.lefts, 1)
	})
	v, ok := <-ch
	is.True(ok && v == -1)
	_, ok = <-ch
	is.True(!ok)
}

// live counts queued waiters whose ctx has not ended, even before they leave.
func TestWaitqLive(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctx, cancel := context.WithCancel(context.Background())
	o.locked(func() {
		o.enq(ctx)
		o.enq(context.Background())
		is.Equal(o.q.live(), 2)
		cancel()
		is.Equal(o.q.live(), 1)
		is.Equal(o.q.len(), 2) // still there until swept or abandoned
	})
}

// A finished channel waiter goes back on the free list with its channel
// dropped (the caller's), and serves the next wait with a fresh channel; a
// blocking waiter keeps its private channel. The list is bounded.
func TestWaitqFreeList(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	o.locked(func() {
		w, ch := o.enq(context.Background())
		o.q.grant(w, 1, exclusive)
		is.Equal(o.q.nfree, 1)
		w2, ch2 := o.enq(context.Background())
		is.Equal(w2, w) // reused
		is.True(ch2 != ch)
		is.Equal(<-ch, 1) // the old channel is still the old caller's

		b := o.q.enqueue(context.Background(), ask[int]{}, byBlocking)
		bch := b.ch
		o.q.dequeue(b)
		o.q.recycle(b)
		b2 := o.q.enqueue(context.Background(), ask[int]{}, byBlocking)
		is.Equal(b2, b)
		is.Equal(b2.ch, bch) // private and empty: kept

		var ws []*waiter[int]
		for range 2 * maxFree {
			w, _ := o.enq(context.Background())
			ws = append(ws, w)
		}
		for _, w := range ws {
			o.q.grant(w, 0, exclusive)
		}
		is.Equal(o.q.nfree, maxFree)
	})
}

// block, the wait of the blocking twins: a grant ends it; a ctx that ends
// while queued takes the waiter out and dispatches; a grant that raced the
// ctx is given back unless it is final; a waiter the owner tells to stop
// reports the owner's cause.
func TestWaitqBlock(t *testing.T) {
	// blockOn queues a blocking waiter for ctx on o and waits for it.
	blockOn := func(o leaverOwner, ctx context.Context) (int, bool, error) {
		o.mu.Lock()
		w := o.q.enqueue(ctx, ask[int]{}, byBlocking)
		return o.q.block(w)
	}
	inBubble := func(name string, f func(t *testing.T, o leaverOwner)) {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { f(t, newLeaverOwner()) })
		})
	}
	inBubble("granted", func(t *testing.T, o leaverOwner) {
		is := is.New(t)
		go func() {
			synctest.Wait()
			o.locked(func() { o.q.grant(o.q.first(), 4, exclusive) })
		}()
		v, ok, err := blockOn(o, context.Background())
		is.True(ok && err == nil)
		is.Equal(v, 4)
	})
	inBubble("ctx ends while queued", func(t *testing.T, o leaverOwner) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			synctest.Wait()
			cancel()
		}()
		_, ok, err := blockOn(o, ctx)
		is.True(!ok && err == nil)
		is.Equal(o.dispatches, 1)
		is.Equal(o.lefts, 1)
		is.True(o.q.empty())
	})
	for _, h := range []hold{exclusive, final} {
		inBubble(fmt.Sprintf("grant races the ctx, hold %d", h), func(t *testing.T, o leaverOwner) {
			is := is.New(t)
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				synctest.Wait()
				o.locked(func() {
					// The close wakes the waiter on its ctx's case,
					// and it waits for the mutex: the grant comes
					// after, and must be handled as racing the ctx.
					w := o.q.queue.head
					cancel()
					o.q.grant(w, 5, h)
				})
			}()
			// Granted before the waiter saw its ctx end, the grant is the
			// waiter's, exclusive or final: a grant on its way to a
			// blocking waiter is never in doubt.
			v, ok, _ := blockOn(o, ctx)
			is.True(ok && v == 5)
			is.Equal(o.reclaimed, []int(nil))
		})
	}
	inBubble("told", func(t *testing.T, o leaverOwner) {
		is := is.New(t)
		o.why = errors.New("shut")
		go func() {
			synctest.Wait()
			o.locked(func() { o.q.leave(o.q.first()) })
		}()
		_, ok, err := blockOn(o, context.Background())
		is.True(!ok)
		is.Equal(err, o.why)
	})
}

// Under a selectx choice: in the Trying phase a wait that cannot be granted
// at once stays unarmed, in no queue; Arm places it; a grant wakes the
// chooser; End withdraws everything, unarmed, queued or granted and not
// received; and a wait that starts after End fails.
func TestWaitqChoice(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	c := choice.New(context.Background())
	var a, b <-chan int
	o.locked(func() {
		a = o.q.selWait(c, ask[int]{}, o, false)
		b = o.q.selWait(c, ask[int]{}, o, false)
		is.True(o.q.empty()) // not queued in the first pass
	})
	is.Equal(c.Len(), 2)
	c.Arm()
	c.At(0).Arm()
	o.locked(func() { is.Equal(o.q.len(), 1) })
	o.locked(func() { o.q.grant(o.q.first(), 8, exclusive) })
	select {
	case <-c.Woken():
	default:
		t.Fatal("a grant did not wake the chooser")
	}
	is.Equal(c.At(0).Chan(), any(a))
	c.End()
	_, ok := <-a
	is.True(!ok) // unreceived at End: taken back
	_, ok = <-b
	is.True(!ok) // unarmed at End: closed
	is.Equal(o.reclaimed, []int{8})
	o.locked(func() {
		is.True(o.q.idle())
		late := o.q.selWait(c, ask[int]{}, o, true)
		is.True(closedEmpty(late))
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
