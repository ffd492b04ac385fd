package chans

import (
	"context"
	"testing"

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
