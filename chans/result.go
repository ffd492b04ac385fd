package chans

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/turnstile-go/turnstile/internal/choice"
)

var (
	// ErrAlreadySet is returned by Result.Set and Result.Fail once the result
	// holds a value or a failure.
	ErrAlreadySet = errors.New("chans: result already set")
	// ErrNotReady is returned by Result.TryGet before the result is set.
	ErrNotReady = errors.New("chans: result not ready")
)

// A Result is a value that will be known later, set once and read by any
// number of goroutines (toro AsyncResult, a future). It either holds a value
// or a failure.
//
// The zero value is an unset Result. A Result must not be copied after first
// use.
//
// [Result.Wait] is the blocking twin of Get, which also returns the failure.
//
// Memory model: in the terms of [the Go memory model], Set (or Fail)
// synchronizes before every receive from Get or Done, and every return of
// Wait or TryGet, that observes it.
//
// [the Go memory model]: https://go.dev/ref/mem
type Result[T any] struct {
	mu    sync.Mutex
	ready atomic.Bool // written once under mu; read without it by Done and Ready
	v     T
	err   error
	done  latch
	q     *waitq[T] // Get and Wait callers waiting for the value; made for the first
}

// waiters returns the waitq, making it at the first caller that waits: most
// Results are read through Done and TryGet, or after they are set, and a
// waitq would be most of a Result's size (a TaskGroup makes one per task).
// r.mu is held.
func (r *Result[T]) waiters() *waitq[T] {
	if r.q == nil {
		r.q = new(waitq[T])
		r.q.bind(&r.mu, r)
	}
	return r.q
}

// Set stores v and wakes every waiter. It returns ErrAlreadySet, and changes
// nothing, if the result was already set or failed.
func (r *Result[T]) Set(v T) error { return r.settle(v, nil) }

// Fail records err as the outcome: Get yields nothing and TryGet returns err.
// It returns ErrAlreadySet if the result was already set or failed. A nil err
// panics, since it could not be told from success.
func (r *Result[T]) Fail(err error) error {
	if err == nil {
		panic("chans: Result.Fail with nil error")
	}
	var zero T
	return r.settle(zero, err)
}

func (r *Result[T]) settle(v T, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ready.Load() {
		return ErrAlreadySet
	}
	r.v, r.err = v, err
	r.ready.Store(true)
	r.done.open()
	if r.q == nil {
		return nil // nobody waits
	}
	for w := r.q.first(); w != nil; w = r.q.first() {
		if err != nil {
			r.q.leave(w) // closed empty: a failure has no value to give
		} else {
			r.q.grant(w, v, final) // shared, not exclusive: nothing to take back
		}
	}
	return nil
}

// Get returns a channel with a buffer of one that yields the value, to every
// caller, once it is set, and is then closed. It is closed without a value if
// the result failed, or if ctx ends (or had ended) before the value is set.
// The value is not exclusive: a caller that never receives takes nothing from
// anyone, and a waiting caller is forgotten when its ctx ends.
//
// Under package selectx, a Get of a failed Result reports the failure: First,
// All, Completed and Select return an error that wraps it. Get panics if ctx
// is nil.
func (r *Result[T]) Get(ctx context.Context) <-chan T {
	checkCtx(ctx, "Result.Get")
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := ctx.(*choice.Ctx); ok && c.Err() == nil {
		return r.waiters().selWait(c, ask[T]{}, r, true)
	}
	switch {
	case ctx.Err() != nil || (r.ready.Load() && r.err != nil):
		return closed[T]()
	case r.ready.Load():
		return grantNow(r.v)
	}
	return r.waiters().enqueue(ctx, ask[T]{}, byChannel).ch
}

// Wait is the blocking twin of Get: it waits in the caller's goroutine and
// returns the value once the result is set, the failure if it failed, or
// ctx.Err() if ctx ends first or had ended at the call. When the result is
// ready it makes no channel and registers nothing; when it waits it starts
// no goroutine. Wait panics if ctx is nil.
func (r *Result[T]) Wait(ctx context.Context) (T, error) {
	checkCtx(ctx, "Result.Wait")
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if r.ready.Load() { // settled for good: no lock needed
		return r.v, r.err
	}
	r.mu.Lock()
	if r.ready.Load() {
		defer r.mu.Unlock()
		return r.v, r.err
	}
	q := r.waiters()
	w := q.enqueue(ctx, ask[T]{}, byBlocking)
	v, ok, cause := q.block(w)
	switch {
	case ok:
		return v, nil
	case cause != nil:
		return zero, cause
	}
	return zero, ctx.Err()
}

// place serves w, a waiter of a selectx choice: the value, a close if the
// result failed (cause says why), a place in the queue otherwise.
func (r *Result[T]) place(w *waiter[T]) {
	switch {
	case r.ready.Load() && r.err != nil:
		r.q.tell(w)
	case r.ready.Load():
		r.q.send(w, r.v, final)
	default:
		r.q.push(w)
	}
}

// cause is the failure, for a waiter closed without the value.
func (r *Result[T]) cause(*waiter[T]) error { return r.err }

// Done returns a channel closed once the result is set or failed. It is
// shared, needs no ctx, and costs nothing to abandon; after the result is
// ready it is a closed channel and allocates nothing.
func (r *Result[T]) Done() <-chan struct{} {
	if r.ready.Load() { // settled for good: no lock needed
		return closedCh
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done.wait(r.ready.Load())
}

// TryGet returns the value if it is set, the failure if the result failed,
// and ErrNotReady before either.
func (r *Result[T]) TryGet() (T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ready.Load() {
		var zero T
		return zero, ErrNotReady
	}
	return r.v, r.err
}

// Ready reports whether the result is set or failed.
func (r *Result[T]) Ready() bool { return r.ready.Load() }

// Result grants are never taken back and a waiter leaving unblocks nobody.
func (r *Result[T]) reclaim(*waiter[T], T) {}
func (r *Result[T]) dispatch()             {}

// Stats reports the result's waiters (see [Stats]): State is "pending",
// "set" or "failed"; Held and Value (1) once it is settled; Grants counts
// values delivered to callers that had to wait for them (a Get of a settled
// Result takes nothing from anyone and is not counted).
func (r *Result[T]) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	q := r.waiters() // made now, so that its clock runs for the waiters to come
	q.sweep()
	s := Stats{Kind: "Result", State: "pending", GrantsExact: true}
	switch {
	case r.ready.Load() && r.err != nil:
		s.State, s.Held, s.Value = "failed", true, 1
	case r.ready.Load():
		s.State, s.Held, s.Value = "set", true, 1
	}
	s.named(q.st.tr)
	q.snapshot(&s, nanotime(), says("value"))
	return s
}
