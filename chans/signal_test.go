package chans

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

func TestSignalBroadcast(t *testing.T) {
	is := is.New(t)
	var s Signal[int]
	chs := []<-chan int{
		s.Next(context.Background()),
		s.Next(context.Background()),
		s.Next(context.Background()),
	}
	is.Equal(s.String(), "Signal(waiters=3)")
	s.Emit(7)
	is.Equal(s.String(), "Signal(waiters=0)")
	for _, ch := range chs {
		v, ok := <-ch
		is.True(ok)
		is.Equal(v, 7)
		_, ok = <-ch
		is.True(!ok) // one value, then closed
	}
}

func TestSignalDropsWithoutWaiter(t *testing.T) {
	is := is.New(t)
	var s Signal[int]
	s.Emit(1) // nobody waits: dropped
	ch := s.Next(context.Background())
	_, _, isReady := recvNow(ch)
	is.True(!isReady)
	s.Emit(2)
	v, ok := <-ch
	is.True(ok)
	is.Equal(v, 2)
}

func TestSignalEachWaiterGetsTheFirstAfterItsCall(t *testing.T) {
	is := is.New(t)
	var s Signal[string]
	early := s.Next(context.Background())
	s.Emit("one")
	late := s.Next(context.Background())
	s.Emit("two")
	v := <-early
	is.Equal(v, "one")
	v = <-late
	is.Equal(v, "two")
}

// Waiters come and go at random while values are emitted: a waiter whose
// ctx ended before the next emission gets nothing, every other one gets the
// first value emitted after its call, and no waiter stays behind.
func TestSignalHammer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		rounds := 3000
		if testing.Short() {
			rounds = 300
		}
		var s Signal[int]
		emitted := 0
		type wait struct {
			ch     <-chan int
			after  int  // values emitted before the call
			early  bool // cancelled before the next emission
			cancel context.CancelFunc
		}
		var waits []*wait
		for range rounds {
			ctx, cancel := context.WithCancel(context.Background())
			waits = append(waits, &wait{ch: s.Next(ctx), after: emitted, cancel: cancel})
			if rand.IntN(3) == 0 {
				w := waits[max(0, len(waits)-1-rand.IntN(3))] // a recent one
				w.early = w.early || w.after == emitted
				w.cancel()
			}
			if rand.IntN(2) == 0 {
				emitted++
				s.Emit(emitted)
			}
		}
		for _, w := range waits {
			w.cancel()
		}
		synctest.Wait()
		got := 0
		for _, w := range waits {
			v, ok, isReady := recvNow(w.ch)
			is.True(isReady) // every channel is settled
			switch {
			case w.early || w.after == emitted:
				is.True(!ok)
			default:
				is.True(ok)
				is.Equal(v, w.after+1) // the first value after the call
				got++
			}
		}
		is.Equal(s.String(), "Signal(waiters=0)")
		t.Logf("%d waits, %d got a value", len(waits), got)
	})
}
