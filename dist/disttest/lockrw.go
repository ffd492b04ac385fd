package disttest

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
)

// An RWLocker is one process's handle on a reader/writer lock: an engine's
// RWLock.
type RWLocker interface {
	AcquireRead(ctx context.Context) <-chan *dist.Grant
	AcquireWrite(ctx context.Context) <-chan *dist.Grant
	TryAcquireRead(ctx context.Context) (*dist.Grant, error)
	TryAcquireWrite(ctx context.Context) (*dist.Grant, error)
}

// RWLock runs the conformance tests of a reader/writer lock. newRW returns n
// handles on one fresh lock allowing maxReaders readers (0: no limit), each
// from its own session; the suite asks for at most 3.
func RWLock(t *testing.T, newRW func(t *testing.T, maxReaders, n int) []RWLocker) {
	t.Run("ReadersShare", func(t *testing.T) { rwReadersShare(t, newRW) })
	t.Run("WriterHoldsBackReaders", func(t *testing.T) { rwWriterHoldsBack(t, newRW) })
	t.Run("CancelledWriterHoldsNothing", func(t *testing.T) { rwCancelledWriter(t, newRW) })
	t.Run("Hammer", func(t *testing.T) { rwHammer(t, newRW) })
}

// writable checks that nobody holds the lock: a write is granted within
// Bound, and given back.
func writable(t *testing.T, rw RWLocker, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Bound)
	defer cancel()
	granted(t, rw.AcquireWrite(ctx), what+": the lock is not free").Release()
}

// Readers of several sessions share the lock up to maxReaders; a writer
// waits for them all.
func rwReadersShare(t *testing.T, newRW func(*testing.T, int, int) []RWLocker) {
	rws := newRW(t, 2, 3)
	ctx := bounded(t)
	r1 := granted(t, rws[0].AcquireRead(ctx), "reader 1")
	r2 := granted(t, rws[1].AcquireRead(ctx), "reader 2")
	g, err := rws[2].TryAcquireRead(ctx)
	busy(t, g, err, "a third reader with maxReaders 2")
	r3 := rws[2].AcquireRead(ctx)
	pending(t, r3, "a third reader with maxReaders 2")
	g, err = rws[2].TryAcquireWrite(ctx)
	busy(t, g, err, "a writer while read")
	r1.Release()
	g3 := granted(t, r3, "the third reader once one left")
	r2.Release()
	w := rws[0].AcquireWrite(ctx)
	pending(t, w, "a writer while one reader holds")
	g3.Release()
	releaseTwicePanics(t, granted(t, w, "the writer once the readers left"))
	writable(t, rws[1], "at the end")
}

// A queued writer holds back the readers that came after it (W5), and a
// Try of a read does not pass it either; tokens follow the grants.
func rwWriterHoldsBack(t *testing.T, newRW func(*testing.T, int, int) []RWLocker) {
	is := is.New(t)
	rws := newRW(t, 0, 3)
	ctx := bounded(t)
	var k tokens
	r := granted(t, rws[0].AcquireRead(ctx), "reader")
	is.NoErr(k.next(r))
	w := rws[1].AcquireWrite(ctx)
	late := rws[2].AcquireRead(ctx)
	pending(t, late, "a reader behind a queued writer")
	g, err := rws[0].TryAcquireRead(ctx)
	busy(t, g, err, "TryAcquireRead behind a queued writer")
	r.Release()
	wg := granted(t, w, "the writer")
	is.NoErr(k.next(wg))
	pending(t, late, "a reader while the writer holds")
	wg.Release()
	lg := granted(t, late, "the reader after the writer")
	is.NoErr(k.next(lg))
	lg.Release()
}

// A writer that gives up while queued holds nothing: the readers it held
// back go in at once beside the reader that holds.
func rwCancelledWriter(t *testing.T, newRW func(*testing.T, int, int) []RWLocker) {
	rws := newRW(t, 0, 3)
	ctx := bounded(t)
	r := granted(t, rws[0].AcquireRead(ctx), "reader")
	wctx, cancel := context.WithCancel(ctx)
	w := rws[1].AcquireWrite(wctx)
	late := rws[2].AcquireRead(ctx)
	pending(t, late, "a reader behind a queued writer")
	cancel()
	closedEmpty(t, w, "the cancelled writer")
	granted(t, late, "the reader once the writer left").Release()
	r.Release()
	writable(t, rws[0], "at the end")
}

// Readers and writers of every session at random, with random
// cancellation: a writer is always alone, readers never exceed the limit,
// and the lock is free at the end.
func rwHammer(t *testing.T, newRW func(*testing.T, int, int) []RWLocker) {
	const maxReaders = 2
	rws := newRW(t, maxReaders, 3)
	const perSession, iters = 3, 12
	var mu sync.Mutex
	readers, writers := 0, 0
	enter := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if write {
			writers++
		} else {
			readers++
		}
		if writers > 1 || (writers == 1 && readers > 0) || readers > maxReaders {
			t.Errorf("%d writers and %d readers at once", writers, readers)
		}
	}
	leave := func(write bool) {
		mu.Lock()
		defer mu.Unlock()
		if write {
			writers--
		} else {
			readers--
		}
	}
	var wg sync.WaitGroup
	for s := range rws {
		for range perSession {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range iters {
					write := rand.IntN(3) == 0
					ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(80))*time.Millisecond)
					acquire := rws[s].AcquireRead
					if write {
						acquire = rws[s].AcquireWrite
					}
					g, ok := <-acquire(ctx)
					cancel()
					if !ok {
						continue
					}
					enter(write)
					time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
					leave(write)
					g.Release()
				}
			}()
		}
	}
	wg.Wait()
	for i, rw := range rws {
		writable(t, rw, "session "+strconv.Itoa(i)+" after the hammer")
	}
}
