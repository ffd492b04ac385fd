package chans

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// W7 across the lifetime of a primitive: a registration lives in the ctx,
// which may outlive the primitive by far (a server's base context). These
// tests drop primitives and let the garbage collector run.

// oneShot is a use of a fresh primitive on a long-lived ctx that ends with a
// grant to a queued waiter, received, and no further call: the case that used
// to leave one registration (and the primitive) in the ctx until it ended.
// It counts the primitive in dead once it has been collected.
type oneShot struct {
	name string
	use  func(ctx context.Context, dead *atomic.Int32)
}

// countDeath adds one to dead once p has been garbage collected.
func countDeath[T any](p *T, dead *atomic.Int32) {
	runtime.AddCleanup(p, func(d *atomic.Int32) { d.Add(1) }, dead)
}

var oneShots = []oneShot{
	{"Lock", func(ctx context.Context, dead *atomic.Int32) {
		l := new(Lock)
		r, _ := l.TryAcquire()
		ch := l.Acquire(ctx)
		r()
		<-ch // held, and the lock dropped: say, a one-time guard
		countDeath(l, dead)
	}},
	{"RWLock", func(ctx context.Context, dead *atomic.Int32) {
		l := NewRWLock(0)
		r, _ := l.TryAcquireWrite()
		ch := l.AcquireRead(ctx)
		r()
		<-ch
		countDeath(l, dead)
	}},
	{"Semaphore", func(ctx context.Context, dead *atomic.Int32) {
		s := NewSemaphore(0)
		ch := s.Acquire(ctx)
		s.Release()
		<-ch
		countDeath(s, dead)
	}},
	{"Condition", func(ctx context.Context, dead *atomic.Int32) {
		c := new(Condition)
		ch := c.Wait(ctx)
		c.Notify(1)
		<-ch
		countDeath(c, dead)
	}},
	{"Queue.Get", func(ctx context.Context, dead *atomic.Int32) {
		q := NewQueue[int](0)
		ch := q.Get(ctx)
		_ = q.TryPut(1)
		<-ch
		countDeath(q, dead)
	}},
	{"Queue.Put", func(ctx context.Context, dead *atomic.Int32) {
		q := NewQueue[int](1)
		_ = q.TryPut(1)
		ch := q.Put(ctx, 2)
		_, _ = q.TryGet()
		<-ch
		countDeath(q, dead)
	}},
	{"Mailbox", func(ctx context.Context, dead *atomic.Int32) {
		b := new(Mailbox[int])
		ch := b.Receive(ctx, nil)
		b.Send(1)
		<-ch
		countDeath(b, dead)
	}},
	{"Result", func(ctx context.Context, dead *atomic.Int32) {
		r := new(Result[int])
		ch := r.Get(ctx)
		_ = r.Set(1)
		<-ch
		countDeath(r, dead)
	}},
	{"Signal", func(ctx context.Context, dead *atomic.Int32) {
		s := new(Signal[int])
		ch := s.Next(ctx)
		s.Emit(1)
		<-ch
		countDeath(s, dead)
	}},
}

// collect runs the garbage collector until done reports true, giving the
// runtime's cleanup goroutine a chance to run between collections. It gives
// up after many rounds, so a failure is a failed check, never a hang.
func collect(done func() bool) {
	for i := 0; i < 200 && !done(); i++ {
		runtime.GC()
		runtime.Gosched()
	}
}

// W7: primitives that granted to a queued waiter and were then dropped leave
// no registration in a long-lived ctx, and are themselves collected: the
// ctx holds them only weakly once their waiters are granted.
func TestDroppedPrimitivesLeaveNoRegistration(t *testing.T) {
	for _, c := range oneShots {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			ctx := newCountingCtx()
			defer ctx.cancel()
			const n = 50
			var dead atomic.Int32
			for range n {
				c.use(ctx, &dead)
			}
			is.True(ctx.registered() > 0) // each waiter did queue
			collect(func() bool { return ctx.live() == 0 && dead.Load() == n })
			is.Equal(ctx.live(), 0)       // no registration left behind
			is.Equal(int(dead.Load()), n) // and no primitive kept alive by the ctx
		})
	}
}

// W2 still holds for a waiter queued on a primitive nobody else holds: the
// waiter pins the primitive, so its ctx ending closes its channel.
func TestQueuedWaiterPinsDroppedPrimitive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch := func() <-chan int { return NewQueue[int](0).Get(ctx) }()
		collect(func() bool { return false }) // the queue would be gone by now
		cancel()
		synctest.Wait()
		select {
		case _, ok := <-ch:
			is.True(!ok) // closed without an item, promptly
		default:
			t.Fatal("W2: a queued waiter of a dropped queue was not closed when its ctx ended")
		}
	})
}

// The weak pointer behind a registration also works for a primitive that is
// not on the heap: a package-level variable, allocated by the linker.
var globalCondition Condition

func TestRegistrationOnGlobalPrimitive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch := globalCondition.Wait(ctx)
		cancel()
		synctest.Wait()
		_, ok := <-ch
		is.True(!ok)
		is.Equal(globalCondition.String(), "Condition(waiters=0)")

		ch = globalCondition.Wait(context.Background())
		globalCondition.Notify(1)
		_, ok = <-ch
		is.True(ok)
	})
}

