// Package pg is a work queue across processes on PostgreSQL, with the channel
// API of package chans: [Queue.Put] returns a channel that yields nil once
// the item is committed, [Queue.Get] a channel that yields an [Item] claimed
// by this process until [Item.Done] or [Item.Fail], and [Queue.Join] a
// channel closed when every item put, by any process, is done.
//
// Claims are taken with SELECT ... FOR UPDATE SKIP LOCKED, as River and Que
// do, and woken by LISTEN/NOTIFY: one listening connection per process (the
// [Client]), with a slow safety poll, never a busy one.
//
// # Who holds a claim
//
// A claimed row names its owner: the Client whose listening connection
// holds the session-level advisory lock (lockClass, owner). The lock lives
// exactly as long as that connection, so a claim can never be held by nobody:
// when a worker process is killed, the kernel closes its sockets, the server
// ends the backend and drops the lock, and the next rescuer round of any
// other process (every 250ms by default) finds the owner without its lock,
// deletes its row and frees its items, attempt counted. Items of a killed
// worker are therefore handed out again within about 250ms. The attempt is
// committed with the claim, so an item that kills its workers every time is
// moved to turnstile_dead after MaxAttempts, like any failing item.
//
// River instead marks a job running and commits; a job whose worker died is
// found by its rescuer once it has been running longer than
// RescueStuckJobsAfter (an hour by default), since River cannot tell a dead
// worker from a slow one. Holding each claim in an open transaction instead
// (FOR UPDATE held until the work commits) frees a dead worker's rows at once
// too, but rolls back the attempt count with the work, so a poison item is
// never set aside, and it keeps a transaction open per item in progress. The
// owner lock costs one connection per process and a small query per rescuer
// round.
//
// # Cancellation, decided locally
//
// A caller's ctx never cancels a statement. It decides, locally and at once,
// whether the caller gets an outcome: a Get whose ctx ends is closed without
// a round trip, and an item already claimed for it goes back to this
// process's queue, where the next Get finds it first; with no getter left,
// the process returns it to the server (the attempt taken back). Statements
// themselves run to their answer under the Client's own context, so pgx never
// closes a connection to cancel one. An error from a statement whose outcome
// is unknown (the connection was lost after it was sent) is settled: on the
// same connection if it survived, else once the server no longer has that
// connection's backend, so that nothing it commits late can strand a claim.
//
// # Tables
//
// Connect creates turnstile_queues, turnstile_owners, turnstile_items and
// turnstile_dead (and a sequence) if they are missing. Items that failed
// MaxAttempts times, or that the codec cannot decode, are rows of
// turnstile_dead, with their last error.
package pg
