package pg

import "strconv"

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

// newQueueSQL creates queue $1 with bound $2 (0: unbounded) and its room
// of $2 free slots, unless it exists, and returns the bound it has. No row
// comes back when another process created it at the same moment (the
// insert waited for that commit, which this statement's snapshot does not
// see): run it again.
const newQueueSQL = `
WITH ins AS (
	INSERT INTO turnstile_queues (name, max_size) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING max_size
), room AS (
	INSERT INTO turnstile_room (queue, slot) SELECT $1, s FROM ins, generate_series(0, ins.max_size - 1) s
)
SELECT max_size FROM ins
UNION ALL
SELECT max_size FROM turnstile_queues WHERE name = $1`

// putOneRoomSQL is putSQL for one item of a bounded queue ($5 its payload):
// it takes a free slot from the room without waiting for one (SKIP LOCKED: a
// slot that another put is taking is not free) and inserts the item with it,
// unless the queue is shut down. It never waits on the server: with no
// room, it inserts nothing and says so.
//
// It reports whether the queue is open, how many items it put (0 or 1), how
// many slots it locked (the same) and how many free slots it could see (0
// or 1): seeing one it could not lock means another put held it, and may
// give it back without telling anyone (its batch did not fit, or it
// failed), so the caller looks again soon instead of waiting for a
// notification.
//
// Why slots, and not a count: the tempting statement counts the queue's
// items and inserts if the count is below the bound, under a lock on the
// queue's row so that puts take turns. Under READ COMMITTED a statement that
// waits for a row lock still counts with the snapshot it took before
// waiting, which misses the items of the put it waited for: the bound is
// overshot by as many puts as queue up. A counter column updated in place is
// exact, but then every Done would update the queue's one row, and Dones
// would take turns on it (a DoneTx for the whole of the caller's
// transaction). Slots cost a Done one insert into turnstile_room, with no
// lock that another Done waits for.
//
// Why the limit is a constant: with LIMIT 1 (or k, see putSinglesRoomSQL)
// the server plans the statement once and keeps the plan. With LIMIT $n it
// plans it anew at each run, which costs more than the round trip, because
// its generic plan, which it rightly declines, collects every free slot of
// the queue in a bitmap before the limit.
const putOneRoomSQL = `
WITH q AS (
	SELECT name FROM turnstile_queues WHERE name = $1 AND state = 0
), taken AS (
	DELETE FROM turnstile_room WHERE ctid = (
		SELECT ctid FROM turnstile_room WHERE queue = $1 AND EXISTS (SELECT 1 FROM q)
		ORDER BY slot LIMIT 1
		FOR UPDATE SKIP LOCKED)
	RETURNING slot
), ins AS (
	INSERT INTO turnstile_items (queue, priority, run_at, slot, payload)
	SELECT $1, $2, coalesce($3::timestamptz, now() + $4::bigint * interval '1 microsecond'), slot, $5 FROM taken
	RETURNING queue
)
SELECT EXISTS (SELECT 1 FROM q), (SELECT count(*) FROM ins), (SELECT count(*) FROM ins),
	(SELECT count(*) FROM (SELECT 1 FROM turnstile_room WHERE queue = $1 ORDER BY slot LIMIT 1) s),
	(SELECT count(*) FROM ins, LATERAL (SELECT pg_notify('` + channel + `', 'p:' || ins.queue)) n)`

// maxAdmit is the most waiting putters one statement lets in.
const maxAdmit = 32

// putSinglesRoomSQL[k] is putOneRoomSQL for k putters of one item each, in
// their order, $2 to $5 their payloads, priorities, run-at times (NULL:
// after the delay $5, in microseconds, from now): it takes up to k free
// slots and puts the first putters' items, one slot each, so that every
// slot it locks is used. The limit is a constant of each text, not a
// parameter, so that each keeps its plan (see putOneRoomSQL).
var putSinglesRoomSQL = func() (sqls [maxAdmit + 1]string) {
	for k := 1; k <= maxAdmit; k++ {
		sqls[k] = `
WITH q AS (
	SELECT name FROM turnstile_queues WHERE name = $1 AND state = 0
), pick AS (
	SELECT ctid AS tid FROM turnstile_room WHERE queue = $1 AND EXISTS (SELECT 1 FROM q)
	ORDER BY slot LIMIT ` + strconv.Itoa(k) + `
	FOR UPDATE SKIP LOCKED
), taken AS (
	DELETE FROM turnstile_room WHERE ctid = ANY (ARRAY(SELECT tid FROM pick))
	RETURNING slot
), ins AS (
	INSERT INTO turnstile_items (queue, priority, run_at, slot, payload)
	SELECT $1, u.pri, coalesce(u.at, now() + u.delay * interval '1 microsecond'), s.slot, u.p
	FROM unnest($2::bytea[], $3::integer[], $4::timestamptz[], $5::bigint[]) WITH ORDINALITY AS u(p, pri, at, delay, o)
	JOIN (SELECT slot, row_number() OVER (ORDER BY slot) AS o FROM taken) s USING (o)
	ORDER BY u.o
	RETURNING queue
)
SELECT EXISTS (SELECT 1 FROM q), (SELECT count(*) FROM ins), (SELECT count(*) FROM pick),
	(SELECT count(*) FROM (SELECT 1 FROM turnstile_room WHERE queue = $1 ORDER BY slot LIMIT ` + strconv.Itoa(k) + `) s),
	(SELECT count(*) FROM (SELECT DISTINCT queue FROM ins) f,
		LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n)`
	}
	return sqls
}()

