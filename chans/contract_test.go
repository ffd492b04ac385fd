package chans

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// The waiting contract (SPEC §1: W2, W3, W4, W5, W7), written once for
// every primitive that waits, as a table: contractCases has one row per
// waiting method, each an adapter (contractPrim) that says how to make the
// method's caller queue (occupy), how to make one more grant (free), what
// a caller does with a grant it received (use), and how to look (state,
// observe). Each TestContract* test is one clause, and ranges over the rows
// it applies to:
//
//   - final rows (Queue.Put's answer, Signal.Next's and Result.Get's values)
//     hand out grants that are never taken back, so the take-back clauses
//     skip them and TestContractW2FinalGrantKept holds them to that;
//   - broadcast rows (Signal.Next, Result.Get) have no order to keep (W5);
//   - rows with offer can grant at the call (the fast path); the others
//     always queue (Condition.Wait, Signal.Next).
//
// interleave_test.go ranges over the same rows for its forced orders.
//
// To add a primitive, add a row. Rows whose method has a blocking twin
// (SPEC §4: Lock.AcquireWait and the others) set wait: the
// TestContractTwin* clauses range over the rows that have it.
var contractCases = []struct {
	name string
	new  func() *contractPrim
}{
	{"Lock", func() *contractPrim {
		l := new(Lock)
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{l.Acquire(ctx)} },
			wait:    func(ctx context.Context) (any, error) { return l.AcquireWait(ctx) },
			offer:   func() {},
			occupy:  func() { r, _ = l.TryAcquire() },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(l.TryAcquire),
			state:   l.String,
			observe: func() int { return b2i(l.Locked()) },
			outstanding: func() int {
				return lockInside(l, false, nil).outstanding
			},
		}
	}},
	{"Lock.AcquireGuard", func() *contractPrim {
		l := new(Lock)
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{l.Acquire(ctx)} },
			wait:    func(ctx context.Context) (any, error) { return l.AcquireGuard(ctx) },
			offer:   func() {},
			occupy:  func() { r, _ = l.TryAcquire() },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(l.TryAcquire),
			state:   l.String,
			observe: func() int { return b2i(l.Locked()) },
		}
	}},
	{"RWLock.AcquireRead", func() *contractPrim {
		l := NewRWLock(1) // one reader at a time, so a second must wait for the first's slot
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{l.AcquireRead(ctx)} },
			wait:    func(ctx context.Context) (any, error) { return l.AcquireReadWait(ctx) },
			offer:   func() {},
			occupy:  func() { r, _ = l.TryAcquireWrite() },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(l.TryAcquireRead),
			state:   l.String,
			observe: l.Readers,
		}
	}},
	{"RWLock.AcquireWrite", func() *contractPrim {
		l := NewRWLock(0)
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{l.AcquireWrite(ctx)} },
			wait:    func(ctx context.Context) (any, error) { return l.AcquireWriteWait(ctx) },
			offer:   func() {},
			occupy:  func() { r, _ = l.TryAcquireRead() },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(l.TryAcquireWrite),
			state:   l.String,
			observe: func() int { return b2i(l.Locked()) },
		}
	}},
	{"Semaphore.Acquire", func() *contractPrim {
		s := NewSemaphore(1)
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{s.Acquire(ctx)} },
			wait:    func(ctx context.Context) (any, error) { return s.AcquireWait(ctx) },
			offer:   func() {},
			occupy:  func() { r, _ = s.TryAcquire() },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(s.TryAcquire),
			state:   s.String,
			observe: s.Value,
		}
	}},
	{"Semaphore.AcquireN", func() *contractPrim {
		s := NewBoundedSemaphore(2)
		var r Release
		return &contractPrim{
			acquire: func(ctx context.Context) pending { return pend[Release]{s.AcquireN(ctx, 2)} },
			wait:    func(ctx context.Context) (any, error) { return s.AcquireNWait(ctx, 2) },
			offer:   func() {},
			occupy:  func() { r, _ = s.TryAcquireN(2) },
			free:    func() { r() },
			use:     release,
			try:     tryRelease(func() (Release, bool) { return s.TryAcquireN(2) }),
			state:   s.String,
			observe: s.Value,
		}
	}},
	{"Queue.Get", func() *contractPrim {
		q := NewQueue[int](1)
		return &contractPrim{
			acquire:  func(ctx context.Context) pending { return pend[int]{q.Get(ctx)} },
			wait:     func(ctx context.Context) (any, error) { return q.GetWait(ctx) },
			offer:    func() { _ = q.TryPut(7) },
			occupy:   func() {},
			free:     func() { _ = q.TryPut(7) },
			use:      func(any) { q.TaskDone() },
			try:      func() bool { _, err := q.TryGet(); return err == nil },
			state:    q.String,
			observe:  q.Len,
			consumes: true,
		}
	}},
	{"Queue.Put", func() *contractPrim {
		// W2 for a Put is "not accepted": the answer is ctx.Err() and the
		// item is never seen; an acceptance is final.
		q := NewQueue[int](1)
		room := func() { // take one item out, if there is one
			if _, err := q.TryGet(); err == nil {
				q.TaskDone()
			}
		}
		return &contractPrim{
			acquire:  func(ctx context.Context) pending { return putPend{q.Put(ctx, 1)} },
			wait:     func(ctx context.Context) (any, error) { return nil, q.PutWait(ctx, 1) },
			offer:    room,
			occupy:   func() { _ = q.TryPut(0) },
			free:     room,
			use:      func(any) {},
			try:      func() bool { return q.TryPut(9) == nil },
			state:    q.String,
			observe:  q.Len,
			consumes: true,
			final:    true,
		}
	}},
	{"Mailbox.Receive", func() *contractPrim {
		b := new(Mailbox[int])
		return &contractPrim{
			acquire:  func(ctx context.Context) pending { return pend[int]{b.Receive(ctx, nil)} },
			wait:     func(ctx context.Context) (any, error) { return b.ReceiveWait(ctx, nil) },
			offer:    func() { b.Send(7) },
			occupy:   func() {},
			free:     func() { b.Send(7) },
			use:      func(any) {},
			try:      func() bool { _, ok := b.TryReceive(nil); return ok },
			state:    b.String,
			observe:  b.Len,
			consumes: true,
		}
	}},
	{"Condition.Wait", func() *contractPrim {
		c := new(Condition)
		return &contractPrim{
			acquire:  func(ctx context.Context) pending { return pend[struct{}]{c.Wait(ctx)} },
			occupy:   func() {},
			free:     func() { c.Notify(1) },
			use:      func(any) {},
			state:    c.String,
			consumes: true,
		}
	}},
	{"Signal.Next", func() *contractPrim {
		s := new(Signal[int])
		return &contractPrim{
			acquire:   func(ctx context.Context) pending { return pend[int]{s.Next(ctx)} },
			occupy:    func() {},
			free:      func() { s.Emit(7) },
			use:       func(any) {},
			state:     s.String,
			consumes:  true,
			final:     true,
			broadcast: true,
		}
	}},
	{"Result.Get", func() *contractPrim {
		r := new(Result[int])
		return &contractPrim{
			acquire:   func(ctx context.Context) pending { return pend[int]{r.Get(ctx)} },
			wait:      func(ctx context.Context) (any, error) { return r.Wait(ctx) },
			offer:     func() { _ = r.Set(7) },
			occupy:    func() {},
			free:      func() { _ = r.Set(7) },
			use:       func(any) {},
			state:     func() string { v, err := r.TryGet(); return fmt.Sprint(v, err, resultWaits(r).live) },
			consumes:  true,
			final:     true,
			broadcast: true,
			oneShot:   true,
		}
	}},
}

