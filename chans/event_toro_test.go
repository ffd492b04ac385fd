package chans

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Event ported from toro's tests, named TestEventToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's test/test_event.py and
// tornado's tornado/test/locks_test.py (EventTest) name their origin. Wait
// takes no deadline (W6); a timed wait is a select on a ctx.

// toro test_event.py: test_str; tornado EventTest.test_repr.
func TestEventToroString(t *testing.T) {
	is := is.New(t)
	var e Event
	is.Equal(e.String(), "Event(clear)")
	e.Set()
	is.Equal(e.String(), "Event(set)")
}

// toro test_event.py: test_event_1 and test_event_100: channels obtained
// before a Set are closed by it, even though Clear follows at once.
func TestEventToroSetThenClear(t *testing.T) {
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

// toro test_event.py: test_event_timeout; tornado EventTest.test_event_timeout.
func TestEventToroWaitTimeout(t *testing.T) {
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
func TestEventToroSetWaitIsImmediate(t *testing.T) {
	is := is.New(t)
	var e Event
	e.Set()
	is.True(e.IsSet())
	is.True(isClosed(e.Wait()))
}
