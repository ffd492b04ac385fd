package selectx

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestGroupCallbackThenWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, int]
		done, err := g.Callback("fetch")
		is.NoErr(err)
		time.AfterFunc(time.Second, func() { done(200) })
		v, err := g.Wait(t.Context(), "fetch")
		is.NoErr(err)
		is.Equal(v, 200)

		_, err = g.Wait(t.Context(), "fetch") // taken: no longer registered
		is.True(errors.Is(err, ErrUnknownKey))
		is.Equal(err.Error(), "selectx: unknown key: fetch")
		_, err = g.Callback("fetch") // so the key may be used again
		is.NoErr(err)
		is.NoErr(g.Cancel("fetch"))
		is.NoErr(g.Close())
	})
}

func TestGroupKeyReuse(t *testing.T) {
	is := is.New(t)
	var g Group[int, string]
	_, err := g.Callback(1)
	is.NoErr(err)
	_, err = g.Callback(1)
	is.True(errors.Is(err, ErrKeyReuse))
	is.Equal(err.Error(), "selectx: key already registered: 1")
	is.True(errors.Is(g.After(1, time.Second), ErrKeyReuse))
	g.CancelAll()
	is.NoErr(g.Close())
}

func TestGroupWaitAnyPrefersArgumentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, string]
		a, _ := g.Callback("a")
		b, _ := g.Callback("b")
		c, _ := g.Callback("c")
		c("C")
		b("B")
		k, v, err := g.WaitAny(t.Context(), "a", "c", "b")
		is.NoErr(err)
		is.Equal(k, "c") // b and c were both done: c comes first in the call
		is.Equal(v, "C")
		a("A")
		k, _, err = g.WaitAny(t.Context(), "a", "b")
		is.NoErr(err)
		is.Equal(k, "a")
		k, _, err = g.WaitAny(t.Context(), "b")
		is.NoErr(err)
		is.Equal(k, "b")
		is.NoErr(g.Close())
	})
}

func TestGroupAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, int]
		start := time.Now()
		is.NoErr(g.After("timeout", 3*time.Second))
		work, _ := g.Callback("work")
		time.AfterFunc(5*time.Second, func() { work(1) })

		k, v, err := g.WaitAny(t.Context(), "work", "timeout")
		is.NoErr(err)
		is.Equal(k, "timeout")
		is.Equal(v, 0)
		is.Equal(time.Since(start), 3*time.Second)

		k, v, err = g.WaitAny(t.Context(), "work")
		is.NoErr(err)
		is.Equal(k, "work")
		is.Equal(v, 1)
		is.NoErr(g.Close())
	})
}

func TestGroupCancelStopsTheTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, int]
		is.NoErr(g.After("timeout", time.Second))
		is.NoErr(g.Cancel("timeout"))
		is.True(errors.Is(g.Cancel("timeout"), ErrUnknownKey))
		time.Sleep(2 * time.Second) // fake time: let the timer's moment pass
		synctest.Wait()
		is.NoErr(g.Close()) // the stopped timer registered nothing
	})
}

func TestGroupCancelWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, int]
		_, _ = g.Callback("a")
		_, _ = g.Callback("b")
		errs := make(chan error, 2)
		go func() { _, err := g.Wait(t.Context(), "a"); errs <- err }()
		go func() { _, _, err := g.WaitAny(t.Context(), "a", "b"); errs <- err }()
		synctest.Wait()
		is.NoErr(g.Cancel("a"))
		is.True(errors.Is(<-errs, ErrUnknownKey))
		is.True(errors.Is(<-errs, ErrUnknownKey))
		is.NoErr(g.Cancel("b"))
		is.NoErr(g.Close())
	})
}

func TestGroupContextEndKeepsTheKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var g Group[string, int]
		done, _ := g.Callback("k")
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, err := g.Wait(ctx, "k")
		is.Equal(err, context.DeadlineExceeded)
		done(5)
		_, err = g.Wait(ctx, "k") // prefer to fail: ctx is done
		is.Equal(err, context.DeadlineExceeded)
		v, err := g.Wait(t.Context(), "k")
		is.NoErr(err)
		is.Equal(v, 5)
	})
}

func TestGroupDiscard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var discarded []string
		g := Group[string, string]{Discard: func(k, v string) { discarded = append(discarded, k+"="+v) }}

		cb, _ := g.Callback("done-then-cancelled")
		cb("1")
		is.NoErr(g.Cancel("done-then-cancelled"))

		cb, _ = g.Callback("cancelled-then-done")
		is.NoErr(g.Cancel("cancelled-then-done"))
		cb("2")

		cb, _ = g.Callback("called-twice")
		cb("3")
		cb("4")
		v, err := g.Wait(t.Context(), "called-twice")
		is.NoErr(err)
		is.Equal(v, "3")
		cb("5") // after Wait took the result

		cb, _ = g.Callback("closed")
		cb("6")
		is.NoErr(g.After("timeout", 0))
		_, _ = g.Callback("never-called")
		synctest.Wait() // the timeout fired
		err = g.Close()
		is.Equal(err.Error(), "selectx: keys neither waited for nor cancelled: [closed timeout never-called]")
		is.Equal(discarded, []string{ // timeouts are not discarded
			"done-then-cancelled=1", "cancelled-then-done=2", "called-twice=4", "called-twice=5", "closed=6"})
		is.NoErr(g.Close())
	})
}

// TestGroupRace hands grants from a pool of four permits to keyed callbacks
// while consumers wait for the keys with contexts that end at random or
// decline to wait; Discard gives back what no Wait collected. Every permit
// must be back at the end.
func TestGroupRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		sem := newPool(4)
		g := Group[int, func()]{Discard: func(_ int, release func()) { release() }}
		var wg sync.WaitGroup
		for k := range 200 {
			cb, err := g.Callback(k)
			is.NoErr(err)
			wg.Go(func() {
				if r, ok := <-sem.acquire(t.Context()); ok {
					cb(r)
				}
			})
			wg.Go(func() {
				if k%5 == 0 {
					if err := g.Cancel(k); err != nil {
						t.Error(err)
					}
					return
				}
				ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rand.IntN(3))*time.Millisecond)
				defer cancel()
				r, err := g.Wait(ctx, k)
				switch {
				case err == nil:
					r()
				case errors.Is(err, context.DeadlineExceeded):
					if err := g.Cancel(k); err != nil {
						t.Error(err)
					}
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		is.NoErr(g.Close())
		free, waiting, _ := sem.state()
		is.Equal(free, 4)
		is.Equal(waiting, 0)
	})
}

func TestGroupWaitAnyPanicsWithoutKeys(t *testing.T) {
	var g Group[int, int]
	mustPanic(t, "selectx: WaitAny needs at least one key", func() { g.WaitAny(t.Context()) })
}
