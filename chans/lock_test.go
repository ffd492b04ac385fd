package chans

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

func TestLockBasic(t *testing.T) {
	is := is.New(t)
	var l Lock
	r, ok := <-l.Acquire(context.Background())
	is.True(ok)
	is.True(l.Locked())
	_, ok = l.TryAcquire()
	is.True(!ok)
	r()
	is.True(!l.Locked())
}

func TestLockHammer(t *testing.T) {
	is := is.New(t)
	var l Lock
	var inside, taken, cancelled atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				ch := l.Acquire(ctx)
				if rand.IntN(3) == 0 {
					cancel()
				}
				r, ok := <-ch
				if ok {
					is.Equal(inside.Add(1), int64(1))
					taken.Add(1)
					inside.Add(-1)
					r()
				} else {
					cancelled.Add(1)
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	is.True(!l.Locked())
	t.Log(taken.Load(), cancelled.Load())
}

func TestLockReclaimUnreceived(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l Lock
		r1 := <-l.Acquire(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		ch2 := l.Acquire(ctx)
		ch3 := l.Acquire(context.Background())
		r1() // grant goes to ch2's buffer
		synctest.Wait()
		cancel()
		synctest.Wait()
		_, ok := <-ch2
		is.True(!ok) // taken back
		r3, ok := <-ch3
		is.True(ok)
		r3()
		is.True(!l.Locked())
		_ = time.Second
	})
}
