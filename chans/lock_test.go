package chans

import (
	"context"
	"sync"
	"testing"

	"github.com/matryer/is"
)

// Turnstile's own tests of Lock; the cases ported from toro and tornado are in
// lock_toro_test.go and lock_tornado_test.go, named TestLockToro* and so on.

// W7: a ctx that can never end registers nothing even when queued.
func TestLockBackgroundCtxRegistersNothing(t *testing.T) {
	is := is.New(t)
	var l Lock
	r, _ := l.TryAcquire()
	l.Acquire(context.Background())
	is.Equal(lockInside(&l, false, nil).registrations, 0)
	r()
}

// Benchmarks: an uncontended acquire, receive and release, beside the two
// usual Go ways to hold a lock.
func BenchmarkLock(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		b.ReportAllocs()
		var l Lock
		ctx := context.Background()
		for b.Loop() {
			r := <-l.Acquire(ctx)
			r()
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		b.ReportAllocs()
		mu := make(chan struct{}, 1)
		for b.Loop() {
			mu <- struct{}{}
			<-mu
		}
	})
	b.Run("impl=mutex", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		for b.Loop() {
			mu.Lock()
			//lint:ignore SA2001 an empty critical section is the point
			mu.Unlock()
		}
	})
}

// BenchmarkLockCancellable is BenchmarkLock's impl=chans with a ctx that can
// end, the usual case in servers: the fast path still registers nothing.
func BenchmarkLockCancellable(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		b.ReportAllocs()
		var l Lock
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		for b.Loop() {
			r := <-l.Acquire(ctx)
			r()
		}
	})
}

func BenchmarkLockTryAcquire(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		b.ReportAllocs()
		var l Lock
		for b.Loop() {
			if r, ok := l.TryAcquire(); ok {
				r()
			}
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		b.ReportAllocs()
		mu := make(chan struct{}, 1)
		for b.Loop() {
			select {
			case mu <- struct{}{}:
				<-mu
			default:
			}
		}
	})
	b.Run("impl=mutex", func(b *testing.B) {
		b.ReportAllocs()
		var mu sync.Mutex
		for b.Loop() {
			if mu.TryLock() {
				mu.Unlock()
			}
		}
	})
}
