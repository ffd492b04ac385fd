package chans

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"
)

// Stats is what a primitive knows about who holds it and who waits for it,
// read at one instant under the primitive's own mutex: the answer to "why is
// everything waiting?". Every primitive has a Stats method returning one:
// [Lock.Stats], [RWLock.Stats], [Semaphore.Stats], [Condition.Stats],
// [Event.Stats], [Result.Stats], [Queue.Stats], [Mailbox.Stats],
// [Signal.Stats], [Barrier.Stats] and [TaskGroup.Stats]. It is one type for
// all of them, so that a debug page (package
// github.com/turnstile-go/turnstile/debug) or a metrics exporter can list
// them side by side; fields that mean nothing for a primitive stay zero.
//
// Cost: a Stats call takes the primitive's mutex once, like String, and is
// computed from what the primitive keeps anyway (its queue of waiters and
// its grants in doubt) plus a few counters bumped under that mutex. It
// allocates the two lists. Outside Stats, keeping the figures costs the fast
// paths nothing: no counter is touched and no clock is read by the one
// compare-and-swap of an uncontended Lock, RWLock or Semaphore, and a
// primitive nobody asks reads no clock at all. From its first Stats call on
// (or once it is tracked), a primitive reads the clock once per caller that
// has to queue, for Waiter.Age; it reads it per grant only while tracked
// (see [Track]).
//
// Without tracking, Stats knows every queued waiter, the grants still in
// doubt (sent to a caller whose ctx can end and not yet known to be
// received) and a Lock's one holder, but not who the holders are, nor how
// long they held. With tracking it also knows every grant until its Release
// (Lock, RWLock, Semaphore) or its receipt (the others), with the stack of
// the call that asked for it, and the stranded-grant detector flags grants
// nobody will ever receive.
type Stats struct {
	// Kind is the primitive's type: "Lock", "RWLock", "Semaphore",
	// "Condition", "Event", "Result", "Queue", "Mailbox", "Signal",
	// "Barrier" or "TaskGroup".
	Kind string
	// Name is the name the primitive is tracked under, and ID its number in
	// the registry of tracked primitives (see [Track]); "" and 0 when it is
	// not tracked.
	Name string
	ID   uint64
	// State is a word or two on the primitive's state, as String gives it:
	// "locked", "unlocked", "set", "clear", "shut down", "broken",
	// "failed"... ("" where there is nothing to say).
	State string
	// Held reports whether something is taken: a Lock or RWLock held (or
	// granted and not yet received), a Semaphore with permits out (known
	// from its bound, or from tracking), an Event set, a Result settled, a
	// TaskGroup with tasks running.
	Held bool
	// Value and Limit are the primitive's own count and bound, as its
	// methods report them: a Semaphore's free permits and bound (0: none);
	// an RWLock's readers and reader limit (0: none); a Queue's Len and Cap;
	// a Mailbox's Len; a Barrier's waiting parties and Parties; a
	// TaskGroup's active tasks and limit; 1 for a set Event or a settled
	// Result.
	Value, Limit int

	// Holders are the grants out that the primitive can see, oldest first,
	// at most MaxListed of them. Without tracking: grants still sitting in
	// their channel for a caller whose ctx can end, and a Lock's holder
	// (with an Unknown age). With tracking: every grant of a Lock, RWLock
	// or Semaphore until its Release, every other exclusive grant (an
	// item, a message, a notification) until it is received, and a
	// TaskGroup's running tasks.
	Holders []Holder
	// Waiting is the number of queued callers whose ctx has not ended, and
	// Waiters the oldest MaxListed of them, oldest first. OldestWait is
	// the age of the oldest whose age is known (0 if none).
	Waiting    int
	Waiters    []Waiter
	OldestWait time.Duration
	// Unreceived counts the grants known to sit in their channel, sent but
	// not received, and OldestUnreceived is the age of the oldest of them
	// whose age is known (tracking records every grant's age). Stranded
	// counts those the stranded-grant detector reported (see
	// [SetStrandedAfter]).
	Unreceived       int
	OldestUnreceived time.Duration
	Stranded         int

	// Grants counts what the primitive handed out: lock and permit grants,
	// items and messages to receivers, notifications, signal values,
	// barrier indexes, values delivered to waiting Result getters, tasks a
	// TaskGroup started, Sets of an Event. It includes grants later taken
	// back. GrantsExact reports whether it counts every grant: a Lock's
	// state word counts them all; a Semaphore or RWLock counts only the
	// grants it makes under its mutex (to queued callers, to callers with a
	// ctx that can end, to Try and blocking calls that found the word
	// busy, and every grant while tracked), not those of its one-CAS fast
	// path, which a counter would slow down.
	Grants      uint64
	GrantsExact bool
	// Cancels counts callers that left the queue because their ctx ended
	// before they were granted (for a TaskGroup, starts that gave up or
	// that Go did not start), and TakeBacks the grants taken back because
	// their caller's ctx ended before it received them (W2).
	Cancels   uint64
	TakeBacks uint64
}

