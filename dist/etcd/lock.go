package etcd

import (
	"context"
	"fmt"

	"github.com/turnstile-go/turnstile/dist"
)

// A Lock is a mutual-exclusion lock shared by every process whose session
// makes one with the same name on the same cluster. Its Acquire returns a
// channel, so a wait for it composes with select, timeouts and selectx.
//
// Fairness: waiters are granted the lock in the order the server recorded
// their requests, across all processes (FIFO); TryAcquire never takes the
// lock while a waiter is queued. Two goroutines of one session are two
// waiters, each with its own key.
//
// Cancellation: if the ctx given to Acquire ends before the caller received
// the grant, the channel is closed at once, decided in this process without
// a round trip, and the waiter's key is withdrawn from the server
// afterwards; a grant that raced the cancellation is released, so the lock
// goes to the next waiter. See the package doc for what the network changes.
//
// Memory model: across processes there is none; what orders a holder's work
// before the next holder's is the server. A Release made in this process
// happens before the grant it enables in this process is received, and the
// grant's token orders it against every other holder (see [dist.Grant.Token]).
//
// Make a Lock with [NewLock]. The zero value is not usable. A Lock is a
// handle on its session's record of the lock: copies share it. It is safe
// for use by many goroutines.
type Lock struct{ l *line }

// NewLock returns the lock called name on s's cluster. Primitives of one
// session on one name share their state (one watch, one queue), so making
// the same lock twice is cheap. A name is a path such as "jobs/migrate";
// no element of it may start with "~", which the keys use. The keys of the
// lock live under name+"/~/".
func NewLock(s *Session, name string) *Lock { return &Lock{l: s.line(name)} }

// exclusive is the claim of a Lock and of an RWLock writer.
var exclusive = claim{excl: true}

// Acquire asks for the lock. It sends one request and returns once the
// server has recorded it (or at once if ctx has ended). The returned channel
// has a buffer of one and is closed after it yields at most one value:
//   - a [dist.Grant], once this caller holds the lock (ok is true);
//   - nothing (closed, ok false) if ctx ended first, or had ended at the
//     call even though the lock was free, if the request failed, or if the
//     session ended.
//
// If ctx ends after the grant was sent but before the caller received it,
// the grant is taken back and the lock passed on; a receive after that
// yields closed. A caller that neither receives nor lets ctx end keeps its
// place, and then the lock, until ctx or the session ends: cancel the ctx of
// an Acquire you abandon in a select, or use selectx.
func (l *Lock) Acquire(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := l.l.acquire(ctx, exclusive, false)
	return ch
}

// AcquireWait is Acquire for callers that do not need a channel: it blocks
// until the lock is granted and returns the grant, or returns why it was
// not: ctx.Err(), an error wrapping [dist.ErrSessionDone], or the request's
// error. It queues in the same line as Acquire.
func (l *Lock) AcquireWait(ctx context.Context) (*dist.Grant, error) {
	return l.l.wait(ctx, exclusive)
}

// TryAcquire takes the lock if it is free and nobody waits for it, in one
// round trip; otherwise it returns an error wrapping [dist.ErrBusy]. It
// sees this session's own releases at once, even before they landed.
func (l *Lock) TryAcquire(ctx context.Context) (*dist.Grant, error) {
	_, g, err := l.l.acquire(ctx, exclusive, true)
	return g, err
}

// Locked reports whether the lock is held or waited for, that is, whether a
// TryAcquire now would fail. It reads the server (one round trip), with this
// session's releases and cancellations counted as landed.
func (l *Lock) Locked(ctx context.Context) (bool, error) {
	_, free, err := l.l.snapshot(ctx, exclusive)
	return !free, err
}

// Name returns the lock's name.
func (l *Lock) Name() string { return l.l.name }

// String describes the lock for debugging: `etcd.Lock("jobs/migrate")`.
func (l *Lock) String() string { return fmt.Sprintf("etcd.Lock(%q)", l.l.name) }

// wait is the blocking twin of acquire: it returns the grant or the reason
// there is none.
func (l *line) wait(ctx context.Context, c claim) (*dist.Grant, error) {
	ch, _, err := l.acquire(ctx, c, false)
	if err != nil {
		return nil, err
	}
	if g, ok := <-ch; ok {
		return g, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := l.s.ended(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("etcd: %s: the waiter's key was deleted: %w", l.name, dist.ErrNotHeld)
}
