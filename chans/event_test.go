package chans

import (
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Turnstile's own tests of Event; the cases ported from toro and tornado are in
// event_toro_test.go and event_tornado_test.go, named TestEventToro* and so on.

// The same with goroutines blocked in a receive when Set and Clear happen.
func TestEventSetThenClearWakesBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var e Event
		var wg sync.WaitGroup
		for range 10 {
			w := e.Wait()
			wg.Go(func() { <-w })
		}
		synctest.Wait()
		e.Set()
		e.Clear()
		wg.Wait() // every blocked waiter was released
	})
}

// Waiters of one round share a channel; a new round after Clear gets a new
// one, so a second Set wakes only it.
func TestEventRounds(t *testing.T) {
	is := is.New(t)
	var e Event
	a, b := e.Wait(), e.Wait()
	is.Equal(a, b)
	e.Set()
	e.Clear()
	c := e.Wait()
	is.True(c != a)
	is.True(!isClosed(c))
	e.Set()
	is.True(isClosed(c))
}

// W6: Wait on a set event returns the shared closed channel and allocates
// nothing.
func TestEventWaitSetAllocatesNothing(t *testing.T) {
	var e Event
	e.Set()
	allocs := testing.AllocsPerRun(100, func() { <-e.Wait() })
	is.New(t).Equal(allocs, 0.0)
}

// BenchmarkEventWait receives from Wait on a set event, beside a receive
// from a closed channel: both should cost no allocation.
func BenchmarkEventWait(b *testing.B) {
	b.Run("impl=chans", func(b *testing.B) {
		b.ReportAllocs()
		var e Event
		e.Set()
		for b.Loop() {
			<-e.Wait()
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		b.ReportAllocs()
		done := make(chan struct{})
		close(done)
		for b.Loop() {
			<-done
		}
	})
}
