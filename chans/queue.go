package chans

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"

	"github.com/turnstile-go/turnstile/internal/choice"
)

var (
	// ErrEmpty is returned by Queue.TryGet when no item is stored.
	ErrEmpty = errors.New("chans: queue empty")
	// ErrFull is returned by Queue.TryPut when the queue is full or earlier
	// putters wait.
	ErrFull = errors.New("chans: queue full")
	// ErrShutdown is the answer to every put after Queue.Shutdown, and to
	// TryGet once a shut down queue is drained.
	ErrShutdown = errors.New("chans: queue shut down")
)

// A Queue is a queue of items for goroutines, bounded or not, whose Put and
// Get return channels (toro's Queue, LifoQueue, PriorityQueue and
// JoinableQueue, tornado.queues, with asyncio's Shutdown). Items come out
// oldest first (NewQueue), newest first (NewLifoQueue) or least first
// (NewPriorityQueue; items that compare equal come out oldest first).
// [Queue.GetWait] and [Queue.PutWait] are the blocking twins of Get and Put.
//
// The zero value is an empty, unbounded FIFO queue. A Queue must not be
// copied after first use.
//
// Fairness: getters are served in the order of their calls, and so are
// putters; TryGet and TryPut never pass a queued getter or putter. When a Get
// frees a slot in a full queue, the oldest blocked putter's item goes in
// first and the Get then takes by the queue's order (tornado's rule): in a
// full LIFO queue with a blocked putter, Get returns that putter's item.
//
// Cancellation never loses an item. An item handed to a getter whose ctx
// ends before it received goes back where the next Get finds it first (the
// front, the top, or the heap), and the unfinished count does not change. A
// putter whose ctx ends before its item was accepted leaves no trace: no
// getter ever sees that item. Because a getter may give an item back after a
// putter took the slot it freed, Len can briefly exceed Cap; Full then
// reports true and puts wait until Len drops below Cap. (Counting items on
// their way to a getter against the bound instead would keep a putter blocked
// after the getter received, since nothing tells the queue when a receive
// happens.)
//
// Tasks: every accepted item adds one to the unfinished count; TaskDone
// takes one off, and Join's channel is closed whenever it reaches zero.
//
// Cost: every operation takes the queue's mutex once. When nobody waits and
// no item is in doubt, TryPut, TryGet, PutWait and GetWait do nothing else and
// allocate nothing; Put and Get allocate their channel. A waiting caller costs
// a waiter (from a small free list) and, for the channel forms, a channel.
//
// A priority queue's less runs under the queue's mutex, in whatever goroutine
// calls into the queue. If it panics, the call panics and the queue is left
// as it was (the item of a Put is not added, a Get takes nothing); if it
// panics in a goroutine of the library's own (when a getter's ctx ends and its
// item goes back), the item is kept first in line and the panic is dropped.
//
// Memory model: in the terms of [the Go memory model], a Put whose item is
// accepted synchronizes before the receive of that item from a Get (or the
// return of TryGet or GetWait); a TaskDone synchronizes before the close of
// any Join channel it causes.
//
// [the Go memory model]: https://go.dev/ref/mem
type Queue[T any] struct {
	mu         sync.Mutex
	items      queueStore[T]
	max        int  // 0: unbounded
	unfinished int  // items accepted and not yet TaskDone'd
	shut       bool // Shutdown was called
	dropping   bool // Shutdown(true) was called: items given back are dropped
	lost       any  // the last panic of less absorbed in a goroutine of the library's own
	done       latch
	getters    waitq[T]
	putters    waitq[error] // answered nil once the item is accepted; a putter's n is its slot
	slots      []T          // the items of waiting putters
	freeSlots  []int        // indexes of unused slots
}

// NewQueue returns a FIFO queue holding at most maxsize items (0: no limit).
// Negative maxsize panics.
func NewQueue[T any](maxsize int) *Queue[T] {
	return newQueue[T]("NewQueue", maxsize, fifo, nil)
}

