package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzRWLock does for RWLock what FuzzSemaphore does for Semaphore: random
// reads and writes, their Try forms, ends of contexts (every ctxEnd),
// receives and releases (twice too), with reader limits 0 to 3, against a
// model (a reader count, a writer flag and a FIFO of requests), comparing
// every answer, every channel (fzCheck), Readers, Locked and String.
//
//	go test -run '^$' -fuzz '^FuzzRWLock$' -fuzztime 40000x ./chans
func FuzzRWLock(f *testing.F) {
	// Readers in together, a writer queued behind them, a reader behind the
	// writer held back (W5); the readers leave and the writer gets in.
	f.Add(uint8(0), []byte{rwAcquireRead, rwAcquireRead, rwAcquireWrite, rwAcquireRead, rwCheck,
		rwRecv, 0, rwRecv, 1, rwRelease1, 0, rwRelease1, 1, rwCheck, rwRecv, 2, rwRelease1, 2, rwCheck})
	// A write grant handed over and walked away from before the receive
	// (AfterFunc): the readers behind it get in; a second release panics.
	f.Add(uint8(2), []byte{rwTryWrite, rwAcquireWrite, rwAcquireRead, rwAcquireRead, rwRelease1, 0,
		rwEnd, 0, byte(endAfterFunc), rwCheck, rwRelease1, 0, rwRecv, 2})
	// Limit 1: a read grant ended with a call first (W3), another with the
	// caller's receive racing the take-back, then with the next operation.
	f.Add(uint8(1), []byte{rwTryRead, rwAcquireRead, rwAcquireRead, rwAcquireWrite, rwRelease1, 0,
		rwEnd, 0, byte(endCall), rwEnd, 0, byte(endRecv), 0, rwEnd, 0, byte(endNext), rwTryWrite, rwCheck})
	// No limit: two readers in, a writer queued, a reader held back behind
	// it (W5).
	f.Add(uint8(0), []byte{rwAcquireRead, rwAcquireRead, rwAcquireWrite, rwAcquireRead, rwRecv, 0, rwRecv, 1, rwRelease1, 0, rwRecv, 2, rwCheck})
	// Limit 2: a reader queued for a slot ends by its AfterFunc; the writer
	// and the reader behind it wait their turn.
	f.Add(uint8(2), []byte{rwAcquireRead, rwAcquireRead, rwAcquireRead, rwAcquireWrite, rwAcquireRead, rwEnd, 1, byte(endAfterFunc), rwRecv, 0, rwRelease1, 0, rwCheck, rwRecv, 2, rwCheck})
	// Limit 1: a fast-path write grant walked away from, seen by a call
	// (W3); the readers behind get in, in turn.
	f.Add(uint8(1), []byte{rwAcquireWrite, rwAcquireRead, rwAcquireRead, rwEnd, 0, byte(endCall), rwRecv, 1, rwRelease1, 1, rwCheck, rwTryWrite, rwTryRead, rwCheck})
	// A queued writer ended by its AfterFunc, a queued reader by a call;
	// a Try reader's double release panics.
	f.Add(uint8(0), []byte{rwTryRead, rwTryWrite, rwAcquireWrite, rwAcquireRead, rwEnd, 0, byte(endAfterFunc), rwEnd, 0, byte(endCall), rwRecv, 0, rwRelease1, 0, rwRelease1, 0, rwCheck})
	f.Fuzz(func(t *testing.T, maxReaders uint8, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzRWLock(t, int(maxReaders%4), ops)
		})
	})
}

// The operations of FuzzRWLock, one byte each (modulo rwOps), some followed
// by argument bytes.
const (
	rwAcquireRead  = iota // AcquireRead with a ctx that can end
	rwAcquireWrite        // AcquireWrite with a ctx that can end
	rwTryRead             // TryAcquireRead
	rwTryWrite            // TryAcquireWrite
	rwEnd                 // handle (among those that can end), how (ctxEnd)
	rwRecv                // handle: receive, once nothing it could yield is still on its way
	rwRelease1            // handle: call the Release it holds (again, if released)
	rwCheck               // String and Locked
	rwOps
)

// rwHandle is one acquire and where the model says it stands.
type rwHandle struct {
	fzCall
	write bool
	ch    <-chan Release // nil for a Try
	rel   Release
}

// rwModel is an RWLock as plain data.
type rwModel struct {
	max, readers int
	writer       bool
	queue        []*rwHandle
}

func (m *rwModel) can(write bool) bool {
	if write {
		return !m.writer && m.readers == 0
	}
	return !m.writer && (m.max == 0 || m.readers < m.max)
}

func (m *rwModel) take(write bool) {
	if write {
		m.writer = true
	} else {
		m.readers++
	}
}

func (m *rwModel) give(write bool) {
	if write {
		m.writer = false
	} else {
		m.readers--
	}
}

