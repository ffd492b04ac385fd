package dist

import "errors"

// Errors shared by every engine. Engines wrap them with detail (the key, the
// server's own error); test with errors.Is.
var (
	// ErrSessionDone is the answer of every call on a session, or on a
	// primitive of a session, that has ended: closed by its owner, or its
	// lease expired or was revoked. Waits on such a session close their
	// channels without a value.
	ErrSessionDone = errors.New("dist: session ended")

	// ErrBusy is the answer of a Try method that could not take the grant
	// at once: it is held, or earlier waiters are queued for it (a Try
	// never passes a queued waiter).
	ErrBusy = errors.New("dist: busy")

	// ErrAboveLimit is returned for a request that could never be met, such
	// as more permits than a semaphore's limit.
	ErrAboveLimit = errors.New("dist: request above the limit")

	// ErrEmpty is returned by a non-blocking get when nothing is ready.
	ErrEmpty = errors.New("dist: queue empty")

	// ErrFull is returned by a non-blocking put on a queue at its bound.
	ErrFull = errors.New("dist: queue full")

	// ErrShutdown is the answer to every put after a queue's Shutdown, and
	// to a get once a shut down queue is drained.
	ErrShutdown = errors.New("dist: queue shut down")

	// ErrNotHeld is returned when an operation needs a claim or grant that
	// this process no longer holds (it was lost, released, or settled).
	ErrNotHeld = errors.New("dist: not held")
)
