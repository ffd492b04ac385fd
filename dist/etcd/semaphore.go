package etcd

import (
	"context"
	"fmt"

	"github.com/turnstile-go/turnstile/dist"
)

// A Semaphore is a weighted counting semaphore shared by every process whose
// session makes one with the same name: at most limit permits are held at
// once, across all processes.
//
// Fairness is FIFO across processes: a waiter is served only after every
// waiter that asked before it, so a heavy waiter at the head (AcquireN)
// holds back lighter ones behind it even while enough permits for them are
// free, as in chans; TryAcquireN never passes a queued waiter.
//
// Limit: every waiter's key records the limit of the Semaphore it was asked
// through, and a waiter is admitted while the permits of the waiters ahead
// of it and its own fit within the smallest limit recorded among them, so
// processes that disagree about the limit still agree on who holds (the
// smallest limit wins).
//
// Cancellation, costs, copying and the memory model are as for [Lock]. A
// grant holds its n permits until its Release; there is no unpaired
// release. Make a Semaphore with [NewSemaphore]; the zero value is not
// usable.
type Semaphore struct {
	l     *line
	limit int64
}

// NewSemaphore returns the semaphore called name on s's cluster, with limit
// permits. Its keys live under name+"/~/". It panics if limit < 1.
func NewSemaphore(s *Session, name string, limit int) *Semaphore {
	if limit < 1 || limit > maxWeight {
		panic(fmt.Sprintf("etcd: NewSemaphore with limit %d", limit))
	}
	return &Semaphore{l: s.line(name), limit: int64(limit)}
}

// claim returns the claim for n permits, or an error if n can never be met.
func (s *Semaphore) claim(n int) (claim, error) {
	if n < 1 {
		panic(fmt.Sprintf("etcd: Semaphore.AcquireN with n %d < 1", n))
	}
	if int64(n) > s.limit {
		return claim{}, fmt.Errorf("etcd: %s: %d permits of %d: %w", s.l.name, n, s.limit, dist.ErrAboveLimit)
	}
	return claim{n: int64(n), limit: s.limit}, nil
}

// Acquire asks for one permit: AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) <-chan *dist.Grant { return s.AcquireN(ctx, 1) }

// AcquireN asks for n permits, all at once. Its channel behaves as
// [Lock.Acquire]'s; it is closed at once, without a request, if n is above
// the limit. AcquireN panics if n < 1.
func (s *Semaphore) AcquireN(ctx context.Context, n int) <-chan *dist.Grant {
	c, err := s.claim(n)
	if err != nil {
		return closedGrants
	}
	ch, _, _ := s.l.acquire(ctx, c, false)
	return ch
}

// AcquireWait is the blocking twin of Acquire (see [Lock.AcquireWait]).
func (s *Semaphore) AcquireWait(ctx context.Context) (*dist.Grant, error) {
	return s.AcquireNWait(ctx, 1)
}

// AcquireNWait is the blocking twin of AcquireN; it returns an error
// wrapping [dist.ErrAboveLimit] if n is above the limit.
func (s *Semaphore) AcquireNWait(ctx context.Context, n int) (*dist.Grant, error) {
	c, err := s.claim(n)
	if err != nil {
		return nil, err
	}
	return s.l.wait(ctx, c)
}

// TryAcquire takes one permit if it can at once: TryAcquireN(ctx, 1).
func (s *Semaphore) TryAcquire(ctx context.Context) (*dist.Grant, error) {
	return s.TryAcquireN(ctx, 1)
}

// TryAcquireN takes n permits if they are free and nobody waits before, in
// one round trip, or returns an error wrapping [dist.ErrBusy] (or
// [dist.ErrAboveLimit] if n is above the limit).
func (s *Semaphore) TryAcquireN(ctx context.Context, n int) (*dist.Grant, error) {
	c, err := s.claim(n)
	if err != nil {
		return nil, err
	}
	_, g, err := s.l.acquire(ctx, c, true)
	return g, err
}

// Value returns the number of permits not held now: the limit (the smallest
// one recorded by the holders, if below this Semaphore's) minus the permits
// the holders hold. One round trip.
func (s *Semaphore) Value(ctx context.Context) (int, error) {
	t, _, err := s.l.snapshot(ctx, claim{n: 1, limit: s.limit})
	if err != nil {
		return 0, err
	}
	if t.n > 0 && t.sum == 0 {
		return 0, nil // an exclusive claim holds (a Lock of the same name)
	}
	lim := s.limit
	if t.limit > 0 && t.limit < lim {
		lim = t.limit
	}
	return int(max(lim-t.sum, 0)), nil
}

// Limit returns the number of permits the Semaphore was made with.
func (s *Semaphore) Limit() int { return int(s.limit) }

// Name returns the semaphore's name.
func (s *Semaphore) Name() string { return s.l.name }

// String describes the semaphore for debugging.
func (s *Semaphore) String() string {
	return fmt.Sprintf("etcd.Semaphore(%q, limit=%d)", s.l.name, s.limit)
}