// contractPrim is one waiting method of a fresh primitive, as the clauses
// drive it.
type contractPrim struct {
	acquire func(ctx context.Context) pending // the wait
	// offer makes a grant available to the next caller at its call (the
	// fast path); nil if the method always queues.
	offer   func()
	occupy  func()        // make the next acquire queue
	free    func()        // undo occupy, or make one more grant: it goes to the oldest waiter
	use     func(v any)   // what a caller does with a grant it received (Release it, TaskDone)
	try     func() bool   // the Try form, reporting whether it took effect; nil if none
	state   func() string // a public call (String): brings the state up to date with ended contexts
	observe func() int    // Locked, Value, Readers or Len as a number; nil if nothing to count
	// outstanding reads the grants not yet known to be received
	// (internals_test.go); nil if the row does not say.
	outstanding func() int
	consumes    bool // use gives nothing back: free makes the next grant
	final       bool // grants are never taken back
	broadcast   bool // one grant serves every waiter: no order (W5)
	oneShot     bool // free works once (Result.Set)
	// wait is the blocking twin (SPEC §4), returning the grant or why it
	// failed; nil until the primitive has one.
	wait func(ctx context.Context) (any, error)
}

// release gives back a grant of a lock or a semaphore: a Release, or the
// Guard of Lock.AcquireGuard.
func release(v any) {
	if g, ok := v.(Guard); ok {
		g.Release()
		return
	}
	v.(Release)()
}

