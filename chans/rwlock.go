package chans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// An RWLock is a reader/writer lock: any number of readers (up to a limit, if
// set) or one writer. Like Lock, its acquires return channels.
//
// The zero value is an unlocked RWLock with no limit on readers; NewRWLock
// sets one. An RWLock must not be copied after first use.
//
// Fairness: strict FIFO across readers and writers. A queued writer holds
// back every reader that arrives after it, so writers cannot starve; readers
// queued together behind a writer are all let in when it releases.
//
// Cancellation: a write acquisition is all or nothing. A writer whose ctx
// ends before it received its Release holds nothing, and the readers it was
// holding back are let in at once. A reader's unreceived grant is likewise
// taken back.
//
// Memory model: a write Release happens before the receive of any later
// grant; a read Release happens before the receive of the next write grant.
type RWLock struct {
	mu         sync.Mutex
	maxReaders int  // 0: no limit
	readers    int  // read grants outstanding
	writer     bool // a write grant is outstanding
	q          waitq[Release]
}

// NewRWLock returns an RWLock that lets at most maxReaders readers in at once;
// 0 means no limit. A negative maxReaders panics.
func NewRWLock(maxReaders int) *RWLock {
	if maxReaders < 0 {
		panic("chans: NewRWLock with negative maxReaders")
	}
	return &RWLock{maxReaders: maxReaders}
}

// AcquireRead asks for a read lock. The channel has a buffer of one and is
// closed after yielding at most one Release: the Release once this caller
// reads under the lock, or nothing if ctx ended first (or at the call). A
// read grant left unreceived when ctx ends is taken back; a caller that never
// receives and never lets ctx end keeps a reader slot until it does.
func (l *RWLock) AcquireRead(ctx context.Context) <-chan Release {
	return l.acquire(ctx, false)
}

// AcquireWrite asks for the write lock, on the same terms as AcquireRead. The
// writer waits for every reader to release; while it waits, later readers
// queue behind it.
func (l *RWLock) AcquireWrite(ctx context.Context) <-chan Release {
	return l.acquire(ctx, true)
}

func (l *RWLock) acquire(ctx context.Context, write bool) <-chan Release {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	if ctx.Err() != nil {
		return closed[Release]()
	}
	l.q.sweep()
	if l.q.empty() && l.can(write) {
		return l.q.now(ctx, 1, write, l.take(write), true)
	}
	return l.q.enqueue(ctx, 1, write).ch
}

// TryAcquireRead takes a read lock if one can be granted now without
// overtaking a queued waiter.
func (l *RWLock) TryAcquireRead() (Release, bool) { return l.try(false) }

// TryAcquireWrite takes the write lock if it is free and nobody is queued.
func (l *RWLock) TryAcquireWrite() (Release, bool) { return l.try(true) }

func (l *RWLock) try(write bool) (Release, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	if !l.q.empty() || !l.can(write) {
		return nil, false
	}
	return l.take(write), true
}

// Readers returns the number of read locks held.
func (l *RWLock) Readers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	return l.readers
}

// Locked reports whether a read lock could not be granted now: a writer holds
// the lock, the reader limit is reached, or a writer is queued.
func (l *RWLock) Locked() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	return !l.q.empty() || !l.can(false)
}

// String describes the lock for debugging:
// "RWLock(readers=2/4, writer=false, waiters=1)".
func (l *RWLock) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	limit := "inf"
	if l.maxReaders > 0 {
		limit = fmt.Sprint(l.maxReaders)
	}
	return fmt.Sprintf("RWLock(readers=%d/%s, writer=%t, waiters=%d)", l.readers, limit, l.writer, l.q.live())
}

// can reports whether the state admits a grant of the given kind, ignoring
// the queue.
func (l *RWLock) can(write bool) bool {
	if write {
		return !l.writer && l.readers == 0
	}
	return !l.writer && (l.maxReaders == 0 || l.readers < l.maxReaders)
}

// take records a grant and returns its Release.
func (l *RWLock) take(write bool) Release {
	if write {
		l.writer = true
	} else {
		l.readers++
	}
	var done atomic.Bool
	return func() {
		if done.Swap(true) {
			panic("chans: Release of an RWLock called twice")
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.give(write)
		l.q.sweep()
		l.dispatch()
	}
}

func (l *RWLock) give(write bool) {
	if write {
		l.writer = false
	} else {
		l.readers--
	}
}

func (l *RWLock) dispatch() {
	for w := l.q.first(); w != nil && l.can(w.write); w = l.q.first() {
		l.q.grant(w, l.take(w.write), true)
	}
}

func (l *RWLock) reclaim(w *waiter[Release], _ Release) { l.give(w.write) }
