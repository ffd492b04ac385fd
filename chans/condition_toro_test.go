package chans

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Condition ported from toro's tests, named TestConditionToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's
// test/test_condition.py and tornado's tornado/test/locks_test.py
// (ConditionTest) name their origin. A wait's timeout is a ctx deadline: the
// channel closes empty (tornado's wait() resolving to False).

// toro test_condition.py: test_str; tornado ConditionTest.test_repr.
func TestConditionToroString(t *testing.T) {
	is := is.New(t)
	var c Condition
	is.Equal(c.String(), "Condition(waiters=0)")
	c.Wait(context.Background())
	is.Equal(c.String(), "Condition(waiters=1)")
}

// toro test_condition.py: test_notify; tornado ConditionTest.test_notify.
func TestConditionToroNotify(t *testing.T) {
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
func TestConditionToroNotifyOne(t *testing.T) {
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
func TestConditionToroNotifyN(t *testing.T) {
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
func TestConditionToroNotifyAll(t *testing.T) {
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
func TestConditionToroWaitTimeout(t *testing.T) {
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
func TestConditionToroWaitTimeoutPreempted(t *testing.T) {
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
func TestConditionToroNotifyNSkipsTimedOut(t *testing.T) {
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

// toro test_condition.py: test_notify_all_with_timeout; tornado
// ConditionTest.test_notify_all_with_timeout.
func TestConditionToroNotifyAllSkipsTimedOut(t *testing.T) {
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