// tryRelease adapts a TryAcquire: it reports whether it took effect and
// gives back what it took.
func tryRelease(try func() (Release, bool)) func() bool {
	return func() bool {
		r, ok := try()
		if ok {
			r()
		}
		return ok
	}
}

// putPend is a pending Put: its answer is nil once the item is accepted.
// It reads as a pending wait whose grant is the acceptance: closedEmpty is
// "answered, not accepted".
type putPend struct{ ch <-chan error }

func (p putPend) buffered() bool { return len(p.ch) == 1 }

func (p putPend) recv() (any, bool) {
	err := <-p.ch
	return err, err == nil
}

func (p putPend) poll() (any, bool, bool) {
	err, ok, ready := recvNow(p.ch)
	return err, ok && err == nil, ready
}

func (p putPend) closedEmpty() bool {
	select {
	case err := <-p.ch:
		if err == nil {
			panic("closedEmpty: the Put was accepted")
		}
		return err == context.Canceled // the only way the clauses end a Put's ctx
	default:
		return false
	}
}

// forRows runs clause on every row keep accepts, each in a synctest bubble.
func forRows(t *testing.T, keep func(*contractPrim) bool, clause func(t *testing.T, is *is.I, p *contractPrim)) {
	t.Helper()
	for _, c := range contractCases {
		if keep != nil && !keep(c.new()) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { clause(t, is.New(t), c.new()) })
		})
	}
}

func takesBack(p *contractPrim) bool { return !p.final }

// W4: a ctx that had ended at the call fails it (closed empty, or for a Put
// not accepted), even when the grant was there to take, and changes nothing.
func TestContractW4EndedCtxFails(t *testing.T) {
	forRows(t, nil, func(t *testing.T, is *is.I, p *contractPrim) {
		if p.offer != nil {
			p.offer()
		}
		before := p.state()
		a := p.acquire(endedCtx())
		is.True(a.closedEmpty()) // at once
		is.Equal(p.state(), before)
		if p.offer != nil {
			b := p.acquire(bg())
			is.True(b.buffered()) // the grant was left for the next caller
			v, _ := b.recv()
			p.use(v)
		}
	})
}

// W2: a queued waiter whose ctx ends is closed promptly, by its AfterFunc
// alone (no call into the primitive), without a grant; the next grant goes
// to the waiter behind it.
func TestContractW2QueuedWaiterLeaves(t *testing.T) {
	forRows(t, nil, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		ctx, cancel := context.WithCancel(bg())
		a := p.acquire(ctx)
		b := p.acquire(bg())
		cancel()
		synctest.Wait()
		is.True(a.closedEmpty())
		p.free()
		is.True(b.buffered())
		v, ok := b.recv()
		is.True(ok)
		p.use(v)
	})
}

