package pg

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
)

// An Item is a value claimed from a [Queue] by this process. It stays
// claimed until Done (the task is done: the item is deleted), DoneTx (the
// same, inside the caller's transaction) or Fail (it is handed out again,
// oldest first, with its attempt counted, or moved to turnstile_dead after the
// queue's MaxAttempts), or until the claim is lost: the process dies, or its
// listening connection is lost (Lost is closed), and the other processes'
// rescuers hand the item out again.
//
// An Item satisfies dist.Item. It is safe for use by several goroutines, but
// Done and Fail settle it once: a second call panics, since it means two
// goroutines think they own the item (a call that returned an error before
// anything was sent, such as ctx.Err(), does not count).
type Item[T any] struct {
	q        *Queue[T]
	value    T
	id       int64
	owner    int32
	claim    int64
	attempt  int
	priority int
	lastErr  string
	lost     <-chan struct{}
	stop     func() bool // stops the delivering Get's ctx watch
	settled  atomic.Bool
}

var _ dist.Item[int] = (*Item[int])(nil)

// Value returns the item's value, decoded by the queue's codec.
func (it *Item[T]) Value() T { return it.value }

// ID returns the item's id in turnstile_items: unique, increasing in the
// order items were put.
func (it *Item[T]) ID() int64 { return it.id }

// Attempt returns how many times the item has been handed out, this time
// included: 1 on its first delivery. Deliveries to workers that died count;
// deliveries to getters that gave up before receiving do not.
func (it *Item[T]) Attempt() int { return it.attempt }

// Priority returns the priority the item was put with.
func (it *Item[T]) Priority() int { return it.priority }

// LastError returns the error of the previous attempt ("" on the first):
// the text given to Fail, or a note that the worker was lost.
func (it *Item[T]) LastError() string { return it.lastErr }

// Lost returns a channel that is closed when this process can no longer
// vouch for its claim: its listening connection, whose advisory lock keeps
// the claim alive, was lost. Other processes may hand the item out as soon
// as the server has noticed, which can be before this process does: fence
// side effects with the item's ID and Attempt where that matters. Done and
// Fail on a lost item return ErrNotHeld if the item was handed out again.
func (it *Item[T]) Lost() <-chan struct{} { return it.lost }

// Done removes the item from the queue: the task is done. It returns:
//   - nil once that is committed;
//   - ctx.Err() if ctx ended before the statement was sent (nothing
//     happened: the item is still claimed, call Done again or Fail);
//   - an error wrapping dist.ErrNotHeld if the claim was lost and the item
//     handed out again;
//   - an error wrapping dist.ErrOutcomeUnknown if the connection was lost on
//     the way: the item is done, or will be handed out again (this process
//     gives it back once the server has finished with that connection);
//   - another error if the server refused for certain: the item is given
//     back, to be handed out again.
//
// Once the statement was sent, the item is settled whatever the answer: a
// second Done or Fail panics.
func (it *Item[T]) Done(ctx context.Context) error {
	return it.settle(ctx, "Done", doneSQL, []any{it.id, it.owner, it.claim})
}

// DoneTx deletes the item inside tx, so that the item is done exactly when
// the caller's work in tx commits. It returns an error wrapping
// dist.ErrNotHeld if the claim was lost, or tx's error. If tx then rolls back
// (or its commit fails), the item is still claimed by this process: call
// Done, DoneTx or Fail again. DoneTx does not settle the item locally, so any
// of them may follow it; after a commit they return ErrNotHeld.
func (it *Item[T]) DoneTx(ctx context.Context, tx pgx.Tx) error {
	var n int
	if err := tx.QueryRow(ctx, doneSQL, it.id, it.owner, it.claim).Scan(&n); err != nil {
		return fmt.Errorf("pg: DoneTx: %w", err)
	}
	if n == 0 {
		return it.notHeld()
	}
	return nil
}

// Fail gives the item back, with err's text recorded as its LastError, to be
// handed out again at once (it keeps its place: oldest first), or moves it
// to turnstile_dead if this was its last allowed attempt. Its answers are
// Done's.
func (it *Item[T]) Fail(ctx context.Context, err error) error {
	msg := "pg: Fail(nil)"
	if err != nil {
		msg = err.Error()
	}
	if it.attempt >= it.q.attempts {
		return it.settle(ctx, "Fail", deadSQL, []any{it.id, it.owner, it.claim, msg})
	}
	return it.settle(ctx, "Fail", failSQL, []any{it.id, it.owner, it.claim, msg})
}

// String describes the item: "pg.Item(jobs#17, attempt 2)".
func (it *Item[T]) String() string {
	return fmt.Sprintf("pg.Item(%s#%d, attempt %d)", it.q.name, it.id, it.attempt)
}

func (it *Item[T]) settle(ctx context.Context, op, sql string, args []any) error {
	if it.settled.Load() {
		panic("pg: " + op + " on an item already settled by Done or Fail")
	}
	if it.stop != nil {
		it.stop()
	}
	var n int
	sent := false
	letGo := settlement{queue: it.q.name, sql: letGoSQL, args: []any{it.id, it.owner, it.claim}}
	err := it.q.c.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		sent = true
		return conn.QueryRow(ctx, sql, args...).Scan(&n)
	}, &letGo)
	if !sent {
		return err // nothing happened: the caller may try again
	}
	if it.settled.Swap(true) {
		panic("pg: " + op + " on an item already settled by Done or Fail")
	}
	switch {
	case err != nil && !errors.Is(err, dist.ErrOutcomeUnknown):
		// Refused for certain (the server was restarting, say): the item
		// is still claimed by this process. Give it back through the
		// rescuer, which retries until that lands, rather than leave it
		// claimed by nobody.
		letGo.pid = 0
		it.q.c.settleLater(letGo)
		return fmt.Errorf("%w (the item will be handed out again)", err)
	case err != nil:
		return err
	case n == 0:
		return it.notHeld()
	}
	return nil
}

func (it *Item[T]) notHeld() error {
	return fmt.Errorf("pg: item %s#%d: %w", it.q.name, it.id, dist.ErrNotHeld)
}

// bury moves an item that cannot be handed out to turnstile_dead; if that
// fails, the rescuer retries it.
func (it *Item[T]) bury(why string) {
	var n int
	args := []any{it.id, it.owner, it.claim, why}
	it.q.c.runOrSettle(func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, deadSQL, args...).Scan(&n)
	}, settlement{queue: it.q.name, sql: deadSQL, args: args})
}
