package chans

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// Behaviour tests for RWLock. Cases ported from toro's test/test_rwlock.py
// name their origin. toro's RWLock(max_readers) had release_read and
// release_write; here each acquire yields its own Release. toro's locked()
// is Locked(): true when a read could not be granted now.

// toro test_rwlock.py: RWLockReadTests.test_acquire_release.
func TestRWLockReadAcquireRelease(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(1)
	is.True(!l.Locked())
	r, ok, ready := recvNow(l.AcquireRead(context.Background()))
	is.True(ready && ok)
	is.True(l.Locked()) // the only reader slot is taken
	is.Equal(l.Readers(), 1)
	r()
	is.True(!l.Locked())
	is.Equal(l.Readers(), 0)
}

// toro test_rwlock.py: RWLockWriteTests.test_acquire_release.
func TestRWLockWriteAcquireRelease(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(10)
	is.True(!l.Locked())
	r, ok, ready := recvNow(l.AcquireWrite(context.Background()))
	is.True(ready && ok)
	is.True(l.Locked())
	r()
	is.True(!l.Locked())
}

// toro test_rwlock.py: RWLockReadTests.test_release_unlocked,
// test_multi_release, RWLockWriteTests2.test_multi_release,
// RWLockTests3.test_release_unlocked. There is no unpaired release: a
// Release called twice panics and changes nothing.
func TestRWLockReleaseTwicePanics(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(5)
	var rs []Release
	for range 5 {
		rs = append(rs, <-l.AcquireRead(context.Background()))
	}
	for _, r := range rs {
		r()
	}
	isChansPanic(t, rs[0])
	is.Equal(l.Readers(), 0)

	w := <-l.AcquireWrite(context.Background())
	isChansPanic(t, rs[1]) // a stale read Release cannot undo the writer
	is.True(l.Locked())
	w()
	isChansPanic(t, w)
	is.True(!l.Locked())
	r := <-l.AcquireRead(context.Background())
	isChansPanic(t, w) // nor can a stale write Release free a reader's slot
	is.Equal(l.Readers(), 1)
	r()
}

// toro test_rwlock.py: RWLockReadTests.test_acquire_contended and
// RWLockWriteTests.test_acquire_contended.
func TestRWLockAcquireContended(t *testing.T) {
	for _, tc := range []struct {
		name  string
		max   int
		write bool
	}{{"read", 1, false}, {"write", 10, true}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				l := NewRWLock(tc.max)
				acquire := l.AcquireRead
				if tc.write {
					acquire = l.AcquireWrite
				}
				r := <-acquire(context.Background())
				const n = 5
				var done atomic.Int32
				for range n {
					go func() {
						rel := <-acquire(context.Background())
						done.Add(1)
						rel()
					}()
				}
				synctest.Wait()
				is.Equal(done.Load(), int32(0))
				r()
				synctest.Wait()
				is.Equal(done.Load(), int32(n))
				is.True(!l.Locked())
			})
		})
	}
}

// toro test_rwlock.py: RWLockReadTests.test_reacquire (max_readers=1),
// RWLockWriteTests.test_reacquire, and RWLockTests3.test_reacquire (read,
// then write with room for more readers: the write waits for the read, and
// the lock is not Locked while only one of several reader slots is taken).
func TestRWLockReacquire(t *testing.T) {
	for _, tc := range []struct {
		name               string
		max                int
		first, second      bool // write?
		lockedAfterFirst   bool
		lockedBeforeSecond bool
	}{
		{"read-read", 1, false, false, true, true},
		{"write-write", 10, true, true, true, true},
		{"read-write", 5, false, true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				l := NewRWLock(tc.max)
				acquire := func(write bool) <-chan Release {
					if write {
						return l.AcquireWrite(context.Background())
					}
					return l.AcquireRead(context.Background())
				}
				var phase atomic.Int32
				first := make(chan Release, 1)
				done := make(chan struct{})
				go func() {
					defer close(done)
					first <- <-acquire(tc.first)
					is.Equal(l.Locked(), tc.lockedAfterFirst)
					phase.Add(1)
					r := <-acquire(tc.second)
					is.True(l.Locked())
					phase.Add(1)
					r()
				}()
				synctest.Wait()
				is.Equal(phase.Load(), int32(1))
				is.Equal(l.Locked(), tc.lockedBeforeSecond) // a queued writer makes it Locked
				(<-first)()
				<-done
				is.Equal(phase.Load(), int32(2))
				is.True(!l.Locked())
			})
		})
	}
}