// W2: a grant sitting unreceived in a waiter's buffer when its ctx ends
// goes back, promptly and with no call, to the next waiter; nothing is lost
// and nothing is left over.
func TestContractW2GrantTakenBack(t *testing.T) {
	forRows(t, takesBack, func(t *testing.T, is *is.I, p *contractPrim) {
		baseline := p.state()
		p.occupy()
		ctx, cancel := context.WithCancel(bg())
		a := p.acquire(ctx)
		b := p.acquire(bg())
		p.free() // the grant goes to a's buffer
		is.True(a.buffered())
		is.True(!b.buffered())
		cancel()
		synctest.Wait()
		is.True(b.buffered()) // passed on by the AfterFunc alone
		is.True(a.closedEmpty())
		v, ok := b.recv()
		is.True(ok)
		p.use(v)
		is.Equal(p.state(), baseline)
	})
}

// W2, the other side: a grant that is final (a Put's acceptance, a shared
// value) stays its caller's when the ctx ends before the receive.
func TestContractW2FinalGrantKept(t *testing.T) {
	forRows(t, func(p *contractPrim) bool { return p.final }, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		ctx, cancel := context.WithCancel(bg())
		a := p.acquire(ctx)
		p.free()
		is.True(a.buffered())
		cancel()
		synctest.Wait()
		_, ok := a.recv()
		is.True(ok)
	})
}

// W2 on the fast path: a grant made at the call registers nothing, but once
// a waiter queues behind it, its caller walking away must let that waiter
// in promptly, with no further call.
func TestContractW2FastPathGrantWatchedOnceSomeoneWaits(t *testing.T) {
	forRows(t, func(p *contractPrim) bool { return takesBack(p) && p.offer != nil }, func(t *testing.T, is *is.I, p *contractPrim) {
		p.offer()
		ctx, cancel := context.WithCancel(bg())
		a := p.acquire(ctx) // granted at once, never received
		is.True(a.buffered())
		b := p.acquire(bg())
		is.True(!b.buffered())
		cancel()
		synctest.Wait()
		is.True(b.buffered())
		is.True(a.closedEmpty())
		v, _ := b.recv()
		p.use(v)
	})
}

// want returns what observe reads on a fresh primitive after setup: the
// state a take-back must restore.
func want(c func() *contractPrim, setup func(*contractPrim)) int {
	p := c()
	setup(p)
	return p.observe()
}

// W3: once a caller sees ctx.Err() != nil, the very next call on the
// primitive sees an unreceived grant returned (Locked, Value, Len agree),
// and with a waiter behind it passes the grant on within that call; the
// receive then says the caller did not get it. Real contexts, no synctest:
// the AfterFunc may or may not have run.
func TestContractW3TruthAfterCancel(t *testing.T) {
	for _, c := range contractCases {
		if !takesBack(c.new()) {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			p := c.new()
			p.occupy()
			ctx, cancel := context.WithCancel(bg())
			a := p.acquire(ctx)
			p.free() // granted to a, unreceived
			cancel()
			if p.observe != nil {
				is.Equal(p.observe(), want(c.new, func(p *contractPrim) { p.occupy(); p.free() })) // at once
			} else {
				p.state()
			}
			is.True(a.closedEmpty())

			p = c.new()
			p.occupy()
			ctx, cancel = context.WithCancel(bg())
			a = p.acquire(ctx)
			b := p.acquire(bg())
			p.free()
			cancel()
			p.state()
			is.True(b.buffered()) // passed on within the call
			is.True(a.closedEmpty())
			v, _ := b.recv()
			p.use(v)
		})
	}
}

// W3 on the fast path: a grant made at the call and abandoned is seen back
// by the next call, and the next caller gets it.
func TestContractW3FastPathGrantTakenBackByTheNextCall(t *testing.T) {
	for _, c := range contractCases {
		if p := c.new(); !takesBack(p) || p.offer == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			p := c.new()
			p.offer()
			ctx, cancel := context.WithCancel(bg())
			a := p.acquire(ctx)
			is.True(a.buffered())
			cancel()
			if p.observe != nil {
				is.Equal(p.observe(), want(c.new, func(p *contractPrim) { p.offer() }))
			}
			b := p.acquire(bg())
			is.True(b.buffered()) // the next caller finds it
			is.True(a.closedEmpty())
			v, _ := b.recv()
			p.use(v)
		})
	}
}

