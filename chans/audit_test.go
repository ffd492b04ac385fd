package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file holds the conservation audit every hammer test runs: a ledger
// per primitive that states the primitive's conservation law against its
// internal state (read under its mutex, as any method would) and against
// what the test's callers say they hold, plus the figures a hammer reports.
//
// A ledger is checked in two ways. While callers run, check(false) looks at
// the state between any two operations; a caller that has just received a
// grant but not yet counted it (or uncounted it and not yet released) is "in
// transit", so the test-side counts enter as inequalities there. At a
// quiescent point, when no caller is inside an operation, check(true) holds
// the law to equality.

// Order matters in a check: the callers' counts are read under the
// primitive's lock and before the grants in flight are counted. A grant seen
// in flight (in a buffer) may be received a moment later and counted by its
// caller; reading the callers' count after counting the buffers would see
// that grant twice.

// A ledger is a primitive's conservation law.
type ledger interface {
	check(quiescent bool) error
}

// figures counts what a hammer did, for its log line and for TESTING.md.
type figures struct {
	ops       atomic.Int64 // calls on the primitive that could take effect
	grants    atomic.Int64 // grants that took effect for their caller
	failed    atomic.Int64 // calls that took no effect (closed empty, refused)
	cancels   atomic.Int64 // contexts the test cancelled before the outcome was known
	deadlines atomic.Int64 // contexts that ran out before their call took effect
	reclaims  atomic.Int64 // grants seen in the buffer, then taken back after ctx ended
	late      atomic.Int64 // grants seen in the buffer whose caller still won the receive
	audits    atomic.Int64 // ledger checks passed
}

func (f *figures) String() string {
	return fmt.Sprintf("ops=%d grants=%d failed=%d cancels=%d deadlines=%d reclaims=%d late-wins=%d audits=%d",
		f.ops.Load(), f.grants.Load(), f.failed.Load(), f.cancels.Load(), f.deadlines.Load(),
		f.reclaims.Load(), f.late.Load(), f.audits.Load())
}

// hammerOps returns how many operations a hammer runs per primitive: 10^5,
// or 10^4 with -short.
func hammerOps() int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// cancelPoint is where, relative to a call, the test ends its ctx.
type cancelPoint uint8

const (
	endBefore    cancelPoint = iota // ctx already ended at the call (W4)
	endNever                        // not until the outcome is known
	endAfterCall                    // right after the call returns
	endRacing                       // from another goroutine, racing the grant
	endDeadline                     // a deadline of a few microseconds
	endAbandon                      // select: poll, and if not ready, cancel then receive (selectx)
	endThenCall                     // cancel, call into the primitive, then receive (W3)
	numCancelPoints
)

// attempt makes one call through do under a ctx that ends at a random point,
// then receives its outcome, checking W1 to W4 on the way. touch is a call
// into the primitive (Value, Len...) that must bring it up to date with
// ended contexts (W3); nil for shared values (Result.Get, Signal.Next),
// which are never taken back. It returns the grant and whether it took
// effect.
func attempt[R any](t *testing.T, r *rand.Rand, f *figures, do func(context.Context) <-chan R, touch func()) (R, bool) {
	return attemptAt(t, r, f, cancelPoint(r.IntN(int(numCancelPoints))), do, touch)
}

// mayStarve is attempt for a call that might never be granted (a selective
// Receive nobody sends to): its ctx always ends.
func mayStarve[R any](t *testing.T, r *rand.Rand, f *figures, do func(context.Context) <-chan R, touch func()) (R, bool) {
	point := cancelPoint(r.IntN(int(numCancelPoints)))
	if point == endNever {
		point = endDeadline
	}
	return attemptAt(t, r, f, point, do, touch)
}

