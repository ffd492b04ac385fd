// Package pg is a work queue across processes on PostgreSQL, with the channel
// API of package chans: [Queue.Put] returns a channel that yields nil once
// the item is committed (in a bounded queue, once there was room), [Queue.Get]
// a channel that yields an [Item] claimed by this process until [Item.Done]
// or [Item.Fail], and [Queue.Join] a channel closed when every item put, by
// any process, is done.
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
// # Bounded queues
//
// A queue created with [MaxSize](n) holds at most n items that are not done,
// in all processes together: ready, delayed, or claimed by a worker. An
// item leaves the count when it is done (Done, or the commit of DoneTx),
// moved to turnstile_dead, or dropped by Shutdown(immediate); Fail and a
// lost worker keep it counted. This is chans.Queue's unfinished count rather
// than its Len: a claimed item here can come back without a put (Fail, a
// worker killed), so letting its claim free its room would let the queue
// exceed the bound when it came back. Hence Len <= Unfinished <= n at every
// moment, and n also bounds the work in progress: workers holding n items
// hold up every put until one is done.
//
// The bound is kept by slots, not by counting. A bounded queue has n slots;
// a free slot is a row of turnstile_room, a taken one the slot column of one
// of the queue's items. A put takes free slots with SELECT ... FOR UPDATE
// SKIP LOCKED (no put waits for another: a slot being taken is not free)
// and inserts its items with them, in one statement; every statement that
// removes an item gives its slot back in the same statement. A unique index
// on the items' (queue, slot) makes an overshoot impossible rather than
// unlikely: every item of the queue holds its own one of the n slots, whatever
// the concurrency, crashes and isolation level. The tempting version
// counts the items under a lock on the queue's row; under READ COMMITTED a
// statement that waited for the lock still counts with the snapshot it took
// before waiting, and misses what the put it waited for inserted, so the
// bound is overshot by as many puts as were queued. A counter in the queue's
// row is exact but makes the Dones of the queue take turns on that row, a
// DoneTx for the whole of its caller's transaction.
//
// A put waits for room in its process: the putters of a process queue in
// the order of their calls, leave at once when their ctx ends (their items
// are then never seen by anyone), and are woken by the notification (r)
// that a statement freeing a slot sends, with the safety poll as a
// backstop. Once a statement that may put the item is sent, its answer
// decides what the put yields (see [Queue.Put]); that statement never waits
// on the server. Putters of different processes are not ordered among
// themselves: when a slot frees, every process with putters waiting tries,
// and the first statement to take the slot gets it.
//
// A statement that frees a slot notifies only if a putter may be waiting,
// since every transaction that notifies takes a turn on a lock that
// PostgreSQL holds for the whole database while it commits. "May be
// waiting" is an advisory lock, not a flag in a table: a process whose
// putters wait holds it, exclusive, on a connection of its pool (one per
// bounded queue with putters waiting, given back a poll interval after the
// last one leaves), and looks for room again once it has it. The statement
// tries the lock in shared mode: failing, it notifies; succeeding, it holds
// the lock until it commits, so that a process that starts waiting meanwhile
// gets the lock only after that commit, and then sees the slot. A flag
// would not do: the Done's snapshot cannot see a putter that starts waiting
// after the Done began, nor the putter's the slot of a Done that commits
// after it looked, and each would miss the other.
//
// What a bound costs: a put deletes a slot row per item and inserts its
// items with them, in its one statement, and a Done inserts the slot row
// back and tries the lock; neither waits for another put or Done. A Done
// notifies only while putters wait, that is when the queue is full. An
// unbounded queue runs the same statements as before bounds existed.
//
// The bound is stored with the queue when it is created, and fixed: every
// process that opens the queue uses it, and opening it with another MaxSize
// fails with [ErrBoundMismatch].
//
// # Tables
//
// Connect creates turnstile_queues, turnstile_owners, turnstile_items,
// turnstile_room and turnstile_dead (and a sequence) if they are missing,
// and adds the columns of bounded queues to tables made before them. Items
// that failed MaxAttempts times, or that the codec cannot decode, are rows
// of turnstile_dead, with their last error. Rows of turnstile_items deleted
// by hand leave their slot taken (the bound gets stricter, never looser).
package pg
