package selectx

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestCompletedYieldsInCompletionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var got []string
		for i, v := range Completed(t.Context(),
			after(3*time.Second, "slow"), after(time.Second, "fast"), closedOp[string], after(2*time.Second, "medium")) {
			is.Equal(v, []string{"slow", "fast", "", "medium"}[i])
			got = append(got, v)
		}
		is.Equal(got, []string{"fast", "medium", "slow"}) // the closed op is skipped
	})
}

func TestCompletedTiesInArgumentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var got []int
		for i := range Completed(t.Context(), valueOp(0), valueOp(1), valueOp(2), valueOp(3), valueOp(4)) {
			got = append(got, i)
		}
		is.Equal(got, []int{0, 1, 2, 3, 4})
	})
}

func TestCompletedBreakCancelsTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ps := []*pool{newPool(0), newPool(1), newPool(1)}
		for i, release := range Completed(t.Context(), ps[0].acquire, ps[1].acquire, ps[2].acquire) {
			is.Equal(i, 1)
			release()
			break
		}
		synctest.Wait()
		for _, p := range ps[1:] {
			free, _, _ := p.state()
			is.Equal(free, 1) // p2's buffered grant came back
		}
		_, waiting, _ := ps[0].state()
		is.Equal(waiting, 0)
	})
}

func TestCompletedEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(1), newPool(0)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		n := 0
		for _, release := range Completed(ctx, a.acquire, b.acquire) {
			n++
			release()
		}
		is.Equal(n, 1)
		is.Equal(ctx.Err(), context.DeadlineExceeded) // how the caller tells
		synctest.Wait()
		_, waiting, _ := b.state()
		is.Equal(waiting, 0)

		n = 0
		for range Completed(ctx, a.acquire) {
			n++
		}
		is.Equal(n, 0) // a done ctx starts nothing
		_, _, calls := a.state()
		is.Equal(calls, 1)
	})
}

func TestCompletedPanicsOnNilOp(t *testing.T) {
	mustPanic(t, "selectx: Completed: op 0 is nil", func() { Completed[int](t.Context(), nil) })
}
