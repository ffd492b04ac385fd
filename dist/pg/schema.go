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

// channel is the LISTEN/NOTIFY channel of every queue. Payloads are a kind
// letter, a colon and the queue's name: p (items may be ready), e (the queue
// may be empty), s (shut down).
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
var schema = []string{
	`CREATE TABLE IF NOT EXISTS turnstile_queues (
		name  text PRIMARY KEY,
		state smallint NOT NULL DEFAULT 0 -- 0 open, 1 shut down, 2 shut down immediately
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
		payload    bytea NOT NULL
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
