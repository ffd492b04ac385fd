package disttest

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
)

// A Weighted is one process's handle on a weighted semaphore: an engine's
// Semaphore.
type Weighted interface {
	AcquireN(ctx context.Context, n int) <-chan *dist.Grant
	TryAcquireN(ctx context.Context, n int) (*dist.Grant, error)
	Value(ctx context.Context) (int, error)
}

// Semaphore runs the conformance tests of a weighted semaphore. newSem
// returns n handles on one fresh semaphore of limit permits, each from its
// own session; the suite asks for at most 3.
func Semaphore(t *testing.T, newSem func(t *testing.T, limit, n int) []Weighted) {
	t.Run("Limit", func(t *testing.T) { semLimit(t, newSem) })
	t.Run("AboveLimit", func(t *testing.T) { semAboveLimit(t, newSem) })
	t.Run("HeavyHoldsBackLight", func(t *testing.T) { semHeavyHoldsBackLight(t, newSem) })
	t.Run("CancelledHeadLetsLight", func(t *testing.T) { semCancelledHead(t, newSem) })
	t.Run("CancelRace", func(t *testing.T) { semCancelRace(t, newSem) })
	t.Run("Hammer", func(t *testing.T) { semHammer(t, newSem) })
}

// all checks that every permit is free: AcquireN(limit) is granted within
// Bound, and given back.
func all(t *testing.T, s Weighted, limit int, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	defer cancel()
	granted(t, s.AcquireN(ctx, limit), what+": not all permits are free").Release()
}

// At most limit permits are held, across sessions; Value counts them.
func semLimit(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	is := is.New(t)
	ss := newSem(t, 3, 3)
	ctx := bounded(t)
	v, err := ss[0].Value(ctx)
	is.NoErr(err)
	is.Equal(v, 3)
	two := granted(t, ss[0].AcquireN(ctx, 2), "2 of 3")
	one := granted(t, ss[1].AcquireN(ctx, 1), "1 more")
	g, err := ss[2].TryAcquireN(ctx, 1)
	busy(t, g, err, "TryAcquireN with none left")
	v, err = ss[2].Value(ctx)
	is.NoErr(err)
	is.Equal(v, 0)
	w := ss[2].AcquireN(ctx, 2)
	pending(t, w, "2 permits with none free")
	one.Release()
	pending(t, w, "2 permits with one free")
	two.Release()
	granted(t, w, "2 permits after both releases").Release()
	releaseTwicePanics(t, granted(t, ss[1].AcquireN(ctx, 1), "1 permit"))
	all(t, ss[0], 3, "at the end")
}

// A request above the limit fails at once, with dist.ErrAboveLimit from Try.
func semAboveLimit(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	is := is.New(t)
	ss := newSem(t, 2, 1)
	ctx := bounded(t)
	closedEmpty(t, ss[0].AcquireN(ctx, 3), "AcquireN above the limit")
	_, err := ss[0].TryAcquireN(ctx, 3)
	is.True(errors.Is(err, dist.ErrAboveLimit))
	all(t, ss[0], 2, "after")
}

// W5 over the network: a heavy waiter at the head holds back a lighter one
// behind it even while enough permits for the light one are free, and a Try
// does not pass it either.
func semHeavyHoldsBackLight(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	is := is.New(t)
	ss := newSem(t, 3, 3)
	ctx := bounded(t)
	var k tokens
	h := granted(t, ss[0].AcquireN(ctx, 2), "holder of 2")
	is.NoErr(k.next(h))
	heavy := ss[1].AcquireN(ctx, 3)
	light := ss[2].AcquireN(ctx, 1)
	pending(t, light, "1 permit behind a waiter for 3, with 1 free")
	g, err := ss[0].TryAcquireN(ctx, 1)
	busy(t, g, err, "TryAcquireN(1) behind a waiter for 3")
	h.Release()
	hg := granted(t, heavy, "the heavy waiter")
	is.NoErr(k.next(hg))
	pending(t, light, "the light waiter while the heavy one holds all")
	hg.Release()
	lg := granted(t, light, "the light waiter")
	is.NoErr(k.next(lg))
	lg.Release()
}

// A heavy waiter at the head that gives up lets the light ones behind it in.
func semCancelledHead(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	ss := newSem(t, 3, 3)
	ctx := bounded(t)
	h := granted(t, ss[0].AcquireN(ctx, 2), "holder of 2")
	hctx, cancel := context.WithCancel(ctx)
	heavy := ss[1].AcquireN(hctx, 3)
	light := ss[2].AcquireN(ctx, 1)
	pending(t, light, "1 permit behind a waiter for 3")
	cancel()
	closedEmpty(t, heavy, "the cancelled heavy waiter")
	granted(t, light, "the light waiter once the head left").Release()
	h.Release()
	all(t, ss[0], 3, "at the end")
}

// The holder of all permits releases as the next waiter's ctx ends: all
// permits are free after every round.
func semCancelRace(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	ss := newSem(t, 2, 3)
	rounds := Rounds
	if testing.Short() {
		rounds = min(rounds, 20)
	}
	for round := range rounds {
		semRaceRound(t, ss, round)
	}
}

// semRaceRound is one round of semCancelRace, under its own bound.
func semRaceRound(t *testing.T, ss []Weighted, round int) {
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	defer cancel()
	h := granted(t, ss[0].AcquireN(ctx, 2), "holder")
	wctx, cancelWait := context.WithCancel(ctx)
	w := ss[1].AcquireN(wctx, 1+rand.IntN(2))
	var wg sync.WaitGroup
	wg.Add(2)
	lag := time.Duration(rand.IntN(2000)) * time.Microsecond
	first := rand.IntN(2)
	go func() { defer wg.Done(); sleepIf(first == 0, lag); h.Release() }()
	go func() { defer wg.Done(); sleepIf(first == 1, lag); cancelWait() }()
	wg.Wait()
	if round%2 == 0 {
		// Never received before the ctx ended: it must come back.
		all(t, ss[2], 2, "round "+strconv.Itoa(round)+", grant never received")
		closedEmpty(t, w, "round "+strconv.Itoa(round)+", the cancelled waiter")
		return
	}
	if g, ok := recv(t, w, "round "+strconv.Itoa(round)+", the waiter"); ok {
		g.Release()
	}
	all(t, ss[2], 2, "round "+strconv.Itoa(round))
}

// Conservation under random cancellation: the permits held never exceed
// the limit, and all are free at the end.
func semHammer(t *testing.T, newSem func(*testing.T, int, int) []Weighted) {
	const limit = 4
	ss := newSem(t, limit, 3)
	const perSession, iters = 3, 15
	var held atomic.Int64
	var grants atomic.Int32
	var wg sync.WaitGroup
	for s := range ss {
		for range perSession {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range iters {
					n := 1 + rand.IntN(limit)
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(80))*time.Millisecond)
					g, ok := <-ss[s].AcquireN(ctx, n)
					cancel()
					if !ok {
						continue
					}
					if h := held.Add(int64(n)); h > limit {
						t.Errorf("%d permits held, limit %d", h, limit)
					}
					grants.Add(1)
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					held.Add(-int64(n))
					g.Release()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("%d grants to %d attempts", grants.Load(), len(ss)*perSession*iters)
	for i, s := range ss {
		all(t, s, limit, "session "+strconv.Itoa(i)+" after the hammer")
	}
}