func attemptAt[R any](t *testing.T, r *rand.Rand, f *figures, point cancelPoint, do func(context.Context) <-chan R, touch func()) (R, bool) {
	f.ops.Add(1)
	var ctx context.Context
	var cancel context.CancelFunc
	if point == endDeadline {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(20_000)))
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	if point == endBefore {
		cancel()
	}
	ch := do(ctx)
	var v R
	var ok bool
	switch point {
	case endBefore:
		v, ok = <-ch
		if ok {
			t.Errorf("W4: a call whose ctx had ended took effect")
		}
	case endNever, endDeadline:
		v, ok = <-ch
	case endAfterCall:
		buffered := len(ch) == 1
		cancel()
		f.cancels.Add(1)
		v, ok = <-ch
		f.countTakeBack(touch != nil && buffered, ok)
	case endRacing:
		go cancel()
		v, ok = <-ch
		if !ok {
			f.cancels.Add(1)
		}
	case endAbandon:
		select {
		case v, ok = <-ch:
		default:
			cancel()
			f.cancels.Add(1)
			buffered := len(ch) == 1
			v, ok = <-ch
			f.countTakeBack(touch != nil && buffered, ok)
		}
	case endThenCall:
		buffered := len(ch) == 1
		cancel()
		f.cancels.Add(1)
		if touch == nil {
			v, ok = <-ch
			break
		}
		touch()
		v, ok = <-ch
		if ok {
			t.Errorf("W3: a grant was still received after ctx ended and the primitive was called")
		}
		if buffered {
			f.reclaims.Add(1)
		}
	}
	if point == endDeadline && !ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		f.deadlines.Add(1)
	}
	if ok {
		f.grants.Add(1)
	} else {
		f.failed.Add(1)
	}
	return v, ok
}

// attemptWait is attempt for a blocking twin (SPEC §4): one call under a ctx
// that ended before it, never ends, ends from another goroutine while it
// waits, or runs out after a few microseconds. The twin must fail when its
// ctx had ended at the call (W4); any grant it returns is its caller's.
func attemptWait[R any](t *testing.T, r *rand.Rand, f *figures, wait func(context.Context) (R, error)) (R, bool) {
	f.ops.Add(1)
	point := r.IntN(4)
	var ctx context.Context
	var cancel context.CancelFunc
	if point == 3 {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(20_000)))
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	switch point {
	case 0:
		cancel()
	case 2:
		go cancel()
		f.cancels.Add(1)
	}
	v, err := wait(ctx)
	if point == 0 && err == nil {
		t.Errorf("W4: a blocking twin whose ctx had ended took effect")
	}
	if point == 3 && errors.Is(err, context.DeadlineExceeded) {
		f.deadlines.Add(1)
	}
	if err == nil {
		f.grants.Add(1)
	} else {
		f.failed.Add(1)
	}
	return v, err == nil
}

// either makes one call through the channel form of a wait (attempt) or,
// one time in four, through its blocking twin (attemptWait), so that both
// queue in the same FIFO under the same audit.
func either[R any](t *testing.T, r *rand.Rand, f *figures, do func(context.Context) <-chan R, wait func(context.Context) (R, error), touch func()) (R, bool) {
	if r.IntN(4) == 0 {
		return attemptWait(t, r, f, wait)
	}
	return attempt(t, r, f, do, touch)
}

// countTakeBack records the fate of an exclusive grant that was (buffered)
// or was not in the channel when the ctx was cancelled.
func (f *figures) countTakeBack(buffered, ok bool) {
	switch {
	case buffered && ok:
		f.late.Add(1) // legal: the receive decided before any take-back (W3 holds only after a later call)
	case buffered && !ok:
		f.reclaims.Add(1)
	}
}

// hammer runs workers goroutines, each calling work ops/workers times in
// phases; between phases it checks the ledger at a quiescent point, and all
// along an auditor goroutine checks it between operations.
func hammer(t *testing.T, name string, workers, ops int, l ledger, work func(t *testing.T, r *rand.Rand, f *figures)) *figures {
	t.Helper()
	f := new(figures)
	const phases = 10
	per := ops / workers / phases
	audited(t, name, l, f, func() {
		for phase := range phases {
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(phase), uint64(w)))
					for range per {
						work(t, r, f)
					}
				})
			}
			wg.Wait()
			if err := l.check(true); err != nil {
				t.Errorf("%s: audit at the quiescent point after phase %d: %v", name, phase, err)
			}
			f.audits.Add(1)
			if t.Failed() {
				break
			}
		}
	})
	t.Logf("%s: %v", name, f)
	return f
}

// audited runs body while an auditor goroutine checks l between operations.
func audited(t *testing.T, name string, l ledger, f *figures, body func()) {
	t.Helper()
	stop := make(chan struct{})
	var auditor sync.WaitGroup
	auditor.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := l.check(false); err != nil {
				t.Errorf("%s: audit between operations: %v", name, err)
				return
			}
			f.audits.Add(1)
			time.Sleep(50 * time.Microsecond) // pacing only: leave the primitive to the workers
		}
	})
	defer func() {
		close(stop)
		auditor.Wait()
	}()
	body()
}

