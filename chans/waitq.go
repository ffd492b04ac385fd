package chans

import (
	"context"
	"runtime"
	"sync"
	"weak"
)

// This file holds the one waiting machinery every primitive shares: a FIFO
// of waiters, each with its own channel of capacity 1, and the protocol that
// takes a grant back from a caller whose context ended before it received.
//
// The grant travels in the waiter's channel, which is closed right after the
// send. A channel that has been sent to and closed is in exactly one of two
// states: its value is still buffered (len == 1) or the caller received it
// (len == 0). A receive by the caller and a non-blocking receive by the
// primitive cannot both get the value, so taking a grant back is a race the
// channel itself decides: whoever receives first owns it. That is what makes
// "nothing lost, nothing given twice" hold without any extra handshake.
//
// The tempting wrong version sends the grant on an unbuffered channel from a
// goroutine, or closes the waiter's channel on cancel without first trying to
// receive from it: the first costs a goroutine per waiter, the second loses
// the grant that was already in the buffer.

// waitState is where a waiter stands.
type waitState uint8

const (
	queued   waitState = iota + 1 // in waitq.queue, no grant yet
	granted                       // in waitq.out: grant sent, maybe not received
	finished                      // in no list; nothing more will happen to it
)

// A waiter is one caller of a waiting method. It sits in at most one of the
// two lists of its waitq (next and prev are that list's links), so removing it
// when its context ends is O(1).
type waiter[T any] struct {
	next, prev *waiter[T]
	ch         chan T // capacity 1; gets the grant, then is closed
	ctx        context.Context
	stop       func() bool  // stops the context.AfterFunc; nil if none registered
	pin        *waitq[T]    // while queued and registered: keeps the primitive alive, see watch
	n          int          // weight: permits wanted (Semaphore.AcquireN)
	match      func(T) bool // selective waits (Mailbox.Receive): which grants w takes
	reg        int32        // index in waitq.regs.ws while registered
	write      bool         // a writer (RWLock) or a putter's flag; primitive-defined
	state      waitState
}

// owner is the primitive a waitq serves. Both methods are called with the
// primitive's mutex held.
type owner[T any] interface {
	// reclaim undoes the effect of v, a grant made to w that w's caller
	// never received (its context ended first). The waitq calls dispatch
	// afterwards, so reclaim only restores state.
	reclaim(w *waiter[T], v T)
	// dispatch grants to queued waiters, in order, as long as the state
	// allows it. It is called whenever a grant came back or a queued waiter
	// left, since either may unblock the waiters behind.
	dispatch()
}

// leaver is implemented by owners that must tell a waiter why it left the
// queue (Queue.Put sends ctx.Err(), since a closed chan error would read as
// nil, "accepted"). left may send on w.ch but must not close it.
type leaver[T any] interface {
	left(w *waiter[T])
}

// waitq is the waiter queue. Its zero value is empty and ready. All methods
// are called with *mu held; mu and o are set by every entry point so that the
// zero value of a primitive needs no constructor.
type waitq[T any] struct {
	mu    *sync.Mutex
	o     owner[T]
	queue wlist[T] // waiting for a grant, oldest first
	out   wlist[T] // granted; the grant may still sit unreceived in w.ch
	lazy  int      // waiters in out with a cancellable ctx but no AfterFunc yet

	// Set at the first registration; see watch.
	self weak.Pointer[waitq[T]]
	regs *regs[T]
}

// regs lists the waiters whose ctx is registered with context.AfterFunc. It
// lives apart from its waitq so that the cleanup that runs once the
// primitive is unreachable can drop their registrations without reaching
// (and so keeping alive) the primitive. It is changed under the primitive's
// mutex; the cleanup reads it only once nobody can call the primitive, and
// the runtime orders cleanups after the mutations of their argument.
type regs[T any] struct {
	ws []*waiter[T]
}

func (r *regs[T]) add(w *waiter[T]) {
	w.reg = int32(len(r.ws))
	r.ws = append(r.ws, w)
}

