package chans

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Behaviour tests for Result. Cases ported from toro's
// test/test_async_result.py (AsyncResult) name their origin. toro's
// get(deadline) raising Timeout is Get(ctx) closing empty with ctx.Err() ==
// context.DeadlineExceeded; get_nowait raising NotReady is TryGet returning
// ErrNotReady; set raising AlreadySet is ErrAlreadySet. toro's test_str has
// no counterpart: Result has no String method.

// toro test_async_result.py: test_get_nowait.
func TestResultTryGetNotReady(t *testing.T) {
	is := is.New(t)
	var r Result[string]
	_, err := r.TryGet()
	is.Equal(err, ErrNotReady)
	is.True(!r.Ready())
}

// toro test_async_result.py: test_raises_after_timeout.
func TestResultGetTimeout(t *testing.T) {
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
func TestResultSet(t *testing.T) {
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
func TestResultGetWaitersServedBySet(t *testing.T) {
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
func TestResultGetTimeoutThenSet(t *testing.T) {
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

// A failed result: Get closes empty (waiting or not), TryGet returns the
// failure, Done is closed, and neither Set nor Fail can change it.
func TestResultFail(t *testing.T) {
	is := is.New(t)
	var r Result[int]
	boom := errors.New("boom")
	g := r.Get(context.Background())
	done := r.Done()
	is.True(!isClosed(done))
	is.NoErr(r.Fail(boom))
	_, ok, ready := recvNow(g)
	is.True(ready && !ok)
	_, ok, ready = recvNow(r.Get(context.Background()))
	is.True(ready && !ok)
	is.True(isClosed(done))
	is.True(r.Ready())
	_, err := r.TryGet()
	is.Equal(err, boom)
	is.Equal(r.Fail(errors.New("again")), ErrAlreadySet)
	is.Equal(r.Set(1), ErrAlreadySet)
	_, err = r.TryGet()
	is.Equal(err, boom)
}

// Fail(nil) could not be told from success: it panics.
func TestResultFailNilPanics(t *testing.T) {
	var r Result[int]
	isChansPanic(t, func() { r.Fail(nil) })
	is.New(t).True(!r.Ready())
}

// Done is shared, closed by Set, and after that a closed channel that
// allocates nothing (W6).
func TestResultDone(t *testing.T) {
	is := is.New(t)
	var r Result[int]
	d1, d2 := r.Done(), r.Done()
	is.Equal(d1, d2)
	is.True(!isClosed(d1))
	is.NoErr(r.Set(7))
	is.True(isClosed(d1))
	is.True(isClosed(r.Done()))
	allocs := testing.AllocsPerRun(100, func() { <-r.Done() })
	is.Equal(allocs, 0.0)
}

// The value goes to every caller, and a caller that never receives takes
// nothing from anyone.
func TestResultValueIsShared(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var r Result[int]
		_ = r.Get(context.Background()) // never received
		var wg sync.WaitGroup
		got := make([]int, 5)
		for i := range got {
			wg.Go(func() { got[i] = <-r.Get(context.Background()) })
		}
		synctest.Wait()
		is.NoErr(r.Set(42))
		wg.Wait()
		is.Equal(got, []int{42, 42, 42, 42, 42})
	})
}
