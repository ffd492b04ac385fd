package chans

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Turnstile's own tests of Condition; the cases ported from toro and tornado are in
// condition_toro_test.go and condition_tornado_test.go, named TestConditionToro* and so on.

// waitRecorder records, in order, which Condition.Wait channels have
// yielded: their key if notified, "timeout" if closed empty.
type waitRecorder struct {
	chans   []<-chan struct{}
	keys    []any
	done    []bool
	history []any
}

func (w *waitRecorder) add(ch <-chan struct{}, key any) {
	w.chans = append(w.chans, ch)
	w.keys = append(w.keys, key)
	w.done = append(w.done, false)
}

// poll records, in registration order, every wait that has ended since the
// last poll.
func (w *waitRecorder) poll() []any {
	for i, ch := range w.chans {
		if w.done[i] {
			continue
		}
		if _, ok, ready := recvNow(ch); ready {
			w.done[i] = true
			if ok {
				w.history = append(w.history, w.keys[i])
			} else {
				w.history = append(w.history, "timeout")
			}
		}
	}
	return w.history
}

// Notify(n) also skips a waiter whose ctx ended but whose AfterFunc has not
// run yet: ended waiters never count, whether or not they have left.
func TestConditionNotifySkipsJustEnded(t *testing.T) {
	is := is.New(t)
	var c Condition
	var rec waitRecorder
	ctx, cancel := context.WithCancel(context.Background())
	rec.add(c.Wait(ctx), 0)
	rec.add(c.Wait(context.Background()), 1)
	cancel()
	c.Notify(1)
	is.Equal(rec.poll(), []any{"timeout", 1})
}

// A notification that reached a waiter whose ctx ended before it received
// is passed to the next waiter: by the AfterFunc alone inside a bubble, and
// by the very next call outside one (W3).
func TestConditionNotifyReclaimedGoesToNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ctx, cancel := context.WithCancel(context.Background())
		w1 := c.Wait(ctx)
		w2 := c.Wait(context.Background())
		w3 := c.Wait(context.Background())
		c.Notify(1) // reaches w1, sits in its buffer
		is.Equal(len(w1), 1)
		cancel()
		synctest.Wait()
		_, ok, ready := recvNow(w2)
		is.True(ready && ok)
		_, _, ready = recvNow(w3)
		is.True(!ready) // passed on once, not duplicated
		_, ok = <-w1
		is.True(!ok)
	})
	t.Run("no-wait", func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ctx, cancel := context.WithCancel(context.Background())
		w1 := c.Wait(ctx)
		w2 := c.Wait(context.Background())
		w3 := c.Wait(context.Background())
		c.Notify(1)
		cancel()
		is.Equal(c.String(), "Condition(waiters=1)") // w2 notified within the call, w3 not
		_, ok, ready := recvNow(w2)
		is.True(ready && ok)
		_, _, ready = recvNow(w3)
		is.True(!ready)
		_, ok = <-w1
		is.True(!ok)
	})
}

// A reclaimed notification with nobody left to take it lapses: it is not
// stored for a waiter that comes later.
func TestConditionReclaimedNotifyLapses(t *testing.T) {
	is := is.New(t)
	var c Condition
	ctx, cancel := context.WithCancel(context.Background())
	w1 := c.Wait(ctx)
	c.Notify(1)
	cancel()
	is.Equal(c.String(), "Condition(waiters=0)")
	_, ok := <-w1
	is.True(!ok)
	_, _, ready := recvNow(c.Wait(context.Background()))
	is.True(!ready)
	is.Equal(condInside(&c, false, nil).owed, 0)
}

// NotifyAll's notifications are final: one left unreceived by a waiter
// whose ctx then ends is still that waiter's, and nobody else gets it.
func TestConditionNotifyAllNotReclaimed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ctx, cancel := context.WithCancel(context.Background())
		w1 := c.Wait(ctx)
		w2 := c.Wait(context.Background())
		c.NotifyAll()
		w3 := c.Wait(context.Background())
		cancel()
		synctest.Wait()
		is.Equal(c.String(), "Condition(waiters=1)")
		_, ok := <-w1
		is.True(ok) // delivered for good
		_, ok = <-w2
		is.True(ok)
		_, _, ready := recvNow(w3)
		is.True(!ready) // NotifyAll meant the waiters of its moment
	})
}

// W8: a negative n panics.
func TestConditionNotifyNegativePanics(t *testing.T) {
	var c Condition
	isChansPanic(t, func() { c.Notify(-1) })
}
