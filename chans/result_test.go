package chans

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// Turnstile's own tests of Result; the cases ported from toro are in
// result_toro_test.go, named TestResultToro* and so on.

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
