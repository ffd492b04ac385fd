package main

// The known causes of missed targets. Each is printed in BENCHMARKS.md only
// when its target is missed in that run, above the profile taken in the same
// run, so a reader can check the explanation against the evidence.

const whyLockTime = `An uncontended Acquire + Release takes the Lock's internal sync.Mutex twice (in Acquire and in
the Release), makes a new channel holding the Release, sends into it and closes it, and the caller
receives from it; the channel-mutex is one send and one receive on a channel that already exists.
The new channel and the Release closure are 3 allocations per op (next target): in the profile,
allocation (mallocgc, makechan) and the garbage collection it drives (the GC's mark and sweep
functions, on the other core too, hence samples above 100%) are the largest part of the time, then
the channel operations. The channel cannot be reused: the caller may keep it and receive from it
again at any time, and a closed channel cannot be refilled.`

const whyLockAllocs = `Three allocations per op, two of them fixed by the API. Acquire returns a fresh ` + "`<-chan Release`" + `,
and Release is a func, a pointer type: runtime.makechan allocates the hchan and, separately, the
buffer of an element type that holds pointers, so the GC can scan it (runtime/chan.go, makechan:
"Elements contain pointers"). That is 2 allocations in waitq.now, as the profile shows. The third
is the Release closure made by Lock.releaser: it captures the grant number so that a second call, or
a call of an old Release after someone else took the lock, panics instead of unlocking another
holder (W8). Sharing one closure per Lock would lose that check. 1 allocation would need a
channel of a pointer-free type (for example a grant number, released with a method on the Lock),
which the contract (` + "`Acquire(ctx) <-chan Release`" + `) rules out: 2 is the floor here.`

const whyContended = `Most ops in this benchmark are handoffs: the acquirer queues and is woken by the release. Ours
makes a waiter record, a channel (2 allocations, see the uncontended case) and a Release closure
per handoff, 4 allocations; the release sends the Release into the waiter's channel and closes it,
under the Lock's mutex, and the waiter receives. x/sync's Weighted makes 3 (a ` + "`chan struct{}`" + `, its
waiter boxed into a list element) and wakes the waiter with a single close. The difference is
allocation and the GC it drives, and one more channel operation per handoff; the scheduler's work
(park, ready) is the same on both sides.`

const whyLatchTime = `Wait and Done take the primitive's sync.Mutex to read its flag before returning the shared closed
channel, and that Lock/Unlock pair costs about as much as the closed-channel receive itself (which
also locks the channel). No allocation is involved. The cheap fix, not made here since
chans/event.go and chans/result.go are not the benchmark's files: keep the flag in an atomic.Bool
written under the mutex, and return the closed channel without locking when it reads true. The
atomic store in Set happens before any load that sees it, so the memory-model guarantee stands, and
everything else stays under the mutex.`

const whyLatchAllocs = `A set Event or Result should hand out the package's shared closed channel and allocate nothing; an
allocation per op means that path now makes a channel. The profile shows where.`

const whyQueueTry = `TryPut and TryGet each take the queue's sync.Mutex, bring both waiter queues up to date with
ended contexts (two sweeps, each a few loads when nobody waits), check shutdown and capacity, and
move the item through a ring buffer; the channel does the same under its own lock with less
bookkeeping. Neither side allocates; the gap is that bookkeeping, small, and it moves from run to
run on a loaded machine.`

const whyQueuePutGet = `Each op returns two fresh channels: Put's ` + "`chan error`" + ` (error is an interface, so makechan allocates
the hchan and the buffer separately: 2 allocations) and Get's ` + "`chan int`" + ` (pointer-free elements share
the hchan's allocation: 1). With a cancellable ctx Get's grant is also recorded until a later call
sees it received (one more allocation). The channel baseline allocates nothing. Put cannot return a
shared pre-closed channel for an accepted item, since its receive must then yield nil with ok true
(W1), so 3 allocations per Put+Get is the floor of this API. In the profile makechan is the largest
item; most of the rest is the six channel operations (a send, a close and a receive on each of the
two channels) against the baseline's two.`

const whyUnbounded = `With a consumer that receives every item from ` + "`<-Get`" + `, each item costs a fresh channel (one
allocation, or a waiter record and a channel when the consumer has to queue for it) and a mutex pair
on each side; chanx moves each item through three channel operations and its own goroutine, with
no allocation per item. A consumer that takes stored items with TryGet and calls Get only when the
queue is empty (the other row) makes no channel for an item that is already there.`

const whyFirst = `selectx.First derives a cancellable ctx for its ops, starts all four, and cancels the ctx when it
has a winner. With channels as ops (selectx.Chan) that is cheap. With locks, each held lock's
Acquire queues a waiter: a waiter record, a channel, and a context.AfterFunc registration on the
derived ctx (the AfterFunc record, the func, its stop func and an entry in the ctx's children map),
and the free lock's grant is recorded until received, since its ctx can be cancelled. Cancelling
the derived ctx then runs each AfterFunc in a new goroutine, which takes the lock's mutex to remove
its waiter. About 27 allocations and 3 goroutine starts per call, against reflect.Select's 5
allocations in one runtime call. A cheaper First (in package selectx, not changed here): start the
ops one by one and stop at the first whose channel is ready at once, so later ops are never started
and never need undoing; argument order still decides among ops that are ready.`

const whyFirstChannels = `With plain channels as ops (selectx.Chan) First does little more than reflect.Select: it polls the
channels in argument order with non-blocking receives (which is what makes the earliest ready op
win), where reflect.Select makes one runtime call over all four. What reflect.Select does not pay
for is the cancellable ctx First derives for its ops (context.WithCancel, 2 allocations) and cancels
on return, which chans-style ops need to take back the grants of the losers. The two are close; the
median lands either side of 1 from run to run.`

const whyWaiterBytes = `Each queued waiter costs a waiter record (80 B) and its channel (the hchan, plus a separate 8 B
buffer because Release is a pointer type); with a ctx that cannot end nothing else is registered.`

const whyWaiterBytesCtx = `With a cancellable ctx each waiter also registers context.AfterFunc, so that its ctx ending takes it
out of the queue promptly without a goroutine per waiter (W2, W7): the AfterFunc record (112 B),
the func it runs (32 B: a weak pointer to the primitive and the waiter, so that the ctx does not keep
a dropped primitive alive), the stop func it returns (16 B), the waiter's slot in the primitive's list
of registrations (8 B, up to 16 B with the slice's slack), and an entry in the parent ctx's children
map (about 40 B). That is ~200 B on top of the ~200 B of a waiter with a Background ctx. x/sync's
waiter registers nothing because its goroutine selects on ctx.Done() itself, which is exactly what a
channel-returning Acquire cannot do. Going lower would take one registration per distinct ctx
rather than per waiter. That helps only when many waiters share one ctx, as here, and costs the
usual case (a ctx per request) a lookup per queued waiter, so it was not done.`

const whyCancel = `Each waiter's cancellation is O(1) (an AfterFunc that unlinks it from the queue), but cancelling
one ctx that n waiters share makes the context package start n AfterFunc goroutines at once, each
of which takes the Lock's mutex; with 10× the goroutines, caches, the scheduler and the garbage
collector (which scans every goroutine's stack) all do more work per goroutine. Compare the growth
of the baselines in the same row: most of the growth is the runtime's.`
