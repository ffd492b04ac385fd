package main

// The known causes of missed targets. Each is printed in BENCHMARKS.md only
// when its target is missed in that run, above the profiles taken in the same
// run, so that a reader can check the explanation against the evidence. They
// say what the code does and which functions of the profile it is; the shares
// are in the profiles themselves.

const whyLockChannel = `An uncontended ` + "`<-Acquire(Background)`" + ` takes the lock with one compare-and-swap, then returns a
new channel of Release holding the Release, closed. The allocation profile shows the 3 allocations
per op that this costs: 2 in grantNow (runtime.makechan allocates the hchan and, apart from it, the
buffer of an element type that holds pointers, which a func is) and 1 in Lock.releaser (the Release
closure, which captures the grant number so that a second call panics). Then come a send, a close
and a receive on the new channel, and a compare-and-swap to release. The channel-mutex allocates
nothing and makes one send and one receive on a channel that already exists. The CPU profile is
mostly the allocator and the collector's work that the allocations bring (mallocgc, makechan, memclr,
gcmarknewobject, gcWriteBarrier) and the new channel's own locks (lock2 and unlock2 under chansend,
closechan and chanrecv). The 4.5× of the target is the issue's estimate of the
channel's cost; here the channel and the Release cost more than that, and how much more moves with
the collector's share of the machine (see the single rounds). AcquireWait (1 allocation) and
AcquireGuard (none) are the paths without a channel.`

const whySemaphoreChannel = `The same shape as the Lock's channel path, with the Semaphore's costs on top. Per op: 3
allocations (2 in grantNow for the channel of Release and its buffer, 1 in Semaphore.releaser for
the Release closure), a ticket taken from a sync.Pool and put back (it makes a second call of the
Release panic), a send, a close and a receive; x/sync's Acquire(2)+Release(2) is a sync.Mutex pair
around a counter and allocates nothing. The CPU profile shows the allocations (mallocgc, makechan)
and the collector's work they bring, then the pool's Get and Put and the channel's own locks.`

const whyLockWait = `AcquireWait takes the lock with one compare-and-swap and releases it with another, like
AcquireGuard, but returns its hold as a Release func: Lock.releaser allocates a closure that captures
the grant number, the one allocation per op of the allocation profile, and in the CPU profile
Lock.releaser, that is the allocation (mallocgc under it), is more than half of the time. x/sync's
Weighted allocates nothing.
AcquireGuard, the same acquire returning a value, is the row below: the difference between the two is
the Release func.`

const whyLockGuard = `AcquireGuard allocates nothing: one compare-and-swap to take the lock, one to give it back,
and a check that ctx has not ended; x/sync's Weighted takes its sync.Mutex twice. The CPU profile
shows where the time of this run went.`

const whySemaphoreWait = `AcquireNWait takes the permits with one compare-and-swap but returns a Release closure: the
allocation profile's one allocation per op, in Semaphore.releaser, and its ticket comes from a
sync.Pool and goes back at the release, so that a second call panics. The CPU profile shows the
allocation (mallocgc under Semaphore.releaser) and the pool's Get and Put. x/sync's
Acquire(2)+Release(2) is a sync.Mutex pair around a counter. A value-type hold, as Lock's Guard is,
would take the allocation and the pool away, but a Semaphore has many holders at once, and a value
cannot tell its own second Release from another holder's first: only a per-grant flag can, and the
Release func is what carries it.`

const whyQueueWait = `PutWait and GetWait allocate nothing (the allocation target is met). Each takes the queue's
sync.Mutex once (Queue.lock, which also sweeps both waiter queues for ended contexts, a few loads each
when nobody waits) and moves the item through the ring buffer; PutWait then runs dispatch, which looks
for a queued getter and a queued putter, and GetWait looks whether a blocked putter can come in. A
buffered channel does the same under its own lock with less bookkeeping. The CPU profile is all the
queue's own code (PutWait, GetWait, dispatch, lock, the sweeps, the ring), with no allocation and no
scheduler: the gap is that bookkeeping, small, and the single rounds lie on both sides of the
target.`

const whyQueueTry = `TryPut and TryGet allocate nothing. Each takes the queue's sync.Mutex, sweeps both waiter
queues (a few loads each when nobody waits), checks shutdown and capacity and moves the item through
the ring buffer; TryPut then runs dispatch. The channel does the same under its own lock with less
bookkeeping. The profile shows that bookkeeping; the gap is small and moves from round to round.`

const whyContended = `Most acquisitions queue and are handed the lock by a release. The releaser takes the Lock's
sync.Mutex (waiters are queued, so the fast path is closed) and sends the grant into the head
waiter's channel. A queued AcquireWait waits in waitq.block with a plain receive on its waiter's
channel (its ctx, Background, cannot end, so there is no select), and once woken puts its waiter
back on a lock-free stack without retaking the mutex; a grant to a blocking waiter carries no
Release, so AcquireWait makes the one it returns, one closure per handoff. x/sync's waiter makes
its channel and its list element per queued waiter and selects on its channel and ctx.Done(). The
CPU profile shows the channel operations (chanrecv, chansend and their locks), the Lock's mutex and
the scheduler's part (schedule, findRunnable, casgstatus), the same on both sides.`

const whyFirstLocks = `The allocation profile counts 7 allocations per call against reflect.Select's 5: 5 in
waitq.newWaiter, for 2.5 waiters per call on average (First starts the ops in argument order and
stops at the first one ready, so the winner's waiter comes with those of the 1.5 held locks started
before it), each with a new channel of 2 allocations, since Release is a func; 1 in newRace (the race
and its choice) and 1 for the winner's Release closure. No goroutine is started (the target is met).
The CPU profile shows the ops' start (race.start, selWait, newWaiter and its makechan) and the
allocator; reflect.Select makes one runtime call over four channels that already exist.`

