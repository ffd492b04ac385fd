package chans

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// A statsRow is one state of one primitive, built on synctest's clock: the
// first step at 0s, the second at 1s (scene.at), and Stats is read at 3s, so
// every age is exact. Each row runs untracked and tracked: want says what
// Stats reads in each case, stacks aside (statsShape checks them: present
// exactly when tracked).
type statsRow struct {
	name  string
	build func(sc *scene) Trackable
	want  func(tracked bool) Stats
}

// A scene is the run of one row: its ctxs, its clock and what to undo at the
// end so that the bubble's goroutines finish.
type scene struct {
	t       *testing.T
	tracked bool
	start   time.Time
}

// at sleeps until d after the scene's start, then lets the bubble settle.
func (sc *scene) at(d time.Duration) {
	time.Sleep(time.Until(sc.start.Add(d)))
	synctest.Wait()
}

// watch tracks p if the scene is the tracked one, under the row's name;
// else it asks p for its Stats once, which starts the clock for its
// waiters' ages (see TestStatsWaiterAgesStartAtFirstLook).
func (sc *scene) watch(p Trackable) {
	if sc.tracked {
		Track(p, "row")
		sc.later(func() { Untrack(p) })
		return
	}
	p.Stats()
}

// later runs f when the scene ends (in the bubble, even if the test
// failed), last registered first.
func (sc *scene) later(f func()) { sc.t.Cleanup(f) }

// ctx returns a cancellable ctx, cancelled when the scene ends.
func (sc *scene) ctx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sc.later(cancel)
	return ctx, cancel
}

// unk is d when tracked, Unknown when not: a grant's age is recorded only
// under tracking.
func unk(tracked bool, d time.Duration) time.Duration {
	if tracked {
		return d
	}
	return Unknown
}

// onlyTracked returns hs if tracked, else nothing.
func onlyTracked(tracked bool, hs ...Holder) []Holder {
	if tracked {
		return hs
	}
	return nil
}

