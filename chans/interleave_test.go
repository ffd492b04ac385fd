package chans

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Forced interleavings. The race that matters in this package is between a
// ctx ending and everything else: a grant arriving, a registration, a
// Notify, a Shutdown, a Release. A real ctx ends in two steps: cancel closes
// Done (Err is non-nil from then on), and only later does the goroutine that
// context.AfterFunc starts run the primitive's abandon. hookCtx splits the two
// steps so a test can stand in the window between them, or end the ctx in the
// middle of the registration itself, with no hook in the production code:
// context.AfterFunc uses a ctx's own AfterFunc method when it has one.
// synctest.Wait then lets the abandon goroutine finish deterministically.

// The interleavings range over the rows of contractCases (contract_test.go)
// whose grants can be taken back.

// TestInterleaveGrantThenCancel: the grant is in the first waiter's buffer
// when its ctx ends, before it receives. Three ways it can go on:
//   - afterfunc: the AfterFunc runs; the grant goes to the next waiter with no
//     further call into the primitive (W2, promptly);
//   - sweep: a public call comes first (W3): it sees the grant returned and
//     passes it on; the AfterFunc, when it runs, must find nothing to do
//     (taking the grant back twice would double a permit);
//   - caller wins: the caller receives before anything takes it back; the
//     grant is then its own, and the AfterFunc must not reclaim it.
func TestInterleaveGrantThenCancel(t *testing.T) {
	for _, p := range contractCases {
		if !takesBack(p.new()) {
			continue
		}
		for _, order := range []string{"afterfunc", "sweep", "caller-wins"} {
			t.Run(p.name+"/"+order, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					o := p.new()
					baseline := o.state()
					o.occupy()
					a := newHookCtx()
					pa := o.acquire(a)
					pb := o.acquire(context.Background())
					o.free() // the grant goes to a's buffer
					is.True(pa.buffered())
					is.True(!pb.buffered())
					is.Equal(a.registered, 1) // a queued, so it registered

					a.end()
					switch order {
					case "afterfunc":
						a.fire()
						synctest.Wait()
						is.True(pb.buffered()) // passed on with no call into the primitive
						is.True(pa.closedEmpty())
					case "sweep":
						before := o.state()    // the public call takes the grant back
						is.True(pb.buffered()) // and passes it on
						is.True(pa.closedEmpty())
						a.fire()
						synctest.Wait()
						is.Equal(o.state(), before) // the late AfterFunc changed nothing
					case "caller-wins":
						v, ok := pa.recv()
						is.True(ok) // the receive decided first: the grant is a's
						o.state()
						a.fire()
						synctest.Wait()
						is.True(!pb.buffered()) // nothing was taken back from a
						o.use(v)
						if o.consumes {
							o.free()
						}
						is.True(pb.buffered()) // the next grant goes to b
					}
					v, ok := pb.recv()
					is.True(ok)
					o.use(v)
					is.Equal(o.state(), baseline) // nothing lost, nothing left over
				})
			})
		}
	}
}

// TestInterleaveCancelWhileRegistering: the ctx ends in the middle of the
// registration of a queued waiter, under the primitive's lock. Either the
// AfterFunc's goroutine starts at once and waits for the lock, or (hookCtx)
// it has not run yet when the grant comes. Both ways the dead waiter must
// never get the grant, and its channel must close.
func TestInterleaveCancelWhileRegistering(t *testing.T) {
	for _, p := range contractCases {
		if !takesBack(p.new()) {
			continue
		}
		for _, fireNow := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/fire-at-once=%v", p.name, fireNow), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					o := p.new()
					baseline := o.state()
					o.occupy()
					a := newHookCtx()
					a.onRegister = func(c *hookCtx) {
						c.end()
						if fireNow {
							// As a cancel from another goroutine would: the
							// callback waits for the registration to finish,
							// then abandon waits for the primitive's lock.
							go c.fire()
						}
					}
					pa := o.acquire(a)
					pb := o.acquire(context.Background())
					synctest.Wait()
					o.free()
					is.True(pb.buffered()) // the dead waiter was passed over
					a.fire()
					synctest.Wait()
					is.True(pa.closedEmpty())
					v, ok := pb.recv()
					is.True(ok)
					o.use(v)
					is.Equal(o.state(), baseline)
				})
			})
		}
	}
}

