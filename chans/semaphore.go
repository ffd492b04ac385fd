package chans

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// ErrAboveBound is the error of a blocking acquire ([Semaphore.AcquireNWait])
// that asks a bounded semaphore for more permits than its bound: the request
// could never be met, so it fails at once rather than wait forever.
var ErrAboveBound = errors.New("chans: request above the semaphore's bound")

// A Semaphore holds a count of permits. Acquire takes one, AcquireN takes n
// at once, and the Release they return gives them back. Release() adds one
// permit unpaired, as toro's and tornado's release() do. [Semaphore.AcquireWait]
// and [Semaphore.AcquireNWait] are the blocking twins.
//
// Create one with NewSemaphore or NewBoundedSemaphore. The zero value is an
// unbounded semaphore with no permits: acquires wait until Release() adds
// some. A Semaphore must not be copied after first use.
//
// Fairness: FIFO. A waiter at the head that wants more permits than are free
// holds back everyone behind it, even those asking for fewer (as in
// golang.org/x/sync/semaphore); otherwise large requests would starve.
//
// Cancellation: an AcquireN is all or nothing. Permits granted to a caller
// whose ctx ended before it received are given back and passed on.
//
// Cost: while nobody waits, no grant is in doubt and nobody waits in Wait,
// acquiring and releasing take one compare-and-swap each and no mutex. Each
// grant allocates its Release once (a Release must know whether it was
// called, and the flag that says so comes from a pool); AcquireN also
// allocates its channel (two allocations).
//
// Memory model: a Release (of either kind) synchronizes before the receive,
// or the return of a blocking or Try acquire, of a grant that its permits
// made possible, in the terms of [the Go memory model].
//
// [the Go memory model]: https://go.dev/ref/mem
type Semaphore struct {
	// state is the count of free permits times two, plus semSlow. Fast
	// paths change it with one compare-and-swap while semSlow is clear;
	// once it is set, only holders of mu change it.
	state   atomic.Int64
	bound   int64 // 0: unbounded; else the most permits there may ever be free. Set at construction.
	mu      sync.Mutex
	q       waitq[Release]
	unlockd latch // Wait(): open while permits are free
}

// semSlow is set while the waitq tracks anything or somebody waits in Wait:
// every call then takes mu (see lockSlow).
const semSlow int64 = 1

// NewSemaphore returns a semaphore with n free permits. Negative n panics.
func NewSemaphore(n int) *Semaphore {
	if n < 0 {
		panic("chans: NewSemaphore with negative value")
	}
	s := new(Semaphore)
	s.state.Store(int64(n) << 1)
	trackAtBirth(s)
	return s
}

// NewBoundedSemaphore returns a semaphore with n free permits that can never
// hold more than n free: a Release that would leave more than n free panics,
// catching a release without a matching acquire (toro's BoundedSemaphore). n
// must be positive.
func NewBoundedSemaphore(n int) *Semaphore {
	if n <= 0 {
		panic("chans: NewBoundedSemaphore needs a positive value")
	}
	s := &Semaphore{bound: int64(n)}
	s.state.Store(int64(n) << 1)
	trackAtBirth(s)
	return s
}

// Acquire is AcquireN(ctx, 1).
func (s *Semaphore) Acquire(ctx context.Context) <-chan Release {
	checkCtx(ctx, "Semaphore.Acquire")
	return s.acquire(ctx, 1, "Semaphore.Acquire")
}

// AcquireN asks for n permits at once. The channel has a buffer of one and is
// closed after yielding at most one value: a Release that gives all n back,
// once they are this caller's; or nothing (closed) if ctx ended first, if ctx
// had ended at the call, or at once if the semaphore is bounded below n, since
// the request could never be met.
//
// Permits granted but not received when ctx ends are taken back and passed
// on; a receive after that yields closed (a nil Release, ok false). A caller that never receives and never lets ctx end strands the permits
// until it does. n == 0 is granted at once unless someone is queued.
// Negative n, or a nil ctx, panics.
func (s *Semaphore) AcquireN(ctx context.Context, n int) <-chan Release {
	checkCtx(ctx, "Semaphore.AcquireN")
	return s.acquire(ctx, n, "Semaphore.AcquireN")
}

// acquire is AcquireN; method names the caller for a panic. The names are
// constants passed whole: building one here would cost an allocation on
// every call (the tempting "Semaphore."+method did, and the profile showed
// it).
func (s *Semaphore) acquire(ctx context.Context, n int, method string) <-chan Release {
	if n < 0 {
		panic("chans: " + method + " with negative n")
	}
	if c, ok := ctx.(*choice.Ctx); ok {
		return s.acquireSel(c, n)
	}
	if ctx.Done() == nil {
		if s.grabFast(n) {
			return grantNow(s.releaser(n))
		}
	}
	return s.acquireSlow(ctx, n)
}

