package selectx

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestFirstTieGoesToArgumentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b, c := newPool(1), newPool(1), newPool(1)
		i, release, err := First(t.Context(), b.acquire, a.acquire, c.acquire)
		is.NoErr(err)
		is.Equal(i, 0) // all ready: the first argument wins
		synctest.Wait()
		free, _, _ := b.state()
		is.Equal(free, 0) // b's permit is held by the caller
		for _, p := range []*pool{a, c} {
			free, waiting, _ := p.state()
			is.Equal(free, 1) // the losers' buffered grants went back
			is.Equal(waiting, 0)
		}
		release()
		free, _, _ = b.state()
		is.Equal(free, 1)
	})
}

func TestFirstTakesTheOnlyReadyOp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(0), newPool(1)
		i, release, err := First(t.Context(), a.acquire, b.acquire)
		is.NoErr(err)
		is.Equal(i, 1)
		release()
		synctest.Wait()
		_, waiting, _ := a.state()
		is.Equal(waiting, 0) // the loser's queued waiter was dropped
	})
}

func TestFirstBlocksUntilOneDelivers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ps := []*pool{newPool(0), newPool(0), newPool(0)}
		done := make(chan int)
		go func() {
			i, release, err := First(t.Context(), ps[0].acquire, ps[1].acquire, ps[2].acquire)
			is.NoErr(err)
			release()
			done <- i
		}()
		synctest.Wait() // First is blocked, one waiter in each pool
		for _, p := range ps {
			_, waiting, _ := p.state()
			is.Equal(waiting, 1)
		}
		ps[2].release()
		is.Equal(<-done, 2)
		synctest.Wait()
		free := []int{}
		for _, p := range ps {
			f, waiting, _ := p.state()
			is.Equal(waiting, 0)
			free = append(free, f)
		}
		is.Equal(free, []int{0, 0, 1})
	})
}

func TestFirstContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a, b := newPool(0), newPool(0)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		i, release, err := First(ctx, a.acquire, b.acquire)
		is.True(errors.Is(err, context.DeadlineExceeded))
		is.Equal(i, -1)
		is.True(release == nil)
		synctest.Wait()
		for _, p := range []*pool{a, b} {
			_, waiting, _ := p.state()
			is.Equal(waiting, 0)
		}
	})
}

// TestFirstContextEndsWithGrantBuffered ends ctx at the worst moment: after
// the grants were put in the channels, before First looked. Whichever of
// First and the pool receives each grant first owns it; none is lost, none
// is taken twice.
func TestFirstContextEndsWithGrantBuffered(t *testing.T) {
	for range 200 {
		synctest.Test(t, func(t *testing.T) {
			is := is.New(t)
			// a has no permit, so First goes on to start b; b's op grants at
			// once, then frees a permit of a's, which goes to First's queued
			// waiter there, then ends ctx: both grants sit in their channels.
			a, b := newPool(0), newPool(1)
			ctx, cancel := context.WithCancel(t.Context())
			started := false
			cancelAfter := func(op Op[func()]) Op[func()] {
				return func(ctx context.Context) <-chan func() {
					started = true
					c := op(ctx)
					a.release()
					cancel()
					return c
				}
			}
			i, release, err := First(ctx, a.acquire, cancelAfter(b.acquire))
			is.True(started) // the moment this test is about did happen
			ps := []*pool{a, b}
			synctest.Wait()
			if err != nil {
				is.Equal(err, context.Canceled)
				is.Equal(i, -1)
			} else {
				// Won after all: the pool may have taken the other grant
				// back before First polled, so either op can win.
				free, _, _ := ps[i].state()
				is.Equal(free, 0) // held by us
				free, _, _ = ps[1-i].state()
				is.Equal(free, 1) // given back
				release()
			}
			for _, p := range ps {
				free, waiting, _ := p.state()
				is.Equal(free, 1)
				is.Equal(waiting, 0)
			}
		})
	}
}

func TestFirstContextDoneAtCallStartsNothing(t *testing.T) {
	is := is.New(t)
	a := newPool(1)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	i, _, err := First(ctx, a.acquire)
	is.Equal(err, context.Canceled)
	is.Equal(i, -1)
	free, _, calls := a.state()
	is.Equal(free, 1)
	is.Equal(calls, 0)
}

func TestFirstSkipsClosedOps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		a := newPool(0)
		go a.release()
		i, release, err := First(t.Context(), closedOp[func()], a.acquire, closedOp[func()])
		is.NoErr(err)
		is.Equal(i, 1)
		release()

		_, _, err = First(t.Context(), closedOp[int], closedOp[int])
		is.Equal(err, ErrClosed)
	})
}

