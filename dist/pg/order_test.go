package pg_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/pg"
)

// Items come out by priority, lower first, and in put order within one.
func TestPriorityOrder(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	for i, p := range []int{3, 1, 2, 1, 3, 2, 1} {
		is.NoErr(<-q.PutWith(ctx(t), 10*p+i, pg.Priority(p)))
	}
	var got []int
	for range 7 {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		got = append(got, it.Value())
		is.NoErr(it.Done(ctx(t)))
	}
	is.Equal(got, []int{11, 13, 16, 22, 25, 30, 34})
}

// A delayed item is not handed out before its time, and is once it comes,
// without a new put to wake the getter.
func TestRunAt(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.PutWith(ctx(t), 1, pg.After(time.Hour)))
	is.NoErr(<-q.PutWith(ctx(t), 2, pg.RunAt(time.Now().Add(150*time.Millisecond))))
	_, err := q.TryGet(ctx(t))
	is.True(errors.Is(err, dist.ErrEmpty)) // neither is due
	it, err := q.GetWait(ctx(t))           // woken by the due time, not a poll
	is.NoErr(err)
	is.Equal(it.Value(), 2)
	is.NoErr(it.Done(ctx(t)))
	n, err := q.Len(ctx(t))
	is.NoErr(err)
	is.Equal(n, 1) // the hour-delayed item is still there
	is.NoErr(q.Shutdown(ctx(t), true))
}

// An item failed MaxAttempts times goes to turnstile_dead with its error,
// and leaves Join's count.
func TestDeadLetter(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	q, err := pg.NewQueue(ctx(t), c, queueName(t), pg.JSON[int](), pg.MaxAttempts(2))
	is.NoErr(err)
	defer q.Close()
	is.NoErr(<-q.Put(ctx(t), 5))
	for attempt := 1; attempt <= 2; attempt++ {
		it, err := q.GetWait(ctx(t))
		is.NoErr(err)
		is.Equal(it.Attempt(), attempt)
		is.NoErr(it.Fail(ctx(t), errors.New("no luck")))
	}
	_, err = q.TryGet(ctx(t))
	is.True(errors.Is(err, dist.ErrEmpty))
	closedWithin(t, "Join once the item is dead", q.Join())
	var attempts int
	var why string
	is.NoErr(pool.QueryRow(ctx(t), `SELECT attempts, last_error FROM turnstile_dead WHERE queue = $1`,
		q.Name()).Scan(&attempts, &why))
	is.Equal(attempts, 2)
	is.Equal(why, "no luck")
}

// A payload the codec cannot decode is set aside, not handed out.
func TestPoison(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	name := queueName(t)
	raw, err := pg.NewQueue(ctx(t), c, name, pg.Bytes())
	is.NoErr(err)
	defer raw.Close()
	is.NoErr(<-raw.Put(ctx(t), []byte("not json")))
	is.NoErr(<-raw.Put(ctx(t), []byte("7")))
	raw.Close()
	q, err := pg.NewQueue(ctx(t), c, name, pg.JSON[int]())
	is.NoErr(err)
	defer q.Close()
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.Equal(it.Value(), 7)
	is.NoErr(it.Done(ctx(t)))
	var why string
	is.NoErr(pool.QueryRow(ctx(t), `SELECT last_error FROM turnstile_dead WHERE queue = $1`, name).Scan(&why))
	is.True(strings.HasPrefix(why, "pg: decode: "))
}

// Settling an item twice is misuse and panics with a pg: message; a Done of
// an item whose claim is gone says ErrNotHeld.
func TestSettleTwice(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 1))
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	is.NoErr(it.Done(ctx(t)))
	defer func() {
		p := recover()
		is.True(p != nil)
		is.True(strings.HasPrefix(p.(string), "pg: "))
	}()
	it.Fail(ctx(t), errors.New("late"))
}

// DoneTx commits the item's removal with the caller's work, or not at all.
func TestDoneTx(t *testing.T) {
	is := is.New(t)
	c, pool := newClient(t)
	createDoneLog(t, pool)
	q := newQueue(t, c)
	is.NoErr(<-q.Put(ctx(t), 1))
	it, err := q.GetWait(ctx(t))
	is.NoErr(err)
	tx, err := pool.Begin(ctx(t))
	is.NoErr(err)
	is.NoErr(it.DoneTx(ctx(t), tx))
	is.NoErr(tx.Rollback(ctx(t))) // the work failed: the item is still ours
	is.NoErr(doItem(ctx(t), pool, q, it, nil))
	ledger(t, pool, q.Name(), []int{1}, nil)
	is.True(errors.Is(it.Done(ctx(t)), dist.ErrNotHeld))
}

// Many getters of one process are served in the order of their calls.
func TestGettersFIFO(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	const n = 8
	chs := make([]<-chan *pg.Item[int], n)
	for i := range chs {
		chs[i] = q.Get(ctx(t))
	}
	for i := range n {
		is.NoErr(<-q.Put(ctx(t), i))
	}
	for i, ch := range chs {
		it := <-ch
		is.Equal(it.Value(), i)
		is.NoErr(it.Done(ctx(t)))
	}
}

// TestVolume: 100,000 items (10,000 with -short) through 8 workers, each
// done exactly once.
func TestVolume(t *testing.T) {
	is := is.New(t)
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	c, _ := newClient(t)
	q := newQueue(t, c)
	putRange(t, q, 0, n)
	seen := make([]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	wctx, stop := context.WithTimeout(context.Background(), 5*time.Minute)
	defer stop()
	count := 0
	for range 8 {
		wg.Go(func() {
			for {
				it, err := q.GetWait(wctx)
				if err != nil {
					return
				}
				mu.Lock()
				if seen[it.Value()] {
					t.Errorf("item %d handed out twice", it.Value())
				}
				seen[it.Value()] = true
				count++
				all := count == n
				mu.Unlock()
				if err := it.Done(wctx); err != nil {
					t.Error(err)
				}
				if all {
					stop()
				}
			}
		})
	}
	wg.Wait()
	is.Equal(count, n)
	closedWithin(t, "Join after the volume", q.Join())
}

// All ranges over the items until the queue is shut down and drained.
func TestAll(t *testing.T) {
	is := is.New(t)
	c, _ := newClient(t)
	q := newQueue(t, c)
	is.NoErr(q.PutBatch(ctx(t), []int{1, 2, 3}))
	is.NoErr(q.Shutdown(ctx(t), false))
	var got []int
	for it := range q.All(ctx(t)) {
		got = append(got, it.Value())
		is.NoErr(it.Done(ctx(t)))
	}
	is.Equal(got, []int{1, 2, 3})
}
