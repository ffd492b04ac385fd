// Package chans provides synchronization primitives whose waits are channels:
// [Lock], [RWLock], [Semaphore], [Condition], [Event], [Result], [Queue],
// [Mailbox], [Signal] and [Barrier], tasks ([Go], [TaskGroup]) and pipelines
// of stages on bounded queues ([Pipeline]). Every wait composes with a native
// select, so timeouts, "whichever comes first" and shutdown need no extra
// machinery, and every exclusive wait has a blocking twin for callers who do
// not need select.
//
// The usual form waits with a ctx that bounds the wait:
//
//	ctx, cancel := context.WithTimeout(ctx, time.Second)
//	defer cancel()
//	release, ok := <-lock.Acquire(ctx)
//	if !ok {
//		return ctx.Err() // nothing was taken
//	}
//	defer release()
//
// In a select beside other cases, give the call a ctx that you cancel when
// you walk away, so a grant that lands after the other case won goes back:
//
//	ctx, cancel := context.WithCancel(ctx)
//	defer cancel() // an Acquire abandoned below gives its lock back
//	select {
//	case release, ok := <-lock.Acquire(ctx):
//		if ok {
//			defer release()
//			// ... hold the lock
//		}
//	case <-shutdown:
//	}
//
// # Rules of thumb
//
//   - Check ok (or the error of a twin): a failed wait yields a closed
//     channel, a nil Release, nothing taken.
//   - Give every wait you might abandon a ctx that you cancel when you do,
//     or use package selectx, which does it for you (see "Abandoning a
//     channel" below).
//   - Call each Release exactly once, usually with defer.
//   - Every item a Queue accepted needs one TaskDone, or Join never closes.
//   - When you do not need select, call the blocking twin (AcquireWait,
//     GetWait, PutWait, ReceiveWait, Result.Wait): it waits in your goroutine
//     and costs no channel.
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
// caller's, as any received grant is. A blocking twin has no channel to
// leave behind: a grant made while its ctx was live is the caller's and is
// returned, even if ctx ended before the caller woke up.
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
// back lighter ones behind it; a queued writer holds back later readers. The
// blocking twins queue in the same FIFO as the channel waits.
//
// W6, broadcast waits take no ctx. Waits that wake everyone and hand out
// nothing exclusive ([Event.Wait], [Semaphore.Wait], [Queue.Join],
// [Result.Done]) return a shared channel closed when the condition holds.
// Abandoning one costs nothing, and when the condition already holds they
// allocate nothing.
//
// W7, cost. No goroutine runs per primitive or per waiter. A ctx whose Done
// is nil (context.Background) registers nothing; a cancellable ctx is
// registered with [context.AfterFunc] only when its caller actually has to
// queue, and waiters that queue one after another with the same Done channel
// (a crowd on one request's or one server's ctx) share one registration, so
// cancelling a ctx that a million waiters share starts one goroutine, which
// takes them all out under one acquisition of the primitive's mutex. A
// registration is stopped when its last waiter leaves the queue without a
// grant, or at the first call into the primitive after that waiter's grant
// was received (a Release is such a call), so a long-lived ctx used for
// millions of operations on the same primitives accumulates nothing. A
// registration holds its primitive only while one of its waiters is queued:
// a primitive dropped with grants nobody received is collected, and its
// registrations with it. The blocking twins register nothing: they wait on
// their ctx themselves. Cancelling a queued waiter is O(1).
//
// W8, misuse panics with a message that starts with "chans: " (a Release
// called twice, a bounded semaphore released past its bound, TaskDone called
// too often, negative sizes, a nil ctx). A panic leaves the primitive
// usable: it is raised before any state is touched, or after the state is
// whole again. A panic in a user's callback run under a primitive's lock (a
// priority queue's less, a mailbox's accept) reaches the caller whose call
// ran it; in a goroutine of the library's own it is absorbed, and nothing is
// lost (see [Queue] and [Mailbox]).
//
// # Abandoning a channel
//
// A select whose other branch won leaves the primitive's channel unreceived.
// If the ctx given to the call is still live, the grant stays reserved for
// the caller until that ctx ends. Give each such call a ctx you cancel when
// you walk away (defer cancel() is enough), or use package selectx, which
// withdraws the losers in your goroutine before it returns.
//
// # What each path costs
//
// A fresh channel per grant has a floor set by the runtime: a channel whose
// element holds pointers (a Release is a func) is two allocations, hchan and
// buffer, plus a send, a close and a receive, about four times a channel used
// as a mutex by itself. Within the channel API the primitives stay near that
// floor: while nothing is queued and no grant is in doubt, Lock, RWLock and
// Semaphore acquire and release with one compare-and-swap each and no
// mutex, and a Queue's TryPut and TryGet take its mutex once and nothing else.
// A waiter that has to queue costs its channel and a waiter from a small free
// list.
//
// The blocking twins have no channel at all when the grant is there: a
// Lock's AcquireWait costs its Release (one allocation), [Lock.AcquireGuard]
// nothing, a Queue's GetWait and PutWait nothing. A twin that has to wait
// reuses its waiter and its private channel.
//
// Where no caller needs select, a ctx or FIFO order, sync.Mutex is an order of
// magnitude cheaper than any of these: use it. BENCHMARKS.md, in the
// repository, has the figures beside sync.Mutex, channels, x/sync and
// errgroup.
package chans
