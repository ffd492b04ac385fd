package chans

import (
	"context"
	"fmt"
	"sync"
)

// A Barrier lets a fixed number of goroutines, its parties, wait until all of
// them have arrived (asyncio.Barrier, threading.Barrier). When the last
// party calls Wait the barrier trips: every party's channel yields its
// arrival index, and the barrier is at once ready for the next round, so the
// same parties can meet again and again.
//
// Create one with NewBarrier; the zero value is not usable. A Barrier must
// not be copied after first use.
//
// Indexes: the waiters of a round are numbered 0..parties-1 in the order of
// their calls, among those still waiting when the barrier trips; the caller
// that trips it gets parties-1. Each index goes to exactly one party.
//
// Cancellation: a waiter whose ctx ends before the barrier trips leaves
// without a trace: it does not count towards the parties, holds no index,
// and its channel is closed empty. A trip is final: once it happened, every
// party's channel holds its index even if that party's ctx ends before it
// receives, since the others have already been let through.
//
// Abort breaks the barrier: waiters are let go empty-handed and later waits
// fail at once until Reset. Reset lets the waiters go the same way and makes
// the barrier usable again.
//
// Where it differs from asyncio.Barrier, whose tests barrier_asyncio_test.go
// ports:
//   - asyncio numbers a party when it arrives, and a task cancelled while
//     waiting leaves its number behind, so two parties of a round can get the
//     same index; here a waiter that leaves takes its place with it and the
//     indexes of a round are always 0..parties-1, once each.
//   - asyncio has a draining state: after the trip, new arrivals wait until
//     every released task has resumed, and a task cancelled in that window
//     raises CancelledError although the barrier passed. A channel needs no
//     draining: the trip hands out every index at once, a new arrival starts
//     the next round, and a trip is never undone by a later cancellation.
//   - asyncio raises BrokenBarrierError; here the channel is closed without a
//     value. A party tells why from ctx.Err() (its ctx ended) and Broken()
//     (Abort was called); a closed channel with neither means Reset.
//   - asyncio's reset puts the barrier in a resetting state until the
//     waiters it broke have left; here they are let go at once and the
//     barrier is filling again when Reset returns.
//
// Memory model: in the terms of [the Go memory model], every party's call to
// Wait in a round synchronizes before any party's receive of its index for
// that round.
//
// [the Go memory model]: https://go.dev/ref/mem
type Barrier struct {
	mu      sync.Mutex
	parties int
	broken  bool
	q       waitq[int]
}

// NewBarrier returns a barrier for parties goroutines. parties below 1
// panics.
func NewBarrier(parties int) *Barrier {
	if parties < 1 {
		panic("chans: NewBarrier needs at least one party")
	}
	return &Barrier{parties: parties}
}

// Wait arrives at the barrier. The returned channel has a buffer of one and
// is closed after yielding at most one value:
//   - the caller's arrival index, 0..parties-1, once the barrier tripped;
//   - nothing (closed) if ctx ended first, or had ended at the call (the
//     arrival then does not count), or if the barrier is broken, or is
//     broken or reset while the caller waits.
//
// The caller whose arrival trips the barrier gets a channel that holds
// parties-1 at once. A waiter that never receives still counted: the
// barrier tripped with it; its index waits in the channel.
func (b *Barrier) Wait(ctx context.Context) <-chan int {
	checkCtx(ctx, "Barrier.Wait")
	b.lock()
	defer b.mu.Unlock()
	if ctx.Err() != nil || b.broken {
		return closed[int]()
	}
	// A trip needs parties-1 live waiters. Counting them costs O(n), so
	// only do it when the queue is long enough that it might trip; each
	// count either trips or finds (and drops) a waiter that left.
	if b.q.len()+1 >= b.parties && b.q.prune()+1 == b.parties {
		b.q.grantAll(func(i int) int { return i })
		return b.q.now(ctx, ask[int]{}, b.parties-1, final)
	}
	return b.q.enqueue(ctx, ask[int]{}, byChannel).ch
}

// Abort breaks the barrier: every waiter's channel is closed without a
// value, and every Wait fails at once until Reset. Calling it again does
// nothing.
func (b *Barrier) Abort() {
	b.lock()
	defer b.mu.Unlock()
	b.broken = true
	b.letGo()
}

// Reset returns the barrier to its empty state: the waiters of the round in
// progress are let go without a value, as by Abort, and a broken barrier is
// usable again.
func (b *Barrier) Reset() {
	b.lock()
	defer b.mu.Unlock()
	b.broken = false
	b.letGo()
}

// Broken reports whether Abort broke the barrier (and no Reset followed).
func (b *Barrier) Broken() bool {
	b.lock()
	defer b.mu.Unlock()
	return b.broken
}

// Parties returns the number of parties the barrier waits for.
func (b *Barrier) Parties() int { return b.parties }

// Waiting returns the number of parties waiting for the barrier to trip
// (asyncio's n_waiting). O(n).
func (b *Barrier) Waiting() int {
	b.lock()
	defer b.mu.Unlock()
	return b.q.live()
}

// String describes the barrier: "Barrier(filling, waiters=2/5)", or
// "Barrier(broken, waiters=0/5)".
func (b *Barrier) String() string {
	b.lock()
	defer b.mu.Unlock()
	state := "filling"
	if b.broken {
		state = "broken"
	}
	return fmt.Sprintf("Barrier(%s, waiters=%d/%d)", state, b.q.live(), b.parties)
}

func (b *Barrier) lock() {
	b.mu.Lock()
	if b.parties == 0 {
		b.mu.Unlock()
		panic("chans: Barrier used without NewBarrier")
	}
	b.q.bind(&b.mu, b)
	b.q.sweep()
}

// letGo closes the channel of every waiter. b.mu is held.
func (b *Barrier) letGo() {
	for w := b.q.first(); w != nil; w = b.q.first() {
		b.q.leave(w)
	}
}

// A Barrier's grants are final, so nothing is ever reclaimed, and a waiter
// that leaves never completes a round: only an arrival trips the barrier.
func (b *Barrier) reclaim(*waiter[int], int) {}
func (b *Barrier) dispatch()                 {}

// Stats reports the barrier's waiting parties (see [Stats]): Value is
// Waiting and Limit is Parties; State is "filling" or "broken"; Grants
// counts the indexes handed out.
func (b *Barrier) Stats() Stats {
	b.lock()
	defer b.mu.Unlock()
	s := Stats{Kind: "Barrier", Value: b.q.live(), Limit: b.parties, State: "filling", GrantsExact: true}
	if b.broken {
		s.State = "broken"
	}
	s.named(b.q.st.tr)
	b.q.snapshot(&s, nanotime(), says("index"))
	return s
}