func (s *Semaphore) acquireSlow(ctx context.Context, n int) <-chan Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	if ctx.Err() != nil || s.above(n) {
		return closed[Release]()
	}
	s.q.sweep()
	if s.q.empty() && s.grab(n) {
		ch := s.q.now(ctx, ask[Release]{n: n}, s.releaser(n), exclusive)
		s.sync()
		return ch
	}
	ch := s.q.enqueue(ctx, ask[Release]{n: n}, byChannel).ch
	s.settle() // may grant and finish the waiter: keep its channel (see Lock)
	return ch
}

func (s *Semaphore) acquireSel(c *choice.Ctx, n int) <-chan Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	if c.Err() != nil || s.above(n) {
		return closed[Release]()
	}
	s.q.sweep()
	ch := s.q.selWait(c, ask[Release]{n: n}, s, s.q.empty() && int64(n) <= s.free())
	s.sync()
	return ch
}

// AcquireWait is AcquireNWait(ctx, 1).
func (s *Semaphore) AcquireWait(ctx context.Context) (Release, error) {
	checkCtx(ctx, "Semaphore.AcquireWait")
	return s.acquireWait(ctx, 1, "Semaphore.AcquireWait")
}

// AcquireNWait is the blocking twin of AcquireN: it waits in the caller's
// goroutine and returns the Release of n permits once they are the caller's.
// It returns a nil Release and ctx.Err() if ctx ends first or had ended at the
// call (W4), or ErrAboveBound at once if the semaphore is bounded below n. It
// queues in the same FIFO as AcquireN's callers; when the permits are free it
// makes no channel and registers nothing, and when it waits it starts no
// goroutine. Negative n, or a nil ctx, panics.
func (s *Semaphore) AcquireNWait(ctx context.Context, n int) (Release, error) {
	checkCtx(ctx, "Semaphore.AcquireNWait")
	return s.acquireWait(ctx, n, "Semaphore.AcquireNWait")
}

func (s *Semaphore) acquireWait(ctx context.Context, n int, method string) (Release, error) {
	r, err := s.take(ctx, n, nil, method)
	if err != nil {
		return nil, err
	}
	if r == nil { // not tracked: no Release was made under the mutex
		r = s.releaser(n)
	}
	return r, nil
}

