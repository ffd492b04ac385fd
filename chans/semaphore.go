package chans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// A Semaphore holds a count of permits. Acquire takes one, AcquireN takes n
// at once, and the Release they return gives them back. Release() adds one
// permit unpaired, as toro's and tornado's release() do.
//
// Create one with NewSemaphore or NewBoundedSemaphore. The zero value is an
// unbounded semaphore with no permits: acquires wait until Release() adds
// some. A Semaphore must not be copied after first use.
//
// Fairness: FIFO. A waiter at the head that wants more permits than are free
// holds back everyone behind it, even those asking for fewer (as in
// golang.org/x/sync/semaphore); otherwise large requests would starve.
//
// Cancellation: an AcquireN is all or nothing. Permits granted to a caller
// whose ctx ended before it received are given back and passed on.
//
// Memory model: a Release (of either kind) happens before the receive of a
// grant that its permits made possible.
type Semaphore struct {
	mu      sync.Mutex
	value   int // free permits
	held    int // permits granted and not yet given back
	bound   int // 0: unbounded; else the most permits there may ever be
	q       waitq[Release]
	unlockd latch // Wait(): open while value > 0
}

// NewSemaphore returns a semaphore with n free permits. Negative n panics.
func NewSemaphore(n int) *Semaphore {
	if n < 0 {
		panic("chans: NewSemaphore with negative value")
	}
	return &Semaphore{value: n}
}

// NewBoundedSemaphore returns a semaphore with n free permits that can never
// hold more than n: a Release beyond that panics, catching a release without
// a matching acquire (toro's BoundedSemaphore). n must be positive.
func NewBoundedSemaphore(n int) *Semaphore {
	if n <= 0 {
		panic("chans: NewBoundedSemaphore needs a positive value")
	}
	return &Semaphore{value: n, bound: n}
}

// Acquire is AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) <-chan Release { return s.AcquireN(ctx, 1) }

// AcquireN asks for n permits at once. The channel has a buffer of one and is
// closed after yielding at most one value: a Release that gives all n back,
// once they are this caller's; or nothing (closed) if ctx ended first, if ctx
// had ended at the call, or at once if the semaphore is bounded below n, since
// the request could never be met.
//
// Permits granted but not received when ctx ends are taken back and passed
// on. A caller that never receives and never lets ctx end strands the permits
// until it does. n == 0 is granted at once unless someone is queued.
// Negative n panics.
func (s *Semaphore) AcquireN(ctx context.Context, n int) <-chan Release {
	if n < 0 {
		panic("chans: Semaphore.AcquireN with negative n")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	if ctx.Err() != nil || (s.bound > 0 && n > s.bound) {
		return closed[Release]()
	}
	s.q.sweep()
	if s.q.empty() && n <= s.value {
		return s.q.now(ctx, n, false, s.take(n), true)
	}
	return s.q.enqueue(ctx, n, false).ch
}

// TryAcquire is TryAcquireN(1).
func (s *Semaphore) TryAcquire() (Release, bool) { return s.TryAcquireN(1) }

// TryAcquireN takes n permits if they are free and nobody is queued.
func (s *Semaphore) TryAcquireN(n int) (Release, bool) {
	if n < 0 {
		panic("chans: Semaphore.TryAcquireN with negative n")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	if !s.q.empty() || n > s.value {
		return nil, false
	}
	return s.take(n), true
}

// Release adds one permit, unpaired with any acquire. On a bounded semaphore
// it panics if that would exceed the bound.
func (s *Semaphore) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	// Count the permits out on grants too: checking only the free ones would
	// let an extra Release pass while a grant is out, and the panic would
	// surface later, in whatever goroutine gives that grant back.
	if s.bound > 0 && s.value+s.held >= s.bound {
		panic("chans: Semaphore released more times than it was acquired")
	}
	s.value++
	s.dispatch()
}

// Value returns the number of free permits.
func (s *Semaphore) Value() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	return s.value
}

// Locked reports whether no permit is free (Value() == 0).
func (s *Semaphore) Locked() bool { return s.Value() == 0 }

// Wait returns a channel that is closed once the semaphore is not locked:
// at once if a permit is free now, else when a release leaves one free after
// the queued waiters were served. It takes nothing, so it needs no ctx and
// abandoning it costs nothing (toro Semaphore.wait).
func (s *Semaphore) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	if s.value == 0 {
		// The permits may sit unreceived in channels handed out on the fast
		// path, which registered nothing. If their callers walk away, the
		// permits come back, and this wait must then end without anyone else
		// calling into the semaphore, so watch those callers' contexts now.
		s.q.watchLazy()
	}
	return s.unlockd.wait(s.value > 0)
}

// String describes the semaphore: "Semaphore(value=2, waiters=0)", with
// "bound=N" for a bounded one.
func (s *Semaphore) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	if s.bound > 0 {
		return fmt.Sprintf("Semaphore(value=%d, bound=%d, waiters=%d)", s.value, s.bound, s.q.live())
	}
	return fmt.Sprintf("Semaphore(value=%d, waiters=%d)", s.value, s.q.live())
}

// take removes n permits and returns the Release that gives them back.
func (s *Semaphore) take(n int) Release {
	s.value -= n
	s.held += n
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			panic("chans: Release of a Semaphore called twice")
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.give(n)
		s.q.sweep()
		s.dispatch()
	}
}

// give returns n permits of a grant.
func (s *Semaphore) give(n int) {
	s.held -= n
	s.value += n
}

func (s *Semaphore) dispatch() {
	for w := s.q.first(); w != nil && w.n <= s.value; w = s.q.first() {
		s.q.grant(w, s.take(w.n), true)
	}
	if s.value > 0 {
		s.unlockd.open()
	}
}

func (s *Semaphore) reclaim(w *waiter[Release], _ Release) { s.give(w.n) }
