package chans

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/turnstile-go/turnstile/internal/choice"
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
//
// A waiter is watched in one of four ways, fixed when it is made (see
// watchKind): not at all (its ctx cannot end), by a registration shared with
// the other waiters of the same ctx (a crowd, one context.AfterFunc for all of
// them), by the selectx choice it belongs to (which withdraws it in the
// chooser's goroutine), or by its own caller (a blocking twin, which waits in
// a select on its ctx and its channel).

// waitState is where a waiter stands.
type waitState uint8

const (
	idle     waitState = iota // fresh or on the free list
	unarmed                   // registered with a selectx choice in its Trying phase; in no list
	queued                    // in waitq.queue, no grant yet
	granted                   // in waitq.out: grant sent and the channel closed, maybe not received
	handed                    // a blocking waiter's grant is in its channel; its caller takes it
	left                      // a blocking waiter was told to stop waiting (a zero value in its channel)
	finished                  // in no list; nothing more will happen to it
)

// waitKind is who receives from a waiter's channel.
type waitKind uint8

const (
	// byChannel: the channel is handed to the caller, who may receive from
	// it at any time, or never. It is closed after the grant, or instead of
	// one.
	byChannel waitKind = iota
	// byBlocking: a blocking twin (AcquireWait, GetWait...) waits on the
	// channel in its own goroutine. Nobody else ever sees it, so it is never
	// closed and is reused from the free list with its waiter.
	byBlocking
)

// watchKind is how the end of a waiter's ctx reaches the primitive.
type watchKind uint8

const (
	unwatched    watchKind = iota // ctx.Done() is nil: it never ends
	watchedCrowd                  // a context.AfterFunc shared by a crowd of waiters with the same Done
	watchedSel                    // a selectx choice, which withdraws its waiters itself
	watchedOwn                    // a blocking waiter: its caller selects on ctx.Done()
)

// hold says whether a grant can be taken back.
type hold uint8

const (
	// final grants take effect at once and are never taken back: a
	// broadcast value, a putter's acceptance, a failure's reason.
	final hold = iota
	// exclusive grants (a lock, permits, an item, a notification) are taken
	// back if the caller's ctx ends before it received.
	exclusive
)

// ask is what a caller asks its primitive for. It is recorded in the waiter,
// so that reclaim can undo a grant and dispatch can tell who may go next.
type ask[T any] struct {
	n     int          // weight: permits wanted (Semaphore.AcquireN); a Queue putter's slot; a Mailbox grant's sequence number
	write bool         // a writer (RWLock)
	match func(T) bool // selective waits (Mailbox.Receive): which grants the waiter takes; nil takes all
	job   job          // what a holder that passes its grant on may run instead of the waiter (Semaphore.passOn); nil: none
}

// A waiter is one caller of a waiting method. It sits in at most one of the
// two lists of its waitq (next and prev are that list's links), so removing it
// when its context ends is O(1); rnext and rprev link it into its crowd.
type waiter[T any] struct {
	next, prev   *waiter[T]
	rnext, rprev *waiter[T]
	q            *waitq[T]
	ch           chan T // capacity 1
	ctx          context.Context
	crowd        *crowd[T]    // the shared registration watching ctx; nil if none
	n            int          // see ask
	match        func(T) bool // see ask
	job          job          // see ask
	write        bool         // see ask
	state        waitState
	kind         waitKind
	watch        watchKind
	hold         hold // of the grant, once granted

	// For Stats and tracking (stats.go, track.go); set by the note* hooks.
	since int64           // when it queued (nanotime); 0: not queued
	trk   *waiterTrack[T] // what tracking keeps; nil while untracked, so that waiters stay small
}

// waiterTrack is what tracking keeps of a waiter, apart from it: a queued
// waiter of an untracked primitive costs two words for Stats and tracking,
// not five (a crowd of 10^5 waiters is held to 256 bytes each).
type waiterTrack[T any] struct {
	stack Stack        // where its caller asked
	rec   *grantRec[T] // the record of its grant
}

// stack is where w's caller asked, if tracking saw it.
func (w *waiter[T]) stack() Stack {
	if w.trk == nil {
		return nil
	}
	return w.trk.stack
}

// rec is the record of w's grant, if tracking keeps one.
func (w *waiter[T]) rec() *grantRec[T] {
	if w.trk == nil {
		return nil
	}
	return w.trk.rec
}

