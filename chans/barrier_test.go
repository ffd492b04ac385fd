package chans

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// W4: a ctx that ended at the call does not arrive, even when its arrival
// would trip the barrier.
func TestBarrierPreferToFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(2)
		first := b.Wait(t.Context())
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, ok := <-b.Wait(ctx)
		is.True(!ok)
		is.Equal(b.Waiting(), 1)
		i, ok := <-b.Wait(t.Context())
		is.True(ok)
		is.Equal(i, 1)
		i, ok = <-first
		is.True(ok)
		is.Equal(i, 0)
	})
}

// quietCtx has ended (Err says so) but its Done channel is closed only when
// the test says, so the AfterFunc that would take its waiter out has not
// run: the moment between a ctx ending and the primitive hearing of it.
type quietCtx struct {
	context.Context
	done  chan struct{}
	ended atomic.Bool
}

func (c *quietCtx) Done() <-chan struct{} { return c.done }
func (c *quietCtx) Err() error {
	if c.ended.Load() {
		return context.Canceled
	}
	return nil
}

// A waiter whose ctx ended before the trip leaves without a trace even if
// the barrier has not heard of it yet: it is not counted and holds no index.
func TestBarrierEndedWaiterNotCounted(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(3)
	c := &quietCtx{Context: context.Background(), done: make(chan struct{})}
	defer close(c.done)
	w1 := b.Wait(t.Context())
	ghost := b.Wait(c)  // behind w1, where no sweep of the head finds it
	c.ended.Store(true) // ended, AfterFunc not run
	w2 := b.Wait(t.Context())
	_, _, ready := recvNow(w2)
	is.True(!ready) // two live parties of three: no trip
	_, ok, ready := recvNow(ghost)
	is.True(ready && !ok) // the ghost was let go at the count
	w3 := b.Wait(t.Context())
	is.Equal(<-w1, 0)
	is.Equal(<-w2, 1)
	is.Equal(<-w3, 2)
}

// A trip is final: a party whose ctx ends after the trip, before it
// received, still gets its index (W3: the receive tells what happened).
func TestBarrierTripFinal(t *testing.T) {
	is := is.New(t)
	b := NewBarrier(2)
	ctx, cancel := context.WithCancel(t.Context())
	w := b.Wait(ctx)
	<-b.Wait(t.Context())
	cancel()
	i, ok := <-w
	is.True(ok)
	is.Equal(i, 0)
	is.Equal(b.Waiting(), 0)
}

func TestBarrierAbortThenReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(2)
		w := b.Wait(t.Context())
		synctest.Wait()
		b.Abort()
		_, ok := <-w
		is.True(!ok)
		is.True(b.Broken())
		_, ok = <-b.Wait(t.Context()) // fails at once while broken
		is.True(!ok)
		b.Abort() // harmless
		b.Reset()
		is.True(!b.Broken())
		w = b.Wait(t.Context())
		is.Equal(<-b.Wait(t.Context()), 1)
		is.Equal(<-w, 0)
	})
}

// A ctx that ends while waiting closes the channel promptly, with no other
// call into the barrier (W2).
func TestBarrierCancelPrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		b := NewBarrier(3)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		w := b.Wait(ctx)
		_, ok := <-w
		is.True(!ok)
		is.Equal(b.Waiting(), 0)
	})
}

func TestBarrierMisuse(t *testing.T) {
	var b Barrier
	isChansPanic(t, func() { b.Wait(t.Context()) })
	isChansPanic(t, func() { NewBarrier(0) })
}

// TestHammerBarrier runs more workers than parties through many rounds, each
// wait under a ctx that may end at any moment, and holds the barrier to its
// law: every trip hands out each index 0..parties-1 exactly once, so at the
// end every index was received the same number of times, and nobody is left
// waiting once the workers stop.
func TestHammerBarrier(t *testing.T) {
	is := is.New(t)
	const parties, workers = 3, 7
	b := NewBarrier(parties)
	stop, stopAll := context.WithCancel(t.Context())
	defer stopAll()
	var counts [parties]atomic.Int64
	var left, ops atomic.Int64
	budget := int64(hammerOps() / 5)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for ops.Add(1) <= budget {
				ctx, cancel := context.WithCancel(stop)
				if r.IntN(4) == 0 {
					go func() { runtime.Gosched(); cancel() }()
				}
				if i, ok := <-b.Wait(ctx); ok {
					counts[i].Add(1)
				} else {
					left.Add(1)
				}
				cancel()
			}
			stopAll() // the first to finish lets the others go
		})
	}
	wg.Wait()
	is.Equal(b.Waiting(), 0)
	n := counts[0].Load()
	for i := range counts {
		is.Equal(counts[i].Load(), n) // each trip gave each index once
	}
	t.Logf("%d trips, %d waits left without one", n, left.Load())
}