// NewLifoQueue returns a LIFO queue (a stack) holding at most maxsize items
// (0: no limit). Negative maxsize panics.
func NewLifoQueue[T any](maxsize int) *Queue[T] {
	return newQueue[T]("NewLifoQueue", maxsize, lifo, nil)
}

// NewPriorityQueue returns a queue holding at most maxsize items (0: no
// limit) that hands out the least item first, as ordered by less. Negative
// maxsize or a nil less panics.
func NewPriorityQueue[T any](maxsize int, less func(a, b T) bool) *Queue[T] {
	if less == nil {
		panic("chans: NewPriorityQueue with nil less")
	}
	return newQueue("NewPriorityQueue", maxsize, prio, less)
}

func newQueue[T any](name string, maxsize int, o queueOrder, less func(a, b T) bool) *Queue[T] {
	if maxsize < 0 {
		panic("chans: " + name + " with negative maxsize")
	}
	return &Queue[T]{max: maxsize, items: queueStore[T]{order: o, less: less, keep: min(maxsize, maxKept)}}
}

// Put offers v to the queue. The returned channel has a buffer of one and
// always yields exactly one value, then is closed:
//   - nil once v is accepted (stored, or handed to a getter);
//   - ctx.Err() if ctx ended before that, or had ended at the call (even if
//     there was room);
//   - ErrShutdown if the queue is, or gets, shut down first.
//
// Unlike the other waits, a failed Put yields its reason rather than a bare
// close, since a closed chan error would read as nil, "accepted". An item not
// accepted is never seen by any getter. Acceptance is final: once the item is
// in, the ctx ending changes nothing and the channel holds nil. A caller that
// never receives loses nothing, and its item waits for room until ctx ends.
func (q *Queue[T]) Put(ctx context.Context, v T) <-chan error {
	checkCtx(ctx, "Queue.Put")
	q.lock()
	defer q.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return grantNow(err)
	}
	if q.shut {
		return grantNow(ErrShutdown)
	}
	if c, ok := ctx.(*choice.Ctx); ok {
		return q.putters.selWait(c, ask[error]{n: q.hold(v)}, (*putOwner[T])(q), q.roomNow())
	}
	if q.roomNow() {
		q.add(v)
		q.handOn()
		return grantNow[error](nil)
	}
	return q.putters.enqueue(ctx, ask[error]{n: q.hold(v)}, byChannel).ch
}

// PutWait is the blocking twin of Put: it returns nil once v is accepted,
// ctx.Err() if ctx ends first or had ended at the call, or ErrShutdown if the
// queue is, or gets, shut down first; an item not accepted is never seen by
// any getter. It queues in the same FIFO as Put's callers, makes no channel
// and registers nothing when there is room, and starts no goroutine when it
// waits. PutWait panics if ctx is nil.
func (q *Queue[T]) PutWait(ctx context.Context, v T) error {
	checkCtx(ctx, "Queue.PutWait")
	q.lock()
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return err
	}
	if q.shut {
		q.mu.Unlock()
		return ErrShutdown
	}
	if q.roomNow() {
		defer q.mu.Unlock()
		q.add(v)
		q.handOn()
		return nil
	}
	w := q.putters.enqueue(ctx, ask[error]{n: q.hold(v)}, byBlocking)
	err, ok, _ := q.putters.block(w)
	if !ok {
		return ctx.Err()
	}
	return err
}

// roomNow reports whether a new item goes in at once.
func (q *Queue[T]) roomNow() bool { return q.putters.empty() && !q.full() }

// hold keeps the item of a putter that has to wait, and returns its slot.
func (q *Queue[T]) hold(v T) int {
	if n := len(q.freeSlots); n > 0 {
		i := q.freeSlots[n-1]
		q.freeSlots = q.freeSlots[:n-1]
		q.slots[i] = v
		return i
	}
	q.slots = append(q.slots, v)
	return len(q.slots) - 1
}

