package pg_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// ledger checks that every value in want was done exactly once on queue
// (one done_log row), that no other value was done, and that nothing of the
// queue is left, ready, claimed or dead. maybe holds values whose put had an
// unknown outcome: done at most once.
func ledger(t *testing.T, pool *pgxpool.Pool, queue string, want []int, maybe map[int]bool) {
	t.Helper()
	is := is.New(t)
	rows, err := pool.Query(ctx(t), `SELECT v, count(*) FROM done_log WHERE queue = $1 GROUP BY v`, queue)
	is.NoErr(err)
	counts := make(map[int]int)
	for rows.Next() {
		var v, n int
		is.NoErr(rows.Scan(&v, &n))
		counts[v] = n
	}
	is.NoErr(rows.Err())
	for _, v := range want {
		if counts[v] != 1 {
			t.Errorf("item %d done %d times, want exactly once", v, counts[v])
		}
		delete(counts, v)
	}
	for v, n := range counts {
		if !maybe[v] || n > 1 {
			t.Errorf("item %d done %d times, put: %v (unknown outcome)", v, n, maybe[v])
		}
	}
	var left, dead int
	is.NoErr(pool.QueryRow(ctx(t), `SELECT (SELECT count(*) FROM turnstile_items WHERE queue = $1),
		(SELECT count(*) FROM turnstile_dead WHERE queue = $1)`, queue).Scan(&left, &dead))
	is.Equal(left, 0)
	is.Equal(dead, 0)
}

func createDoneLog(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(ctx(t), doneLog); err != nil {
		t.Fatal(err)
	}
}

func putRange(t *testing.T, q *pg.Queue[int], from, to int) []int {
	t.Helper()
	var vs []int
	for i := from; i < to; i++ {
		vs = append(vs, i)
	}
	for i := 0; i < len(vs); i += 500 {
		if err := q.PutBatch(ctx(t), vs[i:min(i+500, len(vs))]); err != nil {
			t.Fatal(err)
		}
	}
	return vs
}

// TestKillConservation: worker processes, whose gets are cancelled at random
// moments, are killed with SIGKILL at random moments (in a claim, in the
// middle of an item's transaction, between items) and replaced. Every item
// must be done exactly once.
func TestKillConservation(t *testing.T) {
	is := is.New(t)
	n, workers, kills := 3000, 4, 12
	if testing.Short() {
		n, workers, kills = 800, 3, 6
	}
	c, pool := newClient(t)
	createDoneLog(t, pool)
	q := newQueue(t, c)
	want := putRange(t, q, 0, n)
	procs := make([]*proc, workers)
	for i := range procs {
		procs[i] = startWorker(t, "work", q.Name())
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range kills {
		// A random moment, not a synchronization: the kill lands
		// wherever the worker happens to be.
		time.Sleep(time.Duration(20+r.IntN(100)) * time.Millisecond)
		i := r.IntN(workers)
		procs[i].kill(t)
		procs[i] = startWorker(t, "work", q.Name())
	}
	select {
	case <-q.Join():
	case <-time.After(2 * time.Minute):
		left, _ := q.Unfinished(ctx(t))
		t.Fatalf("Join not closed after 2 minutes; %d items unfinished", left)
	}
	is.NoErr(q.Shutdown(ctx(t), false))
	for _, p := range procs {
		is.NoErr(p.wait(t)) // each worker leaves cleanly once drained
	}
	ledger(t, pool, q.Name(), want, nil)
}

// TestRedeliveryAfterKill: the item of a worker killed while holding it is
// handed out again within 1s of the kill, its attempt counted.
func TestRedeliveryAfterKill(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 42))
	p := startWorker(t, "hold", q.Name())
	is.Equal(p.line(t), "holding 42")
	_, err := q.TryGet(ctx(t))
	is.True(errors.Is(err, dist.ErrEmpty)) // claimed by the worker
	p.kill(t)
	// The bound is the feature under test (the rescue interval plus the
	// server noticing the closed socket), not a performance figure.
	within, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	it, err := q.GetWait(within)
	is.NoErr(err)
	is.Equal(it.Value(), 42)
	is.Equal(it.Attempt(), 2)
	is.True(strings.Contains(it.LastError(), "worker was lost"))
	is.NoErr(it.Done(ctx(t)))
}

// TestKilledTooOftenIsDead: an item whose workers keep dying is moved to
// turnstile_dead after MaxAttempts, not handed out forever.
func TestKilledTooOftenIsDead(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), pg.MaxAttempts(1))
	is.NoErr(err)
	defer q.Close()
	is.NoErr(<-q.Put(ctx(t), 9))
	p := startWorker(t, "hold", q.Name())
	is.Equal(p.line(t), "holding 9")
	p.kill(t)
	// Items are set aside when a claim meets them: a getter that waits
	// a while gets nothing, since the only item is dead.
	wait, cancel := context.WithTimeout(ctx(t), 2*time.Second)
	defer cancel()
	_, err = q.GetWait(wait)
	is.True(errors.Is(err, context.DeadlineExceeded))
	closedWithin(t, "Join once the item is dead", q.Join())
	var attempts int
	var why string
	is.NoErr(pool.QueryRow(ctx(t), `SELECT attempts, last_error FROM turnstile_dead WHERE queue = $1`,
		q.Name()).Scan(&attempts, &why))
	is.Equal(attempts, 2)
	is.True(strings.Contains(why, "worker was lost"))
}

