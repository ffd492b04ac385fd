package pg_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// quiet is how long a test watches for an answer that must not come (a put
// let in while the queue is full) before it believes it will not.
const quiet = 300 * time.Millisecond

// unanswered checks that a put's channel yields nothing for quiet.
func unanswered(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s: answered %v, want it still waiting", what, err)
	case <-time.After(quiet):
	}
}

// answer receives a put's answer, bounded in time.
func answer(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s: no answer within a minute", what)
	}
	return nil
}

// roomInvariant checks, in one snapshot, that the queue's free slots and
// its items' slots are exactly the slots 0 .. max-1, each once.
func roomInvariant(t *testing.T, pool *pgxpool.Pool, queue string, max int) {
	t.Helper()
	var slots, distinct, lo, hi, unslotted int
	if err := pool.QueryRow(ctx(t), `SELECT count(*), count(DISTINCT slot), coalesce(min(slot), 0), coalesce(max(slot), 0),
			(SELECT count(*) FROM turnstile_items WHERE queue = $1 AND slot IS NULL)
		FROM (SELECT slot FROM turnstile_room WHERE queue = $1
			UNION ALL SELECT slot FROM turnstile_items WHERE queue = $1 AND slot IS NOT NULL) s`,
		queue).Scan(&slots, &distinct, &lo, &hi, &unslotted); err != nil {
		t.Fatal(err)
	}
	if slots != max || distinct != max || lo != 0 || hi != max-1 || unslotted != 0 {
		t.Fatalf("slots of %q: %d (%d distinct, %d..%d), %d items without one; want each of 0..%d once",
			queue, slots, distinct, lo, hi, unslotted, max-1)
	}
}

func unfinished(t *testing.T, q *pg.Queue[int]) int {
	t.Helper()
	n, err := q.Unfinished(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBoundBackpressure: a full queue makes Put wait, and a claimed item
// still counts: only its Done lets the putter in.
func TestBoundBackpressure(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c, pg.MaxSize(2))
	is.Equal(q.Cap(), 2)
	is.NoErr(<-q.Put(ctx(t), 1))
	is.NoErr(q.PutWait(ctx(t), 2))
	third := q.Put(ctx(t), 3)
	unanswered(t, third, "Put on a full queue")
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 1)
	unanswered(t, third, "Put while a worker holds an item") // claimed items count
	n, err := q.Len(ctx(t))
	is.NoErr(err)
	is.Equal(n, 1)
	is.Equal(unfinished(t, q), 2)
	is.True(strings.Contains(q.String(), "putters[1]"))
	is.NoErr(it.Done(ctx(t)))
	is.NoErr(answer(t, third, "Put after a Done"))
	is.Equal(unfinished(t, q), 2)
	roomInvariant(t, pool, q.Name(), 2)
	for _, want := range []int{2, 3} {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		is.Equal(it.Value(), want)
		is.NoErr(it.Done(ctx(t)))
	}
	closedWithin(t, "Join", q.Join())
	roomInvariant(t, pool, q.Name(), 2)
}

// TestBoundFailAndDeadLetter: Fail keeps the item's slot (it is handed out
// again), a move to turnstile_dead frees it, and so does DoneTx's commit
// (not its rollback).
func TestBoundFailAndDeadLetter(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), pg.MaxSize(1), pg.MaxAttempts(2))
	is.NoErr(err)
	defer q.Close()
	is.NoErr(q.PutWait(ctx(t), 1))
	next := q.Put(ctx(t), 2)
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Fail(ctx(t), errors.New("once")))
	unanswered(t, next, "Put after a Fail")
	it, err = q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Attempt(), 2)
	is.NoErr(it.Fail(ctx(t), errors.New("twice"))) // its last attempt: dead
	is.NoErr(answer(t, next, "Put after the item went to turnstile_dead"))
	it, err = q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 2)
	third := q.Put(ctx(t), 3)
	tx, err := pool.Begin(ctx(t))
	is.NoErr(err)
	is.NoErr(it.DoneTx(ctx(t), tx))
	is.NoErr(tx.Rollback(ctx(t)))
	unanswered(t, third, "Put after a DoneTx rolled back")
	tx, err = pool.Begin(ctx(t))
	is.NoErr(err)
	is.NoErr(it.DoneTx(ctx(t), tx))
	unanswered(t, third, "Put before DoneTx's commit")
	is.NoErr(tx.Commit(ctx(t)))
	is.NoErr(answer(t, third, "Put after DoneTx's commit"))
	roomInvariant(t, pool, q.Name(), 1)
}

