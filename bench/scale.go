package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/semaphore"
)

// This file measures many waiters at once: the memory a parked waiter costs,
// the time to cancel all of them, and the time for one Set to wake them all.

// A crowd is n goroutines parked on one primitive. park is what each
// goroutine runs (it must block until the crowd is released or cancelled);
// free ends the wait of all of them, either by cancelling their ctx or by
// releasing the primitive.
type crowd struct {
	name string
	// start prepares the primitive and returns the per-goroutine body and
	// the func that lets everyone go.
	start func(ctx context.Context) (park func(), free func())
}

// crowdStats is one measurement of a crowd.
type crowdStats struct {
	heapPer  float64       // live heap bytes per parked goroutine
	stackPer float64       // stack bytes per parked goroutine
	free     time.Duration // from free() until every goroutine returned
	freeCall time.Duration // the free() call alone
}

// measureCrowd parks n goroutines with c, measures their memory once all are
// parked, then frees them and times how long until all have returned.
//
// Goroutine structs are never returned to the heap, and the runtime reuses
// dead ones, so warmCrowds runs once first: afterwards the heap a crowd adds
// is what its waits cost (sudogs plus the primitive's own), not the g
// structs, and the stacks show up in StackInuse.
func measureCrowd(c crowd, n int) (crowdStats, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	park, free := c.start(ctx)

	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)

	var (
		done    sync.WaitGroup
		entered atomic.Int64
	)
	done.Add(n)
	for range n {
		go func() {
			defer done.Done()
			entered.Add(1)
			park()
		}()
	}
	if err := awaitParked(&entered, int64(n)); err != nil {
		free()
		done.Wait()
		return crowdStats{}, fmt.Errorf("%s: %w", c.name, err)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)

	t0 := time.Now()
	free()
	freeCall := time.Since(t0)
	done.Wait()
	all := time.Since(t0)
	return crowdStats{
		heapPer:  float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n),
		stackPer: float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / float64(n),
		free:     all,
		freeCall: freeCall,
	}, nil
}

// warmCrowds creates and ends n goroutines so later crowds reuse their g
// structs (see measureCrowd).
func warmCrowds(n int) error {
	_, err := measureCrowd(bareCrowd, n)
	return err
}

var schedSamples = []metrics.Sample{
	{Name: "/sched/goroutines/runnable:goroutines"},
	{Name: "/sched/goroutines/running:goroutines"},
}

// awaitParked polls until all n goroutines of a crowd have entered their
// wait and none is runnable or running but the caller: only then has every
// one of them allocated what its wait costs. A crowd goroutine that is parked
// stays parked until the crowd is freed, so seeing this twice in a row, a
// millisecond apart, is conclusive even though the scheduler's counts are
// read without stopping the world. Polling rather than sleeping a guessed
// time keeps the measurement honest on a busy machine.
func awaitParked(entered *atomic.Int64, n int64) error {
	deadline := time.Now().Add(time.Minute)
	for settled := 0; settled < 2; {
		time.Sleep(time.Millisecond)
		metrics.Read(schedSamples)
		runnable, running := schedSamples[0].Value.Uint64(), schedSamples[1].Value.Uint64()
		if entered.Load() == n && runnable == 0 && running <= 1 {
			settled++
		} else {
			settled = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after a minute, %d of %d goroutines entered; %d runnable, %d running",
				entered.Load(), n, runnable, running)
		}
	}
	return nil
}

// bareCrowd is the floor: goroutines parked on one shared channel cost a
// stack and a sudog each and nothing else.
var bareCrowd = crowd{name: "bare", start: func(context.Context) (func(), func()) {
	c := make(chan struct{})
	return func() { <-c }, func() { close(c) }
}}

// lockCrowd parks goroutines in Lock.Acquire with ctx (Background when
// cancellable is false) while the lock is held. With a cancellable ctx, free
// cancels it: every waiter must come back empty and the lock stay held.
// Otherwise free releases the lock and the goroutines pass it down the line.
func lockCrowd(cancellable bool) crowd {
	name := "chans Lock, ctx Background"
	if cancellable {
		name = "chans Lock, one cancellable ctx"
	}
	return crowd{name: name, start: func(ctx context.Context) (func(), func()) {
		var l chans.Lock
		hold, ok := l.TryAcquire()
		if !ok {
			panic("fresh Lock is locked")
		}
		ctx, cancel := context.WithCancel(ctx)
		if !cancellable {
			ctx = context.Background() // Done() is nil: nothing is registered
		}
		park := func() {
			r, ok := <-l.Acquire(ctx)
			if ok == cancellable {
				panic(fmt.Sprintf("Lock.Acquire: got the lock = %v in a crowd that cancels = %v", ok, cancellable))
			}
			if ok {
				r()
			}
		}
		free := func() {
			if cancellable {
				cancel()
				return
			}
			hold()
		}
		return park, free
	}}
}

// xsyncCrowd parks goroutines in x/sync Weighted.Acquire(ctx, 1) on a held
// semaphore and frees them by cancelling ctx.
var xsyncCrowd = crowd{name: "x/sync Weighted, one cancellable ctx", start: func(ctx context.Context) (func(), func()) {
	s := semaphore.NewWeighted(1)
	s.TryAcquire(1)
	ctx, cancel := context.WithCancel(ctx)
	return func() {
		if s.Acquire(ctx, 1) == nil {
			panic("x/sync Acquire succeeded on a held semaphore")
		}
	}, cancel
}}

// chanMutexCrowd parks goroutines in a select between a held channel-mutex
// and ctx.Done(), the way a cancellable channel lock is written by hand.
var chanMutexCrowd = crowd{name: "channel-mutex + select on ctx.Done()", start: func(ctx context.Context) (func(), func()) {
	m := newChanMutex()
	m.lock()
	ctx, cancel := context.WithCancel(ctx)
	return func() {
		select {
		case m <- struct{}{}:
			panic("channel-mutex taken while held")
		case <-ctx.Done():
		}
	}, cancel
}}

// eventCrowd parks goroutines on Event.Wait and frees them with Set.
var eventCrowd = crowd{name: "chans Event.Set", start: func(context.Context) (func(), func()) {
	var e chans.Event
	return func() { <-e.Wait() }, e.Set
}}

// closeCrowd is eventCrowd's baseline: close of a channel they all receive on.
var closeCrowd = crowd{name: "close(chan)", start: bareCrowd.start}
