package disttest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/selectx"
)

// A Locker is one process's handle on a lock: an engine's Lock.
type Locker interface {
	Acquire(ctx context.Context) <-chan *dist.Grant
	TryAcquire(ctx context.Context) (*dist.Grant, error)
	Locked(ctx context.Context) (bool, error)
}

// Lock runs the conformance tests of a lock. newLock returns n handles on one
// fresh lock, each from its own session; the suite asks for at most 3.
func Lock(t *testing.T, newLock func(t *testing.T, n int) []Locker) {
	t.Run("OneOutcome", func(t *testing.T) { lockOneOutcome(t, newLock) })
	t.Run("PreferToFail", func(t *testing.T) { lockPreferToFail(t, newLock) })
	t.Run("CancelGivesBack", func(t *testing.T) { lockCancelGivesBack(t, newLock) })
	t.Run("FIFO", func(t *testing.T) { lockFIFO(t, newLock) })
	t.Run("TryNeverPasses", func(t *testing.T) { lockTryNeverPasses(t, newLock) })
	t.Run("Locked", func(t *testing.T) { lockLocked(t, newLock) })
	t.Run("CancelRace", func(t *testing.T) { lockCancelRace(t, newLock) })
	t.Run("Hammer", func(t *testing.T) { lockHammer(t, newLock) })
	t.Run("FirstTakesOne", func(t *testing.T) { lockFirstTakesOne(t, newLock) })
}

// free checks that the lock is free: an Acquire through l is granted within
// Bound (which it could not be if a grant had leaked), and given back.
func free(t *testing.T, l Locker, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	defer cancel()
	granted(t, l.Acquire(ctx), what+": the lock is not free").Release()
}

// D1: a grant, then closed; a second receive yields closed.
func lockOneOutcome(t *testing.T, newLock func(*testing.T, int) []Locker) {
	is := is.New(t)
	ls := newLock(t, 2)
	ctx := bounded(t)
	ch := ls[0].Acquire(ctx)
	g := granted(t, ch, "Acquire of a free lock")
	_, ok := recv(t, ch, "a second receive")
	is.True(!ok) // the channel is closed after its one value
	g2, err := ls[1].TryAcquire(ctx)
	busy(t, g2, err, "TryAcquire of a held lock")
	releaseTwicePanics(t, g)
	free(t, ls[1], "after the release")
}

// W4: a ctx that has ended fails the call even though the lock is free.
func lockPreferToFail(t *testing.T, newLock func(*testing.T, int) []Locker) {
	is := is.New(t)
	ls := newLock(t, 2)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok := <-ls[0].Acquire(done)
	is.True(!ok)
	g, err := ls[0].TryAcquire(done)
	is.True(err != nil)
	is.True(g == nil)
	g, err = ls[1].TryAcquire(bounded(t)) // nothing was taken
	is.NoErr(err)
	g.Release()
}

// D2: a queued waiter whose ctx ends is closed at once and holds nothing;
// the lock goes to the next waiter.
func lockCancelGivesBack(t *testing.T, newLock func(*testing.T, int) []Locker) {
	ls := newLock(t, 3)
	ctx := bounded(t)
	h := granted(t, ls[0].Acquire(ctx), "holder")
	wctx, cancel := context.WithCancel(ctx)
	w := ls[1].Acquire(wctx)
	next := ls[2].Acquire(ctx)
	cancel()
	closedEmpty(t, w, "a cancelled waiter")
	pending(t, next, "the waiter behind, while the holder holds")
	h.Release()
	granted(t, next, "the waiter behind the cancelled one").Release()
}