// TestBoundTryPut: TryPut says ErrFull on a full queue, and never passes a
// putter of this process that waits, even once room is made for it.
func TestBoundTryPut(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	is.NoErr(q.TryPut(ctx(t), 1))
	err := q.TryPut(ctx(t), 2)
	is.True(errors.Is(err, dist.ErrFull))
	waiter := q.Put(ctx(t), 3)
	unanswered(t, waiter, "Put on a full queue")
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	// The room is the waiter's: whether it got in yet or not, TryPut
	// finds the queue full.
	err = q.TryPut(ctx(t), 4)
	is.True(errors.Is(err, dist.ErrFull))
	is.NoErr(answer(t, waiter, "the waiting Put"))
	it, err = q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 3)
	is.NoErr(it.Done(ctx(t)))
	is.NoErr(q.TryPutWith(ctx(t), 5, pg.Priority(1)))
	_, err = q.TryGet(ctx(t))
	is.NoErr(err)
	is.Equal(unfinished(t, q), 1) // only 5: 2 and 4 never went in
	roomInvariant(t, pool, q.Name(), 1)
	ended, cancel := context.WithCancel(ctx(t))
	cancel()
	is.True(errors.Is(q.TryPut(ended, 6), context.Canceled))
}

// TestBoundPutCancelled: a putter whose ctx ends while it waits for room
// gets ctx.Err() at once, and its item is never seen; the putters behind it
// move up.
func TestBoundPutCancelled(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	is.NoErr(q.PutWait(ctx(t), 1))
	pctx, cancel := context.WithCancel(ctx(t))
	gone := q.Put(pctx, 2)
	behind := q.Put(ctx(t), 3)
	unanswered(t, gone, "Put on a full queue")
	cancel()
	is.True(errors.Is(answer(t, gone, "the cancelled Put"), context.Canceled))
	timed, cancel2 := context.WithTimeout(ctx(t), 50*time.Millisecond)
	defer cancel2()
	is.True(errors.Is(q.PutWait(timed, 4), context.DeadlineExceeded))
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	is.NoErr(answer(t, behind, "the Put behind the cancelled one"))
	it, err = q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 3) // 2 and 4 never went in
	is.NoErr(it.Done(ctx(t)))
	_, err = q.TryGet(ctx(t))
	is.True(errors.Is(err, dist.ErrEmpty))
}