// TestJoinAcrossProcesses: three processes work on one queue and wait on
// Join; each sees Join closed only once every item is done (done_log is
// complete when it looks).
func TestJoinAcrossProcesses(t *testing.T) {
	is := is.New(t)
	n := 400
	if testing.Short() {
		n = 150
	}
	c, pool := newClient(t)
	createDoneLog(t, pool)
	q := newQueue(t, c)
	want := putRange(t, q, 0, n)
	j := q.Join()
	var procs []*proc
	for range 3 {
		procs = append(procs, startWorker(t, "workjoin", q.Name()))
	}
	for _, p := range procs {
		is.Equal(p.line(t), "joined "+strconv.Itoa(n))
		is.NoErr(p.wait(t))
	}
	closedWithin(t, "this process's Join", j)
	ledger(t, pool, q.Name(), want, nil)
}

// TestServerRestart: producers and workers keep going while the server is
// restarted under them (every connection is cut). Every item whose Put
// answered nil is done exactly once; one whose Put had an unknown outcome at
// most once; nothing is left claimed.
func TestServerRestart(t *testing.T) {
	n := 1500
	if testing.Short() {
		n = 500
	}
	c, pool := newClient(t)
	createDoneLog(t, pool)
	q := newQueue(t, c)

	var mu sync.Mutex
	var want []int
	maybe := make(map[int]bool)
	wctx, stop := context.WithTimeout(context.Background(), 3*time.Minute)
	defer stop()
	pctx := ctx(t) // one deadline for every put, retries included (ctx(t) makes a fresh one)
	var workers sync.WaitGroup
	for g := range 4 {
		workers.Go(func() { work(wctx, pool, q, rand.New(rand.NewPCG(uint64(g), 3))) })
	}
	restarted := make(chan struct{})
	var producers sync.WaitGroup
	for p := range 2 {
		producers.Go(func() {
			for i := p; i < n; i += 2 {
				if i == n/2 && p == 0 {
					if err := server.Restart(ctx(t)); err != nil {
						t.Error(err)
					}
					close(restarted)
				}
				for {
					err := <-q.Put(pctx, i)
					mu.Lock()
					switch {
					case err == nil:
						want = append(want, i)
					case errors.Is(err, dist.ErrOutcomeUnknown):
						maybe[i] = true
					}
					mu.Unlock()
					if err == nil || errors.Is(err, dist.ErrOutcomeUnknown) {
						break
					}
					if pctx.Err() != nil {
						t.Errorf("put %d: %v", i, err)
						return
					}
					// Refused for certain (no server yet): put it again.
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
	}
	producers.Wait()
	select {
	case <-restarted:
	default:
		t.Fatal("the producer that restarts the server returned before it did")
	}
	select {
	case <-q.Join():
	case <-time.After(2 * time.Minute):
		left, _ := q.Unfinished(ctx(t))
		t.Fatalf("Join not closed 2 minutes after the restart; %d items unfinished", left)
	}
	stop()
	workers.Wait()
	t.Logf("%d puts answered nil, %d with an unknown outcome", len(want), len(maybe))
	ledger(t, pool, q.Name(), want, maybe)
}

func closedWithin(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(time.Minute):
		t.Fatalf("%s not closed after a minute", what)
	}
}

// TestOwnerLost: the server ends this process's listening connection (the
// one whose advisory lock keeps its claims alive). The item held is
// announced lost and handed out again, its attempt counted (here to this
// same process, which reconnects under a new owner), and the stale copy's
// Done is refused.
func TestOwnerLost(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c)
	is.NoErr(q.PutBatch(ctx(t), []int{1, 2}))
	held, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(held.Value(), 1)
	var n int
	is.NoErr(pool.QueryRow(ctx(t), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = 'LISTEN turnstile'`).Scan(&n))
	is.Equal(n, 1)
	closedWithin(t, "Lost of the item held", held.Lost())
	// Item 2 is ready at once; item 1 once the rescuer has freed it.
	attempts := make(map[int]int)
	for range 2 {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		attempts[it.Value()] = it.Attempt()
		is.NoErr(it.Done(ctx(t)))
	}
	is.Equal(attempts, map[int]int{1: 2, 2: 1})
	is.True(errors.Is(held.Done(ctx(t)), dist.ErrNotHeld))
}
