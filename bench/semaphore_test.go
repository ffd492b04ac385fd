package main

import (
	"testing"

	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/semaphore"
)

// The semaphore benchmarks take and give back 2 of 2 permits, uncontended;
// the baseline is golang.org/x/sync/semaphore.Weighted's Acquire(2) and
// Release(2).

// BenchmarkSemaphoreAcquireN: <-Semaphore.AcquireN(Background, 2) and its
// Release.
func BenchmarkSemaphoreAcquireN(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		s := chans.NewSemaphore(2)
		b.ReportAllocs()
		for b.Loop() {
			r, ok := <-s.AcquireN(bg, 2)
			if !ok {
				b.Fatal("AcquireN(Background, 2) failed")
			}
			r()
		}
	})
	b.Run("impl=xsync", weighted2)
}

// BenchmarkSemaphoreWait: the blocking twin, AcquireNWait(Background, 2).
func BenchmarkSemaphoreWait(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		s := chans.NewSemaphore(2)
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.AcquireNWait(bg, 2)
			if err != nil {
				b.Fatal(err)
			}
			r()
		}
	})
	b.Run("impl=xsync", weighted2)
}

func weighted2(b *testing.B) {
	s := semaphore.NewWeighted(2)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Acquire(bg, 2); err != nil {
			b.Fatal(err)
		}
		s.Release(2)
	}
}