// TestBoundPuttersFIFO: putters of one process that wait are let in in the
// order of their calls, whatever order their goroutines ran in.
func TestBoundPuttersFIFO(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	is.NoErr(q.PutWait(ctx(t), 0))
	const n = 6
	var chs []<-chan error
	for i := 1; i <= n; i++ {
		chs = append(chs, q.Put(ctx(t), i))
	}
	// Every put has tried and joined the line: what the test orders is
	// the line, not the goroutines' race to it.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(q.String(), "putters[6]") {
		if time.Now().After(deadline) {
			t.Fatalf("the putters did not all queue: %v", q)
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i <= n; i++ {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		is.Equal(it.Value(), i)
		is.NoErr(it.Done(ctx(t)))
		if i < n {
			is.NoErr(answer(t, chs[i], "a waiting Put"))
		}
	}
}

// TestBoundPutBatch: a batch goes in whole or waits, in line; one larger
// than the bound is refused.
func TestBoundPutBatch(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q := newQueue(t, c, pg.MaxSize(3))
	is.True(errors.Is(q.PutBatch(ctx(t), []int{1, 2, 3, 4}), dist.ErrAboveLimit))
	is.NoErr(q.PutWait(ctx(t), 1))
	batch := make(chan error, 1)
	go func() { batch <- q.PutBatch(ctx(t), []int{2, 3, 4}) }()
	unanswered(t, batch, "a batch of 3 with room for 2")
	// A single put behind the batch does not pass it, though it fits.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(q.String(), "putters[1]") {
		if time.Now().After(deadline) {
			t.Fatalf("the batch did not queue: %v", q)
		}
		time.Sleep(time.Millisecond)
	}
	single := q.Put(ctx(t), 5)
	unanswered(t, single, "a put behind a waiting batch")
	is.Equal(unfinished(t, q), 1)
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	is.NoErr(answer(t, batch, "the batch"))
	var got []int
	for range 3 {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		got = append(got, it.Value())
		is.NoErr(it.Done(ctx(t)))
	}
	is.Equal(got, []int{2, 3, 4})
	is.NoErr(answer(t, single, "the put behind the batch"))
	roomInvariant(t, pool, q.Name(), 3)
}

// TestBoundShutdown: Shutdown, in another process, ends the wait of the
// putters of this one with ErrShutdown; Shutdown(immediate) gives the
// dropped items' slots back.
func TestBoundShutdown(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	other, _ := newClient(t)
	q := newQueue(t, c, pg.MaxSize(2))
	is.NoErr(q.PutBatch(ctx(t), []int{1, 2}))
	w1 := q.Put(ctx(t), 3)
	w2 := make(chan error, 1)
	go func() { w2 <- q.PutWait(ctx(t), 4) }()
	unanswered(t, w1, "Put on a full queue")
	oq, err := pg.NewQueue(ctx(t), other, q.Name(), pg.JSON[int]())
	is.NoErr(err)
	defer oq.Close()
	is.Equal(oq.Cap(), 2) // opened without MaxSize: the queue's bound
	held, err := oq.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(oq.Shutdown(ctx(t), true))
	is.True(errors.Is(answer(t, w1, "a waiting Put at Shutdown"), dist.ErrShutdown))
	is.True(errors.Is(answer(t, w2, "a waiting PutWait at Shutdown"), dist.ErrShutdown))
	is.True(errors.Is(q.TryPut(ctx(t), 5), dist.ErrShutdown))
	is.Equal(unfinished(t, q), 1) // the unclaimed item was dropped
	is.NoErr(held.Done(ctx(t)))
	roomInvariant(t, pool, q.Name(), 2)
}

// TestBoundClose: Close ends the wait of this process's putters with
// ErrClosed.
func TestBoundClose(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), pg.MaxSize(1))
	is.NoErr(err)
	is.NoErr(q.PutWait(ctx(t), 1))
	w := q.Put(ctx(t), 2)
	unanswered(t, w, "Put on a full queue")
	q.Close()
	is.True(errors.Is(answer(t, w, "a waiting Put at Close"), pg.ErrClosed))
	is.True(errors.Is(q.PutWait(ctx(t), 3), pg.ErrClosed))
}

