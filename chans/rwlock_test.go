package chans

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Turnstile's own tests of RWLock; the cases ported from toro are in
// rwlock_toro_test.go, named TestRWLockToro* and so on.

// W5: a queued writer holds back later readers, even with reader slots free,
// and TryAcquireRead does not barge past it; the readers queued behind the
// writer are all let in together when it releases.
func TestRWLockQueuedWriterHoldsBackReaders(t *testing.T) {
	is := is.New(t)
	var l RWLock // no limit
	r1 := <-l.AcquireRead(context.Background())
	w := l.AcquireWrite(context.Background())
	var readers []<-chan Release
	for range 3 {
		readers = append(readers, l.AcquireRead(context.Background()))
	}
	_, ok := l.TryAcquireRead()
	is.True(!ok)
	_, ok = l.TryAcquireWrite()
	is.True(!ok)
	is.True(l.Locked())
	for _, ch := range readers {
		_, _, ready := recvNow(ch)
		is.True(!ready)
	}
	r1()
	wr, ok, ready := recvNow(w)
	is.True(ready && ok)
	w2 := l.AcquireWrite(context.Background()) // queued behind the readers
	wr()
	var rs []Release
	for _, ch := range readers {
		r, ok, ready := recvNow(ch)
		is.True(ready && ok) // all at once
		rs = append(rs, r)
	}
	is.Equal(l.Readers(), 3)
	_, _, ready = recvNow(w2)
	is.True(!ready)
	for _, r := range rs {
		r()
	}
	w2r, ok, ready := recvNow(w2)
	is.True(ready && ok)
	w2r()
}

// W5 with a reader limit: readers queued together are let in up to the
// limit; the rest wait for slots.
func TestRWLockReadersLetInUpToLimit(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(2)
	w := <-l.AcquireWrite(context.Background())
	var chs []<-chan Release
	for range 3 {
		chs = append(chs, l.AcquireRead(context.Background()))
	}
	w()
	r0, ok0, _ := recvNow(chs[0])
	r1, ok1, _ := recvNow(chs[1])
	_, _, ready := recvNow(chs[2])
	is.True(ok0 && ok1 && !ready)
	r0()
	r2, ok, ready := recvNow(chs[2])
	is.True(ready && ok)
	r1()
	r2()
	is.Equal(l.Readers(), 0)
}

// Write acquisition is all or nothing: a writer whose ctx ends while it
// waits for readers holds nothing, and the readers it held back are let in
// at once, by the AfterFunc alone.
func TestRWLockCancelledWriterLetsReadersIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		l := NewRWLock(3)
		r1 := <-l.AcquireRead(context.Background())
		r2 := <-l.AcquireRead(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		w := l.AcquireWrite(ctx)
		rch := l.AcquireRead(context.Background())
		time.Sleep(time.Second)
		synctest.Wait()
		r3, ok, ready := recvNow(rch)
		is.True(ready && ok)
		_, ok = <-w
		is.True(!ok)
		is.Equal(l.Readers(), 3)
		r1()
		r2()
		r3()
		is.True(!l.Locked())
		is.True(!rwInside(l, false, nil).writer)
	})
}

// W2 forced race: a write grant sits unreceived when the writer's ctx ends;
// it comes back and the readers behind get in.
func TestRWLockWriteGrantCancelledBeforeReceive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var l RWLock
		r := <-l.AcquireRead(context.Background())
		ctx, cancel := context.WithCancel(context.Background())
		w := l.AcquireWrite(ctx)
		rch := l.AcquireRead(context.Background())
		r() // the write grant now sits in w's buffer
		is.Equal(len(w), 1)
		cancel()
		synctest.Wait()
		r2, ok, ready := recvNow(rch)
		is.True(ready && ok)
		_, ok = <-w
		is.True(!ok)
		r2()
		is.True(!l.Locked())
	})
}

// W2/W3: a read grant sits unreceived when its ctx ends; the next call sees
// the slot returned and the writer behind it gets the lock in that call.
func TestRWLockTruthAfterCancel(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(1)
	wr, _ := l.TryAcquireWrite()
	ctx, cancel := context.WithCancel(context.Background())
	rch := l.AcquireRead(ctx)
	wr() // the read grant sits in rch's buffer
	is.Equal(l.Readers(), 1)
	cancel()
	is.Equal(l.Readers(), 0) // at once, no waiting
	is.True(!l.Locked())
	_, ok := <-rch
	is.True(!ok)

	// A write grant likewise, with a reader waiting behind it.
	wr, _ = l.TryAcquireWrite()
	ctx, cancel = context.WithCancel(context.Background())
	w := l.AcquireWrite(ctx)
	rch = l.AcquireRead(context.Background())
	wr()
	cancel()
	is.Equal(l.Readers(), 1) // passed on to the reader within the call
	r, ok, ready := recvNow(rch)
	is.True(ready && ok)
	_, ok = <-w
	is.True(!ok)
	r()
}

// W8: a negative reader limit panics.
func TestRWLockNegativeMaxPanics(t *testing.T) {
	isChansPanic(t, func() { NewRWLock(-1) })
}

// TryAcquireRead never fails while no writer holds or waits: readers trying
// at the same instant race on the state word's compare-and-swap, and a lost
// race is no reason to fail (examples/graceful-shutdown refused a request
// with 503 that way before the fast path retried). Nor is a state word that
// changes between the fast path's look and the Try's decision: the first
// call of a fresh RWLock takes its mutex and sets its born bit, and a Try
// that saw the word unborn and then looked again saw it born and free, and
// failed (once in 160,000 tries under load; each round here starts fresh).
func TestRWLockTryReadNeverFailsSpuriously(t *testing.T) {
	// More threads than cores, so the kernel preempts some between the
	// load of the state word and their compare-and-swap: the lost race.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(16))
	is := is.New(t)
	var failed atomic.Int64
	for range 300 {
		l := NewRWLock(0)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				<-start
				for range 100 {
					r, ok := l.TryAcquireRead()
					if !ok {
						failed.Add(1)
						continue
					}
					r()
				}
			})
		}
		close(start)
		wg.Wait()
	}
	is.Equal(failed.Load(), int64(0))
}
