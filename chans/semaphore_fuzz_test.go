package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzSemaphore runs random sequences of weighted AcquireN, TryAcquireN,
// unpaired Release, ends of contexts (every ctxEnd), receives and releases
// (twice too) on a Semaphore, bounded or not, and on a model made of two
// counters and a FIFO slice of requests, and checks after every step that
// both agree: each call's answer, every acquire's channel (fzCheck: queued,
// holding its permits, or closed and empty), Value, Locked, String, and the
// panics of over-release and double release. The harness is in
// fuzz_harness_test.go.
//
//	go test -run '^$' -fuzz '^FuzzSemaphore$' -fuzztime 40000x ./chans
func FuzzSemaphore(f *testing.F) {
	// A 2-permit semaphore: AcquireN(1) at once, AcquireN(2) queues behind
	// it; h0 released, h1 gets both permits; TryAcquireN(1) fails behind
	// the queue, a check, an unpaired Release.
	f.Add(false, uint8(2), []byte{semAcquireN, 1, semAcquireN, 2, semRecv, 0, semRelease1, 0, semRecv, 1, semTryAcquireN, 1, semCheck, semRelease})
	// Bounded at 2: AcquireN(3) can never be met and is closed at once;
	// AcquireN(1) twice, the first's ctx ends and its AfterFunc... there is
	// none on the fast path, so the next call takes it back; over-release
	// panics.
	f.Add(true, uint8(2), []byte{semAcquireN, 3, semAcquireN, 1, semAcquireN, 1, semEnd, 0, byte(endAfterFunc), semRecv, 0, semRelease, semCheck})
	// Bounded at 1: a holder, a queued AcquireN(1) whose grant the release
	// hands over; its ctx ends with the grant unreceived and a call first
	// (W3); a second release of the first grant panics.
	f.Add(true, uint8(1), []byte{semAcquireN, 1, semRecv, 0, semAcquireN, 1, semRelease1, 0, semEnd, 0, byte(endCall), semRelease1, 0, semCheck})
	// No permits: two queued acquires, unpaired Releases hand them over,
	// one caller's receive races the take-back (yielding first), the other
	// walks away with the next operation first.
	f.Add(false, uint8(0), []byte{semAcquireN, 1, semAcquireN, 1, semRelease, semRelease, semEnd, 0, byte(endRecv), 1, semEnd, 0, byte(endNext), semTryAcquireN, 1, semCheck})
	// Two permits: 1 at once, 2 queued, 1 queued behind; h0 walks away
	// unreceived on the fast path (no AfterFunc: taken back by the next
	// call) and h1 gets both.
	f.Add(false, uint8(2), []byte{semAcquireN, 1, semAcquireN, 2, semAcquireN, 1, semEnd, 0, byte(endAfterFunc), semRecv, 1, semCheck})
	// Bounded at 2: AcquireN(3) closed at once; a queued AcquireN(1) ends
	// with a call first; unpaired Releases at the bound panic.
	f.Add(true, uint8(2), []byte{semAcquireN, 3, semAcquireN, 1, semAcquireN, 1, semRecv, 0, semEnd, 1, byte(endCall), semRelease, semRelease, semCheck})
	// Bounded at 1: TryAcquireN(1), Release() over the bound panics, a
	// double release panics and changes nothing.
	f.Add(true, uint8(1), []byte{semTryAcquireN, 1, semRelease, semRelease1, 0, semRelease1, 0, semRelease, semCheck})
	// No permits: a heavy head (2) holds back a light waiter until two
	// Releases; the head's received grant survives its ctx ending.
	f.Add(false, uint8(0), []byte{semAcquireN, 2, semAcquireN, 1, semRelease, semRelease, semRecv, 0, semEnd, 0, byte(endAfterFunc), semCheck, semRelease, semRecv, 1, semRelease1, 1, semCheck})
	// A queued heavy head ends by its AfterFunc: the lighter ones behind get
	// in; then one ends with a call first.
	f.Add(false, uint8(3), []byte{semAcquireN, 3, semAcquireN, 2, semAcquireN, 1, semEnd, 0, byte(endAfterFunc), semCheck, semEnd, 0, byte(endCall), semCheck, semRecv, 1, semRecv, 2})
	f.Fuzz(func(t *testing.T, bounded bool, initial uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzSemaphore(t, bounded, int(initial%5), ops)
		})
	})
}