// TestBoundMismatch: the bound is the queue's: a NewQueue with another
// MaxSize is refused, one without any adopts it.
func TestBoundMismatch(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	name := queueName(t)
	q, err := pg.NewQueue(ctx(t), c, name, pg.JSON[int](), pg.MaxSize(5))
	is.NoErr(err)
	defer q.Close()
	_, err = pg.NewQueue(ctx(t), c, name, pg.JSON[int](), pg.MaxSize(6))
	is.True(errors.Is(err, pg.ErrBoundMismatch))
	_, err = pg.NewQueue(ctx(t), c, name, pg.JSON[int](), pg.MaxSize(0))
	is.True(errors.Is(err, pg.ErrBoundMismatch))
	same, err := pg.NewQueue(ctx(t), c, name, pg.JSON[int](), pg.MaxSize(5))
	is.NoErr(err)
	same.Close()
	any, err := pg.NewQueue(ctx(t), c, name, pg.JSON[int]())
	is.NoErr(err)
	is.Equal(any.Cap(), 5)
	any.Close()
	free := newQueue(t, c)
	is.Equal(free.Cap(), 0)
	_, err = pg.NewQueue(ctx(t), c, free.Name(), pg.JSON[int](), pg.MaxSize(5))
	is.True(errors.Is(err, pg.ErrBoundMismatch))
	defer func() {
		is.True(recover() != nil) // a negative bound is misuse
	}()
	pg.MaxSize(-1)
}

// TestBoundAcrossProcesses: producers in three processes (two goroutines
// each) put into a queue bounded at 5, every put cancelled at a random
// moment or not (at the call, while it waits for room, while its statement
// is on the server) or tried with TryPut, while workers here take the items
// with randomly cancelled gets and do them slowly enough that the queue is
// full most of the time. A monitor checks, in snapshot after snapshot, that
// the bound holds and that the queue's slots are exactly accounted for
// (free slots plus items is the bound). At the end, every item whose put
// answered nil was done exactly once, every put answered ctx.Err() or
// ErrFull left nothing behind (no done_log row, no item, no dead row), and
// an unknown outcome at most once.
func TestBoundAcrossProcesses(t *testing.T) {
	is := is.New(t)
	const max, producers = 5, 3
	per := 400
	if testing.Short() {
		per = 150
	}
	c, pool := newClient(t)
	createDoneLog(t, pool)
	q := newQueue(t, c, pg.MaxSize(max))

	// The monitor: one snapshot per query.
	stopMon := make(chan struct{})
	var samples, fullSeen int
	var monErr error
	monDone := make(chan struct{})
	go func() {
		defer close(monDone)
		for {
			select {
			case <-stopMon:
				return
			default:
			}
			var items, room int
			if err := pool.QueryRow(ctx(t), `SELECT (SELECT count(*) FROM turnstile_items WHERE queue = $1),
				(SELECT count(*) FROM turnstile_room WHERE queue = $1)`, q.Name()).Scan(&items, &room); err != nil {
				monErr = err
				return
			}
			samples++
			if items == max {
				fullSeen++
			}
			if items > max || items+room != max {
				monErr = fmt.Errorf("a snapshot with %d items and %d free slots, bound %d", items, room, max)
				return
			}
		}
	}()

	wctx, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var workers sync.WaitGroup
	for g := range 3 {
		workers.Go(func() { work(wctx, pool, q, rand.New(rand.NewPCG(uint64(g), 9))) })
	}

	outcomes := make(map[string][]int)
	var mu sync.Mutex
	var readers sync.WaitGroup
	for p := range producers {
		pr := startWorker(t, "produce", q.Name(), envMax+"="+strconv.Itoa(max),
			envFirst+"="+strconv.Itoa(p*100_000), envCount+"="+strconv.Itoa(per))
		readers.Go(func() {
			for {
				l := pr.line(t)
				if l == "end" {
					break
				}
				out, v, _ := strings.Cut(l, " ")
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Errorf("producer line %q", l)
					continue
				}
				mu.Lock()
				outcomes[out] = append(outcomes[out], n)
				mu.Unlock()
			}
			if err := pr.wait(t); err != nil {
				t.Error(err)
			}
		})
	}
	readers.Wait()
	closedWithin(t, "Join after the producers", q.Join())
	close(stopMon)
	<-monDone
	is.NoErr(q.Shutdown(ctx(t), false))
	stopWork()
	workers.Wait()
	is.NoErr(monErr)

	for out, vs := range outcomes {
		if out != "ok" && out != "no" && out != "maybe" {
			t.Errorf("%d puts answered %s", len(vs), out)
		}
	}
	t.Logf("%d snapshots, %d of them full; puts: %d ok, %d not put, %d unknown",
		samples, fullSeen, len(outcomes["ok"]), len(outcomes["no"]), len(outcomes["maybe"]))
	is.Equal(len(outcomes["ok"])+len(outcomes["no"])+len(outcomes["maybe"]), producers*per)
	is.True(len(outcomes["ok"]) > 0)
	is.True(len(outcomes["no"]) > 0) // the cancellations did happen
	is.True(fullSeen > 0)            // and the bound was met
	maybe := make(map[int]bool)
	for _, v := range outcomes["maybe"] {
		maybe[v] = true
	}
	ledger(t, pool, q.Name(), outcomes["ok"], maybe)
	roomInvariant(t, pool, q.Name(), max)
}