func (m *rwModel) dispatch() {
	for len(m.queue) > 0 && m.can(m.queue[0].write) {
		h := m.queue[0]
		m.queue = m.queue[1:]
		m.take(h.write)
		h.state = callGranted
	}
}

// end: a queued acquire leaves; a grant not received comes back (all or
// nothing: a cancelled writer holds nothing) and goes down the queue.
func (m *rwModel) end(h *rwHandle) {
	switch h.state {
	case callQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *rwHandle) bool { return x == h })
		h.state, h.lagging = callClosed, true
	case callGranted:
		m.give(h.write)
		h.state, h.lagging = callClosed, true
	}
	m.dispatch()
}

func (m *rwModel) String() string {
	limit := "inf"
	if m.max > 0 {
		limit = fmt.Sprint(m.max)
	}
	return fmt.Sprintf("RWLock(readers=%d/%s, writer=%t, waiters=%d)", m.readers, limit, m.writer, len(m.queue))
}

func fuzzRWLock(t *testing.T, maxReaders int, ops []byte) {
	l := NewRWLock(maxReaders)
	m := &rwModel{max: maxReaders}
	var hs []*rwHandle
	r := newFzRun(t, ops)
	kind := func(write bool) string {
		if write {
			return "Write"
		}
		return "Read"
	}
	look := func() {
		t.Helper()
		if n := l.Readers(); n != m.readers {
			r.fail("Readers() = %d, model %d", n, m.readers)
		}
		fzLooked(hs)
		fzCheck(r, hs)
	}
	for r.step(200) {
		switch op := r.in.next(rwOps); op {
		case rwAcquireRead, rwAcquireWrite:
			write := op == rwAcquireWrite
			r.logf("h%d=Acquire%s", len(hs), kind(write))
			h := &rwHandle{write: write}
			var ctx context.Context
			ctx, h.cancel = context.WithCancel(context.Background())
			if write {
				h.ch = l.AcquireWrite(ctx)
			} else {
				h.ch = l.AcquireRead(ctx)
			}
			h.fzCall.ch = pend[Release]{h.ch}
			if len(m.queue) == 0 && m.can(write) {
				m.take(write)
				h.state, h.lazy = callGranted, true
			} else {
				m.queue = append(m.queue, h)
				fzQueuedBehind(hs)
			}
			hs = append(hs, h)
		case rwTryRead, rwTryWrite:
			write := op == rwTryWrite
			r.logf("TryAcquire%s", kind(write))
			var rel Release
			var ok bool
			if write {
				rel, ok = l.TryAcquireWrite()
			} else {
				rel, ok = l.TryAcquireRead()
			}
			if want := len(m.queue) == 0 && m.can(write); ok != want {
				r.fail("TryAcquire%s = %v, model %v (%v)", kind(write), ok, want, m)
			}
			if ok {
				m.take(write)
				r.log[len(r.log)-1] = fmt.Sprintf("h%d=TryAcquire%s", len(hs), kind(write))
				hs = append(hs, &rwHandle{write: write, rel: rel, fzCall: fzCall{state: callHeld}})
			}
		case rwEnd:
			h, i := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			switch how := r.end(&h.fzCall, fmt.Sprintf("h%d", i)); how {
			case endRecv:
				rel, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case ok && h.state == callGranted:
					h.rel, h.state = rel, callHeld
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
		case rwRecv:
			h, i := fzPick(&r.in, hs, nil)
			if h == nil || h.state == callQueued || h.ch == nil {
				continue
			}
			r.logf("recv(h%d)", i)
			synctest.Wait()
			fzSettled(hs)
			look() // takes back what walked away on the fast path
			rel, ok, ready := recvNow(h.ch)
			if !ready || ok != (h.state == callGranted) {
				r.fail("recv(h%d) in state %v: ready=%v ok=%v", i, h.state, ready, ok)
			}
			if ok {
				h.rel, h.state = rel, callHeld
			}
		case rwRelease1:
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
			if msg != "" {
				r.fail("release(h%d) panicked: %s", i, msg)
			}
			h.state = callReleased
			m.give(h.write)
			m.dispatch()
		case rwCheck:
			r.logf("check")
			if got := l.String(); got != m.String() {
				r.fail("String() = %s, model %s", got, m)
			}
			if want := len(m.queue) > 0 || !m.can(false); l.Locked() != want {
				r.fail("Locked() = %v, model %v", l.Locked(), want)
			}
		}
		if !r.endNext {
			synctest.Wait()
			fzSettled(hs)
			fzCheck(r, hs) // before any call (W2)
			look()
		}
	}
	r.logf("end")
	synctest.Wait()
	fzSettled(hs)
	look()
	for _, h := range hs {
		if canEnd(&h.fzCall) {
			h.cancel()
		}
	}
	synctest.Wait()
	for _, h := range hs {
		if h.state == callHeld {
			h.rel()
		}
	}
	if got, want := l.String(), (&rwModel{max: maxReaders}).String(); got != want {
		r.fail("at the end %s, want %s", got, want)
	}
}
