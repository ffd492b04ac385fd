package pg

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/turnstile-go/turnstile/dist"
)

// The putters of a bounded queue. A put first tries at once, in its own
// goroutine, if no putter of this process waits; when the queue is full it
// joins q.putters, in the order of the calls, and the queue's admitter (one
// goroutine per bounded queue and process) puts the waiting ones, oldest
// first, up to maxAdmit per statement, whenever room may have appeared: a
// notification r (a Done or a move to turnstile_dead, in any process), s (a
// Shutdown: they fail), a reconnection, or the safety poll. Nothing polls
// the server otherwise.
//
// The statements that free a slot notify only if a putter may wait: while
// putters of this process wait, the queue's watcher holds the room lock
// (see roomLockClass) on a connection of the pool, and has the admitter look
// again once it has it.
//
// A putter's ctx decides while no statement carries its item: if it ends,
// the putter leaves the line at once with ctx.Err(). Once a statement that
// can put the item is sent, the answer decides (see Queue.Put).

// A putReq is one put of a bounded queue, waiting for room or being put.
type putReq struct {
	seq      uint64 // the order of the calls
	ctx      context.Context
	payloads [][]byte
	o        putOpts
	ch       chan error // buffer of one: the answer, sent once
	state    putState
	stop     func() bool
}

type putState uint8

const (
	waiting  putState = iota // in q.putters, no statement carries it
	sending                  // in q.putters, the admitter's statement carries it
	answered                 // out of q.putters, its answer sent
)

// putResult is what putOneRoomSQL and putManyRoomSQL report.
type putResult struct {
	open    bool
	n       int // items put: all of the putter's, or none
	picked  int // free slots the statement locked
	visible int // free slots it saw, locked by others or not
}

// contended reports whether another put held slots that the statement saw
// free: it may give them back without a notification (its batch did not
// fit, or it failed), so a putter that did not get in looks again soon.
func (r putResult) contended() bool { return r.visible > r.picked }

// contendedRetry is how soon a putter looks again when others held the
// room it saw: about the time their statements take.
const contendedRetry = 5 * time.Millisecond

func (q *Queue[T]) errFull() error {
	return fmt.Errorf("pg: put on %q: %w", q.name, dist.ErrFull)
}

// putRoom puts payloads in the bounded queue q, all or none, waiting for
// room unless try.
func (q *Queue[T]) putRoom(ctx context.Context, payloads [][]byte, o putOpts, try bool, seq uint64) error {
	if len(payloads) > q.max {
		return fmt.Errorf("pg: put of %d items on %q, bounded at %d: %w", len(payloads), q.name, q.max, dist.ErrAboveLimit)
	}
	r := &putReq{seq: seq, ctx: ctx, payloads: payloads, o: o, ch: make(chan error, 1)}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if len(q.putters) > 0 {
		// Never pass a putter that waits: queue behind it, or be full.
		if try {
			q.mu.Unlock()
			return q.errFull()
		}
		q.queuePutter(r)
		q.mu.Unlock()
		return <-r.ch
	}
	gen := q.roomGen.Load()
	q.mu.Unlock()

	// The fast path: nobody of this process waits, so try at once, as
	// many puts of this process may at the same time.
	res, err := q.putStmt(ctx, r)
	switch {
	case err != nil:
		return err
	case !res.open:
		return q.errShutdown()
	case res.n == len(payloads):
		return nil
	case try:
		return q.errFull()
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return err // it ended while the statement was on its way: not put
	}
	q.queuePutter(r)
	// Room made after the statement's snapshot was announced to the
	// admitter, which may have found nobody waiting then: have it look.
	if res.contended() || q.roomGen.Load() != gen {
		q.pokeRoom()
	}
	q.mu.Unlock()
	return <-r.ch
}

// queuePutter puts r in line by the order of the calls (a put that had
// tried at once may come back after a later call queued) and watches its
// ctx. Called with q.mu held.
func (q *Queue[T]) queuePutter(r *putReq) {
	i, _ := slices.BinarySearchFunc(q.putters, r, func(a, b *putReq) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	q.putters = slices.Insert(q.putters, i, r)
	q.pokeWatch()
	// If ctx has ended already, the func runs at once in its own goroutine
	// and finds r waiting once q.mu is unlocked.
	r.stop = context.AfterFunc(r.ctx, func() { q.abandonPut(r) })
}

// abandonPut is run when the ctx of a waiting putter ends: it leaves the
// line, not put. One in the admitter's statement is answered by the
// admitter, with the statement's outcome.
func (q *Queue[T]) abandonPut(r *putReq) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.state != waiting {
		return
	}
	head := q.putters[0] == r
	q.answerPut(r, r.ctx.Err())
	// A batch at the head may have needed more room than the next putter
	// does.
	if head && len(r.payloads) > 1 && len(q.putters) > 0 {
		q.pokeRoom()
	}
}