// A Holder is a grant that is out: held by its caller, or still sitting in
// the channel it was sent on.
type Holder struct {
	// Age is how long ago the grant was made, or Unknown (it is recorded
	// only while the primitive is tracked, and for a TaskGroup's tasks).
	Age time.Duration
	// Ask is what was granted: "lock", "read", "write", "1 permit", "3
	// permits", "item", "message", "notification", "task 4".
	Ask string
	// Unreceived reports that the grant still sits in its channel: sent,
	// and not received yet. CanEnd reports whether the ctx of the call can
	// end, which matters while the grant is unreceived: if it cannot, the
	// grant is never taken back. (A grant returned directly, by a Try call
	// or a blocking twin, was received at once and reads false.)
	Unreceived bool
	CanEnd     bool
	// Stranded reports that the detector found the grant unreceived, on a
	// ctx that cannot end, for longer than the threshold (see
	// [SetStrandedAfter]).
	Stranded bool
	// Stack is where the call that asked for the grant was made; nil unless
	// the primitive was tracked at the call.
	Stack Stack
}

// A Waiter is a caller queued for a grant.
type Waiter struct {
	// Age is how long it has been queued, or Unknown if it queued before
	// anybody asked the primitive for its Stats and before it was tracked:
	// a primitive starts reading the clock for its waiters then, so that
	// one nobody looks at pays nothing for it.
	Age time.Duration
	// Ask is what it waits for, as in Holder.
	Ask string
	// CanEnd reports whether its ctx can end (a ctx that cannot end keeps
	// the caller queued until it is granted).
	CanEnd bool
	// Stack is where it called; nil unless the primitive was tracked at the
	// call.
	Stack Stack
}

// Unknown is the Age of a grant whose time was not recorded.
const Unknown time.Duration = -1

// MaxListed is the most Holders and Waiters a Stats lists; the counts
// (Waiting, Unreceived) cover them all.
const MaxListed = 64

// epoch is the origin of nanotime. time.Since reads only the monotonic clock,
// which is half the price of time.Now.
var epoch = time.Now()

// nanotime is the time in nanoseconds since epoch, the unit of every
// timestamp stats and tracking keep.
func nanotime() int64 { return int64(time.Since(epoch)) }

// age is the time from t to now, or Unknown if t was not recorded.
func age(now, t int64) time.Duration {
	if t == 0 {
		return Unknown
	}
	return time.Duration(now - t)
}

// qstats is what a waitq keeps for Stats and tracking: counters bumped under
// the primitive's mutex, and, while tracked, the records of its grants.
type qstats[T any] struct {
	grants, cancels, takeBacks uint64

	tr    *tracking               // nil: not tracked
	stamp bool                    // stamp queued waiters: Stats was called, or tracking started
	holds bool                    // its grants are held until a Release (Lock, RWLock, Semaphore)
	wrap  func(T, *grantRec[T]) T // makes a held grant's Release drop its record (RWLock, Semaphore)
	recs  recList[T]              // tracked grants still out, oldest first
}

// noteNew runs when w is made for a call, in the caller's goroutine: the one
// moment its stack can be taken.
func (q *waitq[T]) noteNew(w *waiter[T]) {
	w.since = 0
	if w.trk != nil {
		*w.trk = waiterTrack[T]{}
	}
	if q.st.tr != nil {
		w.tracked().stack = callers()
	}
}

// noteQueued stamps w as it joins the queue, once somebody has asked for
// Stats: the only clock read an untracked primitive makes, paid only by
// callers that have to wait.
func (q *waitq[T]) noteQueued(w *waiter[T]) {
	if q.st.stamp {
		w.since = nanotime()
	}
	if q.st.tr == nil && trackAll.Load() {
		q.bornWaiting(w) // a Result is tracked once somebody waits
	}
}

// noteGrant counts a grant sent to w and, if tracked, records it; it returns
// the value to send (a held grant's Release wrapped so that it drops its
// record).
func (q *waitq[T]) noteGrant(w *waiter[T], v T, h hold) T {
	q.st.grants++
	if q.st.tr == nil {
		return v
	}
	return q.trackGrant(w, v, h)
}

