package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/exp/stats"
	"golang.org/x/sync/semaphore"
)

// A handoff is a lock whose wake-up latency is measured: how long after the
// holder's release a parked waiter is running with the lock.
type handoff struct {
	name string
	// make returns a fresh lock as a blocking lock func returning its unlock.
	make func() (lock func() (unlock func()))
}

var handoffs = []handoff{
	{"chans", func() func() func() {
		var l chans.Lock
		ctx := context.Background()
		return func() func() {
			r, ok := <-l.Acquire(ctx)
			if !ok {
				panic("Acquire(Background) failed")
			}
			return r
		}
	}},
	{"chanmutex", func() func() func() {
		m := newChanMutex()
		unlock := m.unlock
		return func() func() { m.lock(); return unlock }
	}},
	{"xsync", func() func() func() {
		s := semaphore.NewWeighted(1)
		ctx := context.Background()
		release := func() { s.Release(1) }
		return func() func() {
			if err := s.Acquire(ctx, 1); err != nil {
				panic(err)
			}
			return release
		}
	}},
	{"mutex", func() func() func() {
		var m sync.Mutex
		unlock := m.Unlock
		return func() func() { m.Lock(); return unlock }
	}},
}

// parkDelay is how long the holder waits, after letting the waiter go, before
// it releases: long enough for the waiter to have called lock and parked, so
// each sample is a wake-up from a parked state, not a spin.
const parkDelay = 100 * time.Microsecond

// latencies returns n wake-up latencies, in nanoseconds, of handoffs of h's
// lock from one goroutine to another that is parked waiting for it.
func latencies(h handoff, n int) []float64 {
	lock := h.make()
	epoch := time.Now()
	var (
		released time.Duration // set by the holder just before unlock; the unlock orders it
		lat      = make([]float64, n)
		turn     = make(chan struct{})
		done     = make(chan struct{})
	)
	go func() {
		for i := range n {
			<-turn
			unlock := lock()
			lat[i] = float64(time.Since(epoch) - released)
			unlock()
			done <- struct{}{}
		}
	}()
	unlock := lock()
	for range n {
		turn <- struct{}{}
		time.Sleep(parkDelay)
		released = time.Since(epoch)
		unlock()
		<-done
		unlock = lock()
	}
	unlock()
	return lat
}

// quantiles is p50 and p99 of one latency run, in nanoseconds.
type quantiles struct{ p50, p99 float64 }

func latencyQuantiles(lat []float64) quantiles {
	q := stats.Quantiles(lat, 0.5, 0.99)
	return quantiles{q[0], q[1]}
}

func (q quantiles) String() string {
	return fmt.Sprintf("p50 %s, p99 %s", fmtNs(q.p50), fmtNs(q.p99))
}
