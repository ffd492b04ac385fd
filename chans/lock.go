package chans

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// Release gives back what an acquire granted. Call it exactly once, usually
// with defer; a second call panics, since a lock or permit released twice
// would let two holders in. A failed acquire yields a nil Release (from a
// closed channel, or with a non-nil error from a blocking twin): there is
// nothing to give back.
type Release func()

// A Lock is a mutual-exclusion lock whose Acquire returns a channel, so a
// wait for it composes with select, timeouts and package selectx.
// [Lock.AcquireWait] is the blocking twin for callers who do not need select.
//
// The zero value is an unlocked Lock. A Lock must not be copied after first
// use.
//
// Fairness: waiters are granted the lock in the order of their calls (FIFO);
// a new caller or TryAcquire never takes the lock while a live waiter is
// queued. A release hands the lock directly to the oldest waiter.
//
// Cancellation: if the ctx given to Acquire ends before the caller received
// the Release, the lock goes to the next waiter; it is never lost and never
// held twice.
//
// Cost: while nobody waits and no grant is in doubt, acquiring and releasing
// take one compare-and-swap each and no mutex. Acquire then allocates its
// channel (two allocations: the runtime allocates a channel of funcs and its
// buffer apart) and the Release (one); AcquireWait allocates only the
// Release, and [Lock.AcquireGuard] nothing. When callers queue, each waiter
// costs one allocation of its channel and a waiter taken from a small free
// list. Where no caller ever needs select or a ctx, a sync.Mutex is an order
// of magnitude cheaper: use it.
//
// Memory model: in the terms of [the Go memory model], the n'th call of a
// Release synchronizes before the receive (or the return of AcquireWait,
// AcquireGuard or TryAcquire) that grants the lock for the m'th time, for
// any n < m, as Unlock does for sync.Mutex's Lock.
//
// [the Go memory model]: https://go.dev/ref/mem
type Lock struct {
	// state is the lock's word: lockHeld, lockSlow and the number of the
	// current grant. Fast paths change it with one compare-and-swap while
	// lockSlow is clear; once it is set, only holders of mu change it.
	state atomic.Uint64
	mu    sync.Mutex
	q     waitq[Release]
}

const (
	lockHeld uint64 = 1 << iota // held, or granted and perhaps not yet received
	// lockSlow is set while the waitq tracks anything (queued waiters,
	// grants that may come back): every call then takes mu, since the
	// fast path could otherwise pass a queued waiter or miss a grant that
	// came back. The tempting version keeps a separate waiter count next
	// to the word, which a fast release can read one instant too early.
	lockSlow
	lockBorn // the first call took mu (for TrackAll); the fast paths need it set
	lockGen  // the grant counter: state / lockGen
)

// Acquire asks for the lock. The returned channel has a buffer of one and is
// closed after it yields at most one value:
//   - a Release, once this caller holds the lock (ok is true);
//   - nothing (closed, ok false) if ctx ended first, or had ended at the call
//     even though the lock was free (W4).
//
// If ctx ends after the Release was sent but before the caller received it,
// the lock is taken back and passed on; a receive after that yields closed.
// A caller that neither receives nor lets ctx end strands the lock until ctx
// ends: cancel the ctx of an Acquire you abandon in a select, or use
// package selectx. Acquire panics if ctx is nil.
func (l *Lock) Acquire(ctx context.Context) <-chan Release {
	checkCtx(ctx, "Lock.Acquire")
	if c, ok := ctx.(*choice.Ctx); ok {
		return l.acquireSel(c)
	}
	if ctx.Done() == nil {
		// A ctx that never ends leaves nothing to take back: the fast
		// path hands the lock out without the mutex.
		if gen, ok := l.grabFast(); ok {
			return grantNow(l.releaser(gen))
		}
	}
	return l.acquireSlow(ctx)
}

func (l *Lock) acquireSlow(ctx context.Context) <-chan Release {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	if ctx.Err() != nil {
		return closed[Release]()
	}
	l.q.sweep()
	if l.q.empty() {
		if gen, ok := l.grab(); ok {
			ch := l.q.now(ctx, ask[Release]{}, l.releaser(gen), exclusive)
			l.sync()
			return ch
		}
	}
	ch := l.q.enqueue(ctx, ask[Release]{}, byChannel).ch
	l.settle() // may grant and finish the waiter, which then serves again: keep its channel
	return ch
}

// acquireSel is Acquire under a selectx choice.
func (l *Lock) acquireSel(c *choice.Ctx) <-chan Release {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	if c.Err() != nil {
		return closed[Release]()
	}
	l.q.sweep()
	ch := l.q.selWait(c, ask[Release]{}, l, l.q.empty() && l.state.Load()&lockHeld == 0)
	l.sync()
	return ch
}