// unhold returns the item in slot i and frees the slot. Once every slot is
// free, the slots go if there are many, so a burst of blocked putters does
// not pin its memory; a few stay, or a queue whose putters wait one at a
// time would reallocate them at every put.
func (q *Queue[T]) unhold(i int) T {
	v := q.slots[i]
	var zero T
	q.slots[i] = zero
	q.freeSlots = append(q.freeSlots, i)
	if len(q.freeSlots) == len(q.slots) && cap(q.slots) > 64 {
		q.slots, q.freeSlots = nil, nil
	}
	return v
}

// TryPut adds v if there is room now and no putter waits. It returns ErrFull
// or ErrShutdown otherwise, and v is then not in the queue.
func (q *Queue[T]) TryPut(v T) error {
	q.lock()
	defer q.mu.Unlock()
	switch {
	case q.shut:
		return ErrShutdown
	case !q.putters.empty() || q.full():
		return ErrFull
	}
	q.add(v)
	q.handOn()
	return nil
}

// Get asks for the next item. The returned channel has a buffer of one and is
// closed after yielding at most one value:
//   - the item (ok true), which is then this caller's;
//   - nothing (closed, ok false) if ctx ended first, or had ended at the call
//     even though an item was there (W4), or if the queue is shut down and
//     drained.
//
// If ctx ends after the item was sent but before the caller received it, the
// item goes back where the next Get finds it first, and a receive after that
// yields closed. A caller that neither receives nor lets ctx end strands the
// item until ctx ends: cancel the ctx of a Get you abandon in a select, or
// use selectx.
func (q *Queue[T]) Get(ctx context.Context) <-chan T {
	checkCtx(ctx, "Queue.Get")
	q.lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil {
		return closed[T]()
	}
	if c, ok := ctx.(*choice.Ctx); ok {
		return q.getters.selWait(c, ask[T]{}, q, q.getters.empty() && (q.items.len() > 0 || q.drained()))
	}
	if q.getters.empty() && q.items.len() > 0 {
		// take leaves no slot that a putter could fill (see take), so
		// there is nothing to dispatch.
		v, seq := q.take()
		return q.getters.now(ctx, ask[T]{n: seq}, v, exclusive)
	}
	if q.drained() {
		return closed[T]()
	}
	return q.getters.enqueue(ctx, ask[T]{}, byChannel).ch
}

// GetWait is the blocking twin of Get: it returns the next item once it is
// the caller's, ctx.Err() if ctx ends first or had ended at the call (even if
// an item was there), or ErrShutdown once the queue is shut down and
// drained. It queues in the same FIFO as Get's callers, makes no channel and
// registers nothing when an item is there, and starts no goroutine when it
// waits. GetWait panics if ctx is nil.
func (q *Queue[T]) GetWait(ctx context.Context) (T, error) {
	checkCtx(ctx, "Queue.GetWait")
	var zero T
	q.lock()
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return zero, err
	}
	if q.getters.empty() && q.items.len() > 0 {
		defer q.mu.Unlock()
		v, _ := q.take()
		return q.getters.noteDirect(v, ask[T]{}), nil
	}
	if q.drained() {
		q.mu.Unlock()
		return zero, ErrShutdown
	}
	w := q.getters.enqueue(ctx, ask[T]{}, byBlocking)
	v, ok, _ := q.getters.block(w)
	if !ok {
		if err := ctx.Err(); err != nil {
			return zero, err
		}
		return zero, ErrShutdown // told by the drain of a shut down queue
	}
	return v, nil
}

// TryGet removes and returns the next item if one is stored. Otherwise it
// returns ErrEmpty, or ErrShutdown if the queue is shut down and drained.
// Stored items and queued getters never coexist, so TryGet cannot pass a
// getter.
func (q *Queue[T]) TryGet() (T, error) {
	q.lock()
	defer q.mu.Unlock()
	if q.items.len() == 0 {
		var zero T
		if q.drained() {
			return zero, ErrShutdown
		}
		return zero, ErrEmpty
	}
	v, _ := q.take()
	return q.getters.noteDirect(v, ask[T]{}), nil
}

