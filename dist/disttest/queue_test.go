package disttest_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/disttest"
)

// TestQueue runs the queue suite, bounded cases included, against memQueue.
func TestQueue(t *testing.T) {
	disttest.RunQueue(t, disttest.QueueFactory[*memItem]{
		Fresh: func(t *testing.T) disttest.Queue[*memItem] { return newMemQueue(0) },
		Bounded: func(t *testing.T, max int) disttest.BoundedQueue[*memItem] {
			return newMemQueue(max)
		},
	})
}

// A memQueue is the queue contract kept in memory, the way a network engine
// keeps it: items claimed until settled, a claim sent to a getter's buffer
// taken back if its ctx ends first, putters of a bounded queue waiting in
// line, the bound counting claimed items. Bugs: claimfrees (a claim frees
// its room), putleak (a putter whose ctx ends while it waits is answered
// ctx.Err() but its item goes in), putlifo (waiting putters are let in
// newest first). It lets a waiting putter in as soon as there is room, under
// the same lock, so a TryPut that passes waiting putters is not a bug it can
// show: room and a waiting putter never meet.
type memQueue struct {
	mu      sync.Mutex
	max     int
	id      int64
	ready   []*memEntry // by id
	claimed map[*memEntry]bool
	getters []*memGetter
	putters []*memPutter
	state   int // 0 open, 1 shut down, 2 immediately
	joins   []chan struct{}
}

type memEntry struct {
	id       int64
	v        int
	attempts int
}

type memGetter struct {
	ch      chan *memItem
	granted bool
}

type memPutter struct {
	ctx context.Context
	v   int
	ch  chan error
}

type memItem struct {
	q       *memQueue
	e       *memEntry
	attempt int
	settled bool
}

func newMemQueue(max int) *memQueue {
	return &memQueue{max: max, claimed: make(map[*memEntry]bool)}
}

func (q *memQueue) unfinished() int { return len(q.ready) + len(q.claimed) }

func (q *memQueue) full() bool {
	n := q.unfinished()
	if bug == "claimfrees" {
		n = len(q.ready)
	}
	return q.max > 0 && n >= q.max
}

func (q *memQueue) add(v int) {
	q.id++
	q.ready = append(q.ready, &memEntry{id: q.id, v: v})
}

// putBack keeps e ready, in id order.
func (q *memQueue) putBack(e *memEntry) {
	i, _ := slices.BinarySearchFunc(q.ready, e, func(a, b *memEntry) int { return int(a.id - b.id) })
	q.ready = slices.Insert(q.ready, i, e)
}

func (q *memQueue) Put(ctx context.Context, v int) <-chan error {
	ch := make(chan error, 1)
	if err := ctx.Err(); err != nil {
		ch <- err
		return ch
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.state > 0:
		ch <- dist.ErrShutdown
	case len(q.putters) == 0 && !q.full():
		q.add(v)
		q.dispatch()
		ch <- nil
	default:
		p := &memPutter{ctx: ctx, v: v, ch: ch}
		q.putters = append(q.putters, p)
		context.AfterFunc(ctx, func() { q.abandonPut(p) })
	}
	return ch
}

func (q *memQueue) TryPut(ctx context.Context, v int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.state > 0:
		return dist.ErrShutdown
	case q.full(), len(q.putters) > 0:
		return dist.ErrFull
	}
	q.add(v)
	q.dispatch()
	return nil
}

func (q *memQueue) abandonPut(p *memPutter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.putters, p); i >= 0 {
		q.putters = slices.Delete(q.putters, i, i+1)
		if bug == "putleak" {
			q.add(p.v) // the tempting wrong version: it was nearly in
		}
		p.ch <- p.ctx.Err()
		q.dispatch()
	}
}

func (q *memQueue) Get(ctx context.Context) <-chan *memItem {
	g := &memGetter{ch: make(chan *memItem, 1)}
	if ctx.Err() != nil {
		close(g.ch)
		return g.ch
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.getters = append(q.getters, g)
	q.dispatch()
	context.AfterFunc(ctx, func() { q.abandon(g) })
	return g.ch
}

func (q *memQueue) abandon(g *memGetter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.getters, g); i >= 0 {
		q.getters = slices.Delete(q.getters, i, i+1)
		close(g.ch)
		return
	}
	if it, ok := <-g.ch; ok && g.granted {
		delete(q.claimed, it.e)
		it.e.attempts--
		q.putBack(it.e)
		q.dispatch()
	}
}

// dispatch hands ready items to getters and lets putters in while there is
// room, then closes the getters of a shut down, drained queue.
func (q *memQueue) dispatch() {
	for {
		if len(q.ready) > 0 && len(q.getters) > 0 {
			g, e := q.getters[0], q.ready[0]
			q.getters, q.ready = q.getters[1:], q.ready[1:]
			e.attempts++
			q.claimed[e] = true
			g.granted = true
			g.ch <- &memItem{q: q, e: e, attempt: e.attempts}
			close(g.ch)
			continue
		}
		if len(q.putters) > 0 && !q.full() && q.state == 0 {
			i := 0
			if bug == "putlifo" {
				i = len(q.putters) - 1
			}
			p := q.putters[i]
			q.putters = slices.Delete(q.putters, i, i+1)
			q.add(p.v)
			p.ch <- nil
			continue
		}
		break
	}
	if q.state > 0 && len(q.ready) == 0 {
		for _, g := range q.getters {
			close(g.ch)
		}
		q.getters = nil
	}
	if q.unfinished() == 0 {
		for _, j := range q.joins {
			close(j)
		}
		q.joins = nil
	}
}

func (q *memQueue) TryGet(ctx context.Context) (*memItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case len(q.getters) == 0 && len(q.ready) > 0:
		e := q.ready[0]
		q.ready = q.ready[1:]
		e.attempts++
		q.claimed[e] = true
		q.dispatch() // with claimfrees, the claim lets a putter in
		return &memItem{q: q, e: e, attempt: e.attempts}, nil
	case q.state > 0 && len(q.ready) == 0:
		return nil, dist.ErrShutdown
	}
	return nil, dist.ErrEmpty
}

func (q *memQueue) Len(context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.ready), nil
}

func (q *memQueue) Join() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := make(chan struct{})
	if q.unfinished() == 0 {
		close(j)
	} else {
		q.joins = append(q.joins, j)
	}
	return j
}

func (q *memQueue) Shutdown(ctx context.Context, immediate bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.state = max(q.state, 1)
	for _, p := range q.putters {
		p.ch <- dist.ErrShutdown
	}
	q.putters = nil
	if immediate {
		q.state = 2
		q.ready = nil
	}
	q.dispatch()
	return nil
}

func (it *memItem) Value() int                 { return it.e.v }
func (it *memItem) Attempt() int               { return it.attempt }
func (it *memItem) Lost() <-chan struct{}      { return nil }
func (it *memItem) Done(context.Context) error { return it.settle(false) }

func (it *memItem) Fail(context.Context, error) error { return it.settle(true) }

func (it *memItem) settle(again bool) error {
	q := it.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if it.settled || !q.claimed[it.e] {
		return dist.ErrNotHeld
	}
	it.settled = true
	delete(q.claimed, it.e)
	if again {
		q.putBack(it.e)
	}
	q.dispatch()
	return nil
}
