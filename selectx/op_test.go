package selectx_test

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// Closed: a channel already closed wins at once, in argument order.
func TestClosedAlreadyClosed(t *testing.T) {
	is := is.New(t)
	var e chans.Event
	e.Set()
	ch := selectx.Closed(e.Wait())(context.Background())
	_, ok := <-ch
	is.True(ok) // delivers a value: it took effect
	_, ok = <-ch
	is.True(!ok) // then is closed

	var l chans.Lock
	i, err := selectx.Select(t.Context(),
		selectx.On(selectx.Closed(e.Wait()), nil),
		selectx.On(l.Acquire, func(r chans.Release) { r() }),
	)
	is.NoErr(err)
	is.Equal(i, 0)       // the earliest ready case wins
	is.True(!l.Locked()) // and the lock was never taken
}

// Closed over an Event that is set later: Select returns it, and the lock
// the other branch was queued for is given back, not lost.
func TestClosedWinsWhenSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l chans.Lock
		var shutdown chans.Event
		held, _ := l.TryAcquire()
		got := make(chan int)
		go func() {
			i, err := selectx.Select(t.Context(),
				selectx.On(l.Acquire, func(r chans.Release) { r() }),
				selectx.On(selectx.Closed(shutdown.Wait()), nil),
			)
			is.NoErr(err)
			got <- i
		}()
		synctest.Wait()
		shutdown.Set()
		is.Equal(<-got, 1)
		held()
		is.True(!l.Locked()) // the queued Acquire left without a grant
		synctest.Wait()      // and Closed's goroutine has ended (or synctest would say so)
	})
}

// Closed's channel is closed without a value when ctx ends first, and its
// goroutine ends with it.
func TestClosedCtxEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		never := make(chan struct{})
		ctx, cancel := context.WithCancel(t.Context())
		ch := selectx.Closed(never)(ctx)
		synctest.Wait()
		select {
		case <-ch:
			t.Fatal("delivered before anything happened")
		default:
		}
		cancel()
		_, ok := <-ch
		is.True(!ok)

		ended, stop := context.WithCancel(t.Context())
		stop()
		_, ok = <-selectx.Closed(never)(ended) // W4: already ended, no goroutine
		is.True(!ok)
	})
}

func TestClosedPanicsOnNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Closed(nil) did not panic")
		}
	}()
	selectx.Closed(nil)
}