// The operations of FuzzSemaphore, one byte each (modulo semOps), some
// followed by argument bytes.
const (
	semAcquireN    = iota // n%4: AcquireN with a ctx that can end
	semTryAcquireN        // n%4
	semRelease            // an unpaired Release()
	semEnd                // handle (among those that can end), how (ctxEnd)
	semRecv               // handle: receive, once nothing it could yield is still on its way
	semRelease1           // handle: call the Release it holds (again, if released)
	semCheck              // String and Locked
	semOps
)

// semHandle is one acquire and where the model says it stands.
type semHandle struct {
	fzCall
	n   int
	ch  <-chan Release // nil for a TryAcquireN
	rel Release
}

// semModel is a Semaphore as plain data.
type semModel struct {
	value, held, bound int
	queue              []*semHandle
}

func (m *semModel) dispatch() {
	for len(m.queue) > 0 && m.queue[0].n <= m.value {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.value -= h.n
		m.held += h.n
		h.state = callGranted
	}
}

// end: a queued acquire leaves; permits granted and not received come
// back; either may let the waiters behind in. A held grant stays held.
func (m *semModel) end(h *semHandle) {
	switch h.state {
	case callQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *semHandle) bool { return x == h })
		h.state, h.lagging = callClosed, true
	case callGranted:
		m.value += h.n
		m.held -= h.n
		h.state, h.lagging = callClosed, true
	}
	m.dispatch() // a heavy head leaving lets lighter ones in
}

func (m *semModel) String() string {
	if m.bound > 0 {
		return fmt.Sprintf("Semaphore(value=%d, bound=%d, waiters=%d)", m.value, m.bound, len(m.queue))
	}
	return fmt.Sprintf("Semaphore(value=%d, waiters=%d)", m.value, len(m.queue))
}