// D3 and D5: waiters from several sessions (and two from one) are granted
// in the order they were recorded, with increasing tokens.
func lockFIFO(t *testing.T, newLock func(*testing.T, int) []Locker) {
	is := is.New(t)
	ls := newLock(t, 3)
	ctx := bounded(t)
	var k tokens
	h := granted(t, ls[0].Acquire(ctx), "holder")
	is.NoErr(k.next(h))
	order := []int{1, 2, 0, 1, 2}
	chs := make([]<-chan *dist.Grant, len(order))
	for i, s := range order {
		chs[i] = ls[s].Acquire(ctx)
	}
	h.Release()
	for i := range chs {
		g := granted(t, chs[i], "waiter in line")
		is.NoErr(k.next(g))
		for _, later := range chs[i+1:] {
			select {
			case <-later:
				t.Fatalf("waiter %d: a later waiter was granted while it held", i)
			default:
			}
		}
		g.Release()
	}
}

// D3: while a waiter is queued, a Try from any session fails, even in the
// moment the holder releases and before the waiter received.
func lockTryNeverPasses(t *testing.T, newLock func(*testing.T, int) []Locker) {
	ls := newLock(t, 3)
	ctx := bounded(t)
	h := granted(t, ls[0].Acquire(ctx), "holder")
	w := ls[1].Acquire(ctx)
	g, err := ls[2].TryAcquire(ctx)
	busy(t, g, err, "Try while held and waited for")
	h.Release()
	deadline := time.After(Bound)
	for tries := 0; ; tries++ {
		select {
		case got, ok := <-w:
			if !ok {
				t.Fatal("the waiter's channel closed empty")
			}
			g, err := ls[2].TryAcquire(ctx)
			busy(t, g, err, "Try while the waiter holds")
			got.Release()
			eventually(t, "Try after the waiter released", func() bool {
				g, err := ls[2].TryAcquire(ctx)
				if err == nil {
					g.Release()
				}
				return err == nil
			})
			return
		case <-deadline:
			t.Fatal("the waiter was not granted")
		default:
		}
		for _, l := range []Locker{ls[0], ls[2]} {
			g, err := l.TryAcquire(ctx)
			busy(t, g, err, "Try after the release, with the waiter not yet served")
		}
	}
}

// Locked tells held from free, in every session.
func lockLocked(t *testing.T, newLock func(*testing.T, int) []Locker) {
	is := is.New(t)
	ls := newLock(t, 2)
	ctx := bounded(t)
	for _, l := range ls {
		locked, err := l.Locked(ctx)
		is.NoErr(err)
		is.True(!locked)
	}
	g := granted(t, ls[0].Acquire(ctx), "holder")
	for _, l := range ls {
		locked, err := l.Locked(ctx)
		is.NoErr(err)
		is.True(locked)
	}
	g.Release()
	for _, l := range ls {
		eventually(t, "Locked false after the release", func() bool {
			locked, err := l.Locked(ctx)
			is.NoErr(err)
			return !locked
		})
	}
}

// D2, the dangerous moment: the holder releases while the next waiter's
// ctx ends, in either order or at once. In half the rounds the waiter never
// receives before its ctx ended: then whatever it was granted must go back
// by itself, and its channel read closed. In the others a receive races
// with the cancellation: whatever it yields is the truth (W3). The lock is
// free after every round, so no grant that raced a cancellation leaked.
func lockCancelRace(t *testing.T, newLock func(*testing.T, int) []Locker) {
	ls := newLock(t, 3)
	rounds := Rounds
	if testing.Short() {
		rounds = min(rounds, 20)
	}
	took := 0
	for round := range rounds {
		if lockRaceRound(t, ls, round) {
			took++
		}
	}
	t.Logf("%d rounds, the cancelled waiter received the lock in %d", rounds, took)
}