// hourPollClient connects a Client whose safety poll is an hour away, so
// that only notifications (and the room lock's protocol) can wake a putter
// within a test.
func hourPollClient(t *testing.T) *pg.Client {
	t.Helper()
	pool := newPool(t, server.DSN())
	c, err := pg.Connect(ctx(t), pool, pg.WithRescueInterval(100*time.Millisecond), pg.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// within receives a put's answer within 20s: far less than the hour of an
// hourPollClient's safety poll.
func within(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: no answer within 20s (a lost wake-up, left to the safety poll)", what)
	}
	return nil
}

// TestBoundWakeAcrossProcesses: a putter waiting in one process is let in by
// the Done of a worker in another, with no safety poll to help.
func TestBoundWakeAcrossProcesses(t *testing.T) {
	is := is.New(t)
	c := hourPollClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	other, _ := newClient(t)
	oq, err := pg.NewQueue(ctx(t), other, q.Name(), pg.JSON[int]())
	is.NoErr(err)
	defer oq.Close()
	for i := range 5 {
		is.NoErr(q.PutWait(ctx(t), 2*i))
		next := q.Put(ctx(t), 2*i+1)
		unanswered(t, next, "Put on a full queue")
		it, err := oq.GetWait(ctx(t))
		is.NoErr(err)
		is.Equal(it.Value(), 2*i)
		is.NoErr(it.Done(ctx(t)))
		is.NoErr(within(t, next, "a putter after a Done in another process"))
		it, err = oq.GetWait(ctx(t))
		is.NoErr(err)
		is.NoErr(it.Done(ctx(t)))
	}
}

// waitRoomLockBlocked waits until a watcher's request for the room lock
// waits on a lock.
func waitRoomLockBlocked(t *testing.T) {
	t.Helper()
	pool := newPool(t, server.DSN())
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		if err := pool.QueryRow(ctx(t), `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_lock($1, hashtext($2))%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no watcher waited for the room lock within a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestInterleaveDoneBeforeWaiter forces the moment the room lock is for: a
// DoneTx frees a slot while no putter waits anywhere, so it takes the lock
// in shared mode and will send no notification; then a putter finds the
// queue full (the slot is not committed) and waits. Its process's watcher
// must wait for the lock until the DoneTx commits, and look again then: the
// putter gets in with no notification and no safety poll. (Checking a
// "someone waits" flag in a table instead, each side would miss the other.)
func TestInterleaveDoneBeforeWaiter(t *testing.T) {
	is := is.New(t)
	c := hourPollClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	other, pool := newClient(t)
	oq, err := pg.NewQueue(ctx(t), other, q.Name(), pg.JSON[int]())
	is.NoErr(err)
	defer oq.Close()
	is.NoErr(q.PutWait(ctx(t), 1))
	it, err := oq.GetWait(ctx(t))
	is.NoErr(err)
	tx, err := pool.Begin(ctx(t))
	is.NoErr(err)
	defer tx.Rollback(context.Background())
	is.NoErr(it.DoneTx(ctx(t), tx))
	put := q.Put(ctx(t), 2)
	waitRoomLockBlocked(t)
	unanswered(t, put, "Put before the DoneTx commits")
	is.NoErr(tx.Commit(ctx(t)))
	is.NoErr(within(t, put, "the putter once the DoneTx committed"))
	it, err = oq.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 2)
	is.NoErr(it.Done(ctx(t)))
}

// TestBoundQuietWhileNotFull: the Dones of a bounded queue that no putter
// waits for send no room notification (each costs every notifying
// transaction a turn on the database's commit lock); with a putter waiting
// they do.
func TestBoundQuietWhileNotFull(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c, pg.MaxSize(2))
	conn, err := pgx.Connect(ctx(t), server.DSN())
	is.NoErr(err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx(t), `LISTEN turnstile`)
	is.NoErr(err)
	// room reports whether a room notification for q came within quiet.
	room := func() bool {
		wait, cancel := context.WithTimeout(ctx(t), quiet)
		defer cancel()
		for {
			n, err := conn.WaitForNotification(wait)
			if err != nil {
				return false
			}
			if n.Payload == "r:"+q.Name() {
				return true
			}
		}
	}
	is.NoErr(q.PutWait(ctx(t), 1))
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	is.True(!room()) // nobody waited: no notification
	is.NoErr(q.PutBatch(ctx(t), []int{2, 3}))
	waiter := q.Put(ctx(t), 4)
	unanswered(t, waiter, "Put on a full queue")
	it, err = q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	is.True(room()) // a putter waited
	is.NoErr(answer(t, waiter, "the waiting Put"))
}

// roomLocks counts the room locks of queue held (granted) and wanted.
func roomLocks(t *testing.T, pool *pgxpool.Pool, queue string) (held, wanted int) {
	t.Helper()
	if err := pool.QueryRow(ctx(t), `SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted)
		FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = hashtext($2)::oid
			AND objsubid = 2 AND mode = 'ExclusiveLock'`,
		int64(0x726f6f6d), queue).Scan(&held, &wanted); err != nil {
		t.Fatal(err)
	}
	return held, wanted
}

// TestBoundKilledWaiter: a process whose putter waits, and so holds the
// queue's room lock, is killed with SIGKILL while this process's watcher
// waits for the lock behind it. The lock passes to this process, whose
// putter is then woken by a Done of a third, with no safety poll to help;
// the killed process's item never appears.
func TestBoundKilledWaiter(t *testing.T) {
	is := is.New(t)
	c := hourPollClient(t)
	q := newQueue(t, c, pg.MaxSize(1))
	other, pool := newClient(t)
	oq, err := pg.NewQueue(ctx(t), other, q.Name(), pg.JSON[int]())
	is.NoErr(err)
	defer oq.Close()
	is.NoErr(q.PutWait(ctx(t), 0))

	p := startWorker(t, "putwait", q.Name(), envMax+"=1")
	is.Equal(p.line(t), "putting")
	eventuallyLocks := func(what string, ok func(held, wanted int) bool) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			held, wanted := roomLocks(t, pool, q.Name())
			if ok(held, wanted) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: room locks held %d, wanted %d", what, held, wanted)
			}
			time.Sleep(time.Millisecond)
		}
	}
	eventuallyLocks("the worker holds the room lock", func(h, w int) bool { return h == 1 })
	put := q.Put(ctx(t), 1)
	eventuallyLocks("this process waits for the room lock", func(h, w int) bool { return h == 1 && w == 1 })
	p.kill(t)
	eventuallyLocks("the room lock passed to this process", func(h, w int) bool { return h == 1 && w == 0 })
	unanswered(t, put, "Put on a full queue")
	it, err := oq.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 0)
	is.NoErr(it.Done(ctx(t)))
	is.NoErr(within(t, put, "the putter after the Done"))
	is.Equal(values(t, pool, q.Name()), []int{1}) // nothing of the killed worker's put
}
