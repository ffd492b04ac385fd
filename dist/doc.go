// Package dist holds what turnstile's multi-process engines share: the
// [Grant] an acquire hands out, the errors, the waiting contract as it reads
// over a network, and (in package disttest) a conformance suite that every
// engine's tests run. It needs only the standard library; the engines live in
// nested modules of their own, so the root module never depends on them:
// dist/etcd (Session, Lock, RWLock, Semaphore, Event) and dist/pg (Queue).
//
// # The contract over a network
//
// The engines keep the waiting contract of package chans (W1–W8) where a
// network allows it, and say exactly where it does not:
//
// D1, one outcome. A wait returns a receive-only channel that yields at most
// one value and is then closed; ok is true exactly when the caller got the
// grant. An engine may need one round trip to record the wait on the server
// before the call returns its channel; it returns at once if ctx has ended
// (W4: a ctx that has ended fails the call, even if the grant was free).
//
// D2, cancellation is decided locally. When the ctx of a wait ends before the
// caller received, its channel is closed at once, without a round trip, and
// the engine withdraws the caller's entry on the server afterwards, retrying
// until that lands or the session ends. A grant that the server made while
// the cancel was on its way, even one already sitting in the channel's
// buffer, is taken back and released by the engine, never leaked: nobody
// holds it, and the next waiter gets it. Once ctx has ended, a receive tells
// the truth: a value means the caller received it before the take-back, and
// holds it.
//
// D3, FIFO across processes. Waiters are served in the order the server
// recorded their requests; a Try method never passes a queued waiter, and
// fails with an error wrapping ErrBusy instead of waiting. A heavy waiter at
// the head of a semaphore holds back lighter ones behind it; a queued writer
// holds back later readers.
//
// D4, a lost grant is announced first. Grant.Lost is closed before any other
// process can be granted what the grant held: the holder's own deadline is
// computed from its clock (the send time of the last renewal the server
// acknowledged, plus the lease's time to live, minus a safety margin), so it
// expires locally before it can expire on the server. The one exception is a
// process that is paused (SIGSTOP, a frozen virtual machine, a swap storm):
// it cannot close Lost while it does not run, so another process may be
// granted meanwhile, and the paused one finds its grant lost only when it
// runs again. That, and any clock that jumps, is what tokens are for (D5).
//
// D5, fencing. Every grant carries a token strictly greater than those of the
// earlier grants of the same primitive, durable across server restarts. A
// release sent late (after a partition heals, or retried after its answer
// was lost) withdraws only the entry it was made for, never a newer
// holder's. Pass the token to the resource the grant protects and have it
// refuse tokens below the highest it has seen.
//
// D6, what the network changes: a grant can be lost while held (D4); a
// Release takes effect on the server after it returns; waits close and Try
// methods fail with an error wrapping ErrSessionDone once their session has
// ended (closed, or its lease expired or could not be renewed in time); and
// each engine states what a restart of its server does to grants and waits.
//
// # Testing an engine
//
// Package disttest holds the conformance suite: functions that take a
// factory of handles on one fresh primitive, one handle per session, and
// check D1–D5 as far as a test that knows nothing of the engine can. The
// rest (a process killed or cut off while it holds, a server restarted) is
// for each engine's own fault tests.
package dist