// answerPut takes r out of the line and answers it. Called with q.mu held.
func (q *Queue[T]) answerPut(r *putReq, err error) {
	q.putters = slices.DeleteFunc(q.putters, func(x *putReq) bool { return x == r })
	r.state = answered
	r.stop()
	r.ch <- err
	if len(q.putters) == 0 {
		q.pokeWatch()
	}
}

// refusePutters answers every waiting putter with err; those in the
// admitter's statement get its outcome. Called with q.mu held.
func (q *Queue[T]) refusePutters(err error) {
	for _, r := range slices.Clone(q.putters) {
		if r.state == waiting {
			q.answerPut(r, err)
		}
	}
}

// pokeRoom tells the admitter that room may have appeared.
func (q *Queue[T]) pokeRoom() {
	q.roomGen.Add(1)
	select {
	case q.room <- struct{}{}:
	default:
	}
}

// pokeWatch tells the watcher that the line of putters changed.
func (q *Queue[T]) pokeWatch() {
	select {
	case q.watchWake <- struct{}{}:
	default:
	}
}

// waiting reports whether putters of this process wait.
func (q *Queue[T]) waiting() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.putters) > 0
}

// watcher is a bounded queue's goroutine that holds the room lock while
// putters of this process wait.
func (q *Queue[T]) watcher() {
	defer q.c.wg.Done()
	defer close(q.watched)
	for {
		for !q.waiting() {
			select {
			case <-q.watchWake:
			case <-q.ctx.Done():
				return
			}
		}
		if !q.watch() {
			// The lock could not be taken, or its connection was lost
			// (the server may be restarting): try again soon. Meanwhile
			// the putters have the safety poll.
			select {
			case <-time.After(50 * time.Millisecond):
			case <-q.ctx.Done():
				return
			}
		}
	}
}

// watch takes the room lock, waiting for it (behind the statements that
// hold it in shared mode, and a watcher of another process), then has the
// admitter look again, and holds the lock until no putter of this process
// has waited for a poll interval, or the queue is closed. It checks the
// lock's connection every poll interval, since a lost connection lost the
// lock with it. It reports false if it could not take or keep the lock.
func (q *Queue[T]) watch() bool {
	conn, err := q.c.pool.Acquire(q.ctx)
	if err != nil {
		return false
	}
	// Ends when the line has been empty for a poll interval: a wait for
	// the lock is given up, a lock held is given back.
	ctx, cancel := context.WithCancel(q.ctx)
	idle := make(chan struct{})
	go func() {
		defer close(idle)
		q.untilIdle(ctx, cancel)
	}()
	drop := func() {
		cancel()
		<-idle
		// A wait for the lock cancelled by ctx has closed the connection
		// already; either way, a session lock must not go back to the pool.
		conn.Conn().Close(context.Background())
		conn.Release()
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, int32(roomLockClass), q.name); err != nil {
		ended := ctx.Err() != nil
		drop()
		return ended
	}
	q.pokeRoom()
	t := time.NewTicker(q.c.poll)
	defer t.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			pctx, pcancel := q.c.stmtCtx()
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				drop()
				return false
			}
		}
	}
	<-idle
	uctx, ucancel := q.c.stmtCtx()
	var unlocked bool
	err = conn.QueryRow(uctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, int32(roomLockClass), q.name).Scan(&unlocked)
	ucancel()
	if err != nil || !unlocked {
		conn.Conn().Close(context.Background())
	}
	conn.Release()
	return true
}

