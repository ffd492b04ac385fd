package pg_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/matryer/is"
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