// tracked returns what tracking keeps of w, made at the first need.
func (w *waiter[T]) tracked() *waiterTrack[T] {
	if w.trk == nil {
		w.trk = new(waiterTrack[T])
	}
	return w.trk
}

// owner is the primitive a waitq serves. Its methods are called with the
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

// placer is implemented by owners whose waits selectx can choose between.
// place grants w at once if the primitive's state allows it and nobody is
// queued ahead, and queues it otherwise (or closes it, if the wait can never
// be met). It is what the slow path of the primitive's wait does with a fresh
// waiter, and what arming a pending waiter does.
type placer[T any] interface {
	place(w *waiter[T])
}

// leaver is implemented by owners that keep something for a waiting caller
// or must tell it why it left the queue (Queue.Put keeps the item, and sends
// ctx.Err(), since a closed chan error would read as nil, "accepted"). left
// is called whenever a waiter stops waiting without a grant; it may send on
// w.ch if w is a channel waiter, but must not close it.
type leaver[T any] interface {
	left(w *waiter[T])
}

// causer is implemented by owners that know why a waiter was closed without
// a value, beyond its ctx: a failed Result, a drained shut down Queue.
type causer[T any] interface {
	cause(w *waiter[T]) error
}

// maxFree is how many spare waiters a waitq keeps. A few cover the waiters
// that come and go on a contended primitive; more would only pin the memory
// of a burst.
const maxFree = 16

// waitq is the waiter queue. Its zero value is empty and ready. All methods
// are called with *mu held; mu and o are set by every entry point so that the
// zero value of a primitive needs no constructor.
type waitq[T any] struct {
	mu    *sync.Mutex
	o     owner[T]
	queue wlist[T] // waiting for a grant, oldest first
	out   wlist[T] // granted; the grant may still sit unreceived in w.ch
	lazy  int      // waiters in out with a cancellable ctx but no registration yet

	free     *waiter[T] // spare waiters, linked by next
	nfree    int
	returned atomic.Pointer[waiter[T]] // blocking waiters given back without the mutex, linked by next; see giveBack

	last   *crowd[T]   // the newest crowd: a registration for the same Done joins it
	crowds []*crowd[T] // every live crowd; crowds[i].stop is regs.stops[i]
	pinned int         // queued waiters in a crowd; while > 0, regs.pin holds the primitive
	regs   *regs[T]    // made at the first registration; see newCrowd

	st qstats[T] // counters and tracking (stats.go, track.go)
}

// A crowd is one context.AfterFunc registration shared by the waiters whose
// ctx has the same Done channel and that registered while it was the newest
// crowd of their waitq: typically many callers on one request's or one
// server's ctx. When that ctx ends, one goroutine takes them all out, under
// one acquisition of the mutex. The tempting version registers every waiter
// on its own, which starts one goroutine per waiter at the moment a shared
// ctx ends (10^5 waiters, 10^5 goroutines fighting for one mutex).
type crowd[T any] struct {
	q     *waitq[T]
	done  <-chan struct{}
	stop  func() bool
	head  *waiter[T] // members, queued or granted, linked by rnext
	n     int
	idx   int  // in waitq.crowds and regs.stops
	fired bool // the AfterFunc ran: nobody may join any more
}

// regs lists the stop funcs of a waitq's crowds. It lives apart from its waitq
// so that the cleanup that runs once the primitive is unreachable can stop
// them without reaching (and so keeping alive) the primitive. It is changed
// under the primitive's mutex; the cleanup reads it only once nobody can call
// the primitive, and the runtime orders cleanups after the mutations of their
// argument.
//
// Every AfterFunc closure holds regs, and through pin the primitive while a
// waiter is queued: its ctx ending must then still close its channel (W2)
// even if nobody else holds the primitive any more. A crowd itself is reached
// from the closure only through a weak pointer, because its members' channels
// may hold grants (a Release) that point back at the primitive: a primitive
// dropped with a grant nobody received would otherwise stay reachable from
// the ctx for as long as the ctx lives.
type regs[T any] struct {
	pin   *waitq[T]
	stops []func() bool
}

// fired is the body of every AfterFunc registration.
func (rs *regs[T]) fired(wr weak.Pointer[crowd[T]]) {
	if r := wr.Value(); r != nil {
		r.q.fire(r)
	}
}

