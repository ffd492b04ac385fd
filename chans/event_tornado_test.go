package chans

import (
	"testing"

	"github.com/matryer/is"
)

// The cases of Event ported from tornado's tests, named TestEventTornado*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's test/test_event.py and
// tornado's tornado/test/locks_test.py (EventTest) name their origin. Wait
// takes no deadline (W6); a timed wait is a select on a ctx.

// tornado EventTest.test_event: before Set, after Set, after Clear.
func TestEventTornadoWaitAcrossSetAndClear(t *testing.T) {
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
func TestEventTornadoSetTwice(t *testing.T) {
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
func TestEventTornadoWaitClearSet(t *testing.T) {
	is := is.New(t)
	var e Event
	f0 := e.Wait()
	e.Clear()
	f1 := e.Wait()
	e.Set()
	is.True(isClosed(f0))
	is.True(isClosed(f1))
}
