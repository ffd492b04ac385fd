package pg_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// blockClaims takes a lock that every claiming statement waits for (claims
// read their owner's row FOR KEY SHARE) and returns the func that lets them
// go on.
func blockClaims(t *testing.T) (release func()) {
	t.Helper()
	pool := newPool(t, server.DSN())
	tx, err := pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx(t), `LOCK TABLE turnstile_owners IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Commit(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// waitClaimBlocked waits until a claiming statement waits on a lock.
func waitClaimBlocked(t *testing.T) { waitClaimsBlocked(t, 1) }

// waitClaimsBlocked waits until n claiming statements wait on a lock.
func waitClaimsBlocked(t *testing.T, want int) {
	t.Helper()
	pool := newPool(t, server.DSN())
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := pool.QueryRow(ctx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%SET owner = $2, claim = $3%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no claim waited on the lock within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestInterleaveCancelDuringClaim forces the moment the issue names: the
// getter's ctx ends while its claim is on the server, and the server then
// grants it. The getter's channel is closed at once, without waiting for the
// server; the claim the server makes afterwards is given back (its attempt
// taken back), and nothing stays claimed by nobody.
func TestInterleaveCancelDuringClaim(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 1))
	release := blockClaims(t)
	gctx, cancel := context.WithCancel(ctx(t))
	ch := q.Get(gctx)
	waitClaimBlocked(t)
	cancel()
	select {
	case _, ok := <-ch:
		is.True(!ok) // closed, empty, while the claim still waits
	case <-time.After(time.Minute):
		t.Fatal("the cancelled Get was not closed while its claim was blocked")
	}
	release() // the server now grants the claim, to nobody
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 1)
	is.Equal(it.Attempt(), 1) // the claim nobody received did not count
	is.NoErr(it.Done(ctx(t)))
	closedWithin(t, "Join", q.Join())
}

// TestInterleaveCloseDuringClaim: the queue is closed while a claim is on the
// server; what it claims is returned before Close returns.
func TestInterleaveCloseDuringClaim(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 1))
	release := blockClaims(t)
	ch := q.Get(ctx(t))
	waitClaimBlocked(t)
	closed := make(chan struct{})
	go func() { q.Close(); close(closed) }()
	_, ok := <-ch
	is.True(!ok) // a queued getter of a closed queue
	release()
	<-closed
	var owner *int32
	is.NoErr(pool.QueryRow(ctx(t), `SELECT owner FROM turnstile_items WHERE queue = $1`, q.Name()).Scan(&owner))
	is.True(owner == nil) // returned, not left claimed
}

// TestInterleaveCloseWithItemUnreceived: a Get's item waits in its channel,
// unreceived, when the queue is closed, and the getter's ctx ends after. The
// item is taken back then, by which time the queue has returned everything
// else it held; it must go back to the server too, not stay claimed by this
// live process (which no rescuer frees) until the Client closes.
func TestInterleaveCloseWithItemUnreceived(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 1))
	gctx, cancel := context.WithCancel(ctx(t))
	ch := q.Get(gctx)
	deadline := time.Now().Add(time.Minute)
	for len(ch) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the item did not reach the Get's channel within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	q.Close()
	cancel()
	for {
		var owner *int32
		is.NoErr(pool.QueryRow(ctx(t), `SELECT owner FROM turnstile_items WHERE queue = $1`, q.Name()).Scan(&owner))
		if owner == nil {
			break // returned
		}
		if time.Now().After(deadline) {
			t.Fatal("the item taken back after Close stayed claimed by this process")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, ok := <-ch
	is.True(!ok) // taken back: the channel yields nothing now
}

// TestInterleaveClaimOutcomeUnknown: the server commits a claim but its
// answer is held back (a loopback proxy) until the client's statement
// timeout closes the connection, so the outcome is unknown to the client,
// and pgx's cancel request, arriving after the commit, changes nothing. The
// item is then claimed by this live process with no getter to give it to.
// The Client settles it once the server no longer has that backend: the item
// is handed out again, its attempt not counted. Without the settlement it
// would stay claimed by nobody for ever.
func TestInterleaveClaimOutcomeUnknown(t *testing.T) {
	is := is.New(t)
	px := newProxy(t)
	conf, err := pgxpool.ParseConfig(px.dsn())
	is.NoErr(err)
	// No liveness ping on acquire (its answer would be held too), and
	// connections dialled beforehand (so would a new one's handshake).
	conf.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	// One round trip per statement: no prepare whose answer is held.
	conf.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	conf.MinConns, conf.MaxConns = 8, 8
	pool, err := pgxpool.NewWithConfig(ctx(t), conf)
	is.NoErr(err)
	defer pool.Close()
	var warm []*pgxpool.Conn
	for range 8 {
		cn, err := pool.Acquire(ctx(t))
		is.NoErr(err)
		warm = append(warm, cn)
	}
	for _, cn := range warm {
		cn.Release()
	}
	direct := newPool(t, server.DSN())
	c, err := pg.Connect(ctx(t), pool, append(clientOpts, pg.WithStatementTimeout(300*time.Millisecond))...)
	is.NoErr(err)
	defer c.Close()
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int]())
	is.NoErr(err)
	defer q.Close()
	is.NoErr(<-q.Put(ctx(t), 1))

	px.setHold(true)
	gctx, cancel := context.WithCancel(ctx(t))
	ch := q.Get(gctx)
	// The claim commits on the server while its answer is held.
	deadline := time.Now().Add(time.Minute)
	for {
		var claimed bool
		is.NoErr(direct.QueryRow(ctx(t), `SELECT owner IS NOT NULL FROM turnstile_items WHERE queue = $1`,
			q.Name()).Scan(&claimed))
		if claimed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim did not commit within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	cancel() // the getter leaves: locally, at once
	_, ok := <-ch
	is.True(!ok)
	// Wait for the claim's connection to be given up (its statement timed
	// out): its backend then ends, and a fresh connection is dialled.
	waitBackendsGone(t, direct, q.Name())
	px.setHold(false)

	wait, cancel2 := context.WithTimeout(ctx(t), 20*time.Second)
	defer cancel2()
	it, err := q.GetWait(wait)
	is.NoErr(err) // else the item stayed claimed by nobody
	is.Equal(it.Value(), 1)
	is.Equal(it.Attempt(), 1)
	is.NoErr(it.Done(ctx(t)))
}

// waitBackendsGone waits until no backend of the server is running or has
// last run the claim statement.
func waitBackendsGone(t *testing.T, direct *pgxpool.Pool, queue string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := direct.QueryRow(ctx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE query LIKE '%SET owner = $2, claim = $3%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the claim's backend did not end within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// blockRoom takes a lock that every bounded put waits for (puts lock the
// room's rows) and returns the transaction holding it, in which the test may
// change the room before it lets the puts go on by committing.
func blockRoom(t *testing.T) pgx.Tx {
	t.Helper()
	pool := newPool(t, server.DSN())
	tx, err := pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx(t), `LOCK TABLE turnstile_room IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	return tx
}

