package dist

import (
	"context"
	"errors"
)

// ErrOutcomeUnknown is wrapped in the error of a call whose request reached
// the network but whose answer did not come back (the connection or the
// server was lost in between): it may or may not have taken effect. Engines
// settle what they can themselves (a claim made by such a call is given back
// once the server has finished with it); what they cannot decide for the
// caller, such as whether a put landed, they report with this error.
var ErrOutcomeUnknown = errors.New("dist: outcome unknown")

// An Item is what a queue engine's get hands out: a value claimed by this
// process until it is settled. The queue contract over a network reads:
//
// Q1, one outcome. Get returns a channel that yields at most one item and is
// then closed; a closed channel with no item means the ctx ended, or the
// queue is shut down and drained.
//
// Q2, a claim is never held by nobody. When the ctx of a Get ends before the
// caller received, its channel is closed at once, without a round trip, and
// the claim goes back to the queue, where the next Get in this process finds
// it first; the engine settles it with the server afterwards. A claim whose
// holder dies (its process is killed, its connection lost) goes back by
// itself, within a bound each engine states, with its attempt counted.
//
// Q3, order. Items come out by priority (lower first), then oldest first, the
// ones handed out again included; getters of one process are served in the
// order of their calls, and a Try method never passes a queued getter of the
// same process. Getters of different processes are not ordered among
// themselves.
//
// Q4, settling. Done removes the item for good (the task is done); Fail gives
// it back with its error, to be handed out again, or moved aside as dead
// after the engine's limit of attempts. Either works only while the claim is
// held: once it is lost (Lost is closed), they return ErrNotHeld and do
// nothing, since another process may have the item by then. Delivery is
// therefore at least once: a worker that dies after its work and before Done
// leaves the item to be done again.
//
// Q5, Join and Shutdown span processes: Join's channel is closed when no item
// is queued or claimed anywhere; after Shutdown, puts fail with ErrShutdown
// everywhere and getters drain what is left.
type Item[T any] interface {
	// Value returns the item's value, as it was put.
	Value() T
	// Attempt returns how many times the item has been handed out,
	// this time included: 1 on its first delivery.
	Attempt() int
	// Done removes the item from the queue for good.
	Done(ctx context.Context) error
	// Fail gives the item back with err recorded.
	Fail(ctx context.Context, err error) error
	// Lost is closed when this process can no longer vouch for its claim.
	Lost() <-chan struct{}
}
