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

// groupWorks checks that g still serves calls: a key registered, completed
// and collected. It fails, rather than hangs, if g's lock was left held.
func groupWorks(t *testing.T, g *Group[any, int]) {
	t.Helper()
	within(t, "a Callback and its Wait after a recovered panic", func() {
		cb, err := g.Callback("works")
		if err != nil {
			t.Error(err)
			return
		}
		cb(7)
		if v, err := g.Wait(context.Background(), "works"); err != nil || v != 7 {
			t.Errorf("Wait: %d, %v", v, err)
		}
	})
}

// TestGroupUnhashableKey: a key the map cannot hash (an interface holding a
// slice) panics with a clear message before the Group's state is touched,
// and the Group works on. Callback, Cancel and WaitAny used to panic in the
// map lookup with the Group's mutex held, so every later call blocked.
func TestGroupUnhashableKey(t *testing.T) {
	bad := []int{1}
	var g Group[any, int]
	_, err := g.Callback(2) // a registered key beside the bad one
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method string
		call   func()
	}{
		{"Callback", func() { _, _ = g.Callback(bad) }},
		{"After", func() { _ = g.After(bad, time.Hour) }},
		{"Wait", func() { _, _ = g.Wait(t.Context(), bad) }},
		{"WaitAny", func() { _, _, _ = g.WaitAny(t.Context(), 2, bad) }},
		{"Cancel", func() { _ = g.Cancel(bad) }},
	} {
		mustPanic(t, "selectx: Group."+c.method+": key of unhashable type []int", c.call)
		groupWorks(t, &g)
	}
	if err := g.Close(); err == nil || err.Error() != "selectx: keys neither waited for nor cancelled: [2]" {
		t.Fatalf("Close: %v", err)
	}
}

// TestGroupNilContext: a nil ctx panics with a clear message, not a bare
// nil dereference, before anything is touched.
func TestGroupNilContext(t *testing.T) {
	var nilCtx context.Context
	var g Group[any, int]
	_, _ = g.Callback(1)
	mustPanic(t, "selectx: Group.Wait with a nil Context", func() { _, _ = g.Wait(nilCtx, 1) })
	mustPanic(t, "selectx: Group.WaitAny with a nil Context", func() { _, _, _ = g.WaitAny(nilCtx, 1) })
	groupWorks(t, &g)
	if err := g.Cancel(1); err != nil {
		t.Fatal(err)
	}
}

// TestGroupDiscardPanics: a panic in Discard reaches the caller that dropped
// the value (Cancel, CancelAll, Close, or whoever called the callback), never
// leaves the Group locked, and loses no other value: Close and CancelAll give
// every other value to Discard before the panic goes on. (They used to stop
// at the panic, and the values after it, grants perhaps, were lost.)
func TestGroupDiscardPanics(t *testing.T) {
	is := is.New(t)
	var discarded []any
	g := Group[any, int]{Discard: func(k any, v int) {
		discarded = append(discarded, k)
		if k == "boom" {
			panic("discard boom")
		}
	}}
	for _, k := range []string{"a", "boom", "c"} {
		cb, err := g.Callback(k)
		is.NoErr(err)
		cb(1)
	}
	mustPanic(t, "discard boom", func() { _ = g.Close() })
	is.Equal(discarded, []any{"a", "boom", "c"}) // c too, after the panic
	groupWorks(t, &g)
	is.NoErr(g.Close()) // Close emptied the Group before the panic

	discarded = nil
	for _, k := range []string{"boom", "b"} {
		cb, _ := g.Callback(k)
		cb(1)
	}
	mustPanic(t, "discard boom", func() { g.CancelAll() })
	is.Equal(discarded, []any{"boom", "b"})

	discarded = nil
	cb, _ := g.Callback("boom")
	cb(1)
	mustPanic(t, "discard boom", func() { _ = g.Cancel("boom") })
	is.True(errors.Is(g.Cancel("boom"), ErrUnknownKey)) // it was cancelled all the same
	mustPanic(t, "discard boom", func() { cb(2) })      // a late call: its caller gets the panic
	is.Equal(discarded, []any{"boom", "boom"})
	groupWorks(t, &g)
	is.NoErr(g.Close())
}

// TestGroupTimersRunNoUserCode: the func After hands to time.AfterFunc runs
// in a goroutine of the runtime's, where nobody could recover a panic; it
// calls nothing of the caller's (a timeout is never given to Discard), and a
// panic elsewhere does not leave it blocked on the lock. (Real time: a
// timer blocked on a mutex would hang a synctest bubble rather than fail.)
func TestGroupTimersRunNoUserCode(t *testing.T) {
	is := is.New(t)
	g := Group[any, int]{Discard: func(any, int) { panic("Discard called") }}
	is.NoErr(g.After("t1", time.Millisecond))
	is.NoErr(g.After("t2", time.Millisecond))
	mustPanic(t, "selectx: Group.Cancel: key of unhashable type []int", func() { _ = g.Cancel([]int{1}) })
	within(t, "WaitAny for both timeouts", func() {
		k, v, err := g.WaitAny(context.Background(), "t1", "t2")
		if err != nil || v != 0 {
			t.Errorf("WaitAny: %v, %d, %v", k, v, err)
		}
		other := map[any]string{"t1": "t2", "t2": "t1"}[k]
		if v, err := g.Wait(context.Background(), other); err != nil || v != 0 {
			t.Errorf("Wait(%s): %d, %v", other, v, err)
		}
	})
	is.NoErr(g.After("t3", time.Millisecond))
	within(t, "the timeout", func() {
		if _, err := g.Wait(context.Background(), "t3"); err != nil {
			t.Error(err)
		}
	})
	is.NoErr(g.After("t4", 0))
	within(t, "Cancel of a timeout", func() {
		for {
			// Done or not, a timeout goes nowhere on Cancel.
			if err := g.Cancel("t4"); err != nil {
				t.Error(err)
			}
			if err := g.After("t4", 0); err != nil {
				t.Error(err)
			}
			if _, err := g.Wait(context.Background(), "t4"); err == nil {
				return
			}
		}
	})
	is.NoErr(g.Close())
}

// selfKey is a key whose String method calls into its Group, as a String
// that logs the Group's state might.
type selfKey struct {
	name string
	g    *Group[selfKey, int] // nil: a plain key
}

func (k selfKey) String() string {
	if k.g != nil {
		_ = k.g.Cancel(selfKey{name: "plain"}) // takes the Group's lock
	}
	return k.name
}

// TestGroupKeyStringRunsOutsideTheLock: the errors that name a key call its
// String method, and they are made once the Group's lock is released. (Made
// under it, a String that calls into the Group deadlocked.)
func TestGroupKeyStringRunsOutsideTheLock(t *testing.T) {
	var g Group[selfKey, int]
	k := selfKey{"k", &g}
	within(t, "errors naming a key", func() {
		if _, err := g.Callback(k); err != nil {
			t.Error(err)
		}
		if _, err := g.Callback(k); err == nil || err.Error() != "selectx: key already registered: k" {
			t.Errorf("second Callback: %v", err)
		}
		if err := g.After(k, time.Hour); !errors.Is(err, ErrKeyReuse) {
			t.Errorf("After: %v", err)
		}
		if err := g.Cancel(k); err != nil {
			t.Error(err)
		}
		if _, err := g.Wait(t.Context(), k); err == nil || err.Error() != "selectx: unknown key: k" {
			t.Errorf("Wait: %v", err)
		}
		if err := g.Cancel(k); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("Cancel: %v", err)
		}
	})
}
