package selectx

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestAllReturnsValuesInArgumentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		vs, err := All(t.Context(), after(3*time.Second, "a"), after(time.Second, "b"), valueOp("c"))
		is.NoErr(err)
		is.Equal(vs, []string{"a", "b", "c"})
	})
}

func TestAllReturnsReceivedValuesWhenContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b, c := newPool(1), newPool(0), newPool(1)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		rs, err := All(ctx, a.acquire, b.acquire, c.acquire)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.Equal(len(rs), 3)
		is.True(rs[0] != nil) // received: the caller's to release
		is.True(rs[1] == nil) // never delivered
		is.True(rs[2] != nil)
		synctest.Wait()
		_, waiting, _ := b.state()
		is.Equal(waiting, 0) // b's waiter was cancelled
		for _, r := range rs {
			if r != nil {
				r()
			}
		}
		for _, p := range []*pool{a, c} {
			free, _, _ := p.state()
			is.Equal(free, 1)
		}
	})
}

func TestAllFailsFastOnAClosedOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(0), newPool(1)
		rs, err := All(t.Context(), a.acquire, closedOp[func()], b.acquire)
		is.True(errors.Is(err, ErrClosed))
		var oe *OpError
		is.True(errors.As(err, &oe))
		is.Equal(oe.Index, 1)
		is.Equal(err.Error(), "selectx: op 1 closed without a value")
		is.True(rs[0] == nil)
		if rs[2] != nil { // taken before the closed op was seen
			rs[2]()
		}
		synctest.Wait()
		_, waiting, _ := a.state()
		is.Equal(waiting, 0)
		free, _, _ := b.state()
		is.Equal(free, 1)
	})
}

func TestAllEdgeCases(t *testing.T) {
	is := is.New(t)
	vs, err := All[int](t.Context())
	is.NoErr(err)
	is.Equal(len(vs), 0)

	a := newPool(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	rs, err := All(ctx, a.acquire)
	is.Equal(err, context.Canceled)
	is.True(rs[0] == nil)
	_, _, calls := a.state()
	is.Equal(calls, 0)

	mustPanic(t, "selectx: All: op 0 is nil", func() { All[int](t.Context(), nil) })
}