// take waits, in the caller's goroutine, until n permits are the caller's:
// the blocking twins' wait, without the Release. While the semaphore is
// tracked, take returns the grant's Release, made under the mutex so that its
// record is dropped when it is called (see twinGrant); otherwise nil.
//
// A caller that has to queue leaves j (if not nil) with its waiter: a holder
// that calls passOn may then take j and the waiter's grant together, in which
// case j.passed() was called before take returns and the permit is the
// holder's, kept for j: the caller must not give it back. TaskGroup's Go
// uses that so that a task's goroutine runs the next task waiting for a
// slot, as a worker would; its semaphore is never tracked.
func (s *Semaphore) take(ctx context.Context, n int, j job, method string) (Release, error) {
	if n < 0 {
		panic("chans: " + method + " with negative n")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.grabFast(n) {
		return nil, nil
	}
	s.mu.Lock()
	s.q.bind(&s.mu, s)
	if s.above(n) {
		s.mu.Unlock()
		return nil, ErrAboveBound
	}
	s.q.sweep()
	if s.q.empty() && s.grab(n) {
		r := s.twinGrant(n)
		s.sync()
		s.mu.Unlock()
		return r, nil
	}
	w := s.q.enqueue(ctx, ask[Release]{n: n, job: j}, byBlocking)
	s.settle()
	r, ok, _ := s.q.block(w)
	if !ok {
		return nil, ctx.Err()
	}
	return r, nil // nil unless tracked (see grantFor)
}

// A job is what a blocking waiter of take leaves in the queue for a holder
// that passes its permit on (passOn): the work the waiter would start once
// granted, which the holder runs in its stead. passed is called under s.mu
// when a holder takes it, before the waiter is told.
type job interface{ passed() }

// passOn gives back one permit of a holder that can run a waiter's job (see
// take) itself. If the first live waiter in line left a job and wants one
// permit, passOn grants it the holder's permit, which never goes back to the
// count, and returns the job for the holder to run. Else it gives the permit
// back as give(1) does and returns nil. Fairness is kept: only the waiter at
// the head is looked at, and one that left no job (a channel Acquire) is
// served as give would serve it.
//
// The grant is final, not exclusive: a waiter whose ctx ends at the same
// moment still has it, since its job is already running elsewhere; taking
// it back would count the permit twice.
func (s *Semaphore) passOn() job {
	for {
		st := s.state.Load()
		if st&semSlow != 0 {
			break
		}
		if s.state.CompareAndSwap(st, st+1<<1) {
			return nil // nobody queued
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.passOnLocked()
}

// passOnLocked is passOn's slow path, with s.mu held.
func (s *Semaphore) passOnLocked() job {
	s.q.bind(&s.mu, s)
	s.q.sweep()
	if w := s.q.first(); w != nil && w.job != nil && w.n == 1 {
		j := w.job
		j.passed()
		s.q.grant(w, nil, final)
		s.sync()
		return j
	}
	s.add(1)
	s.dispatch()
	return nil
}

// TryAcquire is TryAcquireN(1).
func (s *Semaphore) TryAcquire() (Release, bool) { return s.TryAcquireN(1) }

// TryAcquireN takes n permits if they are free and nobody is queued. The
// bool reports whether it did: true with their Release, false with a nil
// Release and nothing taken.
func (s *Semaphore) TryAcquireN(n int) (Release, bool) {
	if n < 0 {
		panic("chans: Semaphore.TryAcquireN with negative n")
	}
	switch s.tryFast(n) {
	case fastTaken:
		return s.releaser(n), true
	case fastRefused:
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	defer s.sync()
	if !s.q.empty() || !s.grab(n) {
		return nil, false
	}
	return s.q.noteDirect(s.releaser(n), ask[Release]{n: n}), true
}

// Release adds one permit, unpaired with any acquire. On a bounded semaphore
// it panics, changing nothing, if that would leave more permits free than the
// bound (toro's BoundedSemaphore raises ValueError there). A permit may be
// out on a grant meanwhile: acquiring in one task and calling Release() in
// another is fine, and it is then that grant's own Release that would exceed
// the bound, and panics the same way.
func (s *Semaphore) Release() {
	if !s.give(1) {
		panic("chans: Semaphore released more times than it was acquired")
	}
}

// Value returns the number of free permits.
func (s *Semaphore) Value() int {
	if st := s.state.Load(); st&semSlow == 0 {
		return int(st >> 1)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	s.sync()
	return int(s.free())
}

// Locked reports whether no permit is free (Value() == 0).
func (s *Semaphore) Locked() bool { return s.Value() == 0 }

// Wait returns a channel that is closed once the semaphore is not locked:
// at once if a permit is free now, else when a release leaves one free after
// the queued waiters were served. It takes nothing, so it needs no ctx and
// abandoning it costs nothing (toro Semaphore.wait).
func (s *Semaphore) Wait() <-chan struct{} {
	if st := s.state.Load(); st&semSlow == 0 && st>>1 > 0 {
		return closedCh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	defer s.sync()
	if s.free() == 0 {
		// The permits may sit unreceived in channels handed out on the fast
		// path, which registered nothing. If their callers walk away, the
		// permits come back, and this wait must then end without anyone else
		// calling into the semaphore, so watch those callers' contexts now.
		s.q.watchLazy()
	}
	return s.unlockd.wait(s.free() > 0)
}

// String describes the semaphore: "Semaphore(value=2, waiters=0)", with
// "bound=N" for a bounded one.
func (s *Semaphore) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	s.sync()
	if s.bound > 0 {
		return fmt.Sprintf("Semaphore(value=%d, bound=%d, waiters=%d)", s.free(), s.bound, s.q.live())
	}
	return fmt.Sprintf("Semaphore(value=%d, waiters=%d)", s.free(), s.q.live())
}

// free returns the number of free permits.
func (s *Semaphore) free() int64 { return s.state.Load() >> 1 }

// above reports whether n permits could never be had.
func (s *Semaphore) above(n int) bool { return s.bound > 0 && int64(n) > s.bound }

// grabFast takes n free permits if nothing is tracked, without the mutex;
// a compare-and-swap lost to another caller is tried again (see
// Lock.grabFast).
func (s *Semaphore) grabFast(n int) bool {
	for {
		st := s.state.Load()
		if st&semSlow != 0 || st>>1 < int64(n) {
			return false
		}
		if s.state.CompareAndSwap(st, st-int64(n)<<1) {
			return true
		}
	}
}

// tryFast is grabFast for TryAcquireN, which needs to know why it failed
// (grabFast keeps its own loop, small enough to inline into the acquires).
func (s *Semaphore) tryFast(n int) fastOutcome {
	for {
		st := s.state.Load()
		if st&semSlow != 0 {
			return fastSlow
		}
		if st>>1 < int64(n) {
			return fastRefused
		}
		if s.state.CompareAndSwap(st, st-int64(n)<<1) {
			return fastTaken
		}
	}
}

// grab takes n free permits, with s.mu held.
func (s *Semaphore) grab(n int) bool {
	for {
		st := s.state.Load()
		if st>>1 < int64(n) {
			return false
		}
		if s.state.CompareAndSwap(st, st-int64(n)<<1) {
			return true
		}
	}
}

// give adds n permits. It reports false, changing nothing, if that would
// leave more free than a bounded semaphore's bound; the caller panics, after
// the mutex is released.
func (s *Semaphore) give(n int) bool {
	for {
		st := s.state.Load()
		if st&semSlow != 0 {
			break
		}
		if s.bound > 0 && st>>1+int64(n) > s.bound {
			return false
		}
		if s.state.CompareAndSwap(st, st+int64(n)<<1) {
			return true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	if s.bound > 0 && s.free()+int64(n) > s.bound {
		return false
	}
	s.add(n)
	s.dispatch()
	return true
}

// add adds n permits, with s.mu held.
func (s *Semaphore) add(n int) {
	for {
		st := s.state.Load()
		if s.state.CompareAndSwap(st, st+int64(n)<<1) {
			return
		}
	}
}

// sync makes semSlow say whether anything is tracked; s.mu is held.
func (s *Semaphore) sync() { setSlow(&s.state, semSlow, !s.q.idle() || s.unlockd.waited()) }

// settle runs after a waiter was queued; see Lock.settle.
func (s *Semaphore) settle() {
	testHookQueued()
	s.sync()
	if s.free() > 0 {
		s.dispatch()
	}
}

// releaser returns the Release of a grant of n permits. The flag that makes
// a second call panic is a stamp from a pool, so the Release costs one
// allocation, the func itself (see stamp).
func (s *Semaphore) releaser(n int) Release {
	t := newTicket()
	return func() {
		if !t.punch() {
			panic("chans: Release of a Semaphore called twice")
		}
		if !s.give(n) {
			t.unpunch() // the permits are still out: the grant is not released
			panic("chans: Release of a Semaphore grant would exceed its bound (an unpaired Release() was called while it was out)")
		}
		t.recycle()
	}
}

func (s *Semaphore) dispatch() {
	for w := s.q.first(); w != nil && int64(w.n) <= s.free(); w = s.q.first() {
		s.grab(w.n)
		s.q.grant(w, s.grantFor(w), exclusive)
	}
	if s.free() > 0 {
		s.unlockd.open()
	}
	s.sync()
}

// grantFor is the value a grant to w carries: its Release, for a channel
// waiter; nothing for a blocking one, whose caller makes its own Release if
// it needs one (TaskGroup does not).
func (s *Semaphore) grantFor(w *waiter[Release]) Release {
	if w.kind == byBlocking && !s.q.st.holds {
		return nil // but a tracked grant carries its Release, which drops its record
	}
	return s.releaser(w.n)
}

// place grants w, a pending waiter of a selectx choice, or queues it.
func (s *Semaphore) place(w *waiter[Release]) {
	if s.q.empty() && s.grab(w.n) {
		s.q.send(w, s.releaser(w.n), exclusive)
		s.sync()
		return
	}
	s.q.push(w)
	s.settle()
}

func (s *Semaphore) reclaim(w *waiter[Release], _ Release) { s.add(w.n) }

// A ticket makes a Release callable once at the cost of a single allocation,
// the Release func itself. The tempting version captures an atomic.Bool in
// the func, which the compiler must move to the heap on its own: a second
// allocation per grant. A ticket is a stamp from a pool and the stamp's value
// when the grant was made: the first call of the Release moves the stamp on,
// and any later call, from any copy, finds it moved and panics. A stamp goes
// back to the pool once its grant is released, and a stale Release that still
// holds it can only find it moved further.
type ticket struct {
	s   *atomic.Uint64
	gen uint64
}

var stamps = sync.Pool{New: func() any { return new(atomic.Uint64) }}

func newTicket() ticket {
	s := stamps.Get().(*atomic.Uint64)
	return ticket{s, s.Load()}
}

// punch reports whether this is the first call; it moves the stamp on.
func (t ticket) punch() bool { return t.s.CompareAndSwap(t.gen, t.gen+1) }

// unpunch undoes punch, for a Release that panicked without releasing.
func (t ticket) unpunch() { t.s.Store(t.gen) }

// recycle gives the stamp back once the grant is released.
func (t ticket) recycle() { stamps.Put(t.s) }

// Stats reports the semaphore's holders and waiters (see [Stats]): Value is
// the free permits and Limit the bound (0: none). Untracked, a Semaphore
// does not know its holders: Held is then known only for a bounded one
// (fewer permits free than the bound), and Grants leaves out the fast path's
// grants (GrantsExact is false).
func (s *Semaphore) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.q.bind(&s.mu, s)
	s.q.sweep()
	s.sync()
	free := s.free()
	st := Stats{Kind: "Semaphore", Value: int(free), Limit: int(s.bound), State: "free"}
	st.named(s.q.st.tr)
	s.q.snapshot(&st, nanotime(), permits)
	st.Held = len(st.Holders) > 0 || s.bound > 0 && free < s.bound
	if free == 0 {
		st.State = "locked"
	}
	return st
}