// stopAll runs when the primitive has become unreachable. Every registration
// left has only granted members (a queued one pins the primitive), whose ctx
// ending could only take back a grant that nobody can be given any more.
func (rs *regs[T]) stopAll() {
	for _, stop := range rs.stops {
		stop()
	}
	rs.stops = nil
}

// bind records the primitive's mutex and owner. Cheap enough to call from
// every entry point, which keeps zero values usable.
func (q *waitq[T]) bind(mu *sync.Mutex, o owner[T]) {
	if q.mu == nil {
		q.mu, q.o = mu, o
		born(o) // TrackAll: tracked from the first call that takes the mutex
	}
}

// len is the number of waiters queued for a grant. Waiters whose context
// ended but whose AfterFunc has not run yet are counted until sweep or the
// AfterFunc removes them.
func (q *waitq[T]) len() int { return q.queue.n }

// empty reports whether nobody is queued.
func (q *waitq[T]) empty() bool { return q.queue.n == 0 }

// idle reports whether the waitq tracks nothing: nobody queued, no grant
// that might still come back, and no tracking (which must see every grant).
// A primitive with an idle waitq may serve callers on its lock-free fast
// path.
func (q *waitq[T]) idle() bool { return q.queue.n == 0 && q.out.n == 0 && q.st.tr == nil }

// watchOf tells how the end of ctx will reach the primitive, for a waiter of
// the given kind.
func watchOf(ctx context.Context, kind waitKind) watchKind {
	if _, ok := ctx.(*choice.Ctx); ok {
		if kind == byBlocking {
			return watchedOwn
		}
		return watchedSel
	}
	switch {
	case ctx.Done() == nil:
		return unwatched
	case kind == byBlocking:
		return watchedOwn
	}
	return watchedCrowd
}

// newWaiter returns a waiter for ctx, from the free list if it has one. It is
// in no list yet: the caller queues it, grants it, or registers it with its
// choice.
func (q *waitq[T]) newWaiter(ctx context.Context, a ask[T], kind waitKind) *waiter[T] {
	if q.free == nil {
		q.takeReturned()
	}
	w := q.free
	if w != nil {
		q.free, w.next = w.next, nil
		q.nfree--
	} else {
		w = &waiter[T]{q: q}
	}
	// A blocking waiter's channel is private and empty when it is freed, so
	// it can serve again; a channel that was handed to a caller is theirs.
	if kind != byBlocking || w.kind != byBlocking || w.ch == nil {
		w.ch = make(chan T, 1)
	}
	w.ctx, w.kind, w.state = ctx, kind, idle
	w.n, w.write, w.match, w.job = a.n, a.write, a.match, a.job
	w.watch = watchOf(ctx, kind)
	q.noteNew(w)
	return w
}

// recycle puts w on the free list if nothing can reach it any more: it is in
// no list and no crowd, and no choice holds it (a choice withdraws its waiters
// when it ends, and must not find one reused by somebody else).
func (q *waitq[T]) recycle(w *waiter[T]) {
	if w.watch == watchedSel || q.nfree >= maxFree {
		return
	}
	if w.kind == byChannel {
		w.ch = nil // the caller's
	}
	w.ctx, w.match, w.job, w.state = nil, nil, nil, idle
	w.next, q.free = q.free, w
	q.nfree++
}

// enqueue adds a waiter for ctx with what it asks at the back of the queue
// and returns it. The context's cancellation is registered only here, when a
// caller actually waits, and never for a ctx that cannot end. A channel
// waiter that is granted or closed goes back on the free list at once (see
// finish): a caller that may dispatch after enqueue must keep w.ch first.
func (q *waitq[T]) enqueue(ctx context.Context, a ask[T], kind waitKind) *waiter[T] {
	w := q.newWaiter(ctx, a, kind)
	if w.watch == watchedSel && !ctx.(*choice.Ctx).Add(w) {
		// A primitive that does not serve choices itself (see selWait)
		// still queues under one: the choice withdraws the waiter at its
		// end, or it has ended already and the wait fails.
		q.tell(w)
		return w
	}
	q.push(w)
	return w
}

// push queues w, a fresh or pending waiter, at the back.
func (q *waitq[T]) push(w *waiter[T]) {
	w.state = queued
	q.noteQueued(w)
	q.queue.pushBack(w)
	q.watchWaiter(w)
	q.watchLazy()
}

