package chans

import (
	"context"
	"fmt"
	"sync"
)

// A Condition lets goroutines wait until another one notifies them. Unlike
// sync.Cond it is not tied to a lock, and Wait returns a channel that takes a
// ctx, so a wait can time out or be abandoned safely (toro/tornado Condition).
//
// The zero value is ready to use. A Condition must not be copied after first
// use.
//
// Ordering: Notify(n) wakes the n longest-waiting live waiters, in the order
// they called Wait. Waiters whose ctx has ended do not count. A notification
// is not stored: one sent while nobody waits is lost, as with sync.Cond.
//
// Cancellation: a notification that reached a waiter whose ctx ended before
// it received is passed to the next waiter (if any waits), so Notify(1)
// always wakes one live waiter when there is one.
//
// Cost: each Wait queues, so it allocates its channel and takes a waiter from
// a small free list; a shared cancellable ctx is registered once for a crowd
// of waiters (see the package doc, W7).
//
// Memory model: in the terms of [the Go memory model], a call to Notify or
// NotifyAll synchronizes before the receive of each notification it sends.
//
// [the Go memory model]: https://go.dev/ref/mem
type Condition struct {
	mu   sync.Mutex
	q    waitq[struct{}]
	owed int // notifications taken back, to pass on at the next dispatch
}

// Wait registers the caller as a waiter at the moment of the call and returns
// a channel with a buffer of one, closed after yielding at most one value:
// struct{}{} (ok true) when a Notify reached this waiter, or nothing (closed,
// ok false) if ctx ended first or had ended at the call. A notification left
// unreceived when ctx ends goes to the next waiter, and a receive after that
// yields closed (ok false). A caller that never
// receives keeps its place (and any notification it got) until ctx ends.
func (c *Condition) Wait(ctx context.Context) <-chan struct{} {
	checkCtx(ctx, "Condition.Wait")
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	if ctx.Err() != nil {
		return closed[struct{}]()
	}
	c.q.sweep()
	return c.q.enqueue(ctx, ask[struct{}]{n: 1}, byChannel).ch
}

// Notify wakes up to n waiters, oldest first. n < 0 panics.
func (c *Condition) Notify(n int) {
	if n < 0 {
		panic("chans: Condition.Notify with negative n")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	c.q.sweep()
	for ; n > 0; n-- {
		w := c.q.first()
		if w == nil {
			return
		}
		c.q.grant(w, struct{}{}, exclusive)
	}
}

// NotifyAll wakes every waiter queued now. Its notifications are final: one
// left unreceived by a waiter whose ctx ends is not passed to waiters that
// arrive later, since NotifyAll meant the waiters of its moment.
func (c *Condition) NotifyAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	c.q.sweep()
	for w := c.q.first(); w != nil; w = c.q.first() {
		c.q.grant(w, struct{}{}, final)
	}
}

// String describes the condition: "Condition(waiters=3)".
func (c *Condition) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	c.q.sweep()
	return fmt.Sprintf("Condition(waiters=%d)", c.q.live())
}

// reclaim turns a notification back into one owed to the next waiter.
func (c *Condition) reclaim(*waiter[struct{}], struct{}) { c.owed++ }

// dispatch pays owed notifications to live waiters. Notifications are not
// stored for later waiters: with nobody waiting, what is owed lapses.
func (c *Condition) dispatch() {
	for ; c.owed > 0; c.owed-- {
		w := c.q.first()
		if w == nil {
			c.owed = 0
			return
		}
		c.q.grant(w, struct{}{}, exclusive)
	}
}

// Stats reports the condition's waiters (see [Stats]); Holders are
// notifications not yet received, and Grants counts notifications sent.
func (c *Condition) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.q.bind(&c.mu, c)
	c.q.sweep()
	s := Stats{Kind: "Condition", GrantsExact: true}
	s.named(c.q.st.tr)
	c.q.snapshot(&s, nanotime(), says("notification"))
	return s
}