// Len returns the number of items stored. An item sent to a getter that has
// not received it yet is not counted, unless that getter's ctx has ended, in
// which case the item is back and counted (W3).
func (q *Queue[T]) Len() int {
	q.lock()
	defer q.mu.Unlock()
	return q.items.len()
}

// Cap returns the queue's maxsize; 0 means unbounded.
func (q *Queue[T]) Cap() int { return q.max }

// Empty reports whether no item is stored.
func (q *Queue[T]) Empty() bool { return q.Len() == 0 }

// Full reports whether a put would have to wait: the queue is bounded and
// holds Cap items (or more, see the type's doc). An unbounded queue is never
// full.
func (q *Queue[T]) Full() bool {
	q.lock()
	defer q.mu.Unlock()
	return q.full()
}

// TaskDone marks one accepted item as processed. Called more times than
// items were accepted, it panics. When the unfinished count reaches zero,
// every Join channel is closed.
func (q *Queue[T]) TaskDone() {
	q.lock()
	defer q.mu.Unlock()
	if q.unfinished == 0 {
		panic("chans: Queue.TaskDone called more times than items were put")
	}
	q.finish(1)
}

// Unfinished returns the number of accepted items not yet marked done by
// TaskDone.
func (q *Queue[T]) Unfinished() int {
	q.lock()
	defer q.mu.Unlock()
	return q.unfinished
}

// Join returns a channel that is closed once the unfinished count is zero:
// a closed channel at once if it is zero now (as on a fresh queue; no
// allocation), otherwise one shared by every caller until the count reaches
// zero. It takes nothing, so it needs no ctx and abandoning it costs nothing.
func (q *Queue[T]) Join() <-chan struct{} {
	q.lock()
	defer q.mu.Unlock()
	return q.done.wait(q.unfinished == 0)
}

// Shutdown shuts the queue down (asyncio's Queue.shutdown). Every later put
// fails with ErrShutdown, and so do putters queued now. Getters drain the
// items that are left, then get closed channels. The queue is drained only
// when no item is on its way to a getter: while a getter that has not
// received yet could still give its item back (its ctx can end), later
// getters wait, and get that item if it does come back; they are told the
// queue is drained at the first call into it after the item was received (the
// receiver's TaskDone or next Get is such a call). With immediate, the items
// left are dropped as well, their unfinished count with them, and every
// queued getter gets a closed channel at once; an item that a getter gives
// back later is dropped too. Calling it again is harmless, and
// Shutdown(true) after Shutdown(false) drops what is left.
func (q *Queue[T]) Shutdown(immediate bool) {
	q.lock()
	defer q.mu.Unlock()
	q.shut = true
	// Fail the putters before dropping anything, or dispatch would let them
	// fill the room the drop makes.
	for w := q.putters.first(); w != nil; w = q.putters.first() {
		q.unhold(w.n)
		q.putters.grant(w, ErrShutdown, final)
	}
	if immediate {
		q.dropping = true
		n := q.items.len()
		q.items.clear()
		q.finish(n)
		// From now on an item given back is dropped with its task, which
		// may be the last one Join waits for. Items handed out on the fast
		// path are taken back only at the next call into the queue, which
		// may never come: have their ctx's end do it. No such item can be
		// handed out after this, since the queue stays empty.
		q.getters.watchLazy()
	}
	q.dispatch()
}

// All returns an iterator over the items the queue hands out, each taken
// with Get(ctx). It ends when ctx ends or the queue is shut down and
// drained. An item is removed from the queue only when it is handed to the
// loop body, so breaking out of the loop loses nothing; the body owns each
// item it is given, and with Join in use must call TaskDone for it.
func (q *Queue[T]) All(ctx context.Context) iter.Seq[T] {
	checkCtx(ctx, "Queue.All")
	return func(yield func(T) bool) {
		for {
			// The receive blocks until the Get is decided: no Get is ever
			// left in flight when the body breaks out, so none can strand
			// an item.
			v, ok := <-q.Get(ctx)
			if !ok || !yield(v) {
				return
			}
		}
	}
}