var statsRows = []statsRow{{
	name: "Lock held, one waiter, one that gave up",
	build: func(sc *scene) Trackable {
		l := new(Lock)
		sc.watch(l)
		rel := <-l.Acquire(bg())
		sc.at(time.Second)
		w := l.Acquire(bg())
		ctx, cancel := sc.ctx()
		l.Acquire(ctx)
		cancel() // its AfterFunc takes it out: a cancel
		sc.later(func() { rel(); (<-w)() })
		return l
	}, want: func(tr bool) Stats {
		return Stats{Kind: "Lock", State: "locked", Held: true,
			Holders: []Holder{{Age: unk(tr, 3*time.Second), Ask: "lock"}},
			Waiting: 1, Waiters: []Waiter{{Age: 2 * time.Second, Ask: "lock"}}, OldestWait: 2 * time.Second,
			Grants: 1, GrantsExact: true, Cancels: 1}
	},
}, {
	name: "Lock granted, not yet received by a ctx that can end",
	build: func(sc *scene) Trackable {
		l := new(Lock)
		sc.watch(l)
		rel := <-l.Acquire(bg())
		sc.at(time.Second)
		ctx, _ := sc.ctx()
		w := l.Acquire(ctx)
		sc.at(2 * time.Second)
		rel()
		sc.later(func() { (<-w)() })
		return l
	}, want: func(tr bool) Stats {
		return Stats{Kind: "Lock", State: "locked", Held: true,
			Holders:    []Holder{{Age: unk(tr, time.Second), Ask: "lock", Unreceived: true, CanEnd: true}},
			Unreceived: 1, OldestUnreceived: map[bool]time.Duration{true: time.Second}[tr],
			Grants: 2, GrantsExact: true}
	},
}, {
	name: "RWLock with two readers, a writer and a reader queued",
	build: func(sc *scene) Trackable {
		l := new(RWLock)
		sc.watch(l)
		r1, _ := l.AcquireReadWait(bg())
		r2, _ := l.AcquireReadWait(bg())
		sc.at(time.Second)
		w := l.AcquireWrite(bg())
		r3 := l.AcquireRead(bg())
		sc.later(func() { r1(); r2(); (<-w)(); (<-r3)() })
		return l
	}, want: func(tr bool) Stats {
		s := Stats{Kind: "RWLock", State: "read-locked", Held: true, Value: 2,
			Holders: []Holder{{Age: unk(tr, 3*time.Second), Ask: "read"}, {Age: unk(tr, 3*time.Second), Ask: "read"}},
			Waiting: 2, Waiters: []Waiter{{Age: 2 * time.Second, Ask: "write"}, {Age: 2 * time.Second, Ask: "read"}},
			OldestWait: 2 * time.Second}
		if tr {
			s.Grants = 2 // untracked, both took the fast path, which counts nothing
		}
		return s
	},
}, {
	name: "bounded Semaphore with permits out and a heavy waiter",
	build: func(sc *scene) Trackable {
		s := NewBoundedSemaphore(3)
		sc.watch(s)
		rel, _ := s.AcquireNWait(bg(), 2)
		sc.at(time.Second)
		w := s.AcquireN(bg(), 2)
		sc.later(func() { rel(); (<-w)() })
		return s
	}, want: func(tr bool) Stats {
		s := Stats{Kind: "Semaphore", State: "free", Held: true, Value: 1, Limit: 3,
			Holders: onlyTracked(tr, Holder{Age: 3 * time.Second, Ask: "2 permits"}),
			Waiting: 1, Waiters: []Waiter{{Age: 2 * time.Second, Ask: "2 permits"}}, OldestWait: 2 * time.Second}
		if tr {
			s.Grants = 1
		}
		return s
	},
}, {
	name: "Queue with getters, one item unreceived",
	build: func(sc *scene) Trackable {
		q := NewQueue[int](0)
		sc.watch(q)
		g1 := q.Get(bg())
		ctx, _ := sc.ctx()
		g2 := q.Get(ctx)
		g3 := q.Get(bg())
		sc.at(time.Second)
		if err := q.TryPut(1); err != nil { // to g1, which does not receive it
			sc.t.Fatal(err)
		}
		sc.later(func() {
			_ = q.TryPut(2)
			_ = q.TryPut(3)
			<-g1
			<-g2
			<-g3
		})
		return q
	}, want: func(tr bool) Stats {
		s := Stats{Kind: "Queue", Holders: onlyTracked(tr, Holder{Age: 2 * time.Second, Ask: "item", Unreceived: true}),
			Waiting: 2, Waiters: []Waiter{{Age: 3 * time.Second, Ask: "item", CanEnd: true}, {Age: 3 * time.Second, Ask: "item"}},
			OldestWait: 3 * time.Second, Grants: 1, GrantsExact: true}
		if tr {
			s.Unreceived, s.OldestUnreceived = 1, 2*time.Second
		}
		return s
	},
}, {
	name: "full Queue with a putter, shut down",
	build: func(sc *scene) Trackable {
		q := NewQueue[int](1)
		sc.watch(q)
		_ = q.TryPut(1)
		sc.at(time.Second)
		ctx, cancel := sc.ctx()
		p := q.Put(ctx, 2)
		q.Put(bg(), 3)
		sc.at(2 * time.Second)
		cancel() // the first putter gives up
		synctest.Wait()
		v, err := q.TryGet() // the second putter's item goes in
		if v != 1 || err != nil {
			sc.t.Fatal(v, err)
		}
		p2 := q.Put(bg(), 4)
		q.Shutdown(false)
		sc.later(func() { <-p; <-p2 })
		return q
	}, want: func(tr bool) Stats {
		return Stats{Kind: "Queue", State: "shut down", Value: 1, Limit: 1, Grants: 1, GrantsExact: true, Cancels: 1}
	},
}, {
	name: "Mailbox with a message on its way",
	build: func(sc *scene) Trackable {
		b := new(Mailbox[int])
		sc.watch(b)
		even := func(m int) bool { return m%2 == 0 }
		r := b.Receive(bg(), even)
		b.Receive(bg(), func(m int) bool { return m > 10 })
		sc.at(time.Second)
		b.Send(1) // refused by both: stored
		b.Send(2) // to r, which does not receive it
		sc.later(func() { <-r; b.Send(11) })
		return b
	}, want: func(tr bool) Stats {
		s := Stats{Kind: "Mailbox", Value: 1, Holders: onlyTracked(tr, Holder{Age: 2 * time.Second, Ask: "message", Unreceived: true}),
			Waiting: 1, Waiters: []Waiter{{Age: 3 * time.Second, Ask: "message"}}, OldestWait: 3 * time.Second,
			Grants: 1, GrantsExact: true}
		if tr {
			s.Unreceived, s.OldestUnreceived = 1, 2*time.Second
		}
		return s
	},
}, {
	name: "Condition notified once, a waiter left",
	build: func(sc *scene) Trackable {
		c := new(Condition)
		sc.watch(c)
		ctx, _ := sc.ctx()
		c.Wait(bg()) // notified below, never received
		c.Wait(ctx)
		sc.at(time.Second)
		c.Notify(1) // to w1, which does not receive it
		return c
	}, want: func(tr bool) Stats {
		s := Stats{Kind: "Condition", Holders: onlyTracked(tr, Holder{Age: 2 * time.Second, Ask: "notification", Unreceived: true}),
			Waiting: 1, Waiters: []Waiter{{Age: 3 * time.Second, Ask: "notification", CanEnd: true}}, OldestWait: 3 * time.Second,
			Grants: 1, GrantsExact: true}
		if tr {
			s.Unreceived, s.OldestUnreceived = 1, 2*time.Second
		}
		return s
	},
}, {
	name: "Event set twice",
	build: func(sc *scene) Trackable {
		e := new(Event)
		sc.watch(e)
		e.Set()
		e.Set() // already set: not counted
		e.Clear()
		sc.at(time.Second)
		e.Set()
		return e
	}, want: func(bool) Stats {
		return Stats{Kind: "Event", State: "set", Held: true, Value: 1, Grants: 2, GrantsExact: true}
	},
}, {
	name: "Result waited for",
	build: func(sc *scene) Trackable {
		r := new(Result[int])
		sc.watch(r)
		g := r.Get(bg())
		ctx, cancel := sc.ctx()
		r.Get(ctx)
		cancel()
		sc.later(func() { _ = r.Set(1); <-g })
		return r
	}, want: func(bool) Stats {
		return Stats{Kind: "Result", State: "pending", Waiting: 1, Waiters: []Waiter{{Age: 3 * time.Second, Ask: "value"}},
			OldestWait: 3 * time.Second, GrantsExact: true, Cancels: 1}
	},
}, {
	name: "Result failed",
	build: func(sc *scene) Trackable {
		r := new(Result[int])
		sc.watch(r)
		r.Get(bg())
		sc.at(time.Second)
		_ = r.Fail(context.Canceled) // the waiter is let go: not a grant, not a cancel
		return r
	}, want: func(bool) Stats {
		return Stats{Kind: "Result", State: "failed", Held: true, Value: 1, GrantsExact: true}
	},
}, {
	name: "Signal emitted to two, one waits for the next",
	build: func(sc *scene) Trackable {
		s := new(Signal[int])
		sc.watch(s)
		s.Next(bg())
		s.Next(bg())
		sc.at(time.Second)
		s.Emit(5)
		s.Next(bg())
		return s
	}, want: func(bool) Stats {
		return Stats{Kind: "Signal", Waiting: 1, Waiters: []Waiter{{Age: 2 * time.Second, Ask: "value"}},
			OldestWait: 2 * time.Second, Grants: 2, GrantsExact: true}
	},
}, {
	name: "Barrier filling",
	build: func(sc *scene) Trackable {
		b := NewBarrier(3)
		sc.watch(b)
		w1 := b.Wait(bg())
		sc.at(time.Second)
		w2 := b.Wait(bg())
		sc.later(func() { <-b.Wait(bg()); <-w1; <-w2 })
		return b
	}, want: func(bool) Stats {
		return Stats{Kind: "Barrier", State: "filling", Value: 2, Limit: 3,
			Waiting: 2, Waiters: []Waiter{{Age: 3 * time.Second, Ask: "index"}, {Age: 2 * time.Second, Ask: "index"}},
			OldestWait: 3 * time.Second, GrantsExact: true}
	},
}, {
	name: "TaskGroup with a task running and a start waiting",
	build: func(sc *scene) Trackable {
		g := NewTaskGroup[int](bg(), 1, KeepGoing)
		sc.watch(g)
		block := make(chan struct{})
		g.Go(func(context.Context) (int, error) { <-block; return 0, nil })
		sc.at(time.Second)
		started := g.Start(bg(), func(context.Context) (int, error) { return 1, nil })
		sc.later(func() { close(block); <-started; <-g.Wait(); g.Cancel() })
		return g
	}, want: func(tr bool) Stats {
		return Stats{Kind: "TaskGroup", State: "running", Held: true, Value: 2, Limit: 1,
			Holders: []Holder{{Age: 3 * time.Second, Ask: "task 0"}},
			Waiting: 1, Waiters: []Waiter{{Age: 2 * time.Second, Ask: "slot", CanEnd: true}}, OldestWait: 2 * time.Second,
			Grants: 1, GrantsExact: true}
	},
}}

