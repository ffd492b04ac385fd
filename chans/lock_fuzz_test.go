package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzLock runs random sequences of Acquire, TryAcquire, releases (twice
// too), ends of contexts and receives on a Lock and on a plain model (a flag
// and a FIFO of the live waiters), and checks after every step that both
// agree: each answer, which acquires are queued (channel open and empty),
// which hold the lock in their buffer, which are closed, Locked, String and
// the panic of a second release, after which the lock must go on working.
// Mutual exclusion and "nothing lost" are counted on the real channels: the
// Releases sitting in buffers plus the ones received and not yet called
// make at most one, and exactly one when Locked says so.
//
// Contexts end in the same four ways as in FuzzCondition (ctxEnd*). A lock
// taken on the fast path, with nobody queued behind it, has no AfterFunc
// (W7): its caller walking away is noticed at the next call into the lock,
// so until that call its Release may still sit in the buffer.
//
//	go test -run '^$' -fuzz '^FuzzLock$' -fuzztime 60000x ./chans
func FuzzLock(f *testing.F) {
	// FIFO hand-off: a0 holds, a1 and a2 queue; each release hands the lock
	// to the oldest waiter, a TryAcquire in between fails (no barging).
	f.Add([]byte{lkAcquire, lkAcquire, lkAcquire, lkRecv, 0, lkRelease, 0, lkTry, lkRecv, 1, lkRelease, 1, lkRecv, 2})
	// A Release in a1's buffer when its ctx ends goes to a2 through the
	// AfterFunc; a0's second release panics and the lock stays a2's.
	f.Add([]byte{lkAcquire, lkAcquire, lkAcquire, lkRecv, 0, lkRelease, 0, lkCancel, 1, ctxEndAfterFunc, lkRelease, 0, lkRecv, 2})
	// The fast path's grant is abandoned with nobody behind it: no
	// AfterFunc, so Locked (String here) is the first to take it back (W3);
	// then a receive finds the channel closed and TryAcquire succeeds.
	f.Add([]byte{lkAcquire, lkCancel, 0, ctxEndCall, lkRecv, 0, lkTry, lkRelease, 0})
	// The same walk-away with only the AfterFunc machinery to notice: there
	// is none on the fast path (W7), so the Release may still sit in the
	// buffer until a call; TryAcquire is that call and takes the lock.
	f.Add([]byte{lkAcquire, lkCancel, 0, ctxEndAfterFunc, lkTry, lkRelease, 0})
	// The fast path's grant, abandoned once a waiter queued behind it, is
	// passed on by the AfterFunc alone; W4: a free lock is not taken with
	// an ended ctx.
	f.Add([]byte{lkAcquire, lkAcquireBg, lkCancel, 0, ctxEndAfterFunc, lkAcquireDone, lkRecv, 1, lkRelease, 0})
	// A walk-away on the fast path noticed by the next operation's call: an
	// Acquire that takes the lock back first and then gets it at once.
	f.Add([]byte{lkAcquire, lkCancel, 0, ctxEndNext, lkAcquire, lkRecv, 1})
	// A walked-away caller that still receives its fast-path Release holds
	// the lock (W2: the grant is then the caller's; yielding first changes
	// nothing, there is no AfterFunc): TryAcquire fails until it releases.
	f.Add([]byte{lkAcquire, lkCancel, 0, ctxEndRecv, 1, lkTry, lkRelease, 0, lkTry})
	// A hand-off's Release and a receive racing the AfterFunc's take-back,
	// yielding to it first: either the caller holds the lock or a2 gets it,
	// never both.
	f.Add([]byte{lkAcquire, lkAcquire, lkRecv, 0, lkRelease, 0, lkAcquire, lkCancel, 1, ctxEndRecv, 1, lkTry, lkRelease, 1, lkRecv, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzLock(t, ops)
		})
	})
}

// Operations of FuzzLock: one byte each (taken modulo lkOps), some followed
// by argument bytes.
const (
	lkAcquire     = iota // Acquire with a ctx that can end
	lkAcquireBg          // Acquire(context.Background())
	lkAcquireDone        // Acquire with an ended ctx: closed at once, even if free (W4)
	lkTry                // TryAcquire
	lkRelease            // call a received Release: arg picks among those received
	lkCancel             // end an acquire's ctx: arg picks it, the next arg says how (ctxEnd*)
	lkRecv               // receive: arg picks among the acquires that are not queued
	lkOps
)