// TestInterleaveFastPathGrantThenCancel: a grant made at the call (nothing
// queued) registers nothing (W7); if its ctx ends unreceived, the next call
// takes it back (W3) and a queued waiter gets it.
func TestInterleaveFastPathGrantThenCancel(t *testing.T) {
	for _, p := range contractCases {
		if o := p.new(); !takesBack(o) || o.offer == nil {
			continue // a Condition has no fast path: Wait always queues
		}
		t.Run(p.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				o := p.new()
				baseline := o.state()
				o.offer() // a grant there to take at the call
				a := newHookCtx()
				pa := o.acquire(a)
				is.True(pa.buffered())
				is.Equal(a.registered, 0) // uncontended: nothing registered
				pb := o.acquire(context.Background())
				is.True(!pb.buffered())
				a.end()
				a.fire() // registered when b queued behind it (watchLazy)
				synctest.Wait()
				is.True(pa.closedEmpty())
				is.True(pb.buffered())
				v, _ := pb.recv()
				o.use(v)
				is.Equal(o.state(), baseline)
			})
		})
	}
}

// TestInterleaveSemaphoreWaitLazy: Semaphore.Wait on a semaphore whose only
// permit sits unreceived on the fast path must end when that caller walks
// away, with nobody calling into the semaphore again.
func TestInterleaveSemaphoreWaitLazy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		s := NewSemaphore(1)
		a := newHookCtx()
		pa := pend[Release]{s.Acquire(a)}
		is.True(pa.buffered())
		is.Equal(a.registered, 0)
		w := s.Wait()
		is.Equal(a.registered, 1) // Wait depends on a's permit: now it is watched
		a.end()
		a.fire()
		synctest.Wait()
		is.True(isClosed(w))
		is.True(pa.closedEmpty())
		is.Equal(s.Value(), 1)
	})
}