// watchLazy registers the grants that were handed out without a registration
// (the uncontended path, see now). It is called when somebody starts to
// depend on them: a waiter queued behind them, or a broadcast wait
// (Semaphore.Wait) for the state they hold. If one of their callers walks
// away, that somebody must learn of it promptly, not at the next call into the
// primitive, which may never come. Only contended primitives pay for it.
func (q *waitq[T]) watchLazy() {
	if q.lazy == 0 {
		return
	}
	for g := q.out.head; g != nil; g = g.next {
		if g.watch == watchedCrowd && g.crowd == nil {
			q.register(g)
		}
	}
	q.lazy = 0
}

// watchWaiter makes sure the end of w's ctx reaches the primitive promptly.
func (q *waitq[T]) watchWaiter(w *waiter[T]) {
	switch w.watch {
	case watchedCrowd:
		q.register(w)
	case watchedSel:
		// The choice withdraws it. A wake is owed if the waiter is
		// queued now but the choice ended meanwhile: first() will close
		// it, and the close wakes.
	}
}

// register puts w in the newest crowd if that crowd is for the same Done
// channel, and in a new crowd otherwise.
func (q *waitq[T]) register(w *waiter[T]) {
	done := w.ctx.Done()
	r := q.last
	if r == nil || r.done != done || r.fired {
		r = q.newCrowd(w.ctx, done)
	}
	w.crowd = r
	w.rprev, w.rnext = nil, r.head
	if r.head != nil {
		r.head.rprev = w
	}
	r.head = w
	r.n++
	if w.state == queued {
		q.pin(1)
	}
}

// newCrowd registers ctx with context.AfterFunc, for the waiters that will
// join the crowd.
func (q *waitq[T]) newCrowd(ctx context.Context, done <-chan struct{}) *crowd[T] {
	if q.regs == nil {
		q.regs = new(regs[T])
		runtime.AddCleanup(q, (*regs[T]).stopAll, q.regs)
	}
	r := &crowd[T]{q: q, done: done}
	rs, wr := q.regs, weak.Make(r)
	r.stop = context.AfterFunc(ctx, func() { rs.fired(wr) })
	r.idx = len(q.crowds)
	q.crowds = append(q.crowds, r)
	rs.stops = append(rs.stops, r.stop)
	q.last = r
	return r
}

// dropCrowd forgets r, whose registration is stopped or has fired.
func (q *waitq[T]) dropCrowd(r *crowd[T]) {
	rs, last := q.regs, len(q.crowds)-1
	q.crowds[r.idx], rs.stops[r.idx] = q.crowds[last], rs.stops[last]
	q.crowds[r.idx].idx = r.idx
	q.crowds[last], rs.stops[last] = nil, nil
	q.crowds, rs.stops = q.crowds[:last], rs.stops[:last]
	if c := cap(q.crowds); c > 64 && len(q.crowds) < c/4 {
		// A burst of registrations is over: give its memory back.
		q.crowds = append(make([]*crowd[T], 0, c/2), q.crowds...)
		rs.stops = append(make([]func() bool, 0, c/2), rs.stops...)
	}
	if q.last == r {
		q.last = nil
	}
}

// unregister takes w out of its crowd, and stops the crowd once it is empty.
func (q *waitq[T]) unregister(w *waiter[T]) {
	r := w.crowd
	if r == nil {
		return
	}
	if w.rprev == nil {
		r.head = w.rnext
	} else {
		w.rprev.rnext = w.rnext
	}
	if w.rnext != nil {
		w.rnext.rprev = w.rprev
	}
	w.rnext, w.rprev, w.crowd = nil, nil, nil
	r.n--
	if r.n == 0 {
		r.stop()
		q.dropCrowd(r)
	}
}

// pin counts queued waiters that are in a crowd, and makes the registrations
// hold the primitive while there are any (see regs).
func (q *waitq[T]) pin(d int) {
	q.pinned += d
	switch {
	case q.pinned == 0:
		q.regs.pin = nil
	case q.pinned == d && d > 0:
		q.regs.pin = q
	}
}

// dequeue takes w out of the queue.
func (q *waitq[T]) dequeue(w *waiter[T]) {
	q.queue.remove(w)
	if w.crowd != nil {
		q.pin(-1)
	}
}

// finish ends w: out of its crowd, and back on the free list if it can be.
func (q *waitq[T]) finish(w *waiter[T]) {
	w.state = finished
	q.unregister(w)
	if w.kind == byChannel {
		q.recycle(w)
	}
}

