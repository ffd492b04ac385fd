// Package chans provides synchronization primitives whose waits are channels:
// Lock, RWLock, Semaphore, Condition, Event, Result, Queue, Mailbox and
// Signal. Every wait composes with a native select, so timeouts, "whichever
// comes first" and shutdown need no extra machinery:
//
//	select {
//	case release, ok := <-lock.Acquire(ctx):
//		if ok {
//			defer release()
//			// ... hold the lock
//		}
//	case <-shutdown:
//	}
//
// # The waiting contract
//
// Every method that waits keeps these promises.
//
// W1, one outcome. The returned channel yields at most one value and is
// closed after it, or instead of it. In v, ok := <-ch, ok is true exactly when
// the operation took effect for this caller.
//
// W2, cancellation. Methods that hand out something exclusive (lock
// ownership, permits, a queue item, a one-waiter notification) take a ctx.
// If ctx ends before the caller received the grant, the channel is closed
// promptly without a value and the grant goes back to the primitive, to the
// next waiter in line, even if it was already sitting in the channel's
// buffer. Nothing is lost and nothing is given twice: the channel itself
// decides whether the caller or the primitive received the grant first.
// "Promptly" means at once for a caller that had to queue, and whenever
// another caller waits for the grant. A grant handed out at once, with
// nobody waiting behind it, is taken back lazily, by the next call into the
// primitive: nobody can tell the difference, since every observation is
// such a call (W3), and the uncontended path stays free of registrations
// (W7). Until then a receive may still yield the grant; it is then the
// caller's, as any received grant is.
//
// W3, truth after cancel. Once the caller sees ctx.Err() != nil, a receive
// from the channel tells whether the operation took effect, and every later
// call on the primitive, from any goroutine, sees an unreceived grant
// returned: Locked, Value and Len agree.
//
// W4, prefer to fail. A ctx that has already ended at the call fails the
// call (closed channel, no effect) even if the grant was available.
//
// W5, FIFO without barging. Waiters are served in the order of their calls.
// A Try method or a new caller never takes a grant while an earlier waiter
// that could use it is queued. A heavy waiter at the head (AcquireN) holds
// back lighter ones behind it; a queued writer holds back later readers.
//
// W6, broadcast waits take no ctx. Waits that wake everyone and hand out
// nothing exclusive (Event.Wait, Semaphore.Wait, Queue.Join, Result.Done)
// return a shared channel closed when the condition holds. Abandoning one
// costs nothing, and when the condition already holds they allocate nothing.
//
// W7, cost. No goroutine runs per primitive or per waiter. A ctx whose Done
// is nil (context.Background) registers nothing; a cancellable ctx is
// registered with context.AfterFunc only when its caller actually has to
// queue. The registration is dropped when the caller leaves the queue
// without a grant, or at the first call into the primitive after the grant
// was received (a Release is such a call), so a long-lived ctx used for
// millions of operations on the same primitives accumulates nothing. A
// registration holds its primitive only while its caller is queued: a
// primitive that granted and is then dropped is collected, and its
// registrations with it. Cancelling a queued waiter is O(1).
//
// W8, misuse panics with a message that starts with "chans: " (a Release
// called twice, over-release of a bounded semaphore, TaskDone called too
// often, negative sizes). Misuse never corrupts state silently.
//
// # Abandoning a channel
//
// A select whose other branch won leaves the primitive's channel unreceived.
// If the ctx given to the call is still live, the grant stays reserved for
// the caller until that ctx ends. Give each such call a ctx you cancel when
// you walk away (defer cancel() is enough), or use package selectx, which
// does it for you.
package chans
