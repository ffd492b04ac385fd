package etcd

import (
	"context"
	"fmt"

	"github.com/turnstile-go/turnstile/dist"
)

// An RWLock is a reader/writer lock shared by every process whose session
// makes one with the same name: any number of readers up to a limit, or one
// writer.
//
// Fairness is FIFO across processes, readers and writers in one line: a
// queued writer holds back the readers that asked after it, and a reader
// waits for the writers that asked before it. A cancelled writer holds
// nothing: write acquisition is all or nothing.
//
// Limit: every reader's key records the maxReaders of the RWLock it was
// asked through, and a reader is admitted while the readers ahead of it and
// itself number no more than the smallest limit recorded among them, so
// processes that disagree about the limit still agree on who reads (the
// smallest limit wins).
//
// Cancellation, costs, copying and the memory model are as for [Lock]. Make
// an RWLock with [NewRWLock]; the zero value is not usable.
type RWLock struct {
	l    *line
	read claim
}

// NewRWLock returns the reader/writer lock called name on s's cluster, with
// at most maxReaders readers at once (0: no limit). Its keys live under
// name+"/~/", shared with any other primitive of that name, so a Lock of
// the same name excludes its readers and writers alike. NewRWLock panics if
// maxReaders is negative.
func NewRWLock(s *Session, name string, maxReaders int) *RWLock {
	if maxReaders < 0 || maxReaders > maxWeight {
		panic(fmt.Sprintf("etcd: NewRWLock with maxReaders %d", maxReaders))
	}
	return &RWLock{l: s.line(name), read: claim{n: 1, limit: int64(maxReaders)}}
}

// AcquireRead asks for a read lock. Its channel behaves as [Lock.Acquire]'s.
func (rw *RWLock) AcquireRead(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := rw.l.acquire(ctx, rw.read, false)
	return ch
}

// AcquireWrite asks for the write lock. Its channel behaves as
// [Lock.Acquire]'s.
func (rw *RWLock) AcquireWrite(ctx context.Context) <-chan *dist.Grant {
	ch, _, _ := rw.l.acquire(ctx, exclusive, false)
	return ch
}

// AcquireReadWait is the blocking twin of AcquireRead (see [Lock.AcquireWait]).
func (rw *RWLock) AcquireReadWait(ctx context.Context) (*dist.Grant, error) {
	return rw.l.wait(ctx, rw.read)
}

// AcquireWriteWait is the blocking twin of AcquireWrite (see [Lock.AcquireWait]).
func (rw *RWLock) AcquireWriteWait(ctx context.Context) (*dist.Grant, error) {
	return rw.l.wait(ctx, exclusive)
}

// TryAcquireRead takes a read lock if one can be granted at once without
// passing a queued waiter, or returns an error wrapping [dist.ErrBusy].
func (rw *RWLock) TryAcquireRead(ctx context.Context) (*dist.Grant, error) {
	_, g, err := rw.l.acquire(ctx, rw.read, true)
	return g, err
}

// TryAcquireWrite takes the write lock if nobody holds or waits for the
// lock, or returns an error wrapping [dist.ErrBusy].
func (rw *RWLock) TryAcquireWrite(ctx context.Context) (*dist.Grant, error) {
	_, g, err := rw.l.acquire(ctx, exclusive, true)
	return g, err
}

// Locked reports whether a read lock could not be granted now: a writer
// holds or waits, or the readers are at their limit. One round trip.
func (rw *RWLock) Locked(ctx context.Context) (bool, error) {
	_, free, err := rw.l.snapshot(ctx, rw.read)
	return !free, err
}

// Readers returns how many read locks are held now. One round trip.
func (rw *RWLock) Readers(ctx context.Context) (int, error) {
	t, _, err := rw.l.snapshot(ctx, rw.read)
	return int(t.sum), err
}

// Name returns the lock's name.
func (rw *RWLock) Name() string { return rw.l.name }

// String describes the lock for debugging.
func (rw *RWLock) String() string {
	return fmt.Sprintf("etcd.RWLock(%q, maxReaders=%d)", rw.l.name, rw.read.limit)
}
