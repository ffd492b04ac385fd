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
// too), ends of contexts (every ctxEnd) and receives on a Lock and on a
// plain model (a flag and a FIFO of the live waiters), and checks after
// every step that both agree: each answer, every acquire's channel
// (fzCheck), Locked, String and the panic of a second release, after which
// the lock must go on working. Mutual exclusion and "nothing lost" are
// counted on the real channels: the Releases sitting in buffers plus the
// ones received and not yet called make at most one, and exactly one when
// Locked says so.
//
// A lock taken on the fast path, with nobody queued behind it, has no
// AfterFunc (W7): its caller walking away is noticed at the next call into
// the lock, so until that call its Release may still sit in the buffer
// (fzCall.lazy).
//
//	go test -run '^$' -fuzz '^FuzzLock$' -fuzztime 40000x ./chans
func FuzzLock(f *testing.F) {
	// FIFO hand-off: a0 holds, a1 and a2 queue; each release hands the lock
	// to the oldest waiter, a TryAcquire in between fails (no barging).
	f.Add([]byte{lockAcquire, lockAcquire, lockAcquire, lockRecv, 0, lockRelease, 0, lockTry, lockRecv, 1, lockRelease, 1, lockRecv, 2})
	// A Release in a1's buffer when its ctx ends goes to a2 through the
	// AfterFunc; a0's second release panics and the lock stays a2's.
	f.Add([]byte{lockAcquire, lockAcquire, lockAcquire, lockRecv, 0, lockRelease, 0, lockEnd, 1, byte(endAfterFunc), lockRelease, 0, lockRecv, 2})
	// The fast path's grant is abandoned with nobody behind it: no
	// AfterFunc, so Locked (String here) is the first to take it back (W3);
	// then a receive finds the channel closed and TryAcquire succeeds.
	f.Add([]byte{lockAcquire, lockEnd, 0, byte(endCall), lockRecv, 0, lockTry, lockRelease, 0})
	// The same walk-away with only the AfterFunc machinery to notice: there
	// is none on the fast path (W7), so the Release may still sit in the
	// buffer until a call; TryAcquire is that call and takes the lock.
	f.Add([]byte{lockAcquire, lockEnd, 0, byte(endAfterFunc), lockTry, lockRelease, 0})
	// The fast path's grant, abandoned once a waiter queued behind it, is
	// passed on by the AfterFunc alone; W4: a free lock is not taken with
	// an ended ctx.
	f.Add([]byte{lockAcquire, lockAcquireBg, lockEnd, 0, byte(endAfterFunc), lockAcquireDone, lockRecv, 1, lockRelease, 0})
	// A walk-away on the fast path noticed by the next operation's call: an
	// Acquire that takes the lock back first and then gets it at once.
	f.Add([]byte{lockAcquire, lockEnd, 0, byte(endNext), lockAcquire, lockRecv, 1})
	// A walked-away caller that still receives its fast-path Release holds
	// the lock (W2: the grant is then the caller's; yielding first changes
	// nothing, there is no AfterFunc): TryAcquire fails until it releases.
	f.Add([]byte{lockAcquire, lockEnd, 0, byte(endRecv), 1, lockTry, lockRelease, 0, lockTry})
	// A hand-off's Release and a receive racing the AfterFunc's take-back,
	// yielding to it first: either the caller holds the lock or a2 gets it,
	// never both.
	f.Add([]byte{lockAcquire, lockAcquire, lockRecv, 0, lockRelease, 0, lockAcquire, lockEnd, 1, byte(endRecv), 1, lockTry, lockRelease, 1, lockRecv, 2})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzLock(t, ops)
		})
	})
}

// The operations of FuzzLock, one byte each (modulo lockOps), some followed
// by argument bytes.
const (
	lockAcquire     = iota // Acquire with a ctx that can end
	lockAcquireBg          // Acquire(context.Background())
	lockAcquireDone        // Acquire with an ended ctx: closed at once, even if free (W4)
	lockTry                // TryAcquire
	lockRelease            // call a received Release: arg picks among those received
	lockEnd                // arg picks an acquire whose ctx can end, the next arg says how (ctxEnd)
	lockRecv               // receive: arg picks among the acquires that are not queued
	lockOps
)

// lockHandle is one Acquire or TryAcquire and where the model says it stands.
type lockHandle struct {
	fzCall
	ch  <-chan Release // nil for a TryAcquire
	rel Release
}

// lockModel is a Lock as plain data.
type lockModel struct {
	locked bool
	queue  []*lockHandle // live queued acquires, oldest first
}

func (m *lockModel) dispatch() {
	if !m.locked && len(m.queue) > 0 {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.locked, h.state = true, callGranted
	}
}

// end: a queued acquire leaves; a Release h did not receive comes back and
// goes to the oldest waiter. A held lock stays held.
func (m *lockModel) end(h *lockHandle) {
	switch h.state {
	case callQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *lockHandle) bool { return x == h })
		h.state, h.lagging = callClosed, true
	case callGranted:
		h.state, h.lagging = callClosed, true
		m.locked = false
		m.dispatch()
	}
}

func (m *lockModel) String() string {
	state := "unlocked"
	if m.locked {
		state = "locked"
	}
	return fmt.Sprintf("Lock(%s, waiters=%d)", state, len(m.queue))
}