func (r *regs[T]) remove(w *waiter[T]) {
	last := r.ws[len(r.ws)-1]
	r.ws[w.reg], last.reg = last, w.reg
	r.ws[len(r.ws)-1] = nil
	r.ws = r.ws[:len(r.ws)-1]
	if c := cap(r.ws); c > 64 && len(r.ws) < c/4 {
		// A burst of waiters is over: give its memory back.
		r.ws = append(make([]*waiter[T], 0, c/2), r.ws...)
	}
}

// stopAll runs when the primitive has become unreachable. Every waiter still
// registered was granted (a queued waiter pins the primitive), so its ctx
// ending could only take back a grant that nobody can be given any more.
func (r *regs[T]) stopAll() {
	for _, w := range r.ws {
		w.stop()
	}
	r.ws = nil
}

// bind records the primitive's mutex and owner. Cheap enough to call from
// every entry point, which keeps zero values usable.
func (q *waitq[T]) bind(mu *sync.Mutex, o owner[T]) {
	if q.mu == nil {
		q.mu, q.o = mu, o
	}
}

// len is the number of waiters queued for a grant. Waiters whose context
// ended but whose AfterFunc has not run yet are counted until sweep or the
// AfterFunc removes them.
func (q *waitq[T]) len() int { return q.queue.n }

// empty reports whether nobody is queued.
func (q *waitq[T]) empty() bool { return q.queue.n == 0 }

// enqueue adds a waiter for ctx with weight n at the back of the queue and
// returns it. The context's cancellation is registered only here, when a
// caller actually waits, and never for a ctx that cannot end.
func (q *waitq[T]) enqueue(ctx context.Context, n int, write bool) *waiter[T] {
	w := &waiter[T]{ch: make(chan T, 1), ctx: ctx, n: n, write: write, state: queued}
	q.queue.pushBack(w)
	q.watch(w)
	q.watchLazy()
	return w
}

// watchLazy registers the grants that were handed out without a registration
// (the uncontended fast path, see now). It is called when somebody starts to
// depend on them: a waiter queued behind them, or a broadcast wait
// (Semaphore.Wait) for the state they hold. If one of their callers walks
// away, that somebody must learn of it promptly, not at the next call into the
// primitive, which may never come. Only contended primitives pay for it.
func (q *waitq[T]) watchLazy() {
	if q.lazy == 0 {
		return
	}
	for g := q.out.head; g != nil; g = g.next {
		if g.stop == nil && g.ctx.Done() != nil {
			q.watch(g)
		}
	}
	q.lazy = 0
}

// watch registers w's ctx so that its end takes w out promptly.
//
// The registration lives in the ctx, which may outlive the primitive by far
// (a server's base context), so it must not keep the primitive alive once
// nobody else can reach it; otherwise every primitive that granted to a
// queued waiter and was then dropped would stay in memory, with its
// registration, until the ctx ends. The tempting version captures q in the
// AfterFunc; this one captures a weak pointer to it:
//   - A queued waiter pins the primitive through w.pin, so that its ctx
//     ending still closes its channel (W2) even if nobody else holds the
//     primitive any more.
//   - A granted waiter does not: if the primitive becomes unreachable with
//     the grant unreceived, there is nobody left to give it back to, so a
//     cleanup on the primitive stops every registration still listed in regs.
func (q *waitq[T]) watch(w *waiter[T]) {
	if w.ctx.Done() == nil {
		return // context.Background and friends never end: register nothing
	}
	if q.regs == nil {
		q.self = weak.Make(q)
		q.regs = new(regs[T])
		runtime.AddCleanup(q, (*regs[T]).stopAll, q.regs)
	}
	if w.state == queued {
		w.pin = q
	}
	self := q.self
	w.stop = context.AfterFunc(w.ctx, func() {
		if q := self.Value(); q != nil {
			q.abandon(w)
		}
	})
	q.regs.add(w)
}