func TestFirstOverFourOps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		ps := make([]*pool, 7)
		ops := make([]Op[func()], len(ps))
		for i := range ps {
			ps[i] = newPool(0)
			ops[i] = ps[i].acquire
		}
		ps[6].release()
		ps[5].release()
		i, release, err := First(t.Context(), ops...)
		is.NoErr(err)
		is.Equal(i, 5) // the tie-break holds past the hand-written select
		release()

		done := make(chan int)
		go func() {
			i, release, err := First(t.Context(), ops[:5]...)
			is.NoErr(err)
			release()
			done <- i
		}()
		synctest.Wait()
		ps[3].release()
		is.Equal(<-done, 3)
		synctest.Wait()
		for i, p := range ps {
			free, waiting, _ := p.state()
			is.Equal(waiting, 0)
			is.Equal(free, map[int]int{3: 1, 5: 1, 6: 1}[i])
		}
	})
}

func TestFirstPanicsOnBadInput(t *testing.T) {
	mustPanic(t, "selectx: First needs at least one op", func() { First[int](t.Context()) })
	mustPanic(t, "selectx: First: op 1 is nil", func() { First(t.Context(), closedOp[int], nil) })
	nilChan := func(context.Context) <-chan int { return nil }
	mustPanic(t, "selectx: op 0 returned a nil channel", func() { First(t.Context(), nilChan) })
}

// TestFirstRace has many goroutines take one of three locks with First,
// under contexts that end at random moments, and checks that each call took
// exactly one lock or none, that no lock ever had two holders and that every
// permit is back at the end.
func TestFirstRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		locks := []*pool{newPool(1), newPool(1), newPool(1)}
		var holders [3]atomic.Int32
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for range 20 {
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rand.IntN(3))*time.Millisecond)
					if rand.IntN(4) == 0 {
						cancel() // sometimes before the call, sometimes during
					}
					i, release, err := First(ctx, locks[0].acquire, locks[1].acquire, locks[2].acquire)
					cancel()
					if err != nil {
						if i != -1 || release != nil {
							t.Errorf("failed First returned %d, %p", i, release)
						}
						continue
					}
					if n := holders[i].Add(1); n != 1 {
						t.Errorf("lock %d has %d holders", i, n)
					}
					time.Sleep(time.Duration(rand.IntN(2)) * time.Millisecond) // hold it a while (fake time)
					holders[i].Add(-1)
					release()
				}
			})
		}
		wg.Wait()
		synctest.Wait()
		for _, l := range locks {
			free, waiting, _ := l.state()
			is.Equal(free, 1)
			is.Equal(waiting, 0)
		}
	})
}

// BenchmarkFirst4 compares First over four channels, the last one ready,
// with the reflect.Select a caller would otherwise write.
func BenchmarkFirst4(b *testing.B) { benchFirst(b, 4, false) }

// BenchmarkFirst4Blocked is BenchmarkFirst4 with the value sent by another
// goroutine, so that First usually blocks in its hand-written select.
func BenchmarkFirst4Blocked(b *testing.B) { benchFirst(b, 4, true) }

// BenchmarkFirst8Blocked measures the fallback to reflect.Select above four
// ops.
func BenchmarkFirst8Blocked(b *testing.B) { benchFirst(b, 8, true) }

func benchFirst(b *testing.B, n int, blocked bool) {
	chs := make([]chan int, n)
	ops := make([]Op[int], n)
	for i := range chs {
		chs[i] = make(chan int, 1)
		ops[i] = Chan((<-chan int)(chs[i]))
	}
	last := chs[n-1]
	send := func() { last <- 1 }
	if blocked {
		kick := make(chan struct{})
		defer close(kick)
		go func() {
			for range kick {
				last <- 1
			}
		}()
		send = func() { kick <- struct{}{} }
	}
	ctx := context.Background()
	b.Run("impl=selectx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			send()
			if i, _, _ := First(ctx, ops...); i != n-1 {
				b.Fatal(i)
			}
		}
	})
	b.Run("impl=reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			send()
			cases := make([]reflect.SelectCase, n+1)
			for i, op := range ops {
				cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(op(ctx))}
			}
			cases[n] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
			if i, _, _ := reflect.Select(cases); i != n-1 {
				b.Fatal(i)
			}
		}
	})
}
