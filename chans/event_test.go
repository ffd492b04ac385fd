package chans

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Behaviour tests for Event. Cases ported from toro's test/test_event.py and
// tornado's tornado/test/locks_test.py (EventTest) name their origin. Wait
// takes no deadline (W6); a timed wait is a select on a ctx.

// toro test_event.py: test_str; tornado EventTest.test_repr.
func TestEventString(t *testing.T) {
	is := is.New(t)
	var e Event
	is.Equal(e.String(), "Event(clear)")
	e.Set()
	is.Equal(e.String(), "Event(set)")
}

// toro test_event.py: test_event_1 and test_event_100: channels obtained
// before a Set are closed by it, even though Clear follows at once.
func TestEventSetThenClear(t *testing.T) {
	for _, n := range []int{1, 100} {
		is := is.New(t)
		var e Event
		var ws []<-chan struct{}
		for range n {
			ws = append(ws, e.Wait())
		}
		e.Set()
		e.Clear()
		for _, w := range ws {
			is.True(isClosed(w))
		}
		is.True(!isClosed(e.Wait())) // a wait after the Clear blocks
	}
}

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

// toro test_event.py: test_event_timeout; tornado EventTest.test_event_timeout.
func TestEventWaitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var e Event
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		select {
		case <-e.Wait():
			t.Fatal("Wait ended on a clear event")
		case <-ctx.Done():
		}
		is.Equal(time.Since(start), 100*time.Millisecond)
		// After a timed-out waiter, normal operation works.
		time.AfterFunc(100*time.Millisecond, e.Set)
		ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		start = time.Now()
		select {
		case <-e.Wait():
		case <-ctx2.Done():
			t.Fatal("Set did not end the wait")
		}
		is.Equal(time.Since(start), 100*time.Millisecond)
	})
}

// toro test_event.py: test_event_nowait: a set event's Wait is closed at once.
func TestEventSetWaitIsImmediate(t *testing.T) {
	is := is.New(t)
	var e Event
	e.Set()
	is.True(e.IsSet())
	is.True(isClosed(e.Wait()))
}

// tornado EventTest.test_event: before Set, after Set, after Clear.
func TestEventWaitAcrossSetAndClear(t *testing.T) {
	is := is.New(t)
	var e Event
	f0 := e.Wait()
	e.Set()
	f1 := e.Wait()
	e.Clear()
	f2 := e.Wait()
	is.True(isClosed(f0))
	is.True(isClosed(f1))
	is.True(!isClosed(f2))
	is.True(!e.IsSet())
}

// tornado EventTest.test_event_set_multiple: setting twice is harmless.
func TestEventSetTwice(t *testing.T) {
	is := is.New(t)
	var e Event
	w := e.Wait()
	e.Set()
	e.Set()
	is.True(e.IsSet())
	is.True(isClosed(w))
}

// tornado EventTest.test_event_wait_clear: a Clear on a clear event changes
// nothing; waits before and after it end at the Set.
func TestEventWaitClearSet(t *testing.T) {
	is := is.New(t)
	var e Event
	f0 := e.Wait()
	e.Clear()
	f1 := e.Wait()
	e.Set()
	is.True(isClosed(f0))
	is.True(isClosed(f1))
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