// TestInterleaveNotifyRacingCancel: Notify and a waiter's cancellation in
// every order. Waiters a (cancelled), b and c (never cancelled), queued in
// that order.
func TestInterleaveNotifyRacingCancel(t *testing.T) {
	type setup struct {
		c       *Condition
		a       *hookCtx
		pa, pb  pending
		pc      pending
		wokenBC func() int
	}
	start := func() setup {
		c := new(Condition)
		a := newHookCtx()
		s := setup{c: c, a: a}
		s.pa = pend[struct{}]{c.Wait(a)}
		s.pb = pend[struct{}]{c.Wait(context.Background())}
		s.pc = pend[struct{}]{c.Wait(context.Background())}
		s.wokenBC = func() int { return b2i(s.pb.buffered()) + b2i(s.pc.buffered()) }
		return s
	}
	t.Run("cancel-then-notify-before-afterfunc", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := start()
			s.a.end()
			s.c.Notify(1) // a has ended: it does not count
			is.True(s.pb.buffered())
			is.Equal(s.wokenBC(), 1)
			s.a.fire()
			synctest.Wait()
			is.True(s.pa.closedEmpty())
			is.Equal(s.wokenBC(), 1) // the late AfterFunc passed nothing on
		})
	})
	t.Run("ended-waiter-in-the-middle", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			c := new(Condition)
			a := newHookCtx()
			pb := pend[struct{}]{c.Wait(context.Background())}
			pa := pend[struct{}]{c.Wait(a)}
			pc := pend[struct{}]{c.Wait(context.Background())}
			a.end()
			c.Notify(2) // the two live waiters, skipping the ended one
			is.True(pb.buffered())
			is.True(pc.buffered())
			is.True(!pa.buffered())
			a.fire()
			synctest.Wait()
			is.True(pa.closedEmpty())
		})
	})
	t.Run("notify-then-cancel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := start()
			s.c.Notify(1)
			is.True(s.pa.buffered())
			s.a.end()
			s.a.fire()
			synctest.Wait()
			is.True(s.pa.closedEmpty())
			is.True(s.pb.buffered()) // passed on
			is.Equal(s.wokenBC(), 1) // to one waiter only
		})
	})
	t.Run("notify-cancel-notify", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := start()
			s.c.Notify(1) // to a
			s.a.end()
			s.c.Notify(1) // takes a's back first (to b), then its own (to c)
			is.Equal(s.wokenBC(), 2)
			s.a.fire()
			synctest.Wait()
			is.True(s.pa.closedEmpty())
			is.Equal(s.c.String(), "Condition(waiters=0)")
		})
	})
	t.Run("notification-lapses-with-nobody-left", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			c := new(Condition)
			a := newHookCtx()
			pa := pend[struct{}]{c.Wait(a)}
			c.Notify(1)
			a.end()
			a.fire()
			synctest.Wait()
			is.True(pa.closedEmpty())
			pd := pend[struct{}]{c.Wait(context.Background())}
			is.True(!pd.buffered()) // not stored for a later waiter
			c.Notify(1)
			is.True(pd.buffered())
		})
	})
	t.Run("notifyall-is-final", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := start()
			s.c.NotifyAll()
			s.a.end()
			is.Equal(s.c.String(), "Condition(waiters=0)")
			s.a.fire()
			synctest.Wait()
			_, ok := s.pa.recv()
			is.True(ok) // NotifyAll meant the waiters of its moment: not taken back
			is.Equal(s.wokenBC(), 2)
		})
	})
	t.Run("goroutines", func(t *testing.T) {
		// The same race with real goroutines, many times: whichever of
		// Notify(1) and cancel runs first, exactly one waiter is woken.
		for i := range 300 {
			synctest.Test(t, func(t *testing.T) {
				c := new(Condition)
				ctx, cancel := context.WithCancel(context.Background())
				pa := pend[struct{}]{c.Wait(ctx)}
				pb := pend[struct{}]{c.Wait(context.Background())}
				var wg sync.WaitGroup
				wg.Go(func() { c.Notify(1) })
				wg.Go(cancel)
				wg.Wait()
				synctest.Wait()
				woken := b2i(pb.buffered())
				if _, ok := pa.recv(); ok {
					woken++
				}
				if woken != 1 {
					t.Fatalf("iteration %d: Notify(1) racing cancel woke %d waiters", i, woken)
				}
			})
		}
	})
}

