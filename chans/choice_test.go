package chans

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/selectx"
)

// selectx's choices (internal/choice) seen from the primitives' side (#12):
// what an op that cannot win costs them, and what is left once the choice
// ends.

// An op that cannot be granted at once is not queued in First's first pass:
// while the others are started, the held lock has no waiter.
func TestChoiceFirstPassQueuesNothing(t *testing.T) {
	is := is.New(t)
	var held, free Lock
	r, _ := held.TryAcquire()
	defer r()
	var seen lockState
	watching := func(ctx context.Context) <-chan Release {
		ch := held.Acquire(ctx)
		seen = lockInside(&held, false, nil)
		return ch
	}
	i, rel, err := selectx.First(bg(), watching, free.Acquire)
	is.NoErr(err)
	is.Equal(i, 1)
	rel()
	is.Equal(seen.queued, 0) // not queued while it could not win
	after := lockInside(&held, true, nil)
	is.Equal(after.queued, 0)
	is.Equal(after.outstanding, 0)
}

// When every op has to wait, each queues once, registers no context.AfterFunc
// (the choice withdraws them), and once one wins, the losers are gone from
// their queues before First returns: no goroutine is started for them.
func TestChoiceLosersRegisterNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		locks := make([]*Lock, 4)
		rels := make([]Release, 4)
		for i := range locks {
			locks[i] = new(Lock)
			rels[i], _ = locks[i].TryAcquire()
		}
		type won struct {
			i   int
			rel Release
			err error
		}
		res := make(chan won, 1)
		go func() {
			i, rel, err := selectx.First(bg(), locks[0].Acquire, locks[1].Acquire, locks[2].Acquire, locks[3].Acquire)
			res <- won{i, rel, err}
		}()
		synctest.Wait()
		for _, l := range locks {
			st := lockInside(l, false, nil)
			is.Equal(st.queued, 1)
			is.Equal(st.registrations, 0)
		}
		rels[2]() // the third lock frees: its waiter wins
		w := <-res
		is.NoErr(w.err)
		is.Equal(w.i, 2)
		for _, l := range locks {
			is.Equal(lockInside(l, false, nil).queued, 0) // withdrawn in First's goroutine
		}
		w.rel()
		for i, r := range rels {
			if i != 2 {
				r()
			}
		}
	})
}

// A loser whose grant was sent just before the winner was chosen gives it
// back: two locks free up one right after the other while First waits, and
// whichever First takes, the other's grant (already in its channel, or not
// yet made) goes back to its lock.
func TestChoiceLoserGrantedAsTheWinnerIsChosen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var a, b Lock
		ra, _ := a.TryAcquire()
		rb, _ := b.TryAcquire()
		res := make(chan int, 1)
		var got Release
		go func() {
			i, rel, err := selectx.First(bg(), a.Acquire, b.Acquire)
			is.NoErr(err)
			got = rel
			res <- i
		}()
		synctest.Wait() // both waiters queued
		rb()            // First may wake now, or only after the next grant:
		ra()            // either way one lock is taken and the other goes back
		i := <-res
		is.True(i == 0 || i == 1)
		is.True(a.Locked() != b.Locked()) // exactly one taken: the loser's went back
		got()
		is.True(!a.Locked() && !b.Locked())
	})
}

// A wait that starts on a choice that has ended fails at once, and takes
// nothing (a foreign goroutine handed the ctx may call late).
func TestChoiceWaitAfterEnd(t *testing.T) {
	is := is.New(t)
	var late context.Context
	var l Lock
	_, rel, err := selectx.First(bg(), func(ctx context.Context) <-chan Release {
		late = ctx
		return l.Acquire(ctx)
	})
	is.NoErr(err)
	rel()
	l2 := new(Lock)
	_, ok := <-l2.Acquire(late)
	is.True(!ok)
	is.True(!l2.Locked())
	is.True(errors.Is(late.Err(), context.Canceled))
}

// TestChoiceForeignWaiterInADroppedOpsRange: a foreign op's goroutine
// registers its wait with the choice while the next op starts, and that op
// then closes (drops out). The waiter lies in the dropped op's range of
// registrations, so First must arm it there: armRest counts the range as
// covered. Unarmed, it was never queued, and First hung until its ctx ended
// (here, synctest's deadlock), where Select won.
func TestChoiceForeignWaiterInADroppedOpsRange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		r, _ := l.TryAcquire()
		goOn, registered := make(chan struct{}), make(chan struct{})
		foreign := func(ctx context.Context) <-chan Release {
			out := make(chan Release, 1)
			go func() {
				defer close(out)
				<-goOn
				in := l.Acquire(ctx) // registers with the choice now
				close(registered)
				if rel, ok := <-in; ok {
					out <- rel
				}
			}()
			return out
		}
		dropsOut := func(context.Context) <-chan Release {
			close(goOn)
			<-registered // inside this op's range
			return closed[Release]()
		}
		res := make(chan int, 1)
		go func() {
			i, rel, err := selectx.First(bg(), foreign, dropsOut)
			is.NoErr(err)
			rel()
			res <- i
		}()
		synctest.Wait()
		r() // the foreign wait must be queued to get this
		is.Equal(<-res, 0)
		synctest.Wait()
		is.True(!l.Locked())
	})
}

// An op that waits on a chans channel of its own making (a wrapper) is not
// served by chans as far as First can tell, but the wait it made must still
// be armed after the first pass, or it would never be granted: here the
// wrapper is the only op that can win, once its lock frees up.
func TestChoiceWrapperOpIsArmed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l, never Lock
		r, _ := l.TryAcquire()
		rn, _ := never.TryAcquire()
		defer rn()
		wrapped := func(ctx context.Context) <-chan Release {
			in := l.Acquire(ctx)
			out := make(chan Release, 1)
			go func() {
				defer close(out)
				if rel, ok := <-in; ok {
					out <- rel
				}
			}()
			return out
		}
		res := make(chan int, 1)
		go func() {
			i, rel, err := selectx.First(bg(), never.Acquire, wrapped)
			is.NoErr(err)
			rel()
			res <- i
		}()
		synctest.Wait()
		r() // the wrapper's wait must be queued to get this
		is.Equal(<-res, 1)
		synctest.Wait()
		is.True(!l.Locked())
	})
}