// waitPutBlocked waits until a bounded put's statement waits on a lock.
func waitPutBlocked(t *testing.T) {
	t.Helper()
	pool := newPool(t, server.DSN())
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := pool.QueryRow(ctx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%FROM turnstile_room WHERE queue = $1 AND EXISTS%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no put waited on the lock within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// values returns the values of the queue's items, in id order.
func values(t *testing.T, pool *pgxpool.Pool, queue string) []int {
	t.Helper()
	rows, err := pool.Query(ctx(t), `SELECT convert_from(payload, 'UTF8')::integer FROM turnstile_items
		WHERE queue = $1 ORDER BY id`, queue)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestInterleavePutCancelledInFlight forces the moment where a putter's ctx
// ends while the statement that may put its item is on the server: on the
// fast path (the put's own statement) and on the admitter's (the put had
// waited for room, and a slot freed without a notification is found by the
// safety poll). The statement is held by a lock; the ctx ends; the put must
// not answer until the statement does. Then the lock's holder either makes
// room (the put answers nil: the item is in) or takes the room for another
// item (the put answers ctx.Err(): its item is never seen).
func TestInterleavePutCancelledInFlight(t *testing.T) {
	for _, path := range []string{"fast", "admitter"} {
		for _, room := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/room=%v", path, room), func(t *testing.T) {
				is := is.New(t)
				c, pool := newClient(t)
				q := newQueue(t, c, pg.MaxSize(1))
				if path == "admitter" {
					is.NoErr(q.PutWait(ctx(t), 0))
				}
				pctx, cancel := context.WithCancel(ctx(t))
				defer cancel()
				var put <-chan error
				if path == "admitter" {
					put = q.Put(pctx, 1)
					unanswered(t, put, "Put on a full queue")
				}
				tx := blockRoom(t)
				switch {
				case path == "fast" && !room:
					// Another producer takes the slot.
					_, err := tx.Exec(ctx(t), `WITH s AS (DELETE FROM turnstile_room WHERE queue = $1 RETURNING slot)
						INSERT INTO turnstile_items (queue, slot, payload) SELECT $1, slot, '7' FROM s`, q.Name())
					is.NoErr(err)
				case path == "admitter" && room:
					// A worker is done with item 0, and its notification is
					// lost: only the safety poll will look.
					_, err := tx.Exec(ctx(t), `WITH d AS (DELETE FROM turnstile_items WHERE queue = $1 RETURNING queue, slot)
						INSERT INTO turnstile_room (queue, slot) SELECT queue, slot FROM d`, q.Name())
					is.NoErr(err)
				}
				if path == "fast" {
					put = q.Put(pctx, 1)
				}
				waitPutBlocked(t)
				cancel()
				unanswered(t, put, "a cancelled Put whose statement is on the server")
				is.NoErr(tx.Commit(ctx(t)))
				err := answer(t, put, "the cancelled Put once its statement ran")
				want := map[string][]int{"fast": {7}, "admitter": {0}}[path]
				if room {
					is.NoErr(err) // the statement put it: acceptance is final
					want = []int{1}
				} else {
					is.True(errors.Is(err, context.Canceled))
				}
				is.Equal(values(t, pool, q.Name()), want)
				roomInvariant(t, pool, q.Name(), 1)
			})
		}
	}
}