// unwatch drops w's registration, if it has one, and its pin.
func (q *waitq[T]) unwatch(w *waiter[T]) {
	w.pin = nil
	if w.stop != nil {
		w.stop()
		q.regs.remove(w)
	}
}

// abandon runs (from context.AfterFunc) when w's ctx has ended. The mutex
// was set by bind before any registration, and the registration orders that
// write before this read.
func (q *waitq[T]) abandon(w *waiter[T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch w.state {
	case queued:
		q.leave(w)
		q.o.dispatch() // w may have held back the waiters behind it
	case granted:
		if q.takeBack(w) {
			q.o.dispatch()
		}
	}
}

// leave takes a queued waiter out without a grant and closes its channel.
func (q *waitq[T]) leave(w *waiter[T]) {
	q.queue.remove(w)
	w.state = finished
	q.unwatch(w)
	if l, ok := q.o.(leaver[T]); ok {
		l.left(w)
	}
	close(w.ch)
}

// takeBack ends a granted waiter whose ctx has ended. If the grant is still
// in the channel it is received here and handed to the owner; if the caller
// got there first, the grant is theirs and nothing happens. It reports whether
// a grant came back.
func (q *waitq[T]) takeBack(w *waiter[T]) bool {
	q.out.remove(w)
	if w.stop == nil && w.ctx.Done() != nil {
		q.lazy--
	}
	w.state = finished
	q.unwatch(w)
	// The channel is closed, so this receive never blocks: it yields the
	// grant (ok) or reports that the caller already has it (!ok).
	v, ok := <-w.ch
	if ok {
		q.o.reclaim(w, v)
	}
	return ok
}

// first returns the oldest live waiter, finishing dead ones at the head on
// the way, or nil if none waits. Dead waiters never get a grant: a waiter
// whose ctx ended cannot use one, and skipping it is what "prefer to fail"
// means for callers already queued.
func (q *waitq[T]) first() *waiter[T] {
	for w := q.queue.head; w != nil; w = q.queue.head {
		if w.ctx.Err() == nil {
			return w
		}
		q.leave(w)
	}
	return nil
}

// firstMatch returns the oldest live waiter whose match accepts v (a waiter
// with no match accepts anything), or nil. Dead waiters it passes are
// finished on the way. O(n) in the waiters it passes over.
func (q *waitq[T]) firstMatch(v T) *waiter[T] {
	for w := q.queue.head; w != nil; {
		next := w.next
		switch {
		case w.ctx.Err() != nil:
			q.leave(w)
		case w.match == nil || w.match(v):
			return w
		}
		w = next
	}
	return nil
}

// grant sends v to w, which must be queued, and closes w's channel. With
// keep, the grant is exclusive and is taken back if w's ctx ends before the
// caller receives it; otherwise (broadcast values, a putter's acceptance) it
// is final at once.
func (q *waitq[T]) grant(w *waiter[T], v T, keep bool) {
	q.queue.remove(w)
	w.ch <- v
	close(w.ch)
	if keep && w.ctx.Done() != nil {
		w.state = granted
		w.pin = nil       // see watch
		q.out.pushBack(w) // w.stop stays registered until we know it was received
		return
	}
	w.state = finished
	q.unwatch(w)
}

// now hands v to a caller that did not have to queue, returning a closed
// channel holding v. No AfterFunc is registered: if ctx ends with v unreceived,
// the next sweep takes it back, and if somebody queues first, enqueue
// registers it then.
// n and write are recorded as for enqueue, so reclaim can undo the grant.
func (q *waitq[T]) now(ctx context.Context, n int, write bool, v T, keep bool) chan T {
	ch := make(chan T, 1)
	ch <- v
	close(ch)
	if keep && ctx.Done() != nil {
		q.out.pushBack(&waiter[T]{ch: ch, ctx: ctx, n: n, write: write, state: granted})
		q.lazy++
	}
	return ch
}

// sweep brings the queue up to date with contexts that have ended but whose
// AfterFunc has not run yet: it takes back unreceived grants of ended
// contexts, forgets grants already received, and drops dead waiters at the
// head. Every public method calls it first, which is what makes W3 hold: once
// a caller sees ctx.Err() != nil, any later call sees its grant returned.
// The cost is O(grants not yet known to be received), which stays small: each
// received grant is forgotten at the first sweep after its receipt.
func (q *waitq[T]) sweep() {
	changed := false
	for w := q.out.head; w != nil; {
		next := w.next
		switch {
		case len(w.ch) == 0: // received: the grant is the caller's for good
			q.out.remove(w)
			if w.stop == nil && w.ctx.Done() != nil {
				q.lazy--
			}
			w.state = finished
			q.unwatch(w)
		case w.ctx.Err() != nil:
			if q.takeBack(w) {
				changed = true
			}
		}
		w = next
	}
	if h := q.queue.head; h != nil && h.ctx.Err() != nil {
		q.first()
		changed = true
	}
	if changed {
		q.o.dispatch()
	}
}

// live counts queued waiters whose ctx has not ended. O(n); for String.
func (q *waitq[T]) live() int {
	n := 0
	for w := q.queue.head; w != nil; w = w.next {
		if w.ctx.Err() == nil {
			n++
		}
	}
	return n
}

// wlist is an intrusive doubly linked list of waiters.
type wlist[T any] struct {
	head, tail *waiter[T]
	n          int
}

func (l *wlist[T]) pushBack(w *waiter[T]) {
	w.prev, w.next = l.tail, nil
	if l.tail == nil {
		l.head = w
	} else {
		l.tail.next = w
	}
	l.tail = w
	l.n++
}

func (l *wlist[T]) remove(w *waiter[T]) {
	if w.prev == nil {
		l.head = w.next
	} else {
		w.prev.next = w.next
	}
	if w.next == nil {
		l.tail = w.prev
	} else {
		w.next.prev = w.prev
	}
	w.next, w.prev = nil, nil
	l.n--
}

// latch is the broadcast half of waiting (W6): one shared channel, closed
// when a condition starts to hold. Waiting on it registers nothing, so
// abandoning the channel costs nothing. The zero value is ready; callers
// hold the primitive's mutex.
type latch struct {
	ch chan struct{} // nil until someone waits while the condition is false
}

// wait returns a channel closed once the condition holds; holds says whether
// it holds now, in which case no allocation is made.
func (l *latch) wait(holds bool) <-chan struct{} {
	if holds {
		return closedCh
	}
	if l.ch == nil {
		l.ch = make(chan struct{})
	}
	return l.ch
}

// open closes the channel of everyone waiting; the next wait while the
// condition is false gets a fresh channel.
func (l *latch) open() {
	if l.ch != nil {
		close(l.ch)
		l.ch = nil
	}
}

// closedCh is the channel handed out when a broadcast condition already holds.
var closedCh = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// closed returns a closed channel of T: the W4 answer to a call whose ctx had
// already ended, and the answer to calls that cannot succeed.
func closed[T any]() chan T {
	c := make(chan T)
	close(c)
	return c
}

// The two functions below serve Barrier, which grants to a whole set of
// waiters at once and so must decide the set at one instant.

// prune leaves every queued waiter whose ctx has ended, wherever it stands
// (first does so only at the head), and returns how many stay queued. O(n).
func (q *waitq[T]) prune() int {
	for w := q.queue.head; w != nil; {
		next := w.next
		if w.ctx.Err() != nil {
			q.leave(w)
		}
		w = next
	}
	return q.queue.n
}

// grantAll grants every queued waiter, oldest first, v(i) for its place i,
// final (not kept), whether or not its ctx ended since the caller decided
// the set (with prune): leaving out one whose ctx ended a moment ago would
// release the others one short.
func (q *waitq[T]) grantAll(v func(i int) T) {
	for i := 0; q.queue.head != nil; i++ {
		q.grant(q.queue.head, v(i), false)
	}
}
