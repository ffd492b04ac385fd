package chans

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Behaviour tests for Condition. Cases ported from toro's
// test/test_condition.py and tornado's tornado/test/locks_test.py
// (ConditionTest) name their origin. A wait's timeout is a ctx deadline: the
// channel closes empty (tornado's wait() resolving to False).

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

// toro test_condition.py: test_str; tornado ConditionTest.test_repr.
func TestConditionString(t *testing.T) {
	is := is.New(t)
	var c Condition
	is.Equal(c.String(), "Condition(waiters=0)")
	c.Wait(context.Background())
	is.Equal(c.String(), "Condition(waiters=1)")
}

// toro test_condition.py: test_notify; tornado ConditionTest.test_notify.
func TestConditionNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		time.AfterFunc(10*time.Millisecond, func() { c.Notify(1) })
		start := time.Now()
		_, ok := <-c.Wait(context.Background())
		is.True(ok)
		is.Equal(time.Since(start), 10*time.Millisecond)
	})
}

// toro test_condition.py: test_notify_1; tornado ConditionTest.test_notify_1.
func TestConditionNotifyOne(t *testing.T) {
	is := is.New(t)
	var c Condition
	var rec waitRecorder
	rec.add(c.Wait(context.Background()), "wait1")
	rec.add(c.Wait(context.Background()), "wait2")
	c.Notify(1)
	rec.poll()
	rec.history = append(rec.history, "notify1")
	c.Notify(1)
	rec.poll()
	rec.history = append(rec.history, "notify2")
	is.Equal(rec.history, []any{"wait1", "notify1", "wait2", "notify2"})
}

// toro test_condition.py: test_notify_n; tornado ConditionTest.test_notify_n.
func TestConditionNotifyN(t *testing.T) {
	is := is.New(t)
	var c Condition
	var rec waitRecorder
	for i := range 6 {
		rec.add(c.Wait(context.Background()), i)
	}
	c.Notify(3)
	is.Equal(rec.poll(), []any{0, 1, 2})
	c.Notify(1)
	is.Equal(rec.poll(), []any{0, 1, 2, 3})
	c.Notify(2)
	is.Equal(rec.poll(), []any{0, 1, 2, 3, 4, 5})
}

// toro test_condition.py: test_notify_all; tornado ConditionTest.test_notify_all.
func TestConditionNotifyAll(t *testing.T) {
	is := is.New(t)
	var c Condition
	var rec waitRecorder
	for i := range 4 {
		rec.add(c.Wait(context.Background()), i)
	}
	c.NotifyAll()
	rec.poll()
	rec.history = append(rec.history, "notify_all")
	is.Equal(rec.history, []any{0, 1, 2, 3, "notify_all"})
}

// toro test_condition.py: test_wait_timeout; tornado
// ConditionTest.test_wait_timeout: a Notify after the deadline is too late,
// and is not stored for later waiters either.
func TestConditionWaitTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		w := c.Wait(ctx)
		time.AfterFunc(20*time.Millisecond, func() { c.Notify(1) })
		start := time.Now()
		_, ok := <-w
		is.True(!ok)
		is.Equal(time.Since(start), 10*time.Millisecond)
		time.Sleep(30 * time.Millisecond)
		_, _, ready := recvNow(c.Wait(context.Background()))
		is.True(!ready) // the late notification was lost, as with sync.Cond
	})
}

// toro test_condition.py: test_wait_timeout_preempted; tornado
// ConditionTest.test_wait_timeout_preempted.
func TestConditionWaitTimeoutPreempted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		time.AfterFunc(10*time.Millisecond, func() { c.Notify(1) })
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, ok := <-c.Wait(ctx)
		is.True(ok)
		is.Equal(time.Since(start), 10*time.Millisecond) // woken by Notify, not the deadline
	})
}

// toro test_condition.py: test_notify_n_with_timeout; tornado
// ConditionTest.test_notify_n_with_timeout: a timed-out waiter does not
// count against Notify's n.
func TestConditionNotifyNSkipsTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		var rec waitRecorder
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		rec.add(c.Wait(context.Background()), 0)
		rec.add(c.Wait(ctx), 1)
		rec.add(c.Wait(context.Background()), 2)
		rec.add(c.Wait(context.Background()), 3)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(rec.poll(), []any{"timeout"})
		c.Notify(2)
		is.Equal(rec.poll(), []any{"timeout", 0, 2})
		c.Notify(1)
		is.Equal(rec.poll(), []any{"timeout", 0, 2, 3})
	})
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

// toro test_condition.py: test_notify_all_with_timeout; tornado
// ConditionTest.test_notify_all_with_timeout.
func TestConditionNotifyAllSkipsTimedOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		var rec waitRecorder
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		rec.add(c.Wait(context.Background()), 0)
		rec.add(c.Wait(ctx), 1)
		rec.add(c.Wait(context.Background()), 2)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(rec.poll(), []any{"timeout"})
		c.NotifyAll()
		is.Equal(rec.poll(), []any{"timeout", 0, 2})
	})
}

// tornado ConditionTest.test_nested_notify: a woken waiter that notifies in
// turn wakes the next; no notification is lost.
func TestConditionNestedNotify(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ws := []<-chan struct{}{
			c.Wait(context.Background()),
			c.Wait(context.Background()),
			c.Wait(context.Background()),
		}
		var second atomic.Bool
		go func() {
			_, ok := <-ws[1]
			second.Store(ok)
			c.Notify(1)
		}()
		c.Notify(2)
		synctest.Wait()
		is.True(second.Load())
		for _, w := range []<-chan struct{}{ws[0], ws[2]} {
			_, ok, ready := recvNow(w)
			is.True(ready && ok)
		}
	})
}

// tornado ConditionTest.test_garbage_collection: timed-out waiters leave the
// queue by themselves; the live one is still notified.
func TestConditionTimedOutWaitersLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var c Condition
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		for range 101 {
			c.Wait(ctx)
		}
		live := c.Wait(context.Background())
		is.Equal(condInside(&c, false, nil).queued, 102)
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		is.Equal(condInside(&c, false, nil).queued, 1)
		_, _, ready := recvNow(live)
		is.True(!ready)
		c.Notify(1)
		_, ok, ready := recvNow(live)
		is.True(ready && ok)
	})
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
