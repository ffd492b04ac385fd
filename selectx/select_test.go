package selectx

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestSelectRunsTheWinnersFuncOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		lock := newPool(1)
		var got []string
		i, err := Select(t.Context(),
			On(after(time.Second, 42), func(n int) { got = append(got, "number") }),
			On(lock.acquire, func(release func()) {
				got = append(got, "lock")
				release()
			}),
		)
		is.NoErr(err)
		is.Equal(i, 1)
		is.Equal(got, []string{"lock"})
	})
}

func TestSelectTieGoesToArgumentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(1), newPool(1)
		var took func()
		i, err := Select(t.Context(),
			On(valueOp("ready"), nil),
			On(a.acquire, func(r func()) { took = r }),
			On(b.acquire, func(r func()) { took = r }),
		)
		is.NoErr(err)
		is.Equal(i, 0)
		is.True(took == nil)
		synctest.Wait()
		for _, p := range []*pool{a, b} {
			free, _, _ := p.state()
			is.Equal(free, 1) // both buffered grants went back
		}
	})
}

func TestSelectBlocksUntilOneDelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(0), newPool(0)
		var n int
		i, err := Select(t.Context(),
			On(a.acquire, func(r func()) { r() }),
			On(closedOp[string], func(string) { t.Error("closed op ran") }),
			On(after(time.Second, 7), func(v int) { n = v }),
			On(b.acquire, func(r func()) { r() }),
		)
		is.NoErr(err)
		is.Equal(i, 2)
		is.Equal(n, 7)
		synctest.Wait()
		for _, p := range []*pool{a, b} {
			_, waiting, _ := p.state()
			is.Equal(waiting, 0)
		}
	})
}

func TestSelectFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a := newPool(0)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		i, err := Select(ctx, On(a.acquire, func(func()) { t.Error("ran") }))
		is.Equal(i, -1)
		is.True(errors.Is(err, context.DeadlineExceeded))

		i, err = Select(ctx, On(valueOp(1), nil)) // done at the call
		is.Equal(i, -1)
		is.True(errors.Is(err, context.DeadlineExceeded))

		closesLater := func(context.Context) <-chan int {
			c := make(chan int)
			time.AfterFunc(time.Second, func() { close(c) })
			return c
		}
		i, err = Select(t.Context(), On(closedOp[int], nil), On(closesLater, nil))
		is.Equal(i, -1)
		is.Equal(err, ErrClosed)
	})
}

// A channel that signals by closing, as a set Event's Wait does, is no op:
// its branch drops out rather than wins. (On's doc once offered an Event's
// Wait as an op to use with a nil then.)
func TestSelectClosingChannelDropsOut(t *testing.T) {
	is := is.New(t)
	set := make(chan struct{})
	close(set) // what a set Event's Wait returns
	ran := false
	i, err := Select(t.Context(), On(Chan[struct{}](set), func(struct{}) { ran = true }))
	is.Equal(i, -1)
	is.Equal(err, ErrClosed)
	is.True(!ran)
}

func TestSelectPanicsOnBadInput(t *testing.T) {
	mustPanic(t, "selectx: Select needs at least one case", func() { Select(t.Context()) })
	mustPanic(t, "selectx: Select: case 1 is the zero Case", func() { Select(t.Context(), On(valueOp(1), nil), Case{}) })
	mustPanic(t, "selectx: On with a nil op", func() { On[int](nil, nil) })
}