// TestInterleavePutOutcomeUnknown: a bounded put commits on the server but
// its answer is held back until the client's statement timeout closes the
// connection, and the putter's ctx ends meanwhile. The put must say the
// outcome is unknown, not ctx.Err(): the item is in the queue, whole, with
// its slot.
func TestInterleavePutOutcomeUnknown(t *testing.T) {
	is := is.New(t)
	px := newProxy(t)
	conf, err := pgxpool.ParseConfig(px.dsn())
	is.NoErr(err)
	conf.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	conf.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	conf.MinConns, conf.MaxConns = 4, 4
	pool, err := pgxpool.NewWithConfig(ctx(t), conf)
	is.NoErr(err)
	defer pool.Close()
	var warm []*pgxpool.Conn
	for range 4 {
		cn, err := pool.Acquire(ctx(t))
		is.NoErr(err)
		warm = append(warm, cn)
	}
	for _, cn := range warm {
		cn.Release()
	}
	direct := newPool(t, server.DSN())
	c, err := pg.Connect(ctx(t), pool, append(clientOpts, pg.WithStatementTimeout(300*time.Millisecond))...)
	is.NoErr(err)
	defer c.Close()
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), pg.MaxSize(2))
	is.NoErr(err)
	defer q.Close()

	px.setHold(true)
	pctx, cancel := context.WithCancel(ctx(t))
	put := q.Put(pctx, 1)
	deadline := time.Now().Add(time.Minute)
	for len(values(t, direct, q.Name())) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the put did not commit within a minute")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	err = answer(t, put, "a put whose answer is lost")
	is.True(errors.Is(err, dist.ErrOutcomeUnknown))
	px.setHold(false)
	is.Equal(values(t, direct, q.Name()), []int{1})
	roomInvariant(t, direct, q.Name(), 2)
}