// W3, the caller's side: a grant received before anything took it back is
// the caller's, whatever its ctx does afterwards.
func TestContractW3ReceivedGrantIsKept(t *testing.T) {
	forRows(t, takesBack, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		ctx, cancel := context.WithCancel(bg())
		a := p.acquire(ctx)
		b := p.acquire(bg())
		p.free()
		v, ok := a.recv()
		is.True(ok)
		cancel()
		synctest.Wait()
		p.state()
		is.True(!b.buffered()) // still a's
		p.use(v)
		if p.consumes {
			p.free()
		}
		is.True(b.buffered())
		v, _ = b.recv()
		p.use(v)
	})
}

// W5: a grant owed to a queued waiter is not taken by a Try call nor by a
// new caller, even before the waiter receives it.
func TestContractW5NoBarging(t *testing.T) {
	forRows(t, func(p *contractPrim) bool { return !p.broadcast }, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		a := p.acquire(bg())
		p.free() // owed to a
		is.True(a.buffered())
		if p.try != nil {
			is.True(!p.try())
		}
		c := p.acquire(bg())
		is.True(!c.buffered())
		v, ok := a.recv()
		is.True(ok)
		p.use(v)
		if p.consumes {
			p.free()
		}
		is.True(c.buffered())
		v, _ = c.recv()
		p.use(v)
	})
}

// W5: waiters are served in the order of their calls, one grant each.
func TestContractW5FIFO(t *testing.T) {
	forRows(t, func(p *contractPrim) bool { return !p.broadcast }, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		ws := []pending{p.acquire(bg()), p.acquire(bg()), p.acquire(bg())}
		p.free()
		for i, w := range ws {
			for j, x := range ws[i+1:] {
				if x.buffered() {
					t.Fatalf("waiter %d served before waiter %d", i+1+j, i)
				}
			}
			is.True(w.buffered())
			v, _ := w.recv()
			p.use(v)
			if p.consumes {
				p.free()
			}
		}
	})
}

// W7: a long-lived ctx used for many waits accumulates no registrations:
// none is made on the fast path, and the one a queued waiter makes is
// dropped once its grant is received.
func TestContractW7LongLivedCtxAccumulatesNothing(t *testing.T) {
	for _, c := range contractCases {
		if c.new().oneShot {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			p := c.new()
			ctx := newCountingCtx()
			defer ctx.cancel()
			const n = 300
			if p.offer != nil {
				for range n {
					p.offer()
					v, ok := p.acquire(ctx).recv()
					is.True(ok)
					p.use(v)
				}
				is.Equal(ctx.registered(), 0) // the fast path registers nothing
				if p.outstanding != nil {
					p.state()
					is.True(p.outstanding() <= 1) // and keeps no history
				}
			}
			p.occupy()
			maxLive := 0
			for range n {
				ch := p.acquire(ctx) // queues: registers
				maxLive = max(maxLive, ctx.live())
				p.free()
				v, ok := ch.recv()
				is.True(ok)
				p.use(v)
				p.occupy()
			}
			p.free()
			p.state() // a call after the last receipt drops its registration
			is.Equal(ctx.registered(), n)
			is.True(maxLive <= 2)
			is.Equal(ctx.live(), 0)
		})
	}
}

// hasTwin keeps the rows with a blocking twin (SPEC §4).
func hasTwin(p *contractPrim) bool { return p.wait != nil }

// The blocking twins keep W4: an ended ctx fails with its error and changes
// nothing, even with the grant there.
func TestContractTwinW4EndedCtxFails(t *testing.T) {
	forRows(t, hasTwin, func(t *testing.T, is *is.I, p *contractPrim) {
		if p.offer != nil {
			p.offer()
		}
		before := p.state()
		_, err := p.wait(endedCtx())
		is.Equal(err, context.Canceled)
		is.Equal(p.state(), before)
	})
}

