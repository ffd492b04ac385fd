package chans

// Every look a test takes at a primitive's unexported state goes through
// this file, so that when the internals change (field names, a lock-free
// state word, how registrations are kept) only this file needs adapting.
// Each accessor reads under the primitive's own mutex, as a method would;
// the ledgers of audit_test.go pass under, which runs inside that critical
// section before anything is counted (see audit_test.go for why the order
// matters), and sweep, which first brings the state up to date with ended
// contexts as any public call does.
//
// Two kinds of test are white-box by nature and stay so: the unit tests of
// the waiter queue itself (waitq_test.go, TestCrowdIndexes) and of the
// stores behind Queue and Mailbox (TestQueueStore, TestStoreInsertRemove,
// TestCmpSeqWraps).

// waitCounts is what one waiter queue holds.
type waitCounts struct {
	queued        int // waiters queued for a grant, dead or alive, until swept or abandoned
	live          int // of those, the ones whose ctx has not ended
	outstanding   int // grants made and not yet known to be received
	lazy          int // of those, fast-path grants with no registration
	inflight      int // grants still sitting unreceived in a buffer (weighted: permits)
	registrations int // context.AfterFunc registrations: one per crowd of waiters on the same ctx
}

// countsOf reads q; the caller holds the primitive's mutex. weigh is what a
// grant in flight counts for (nil: one).
func countsOf[T any](q *waitq[T], weigh func(*waiter[T]) int) waitCounts {
	c := waitCounts{queued: q.queue.n, live: q.live(), outstanding: q.out.n, lazy: q.lazy}
	for w := q.out.head; w != nil; w = w.next {
		if len(w.ch) == 1 {
			if weigh == nil {
				c.inflight++
			} else {
				c.inflight += weigh(w)
			}
		}
	}
	c.registrations = len(q.crowds)
	return c
}

// Lock, Semaphore and RWLock change their state word without the mutex
// while its slow bit is clear (the fast paths), so holding the mutex alone
// does not keep the state still for a look, and a ledger that counts a
// caller before the look and reads the word after it can see a release in
// between as a permit counted twice. The freeze functions set the slow bit
// (with the mutex held): every fast path then goes to the mutex and waits,
// and the look sees the state as a method under the mutex would. The
// deferred sync puts the bit back as the waiter queue says.

func freezeLock(l *Lock)           { setSlow(&l.state, lockSlow, true) }
func freezeSemaphore(s *Semaphore) { setSlow(&s.state, semSlow, true) }
func freezeRWLock(l *RWLock)       { setSlow(&l.state, rwSlow, true) }

func runUnder(under func()) {
	if under != nil {
		under()
	}
}

// ---- Lock

type lockState struct {
	locked bool
	grants uint64 // grants ever made
	waitCounts
}

func lockInside(l *Lock, sweep bool, under func()) lockState {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	freezeLock(l)
	defer l.sync()
	if sweep {
		l.q.sweep()
	}
	runUnder(under)
	st := l.state.Load()
	return lockState{locked: st&lockHeld != 0, grants: st / lockGen, waitCounts: countsOf(&l.q, nil)}
}

// ---- Semaphore

type semState struct {
	free, bound int // permits free, the bound (0: none)
	waitCounts      // inflight counts permits
}

func semInside(s *Semaphore, sweep bool, under func()) semState {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	freezeSemaphore(s)
	defer s.sync()
	if sweep {
		s.q.sweep()
	}
	runUnder(under)
	return semState{free: int(s.free()), bound: int(s.bound),
		waitCounts: countsOf(&s.q, func(w *waiter[Release]) int { return w.n })}
}

// breakSemaphore adds d free permits from nowhere (a lost permit when d < 0),
// for the audit's own test.
func breakSemaphore(s *Semaphore, d int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Add(int64(d) << 1)
}

// ---- RWLock

type rwState struct {
	readers, maxReaders int
	writer              bool
	inR, inW            int // read and write grants in flight
	waitCounts
}

func rwInside(l *RWLock, sweep bool, under func()) rwState {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	freezeRWLock(l)
	defer l.sync()
	if sweep {
		l.q.sweep()
	}
	runUnder(under)
	st := l.state.Load()
	return rwState{readers: int(st / rwReader), maxReaders: int(l.maxReaders), writer: st&rwWriter != 0,
		inR:        countsOf(&l.q, func(w *waiter[Release]) int { return b2i(!w.write) }).inflight,
		inW:        countsOf(&l.q, func(w *waiter[Release]) int { return b2i(w.write) }).inflight,
		waitCounts: countsOf(&l.q, nil)}
}

// breakRWLock sets what l counts as held, for the audit's own test.
func breakRWLock(l *RWLock, writer bool, readers int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := int64(readers) * rwReader
	if writer {
		st |= rwWriter
	}
	l.state.Store(st)
}

// ---- Queue

type queueState struct {
	stored, max, unfinished int
	dropping                bool // Shutdown(true) was called
	pending                 int  // items of queued putters
	getters, putters        waitCounts
}

// queueInside reads q. Every public call of a Queue sweeps both its waiter
// queues; with sweep false nothing is brought up to date.
func queueInside[T any](q *Queue[T], sweep bool, under func()) queueState {
	if sweep {
		q.lock()
	} else {
		q.mu.Lock()
	}
	defer q.mu.Unlock()
	runUnder(under)
	return queueState{stored: q.items.len(), max: q.max, unfinished: q.unfinished, dropping: q.dropping,
		pending: len(q.slots) - len(q.freeSlots), getters: countsOf(&q.getters, nil), putters: countsOf(&q.putters, nil)}
}

// breakQueue sets q's unfinished count, for the audit's own test.
func breakQueue[T any](q *Queue[T], unfinished int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.unfinished = unfinished
}

// ---- Mailbox

type mailboxState struct {
	stored int
	waitCounts
}

func mailboxInside[M any](b *Mailbox[M], sweep bool, under func()) mailboxState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.q.bind(&b.mu, b)
	if sweep {
		b.q.sweep()
	}
	runUnder(under)
	return mailboxState{stored: b.msgs.len(), waitCounts: countsOf(&b.q, nil)}
}

// mailboxTakeBackNewestFirst runs end (which ends the contexts of two
// receivers holding unreceived grants) with b's mutex held, so that neither
// AfterFunc can act, then takes both grants back in one sweep, the younger
// message first: the case the sort in Mailbox.dispatch is there for.
func mailboxTakeBackNewestFirst[M any](b *Mailbox[M], end func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	end()
	g := b.q.out.head // the older grant: move it behind the younger
	b.q.out.remove(g)
	b.q.out.pushBack(g)
	b.q.sweep()
}

// ---- Condition

type condState struct {
	owed int // notifications taken back and not yet passed on
	waitCounts
}

func condInside(c *Condition, sweep bool, under func()) condState {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	if sweep {
		c.q.sweep()
	}
	runUnder(under)
	return condState{owed: c.owed, waitCounts: countsOf(&c.q, nil)}
}

// breakCondition makes c owe n notifications, for the audit's own test.
func breakCondition(c *Condition, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owed = n
}

// ---- Result

func resultWaits[T any](r *Result[T]) waitCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.q == nil {
		return waitCounts{} // made at the first waiter
	}
	return countsOf(r.q, nil)
}