const whySelectLoop = `A Select over four ops of package chans allocates about 5 times per iteration (the
allocation profile, where shares below one per op print as 0): the choice (choice.New), a waiter's
channel for each case started up to the ready one (waitq.newWaiter: a wait that cannot be granted at
once still gets a real channel, since an op may hand it anywhere) and, when the Lock or the token
wins, its Release; a Case keeps the record of its started branch for the next call. No goroutine is
started. The CPU profile shows the allocator (mallocgc, makechan, memclr), the collector's work and
the primitives' mutexes; the native select allocates nothing.`

const whyContendedChan = `Most acquisitions queue and are handed the lock by a release. A queued <-Acquire costs a
channel of its own, which runtime.makechan allocates as two objects (the element, a Release, is a
func), and its Release closure: the 3 allocations per op of the allocation profile, against
x/sync's 2 (its channel and its list element). The releaser takes the Lock's sync.Mutex, sends the
grant and closes the channel; with a ctx that cannot end (Background, as here) the grant is final
once sent, so nothing is registered and nothing kept. The CPU profile shows the allocator
(mallocgc, makechan), the channel operations and their locks (chanrecv, chansend, lock2/unlock2),
the Lock's mutex, and the scheduler's part, the same on both sides.`

const whyHandoff = `Both sides wake a parked goroutine per op (handoffs/op, in the info rows, says how nearly
every acquisition was a handoff). A handoff of a Lock: the releaser takes the Lock's sync.Mutex
(waiters are queued, so the fast path is closed), dispatch sends the grant into the head waiter's
channel, which readies it; the woken waiter returns from its receive (waitq.block; its ctx cannot
end, so a plain receive, not a select), puts its waiter back on a lock-free stack and makes its
Release (the one allocation per handoff); the releaser's next AcquireWait takes the mutex, queues
and parks. The ping-pong is one unbuffered send that hands the value straight to the parked
receiver: no mutex, no waiter, no allocation.`

const whyFanout = `Per task, about 2.7 allocations against errgroup's 2 (the allocation profile counts them per op of
1,000 tasks): 1,000 for the task and its Result, one struct; 1,000 for the task func the
benchmark passes (errgroup's has the same); and the closure of the go statement for each task
that starts a goroutine, about 700 of the 1,000. A task that ends while a Go waits for a slot runs
that Go's task in its own goroutine (Semaphore.passOn), but here the submitting goroutine shares two
cores with eight tasks and is often not queued yet when a task ends, so that goroutine exits and the
next Go starts a new one. The CPU profile shows what errgroup does not do: per task the group's
mutex twice (record; book and count out), the Result settled under its own mutex, and, once the
limit is reached, a blocking waiter on the semaphore that parks in a select on its channel and the
group's ctx (runtime.selectgo), where errgroup's Go blocks on one send into a buffered channel
that the runtime hands to it directly. With 1.5 µs of work per task both sides also pay the stack
growth of each new goroutine (runtime.newstack and copystack, about a fifth of either profile).`

const whyPipeline = `Each item passes four queue operations (the source's put, the stage's get and put, the
sink's get), and with queues of 16 between a fast source, eight workers and one sink most of them
find the queue full or empty and wait in a blocking twin (GetWait and PutWait: runtime.selectgo in
the CPU profile). A bounded queue keeps its ring and a few putter slots when it empties, so the
allocations per item are few (the allocation profile: the workers' goroutines and the pipeline's
own set-up, per run); the time is the queues' mutexes and the parked waiters' wake-ups. Plain
channels hand each item to a parked goroutine inside the runtime and allocate nothing per item.`

const whyLatch = `Wait and Done are an atomic load and the return of the package's shared closed channel
(Result.Done or Event.Wait in the CPU profile, a small share); the rest is the receive itself
(runtime.chanrecv, which locks even a closed channel: lock2, unlock2), the same receive the baseline
makes on a channel of its own. The two sides run the same runtime code, and the single rounds show
how far one run can stray.`

const whyQueueChannel = `Each op returns two fresh channels: Put's answer (2 allocations in grantNow, since error
is an interface and makechan allocates the buffer apart) and Get's item (1 allocation, the hchan with
its buffer, since int holds no pointers; with a cancellable ctx the grant goes through a tracked
waiter instead). Then a send, a close and a receive on each. The buffered channel allocates nothing
and makes one send and one receive. The CPU profile shows makechan and the allocator, and the
channels' locks (lock2, unlock2). PutWait and GetWait (QueueWait) are the paths without a
channel.`

const whyUnbounded = `With a consumer that receives every item from ` + "`<-Get`" + `, each item costs a fresh
channel (the one allocation per item of the allocation profile; waitq.now and its makechan in the
CPU profile, or a waiter when the consumer has to queue), a send, a close and a receive on it, and
the queue's mutex on each side; chanx moves each item through three channel operations and its own
goroutine, and allocates nothing per item. The consumer that takes stored items with TryGet and
calls Get only when the queue is empty (UnboundedTryGet) makes no channel for an item already there.`

const whyFirstChannels = `With plain channels as ops, First polls them in argument order after each start (so the
earliest ready op wins), where reflect.Select makes one runtime call over all four. First also makes
its race and choice (newRace, the one allocation of the allocation profile), against
reflect.Select's 5 allocations, and withdraws nothing since no op of package chans took part. The
CPU profile shows where First's own time goes in this run: the race (newRace), the polling
(race.ready, chanrecv) and the allocator.`

const whyCrowd = `Each queued waiter costs a waiter record and its channel; with a cancellable ctx, the
waiters of one ctx share one context.AfterFunc registration (a crowd). The allocation profile shows
what else a queued waiter holds in this run.`
