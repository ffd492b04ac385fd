package disttest

import (
	"context"
	"testing"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/selectx"
)

// An Event is one process's handle on an event: an engine's Event. Its Wait
// yields one value, then is closed, once the event is set, and is closed
// without a value if ctx (or the session) ends first.
type Event interface {
	Wait(ctx context.Context) <-chan struct{}
	Set(ctx context.Context) error
	Clear(ctx context.Context) error
	IsSet(ctx context.Context) (bool, error)
}

// Events runs the conformance tests of an event. newEvent returns n handles
// on one fresh, unset event, each from its own session; the suite asks for
// at most 3.
func Events(t *testing.T, newEvent func(t *testing.T, n int) []Event) {
	t.Run("SetWakesEverySession", func(t *testing.T) { evSetWakes(t, newEvent) })
	t.Run("SetThenClearStillWakes", func(t *testing.T) { evSetClear(t, newEvent) })
	t.Run("CancelClosesEmpty", func(t *testing.T) { evCancel(t, newEvent) })
	t.Run("First", func(t *testing.T) { evFirst(t, newEvent) })
}

// set receives the one value of a Wait within Bound.
func set(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case _, ok := <-ch:
		if !ok {
			t.Fatalf("%s: closed without a value", what)
		}
	case <-bounded(t).Done():
		t.Fatalf("%s: not woken within %v", what, Bound)
	}
	if _, ok := recv(t, ch, what+", a second receive"); ok {
		t.Fatalf("%s: a second value", what)
	}
}

// Waits in every session are woken by one Set; a Wait on a set event is
// ready at once; after Clear, a new Wait waits.
func evSetWakes(t *testing.T, newEvent func(*testing.T, int) []Event) {
	is := is.New(t)
	evs := newEvent(t, 3)
	ctx := bounded(t)
	on, err := evs[0].IsSet(ctx)
	is.NoErr(err)
	is.True(!on)
	var ws []<-chan struct{}
	for _, ev := range evs {
		ws = append(ws, ev.Wait(ctx), ev.Wait(ctx))
	}
	for _, w := range ws {
		pending(t, w, "a Wait before Set")
	}
	is.NoErr(evs[1].Set(ctx))
	for _, w := range ws {
		set(t, w, "a Wait before Set")
	}
	for _, ev := range evs {
		on, err := ev.IsSet(ctx)
		is.NoErr(err)
		is.True(on)
		set(t, ev.Wait(ctx), "a Wait on a set event")
	}
	is.NoErr(evs[2].Clear(ctx))
	for _, ev := range evs {
		eventually(t, "IsSet false after Clear", func() bool {
			on, err := ev.IsSet(ctx)
			is.NoErr(err)
			return !on
		})
	}
	w := evs[0].Wait(ctx)
	pending(t, w, "a Wait after Clear")
	is.NoErr(evs[0].Set(ctx))
	set(t, w, "a Wait after Clear, then Set")
}

// A Wait that returned before a Set is woken by it even if a Clear follows
// at once, in every session.
func evSetClear(t *testing.T, newEvent func(*testing.T, int) []Event) {
	is := is.New(t)
	evs := newEvent(t, 3)
	ctx := bounded(t)
	var ws []<-chan struct{}
	for _, ev := range evs {
		ws = append(ws, ev.Wait(ctx))
	}
	is.NoErr(evs[0].Set(ctx))
	is.NoErr(evs[0].Clear(ctx))
	for _, w := range ws {
		set(t, w, "a Wait before a Set and a Clear")
	}
}

// A Wait whose ctx ends is closed without a value, in every session, and
// the event does not count it set.
func evCancel(t *testing.T, newEvent func(*testing.T, int) []Event) {
	is := is.New(t)
	evs := newEvent(t, 2)
	wctx, cancel := context.WithCancel(bounded(t))
	w0, w1 := evs[0].Wait(wctx), evs[1].Wait(wctx)
	cancel()
	closedEmpty(t, w0, "a cancelled Wait")
	closedEmpty(t, w1, "a cancelled Wait")
	done, stop := context.WithCancel(context.Background())
	stop()
	closedEmpty(t, evs[0].Wait(done), "a Wait with an ended ctx")
	on, err := evs[0].IsSet(bounded(t))
	is.NoErr(err)
	is.True(!on)
}

// selectx.First works over Waits directly: the event that is set wins.
func evFirst(t *testing.T, newEvent func(*testing.T, int) []Event) {
	is := is.New(t)
	a, b := newEvent(t, 1), newEvent(t, 1)
	ctx := bounded(t)
	is.NoErr(b[0].Set(ctx))
	i, _, err := selectx.First(ctx, a[0].Wait, b[0].Wait)
	is.NoErr(err)
	is.Equal(i, 1)
}