// noteNow counts a grant made at the call with no waiter (a ctx that cannot
// end, or a final grant), sent on ch; see noteGrant.
func (q *waitq[T]) noteNow(ch chan T, ctx context.Context, a ask[T], v T, h hold) T {
	q.st.grants++
	if q.st.tr != nil {
		v = q.trackNow(ch, ctx, a, v, h)
	}
	return v
}

// noteDirect counts a grant that a primitive returns to its caller directly
// (a Try call, a blocking twin served at once); see noteGrant. It runs in
// the caller's goroutine.
func (q *waitq[T]) noteDirect(v T, a ask[T]) T {
	q.st.grants++
	if q.st.tr != nil {
		v = q.trackDirect(v, a)
	}
	return v
}

// noteTakeBack counts a grant taken back from w, and drops its record.
func (q *waitq[T]) noteTakeBack(w *waiter[T]) {
	q.st.takeBacks++
	if r := w.rec(); r != nil {
		q.st.recs.remove(r)
		w.trk.rec = nil
	}
}

// noteLeave counts w leaving the queue without a grant, if its ctx ended
// (a waiter let go by Abort, a failed Result or a drained Queue did not
// cancel).
func (q *waitq[T]) noteLeave(w *waiter[T]) {
	if w.ctx.Err() != nil {
		q.st.cancels++
	}
}

// noteRelease drops the record of a Lock's grant at its Release: a Lock has
// one grant out at a time, so it is the only record.
func (q *waitq[T]) noteRelease() {
	if q.st.tr != nil {
		q.st.recs.clear()
	}
}

// snapshot adds what q knows to s: its live waiters, the grants it can see,
// its counters. ask says what a waiter or grant of weight n (and write)
// asked for. The caller holds the mutex and has swept q.
func (q *waitq[T]) snapshot(s *Stats, now int64, ask func(n int, write bool) string) {
	q.st.stamp = true // from now on, waiters' ages are known
	for w := q.queue.head; w != nil; w = w.next {
		if w.ctx.Err() != nil {
			continue
		}
		a := age(now, w.since)
		s.Waiting++
		s.OldestWait = max(s.OldestWait, a)
		if len(s.Waiters) < MaxListed {
			s.Waiters = append(s.Waiters, Waiter{Age: a, Ask: ask(w.n, w.write), CanEnd: w.watch != unwatched, Stack: w.stack()})
		}
	}
	q.st.prune()
	for r := q.st.recs.head; r != nil; r = r.next {
		h := Holder{Age: age(now, r.at), Ask: ask(r.n, r.write), Unreceived: r.unreceived(), CanEnd: r.canEnd, Stranded: r.stranded, Stack: r.stack}
		s.addHolder(h)
	}
	for w := q.out.head; w != nil; w = w.next {
		if w.rec() == nil && len(w.ch) == 1 { // granted while not tracked
			s.addHolder(Holder{Age: Unknown, Ask: ask(w.n, w.write), Unreceived: true, CanEnd: true, Stack: w.stack()})
		}
	}
	s.Grants += q.st.grants
	s.Cancels += q.st.cancels
	s.TakeBacks += q.st.takeBacks
}

// addHolder counts h and lists it if there is room.
func (s *Stats) addHolder(h Holder) {
	if h.Unreceived {
		s.Unreceived++
		s.OldestUnreceived = max(s.OldestUnreceived, h.Age)
	}
	if h.Stranded {
		s.Stranded++
	}
	if len(s.Holders) < MaxListed {
		s.Holders = append(s.Holders, h)
	}
}

// named fills in the tracking name and ID, if any.
func (s *Stats) named(t *tracking) {
	if t != nil {
		s.Name, s.ID = t.name, t.id
	}
}

// sortAges puts holders and waiters gathered from several waitqs (a Queue's
// getters and putters) oldest first, Unknown ages last.
func (s *Stats) sortAges() {
	older := func(a, b time.Duration) int { return cmp.Compare(b, a) }
	slices.SortStableFunc(s.Holders, func(a, b Holder) int { return older(a.Age, b.Age) })
	slices.SortStableFunc(s.Waiters, func(a, b Waiter) int { return older(a.Age, b.Age) })
}

// permits names a Semaphore's grant of n.
func permits(n int, _ bool) string {
	if n == 1 {
		return "1 permit"
	}
	return strconv.Itoa(n) + " permits"
}

// says returns an ask func that names every grant the same.
func says(what string) func(int, bool) string { return func(int, bool) string { return what } }