// toro test_rwlock.py: RWLockReadTests2.test_str, RWLockWriteTests2.test_str.
func TestRWLockString(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(1)
	is.Equal(l.String(), "RWLock(readers=0/1, writer=false, waiters=0)")
	r := <-l.AcquireRead(context.Background())
	is.Equal(l.String(), "RWLock(readers=1/1, writer=false, waiters=0)")
	l.AcquireWrite(context.Background())
	is.Equal(l.String(), "RWLock(readers=1/1, writer=false, waiters=1)")
	r()
	is.Equal(l.String(), "RWLock(readers=0/1, writer=true, waiters=0)")
	var z RWLock // the zero value has no reader limit
	is.Equal(z.String(), "RWLock(readers=0/inf, writer=false, waiters=0)")
}

// toro test_rwlock.py: RWLockReadTests2.test_acquire_timeout,
// RWLockWriteTests2.test_acquire_timeout, RWLockTests3.test_write_acquire_timeout.
// The timeout is a ctx deadline; the holder keeps the lock.
func TestRWLockAcquireTimeout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		max         int
		hold, probe bool // write?
	}{
		{"read", 1, false, false},
		{"write", 10, true, true},
		{"write-max-readers", 7, true, true},
		{"write-behind-read", 7, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				l := NewRWLock(tc.max)
				acquire := func(ctx context.Context, write bool) <-chan Release {
					if write {
						return l.AcquireWrite(ctx)
					}
					return l.AcquireRead(ctx)
				}
				r := <-acquire(context.Background(), tc.hold)
				ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
				defer cancel()
				start := time.Now()
				_, ok := <-acquire(ctx, tc.probe)
				is.True(!ok)
				is.Equal(time.Since(start), 100*time.Millisecond)
				is.Equal(ctx.Err(), context.DeadlineExceeded)
				is.Equal(l.Locked(), tc.hold || tc.max == 1)
				r()
				is.True(!l.Locked())
			})
		})
	}
}

// toro test_rwlock.py: RWLockReadTests2.test_acquire_callback and
// RWLockWriteTests2.test_acquire_callback: grants in call order, the next
// one made by the release itself.
func TestRWLockAcquireCallbackOrder(t *testing.T) {
	for _, write := range []bool{false, true} {
		is := is.New(t)
		l := NewRWLock(1)
		acquire := l.AcquireRead
		if write {
			acquire = l.AcquireWrite
		}
		var history []string
		ch1, ch2 := acquire(context.Background()), acquire(context.Background())
		r1, ok, _ := recvNow(ch1)
		if ok {
			history = append(history, "acq1")
		}
		r1()
		r2, ok, _ := recvNow(ch2)
		if ok {
			history = append(history, "acq2")
		}
		history = append(history, "release")
		is.Equal(history, []string{"acq1", "acq2", "release"})
		r2()
	}
}

// toro test_rwlock.py: the ContextManagerTestsMixin variants (read default,
// write default, write with max_readers=10): defer releases, even on panic.
func TestRWLockDeferRelease(t *testing.T) {
	for _, tc := range []struct {
		max   int
		write bool
	}{{1, false}, {1, true}, {10, true}} {
		is := is.New(t)
		l := NewRWLock(tc.max)
		acquire := l.AcquireRead
		if tc.write {
			acquire = l.AcquireWrite
		}
		func() {
			r := <-acquire(context.Background())
			defer r()
			is.True(l.Locked())
		}()
		is.True(!l.Locked())
		is.Equal(panicText(func() {
			r := <-acquire(context.Background())
			defer r()
			panic("boom")
		}), "boom")
		is.True(!l.Locked())
	}
}

