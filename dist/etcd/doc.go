// Package etcd is turnstile's engine for etcd: a Lock, an RWLock, a weighted
// Semaphore and an Event shared by every process that uses the same names on
// one etcd cluster, with the waiting contract of package dist (D1–D6). Waits
// return channels, so they compose with select, timeouts and selectx:
//
//	s, err := etcd.NewSession(ctx, cli) // one per process: a lease, kept alive
//	if err != nil { ... }
//	defer s.Close(context.Background())
//	migrate := etcd.NewLock(s, "app/migrate")
//	select {
//	case g, ok := <-migrate.Acquire(ctx):
//		if ok {
//			defer g.Release()
//			// ... migrate, passing g.Token() to the database as a fence,
//			// and stop if <-g.Lost() fires
//		}
//	case <-shutdown:
//	}
//
// # The recipe
//
// These are not etcd's concurrency.Mutex and recipe.RWMutex, whose known
// faults they avoid, but one recipe of their own on etcd's primitives (the
// comment at the top of line.go has it in full): every waiter puts one key
// under its session's lease; the keys' create revisions order the waiters;
// who holds is a pure function of the keys (a prefix of the queue, admitted
// while the claims fit), so every session decides alone, from one watch per
// primitive, and all agree. The faults avoided, each where the code makes
// the choice:
//   - two goroutines of one session both holding a concurrency.Mutex (its
//     key is named after the session): here every waiter has a key of its
//     own;
//   - a retried Unlock deleting a newer lock of the same name
//     (etcd-io/etcd#22082): every delete here is fenced on the create
//     revision of the incarnation it was made for;
//   - a waiter whose session expired waiting on (etcd-io/etcd#19597): the
//     watch covers the waiter's own key, whose deletion ends the wait;
//   - two writers of recipe.RWMutex let in after an expiry
//     (etcd-io/etcd#16221): a waiter is admitted only while its own key is
//     there.
//
// # The contract over etcd
//
// D1, one outcome: every wait's channel has a buffer of one and yields at
// most one value before it is closed.
//
// D2, cancellation decided locally: Acquire sends one request (a
// transaction that puts the waiter's key and reads the primitive's keys at
// the same revision) and returns once the server recorded the waiter; a
// free primitive is granted then, with no second request. When the wait's
// ctx ends, the channel is closed at once, without a round trip, and the
// session's settle loop withdraws the key afterwards, retrying until that
// lands or the session ends; a grant made meanwhile is taken back from the
// channel and passed on. A request whose answer the caller did not wait for
// may still be applied by the server later: the withdrawal leaves a marker
// that makes it create nothing.
//
// D3, FIFO: by create revision, across all processes; a Try puts its key
// and withdraws it at once if it was not admitted, so it never passes a
// queued waiter. A release or cancellation counts within its own session at
// once (a waiter of the same session behind it is granted without a round
// trip, Try and Locked see it gone), and in the others once it has landed.
//
// D4, Lost first: the session's deadline is the send time of the last
// renewal the server acknowledged plus the lease's time to live, minus a
// margin ([WithMargin]); the server cannot expire the lease earlier, so a
// session that could not renew gives up, and its grants are lost, before
// any other process can be granted. A process that is paused (SIGSTOP, a
// frozen VM) cannot close Lost while it is paused: resumed, it finds its
// grants lost, and whatever it wrote in between carries its old token, which
// is why a protected resource should check tokens.
//
// D5, fencing: a grant's token is its key's create revision, which etcd
// keeps on disk and never reuses, so tokens of one primitive only grow,
// across server restarts too. A late release deletes nothing of a newer
// holder (see D5's fence above).
//
// D6, what the network changes. A grant can be lost while held (D4); a
// Release takes effect on the server after it returns ([Session.Settle]
// waits for it); waits close and Try methods fail with an error wrapping
// [dist.ErrSessionDone] once their session has ended.
//
// Server restart: etcd keeps keys, revisions and leases on disk (with its
// default fsync on), and the new leader restores every lease with its full
// time to live. A session that reaches the restarted server before its
// deadline loses nothing: its holders hold on, its waiters wait on. One that
// does not has ended at its deadline, its grants lost and its waits closed;
// its keys stay on the restarted server until the lease expires there, or
// until the session's revocation, which it sends on giving up, gets
// through. TestServerRestart shows both.
//
// Compaction: a watch that must resume from a compacted revision (after a
// disconnection) cannot replay what it missed; the session takes a fresh
// snapshot of the primitive's keys instead, from which it decides as well,
// since who holds depends only on the keys that exist.
//
// # Costs
//
// An acquire costs one transaction, and its release or withdrawal one more,
// sent in the background and batched with the session's others. A session
// runs two goroutines (lease renewal, withdrawals) and one per primitive it
// waited on (its watch, which goes on for ten seconds after the session's
// last entry on it, so that a primitive used again soon keeps it). A waiter
// costs a key, a channel of capacity one and a context.AfterFunc; no
// goroutine. A session reuses the key names of its settled entries, because
// etcd keeps deleted keys in its index until a compaction and fresh names
// would slow every read of the primitive's range. A session keeps a small
// record of every name it has used, until it is closed.
//
// # Keys
//
// A primitive called name keeps its waiters under name+"/~/" (values: "x"
// for an exclusive claim, "n/limit" for n permits), the markers of
// unanswered requests under name+"/~gone/", and an Event its flag at
// name+"/~event". A marker stays until its session ends (it is under the
// session's lease): etcd gives no moment after which a request that timed
// out on the client can no longer be applied, so the marker that turns such
// a late put into a no-op is never deleted early. A long-lived session on a
// network that often loses answers to acquires thus keeps one small key per
// lost answer; closing the session removes them. No element of a name may start with "~". Primitives of
// different kinds on one name share the queue consistently: a Lock and a
// Semaphore called "x" exclude each other as their claims say.
package etcd