// The crowds of a waitq and their stop funcs keep matching indexes through
// removals in any order, so dropping a crowd is O(1) and stopAll stops
// exactly the live ones; the memory follows the count down.
func TestCrowdIndexes(t *testing.T) {
	is := is.New(t)
	o := newTestOwner()
	ctxs := make([]*countingCtx, 1000) // enough for the slices to shrink on the way
	ws := make([]*waiter[int], len(ctxs))
	o.locked(func() {
		for i := range ctxs {
			ctxs[i] = newCountingCtx()
			ws[i], _ = o.enq(ctxs[i])
		}
	})
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(ws), func(i, j int) { ws[i], ws[j] = ws[j], ws[i] })
	o.locked(func() {
		for i, w := range ws {
			o.q.leave(w)
			is.Equal(len(o.q.crowds), len(ws)-i-1)
			is.Equal(len(o.q.regs.stops), len(o.q.crowds))
			for k, c := range o.q.crowds {
				is.Equal(c.idx, k) // every index still points at its crowd
			}
			is.True(cap(o.q.crowds) <= 64 || len(o.q.crowds) >= cap(o.q.crowds)/4)
		}
	})
	for _, c := range ctxs {
		is.Equal(c.live(), 0)
		c.cancel()
	}
}

// W7, #11: a primitive dropped with a grant nobody received, on a ctx that
// lives on, is collected with its registration: the registration reaches the
// grant (and the Release in it, which points back at the primitive) only
// through a weak pointer.
func TestDroppedPrimitiveWithUnreceivedGrant(t *testing.T) {
	for _, c := range []oneShot{
		{"Lock", func(ctx context.Context, dead *atomic.Int32) {
			l := new(Lock)
			r, _ := l.TryAcquire()
			l.Acquire(ctx)
			r() // granted to the waiter, never received
			countDeath(l, dead)
		}},
		{"RWLock", func(ctx context.Context, dead *atomic.Int32) {
			l := NewRWLock(0)
			r, _ := l.TryAcquireWrite()
			l.AcquireRead(ctx)
			r()
			countDeath(l, dead)
		}},
		{"Semaphore", func(ctx context.Context, dead *atomic.Int32) {
			s := NewSemaphore(0)
			s.Acquire(ctx)
			s.Release()
			countDeath(s, dead)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			ctx := newCountingCtx()
			defer ctx.cancel()
			const n = 50
			var dead atomic.Int32
			for range n {
				c.use(ctx, &dead)
			}
			collect(func() bool { return dead.Load() == n && ctx.live() == 0 })
			is.Equal(int(dead.Load()), n)
			is.Equal(ctx.live(), 0)
		})
	}
}

// Hammer: fresh primitives, each with a few queued waiters on their own
// ctxs, some granted, then dropped while the collector runs between the
// cancellations. Every channel must still come to an outcome once its ctx
// ends (W2), and no grant may be received twice: a queued waiter whose primitive had been collected without its
// pin would block its receive forever, which synctest reports as a deadlock.
func TestHammerDroppedPrimitives(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 100
	}
	synctest.Test(t, func(t *testing.T) {
		for round := range rounds {
			r := rand.New(rand.NewPCG(uint64(round), 7))
			var waits []func() bool // receive one outcome; report whether it took effect
			var cancels []context.CancelFunc
			most := 0 // grants the primitive had to give
			func() {  // the primitive is only reachable in here
				n := 1 + r.IntN(4)
				ctxs := make([]context.Context, n)
				for i := range ctxs {
					var cancel context.CancelFunc
					ctxs[i], cancel = context.WithCancel(context.Background())
					cancels = append(cancels, cancel)
				}
				switch r.IntN(4) {
				case 0:
					l := new(Lock)
					hold, _ := l.TryAcquire()
					for _, ctx := range ctxs {
						ch := l.Acquire(ctx)
						waits = append(waits, func() bool { _, ok := <-ch; return ok })
					}
					if r.IntN(2) == 0 {
						hold()
						most = 1 // nobody releases what they receive
					}
				case 1:
					q := NewQueue[int](0)
					for _, ctx := range ctxs {
						ch := q.Get(ctx)
						waits = append(waits, func() bool { _, ok := <-ch; return ok })
					}
					most = r.IntN(n + 1)
					for range most {
						_ = q.TryPut(1)
					}
				case 2:
					c := new(Condition)
					for _, ctx := range ctxs {
						ch := c.Wait(ctx)
						waits = append(waits, func() bool { _, ok := <-ch; return ok })
					}
					most = r.IntN(n + 1)
					c.Notify(most)
				case 3:
					s := NewSemaphore(0)
					for _, ctx := range ctxs {
						ch := s.Acquire(ctx)
						waits = append(waits, func() bool { _, ok := <-ch; return ok })
					}
					most = r.IntN(n + 1)
					for range most {
						s.Release()
					}
				}
			}()
			if r.IntN(3) == 0 {
				runtime.GC()
			}
			for _, i := range r.Perm(len(cancels)) {
				cancels[i]()
				if r.IntN(3) == 0 {
					runtime.GC()
				}
			}
			synctest.Wait()
			got := 0
			for _, wait := range waits {
				if wait() { // must not block: granted, taken back, or closed on cancel
					got++
				}
			}
			if got > most {
				t.Fatalf("round %d: %d grants received, %d given", round, got, most)
			}
		}
	})
}
