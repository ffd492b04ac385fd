package chans

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Condition ported from tornado's tests, named TestConditionTornado*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's
// test/test_condition.py and tornado's tornado/test/locks_test.py
// (ConditionTest) name their origin. A wait's timeout is a ctx deadline: the
// channel closes empty (tornado's wait() resolving to False).

// tornado ConditionTest.test_nested_notify: a woken waiter that notifies in
// turn wakes the next; no notification is lost.
func TestConditionTornadoNestedNotify(t *testing.T) {
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
func TestConditionTornadoTimedOutWaitersLeave(t *testing.T) {
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