// ---- Semaphore: permits free + in flight + held = capacity.

type semLedger struct {
	s            *Semaphore
	capLo, capHi atomic.Int64 // capacity: bounds while an unpaired Release is under way
	held         atomic.Int64 // permits callers received and have not given back
	transit      int          // most permits that can be in transit between the two
}

func newSemLedger(s *Semaphore, capacity, transit int) *semLedger {
	l := &semLedger{s: s, transit: transit}
	l.capLo.Store(int64(capacity))
	l.capHi.Store(int64(capacity))
	return l
}

// release adds an unpaired permit, moving the capacity with it.
func (l *semLedger) release() {
	l.capHi.Add(1)
	l.s.Release()
	l.capLo.Add(1)
}

func (l *semLedger) check(quiescent bool) error {
	var lo, hi, callers int64
	st := semInside(l.s, quiescent, func() { lo, hi, callers = l.capLo.Load(), l.capHi.Load(), l.held.Load() })
	// The semaphore counts only its free permits: the ones out on grants
	// are what the callers hold (some in transit, received and not yet
	// counted) plus what sits unreceived in buffers.
	free, inflight := int64(st.free), int64(st.inflight)
	total := free + inflight + callers
	switch {
	case free < 0 || inflight < 0 || callers < 0:
		return fmt.Errorf("negative count: free=%d in flight=%d callers=%d", free, inflight, callers)
	case total > hi || total+int64(l.transit) < lo:
		return fmt.Errorf("free %d + in flight %d + held %d = %d, capacity %d..%d (transit at most %d)", free, inflight, callers, total, lo, hi, l.transit)
	case st.bound > 0 && free > int64(st.bound):
		return fmt.Errorf("%d permits free, bound %d", free, st.bound)
	case !quiescent:
		return nil
	case inflight != 0 || total != lo || lo != hi:
		return fmt.Errorf("at rest: in flight=%d held=%d free=%d capacity %d..%d", inflight, callers, free, lo, hi)
	case st.live != 0 || st.queued != 0 || st.outstanding != 0:
		return fmt.Errorf("at rest: %d live waiters, %d queued, %d grants outstanding", st.live, st.queued, st.outstanding)
	}
	return nil
}

// ---- Lock: locked exactly when one grant is out (held or in flight).

type lockLedger struct {
	l       *Lock
	holders atomic.Int64 // callers inside the lock
	taken   atomic.Int64 // grants received (Acquire and TryAcquire)
}

func (g *lockLedger) check(quiescent bool) error {
	var holders int64
	st := lockInside(g.l, quiescent, func() { holders = g.holders.Load() })
	inflight := st.inflight
	switch {
	case holders < 0 || holders > 1:
		return fmt.Errorf("%d holders", holders)
	case !st.locked && (inflight != 0 || holders != 0):
		return fmt.Errorf("unlocked with %d in flight and %d holders", inflight, holders)
	case st.locked && int64(inflight)+holders > 1:
		return fmt.Errorf("locked with %d in flight and %d holders", inflight, holders)
	case !quiescent:
		return nil
	case st.locked || st.live != 0:
		return fmt.Errorf("at rest: locked=%v, %d live waiters", st.locked, st.live)
	case st.queued != 0 || st.outstanding != 0 || st.lazy != 0:
		return fmt.Errorf("at rest: %d queued, %d grants outstanding (%d lazy)", st.queued, st.outstanding, st.lazy)
	case st.grants < uint64(g.taken.Load()):
		// Every grant is counted; each was received or taken back.
		return fmt.Errorf("at rest: %d grants made, %d received", st.grants, g.taken.Load())
	}
	return nil
}

// reclaimed is the exact number of grants taken back so far: the Lock counts
// every grant it makes, and each was either received or taken back.
func (g *lockLedger) reclaimed() int64 {
	var taken int64
	st := lockInside(g.l, false, func() { taken = g.taken.Load() })
	return int64(st.grants) - taken
}

// ---- RWLock: readers + writer consistent with what callers hold.

type rwLedger struct {
	l                *RWLock
	readers, writers atomic.Int64 // callers holding each kind
	transit          int
}

