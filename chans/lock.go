package chans

import (
	"context"
	"fmt"
	"sync"
)

// Release gives back what an acquire granted. Call it exactly once, usually
// with defer; a second call panics, since a lock or permit released twice
// would let two holders in.
type Release func()

// A Lock is a mutual-exclusion lock whose Acquire returns a channel, so a
// wait for it composes with select, timeouts and selectx.
//
// The zero value is an unlocked Lock. A Lock must not be copied after first
// use.
//
// Fairness: waiters are granted the lock in the order of their calls (FIFO);
// a new caller or TryAcquire never takes the lock while a live waiter is
// queued. A release hands the lock directly to the oldest waiter.
//
// Cancellation: if the ctx given to Acquire ends before the caller received
// the Release, the lock goes to the next waiter; it is never lost and never
// held twice.
//
// Memory model: a call to a Release happens before the receive of the Release
// that grants the lock next, as for sync.Mutex's Unlock and Lock.
type Lock struct {
	mu     sync.Mutex
	locked bool
	gen    uint64 // counts grants; a Release is valid only for its own grant
	q      waitq[Release]
}

// Acquire asks for the lock. The returned channel has a buffer of one and is
// closed after it yields at most one value:
//   - a Release, once this caller holds the lock (ok is true);
//   - nothing (closed, ok false) if ctx ended first, or had ended at the call
//     even though the lock was free (W4).
//
// If ctx ends after the Release was sent but before the caller received it,
// the lock is taken back and passed on; a receive after that yields closed.
// A caller that neither receives nor lets ctx end strands the lock until ctx
// ends: cancel the ctx of an Acquire you abandon in a select, or use selectx.
func (l *Lock) Acquire(ctx context.Context) <-chan Release {
	l.mu.Lock()
	l.q.bind(&l.mu, l)
	if ctx.Err() != nil {
		l.mu.Unlock()
		return closed[Release]()
	}
	l.q.sweep()
	if !l.locked && l.q.empty() {
		// Fast path: free and nobody queued.
		l.locked = true
		l.gen++
		ch := l.q.now(ctx, 1, false, l.releaser(l.gen), true)
		l.mu.Unlock()
		return ch
	}
	w := l.q.enqueue(ctx, 1, false)
	l.mu.Unlock()
	return w.ch
}

// TryAcquire takes the lock if it is free and nobody waits for it.
func (l *Lock) TryAcquire() (Release, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	if l.locked || !l.q.empty() {
		return nil, false
	}
	l.locked = true
	l.gen++
	return l.releaser(l.gen), true
}

// Locked reports whether the lock is held (or granted and not yet received
// by a caller whose ctx is still live).
func (l *Lock) Locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	return l.locked
}

// String describes the lock for debugging: "Lock(locked, waiters=2)".
func (l *Lock) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	state := "unlocked"
	if l.locked {
		state = "locked"
	}
	return fmt.Sprintf("Lock(%s, waiters=%d)", state, l.q.live())
}

// releaser returns the Release of grant number gen. Capturing the grant
// number instead of a fresh "done" flag keeps it to one allocation: a second
// call finds gen stale (or the lock free) and panics.
func (l *Lock) releaser(gen uint64) Release {
	return func() { l.unlock(gen) }
}

func (l *Lock) unlock(gen uint64) {
	l.mu.Lock()
	if !l.locked || l.gen != gen {
		l.mu.Unlock()
		panic("chans: Release of a Lock called twice")
	}
	l.locked = false
	l.q.sweep()
	l.dispatch()
	l.mu.Unlock()
}

func (l *Lock) dispatch() {
	if l.locked {
		return
	}
	if w := l.q.first(); w != nil {
		l.locked = true
		l.gen++
		l.q.grant(w, l.releaser(l.gen), true)
	}
}

func (l *Lock) reclaim(*waiter[Release], Release) { l.locked = false }
