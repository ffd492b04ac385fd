package chans

import (
	"context"
	"fmt"
	"sync"
)

// A Signal delivers each emitted value to every goroutine waiting for it at
// that moment, like a GObject signal to the handlers connected when it is
// emitted (kiwi's WaitForSignal).
//
// A value emitted while nobody waits is dropped, not stored: a Signal tells
// waiters that something happened, it does not queue what happened. Use a
// Mailbox or a Queue when every value must reach someone, or a Result or an
// Event for a condition that stays true once it holds.
//
// The zero value is a Signal with no waiters. A Signal must not be copied
// after first use.
//
// Ordering: Next registers its caller at the call, so a value emitted after
// Next returns reaches it, and a value emitted before does not. Each waiter
// gets one value, the first emitted after its call; call Next again for the
// next one.
//
// Memory model: in the terms of [the Go memory model], an Emit synchronizes
// before the receive of the value it delivered.
//
// [the Go memory model]: https://go.dev/ref/mem
type Signal[T any] struct {
	mu sync.Mutex
	q  waitq[T]
}

// Next waits for the next value emitted. The returned channel has a buffer of
// one and is closed after yielding at most one value:
//   - the first value emitted after the call (ok is true);
//   - nothing (closed, ok false) if ctx ended before an emission, or had
//     ended at the call.
//
// A value is not exclusive: every waiter gets it. So nothing is taken back
// from a caller whose ctx ends after the emission: a receive then still
// yields the value. A caller that never receives costs its waiter until the
// next Emit or until ctx ends, whichever comes first.
func (s *Signal[T]) Next(ctx context.Context) <-chan T {
	checkCtx(ctx, "Signal.Next")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	if ctx.Err() != nil {
		return closed[T]()
	}
	s.q.sweep()
	return s.q.enqueue(ctx, ask[T]{}, byChannel).ch
}

// Emit delivers v to every goroutine waiting in Next and returns without
// waiting for them to receive. With no waiter, v is dropped. Waiters whose
// ctx has ended get nothing.
func (s *Signal[T]) Emit(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	for w := s.q.first(); w != nil; w = s.q.first() {
		s.q.grant(w, v, final)
	}
}

// String describes the signal for debugging: "Signal(waiters=2)".
func (s *Signal[T]) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	return fmt.Sprintf("Signal(waiters=%d)", s.q.live())
}

// Signal values are shared, never taken back, and a waiter leaving unblocks
// nobody.
func (s *Signal[T]) reclaim(*waiter[T], T) {}
func (s *Signal[T]) dispatch()             {}

// Stats reports the signal's waiters (see [Stats]); Grants counts values
// delivered, one per waiter reached.
func (s *Signal[T]) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	st := Stats{Kind: "Signal", GrantsExact: true}
	st.named(s.q.st.tr)
	s.q.snapshot(&st, nanotime(), says("value"))
	return st
}
