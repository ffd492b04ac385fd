package pg

// The statements of the queues. Each is one round trip in autocommit, so its
// outcome is all or nothing, and each sends its notifications itself (a
// NOTIFY is delivered at commit, never for a statement that failed). Every
// statement that settles a claim names it completely (id, owner, claim): a
// statement sent late, after the claim was rescued and handed out again,
// matches no row and does nothing.

// putSQL inserts the values of $5 in their order (so ids, and FIFO, follow
// it), unless the queue is shut down, and reports 1 if it did.
const putSQL = `
WITH q AS (
	SELECT name FROM turnstile_queues WHERE name = $1 AND state = 0
), ins AS (
	INSERT INTO turnstile_items (queue, priority, run_at, payload)
	SELECT q.name, $2, coalesce($3::timestamptz, now() + $4::bigint * interval '1 microsecond'), u.p
	FROM q, unnest($5::bytea[]) WITH ORDINALITY AS u(p, o)
	ORDER BY u.o
	RETURNING queue
)
SELECT count(*) FROM (SELECT DISTINCT queue FROM ins) f,
	LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n`

// claimSQL claims up to $4 ready items, lowest priority first, then oldest,
// skipping rows that other claims are taking (SKIP LOCKED), for owner $2
// under claim number $3, and counts the attempt. It reads the owner's row FOR
// KEY SHARE: a rescuer deleting that row (the owner is dead) waits for the
// claim or is waited for, and a claim for an owner whose row is gone claims
// nothing.
const claimSQL = `
WITH o AS (
	SELECT id FROM turnstile_owners WHERE id = $2 FOR KEY SHARE
), c AS (
	SELECT id FROM turnstile_items
	WHERE queue = $1 AND owner IS NULL AND run_at <= now() AND EXISTS (SELECT 1 FROM o)
	ORDER BY priority, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED
)
UPDATE turnstile_items i SET owner = $2, claim = $3, attempts = i.attempts + 1
FROM c WHERE i.id = c.id
RETURNING i.id, i.attempts, i.priority, coalesce(i.last_error, ''), i.payload`

// idleSQL tells a fetcher that claimed less than it wanted whether the queue
// is shut down and when the next unclaimed item is due (NULL: none is left).
const idleSQL = `
SELECT state, (SELECT min(run_at) FROM turnstile_items WHERE queue = $1 AND owner IS NULL) - now()
FROM turnstile_queues WHERE name = $1`

// emptySQL reports whether queue $1 has no item, ready or claimed.
const emptySQL = `
SELECT NOT EXISTS (SELECT 1 FROM turnstile_items WHERE queue = $1 AND owner IS NULL)
   AND NOT EXISTS (SELECT 1 FROM turnstile_items WHERE queue = $1 AND owner IS NOT NULL)`

// emptied is the tail of a statement that removed rows d(id, queue): it
// notifies e when no ready item is left in the queue, so that a waiting Join
// checks whether the claimed ones are gone too. Notifying only when nothing
// at all is left would miss the end when the last two items are removed at
// the same moment, since each statement's snapshot still sees the other's
// row; this way both notify, and the check after the later commit sees the
// queue empty.
const emptied = `
SELECT count(*) FROM d LEFT JOIN LATERAL (
	SELECT pg_notify('` + channel + `', 'e:' || d.queue)
	WHERE NOT EXISTS (SELECT 1 FROM turnstile_items WHERE queue = d.queue AND owner IS NULL AND d.id IS NOT NULL)
) n ON true`

// doneSQL deletes a claimed item.
const doneSQL = `
WITH d AS (
	DELETE FROM turnstile_items WHERE id = $1 AND owner = $2 AND claim = $3 RETURNING id, queue
)` + emptied

// deadSQL moves a claimed item to turnstile_dead with error $4.
const deadSQL = `
WITH m AS (
	DELETE FROM turnstile_items WHERE id = $1 AND owner = $2 AND claim = $3
	RETURNING id, queue, priority, attempts, put_at, payload
), d AS (
	INSERT INTO turnstile_dead (id, queue, priority, attempts, last_error, put_at, payload)
	SELECT id, queue, priority, attempts, $4, put_at, payload FROM m
	RETURNING id, queue
)` + emptied

// failSQL gives a claimed item back with error $4, its attempt counted.
const failSQL = `
WITH r AS (
	UPDATE turnstile_items SET owner = NULL, claim = NULL, last_error = $4
	WHERE id = $1 AND owner = $2 AND claim = $3 RETURNING queue
)
SELECT count(*) FROM r, LATERAL (SELECT pg_notify('` + channel + `', 'p:' || r.queue)) n`

// letGoSQL gives a claimed item back as it is: what a Done or Fail of
// unknown outcome is settled with (the item may be done; if it is not, it is
// handed out again, its attempt counted).
const letGoSQL = `
WITH r AS (
	UPDATE turnstile_items SET owner = NULL, claim = NULL
	WHERE id = $1 AND owner = $2 AND claim = $3 RETURNING queue
)
SELECT count(*) FROM r, LATERAL (SELECT pg_notify('` + channel + `', 'p:' || r.queue)) n`

// unclaimSQL gives back everything claim number $2 of owner $1 claimed, and
// takes the attempt back, since no caller received those items: what a claim
// of unknown outcome is settled with.
const unclaimSQL = `
WITH r AS (
	UPDATE turnstile_items SET owner = NULL, claim = NULL, attempts = attempts - 1
	WHERE owner = $1 AND claim = $2 RETURNING queue
)
SELECT count(*) FROM (SELECT DISTINCT queue FROM r) f,
	LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n`

// returnSQL gives back items that getters gave up ($2 ids, $3 their claim
// numbers), taking the attempt back; after Shutdown(immediate) of queue $4
// it drops them instead, as chans.Queue does.
const returnSQL = `
WITH s AS (
	SELECT state FROM turnstile_queues WHERE name = $4
), mine AS (
	SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS m(id, claim)
), d AS (
	DELETE FROM turnstile_items i USING mine, s
	WHERE s.state = 2 AND i.owner = $1 AND i.id = mine.id AND i.claim = mine.claim
	RETURNING i.id, i.queue
), r AS (
	UPDATE turnstile_items i SET owner = NULL, claim = NULL, attempts = i.attempts - 1
	FROM mine, s
	WHERE s.state <> 2 AND i.owner = $1 AND i.id = mine.id AND i.claim = mine.claim
	RETURNING i.queue
)
SELECT (SELECT count(*) FROM (SELECT DISTINCT queue FROM r) f,
		LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n)
	+ (SELECT count(*) FROM (SELECT DISTINCT queue FROM d) f,
		LATERAL (SELECT pg_notify('` + channel + `', 'e:' || f.queue)) n)`

// shutdownSQL shuts queue $1 down (state $2: 1, or 2 for immediately, which
// also drops the unclaimed items) and tells every process.
const shutdownSQL = `
WITH s AS (
	UPDATE turnstile_queues SET state = greatest(state, $2) WHERE name = $1 RETURNING name
), d AS (
	DELETE FROM turnstile_items WHERE $2 = 2 AND queue = $1 AND owner IS NULL RETURNING id
)
SELECT count(*) FROM s,
	LATERAL (SELECT pg_notify('` + channel + `', 's:' || s.name)) n,
	LATERAL (SELECT pg_notify('` + channel + `', 'e:' || s.name)) m`