func (g *rwLedger) check(quiescent bool) error {
	var cR, cW int64
	st := rwInside(g.l, quiescent, func() { cR, cW = g.readers.Load(), g.writers.Load() })
	heldR, heldW := st.readers-st.inR, b2i(st.writer)-st.inW
	switch {
	case st.readers < 0 || heldR < 0 || heldW < 0:
		return fmt.Errorf("negative: readers=%d held=%d/%d", st.readers, heldR, heldW)
	case st.writer && st.readers != 0:
		return fmt.Errorf("writer and %d readers", st.readers)
	case st.maxReaders > 0 && st.readers > st.maxReaders:
		return fmt.Errorf("%d readers, limit %d", st.readers, st.maxReaders)
	case cR > int64(heldR) || cW > int64(heldW) || int64(heldR)-cR > int64(g.transit):
		return fmt.Errorf("primitive says %d/%d held, callers %d/%d", heldR, heldW, cR, cW)
	case !quiescent:
		return nil
	case st.readers != 0 || st.writer || cR != 0 || cW != 0 || st.live != 0:
		return fmt.Errorf("at rest: %v, callers %d/%d", g.l.String(), cR, cW)
	case st.queued != 0 || st.outstanding != 0:
		return fmt.Errorf("at rest: %d queued, %d grants outstanding", st.queued, st.outstanding)
	}
	return nil
}

// ---- Queue: items put = received + queued + dropped by Shutdown(true).

type queueLedger struct {
	q                  *Queue[int]
	accepted, received []atomic.Int32 // per item id
	refused            atomic.Int64
	consumers          int // getters that may give an item back past Cap
}

func newQueueLedger(q *Queue[int], items, consumers int) *queueLedger {
	return &queueLedger{q: q, accepted: make([]atomic.Int32, items), received: make([]atomic.Int32, items), consumers: consumers}
}

func (g *queueLedger) check(quiescent bool) error {
	st := queueInside(g.q, false, nil)
	stored, inflight, unfinished := st.stored, st.getters.inflight, st.unfinished
	switch {
	case stored < 0 || unfinished < 0:
		return fmt.Errorf("negative: stored=%d unfinished=%d", stored, unfinished)
	case !st.dropping && unfinished < stored+inflight:
		return fmt.Errorf("unfinished %d < stored %d + in flight %d", unfinished, stored, inflight)
	case st.max > 0 && stored > st.max+g.consumers:
		return fmt.Errorf("%d stored, cap %d, only %d getters could give back", stored, st.max, g.consumers)
	case stored > 0 && st.getters.live > 0:
		// dispatch never unlocks while it could hand a stored item to a
		// live getter.
		return fmt.Errorf("items stored while live getters wait")
	case !quiescent:
		return nil
	}
	// At rest: no item was received twice or without being accepted.
	for id := range g.accepted {
		a, r := g.accepted[id].Load(), g.received[id].Load()
		switch {
		case r > 1:
			return fmt.Errorf("item %d received %d times", id, r)
		case r == 1 && a == 0:
			return fmt.Errorf("item %d received but its Put failed", id)
		}
	}
	if inflight != 0 {
		return fmt.Errorf("at rest: %d items in flight", inflight)
	}
	return nil
}

// settle drains what is left after the queue was shut down and checks
// put = received + queued + dropped, dropped being zero unless immediate.
func (g *queueLedger) settle(immediate bool) (received, queued, dropped int, err error) {
	for {
		v, e := g.q.TryGet()
		if e != nil {
			if e != ErrShutdown {
				return 0, 0, 0, fmt.Errorf("TryGet after shutdown: %v", e)
			}
			break
		}
		queued++
		g.received[v].Add(1)
		g.q.TaskDone()
	}
	accepted := 0
	for id := range g.accepted {
		a, r := g.accepted[id].Load(), g.received[id].Load()
		accepted += int(a)
		received += int(r)
		if r > a {
			return 0, 0, 0, fmt.Errorf("item %d received %d times, accepted %d", id, r, a)
		}
	}
	received -= queued
	dropped = accepted - received - queued
	switch {
	case dropped < 0:
		err = fmt.Errorf("put %d < received %d + queued %d", accepted, received, queued)
	case dropped > 0 && !immediate:
		err = fmt.Errorf("%d items lost without Shutdown(true)", dropped)
	case int64(accepted)+g.refused.Load() != int64(len(g.accepted)):
		err = fmt.Errorf("%d accepted + %d refused != %d put", accepted, g.refused.Load(), len(g.accepted))
	case g.q.Unfinished() != 0 || g.q.Len() != 0 || !isClosed(g.q.Join()):
		err = fmt.Errorf("after drain: %v, Join closed: %v", g.q, isClosed(g.q.Join()))
	}
	return received, queued, dropped, err
}