// TestInterleaveShutdownRacingGetPut: Shutdown against a Get whose item is
// in flight, a Get queued behind it, and Puts waiting for room.
func TestInterleaveShutdownRacingGetPut(t *testing.T) {
	for _, immediate := range []bool{false, true} {
		for _, order := range []string{"shutdown-first", "end-first", "caller-wins"} {
			name := fmt.Sprintf("item-in-flight/immediate=%v/%s", immediate, order)
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					q := NewQueue[int](1)
					a := newHookCtx()
					pa := pend[int]{q.Get(a)}
					pb := pend[int]{q.Get(context.Background())}
					is.NoErr(q.TryPut(1)) // to a's buffer
					is.True(pa.buffered())
					is.Equal(q.Unfinished(), 1)
					switch order {
					case "shutdown-first":
						// a's item is out when the queue shuts down.
						// Shutdown(true) tells b at once and drops the item
						// when it comes back; Shutdown(false) keeps b
						// waiting, since the item may come back (#11), and
						// it does when a walks away: b gets it.
						q.Shutdown(immediate)
						if immediate {
							is.True(pb.closedEmpty())
						} else {
							is.True(!pb.buffered() && !pb.closedEmpty())
						}
						a.end()
						a.fire()
						synctest.Wait()
						is.True(pa.closedEmpty())
						if !immediate {
							v, ok := pb.recv()
							is.True(ok)
							is.Equal(v, 1)
							q.TaskDone()
						}
					case "end-first":
						// Shutdown's own call takes a's item back first and
						// hands it to b, before shutting down.
						a.end()
						q.Shutdown(immediate)
						is.True(pa.closedEmpty())
						v, ok := pb.recv()
						is.True(ok)
						is.Equal(v, 1)
						q.TaskDone()
						a.fire()
						synctest.Wait()
					case "caller-wins":
						// An item handed out before Shutdown is the
						// getter's, even Shutdown(true)'s. Shutdown(false)
						// tells b the queue is drained at the first call
						// after a received (TryGet below).
						q.Shutdown(immediate)
						a.end()
						v, ok := pa.recv()
						is.True(ok)
						is.Equal(v, 1)
						a.fire()
						synctest.Wait()
						q.TaskDone() // a call into the queue: b is told
						is.True(pb.closedEmpty())
					}
					_, err := q.TryGet()
					is.Equal(err, ErrShutdown)
					is.True(pb.closedEmpty())
					is.Equal(q.Unfinished(), 0) // nothing lost, nothing counted twice
					is.True(isClosed(q.Join()))
				})
			})
		}
	}
	t.Run("putter-ended-then-shutdown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			q := NewQueue[int](1)
			is.NoErr(q.TryPut(1))
			a := newHookCtx()
			pa := q.Put(a, 2) // waits for room
			b := q.Put(context.Background(), 3)
			a.end()
			q.Shutdown(false)
			is.Equal(<-pa, context.Canceled) // ended first: its own reason
			is.Equal(<-b, ErrShutdown)
			a.fire()
			synctest.Wait()
			_, more := <-pa
			is.True(!more) // one answer only
			v, err := q.TryGet()
			is.NoErr(err)
			is.Equal(v, 1) // neither 2 nor 3 ever got in
			_, err = q.TryGet()
			is.Equal(err, ErrShutdown)
		})
	})
	t.Run("shutdown-then-putter-ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			q := NewQueue[int](1)
			is.NoErr(q.TryPut(1))
			a := newHookCtx()
			pa := q.Put(a, 2)
			q.Shutdown(true)
			a.end()
			a.fire()
			synctest.Wait()
			is.Equal(<-pa, ErrShutdown)
			_, more := <-pa
			is.True(!more)
			is.Equal(q.Len(), 0)
			is.Equal(q.Unfinished(), 0)
		})
	})
	t.Run("goroutines", func(t *testing.T) {
		// Shutdown, Puts and Gets (some cancelled) from goroutines at once,
		// many times: put = received + left + dropped, and only
		// Shutdown(true) drops.
		for i := range 300 {
			immediate := i%2 == 0
			synctest.Test(t, func(t *testing.T) {
				q := NewQueue[int](2)
				var mu sync.Mutex
				accepted, received := map[int]bool{}, map[int]bool{}
				var wg sync.WaitGroup
				for p := range 4 {
					wg.Go(func() {
						ctx, cancel := context.WithCancel(context.Background())
						ch := q.Put(ctx, p)
						if p%2 == 0 {
							cancel()
						}
						err := <-ch
						cancel()
						if err == nil {
							mu.Lock()
							accepted[p] = true
							mu.Unlock()
						} else if !errors.Is(err, context.Canceled) && err != ErrShutdown {
							t.Errorf("Put: %v", err)
						}
					})
				}
				for g := range 3 {
					wg.Go(func() {
						ctx, cancel := context.WithCancel(context.Background())
						ch := q.Get(ctx)
						if g == 0 {
							cancel()
						}
						v, ok := <-ch
						cancel()
						if ok {
							mu.Lock()
							received[v] = true
							mu.Unlock()
							q.TaskDone()
						}
					})
				}
				wg.Go(func() { q.Shutdown(immediate) })
				wg.Wait()
				synctest.Wait()
				left := 0
				for {
					v, err := q.TryGet()
					if err != nil {
						break
					}
					if received[v] {
						t.Fatalf("item %d received twice", v)
					}
					received[v] = true
					left++
					q.TaskDone()
				}
				for v := range received {
					if !accepted[v] {
						t.Fatalf("item %d received but not accepted", v)
					}
				}
				if !immediate && len(received) != len(accepted) {
					t.Fatalf("accepted %v, received %v, without Shutdown(true)", accepted, received)
				}
				if q.Unfinished() != 0 {
					t.Fatalf("unfinished %d after all TaskDone", q.Unfinished())
				}
			})
		}
	})
}

