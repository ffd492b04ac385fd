package pg

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass is the first key of the advisory lock (the two-int form) that
// each Client's listening connection holds on its owner id: the proof, for
// every other process, that the owner is alive. The two-int form keeps these
// locks apart from an application's own one-bigint advisory locks.
const lockClass = 0x7475726e // "turn"

// roomLockClass is the first key of the advisory lock (two-int form, the
// second key hashtext(queue)) that tells the statements freeing a slot of a
// bounded queue whether a putter may wait for room, and so whether they must
// notify. A process holds it in exclusive mode, at session level, on a
// connection of its pool, while putters of that process wait (the queue's
// watcher), and looks for room again once it has it. A statement that
// frees a slot tries it in shared mode, at transaction level: failing, it
// notifies (a waiter holds the lock, or is queued for it); succeeding, it
// holds the lock until its commit, so that a waiter that takes the lock
// afterwards does so after that commit, and sees the slot when it looks.
// Why not a flag in a table: a Done's snapshot cannot see a putter that
// started waiting after the Done began, and that putter's snapshot cannot
// see the Done's slot if the Done commits after it looked, so both would
// miss the other. A lock is seen the moment it is taken.
const roomLockClass = 0x726f6f6d // "room"

// channel is the LISTEN/NOTIFY channel of every queue. Payloads are a kind
// letter, a colon and the queue's name: p (items may be ready), e (the queue
// may be empty), s (shut down), r (a bounded queue has room again).
const channel = "turnstile"

// schema creates the tables if they are missing. Statements are idempotent,
// and Connect runs them under a transaction-level advisory lock, so that
// processes starting together do not race on CREATE.
//
// Items are rows of turnstile_items. A row with owner NULL is ready (once
// run_at has come); a row with an owner is claimed by the Client whose
// listening connection holds the advisory lock (lockClass, owner), and claim
// is that Client's number for the get that claimed it. The two partial
// indexes on claimed rows hold only the few rows being worked on.
//
// A bounded queue (max_size > 0) has max_size slots, numbered from 0: each
// is either a row of turnstile_room (free) or the slot of one of the
// queue's items, ready, delayed or claimed. A put moves slots from the room
// to its items, and every statement that deletes an item gives its slot
// back, in the same statement. The unique index on (queue, slot) is what
// makes the bound hold by construction: no two items share a slot, and
// slots only come from the room, which never holds more than max_size.
// Items of unbounded queues have no slot, and the partial index skips them.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS turnstile_queues (
		name     text PRIMARY KEY,
		state    smallint NOT NULL DEFAULT 0, -- 0 open, 1 shut down, 2 shut down immediately
		max_size integer NOT NULL DEFAULT 0   -- 0 unbounded
	)`,
	`CREATE SEQUENCE IF NOT EXISTS turnstile_owner_seq AS integer CYCLE`,
	`CREATE TABLE IF NOT EXISTS turnstile_owners (
		id    integer PRIMARY KEY,
		since timestamptz NOT NULL DEFAULT now()
	)`,
	`CREATE TABLE IF NOT EXISTS turnstile_items (
		id         bigserial PRIMARY KEY,
		queue      text NOT NULL,
		priority   integer NOT NULL DEFAULT 0,
		run_at     timestamptz NOT NULL DEFAULT now(),
		attempts   integer NOT NULL DEFAULT 0,
		owner      integer,
		claim      bigint,
		last_error text,
		put_at     timestamptz NOT NULL DEFAULT now(),
		payload    bytea NOT NULL,
		slot       integer -- in a bounded queue, the slot the item holds
	)`,
	// Tables made before bounded queues get their columns (the check keeps
	// a Connect from taking the table's lock when they are there).
	`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = 'turnstile_queues'::regclass AND attname = 'max_size' AND NOT attisdropped) THEN
			ALTER TABLE turnstile_queues ADD COLUMN max_size integer NOT NULL DEFAULT 0;
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = 'turnstile_items'::regclass AND attname = 'slot' AND NOT attisdropped) THEN
			ALTER TABLE turnstile_items ADD COLUMN slot integer;
		END IF;
	END $$`,
	`CREATE UNIQUE INDEX IF NOT EXISTS turnstile_items_slot
		ON turnstile_items (queue, slot) WHERE slot IS NOT NULL`,
	`CREATE TABLE IF NOT EXISTS turnstile_room (
		queue text NOT NULL,
		slot  integer NOT NULL,
		PRIMARY KEY (queue, slot)
	)`,
	`CREATE INDEX IF NOT EXISTS turnstile_items_ready
		ON turnstile_items (queue, priority, id) WHERE owner IS NULL`,
	`CREATE INDEX IF NOT EXISTS turnstile_items_owner
		ON turnstile_items (owner) WHERE owner IS NOT NULL`,
	`CREATE INDEX IF NOT EXISTS turnstile_items_claimed
		ON turnstile_items (queue) WHERE owner IS NOT NULL`,
	`CREATE TABLE IF NOT EXISTS turnstile_dead (
		id         bigint PRIMARY KEY,
		queue      text NOT NULL,
		priority   integer NOT NULL,
		attempts   integer NOT NULL,
		last_error text,
		put_at     timestamptz NOT NULL,
		died_at    timestamptz NOT NULL DEFAULT now(),
		payload    bytea NOT NULL
	)`,
}

// migrate creates the schema once, whoever gets there first.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, 0)`, lockClass); err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	for _, s := range schema {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("pg: migrate: %w", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pg: migrate: %w", err)
	}
	return nil
}