// String describes the queue, toro-style:
// "Queue(maxsize=1, len=1, getters[0], putters[2], tasks=3)". Parts that are
// zero are left out, except maxsize and len; "shutdown" is added once shut
// down.
func (q *Queue[T]) String() string {
	q.lock()
	defer q.mu.Unlock()
	var b strings.Builder
	name := [...]string{fifo: "Queue", lifo: "LifoQueue", prio: "PriorityQueue"}[q.items.order]
	fmt.Fprintf(&b, "%s(maxsize=%d, len=%d", name, q.max, q.items.len())
	if n := q.getters.live(); n > 0 {
		fmt.Fprintf(&b, ", getters[%d]", n)
	}
	if n := q.putters.live(); n > 0 {
		fmt.Fprintf(&b, ", putters[%d]", n)
	}
	if q.unfinished > 0 {
		fmt.Fprintf(&b, ", tasks=%d", q.unfinished)
	}
	if q.shut {
		b.WriteString(", shutdown")
	}
	b.WriteByte(')')
	return b.String()
}

// lock takes q.mu and brings both waiter queues up to date with contexts that
// ended (waitq.sweep), which every public method needs for W3. When nobody
// waits and nothing is in doubt, the sweeps are two comparisons each.
func (q *Queue[T]) lock() {
	q.mu.Lock()
	q.getters.bind(&q.mu, q)
	q.putters.bind(&q.mu, (*putOwner[T])(q))
	q.getters.sweep()
	q.putters.sweep()
	if q.shut && !q.getters.empty() {
		// Getters wait after Shutdown(false) while an item is in
		// doubt; once it was received, the first call tells them.
		q.dispatch()
	}
}

// full reports whether a new item must wait for room.
func (q *Queue[T]) full() bool { return q.max > 0 && q.items.len() >= q.max }

// add stores an accepted item and counts it as unfinished.
func (q *Queue[T]) add(v T) {
	q.items.push(v)
	q.unfinished++
}

// admit accepts the item of w, a queued putter, and tells w so. The answer is
// final (not kept for taking back): the item is in.
func (q *Queue[T]) admit(w *waiter[error]) {
	q.add(q.slots[w.n]) // before unhold: if less panics, the putter still waits with its item
	q.unhold(w.n)
	q.putters.grant(w, nil, final)
}

// take removes the item the next getter receives. If the queue holds exactly
// Cap items and a putter waits, this get frees a slot, so the oldest putter's
// item goes in first and the get then takes by the queue's order (tornado's
// rule). Over Cap (an item came back from a getter), the get frees no real
// slot and no putter is let in. Either way, after take the queue is still full
// if a putter waits, so callers need not dispatch.
func (q *Queue[T]) take() (T, int) {
	if q.max > 0 && q.items.len() == q.max {
		if w := q.putters.first(); w != nil {
			q.admit(w)
		}
	}
	return q.items.pop()
}

// finish takes n off the unfinished count (never below zero: TaskDone may
// have run for items that Shutdown(true) then drops) and wakes Join.
func (q *Queue[T]) finish(n int) {
	q.unfinished -= min(n, q.unfinished)
	if q.unfinished == 0 {
		q.done.open()
	}
}

// dispatch hands stored items to queued getters and admits queued putters
// while there is room, until neither can move; then, if the queue is shut down
// and drained, it closes the channels of the getters still waiting. Afterwards
// stored items and queued getters never coexist, and putters wait only while
// the queue is full.
func (q *Queue[T]) dispatch() {
	for {
		if q.items.len() > 0 {
			if w := q.getters.first(); w != nil {
				v, seq := q.take()
				w.n = seq
				q.getters.grant(w, v, exclusive)
				continue
			}
		}
		if !q.full() {
			if w := q.putters.first(); w != nil {
				q.admit(w)
				continue
			}
		}
		break
	}
	if q.drained() {
		for w := q.getters.first(); w != nil; w = q.getters.first() {
			q.getters.leave(w)
		}
	}
}