// TestInterleaveReleaseRacingReclaim: a permit given back by Release and a
// permit taken back from a walked-away waiter, in every order. Capacity 3;
// h1 holds 1, h2 holds 2; a (cancelled) waits for 1, then b for 2.
func TestInterleaveReleaseRacingReclaim(t *testing.T) {
	type setup struct {
		s      *Semaphore
		h2     Release
		a      *hookCtx
		pa, pb pending
	}
	start := func(is *is.I) setup {
		s := NewBoundedSemaphore(3)
		h1, _ := s.TryAcquireN(1)
		h2, _ := s.TryAcquireN(2)
		a := newHookCtx()
		st := setup{s: s, h2: h2, a: a}
		st.pa = pend[Release]{s.AcquireN(a, 1)}
		st.pb = pend[Release]{s.AcquireN(context.Background(), 2)}
		h1() // a gets 1: now in a's buffer
		is.True(st.pa.buffered())
		is.Equal(s.Value(), 0)
		return st
	}
	finish := func(is *is.I, st setup) {
		v, ok := st.pb.recv()
		is.True(ok)
		is.Equal(st.s.Value(), 1)
		v.(Release)()
		is.Equal(st.s.Value(), 3) // every permit home, none doubled
		is.Equal(st.s.String(), "Semaphore(value=3, bound=3, waiters=0)")
	}
	t.Run("release-sweeps-reclaim", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			st := start(is)
			st.a.end()
			st.h2() // gives 2, its sweep takes a's 1 back: b gets 2, 1 left
			is.True(st.pb.buffered())
			is.Equal(st.s.Value(), 1)
			st.a.fire() // the late AfterFunc must not give a's permit back twice
			synctest.Wait()
			is.Equal(st.s.Value(), 1)
			is.True(st.pa.closedEmpty())
			finish(is, st)
		})
	})
	t.Run("reclaim-then-release", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			st := start(is)
			st.a.end()
			st.a.fire()
			synctest.Wait()
			is.Equal(st.s.Value(), 1) // back, but b wants 2
			is.True(!st.pb.buffered())
			st.h2()
			is.True(st.pb.buffered())
			finish(is, st)
		})
	})
	t.Run("receiver-releases-before-afterfunc", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			st := start(is)
			st.a.end()
			v, ok := st.pa.recv() // a got there first: the permit is a's
			is.True(ok)
			v.(Release)()
			is.Equal(st.s.Value(), 1)
			st.a.fire() // finds the channel empty: nothing to take back
			synctest.Wait()
			is.Equal(st.s.Value(), 1)
			st.h2()
			finish(is, st)
		})
	})
	t.Run("goroutines", func(t *testing.T) {
		// Release and cancel from goroutines at once, many times.
		for i := range 300 {
			synctest.Test(t, func(t *testing.T) {
				s := NewBoundedSemaphore(3)
				h1, _ := s.TryAcquireN(1)
				h2, _ := s.TryAcquireN(2)
				ctx, cancel := context.WithCancel(context.Background())
				pa := s.AcquireN(ctx, 1)
				pb := s.AcquireN(context.Background(), 2)
				var wg sync.WaitGroup
				wg.Go(h1)
				wg.Go(cancel)
				wg.Go(h2)
				wg.Wait()
				synctest.Wait()
				if r, ok := <-pa; ok {
					r()
				}
				r, ok := <-pb
				if !ok {
					t.Fatalf("iteration %d: b never got its permits", i)
				}
				r()
				if v := s.Value(); v != 3 {
					t.Fatalf("iteration %d: %d permits after everything was released, want 3", i, v)
				}
			})
		}
	})
}

