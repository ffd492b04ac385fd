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
// grant.
//
// D2, cancellation is decided locally. When the ctx of a wait ends before the
// caller received, its channel is closed at once, without a round trip, and
// the engine withdraws the caller's entry on the server afterwards, retrying
// until that lands or the session ends. A grant that the server made while
// the cancel was on its way is released by the engine, never leaked: nobody
// holds it, and the next waiter gets it.
//
// D3, FIFO across processes. Waiters are served in the order the server
// recorded their requests; a Try method never passes a queued waiter.
//
// D4, a lost grant is announced first. Grant.Lost is closed before any other
// process can be granted what the grant held: the holder's own deadline is
// computed from its clock (the send time of the last renewal the server
// acknowledged, plus the lease's time to live, minus a safety margin), so it
// expires locally before it can expire on the server.
//
// D5, fencing. Every grant carries a token strictly greater than those of the
// earlier grants of the same primitive, durable across server restarts. A
// release sent late (after a partition heals) withdraws only the entry it was
// made for, never a newer holder's.
//
// D6, what the network changes: a grant can be lost while held (D4), a
// Release takes effect on the server after it returns, and waits fail
// (closed channel, or ErrSessionDone from a Try method) once their session has
// ended.
package dist