// handOn passes a new item to a waiting getter, if one waits: the fast path
// of a put skips dispatch altogether when nobody does (a new item can
// unblock only a getter).
func (q *Queue[T]) handOn() {
	if !q.getters.empty() {
		q.dispatch()
	}
}

// drained reports whether the queue is shut down and no item is left for a
// getter: none stored and, unless Shutdown(true) drops what comes back, none
// on its way to a getter that could still give it back.
func (q *Queue[T]) drained() bool {
	return q.shut && q.items.len() == 0 && (q.dropping || !q.getters.inDoubt())
}

// reclaim takes back an item a getter never received: to where the next Get
// finds it first, or nowhere after Shutdown(true), which drops items.
func (q *Queue[T]) reclaim(w *waiter[T], v T) {
	if q.dropping {
		q.finish(1)
		return
	}
	q.items.unpop(v, w.n)
}

// place serves w, a pending getter of a selectx choice: an item if there is
// one, a close if the queue is drained, a place in the queue otherwise.
func (q *Queue[T]) place(w *waiter[T]) {
	switch {
	case q.getters.empty() && q.items.len() > 0:
		v, seq := q.take()
		w.n = seq
		q.getters.send(w, v, exclusive)
	case q.drained():
		q.getters.tell(w)
	default:
		q.getters.push(w)
	}
}

// cause says why a getter of a selectx choice was closed without an item.
func (q *Queue[T]) cause(*waiter[T]) error {
	if q.shut {
		return ErrShutdown
	}
	return nil
}

// absorbed is told of a panic of less in a goroutine of the library's own.
func (q *Queue[T]) absorbed(p any) { q.lost = p }

// putOwner is the owner of a Queue's putter waitq: the same struct under
// another name, so that *Queue[T] owns the getters' waitq[T] while the
// putters' waitq[error] gets methods of its own.
type putOwner[T any] Queue[T]

// reclaim is never called: a putter's answer is granted final.
func (p *putOwner[T]) reclaim(*waiter[error], error) {}

func (p *putOwner[T]) dispatch() { (*Queue[T])(p).dispatch() }

// left answers a putter that leaves the queue because its ctx ended (the only
// way one leaves; Shutdown grants ErrShutdown instead) and forgets its item.
func (p *putOwner[T]) left(w *waiter[error]) {
	(*Queue[T])(p).unhold(w.n)
	if w.kind == byChannel { // a blocking putter knows why it stopped waiting
		w.ch <- w.ctx.Err()
	}
}

// place serves w, a pending putter of a selectx choice.
func (p *putOwner[T]) place(w *waiter[error]) {
	q := (*Queue[T])(p)
	switch {
	case q.shut:
		q.unhold(w.n)
		q.putters.send(w, ErrShutdown, final)
	case q.roomNow():
		q.add(q.slots[w.n])
		q.unhold(w.n)
		q.dispatch()
		q.putters.send(w, nil, final)
	default:
		q.putters.push(w)
	}
}

// Stats reports the queue's getters and putters (see [Stats]): Value is Len
// and Limit is Cap; Waiters lists getters (asking for an "item") and
// putters (asking for "room") together, oldest first; Holders are items on
// their way to a getter that has not received them yet. Grants counts items
// handed to getters; Cancels counts getters and putters that gave up.
func (q *Queue[T]) Stats() Stats {
	q.lock()
	defer q.mu.Unlock()
	s := Stats{Kind: "Queue", Value: q.items.len(), Limit: q.max}
	if q.shut {
		s.State = "shut down"
	}
	s.named(q.getters.st.tr)
	now := nanotime()
	q.getters.snapshot(&s, now, says("item"))
	q.putters.snapshot(&s, now, says("room"))
	s.Grants -= q.putters.st.grants // a putter's answer is not an item
	s.GrantsExact = true
	s.sortAges()
	return s
}