// lkHandle is one Acquire or TryAcquire and where the model says it stands.
type lkHandle struct {
	ch        <-chan Release // nil for a TryAcquire
	cancel    context.CancelFunc
	cancelled bool
	rel       Release
	state     lkState
	// lazy: granted on the fast path with a ctx that can end and nobody
	// queued since, so no AfterFunc watches it.
	lazy bool
	// pending: ended since the lock was last looked at, so its Release may
	// still be in the buffer (lazy) or its channel not yet closed (queued,
	// AfterFunc not run).
	pending bool
}

type lkState uint8

const (
	lkQueued   lkState = iota
	lkGranted          // Release in the buffer, not received
	lkHeld             // Release received (or TryAcquire), not called
	lkReleased         // Release called: a second call must panic
	lkClosed           // closed without a Release
)

// lkModel is a Lock as plain data.
type lkModel struct {
	locked bool
	queue  []*lkHandle // live queued acquires, oldest first
}

func (m *lkModel) dispatch() {
	if !m.locked && len(m.queue) > 0 {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.locked, h.state = true, lkGranted
	}
}

// cancel ends h's ctx: a queued acquire leaves; a Release h did not receive
// comes back and goes to the oldest waiter. A held lock stays held.
func (m *lkModel) cancel(h *lkHandle) {
	h.cancelled = true
	switch h.state {
	case lkQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *lkHandle) bool { return x == h })
		h.state, h.pending = lkClosed, true
	case lkGranted:
		h.state, h.pending = lkClosed, true
		m.locked = false
		m.dispatch()
	}
}

func (m *lkModel) String() string {
	state := "unlocked"
	if m.locked {
		state = "locked"
	}
	return fmt.Sprintf("Lock(%s, waiters=%d)", state, len(m.queue))
}

