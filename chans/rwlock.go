package chans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// An RWLock is a reader/writer lock: any number of readers (up to a limit, if
// set) or one writer. Like Lock, its acquires return channels;
// [RWLock.AcquireReadWait] and [RWLock.AcquireWriteWait] are the blocking
// twins.
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
// Cost: while nobody waits and no grant is in doubt, acquiring and releasing
// take one compare-and-swap each and no mutex; each grant allocates its
// Release (one allocation), and the channel acquires their channel (two).
//
// Memory model: in the terms of [the Go memory model], a write Release
// synchronizes before the receive (or twin's return) of any later grant; a
// read Release synchronizes before that of the next write grant.
//
// [the Go memory model]: https://go.dev/ref/mem
type RWLock struct {
	// state is the number of read grants times rwReader, plus rwWriter and
	// rwSlow. Fast paths change it with one compare-and-swap while rwSlow
	// is clear; once it is set, only holders of mu change it.
	state      atomic.Int64
	maxReaders int64 // 0: no limit. Set at construction.
	mu         sync.Mutex
	q          waitq[Release]
}

const (
	rwSlow   int64 = 1 << iota // the waitq tracks something: every call takes mu (see lockSlow)
	rwWriter                   // a write grant is outstanding
	rwBorn                     // the first call took mu (for TrackAll); the fast paths need it set
	rwReader                   // one read grant
)

// NewRWLock returns an RWLock that lets at most maxReaders readers in at once;
// 0 means no limit. A negative maxReaders panics.
func NewRWLock(maxReaders int) *RWLock {
	if maxReaders < 0 {
		panic("chans: NewRWLock with negative maxReaders")
	}
	return &RWLock{maxReaders: int64(maxReaders)}
}

// AcquireRead asks for a read lock. The channel has a buffer of one and is
// closed after yielding at most one Release: the Release once this caller
// reads under the lock, or nothing if ctx ended first (or at the call). A
// read grant left unreceived when ctx ends is taken back, and a receive after
// that yields closed (a nil Release, ok false); a caller that never
// receives and never lets ctx end keeps a reader slot until it does.
// AcquireRead panics if ctx is nil.
func (l *RWLock) AcquireRead(ctx context.Context) <-chan Release {
	checkCtx(ctx, "RWLock.AcquireRead")
	return l.acquire(ctx, false)
}

// AcquireWrite asks for the write lock, on the same terms as AcquireRead. The
// writer waits for every reader to release; while it waits, later readers
// queue behind it. AcquireWrite panics if ctx is nil.
func (l *RWLock) AcquireWrite(ctx context.Context) <-chan Release {
	checkCtx(ctx, "RWLock.AcquireWrite")
	return l.acquire(ctx, true)
}