// lockRaceRound is one round of lockCancelRace, under its own bound. It
// reports whether the cancelled waiter received the lock.
func lockRaceRound(t *testing.T, ls []Locker, round int) bool {
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	defer cancel()
	h := granted(t, ls[0].Acquire(ctx), "holder")
	wctx, cancelWait := context.WithCancel(ctx)
	w := ls[1].Acquire(wctx)
	receive := round%2 == 1
	var got *dist.Grant
	var wg sync.WaitGroup
	wg.Add(3)
	lag := time.Duration(rand.IntN(2000)) * time.Microsecond
	first := rand.IntN(3)
	go func() { defer wg.Done(); sleepIf(first == 0, lag); h.Release() }()
	go func() { defer wg.Done(); sleepIf(first == 1, lag); cancelWait() }()
	go func() {
		defer wg.Done()
		if receive {
			sleepIf(first == 2, lag)
			select {
			case got = <-w:
			case <-time.After(Bound): // the checks below will fail
			}
		}
	}()
	wg.Wait() // each of the three returns within Bound
	if got != nil {
		got.Release()
	}
	if !receive {
		free(t, ls[2], "round "+strconv.Itoa(round)+", grant never received")
		closedEmpty(t, w, "round "+strconv.Itoa(round)+", the cancelled waiter")
		return false
	}
	free(t, ls[2], "round "+strconv.Itoa(round))
	return got != nil
}

func sleepIf(yes bool, d time.Duration) {
	if yes {
		time.Sleep(d)
	}
}

// Conservation under random cancellation: several goroutines in every
// session acquire with ctxs that end at random moments; no two ever hold at
// once, every grant received is released, and the lock is free at the end.
func lockHammer(t *testing.T, newLock func(*testing.T, int) []Locker) {
	ls := newLock(t, 3)
	const perSession, iters = 3, 15
	var holders, grants atomic.Int32
	var k tokens
	var wg sync.WaitGroup
	for s := range ls {
		for range perSession {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range iters {
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(80))*time.Millisecond)
					g, ok := <-ls[s].Acquire(ctx)
					cancel()
					if !ok {
						continue
					}
					if n := holders.Add(1); n != 1 {
						t.Errorf("%d holders at once", n)
					}
					if err := k.next(g); err != nil {
						t.Error(err)
					}
					grants.Add(1)
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					holders.Add(-1)
					g.Release()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d grants to %d attempts", grants.Load(), len(ls)*perSession*iters)
	for i, l := range ls {
		free(t, l, "session "+strconv.Itoa(i)+" after the hammer")
	}
}

// selectx.First over waits takes exactly one, and the others give back
// what they were granted: the locks they waited for are free afterwards.
func lockFirstTakesOne(t *testing.T, newLock func(*testing.T, int) []Locker) {
	is := is.New(t)
	a, b := newLock(t, 2), newLock(t, 2)
	ctx := bounded(t)

	// Both free: the first in argument order wins, the other is not taken.
	i, g, err := selectx.First(ctx, a[0].Acquire, b[0].Acquire)
	is.NoErr(err)
	is.Equal(i, 0)
	free(t, b[1], "the losing lock, both free")
	g.Release()
	free(t, a[1], "the winning lock, released")

	// One held by another session: the free one wins, and the queued wait
	// on the held one is withdrawn, so its holder's release frees it.
	h := granted(t, a[1].Acquire(ctx), "holder of a")
	i, g, err = selectx.First(ctx, a[0].Acquire, b[0].Acquire)
	is.NoErr(err)
	is.Equal(i, 1)
	h.Release()
	free(t, a[1], "the lock the loser queued for")
	g.Release()

	// Both held: whichever is released first wins, the other is given back
	// even if its grant comes in the same moment.
	ha := granted(t, a[1].Acquire(ctx), "holder of a")
	hb := granted(t, b[1].Acquire(ctx), "holder of b")
	type won struct {
		i   int
		g   *dist.Grant
		err error
	}
	res := make(chan won, 1)
	started := make(chan struct{}, 2)
	op := func(l Locker) selectx.Op[*dist.Grant] {
		return func(ctx context.Context) <-chan *dist.Grant {
			ch := l.Acquire(ctx) // returns once the wait is recorded
			started <- struct{}{}
			return ch
		}
	}
	go func() {
		i, g, err := selectx.First(ctx, op(a[0]), op(b[0]))
		res <- won{i, g, err}
	}()
	recv(t, started, "the first op's start")
	recv(t, started, "the second op's start")
	go hb.Release()
	ha.Release()
	r, _ := recv(t, res, "First")
	is.NoErr(r.err)
	r.g.Release()
	free(t, a[1], "a after First")
	free(t, b[1], "b after First")
}