func fuzzLock(t *testing.T, ops []byte) {
	var l Lock
	m := &lkModel{}
	var hs []*lkHandle
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: "+format, append([]any{strings.Join(log, "; ")}, args...)...)
	}
	name := func(h *lkHandle) string { return fmt.Sprintf("a%d", slices.Index(hs, h)) }
	ended, cancel := context.WithCancel(context.Background())
	cancel()

	// check compares every acquire's channel with the model, without
	// taking anything out of a channel that is right, and returns how many
	// hold the lock: a Release in the buffer or received and not called.
	check := func() (holders int) {
		t.Helper()
		for _, h := range hs {
			if h.ch != nil {
				holders += len(h.ch)
			}
			if h.state == lkHeld {
				holders++
			}
		}
		for _, h := range hs {
			switch {
			case h.ch == nil: // TryAcquire: nothing to look at
			case h.state == lkQueued:
				if _, ok, ready := recvNow(h.ch); ready {
					fail("%s is queued, but its channel yields (ok=%v)", name(h), ok)
				}
			case h.state == lkGranted:
				if len(h.ch) != 1 {
					fail("%s was granted the lock, but its buffer is empty", name(h))
				}
			case h.pending && h.lazy && len(h.ch) == 1:
				// Abandoned on the fast path: taken back by the next call.
			default:
				_, ok, ready := recvNow(h.ch)
				if ok || !ready && !h.pending {
					fail("%s should be closed and empty: ready=%v ok=%v", name(h), ready, ok)
				}
			}
		}
		if holders > 1 {
			fail("%d holders of one lock", holders)
		}
		return holders
	}
	// look calls into the lock, which takes back what ended contexts left,
	// and checks everything.
	look := func() {
		t.Helper()
		if got, want := l.String(), m.String(); got != want {
			fail("String() = %s, model %s", got, want)
		}
		locked := l.Locked()
		if locked != m.locked {
			fail("Locked() = %v, model %v", locked, m.locked)
		}
		for _, h := range hs {
			if h.pending && h.lazy {
				h.pending, h.lazy = false, false // taken back by these calls
			}
		}
		if n := check(); (n == 1) != locked {
			fail("Locked() = %v with %d holders", locked, n)
		}
	}
	settle := func() {
		synctest.Wait() // every AfterFunc has run; a fast-path grant has none
		for _, h := range hs {
			h.pending = h.pending && h.lazy
		}
	}

	o := &fzOps{b: ops}
	for o.more() && len(log) < 100 {
		wait := true // settle and check at the end of the step
		switch op := o.next(lkOps); op {
		case lkAcquire, lkAcquireBg:
			if len(hs) >= 24 {
				continue
			}
			h := &lkHandle{}
			ctx := context.Background()
			if op == lkAcquire {
				ctx, h.cancel = context.WithCancel(ctx)
				log = append(log, fmt.Sprintf("a%d=Acquire", len(hs)))
			} else {
				log = append(log, fmt.Sprintf("a%d=Acquire(bg)", len(hs)))
			}
			h.ch = l.Acquire(ctx)
			for _, g := range hs {
				// A waiter queues behind the grant: from now on its
				// abandonment must be noticed at once (W2).
				g.lazy = g.lazy && g.state != lkGranted
			}
			hs = append(hs, h)
			if !m.locked && len(m.queue) == 0 {
				m.locked, h.state, h.lazy = true, lkGranted, h.cancel != nil
			} else {
				m.queue = append(m.queue, h)
			}
		case lkAcquireDone:
			log = append(log, "Acquire(ended)")
			if _, ok, ready := recvNow(l.Acquire(ended)); !ready || ok {
				fail("Acquire(ended): ready=%v ok=%v, want closed at once", ready, ok)
			}
		case lkTry:
			log = append(log, "TryAcquire")
			rel, ok := l.TryAcquire()
			if want := !m.locked && len(m.queue) == 0; ok != want {
				fail("TryAcquire = %v, model %v (%v)", ok, want, m)
			}
			if ok {
				log[len(log)-1] = fmt.Sprintf("a%d=TryAcquire", len(hs))
				m.locked = true
				hs = append(hs, &lkHandle{rel: rel, state: lkHeld, cancelled: true})
			}
		case lkRelease:
			h := cdPick(o, hs, func(h *lkHandle) bool { return h.state == lkHeld || h.state == lkReleased })
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("release(%s)", name(h)))
			msg := panicText(h.rel)
			if h.state == lkReleased {
				if !strings.HasPrefix(msg, "chans: ") {
					fail("second release of %s: panic %q, want one starting with \"chans: \"", name(h), msg)
				}
				break
			}
			if msg != "" {
				fail("release(%s) panicked: %s", name(h), msg)
			}
			h.state = lkReleased
			m.locked = false
			m.dispatch()
		case lkCancel:
			h := cdPick(o, hs, func(h *lkHandle) bool { return h.cancel != nil && !h.cancelled })
			if h == nil {
				continue
			}
			how := o.next(4)
			log = append(log, fmt.Sprintf("cancel(%s, %s)", name(h), ctxEndName(how)))
			h.cancel()
			if how == ctxEndRecv {
				// A fast-path grant has no AfterFunc: nothing takes it back
				// before the next call, so the receive keeps it.
				rel, ok := recvRacing(o, h.ch)
				switch {
				case h.state == lkGranted && ok:
					h.state, h.rel, h.cancelled = lkHeld, rel, true
				case ok:
					fail("%s in state %d: receive after cancel yields a Release", name(h), h.state)
				default:
					m.cancel(h)
				}
				break
			}
			m.cancel(h)
			switch how {
			case ctxEndCall:
				look()
			case ctxEndNext:
				wait = false
			}
		case lkRecv:
			h := cdPick(o, hs, func(h *lkHandle) bool { return h.ch != nil && h.state != lkQueued })
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("recv(%s)", name(h)))
			settle()
			look() // takes back what walked away on the fast path
			rel, ok, ready := recvNow(h.ch)
			if !ready || ok != (h.state == lkGranted) {
				fail("recv(%s) in state %d: ready=%v ok=%v", name(h), h.state, ready, ok)
			}
			if ok {
				h.state, h.rel = lkHeld, rel
			}
		}
		if wait {
			settle()
			check() // before any call: the AfterFuncs alone did their part (W2)
			look()
		}
	}

	// The end: every ctx ends, one at a time; then every holder releases
	// and every waiter that cannot leave takes the lock and releases it in
	// turn. The lock must come back free, with nobody waiting.
	settle() // the last step may have left its AfterFuncs to the next call
	check()
	look()
	for _, h := range hs {
		if h.cancel != nil && !h.cancelled {
			log = append(log, fmt.Sprintf("end(%s)", name(h)))
			h.cancel()
			m.cancel(h)
			settle()
			check()
			look()
		}
	}
	for again := true; again; {
		again = false
		for _, h := range hs {
			switch h.state {
			case lkGranted:
				log = append(log, fmt.Sprintf("recv(%s)", name(h)))
				rel, ok, ready := recvNow(h.ch)
				if !ready || !ok {
					fail("recv(%s): ready=%v ok=%v, want a Release", name(h), ready, ok)
				}
				h.state, h.rel = lkHeld, rel
				fallthrough
			case lkHeld:
				log = append(log, fmt.Sprintf("release(%s)", name(h)))
				h.rel()
				h.state = lkReleased
				m.locked = false
				m.dispatch()
				again = true
				look()
			}
		}
	}
	if got := l.String(); got != "Lock(unlocked, waiters=0)" {
		fail("at the end: String() = %s", got)
	}
	rel, ok := l.TryAcquire()
	if !ok {
		fail("at the end: TryAcquire failed on a free lock")
	}
	rel()
}
