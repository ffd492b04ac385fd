// Package selectx waits on many things at once: the first of several
// operations (First, Select), all of them (All), each as it completes
// (Completed), keyed callbacks and timeouts (Group), and outside events such as
// a child process exiting (Process) or a file becoming readable (Readable).
//
// It is the Go counterpart of yieldpoints' WaitAny, WithTimeout, Cancel and
// CancelAll and of Tornado's keyed callbacks, with one difference that matters
// in Go: the operations may hand out something exclusive. A lock acquisition,
// a semaphore permit or a queue item is a grant; whoever receives it from the
// channel owns it. A plain select over several such channels, abandoned once
// one branch wins, strands the other grants until their context ends.
// selectx instead runs every operation under one context of its own,
// receives exactly one winner, and withdraws the others before it returns,
// so the primitives (see package chans, contract W2) take every other grant
// back and pass it on. Nothing is lost and nothing is taken twice.
//
// # Operations
//
// An Op is any func(ctx) <-chan T that follows the waiting contract: the
// channel yields at most one value, then is closed, and a value not received
// when ctx ends goes back to its source. Method values fit as they are:
//
//	i, release, err := selectx.First(ctx, lockA.Acquire, lockB.Acquire)
//
// Chan turns a plain channel (a timer, a Process result) into an Op. Closed
// turns a channel that signals by closing (an Event's Wait, a Result's Done,
// a ctx's Done) into one: by itself, a close without a value would mean "did
// not take effect".
//
// # Ties
//
// When several operations are ready at the same instant, the earliest in
// argument order wins, as in yieldpoints' WaitAny: after starting them all,
// selectx polls them once in argument order without blocking and only then
// blocks. Once it has blocked, the first value to arrive wins.
//
// # Cost
//
// The context First, All, Completed and Select run their ops under is one
// that package chans recognises. For the waits of package chans it buys
// three things: a wait that cannot be granted at once is not queued in
// First's and Select's first pass (so when some op is ready at the call, no
// other is ever queued); one channel wakes the chooser for all of them, so
// it blocks without reflection however many there are; and the losers are
// withdrawn in the caller's goroutine, with no goroutine and no
// context.AfterFunc per loser. Other ops (plain channels, dist engines, any
// func) see an ordinary context, cancelled when the call returns; up to
// three of them join a hand-written select, more go through reflect.Select.
// Process and Readable start one goroutine each because the event they
// watch can only be waited for by blocking, and so does Closed while its
// channel is still open.
package selectx