// fire runs (from context.AfterFunc) when the ctx of r's members has ended:
// it takes every member out, queued or granted, under one acquisition of the
// mutex. The mutex was set by bind before any registration, and the
// registration orders that write before this read.
func (q *waitq[T]) fire(r *crowd[T]) {
	q.mu.Lock()
	defer q.mu.Unlock()
	defer q.absorb()
	r.fired = true
	changed := false
	for w := r.head; w != nil; {
		next := w.rnext
		switch w.state {
		case queued:
			q.leave(w)
			changed = true
		case granted:
			if q.takeBack(w) {
				changed = true
			}
		}
		w = next
	}
	if changed {
		q.o.dispatch() // the members may have held back the waiters behind them
	}
}

// absorb recovers a panic in a user callback (a priority queue's less, a
// mailbox's accept) that dispatch ran in a goroutine of the library's own,
// where no caller could recover it. Every callback runs where a panic leaves
// the primitive's state whole, so the primitive goes on; the owner, if it
// records panics, is told.
func (q *waitq[T]) absorb() {
	if p := recover(); p != nil {
		if a, ok := q.o.(interface{ absorbed(any) }); ok {
			a.absorbed(p)
		}
	}
}

// leave takes a queued waiter out without a grant: it closes the channel of a
// channel waiter, and wakes a blocking one with a zero value.
func (q *waitq[T]) leave(w *waiter[T]) {
	q.noteLeave(w)
	q.dequeue(w)
	q.tell(w)
}

// tell ends a waiter that is in no list without a grant.
func (q *waitq[T]) tell(w *waiter[T]) {
	if l, ok := q.o.(leaver[T]); ok {
		l.left(w)
	}
	if w.kind == byBlocking {
		var zero T
		w.state = left // before the send, which orders it before the caller's read
		q.unregister(w)
		w.ch <- zero
		return
	}
	close(w.ch)
	if w.watch == watchedSel {
		w.ctx.(*choice.Ctx).Wake()
	}
	q.finish(w)
}

