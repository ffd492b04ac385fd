package chans

import (
	"sync"
	"sync/atomic"
)

// An Event is a flag that goroutines can wait for: Set wakes every waiter
// and lets later waits pass at once, until Clear (toro/tornado Event,
// threading.Event).
//
// The zero value is a cleared Event. An Event must not be copied after first
// use.
//
// Cost: Wait on a set Event is one atomic load, no lock and no allocation;
// on a cleared one, one shared channel for all waiters until the next Set.
//
// Memory model: in the terms of [the Go memory model], a call to Set
// synchronizes before the return of any receive it unblocks, and before the
// return of a Wait or IsSet that observes the event set.
//
// [the Go memory model]: https://go.dev/ref/mem
type Event struct {
	mu  sync.Mutex
	set atomic.Bool // written under mu; read without it on the fast path
	l   latch

	st eventStats // Stats and tracking (track.go)
}

// Wait returns a channel that is closed when the event is set: a closed
// channel at once if it is set now (no allocation), otherwise one shared by
// every waiter until the next Set. A channel obtained before a Set is closed
// by it even if Clear follows at once. It carries nothing exclusive, so it
// takes no ctx and abandoning it costs nothing.
func (e *Event) Wait() <-chan struct{} {
	// Once set, a wait needs no lock: the atomic load that sees true
	// synchronizes with Set's store, which is the memory-model promise.
	if e.set.Load() {
		return closedCh
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.noteBorn()
	return e.l.wait(e.set.Load())
}

// Set sets the event and wakes everyone waiting. Setting a set event does
// nothing.
func (e *Event) Set() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.noteSet()
	e.set.Store(true)
	e.l.open()
}

// Clear resets the event; later calls to Wait block until the next Set.
func (e *Event) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.set.Store(false)
}

// IsSet reports whether the event is set.
func (e *Event) IsSet() bool { return e.set.Load() }

// String returns "Event(set)" or "Event(clear)".
func (e *Event) String() string {
	if e.IsSet() {
		return "Event(set)"
	}
	return "Event(clear)"
}

// Stats reports the event (see [Stats]): State "set" or "clear", Held and
// Value (1) while set; Grants counts the Sets that set it. An Event's
// waiters share one channel and are not counted.
func (e *Event) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Kind: "Event", State: "clear", Grants: e.st.sets, GrantsExact: true}
	if e.set.Load() {
		s.State, s.Held, s.Value = "set", true, 1
	}
	s.named(e.st.tr)
	return s
}