func fuzzSemaphore(t *testing.T, bounded bool, initial int, ops []byte) {
	var s *Semaphore
	m := &semModel{value: initial}
	if bounded {
		initial = max(initial, 1)
		s, m.value, m.bound = NewBoundedSemaphore(initial), initial, initial
	} else {
		s = NewSemaphore(initial)
	}
	var hs []*semHandle
	r := newFzRun(t, ops)
	// look calls into the semaphore, which takes back what ended contexts
	// left, and compares everything with the model.
	look := func() {
		t.Helper()
		if v := s.Value(); v != m.value {
			r.fail("Value() = %d, model %d", v, m.value)
		}
		fzLooked(hs)
		fzCheck(r, hs)
	}
	for r.step(200) {
		switch op := r.in.next(semOps); op {
		case semAcquireN:
			n := r.in.next(4)
			h := &semHandle{n: n}
			var ctx context.Context
			ctx, h.cancel = context.WithCancel(context.Background())
			r.logf("h%d=AcquireN(%d)", len(hs), n)
			h.ch = s.AcquireN(ctx, n)
			h.fzCall.ch = pend[Release]{h.ch}
			switch {
			case m.bound > 0 && n > m.bound:
				h.state = callClosed // can never be met: closed at once
			case len(m.queue) == 0 && n <= m.value:
				m.value -= n
				m.held += n
				h.state, h.lazy = callGranted, true
			default:
				m.queue = append(m.queue, h)
				fzQueuedBehind(hs)
			}
			hs = append(hs, h)
		case semTryAcquireN:
			n := r.in.next(4)
			r.logf("TryAcquireN(%d)", n)
			rel, ok := s.TryAcquireN(n)
			if want := len(m.queue) == 0 && n <= m.value; ok != want {
				r.fail("TryAcquireN(%d) = %v, model says %v (%v)", n, ok, want, m)
			}
			if ok {
				m.value -= n
				m.held += n
				r.log[len(r.log)-1] = fmt.Sprintf("h%d=TryAcquireN(%d)", len(hs), n)
				hs = append(hs, &semHandle{n: n, rel: rel, fzCall: fzCall{state: callHeld}})
			}
		case semRelease:
			r.logf("Release()")
			msg := panicText(s.Release)
			if m.bound > 0 && m.value+1 > m.bound { // toro: only the free permits count
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("over-release of a bounded semaphore: panic %q", msg)
				}
			} else {
				if msg != "" {
					r.fail("Release() panicked: %s", msg)
				}
				m.value++
				m.dispatch()
			}
		case semEnd:
			h, i := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			switch how := r.end(&h.fzCall, fmt.Sprintf("h%d", i)); how {
			case endRecv:
				rel, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case ok && h.state == callGranted:
					h.rel, h.state = rel, callHeld // the caller won: the permits are its own
				case ok:
					r.fail("h%d in state %v: receive after the end yields a Release", i, h.state)
				default:
					m.end(h)
				}
			default:
				m.end(h)
				if how == endCall {
					look()
				}
			}
		case semRecv:
			h, i := fzPick(&r.in, hs, nil)
			if h == nil || h.state == callQueued || h.ch == nil {
				continue
			}
			r.logf("recv(h%d)", i)
			synctest.Wait()
			look() // takes back what walked away on the fast path
			rel, ok, ready := recvNow(h.ch)
			if !ready || ok != (h.state == callGranted) {
				r.fail("recv(h%d) in state %v: ready=%v ok=%v", i, h.state, ready, ok)
			}
			if ok {
				h.rel, h.state = rel, callHeld
			}
		case semRelease1:
			h, i := fzPick(&r.in, hs, nil)
			if h == nil || (h.state != callHeld && h.state != callReleased) {
				continue
			}
			r.logf("release(h%d)", i)
			msg := panicText(h.rel)
			if h.state == callReleased {
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("second release of h%d: panic %q", i, msg)
				}
				continue
			}
			if m.bound > 0 && m.value+h.n > m.bound {
				// An unpaired Release() filled the bound while h was out:
				// its own Release panics and releases nothing.
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("release(h%d) past the bound: panic %q", i, msg)
				}
				continue
			}
			if msg != "" {
				r.fail("release(h%d) panicked: %s", i, msg)
			}
			h.state = callReleased
			m.value += h.n
			m.held -= h.n
			m.dispatch()
		case semCheck:
			r.logf("check")
			if got := s.String(); got != m.String() {
				r.fail("String() = %s, model %s", got, m)
			}
			if s.Locked() != (m.value == 0) {
				r.fail("Locked() = %v, model value %d", s.Locked(), m.value)
			}
		}
		if !r.endNext {
			synctest.Wait()
			fzSettled(hs)
			fzCheck(r, hs) // before any call: the AfterFuncs alone did their part (W2)
			look()
		}
	}
	// The end: every ctx ends, every grant goes home, and the permits add up.
	r.logf("end")
	synctest.Wait()
	fzSettled(hs)
	look()
	held := 0 // permits the callers hold, and give back now
	for _, h := range hs {
		if h.state == callHeld {
			held += h.n
		}
		if canEnd(&h.fzCall) {
			h.cancel()
		}
	}
	total := m.value + m.held // free once every grant in flight is back, and every held one
	free := total - held
	synctest.Wait()
	for _, h := range hs {
		if h.state != callHeld {
			continue
		}
		msg := panicText(h.rel)
		if m.bound > 0 && free+h.n > m.bound {
			// A bound refuses what an unpaired Release() made extra.
			if !strings.HasPrefix(msg, "chans: ") {
				r.fail("release past the bound at the end: panic %q", msg)
			}
			total -= h.n
			continue
		}
		free += h.n
	}
	if got, want := s.String(), (&semModel{value: total, bound: m.bound}).String(); got != want {
		r.fail("at the end %s, want %s", got, want)
	}
}