func fuzzLock(t *testing.T, ops []byte) {
	var l Lock
	m := &lockModel{}
	var hs []*lockHandle
	r := newFzRun(t, ops)
	name := func(h *lockHandle) string { return fmt.Sprintf("a%d", slices.Index(hs, h)) }

	// check compares every acquire's channel with the model and returns how
	// many hold the lock: a Release in the buffer or received and not called.
	check := func() (holders int) {
		t.Helper()
		for _, h := range hs {
			if h.ch != nil {
				holders += len(h.ch)
			}
			if h.state == callHeld {
				holders++
			}
		}
		fzCheck(r, hs)
		if holders > 1 {
			r.fail("%d holders of one lock", holders)
		}
		return holders
	}
	// look calls into the lock, which takes back what ended contexts left,
	// and checks everything.
	look := func() {
		t.Helper()
		if got, want := l.String(), m.String(); got != want {
			r.fail("String() = %s, model %s", got, want)
		}
		locked := l.Locked()
		if locked != m.locked {
			r.fail("Locked() = %v, model %v", locked, m.locked)
		}
		fzLooked(hs)
		if n := check(); (n == 1) != locked {
			r.fail("Locked() = %v with %d holders", locked, n)
		}
	}
	settle := func() {
		synctest.Wait() // every AfterFunc has run; a fast-path grant has none
		fzSettled(hs)
	}

	for r.step(100) {
		switch op := r.in.next(lockOps); op {
		case lockAcquire, lockAcquireBg:
			if len(hs) >= 24 {
				continue
			}
			h := &lockHandle{}
			ctx := context.Background()
			if op == lockAcquire {
				ctx, h.cancel = context.WithCancel(ctx)
				r.logf("a%d=Acquire", len(hs))
			} else {
				r.logf("a%d=Acquire(bg)", len(hs))
			}
			h.ch = l.Acquire(ctx)
			h.fzCall.ch = pend[Release]{h.ch}
			if !m.locked && len(m.queue) == 0 {
				m.locked, h.state, h.lazy = true, callGranted, h.cancel != nil
			} else {
				m.queue = append(m.queue, h)
				fzQueuedBehind(hs) // from now on an abandoned grant must be noticed at once (W2)
			}
			hs = append(hs, h)
		case lockAcquireDone:
			r.logf("Acquire(ended)")
			if _, ok, ready := recvNow(l.Acquire(endedCtx())); !ready || ok {
				r.fail("Acquire(ended): ready=%v ok=%v, want closed at once", ready, ok)
			}
		case lockTry:
			r.logf("TryAcquire")
			rel, ok := l.TryAcquire()
			if want := !m.locked && len(m.queue) == 0; ok != want {
				r.fail("TryAcquire = %v, model %v (%v)", ok, want, m)
			}
			if ok {
				r.log[len(r.log)-1] = fmt.Sprintf("a%d=TryAcquire", len(hs))
				m.locked = true
				hs = append(hs, &lockHandle{rel: rel, fzCall: fzCall{state: callHeld}})
			}
		case lockRelease:
			h, _ := fzPick(&r.in, hs, func(c *fzCall) bool { return c.state == callHeld || c.state == callReleased })
			if h == nil {
				continue
			}
			r.logf("release(%s)", name(h))
			msg := panicText(h.rel)
			if h.state == callReleased {
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("second release of %s: panic %q, want one starting with \"chans: \"", name(h), msg)
				}
				break
			}
			if msg != "" {
				r.fail("release(%s) panicked: %s", name(h), msg)
			}
			h.state = callReleased
			m.locked = false
			m.dispatch()
		case lockEnd:
			h, _ := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			switch how := r.end(&h.fzCall, name(h)); how {
			case endRecv:
				// A fast-path grant has no AfterFunc: nothing takes it back
				// before the next call, so the receive keeps it.
				rel, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case h.state == callGranted && ok:
					h.state, h.rel = callHeld, rel
				case ok:
					r.fail("%s in state %v: receive after the end yields a Release", name(h), h.state)
				default:
					m.end(h)
				}
			default:
				m.end(h)
				if how == endCall {
					look()
				}
			}
		case lockRecv:
			h, _ := fzPick(&r.in, hs, func(c *fzCall) bool { return c.ch != nil && c.state != callQueued })
			if h == nil {
				continue
			}
			r.logf("recv(%s)", name(h))
			settle()
			look() // takes back what walked away on the fast path
			rel, ok, ready := recvNow(h.ch)
			if !ready || ok != (h.state == callGranted) {
				r.fail("recv(%s) in state %v: ready=%v ok=%v", name(h), h.state, ready, ok)
			}
			if ok {
				h.state, h.rel = callHeld, rel
			}
		}
		if !r.endNext {
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
		if canEnd(&h.fzCall) {
			r.logf("end(%s)", name(h))
			h.ended = true
			h.cancel()
			m.end(h)
			settle()
			check()
			look()
		}
	}
	for again := true; again; {
		again = false
		for _, h := range hs {
			switch h.state {
			case callGranted:
				r.logf("recv(%s)", name(h))
				rel, ok, ready := recvNow(h.ch)
				if !ready || !ok {
					r.fail("recv(%s): ready=%v ok=%v, want a Release", name(h), ready, ok)
				}
				h.state, h.rel = callHeld, rel
				fallthrough
			case callHeld:
				r.logf("release(%s)", name(h))
				h.rel()
				h.state = callReleased
				m.locked = false
				m.dispatch()
				again = true
				look()
			}
		}
	}
	if got := l.String(); got != "Lock(unlocked, waiters=0)" {
		r.fail("at the end: String() = %s", got)
	}
	rel, ok := l.TryAcquire()
	if !ok {
		r.fail("at the end: TryAcquire failed on a free lock")
	}
	rel()
}