// putManyRoomSQL is putOneRoomSQL for the $6 payloads of $5, put in their
// order (so ids, and FIFO, follow it), all or none: it locks up to $6 free
// slots and takes them only if it got $6. The slots it locked and did not
// take are free again at its commit, with no notification; another put
// that skipped them sees them and looks again soon (see putOneRoomSQL). It
// is planned at each run (its limit is a parameter): PutBatch is the rare
// case.
const putManyRoomSQL = `
WITH q AS (
	SELECT name FROM turnstile_queues WHERE name = $1 AND state = 0
), pick AS (
	SELECT ctid AS tid FROM turnstile_room WHERE queue = $1 AND EXISTS (SELECT 1 FROM q)
	ORDER BY slot LIMIT $6
	FOR UPDATE SKIP LOCKED
), taken AS (
	DELETE FROM turnstile_room WHERE ctid = ANY (ARRAY(SELECT tid FROM pick)) AND (SELECT count(*) FROM pick) = $6
	RETURNING slot
), ins AS (
	INSERT INTO turnstile_items (queue, priority, run_at, slot, payload)
	SELECT $1, $2, coalesce($3::timestamptz, now() + $4::bigint * interval '1 microsecond'), s.slot, u.p
	FROM unnest($5::bytea[]) WITH ORDINALITY AS u(p, o)
	JOIN (SELECT slot, row_number() OVER (ORDER BY slot) AS o FROM taken) s USING (o)
	ORDER BY u.o
	RETURNING queue
)
SELECT EXISTS (SELECT 1 FROM q), (SELECT count(*) FROM ins), (SELECT count(*) FROM pick),
	(SELECT count(*) FROM (SELECT 1 FROM turnstile_room WHERE queue = $1 ORDER BY slot LIMIT $6) s),
	(SELECT count(*) FROM (SELECT DISTINCT queue FROM ins) f,
		LATERAL (SELECT pg_notify('` + channel + `', 'p:' || f.queue)) n)`

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

// freed is emptied for a bounded queue: the statement removed rows d(id,
// queue, slot), whose slots go back to the room, and r tells the waiting
// putters of every process, if some may wait: unless the statement can
// take the room lock in shared mode (see roomLockClass), which it then
// holds until its commit. A notification costs every transaction that sends
// one a turn on a lock that PostgreSQL takes at commit, for the whole
// database; a queue that is not full sends none.
var freed = `, room AS (
	INSERT INTO turnstile_room (queue, slot) SELECT queue, slot FROM d WHERE slot IS NOT NULL
)
SELECT count(*) FROM d LEFT JOIN LATERAL (
	SELECT pg_notify('` + channel + `', 'e:' || d.queue)
	WHERE NOT EXISTS (SELECT 1 FROM turnstile_items WHERE queue = d.queue AND owner IS NULL AND d.id IS NOT NULL)
) n ON true LEFT JOIN LATERAL (
	SELECT pg_notify('` + channel + `', 'r:' || d.queue)
	WHERE d.slot IS NOT NULL AND NOT pg_try_advisory_xact_lock_shared(` + strconv.Itoa(roomLockClass) + `, hashtext(d.queue))
) r ON true`

// doneRoomSQL is doneSQL for a bounded queue.
var doneRoomSQL = `
WITH d AS (
	DELETE FROM turnstile_items WHERE id = $1 AND owner = $2 AND claim = $3 RETURNING id, queue, slot
)` + freed

// deadRoomSQL is deadSQL for a bounded queue: a dead item leaves the queue
// and frees its slot.
var deadRoomSQL = `
WITH d AS (
	DELETE FROM turnstile_items WHERE id = $1 AND owner = $2 AND claim = $3
	RETURNING id, queue, priority, attempts, put_at, payload, slot
), m AS (
	INSERT INTO turnstile_dead (id, queue, priority, attempts, last_error, put_at, payload)
	SELECT id, queue, priority, attempts, $4, put_at, payload FROM d
)` + freed

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
// it drops them instead, as chans.Queue does (their slots, in a bounded
// queue, go back to the room).
const returnSQL = `
WITH s AS (
	SELECT state FROM turnstile_queues WHERE name = $4
), mine AS (
	SELECT * FROM unnest($2::bigint[], $3::bigint[]) AS m(id, claim)
), d AS (
	DELETE FROM turnstile_items i USING mine, s
	WHERE s.state = 2 AND i.owner = $1 AND i.id = mine.id AND i.claim = mine.claim
	RETURNING i.id, i.queue, i.slot
), room AS (
	INSERT INTO turnstile_room (queue, slot) SELECT queue, slot FROM d WHERE slot IS NOT NULL
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
// also drops the unclaimed items, giving their slots back) and tells every
// process; the s notification wakes waiting putters too, to fail.
const shutdownSQL = `
WITH s AS (
	UPDATE turnstile_queues SET state = greatest(state, $2) WHERE name = $1 RETURNING name
), d AS (
	DELETE FROM turnstile_items WHERE $2 = 2 AND queue = $1 AND owner IS NULL RETURNING slot
), room AS (
	INSERT INTO turnstile_room (queue, slot) SELECT $1, slot FROM d WHERE slot IS NOT NULL
)
SELECT count(*) FROM s,
	LATERAL (SELECT pg_notify('` + channel + `', 's:' || s.name)) n,
	LATERAL (SELECT pg_notify('` + channel + `', 'e:' || s.name)) m`
