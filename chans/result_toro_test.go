package chans

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// The cases of Result ported from toro's tests, named TestResultToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's
// test/test_async_result.py (AsyncResult) name their origin. toro's
// get(deadline) raising Timeout is Get(ctx) closing empty with ctx.Err() ==
// context.DeadlineExceeded; get_nowait raising NotReady is TryGet returning
// ErrNotReady; set raising AlreadySet is ErrAlreadySet. toro's test_str has
// no counterpart: Result has no String method.

// toro test_async_result.py: test_get_nowait.
func TestResultToroTryGetNotReady(t *testing.T) {
	is := is.New(t)
	var r Result[string]
	_, err := r.TryGet()
	is.Equal(err, ErrNotReady)
	is.True(!r.Ready())
}

// toro test_async_result.py: test_raises_after_timeout.
func TestResultToroGetTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var r Result[string]
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, ok := <-r.Get(ctx)
		is.True(!ok)
		is.Equal(time.Since(start), 100*time.Millisecond)
		is.Equal(ctx.Err(), context.DeadlineExceeded)
	})
}

// toro test_async_result.py: test_set: a Get waiting when Set happens gets
// the value; later Gets and TryGet get it too; a second Set fails.
func TestResultToroSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var r Result[string]
		is.True(!r.Ready())
		time.AfterFunc(100*time.Millisecond, func() { r.Set("hello") })
		start := time.Now()
		v, ok := <-r.Get(context.Background())
		is.True(ok)
		is.Equal(time.Since(start), 100*time.Millisecond)
		is.True(r.Ready())
		is.Equal(v, "hello")
		for range 2 { // second and third Gets work too
			v, ok, ready := recvNow(r.Get(context.Background()))
			is.True(ready && ok)
			is.Equal(v, "hello")
		}
		v, err := r.TryGet()
		is.NoErr(err)
		is.Equal(v, "hello")
		is.Equal(r.Set("whatever"), ErrAlreadySet)
		is.Equal(r.Fail(errors.New("late")), ErrAlreadySet)
		v, _ = r.TryGet()
		is.Equal(v, "hello") // unchanged
	})
}

// toro test_async_result.py: test_get_callback: every Get waiting is served
// by the Set call itself.
func TestResultToroGetWaitersServedBySet(t *testing.T) {
	is := is.New(t)
	var r Result[string]
	g1 := r.Get(context.Background())
	g2 := r.Get(context.Background())
	is.NoErr(r.Set("foo"))
	var history []string
	for i, g := range []<-chan string{g1, g2} {
		if v, ok, ready := recvNow(g); ready && ok && v == "foo" {
			history = append(history, []string{"get1", "get2"}[i])
		}
	}
	history = append(history, "set")
	is.Equal(history, []string{"get1", "get2", "set"})
}

// toro test_async_result.py: test_get_timeout: a timed-out Get does not
// disturb a later Set and Get.
func TestResultToroGetTimeoutThenSet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var r Result[string]
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, ok := <-r.Get(ctx)
		is.True(!ok)
		is.True(!r.Ready())
		is.NoErr(r.Set("foo"))
		is.True(r.Ready())
		ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel2()
		v, ok := <-r.Get(ctx2)
		is.True(ok)
		is.Equal(v, "foo")
	})
}
