// Package choice is the context that package selectx runs its ops under and
// package chans recognises. It lets selectx take a choice between operations
// without a goroutine per loser and without queueing an operation that
// cannot win:
//
//   - During the first pass (Trying), a chans wait that cannot be granted at
//     once is not queued: chans hands out an unarmed waiter, registered here,
//     whose channel is real but which no primitive knows of yet.
//   - If the first pass found no winner, the chooser arms the waiters, in
//     the order of their registration, until one of them is granted at once.
//   - A grant (or a close) to any registered waiter wakes the chooser
//     through one channel, so it blocks on that channel and the parent's Done
//     instead of on every op's channel.
//   - End withdraws every registered waiter synchronously, in the caller's
//     goroutine: an unarmed waiter is closed, a queued one leaves its queue,
//     and a grant nobody received goes back to its primitive. Nothing is left
//     for a context.AfterFunc to do, so no goroutine is started.
//
// Ops that chans does not implement (a plain channel, a dist engine, any
// func) see an ordinary context: Done, Err, Deadline and Value behave as for
// a context derived from the parent with context.WithCancel, cancelled by
// End. Its Done channel is made only when somebody asks for it.
package choice

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A Waiter is a wait that chans registered with a choice.
type Waiter interface {
	// Arm queues an unarmed waiter at its primitive, or grants it at once if
	// it can be. It does nothing to a waiter that is no longer unarmed.
	Arm()
	// Withdraw ends the wait: an unarmed or queued waiter is closed without
	// a value, and a grant that was not received goes back to the
	// primitive. A grant already received stays the receiver's. It is the
	// last call the choice makes on the waiter, which the primitive may then
	// reuse.
	Withdraw()
	// Received tells the primitive that the chooser received the waiter's
	// value, which is then the receiver's for good. Without it, the
	// primitive would learn of the receipt only at its next call, which
	// may keep others waiting (a getter of a shut down Queue waits while an
	// item is on its way to another).
	Received()
	// Chan returns the waiter's channel, as the op returned it, so the
	// chooser can tell an op that chans serves from one that only called
	// into chans on the way.
	Chan() any
	// Cause returns why the waiter's channel was closed without a value, if
	// the primitive knows a reason beyond the context (a failed Result, a
	// shut down Queue), or nil.
	Cause() error
}

// Phase is where a choice stands.
type Phase uint32

const (
	Trying Phase = iota // first pass: waits that cannot be granted at once stay unarmed
	Armed               // unarmed waits are being queued; new waits queue as usual
	Ended               // End was called: every wait fails
)

// Ctx is the context of one selectx call. Make one with New, or Init one
// embedded in the chooser's own state, and call End exactly once, when the
// choice is made or given up. A Ctx must not be copied after Init.
type Ctx struct {
	parent context.Context
	phase  atomic.Uint32
	n      atomic.Int32 // len(ws), for Len without the mutex

	mu     sync.Mutex
	wake   chan struct{} // capacity 1, made when the chooser first blocks
	woke   bool          // a wake came before wake was made
	ws     []Waiter
	buf    [4]Waiter
	inner  context.Context // made on the first Done, so ops that never ask cost nothing
	cancel context.CancelFunc
}

// New returns a choice in the Trying phase under parent.
func New(parent context.Context) *Ctx {
	c := new(Ctx)
	c.Init(parent)
	return c
}

// Init readies c, a zero Ctx, as New does.
func (c *Ctx) Init(parent context.Context) {
	c.parent = parent
	c.ws = c.buf[:0]
}

// Phase returns the current phase.
func (c *Ctx) Phase() Phase { return Phase(c.phase.Load()) }

// Add registers w, which must be withdrawn at End. It reports false, and
// registers nothing, if the choice has ended: the caller must then fail the
// wait itself.
func (c *Ctx) Add(w Waiter) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.Phase() == Ended {
		return false
	}
	c.ws = append(c.ws, w)
	c.n.Store(int32(len(c.ws)))
	return true
}

// Len returns how many waiters are registered. The chooser compares it
// before and after an op's call to find the waiters the op registered.
func (c *Ctx) Len() int { return int(c.n.Load()) }

// Find returns the waiter registered at index from or later whose channel is
// ch, or nil: the waiter that serves an op, if chans serves it. An op that
// only called into chans on its way to a channel of its own is served by
// nobody here.
func (c *Ctx) Find(from int, ch any) Waiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.ws[min(from, len(c.ws)):] {
		if w.Chan() == ch {
			return w
		}
	}
	return nil
}

// At returns the i'th registered waiter.
func (c *Ctx) At(i int) Waiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws[i]
}

// Arm ends the Trying phase: from now on, new waits are queued at once. It
// queues nothing itself (see ArmRange).
func (c *Ctx) Arm() { c.phase.CompareAndSwap(uint32(Trying), uint32(Armed)) }

// ArmRange arms the waiters registered at indexes from to to-1 (to < 0:
// through the last), in order. The chooser arms the waiters each op
// registered, op after op, so it can stop once one is granted, and then
// arms the rest: waiters a foreign goroutine registered with the ctx it was
// handed, which must not stay unarmed.
func (c *Ctx) ArmRange(from, to int) {
	c.mu.Lock()
	if to < 0 || to > len(c.ws) {
		to = len(c.ws)
	}
	var buf [4]Waiter
	ws := append(buf[:0], c.ws[min(from, to):to]...)
	c.mu.Unlock()
	for _, w := range ws { // Arm takes the primitive's lock, which may Wake: not under c.mu
		w.Arm()
	}
}

// Wake tells the chooser that a registered waiter's channel became ready. It
// never blocks; wakes that find one pending are merged.
func (c *Ctx) Wake() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wake == nil {
		c.woke = true
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Woken returns the channel Wake sends on.
func (c *Ctx) Woken() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
		if c.woke {
			c.wake <- struct{}{}
		}
	}
	return c.wake
}

// End withdraws every registered waiter, in the order of registration, and
// cancels the context for everyone else. Waits started after End fail.
// Calling it again does nothing.
func (c *Ctx) End() {
	c.phase.Store(uint32(Ended))
	c.mu.Lock()
	ws := c.ws
	c.ws = nil
	c.n.Store(0)
	cancel := c.cancel
	c.mu.Unlock()
	for i, w := range ws {
		w.Withdraw()
		ws[i] = nil
	}
	if cancel != nil {
		cancel()
	}
}

// Deadline is the parent's.
func (c *Ctx) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns a channel closed when the parent is done or End is called.
func (c *Ctx) Done() <-chan struct{} { return c.derived().Done() }

// Err returns context.Canceled once End was called, else the parent's error.
func (c *Ctx) Err() error {
	if err := c.parent.Err(); err != nil {
		return err
	}
	if c.Phase() == Ended {
		return context.Canceled
	}
	return nil
}

// Value is the parent's value, except that once Done was asked for, the
// derived context answers, so a context.WithCancel of this choice attaches
// to it directly rather than through a goroutine.
func (c *Ctx) Value(key any) any {
	c.mu.Lock()
	inner := c.inner
	c.mu.Unlock()
	if inner != nil {
		return inner.Value(key)
	}
	return c.parent.Value(key)
}

func (c *Ctx) derived() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithCancel(c.parent)
		if c.Phase() == Ended {
			c.cancel()
		}
	}
	return c.inner
}

// Parent returns the context the choice was made under.
func (c *Ctx) Parent() context.Context { return c.parent }
