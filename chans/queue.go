package chans

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
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
// (NewPriorityQueue; items that compare equal come out in no set order).
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
// Memory model: a Put whose item is accepted happens before the receive of
// that item from a Get (or TryGet's return); a TaskDone happens before the
// close of any Join channel it causes.
type Queue[T any] struct {
	mu         sync.Mutex
	items      queueStore[T]
	max        int  // 0: unbounded
	unfinished int  // items accepted and not yet TaskDone'd
	shut       bool // Shutdown was called
	dropping   bool // Shutdown(true) was called: items given back are dropped
	done       latch
	getters    waitq[T]
	putters    waitq[error]         // answered nil once the item is accepted
	pending    map[*waiter[error]]T // the item of each queued putter
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
	return &Queue[T]{max: maxsize, items: queueStore[T]{order: o, less: less}}
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
	q.lock()
	defer q.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return q.putters.now(ctx, 0, false, err, false)
	}
	if q.shut {
		return q.putters.now(ctx, 0, false, ErrShutdown, false)
	}
	if q.putters.empty() && !q.full() {
		q.add(v)
		q.dispatch()
		return q.putters.now(ctx, 0, false, nil, false)
	}
	if q.pending == nil {
		q.pending = make(map[*waiter[error]]T)
	}
	w := q.putters.enqueue(ctx, 0, false)
	q.pending[w] = v
	return w.ch
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
	q.dispatch()
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
	q.lock()
	defer q.mu.Unlock()
	if ctx.Err() != nil {
		return closed[T]()
	}
	if q.getters.empty() && q.items.len() > 0 {
		// take leaves no slot that a putter could fill (see take), so
		// there is nothing to dispatch.
		return q.getters.now(ctx, 0, false, q.take(), true)
	}
	if q.shut {
		return closed[T]()
	}
	return q.getters.enqueue(ctx, 0, false).ch
}

// TryGet removes and returns the next item if one is stored. Otherwise it
// returns ErrEmpty, or ErrShutdown if the queue is shut down. Stored items
// and queued getters never coexist, so TryGet cannot pass a getter.
func (q *Queue[T]) TryGet() (T, error) {
	q.lock()
	defer q.mu.Unlock()
	if q.items.len() == 0 {
		var zero T
		if q.shut {
			return zero, ErrShutdown
		}
		return zero, ErrEmpty
	}
	return q.take(), nil
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
// items that are left, then get closed channels. With immediate, the items
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
		delete(q.pending, w)
		q.putters.grant(w, ErrShutdown, false)
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
// ended (waitq.sweep), which every public method needs for W3.
func (q *Queue[T]) lock() {
	q.mu.Lock()
	q.getters.bind(&q.mu, q)
	q.putters.bind(&q.mu, (*putOwner[T])(q))
	q.getters.sweep()
	q.putters.sweep()
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
	q.add(q.pending[w])
	delete(q.pending, w)
	q.putters.grant(w, nil, false)
}

// take removes the item the next getter receives. If the queue holds exactly
// Cap items and a putter waits, this get frees a slot, so the oldest putter's
// item goes in first and the get then takes by the queue's order (tornado's
// rule). Over Cap (an item came back from a getter), the get frees no real
// slot and no putter is let in. Either way, after take the queue is still full
// if a putter waits, so callers need not dispatch.
func (q *Queue[T]) take() T {
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
				q.getters.grant(w, q.take(), true)
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
	if q.shut && q.items.len() == 0 {
		for w := q.getters.first(); w != nil; w = q.getters.first() {
			q.getters.leave(w)
		}
	}
}

// reclaim takes back an item a getter never received: to where the next Get
// finds it first, or nowhere after Shutdown(true), which drops items.
func (q *Queue[T]) reclaim(_ *waiter[T], v T) {
	if q.dropping {
		q.finish(1)
		return
	}
	q.items.unpop(v)
}

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
	delete(p.pending, w)
	w.ch <- w.ctx.Err()
}
