package main

import (
	"context"
	"sync"
	"testing"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/semaphore"
)

// A chanMutex is the classic Go idiom for a lock that composes with select:
// a channel of capacity one, full while the lock is held.
type chanMutex chan struct{}

func newChanMutex() chanMutex { return make(chanMutex, 1) }
func (m chanMutex) lock()     { m <- struct{}{} }
func (m chanMutex) unlock()   { <-m }

func lockUncontendedChans(b *testing.B) {
	var l chans.Lock
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r := <-l.Acquire(ctx)
		r()
	}
}

func lockUncontendedChanMutex(b *testing.B) {
	m := newChanMutex()
	b.ReportAllocs()
	for b.Loop() {
		m.lock()
		m.unlock()
	}
}

func lockUncontendedMutex(b *testing.B) {
	var m sync.Mutex
	b.ReportAllocs()
	for b.Loop() {
		m.Lock()
		//lint:ignore SA2001 an empty critical section is what is measured
		m.Unlock()
	}
}

func lockUncontendedXSync(b *testing.B) {
	s := semaphore.NewWeighted(1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Acquire(ctx, 1); err != nil {
			b.Fatal(err)
		}
		s.Release(1)
	}
}

// contended runs lock/unlock pairs from 4×GOMAXPROCS goroutines around a
// shared counter, then checks the counter: a lock that let two holders in
// would lose increments (and fail under -race).
func contended(b *testing.B, lock func() (unlock func())) {
	n := 0
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			unlock := lock()
			n++
			unlock()
		}
	})
	if n != b.N {
		b.Fatalf("counter is %d after %d locked increments", n, b.N)
	}
}

func lockContendedChans(b *testing.B) {
	var l chans.Lock
	ctx := context.Background()
	contended(b, func() func() {
		r, ok := <-l.Acquire(ctx)
		if !ok {
			panic("Acquire(Background) failed")
		}
		return r
	})
}

func lockContendedXSync(b *testing.B) {
	s := semaphore.NewWeighted(1)
	ctx := context.Background()
	release := func() { s.Release(1) }
	contended(b, func() func() {
		if err := s.Acquire(ctx, 1); err != nil {
			panic(err)
		}
		return release
	})
}

func lockContendedChanMutex(b *testing.B) {
	m := newChanMutex()
	unlock := m.unlock // made once: baselines pay no closure per op
	contended(b, func() func() {
		m.lock()
		return unlock
	})
}

func lockContendedMutex(b *testing.B) {
	var m sync.Mutex
	unlock := m.Unlock
	contended(b, func() func() {
		m.Lock()
		return unlock
	})
}