func (l *RWLock) acquire(ctx context.Context, write bool) <-chan Release {
	if c, ok := ctx.(*choice.Ctx); ok {
		return l.acquireSel(c, write)
	}
	if ctx.Done() == nil && l.grabFast(write) {
		return grantNow(l.releaser(write))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	if ctx.Err() != nil {
		return closed[Release]()
	}
	l.q.sweep()
	if l.q.empty() && l.grab(write) {
		ch := l.q.now(ctx, ask[Release]{n: 1, write: write}, l.releaser(write), exclusive)
		l.sync()
		return ch
	}
	ch := l.q.enqueue(ctx, ask[Release]{n: 1, write: write}, byChannel).ch
	l.settle() // may grant and finish the waiter: keep its channel (see Lock)
	return ch
}

func (l *RWLock) acquireSel(c *choice.Ctx, write bool) <-chan Release {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	if c.Err() != nil {
		return closed[Release]()
	}
	l.q.sweep()
	ch := l.q.selWait(c, ask[Release]{n: 1, write: write}, l, l.q.empty() && l.can(l.state.Load(), write))
	l.sync()
	return ch
}

// AcquireReadWait is the blocking twin of AcquireRead: it returns the Release
// of a read lock once the caller holds one, or a nil Release and ctx.Err() if
// ctx ends first or had ended at the call. It queues in the same FIFO as the
// channel acquires, makes no channel and registers nothing when a read lock
// can be granted at once, and starts no goroutine when it waits.
func (l *RWLock) AcquireReadWait(ctx context.Context) (Release, error) {
	checkCtx(ctx, "RWLock.AcquireReadWait")
	return l.acquireWait(ctx, false)
}

// AcquireWriteWait is the blocking twin of AcquireWrite, on the same terms as
// AcquireReadWait.
func (l *RWLock) AcquireWriteWait(ctx context.Context) (Release, error) {
	checkCtx(ctx, "RWLock.AcquireWriteWait")
	return l.acquireWait(ctx, true)
}

func (l *RWLock) acquireWait(ctx context.Context, write bool) (Release, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l.grabFast(write) {
		return l.releaser(write), nil
	}
	l.mu.Lock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	if l.q.empty() && l.grab(write) {
		r := l.q.noteDirect(l.releaser(write), ask[Release]{n: 1, write: write})
		l.sync()
		l.mu.Unlock()
		return r, nil
	}
	w := l.q.enqueue(ctx, ask[Release]{n: 1, write: write}, byBlocking)
	l.settle()
	r, ok, _ := l.q.block(w)
	if !ok {
		return nil, ctx.Err()
	}
	if r != nil {
		return r, nil // tracked: made by dispatch, with its record
	}
	return l.releaser(write), nil // made here, not by dispatch: see grantFor
}

// TryAcquireRead takes a read lock if one can be granted now without
// overtaking a queued waiter. The bool reports whether it did: true with the
// Release, false with a nil Release and nothing taken.
func (l *RWLock) TryAcquireRead() (Release, bool) { return l.try(false) }

// TryAcquireWrite takes the write lock if it is free and nobody is queued,
// on the same terms as TryAcquireRead.
func (l *RWLock) TryAcquireWrite() (Release, bool) { return l.try(true) }

func (l *RWLock) try(write bool) (Release, bool) {
	switch l.tryFast(write) {
	case fastTaken:
		return l.releaser(write), true
	case fastRefused:
		return nil, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	defer l.sync()
	if !l.q.empty() || !l.grab(write) {
		return nil, false
	}
	return l.q.noteDirect(l.releaser(write), ask[Release]{n: 1, write: write}), true
}

// Readers returns the number of read locks held.
func (l *RWLock) Readers() int {
	if st := l.state.Load(); st&rwSlow == 0 {
		return int(st / rwReader)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	return int(l.state.Load() / rwReader)
}

// Locked reports whether a read lock could not be granted now: a writer holds
// the lock, the reader limit is reached, or a writer is queued.
func (l *RWLock) Locked() bool {
	if st := l.state.Load(); st&rwSlow == 0 {
		return !l.can(st, false)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	return !l.q.empty() || !l.can(l.state.Load(), false)
}

// String describes the lock for debugging:
// "RWLock(readers=2/4, writer=false, waiters=1)".
func (l *RWLock) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	limit := "inf"
	if l.maxReaders > 0 {
		limit = fmt.Sprint(l.maxReaders)
	}
	st := l.state.Load()
	return fmt.Sprintf("RWLock(readers=%d/%s, writer=%t, waiters=%d)", st/rwReader, limit, st&rwWriter != 0, l.q.live())
}

// can reports whether state st admits a grant of the given kind, ignoring
// the queue.
func (l *RWLock) can(st int64, write bool) bool {
	if write {
		return st&rwWriter == 0 && st/rwReader == 0
	}
	return st&rwWriter == 0 && (l.maxReaders == 0 || st/rwReader < l.maxReaders)
}

// taken is st with a grant of the given kind added.
func taken(st int64, write bool) int64 {
	if write {
		return st | rwWriter
	}
	return st + rwReader
}

// grabFast takes a grant if nothing is tracked, without the mutex; a
// compare-and-swap lost to another caller (two readers at once) is tried
// again (see Lock.grabFast). A fresh RWLock has rwBorn clear, so its first
// call takes the mutex, where TrackAll sees it (see born).
func (l *RWLock) grabFast(write bool) bool { return l.tryFast(write) == fastTaken }

// tryFast is grabFast for the Try methods, which need to know why it failed.
func (l *RWLock) tryFast(write bool) fastOutcome {
	for {
		st := l.state.Load()
		if st&(rwSlow|rwBorn) != rwBorn {
			return fastSlow
		}
		if !l.can(st, write) {
			return fastRefused
		}
		if l.state.CompareAndSwap(st, taken(st, write)) {
			return fastTaken
		}
	}
}

// grab takes a grant if the state admits one, with l.mu held.
func (l *RWLock) grab(write bool) bool {
	for {
		st := l.state.Load()
		if !l.can(st, write) {
			return false
		}
		if l.state.CompareAndSwap(st, taken(st, write)) {
			return true
		}
	}
}

// give returns a grant of the given kind.
func (l *RWLock) give(write bool) {
	for {
		st := l.state.Load()
		next := st - rwReader
		if write {
			next = st &^ rwWriter
		}
		if l.state.CompareAndSwap(st, next) {
			return
		}
	}
}

// release returns a grant: with one compare-and-swap while nothing is
// tracked, else under the mutex, passing the lock on.
func (l *RWLock) release(write bool) {
	for {
		st := l.state.Load()
		if st&rwSlow != 0 {
			break
		}
		next := st - rwReader
		if write {
			next = st &^ rwWriter
		}
		if l.state.CompareAndSwap(st, next) {
			return
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.give(write)
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.dispatch()
}

// sync makes rwSlow say whether the waitq tracks anything; l.mu is held.
func (l *RWLock) sync() {
	setSlow(&l.state, rwSlow, !l.q.idle())
	if l.state.Load()&rwBorn == 0 {
		l.state.Or(rwBorn) // the first call that took mu: open the fast path (see rwBorn)
	}
}

// settle runs after a waiter was queued; see Lock.settle.
func (l *RWLock) settle() {
	testHookQueued()
	l.sync()
	l.dispatch()
}

// releaser returns the Release of a grant (see Semaphore.releaser).
func (l *RWLock) releaser(write bool) Release {
	t := newTicket()
	return func() {
		if !t.punch() {
			panic("chans: Release of an RWLock called twice")
		}
		l.release(write)
		t.recycle()
	}
}

func (l *RWLock) dispatch() {
	for w := l.q.first(); w != nil && l.grab(w.write); w = l.q.first() {
		l.q.grant(w, l.grantFor(w), exclusive)
	}
	l.sync()
}

// grantFor is the value a grant to w carries (see Semaphore.grantFor).
func (l *RWLock) grantFor(w *waiter[Release]) Release {
	if w.kind == byBlocking && !l.q.st.holds {
		return nil // but a tracked grant carries its Release, which drops its record
	}
	return l.releaser(w.write)
}

// place grants w, a pending waiter of a selectx choice, or queues it.
func (l *RWLock) place(w *waiter[Release]) {
	if l.q.empty() && l.grab(w.write) {
		l.q.send(w, l.releaser(w.write), exclusive)
		l.sync()
		return
	}
	l.q.push(w)
	l.settle()
}

func (l *RWLock) reclaim(w *waiter[Release], _ Release) { l.give(w.write) }

// Stats reports the lock's holders and waiters (see [Stats]): Value is the
// readers holding it and Limit the reader limit (0: none); Held while a
// reader or the writer holds it. Untracked, holders are listed with an
// Unknown age, and Grants leaves out the fast path's grants (GrantsExact is
// false).
func (l *RWLock) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	st := l.state.Load()
	readers, writer := int(st/rwReader), st&rwWriter != 0
	s := Stats{Kind: "RWLock", Value: readers, Limit: int(l.maxReaders), Held: readers > 0 || writer, State: "unlocked"}
	s.named(l.q.st.tr)
	l.q.snapshot(&s, nanotime(), readWrite)
	switch {
	case writer:
		s.State = "write-locked"
	case readers > 0:
		s.State = "read-locked"
	}
	// Grants made while not tracked have no record: list them unknown.
	seen := map[string]int{}
	for _, h := range s.Holders {
		seen[h.Ask]++
	}
	if writer && seen["write"] == 0 {
		s.Holders = append(s.Holders, Holder{Age: Unknown, Ask: "write"})
	}
	for range min(readers-seen["read"], MaxListed-len(s.Holders)) {
		s.Holders = append(s.Holders, Holder{Age: Unknown, Ask: "read"})
	}
	return s
}