// TestInterleaveFastReleaseRacingArrival: the fast path's worst moment (#12).
// A waiter is queued, and before the primitive's state word says anyone
// waits, the holder releases with one compare-and-swap, which cannot know of
// the waiter. The waiter must still be granted, by the look that follows
// setting the word's slow bit (Lock.settle), with nothing else calling in.
// testHookQueued puts the release exactly in that instant.
func TestInterleaveFastReleaseRacingArrival(t *testing.T) {
	type prim struct {
		hold    func() Release                           // a grant on the fast path
		acquire func(ctx context.Context) <-chan Release // queues behind it
		wait    func(ctx context.Context) (Release, error)
	}
	prims := map[string]func() prim{
		"Lock": func() prim {
			l := new(Lock)
			return prim{func() Release { r, _ := l.TryAcquire(); return r }, l.Acquire, l.AcquireWait}
		},
		"Semaphore": func() prim {
			s := NewSemaphore(1)
			return prim{func() Release { r, _ := s.TryAcquire(); return r }, s.Acquire, s.AcquireWait}
		},
		"RWLock": func() prim {
			l := NewRWLock(0)
			return prim{func() Release { r, _ := l.TryAcquireRead(); return r }, l.AcquireWrite, l.AcquireWriteWait}
		},
	}
	for name, mk := range prims {
		for _, twin := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/twin=%v", name, twin), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					p := mk()
					r := p.hold()
					fired := false
					testHookQueued = func() {
						if !fired {
							fired = true
							r() // the fast path: the slow bit is not set yet
						}
					}
					defer func() { testHookQueued = func() {} }()
					var got Release
					if twin {
						var err error
						got, err = p.wait(bg())
						is.NoErr(err)
					} else {
						v, ok, ready := recvNow(p.acquire(bg()))
						is.True(ready && ok) // granted before Acquire returned
						got = v
					}
					is.True(fired)
					got()
				})
			})
		}
	}
}

// testJob is a job left by a blocking waiter (Semaphore.take) that a holder
// may take with the waiter's grant (passOn).
type testJob struct{ taken bool }

func (j *testJob) passed() { j.taken = true }

// TestInterleavePassOnRacingCancel: a holder passes its permit on to the
// waiter at the head, with the waiter's job, and the waiter's ctx ends
// before the waiter has looked (its select then sees both ready and picks
// either). The pass is final: the job runs in the holder's goroutine, on the
// holder's permit, so the waiter must be told it succeeded whichever case
// its select picks, and the permit must not come back to the count (if it
// were taken back, the job would run on a free permit; that is what this
// test caught when block still took back exclusive grants that raced the
// ctx, and a pass was made exclusive).
// The pass is made in testHookQueued, in the waiter's goroutine, just before
// it blocks.
func TestInterleavePassOnRacingCancel(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			s := NewSemaphore(1)
			s.q.attach(&s.mu, s)
			_, err := s.take(bg(), 1, nil, "test") // held: given back with give or passed on
			is.NoErr(err)
			ctx, cancel := context.WithCancel(bg())
			j := new(testJob)
			var got job
			testHookQueued = func() {
				got = s.passOnLocked()
				cancel()
			}
			defer func() { testHookQueued = func() {} }()
			_, err = s.take(ctx, 1, j, "test")
			is.True(got == job(j))
			is.True(j.taken)
			is.NoErr(err)                // the pass is final
			is.Equal(s.free(), int64(0)) // the permit is the job's
			is.True(s.q.empty())
		})
	}
}