// TestStats builds every row's state and checks what Stats reads, untracked
// and tracked.
func TestStats(t *testing.T) {
	trackAllOff(t)
	for _, row := range statsRows {
		for _, tracked := range []bool{false, true} {
			name := row.name
			if tracked {
				name += ", tracked"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					is := is.New(t)
					sc := &scene{t: t, tracked: tracked, start: time.Now()}
					p := row.build(sc)
					sc.at(3 * time.Second)
					got := p.Stats()
					if tracked {
						is.Equal(got.Name, "row")
						is.True(got.ID != 0)
					} else {
						is.Equal(got.Name, "")
						is.Equal(got.ID, uint64(0))
					}
					got.Name, got.ID = "", 0
					is.Equal(statsShape(t, got, tracked), row.want(tracked))
				})
			})
		}
	}
}

// statsShape checks that every listed holder and waiter has a stack exactly
// when tracked (holders of an Unknown age, made before tracking, have none),
// and returns s without the stacks.
func statsShape(t *testing.T, s Stats, tracked bool) Stats {
	t.Helper()
	for i, h := range s.Holders {
		if want := tracked && h.Age != Unknown; (len(h.Stack.Frames()) > 0) != want {
			t.Errorf("holder %d (%s): stack %v, want one: %t", i, h.Ask, h.Stack.Frames(), want)
		}
		s.Holders[i].Stack = nil
	}
	for i, w := range s.Waiters {
		if (len(w.Stack.Frames()) > 0) != tracked {
			t.Errorf("waiter %d (%s): stack %v, want one: %t", i, w.Ask, w.Stack.Frames(), tracked)
		}
		s.Waiters[i].Stack = nil
	}
	return s
}

// TestStatsWaiterAgesStartAtFirstLook checks that an untracked primitive
// reads no clock until somebody asks it for Stats: callers that queued
// before have an Unknown age, those after an exact one.
func TestStatsWaiterAgesStartAtFirstLook(t *testing.T) {
	trackAllOff(t)
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		rel := <-l.Acquire(bg())
		w1 := l.Acquire(bg())
		time.Sleep(time.Second)
		s := l.Stats()
		is.Equal(s.Waiters[0].Age, Unknown)
		is.Equal(s.OldestWait, time.Duration(0))
		w2 := l.Acquire(bg())
		time.Sleep(time.Second)
		s = l.Stats()
		is.Equal(s.Waiters[0].Age, Unknown)
		is.Equal(s.Waiters[1].Age, time.Second)
		is.Equal(s.OldestWait, time.Second)
		rel()
		(<-w1)()
		(<-w2)()
	})
}