// AcquireWait is the blocking twin of Acquire: it waits in the caller's
// goroutine and returns the Release once the caller holds the lock, or a nil
// Release and ctx.Err() if ctx ends first, or had ended at the call (W4). It
// queues in the same FIFO as Acquire's callers. When the lock is free it makes
// no channel and registers nothing; when it has to wait, it watches ctx
// itself and starts no goroutine. AcquireWait panics if ctx is nil.
func (l *Lock) AcquireWait(ctx context.Context) (Release, error) {
	checkCtx(ctx, "Lock.AcquireWait")
	gen, err := l.lockWait(ctx)
	if err != nil {
		return nil, err
	}
	return l.releaser(gen), nil
}

// A Guard is a hold of a Lock as a plain value, from [Lock.AcquireGuard]:
// the same as a Release, without the allocation of a func. The zero Guard
// holds nothing. Copies of a Guard are the same hold: only the first Release
// of any of them gives the lock back; the next panics.
type Guard struct {
	l   *Lock
	gen uint64
}

// Release gives the lock back. It panics if the lock was already released
// through this hold (or the Guard is the zero Guard).
func (g Guard) Release() {
	if g.l == nil {
		panic("chans: Release of the zero Guard")
	}
	g.l.unlock(g.gen)
}

// AcquireGuard is AcquireWait returning a Guard instead of a Release, which
// costs no allocation at all when the lock is free. On failure the Guard is
// the zero Guard.
func (l *Lock) AcquireGuard(ctx context.Context) (Guard, error) {
	checkCtx(ctx, "Lock.AcquireGuard")
	gen, err := l.lockWait(ctx)
	if err != nil {
		return Guard{}, err
	}
	return Guard{l, gen}, nil
}

// lockWait takes the lock for a blocking caller and returns its grant number.
func (l *Lock) lockWait(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if gen, ok := l.grabFast(); ok {
		return gen, nil
	}
	l.mu.Lock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	if l.q.empty() {
		if gen, ok := l.grab(); ok {
			l.q.noteDirect(nil, ask[Release]{})
			l.sync()
			l.mu.Unlock()
			return gen, nil
		}
	}
	w := l.q.enqueue(ctx, ask[Release]{}, byBlocking)
	l.settle()
	if _, ok, _ := l.q.block(w); !ok {
		return 0, ctx.Err()
	}
	// The lock is ours, so the grant number in the word cannot move on
	// until we release it: it is the number of our grant.
	return l.state.Load() / lockGen, nil
}

