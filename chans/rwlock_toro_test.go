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

// The cases of RWLock ported from toro's tests, named TestRWLockToro*;
// each names its origin (file and test upstream).
//
// Cases ported from toro's test/test_rwlock.py
// name their origin. toro's RWLock(max_readers) had release_read and
// release_write; here each acquire yields its own Release. toro's locked()
// is Locked(): true when a read could not be granted now.

// toro test_rwlock.py: RWLockReadTests.test_acquire_release.
func TestRWLockToroReadAcquireRelease(t *testing.T) {
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
func TestRWLockToroWriteAcquireRelease(t *testing.T) {
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
func TestRWLockToroReleaseTwicePanics(t *testing.T) {
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
func TestRWLockToroAcquireContended(t *testing.T) {
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
func TestRWLockToroReacquire(t *testing.T) {
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
func TestRWLockToroString(t *testing.T) {
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
func TestRWLockToroAcquireTimeout(t *testing.T) {
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
func TestRWLockToroAcquireCallbackOrder(t *testing.T) {
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
func TestRWLockToroDeferRelease(t *testing.T) {
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
func TestRWLockToroWriteContendedHistory(t *testing.T) {
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
func TestRWLockToroMaxReaders(t *testing.T) {
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
func TestRWLockToroWritersAfterFullRead(t *testing.T) {
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
func TestRWLockToroWriteAfterPartialRead(t *testing.T) {
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
func TestRWLockToroNestedReads(t *testing.T) {
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