// The blocking twins keep W2: a twin waiting when its ctx ends returns the
// ctx's error, and the next grant goes to the channel waiter behind it.
func TestContractTwinW2QueuedLeaves(t *testing.T) {
	forRows(t, hasTwin, func(t *testing.T, is *is.I, p *contractPrim) {
		p.occupy()
		ctx, cancel := context.WithCancel(bg())
		errc := make(chan error, 1)
		go func() { _, err := p.wait(ctx); errc <- err }()
		synctest.Wait()
		b := p.acquire(bg())
		cancel()
		is.Equal(<-errc, context.Canceled)
		p.free()
		is.True(b.buffered())
		v, _ := b.recv()
		p.use(v)
	})
}

// The blocking twins queue in the same FIFO as the channel waiters (W5).
// (A row's wait
// returns the grant as any: for Lock, func(ctx) (any, error) { return
// l.AcquireWait(ctx) }; for Queue.Put, { return nil, q.PutWait(ctx, 1) }.)
func TestContractTwinW5SameQueue(t *testing.T) {
	forRows(t, hasTwin, func(t *testing.T, is *is.I, p *contractPrim) {
		if p.broadcast {
			return // one grant serves every waiter: no order to keep
		}
		p.occupy()
		a := p.acquire(bg())
		type result struct {
			v   any
			err error
		}
		res := make(chan result, 1)
		go func() { v, err := p.wait(bg()); res <- result{v, err} }()
		synctest.Wait()
		p.free()
		is.True(a.buffered()) // the channel waiter came first
		is.Equal(len(res), 0)
		v, _ := a.recv()
		p.use(v)
		if p.consumes {
			p.free()
		}
		r := <-res
		is.NoErr(r.err)
		p.use(r.v)
	})
}

// A blocking twin makes no registration when the grant is there at once
// (SPEC §4).
func TestContractTwinRegistersNothingAtOnce(t *testing.T) {
	forRows(t, func(p *contractPrim) bool { return hasTwin(p) && p.offer != nil }, func(t *testing.T, is *is.I, p *contractPrim) {
		p.offer()
		ctx := newCountingCtx()
		defer ctx.cancel()
		v, err := p.wait(ctx)
		is.NoErr(err)
		is.Equal(ctx.registered(), 0)
		p.use(v)
	})
}

// A blocking twin that finds its grant there makes no channel: it allocates
// at most its Release (a func that must know whether it was called), and
// nothing at all where a value can do (Lock.AcquireGuard, a queue's items,
// a Mailbox's messages, a Result's value). SPEC §4 and #12. Written out per
// twin, since the table's adapters box what they return.
func TestContractTwinAllocatesAtMostItsRelease(t *testing.T) {
	var l Lock
	s := NewSemaphore(2)
	rw := NewRWLock(0)
	q := NewQueue[int](4)
	var b Mailbox[int]
	var r Result[int]
	_ = r.Set(1)
	ctx := bg()
	for _, c := range []struct {
		name string
		want float64
		f    func() error
	}{
		{"Lock.AcquireWait", 1, func() error { rel, err := l.AcquireWait(ctx); rel(); return err }},
		{"Lock.AcquireGuard", 0, func() error { g, err := l.AcquireGuard(ctx); g.Release(); return err }},
		{"RWLock.AcquireReadWait", 1, func() error { rel, err := rw.AcquireReadWait(ctx); rel(); return err }},
		{"RWLock.AcquireWriteWait", 1, func() error { rel, err := rw.AcquireWriteWait(ctx); rel(); return err }},
		{"Semaphore.AcquireNWait", 1, func() error { rel, err := s.AcquireNWait(ctx, 2); rel(); return err }},
		{"Queue.PutWait+GetWait", 0, func() error {
			if err := q.PutWait(ctx, 1); err != nil {
				return err
			}
			_, err := q.GetWait(ctx)
			q.TaskDone()
			return err
		}},
		{"Mailbox.ReceiveWait", 0, func() error { b.Send(1); _, err := b.ReceiveWait(ctx, nil); return err }},
		{"Result.Wait", 0, func() error { _, err := r.Wait(ctx); return err }},
	} {
		t.Run(c.name, func(t *testing.T) {
			is := is.New(t)
			is.NoErr(c.f()) // warm the free lists and pools
			var err error
			allocs := testing.AllocsPerRun(100, func() { err = c.f() })
			is.NoErr(err)
			is.Equal(allocs, c.want)
		})
	}
}