// TryAcquire takes the lock if it is free and nobody waits for it. The bool
// reports whether it did: true with the Release of the lock, false with a
// nil Release and nothing taken.
func (l *Lock) TryAcquire() (Release, bool) {
	switch gen, o := l.tryFast(); o {
	case fastTaken:
		return l.releaser(gen), true
	case fastRefused:
		return nil, false // held, and nothing tracked that could free it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	defer l.sync()
	if !l.q.empty() {
		return nil, false
	}
	gen, ok := l.grab()
	if !ok {
		return nil, false
	}
	l.q.noteDirect(nil, ask[Release]{})
	return l.releaser(gen), true
}

// Locked reports whether the lock is held (or granted and not yet received
// by a caller whose ctx is still live).
func (l *Lock) Locked() bool {
	if s := l.state.Load(); s&lockSlow == 0 {
		return s&lockHeld != 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	return l.state.Load()&lockHeld != 0
}

// String describes the lock for debugging: "Lock(locked, waiters=2)".
func (l *Lock) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	state := "unlocked"
	if l.state.Load()&lockHeld != 0 {
		state = "locked"
	}
	return fmt.Sprintf("Lock(%s, waiters=%d)", state, l.q.live())
}

// grabFast takes the lock if it is free and nothing is tracked, without the
// mutex, and returns the number of the grant. A compare-and-swap that fails
// because the word moved on is tried again, not taken for "held": the
// tempting one-shot version makes TryAcquire fail now and then on a lock
// that was never held at any instant of the call. A fresh Lock has lockBorn
// clear, so its first call takes the mutex, where TrackAll sees it (see
// born): the same one mask as without it, and no check of TrackAll here.
func (l *Lock) grabFast() (uint64, bool) {
	gen, o := l.tryFast()
	return gen, o == fastTaken
}

// tryFast is grabFast for TryAcquire, which needs to know why it failed.
func (l *Lock) tryFast() (uint64, fastOutcome) {
	for {
		s := l.state.Load()
		if s&(lockSlow|lockBorn) != lockBorn {
			return 0, fastSlow
		}
		if s&lockHeld != 0 {
			return 0, fastRefused
		}
		if l.state.CompareAndSwap(s, (s+lockGen)|lockHeld) {
			return (s + lockGen) / lockGen, fastTaken
		}
	}
}

// grab takes the lock if it is free, whatever the queue (callers check it);
// l.mu is held. It loops because a fast path may change the word while
// lockSlow is clear.
func (l *Lock) grab() (uint64, bool) {
	for {
		s := l.state.Load()
		if s&lockHeld != 0 {
			return 0, false
		}
		if l.state.CompareAndSwap(s, (s+lockGen)|lockHeld) {
			return (s + lockGen) / lockGen, true
		}
	}
}

// sync makes lockSlow say whether the waitq tracks anything; l.mu is held.
func (l *Lock) sync() {
	setSlow(&l.state, lockSlow, !l.q.idle())
	if l.state.Load()&lockBorn == 0 {
		l.state.Or(lockBorn) // the first call that took mu: open the fast path (see lockBorn)
	}
}

// settle runs after a waiter was queued: it sets lockSlow, and then, since a
// holder's fast release may have freed the lock an instant before the bit
// was set (when the waiter was already queued but the releaser could not
// know), hands a free lock to the head of the queue. Setting the bit first
// and looking second is what makes the race harmless: once the bit is set,
// no release can take the fast path, so the look cannot miss one.
func (l *Lock) settle() {
	testHookQueued()
	l.sync()
	if l.state.Load()&lockHeld == 0 {
		l.dispatch()
	}
}

// releaser returns the Release of grant number gen. It captures the grant
// number, not a "done" flag, which keeps it to one allocation: a second call
// finds the number stale (or the lock free) and panics.
func (l *Lock) releaser(gen uint64) Release {
	return func() { l.unlock(gen) }
}

func (l *Lock) unlock(gen uint64) {
	s := l.state.Load()
	if s&lockSlow == 0 && s&lockHeld != 0 && s/lockGen == gen {
		if l.state.CompareAndSwap(s, s&^lockHeld) {
			return
		}
	}
	l.unlockSlow(gen)
}

func (l *Lock) unlockSlow(gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		s := l.state.Load()
		if s&lockHeld == 0 || s/lockGen != gen {
			panic("chans: Release of a Lock called twice")
		}
		if l.state.CompareAndSwap(s, s&^lockHeld) {
			break
		}
	}
	l.q.noteRelease()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.dispatch()
}

// dispatch hands a free lock to the oldest live waiter, then syncs lockSlow.
func (l *Lock) dispatch() {
	if w := l.q.first(); w != nil {
		if gen, ok := l.grab(); ok {
			var r Release // a blocking waiter makes its own (lockWait), or none (AcquireGuard)
			if w.kind == byChannel {
				r = l.releaser(gen)
			}
			l.q.grant(w, r, exclusive)
		}
	}
	l.sync()
}

// place grants w, a pending waiter of a selectx choice that is being armed,
// or queues it.
func (l *Lock) place(w *waiter[Release]) {
	if l.q.empty() {
		if gen, ok := l.grab(); ok {
			l.q.send(w, l.releaser(gen), exclusive)
			l.sync()
			return
		}
	}
	l.q.push(w)
	l.settle()
}

func (l *Lock) reclaim(*waiter[Release], Release) {
	for {
		s := l.state.Load()
		if l.state.CompareAndSwap(s, s&^lockHeld) {
			return
		}
	}
}

// grantNow returns a closed channel holding v: the answer of a wait that was
// granted at once, with nothing to track.
func grantNow[T any](v T) <-chan T {
	ch := make(chan T, 1)
	ch <- v
	close(ch)
	return ch
}

// testHookQueued runs after a waiter was queued and before lockSlow (or its
// Semaphore and RWLock kin) is set: the instant in which a holder's fast
// release can still succeed without seeing the waiter (see settle). Tests
// use it to force a release into that instant.
var testHookQueued = func() {}

// Stats reports the lock's holder and waiters (see [Stats]): Held while it is
// locked, or granted and not yet received by a caller whose ctx is live.
// Grants counts every grant, from the lock's state word. Untracked, the
// holder is listed with an Unknown age, unless its grant still sits in its
// channel for a caller whose ctx can end.
func (l *Lock) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.q.bind(&l.mu, l)
	l.q.sweep()
	l.sync()
	st := l.state.Load()
	s := Stats{Kind: "Lock", State: "unlocked", Held: st&lockHeld != 0, GrantsExact: true}
	s.named(l.q.st.tr)
	l.q.snapshot(&s, nanotime(), says("lock"))
	s.Grants = st / lockGen
	if s.Held {
		s.State = "locked"
		if len(s.Holders) == 0 {
			s.Holders = append(s.Holders, Holder{Age: Unknown, Ask: "lock"}) // granted while not tracked
		}
	}
	return s
}