// ---- Mailbox: sent = received + stored.

type mailboxLedger struct {
	b              *Mailbox[int]
	sent, received atomic.Int64
}

func (g *mailboxLedger) check(quiescent bool) error {
	// Received is counted after the receive and sent before the Send, so
	// between operations sent >= received + stored + in flight.
	var received int64
	st := mailboxInside(g.b, quiescent, func() { received = g.received.Load() })
	stored, inflight := st.stored, st.inflight
	sent := g.sent.Load()
	switch {
	case received+int64(stored+inflight) > sent:
		return fmt.Errorf("received %d + stored %d + in flight %d > sent %d", received, stored, inflight, sent)
	case quiescent && (inflight != 0 || received+int64(stored) != sent):
		return fmt.Errorf("at rest: sent %d != received %d + stored %d (in flight %d)", sent, received, stored, inflight)
	}
	return nil
}

// ---- Condition: notifications are never stored and never owed at rest.

type condLedger struct{ c *Condition }

func (g *condLedger) check(quiescent bool) error {
	st := condInside(g.c, quiescent, nil)
	switch {
	case st.owed != 0:
		// dispatch pays every owed notification or lets it lapse before
		// it unlocks.
		return fmt.Errorf("%d notifications owed between operations", st.owed)
	case quiescent && (st.live != 0 || st.inflight != 0):
		return fmt.Errorf("at rest: %d live waiters, %d unreceived", st.live, st.inflight)
	}
	return nil
}

// TestAuditDetectsBrokenState makes sure each ledger can fail: it corrupts a
// primitive's state the way a bug would (a permit lost, a lock left held, an
// item duplicated, a notification owed) and expects the audit to say so.
func TestAuditDetectsBrokenState(t *testing.T) {
	ctx := context.Background()

	s := NewSemaphore(3)
	sl := newSemLedger(s, 3, 0)
	if err := sl.check(true); err != nil {
		t.Fatalf("healthy semaphore: %v", err)
	}
	rel := <-s.AcquireN(ctx, 2)
	if err := sl.check(false); err == nil {
		t.Errorf("semaphore: 2 permits held that no caller counts, audit passed")
	}
	sl.held.Add(2)
	if err := sl.check(true); err != nil {
		t.Errorf("semaphore with 2 counted permits: %v", err)
	}
	breakSemaphore(s, -1) // a lost permit
	if err := sl.check(false); err == nil {
		t.Errorf("semaphore: lost permit not detected")
	}
	breakSemaphore(s, +1)
	sl.held.Add(-2)
	rel()
	if err := sl.check(true); err != nil {
		t.Errorf("semaphore after release: %v", err)
	}

	var l Lock
	ll := &lockLedger{l: &l}
	<-l.Acquire(ctx) // held, and never counted by a caller: fine between operations
	if err := ll.check(false); err != nil {
		t.Errorf("lock held in transit: %v", err)
	}
	if err := ll.check(true); err == nil {
		t.Errorf("lock left held at rest: not detected")
	}
	ll.holders.Add(2)
	if err := ll.check(false); err == nil {
		t.Errorf("two holders not detected")
	}

	rw := NewRWLock(0)
	rl := &rwLedger{l: rw}
	breakRWLock(rw, true, 1) // a writer among readers
	if err := rl.check(false); err == nil {
		t.Errorf("rwlock: writer with readers not detected")
	}

	q := NewQueue[int](0)
	ql := newQueueLedger(q, 2, 1)
	q.Put(ctx, 0)
	ql.accepted[0].Store(1)
	ql.received[0].Store(1) // received, yet still stored
	ql.received[1].Store(1) // received, never accepted
	if err := ql.check(true); err == nil {
		t.Errorf("queue: item received without being accepted not detected")
	}
	breakQueue(q, 0) // an item stored but not counted unfinished
	if err := ql.check(false); err == nil {
		t.Errorf("queue: stored item not counted unfinished, not detected")
	}

	b := new(Mailbox[int])
	bl := &mailboxLedger{b: b}
	b.Send(1) // sent but not counted: a message from nowhere
	if err := bl.check(false); err == nil {
		t.Errorf("mailbox: message never sent not detected")
	}

	var c Condition
	cl := &condLedger{c: &c}
	breakCondition(&c, 1)
	if err := cl.check(false); err == nil {
		t.Errorf("condition: owed notification not detected")
	}
}