// takeBack ends a granted waiter whose ctx has ended. If the grant is still
// in the channel it is received here and handed to the owner; if the caller
// got there first, the grant is theirs and nothing happens. It reports whether
// a grant came back.
func (q *waitq[T]) takeBack(w *waiter[T]) bool {
	q.out.remove(w)
	if w.watch == watchedCrowd && w.crowd == nil {
		q.lazy--
	}
	// The channel is closed, so this receive never blocks: it yields the
	// grant (ok) or reports that the caller already has it (!ok).
	v, ok := <-w.ch
	if ok {
		q.noteTakeBack(w)
		q.o.reclaim(w, v)
	}
	q.finish(w)
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
// finished on the way. O(n) in the waiters it passes over. If a match
// panics, firstMatch stops there and returns that waiter as bad, still
// queued, with the panic: the caller decides what becomes of it.
func (q *waitq[T]) firstMatch(v T) (w, bad *waiter[T], p *PanicError) {
	for w := q.queue.head; w != nil; {
		next := w.next
		if w.ctx.Err() != nil {
			q.leave(w)
			w = next
			continue
		}
		if w.match == nil {
			return w, nil, nil
		}
		ok, p := matches(w.match, v)
		switch {
		case p != nil:
			return nil, w, p
		case ok:
			return w, nil, nil
		}
		w = next
	}
	return nil, nil, nil
}

// matches runs a user's match func, turning a panic into a PanicError with
// the stack where it happened.
func matches[T any](match func(T) bool, v T) (ok bool, perr *PanicError) {
	defer func() {
		if p := recover(); p != nil {
			perr = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return match(v), nil
}

// grant sends v to w, which must be queued or pending. An exclusive grant to
// a caller whose ctx can end is kept in out until it is known to be received,
// so that it can be taken back; any other grant is final at once.
func (q *waitq[T]) grant(w *waiter[T], v T, h hold) {
	if w.state == queued {
		q.dequeue(w)
	}
	q.send(w, v, h)
}

// send delivers v to w, which is in no list.
func (q *waitq[T]) send(w *waiter[T], v T, h hold) {
	v = q.noteGrant(w, v, h)
	w.hold = h
	if w.kind == byBlocking {
		w.state = handed // before the send, which orders it before the caller's read
		q.unregister(w)
		w.ch <- v
		return
	}
	w.ch <- v
	close(w.ch)
	if w.watch == watchedSel {
		w.ctx.(*choice.Ctx).Wake()
	}
	if h == exclusive && w.watch != unwatched {
		w.state = granted
		q.out.pushBack(w) // its registration, if any, stays until we know it was received
		if w.watch == watchedCrowd && w.crowd == nil {
			q.lazy++
		}
		return
	}
	q.finish(w)
}

// now hands v to a caller that did not have to queue, returning a closed
// channel holding v. For a ctx that can end, the grant is kept in out, but no
// AfterFunc is registered: if ctx ends with v unreceived, the next sweep
// takes it back, and if somebody queues first, enqueue registers it then.
// What the caller asked is recorded as for enqueue, so reclaim can undo the
// grant.
func (q *waitq[T]) now(ctx context.Context, a ask[T], v T, h hold) <-chan T {
	// A choice's Done would make the derived context it saves for those
	// who ask: look at its type first.
	if _, ok := ctx.(*choice.Ctx); !ok && (h == final || ctx.Done() == nil) {
		ch := make(chan T, 1)
		ch <- q.noteNow(ch, ctx, a, v, h)
		close(ch)
		return ch
	}
	w := q.newWaiter(ctx, a, byChannel)
	if w.watch == watchedSel && !w.ctx.(*choice.Ctx).Add(w) {
		// The choice ended under us: nobody will receive, so the grant
		// goes back at once.
		q.o.reclaim(w, v)
		close(w.ch)
		q.finish(w)
		q.o.dispatch()
		return w.ch
	}
	q.send(w, v, h)
	return w.ch
}

// sweep brings the queue up to date with contexts that have ended but whose
// AfterFunc has not run yet: it takes back unreceived grants of ended
// contexts, forgets grants already received, and drops dead waiters at the
// head. Every public method calls it first, which is what makes W3 hold: once
// a caller sees ctx.Err() != nil, any later call sees its grant returned.
// The cost is O(grants not yet known to be received), which stays small: each
// received grant is forgotten at the first sweep after its receipt.
func (q *waitq[T]) sweep() {
	if q.out.head == nil && q.queue.head == nil {
		return // the common case, kept small enough to inline
	}
	q.sweepSlow()
}

func (q *waitq[T]) sweepSlow() {
	changed := false
	for w := q.out.head; w != nil; {
		next := w.next
		switch {
		case len(w.ch) == 0: // received: the grant is the caller's for good
			q.forget(w)
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

// forget ends w, a granted waiter whose caller received the grant.
func (q *waitq[T]) forget(w *waiter[T]) {
	q.out.remove(w)
	if w.watch == watchedCrowd && w.crowd == nil {
		q.lazy--
	}
	q.finish(w)
}

// inDoubt forgets the grants already received and reports whether any grant
// may still come back: one that sits unreceived for a caller whose ctx can
// end.
func (q *waitq[T]) inDoubt() bool {
	for w := q.out.head; w != nil; {
		next := w.next
		if len(w.ch) == 0 {
			q.forget(w)
		}
		w = next
	}
	return q.out.n > 0
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

// selWait is the start of a wait under a selectx choice: in the choice's
// Trying phase, a waiter that cannot be granted at once stays pending (its
// channel is real, but no primitive knows of it) until the choice arms it;
// afterwards it is placed at once. The caller holds the mutex and has checked
// that the choice has not ended.
func (q *waitq[T]) selWait(c *choice.Ctx, a ask[T], p placer[T], ready bool) <-chan T {
	w := q.newWaiter(c, a, byChannel)
	if !c.Add(w) {
		close(w.ch) // the choice ended under us
		return w.ch
	}
	if ready || c.Phase() != choice.Trying {
		p.place(w)
		return w.ch
	}
	w.state = unarmed
	return w.ch
}

// Arm, Withdraw, Chan and Cause make a waiter a choice.Waiter.

func (w *waiter[T]) Arm() {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.state != unarmed {
		return
	}
	q.sweep()
	if w.ctx.Err() != nil {
		q.tell(w)
		return
	}
	q.o.(placer[T]).place(w)
}

func (w *waiter[T]) Withdraw() {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	switch w.state {
	case unarmed:
		q.tell(w)
	case queued:
		q.leave(w)
		q.o.dispatch()
	case granted:
		// Whether the grant came back or was received, others may now
		// go on (see Received).
		q.takeBack(w)
		q.o.dispatch()
	}
	// The choice lets go of w after this call: it may serve again.
	if w.state == finished && w.kind == byChannel && q.nfree < maxFree {
		w.watch = unwatched
		q.recycle(w)
	}
}

func (w *waiter[T]) Received() {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if w.state == granted {
		q.forget(w)
		q.o.dispatch()
	}
}

func (w *waiter[T]) Chan() any { return (<-chan T)(w.ch) }

func (w *waiter[T]) Cause() error {
	q := w.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if c, ok := q.o.(causer[T]); ok {
		return c.cause(w)
	}
	return nil
}

// block waits, in the caller's goroutine, for w: a blocking waiter that the
// caller queued with q.mu held. It releases q.mu while it waits and returns
// with it released. It reports the grant and true, or false if w's ctx ended
// first or the primitive told w to stop waiting, with the owner's cause in the
// second case.
//
// A grant that arrives as the ctx ends is the caller's: dispatch grants only
// a waiter whose ctx is live at that moment (first), so the grant came
// first, and the caller, still blocked here, has told nobody otherwise. The
// tempting version gives it back, as a channel waiter's grant is given back
// (W2); but while it is on its way, a grant that may come back is in doubt,
// and nothing outside this goroutine can see it: a Queue shut down then
// (Shutdown(false)) told its other getters it was drained, and the item
// came back to a queue nobody would take it from (Join never closed).
func (q *waitq[T]) block(w *waiter[T]) (v T, ok bool, cause error) {
	q.mu.Unlock()
	received := false
	if done := w.ctx.Done(); done == nil {
		// A ctx that cannot end: a plain receive, where a select would
		// cost its setup and a lock on both channels for nothing.
		v = <-w.ch
		received = true
	} else {
		select {
		case v = <-w.ch:
			received = true
		case <-done:
		}
	}
	if received && w.state == handed { // written before the send: no lock needed to read it
		q.giveBack(w)
		return v, true, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock() // dispatch may run a user's callback, which may panic
	if !received {
		switch w.state {
		case queued:
			q.noteLeave(w)
			q.dequeue(w)
			if l, ok := q.o.(leaver[T]); ok {
				l.left(w)
			}
			w.state = finished
			q.o.dispatch() // w may have held back the waiters behind it
		case handed:
			v = <-w.ch // granted before the caller saw ctx end: it is the caller's
		case left:
			<-w.ch // the zero value that told it
		}
	}
	ok = w.state == handed
	if !ok {
		var zero T
		v = zero
		if c, isCauser := q.o.(causer[T]); isCauser && w.state == left {
			cause = c.cause(w)
		}
	}
	q.recycle(w)
	return v, ok, cause
}

// giveBack returns w, a blocking waiter whose caller has its grant, to the
// waitq without taking the mutex: the woken caller would otherwise take the
// primitive's mutex a second time, just to put its waiter on the free list,
// on the mutex that the other goroutines of a contended primitive fight
// for. w is the caller's alone now (its grant was sent, and it is in no
// list), so its fields are reset here; the push is a compare-and-swap onto
// a stack that newWaiter empties in one swap, under the mutex, which leaves
// no room for the ABA of popping one at a time.
func (q *waitq[T]) giveBack(w *waiter[T]) {
	w.ctx, w.match, w.job, w.state = nil, nil, nil, idle
	for {
		head := q.returned.Load()
		w.next = head
		if q.returned.CompareAndSwap(head, w) {
			return
		}
	}
}

// takeReturned moves the waiters giveBack returned onto the free list (the
// mutex is held), keeping at most maxFree.
func (q *waitq[T]) takeReturned() {
	for w := q.returned.Swap(nil); w != nil; {
		next := w.next
		if q.nfree < maxFree {
			w.next, q.free = q.free, w
			q.nfree++
		} else {
			w.next = nil
		}
		w = next
	}
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

// waited reports whether anyone holds the current channel.
func (l *latch) waited() bool { return l.ch != nil }

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

// checkCtx panics, before the caller touches any state, if ctx is nil: a nil
// ctx would otherwise fail with a bare nil dereference deep inside, perhaps
// with the primitive's mutex held.
func checkCtx(ctx context.Context, method string) {
	if ctx == nil {
		panic("chans: " + method + " with a nil Context")
	}
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
		q.grant(q.queue.head, v(i), final)
	}
}