// toro test_rwlock.py: ContextManagerTestsMixin.test_context_manager_contended
// for the write lock: writers do not overlap and are served in order.
func TestRWLockWriteContendedHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		l := NewRWLock(10)
		var mu sync.Mutex
		var history []int
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				r := <-l.AcquireWrite(context.Background())
				defer r()
				mu.Lock()
				history = append(history, i)
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
				mu.Lock()
				history = append(history, -i-1)
				mu.Unlock()
			})
			synctest.Wait()
		}
		wg.Wait()
		var want []int
		for i := range 10 {
			want = append(want, i, -i-1)
		}
		is.Equal(history, want)
	})
}

// toro test_rwlock.py: RWLockTests3.test_read_lock: readers come in until
// the limit, then Locked; and test_write_lock.
func TestRWLockMaxReaders(t *testing.T) {
	is := is.New(t)
	for max := 2; max <= 10; max++ {
		l := NewRWLock(max)
		var rs []Release
		for range max {
			is.True(!l.Locked())
			r, ok, ready := recvNow(l.AcquireRead(context.Background()))
			is.True(ready && ok)
			rs = append(rs, r)
		}
		is.True(l.Locked())
		is.Equal(l.Readers(), max)
		ch := l.AcquireRead(context.Background())
		_, _, ready := recvNow(ch)
		is.True(!ready) // one over the limit waits
		rs[0]()
		r, ok, ready := recvNow(ch)
		is.True(ready && ok) // and gets the freed slot
		r()
		for _, r := range rs[1:] {
			r()
		}
		is.Equal(l.Readers(), 0)

		w, ok, ready := recvNow(l.AcquireWrite(context.Background()))
		is.True(ready && ok)
		is.True(l.Locked())
		w()
	}
}

// toro test_rwlock.py: RWLockTests3.test_reacquire_concurrent: with every
// reader slot taken, two writers wait; the first gets the lock when the last
// reader leaves, the second when the first writer releases.
func TestRWLockWritersAfterFullRead(t *testing.T) {
	is := is.New(t)
	const max = 10
	l := NewRWLock(max)
	var rs []Release
	for range max {
		rs = append(rs, <-l.AcquireRead(context.Background()))
	}
	is.True(l.Locked())
	w1 := l.AcquireWrite(context.Background())
	w2 := l.AcquireWrite(context.Background())
	for i, r := range rs {
		r()
		_, _, ready := recvNow(w1)
		is.Equal(ready, i == max-1) // only once the last reader left
		if ready {
			break
		}
	}
	is.True(l.Locked())
	_, _, ready := recvNow(w2)
	is.True(!ready)
	st := rwInside(l, false, nil)
	is.True(st.writer && st.readers == 0)
}

// toro test_rwlock.py: RWLockTests3.test_partial_release: a writer is let in
// once every reader has released, and not while any still reads.
func TestRWLockWriteAfterPartialRead(t *testing.T) {
	is := is.New(t)
	const n = 5
	l := NewRWLock(n)
	var rs []Release
	for range n {
		rs = append(rs, <-l.AcquireRead(context.Background()))
	}
	w := l.AcquireWrite(context.Background())
	for _, r := range rs[:n-1] {
		r()
		_, _, ready := recvNow(w)
		is.True(!ready) // still one reader in
	}
	is.Equal(l.Readers(), 1)
	rs[n-1]()
	wr, ok, ready := recvNow(w)
	is.True(ready && ok)
	wr()
	is.True(!l.Locked())
}

// toro test_rwlock.py: RWLockTests3.test_read_context_managers: nested reads
// with max_readers=2.
func TestRWLockNestedReads(t *testing.T) {
	is := is.New(t)
	l := NewRWLock(2)
	is.True(!l.Locked())
	func() {
		r := <-l.AcquireRead(context.Background())
		defer r()
		is.True(!l.Locked())
		func() {
			r := <-l.AcquireRead(context.Background())
			defer r()
			is.True(l.Locked())
		}()
		is.True(!l.Locked())
	}()
	is.True(!l.Locked())
}

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