// untilIdle calls cancel once no putter of this process has waited for a
// poll interval, or returns when ctx ends.
func (q *Queue[T]) untilIdle(ctx context.Context, cancel func()) {
	t := time.NewTimer(q.c.poll)
	defer t.Stop()
	for {
		if q.waiting() {
			t.Stop()
		} else {
			t.Reset(q.c.poll)
		}
		select {
		case <-q.watchWake:
		case <-t.C:
			if !q.waiting() {
				cancel()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// admitter is a bounded queue's goroutine for its waiting putters. It
// sleeps until a poke or the safety poll, which keeps its own rhythm as the
// fetcher's does.
func (q *Queue[T]) admitter() {
	defer q.c.wg.Done()
	defer close(q.admitted)
	defer func() {
		q.mu.Lock()
		q.closed = true
		q.refusePutters(ErrClosed)
		q.mu.Unlock()
	}()
	t := time.NewTimer(q.c.poll)
	defer t.Stop()
	for q.ctx.Err() == nil {
		again, wait := q.admitPass()
		if again {
			continue
		}
		t.Reset(wait)
		select {
		case <-q.room:
		case <-t.C:
		case <-q.ctx.Done():
		}
	}
}

// admitPass puts the oldest waiting putters there is room for: up to
// maxAdmit of those with one item each, in one statement, or one with a
// batch. It reports whether to go again at once (all it sent got in and more
// wait), or else how long to sleep at most.
func (q *Queue[T]) admitPass() (again bool, wait time.Duration) {
	q.mu.Lock()
	var batch []*putReq
	for _, r := range q.putters {
		if len(batch) == maxAdmit || len(batch) > 0 && (len(r.payloads) > 1 || len(batch[0].payloads) > 1) {
			break
		}
		r.state = sending
		batch = append(batch, r)
	}
	q.mu.Unlock()
	if len(batch) == 0 {
		return false, q.c.poll
	}
	var res putResult
	var err error
	if len(batch[0].payloads) > 1 {
		res, err = q.putStmt(q.ctx, batch[0])
		if err == nil && res.n > 0 {
			res.n = 1 // one putter in
		}
	} else {
		res, err = q.putSingles(batch)
	}

	q.mu.Lock()
	defer q.mu.Unlock()
	if err != nil && q.ctx.Err() != nil && errors.Is(err, context.Canceled) {
		err = ErrClosed // closed before the statement was sent
	}
	left := false // a putter left the line without getting in
	for i, r := range batch {
		switch {
		case err != nil:
			q.answerPut(r, err)
		case !res.open:
			q.answerPut(r, q.errShutdown())
		case i < res.n:
			q.answerPut(r, nil)
		case r.ctx.Err() != nil:
			q.answerPut(r, r.ctx.Err()) // it ended while the statement was on its way: not put
			left = true
		case q.closed:
			q.answerPut(r, ErrClosed)
		default:
			r.state = waiting
		}
	}
	switch {
	case err != nil:
		return false, 50 * time.Millisecond // the next try soon: the server may be restarting
	case !res.open:
		q.state = max(q.state, 1)
		q.refusePutters(q.errShutdown())
		return false, q.c.poll
	case len(q.putters) == 0:
		return false, q.c.poll
	case res.n == len(batch):
		return true, 0
	case left && len(batch[0].payloads) > 1:
		return true, 0 // a batch that left may have needed more room than the next putter
	case res.contended():
		return false, contendedRetry
	}
	return false, q.c.poll
}

// putStmt runs the statement that puts r's items if there is room.
func (q *Queue[T]) putStmt(ctx context.Context, r *putReq) (putResult, error) {
	var at any
	if !r.o.at.IsZero() {
		at = r.o.at
	}
	var res putResult
	var notified int
	err := q.c.run(ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		if len(r.payloads) == 1 {
			return conn.QueryRow(ctx, putOneRoomSQL, q.name, r.o.priority, at, r.o.delay.Microseconds(), r.payloads[0]).
				Scan(&res.open, &res.n, &res.picked, &res.visible, &notified)
		}
		return conn.QueryRow(ctx, putManyRoomSQL, q.name, r.o.priority, at, r.o.delay.Microseconds(), r.payloads, len(r.payloads)).
			Scan(&res.open, &res.n, &res.picked, &res.visible, &notified)
	}, nil)
	return res, err
}

// putSingles runs the statement that puts the items of the first putters of
// batch, each of one item, that there is room for: res.n of them.
func (q *Queue[T]) putSingles(batch []*putReq) (putResult, error) {
	if len(batch) == 1 {
		return q.putStmt(q.ctx, batch[0])
	}
	payloads := make([][]byte, len(batch))
	prios := make([]int, len(batch))
	ats := make([]*time.Time, len(batch))
	delays := make([]int64, len(batch))
	for i, r := range batch {
		payloads[i], prios[i], delays[i] = r.payloads[0], r.o.priority, r.o.delay.Microseconds()
		if !r.o.at.IsZero() {
			ats[i] = &r.o.at
		}
	}
	var res putResult
	var notified int
	err := q.c.run(q.ctx, func(ctx context.Context, conn *pgxpool.Conn) error {
		return conn.QueryRow(ctx, putSinglesRoomSQL[len(batch)], q.name, payloads, prios, ats, delays).
			Scan(&res.open, &res.n, &res.picked, &res.visible, &notified)
	}, nil)
	return res, err
}

// doneStmt and deadStmt are the statements that take an item out of this
// queue: in a bounded queue they give its slot back and tell the putters.
func (q *Queue[T]) doneStmt() string {
	if q.max > 0 {
		return doneRoomSQL
	}
	return doneSQL
}

func (q *Queue[T]) deadStmt() string {
	if q.max > 0 {
		return deadRoomSQL
	}
	return deadSQL
}
