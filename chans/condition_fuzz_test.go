package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzCondition runs random sequences of Wait, Notify, NotifyAll, ends of
// contexts (every ctxEnd) and receives on a Condition and on a plain model
// (a FIFO of the live waiters and three counters), and checks after every
// step that both agree: every wait's channel (fzCheck: queued, holding a
// notification, or closed and empty), String, the panic of Notify(-1), and
// conservation: every notification a Notify or NotifyAll sent was
// received, is still in a buffer, or lapsed (taken back from a waiter whose
// ctx ended, with nobody left waiting to pass it to), so none is received
// twice or made up.
//
//	go test -run '^$' -fuzz '^FuzzCondition$' -fuzztime 40000x ./chans
func FuzzCondition(f *testing.F) {
	// Notify(1) reaches w0, whose ctx then ends: the AfterFunc passes the
	// notification to w1, not to w2, and w0 reads closed.
	f.Add([]byte{condWait, condWait, condWait, condNotify, 2, condEnd, 0, byte(endAfterFunc), condRecv, 1, condRecv, 0})
	// The same, but String is the first to look (W3): the pass-on happens
	// within that call.
	f.Add([]byte{condWait, condWait, condNotify, 2, condEnd, 0, byte(endCall), condRecv, 1, condRecv, 0})
	// A taken-back notification with nobody left to wait lapses: the
	// waiter that comes later is not woken by it.
	f.Add([]byte{condWait, condNotify, 2, condEnd, 0, byte(endAfterFunc), condWait, condRecv, 0})
	// Ended waiters do not count against n: w0 ends with nothing, the
	// next op's Notify(1) wakes w1 at once; then Notify(-1) panics.
	f.Add([]byte{condWait, condWait, condWaitBg, condEnd, 0, byte(endNext), condNotify, 2, condNotify, 0, condNotify, 5})
	// NotifyAll's notifications are final: w0's ctx ends, it still
	// receives; the later w2 gets nothing. W4 on an ended ctx.
	f.Add([]byte{condWait, condWaitBg, condNotifyAll, condWait, condEnd, 0, byte(endAfterFunc), condRecv, 0, condWaitDone, condNotify, 1})
	// Receives racing the AfterFunc: w0 yields to it first (the take-back
	// nearly always wins and w2 is woken), w1 does not (its caller nearly
	// always wins and w3 stays queued); either way the caller or the next
	// waiter has the notification, never both. Then Notify(4) with fewer
	// waiters.
	f.Add([]byte{condWait, condWait, condWait, condNotify, 3, condEnd, 0, byte(endRecv), 1, condWaitBg, condEnd, 0, byte(endRecv), 0, condNotify, 5, condNotifyAll})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzCondition(t, ops)
		})
	})
}

// The operations of FuzzCondition, one byte each (modulo condOps), some
// followed by argument bytes.
const (
	condWait      = iota // Wait with a ctx that can end
	condWaitBg           // Wait(context.Background()): can never end
	condWaitDone         // Wait with an ended ctx: closed at once (W4)
	condNotify           // Notify(arg%6 - 1): -1 must panic, 0..4 wake
	condNotifyAll        // NotifyAll
	condEnd              // arg picks a wait whose ctx can end, the next arg says how (ctxEnd)
	condRecv             // receive: arg picks among the waits that are not queued
	condOps
)

// condHandle is one Wait and where the model says it stands: callGranted
// holds a notification that is taken back if the ctx ends first,
// callFinal one that is its own for good (NotifyAll, or a ctx that cannot
// end).
type condHandle struct {
	fzCall
	ch <-chan struct{}
}

// condModel is a Condition as plain data.
type condModel struct {
	queue    []*condHandle // live queued waiters, oldest first
	issued   int           // notifications sent by Notify and NotifyAll
	received int           // notifications the callers received
	lapsed   int           // taken back with nobody waiting to pass them to
}

func (m *condModel) wake(h *condHandle) {
	h.state = callGranted
	if h.cancel == nil {
		h.state = callFinal // nothing can end, so nothing is taken back
	}
}

func (m *condModel) notify(n int) {
	for ; n > 0 && len(m.queue) > 0; n-- {
		m.wake(m.queue[0])
		m.queue = m.queue[1:]
		m.issued++
	}
}

func (m *condModel) notifyAll() {
	for _, h := range m.queue {
		h.state = callFinal
		m.issued++
	}
	m.queue = nil
}

// end: a queued waiter leaves; a notification h did not receive goes to
// the oldest live waiter, or lapses if nobody waits. It is not kept for a
// waiter that comes later.
func (m *condModel) end(h *condHandle) {
	switch h.state {
	case callQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *condHandle) bool { return x == h })
		h.state, h.lagging = callClosed, true
	case callGranted:
		h.state = callClosed
		if len(m.queue) == 0 {
			m.lapsed++
			return
		}
		m.wake(m.queue[0])
		m.queue = m.queue[1:]
	}
}

func (m *condModel) String() string { return fmt.Sprintf("Condition(waiters=%d)", len(m.queue)) }

func fuzzCondition(t *testing.T, ops []byte) {
	var c Condition
	m := &condModel{}
	var hs []*condHandle
	r := newFzRun(t, ops)
	name := func(h *condHandle) string { return fmt.Sprintf("w%d", slices.Index(hs, h)) }

	// check compares every wait's channel with the model and counts
	// notifications.
	check := func() {
		t.Helper()
		buffered := 0
		for _, h := range hs {
			buffered += len(h.ch)
		}
		fzCheck(r, hs)
		if m.received+buffered+m.lapsed != m.issued {
			r.fail("%d notifications sent, but %d received + %d in buffers + %d lapsed",
				m.issued, m.received, buffered, m.lapsed)
		}
		if owed := condInside(&c, false, nil).owed; owed != 0 {
			r.fail("%d notifications still owed after a call returned", owed)
		}
	}
	checkString := func() {
		t.Helper()
		if got, want := c.String(), m.String(); got != want {
			r.fail("String() = %s, model %s", got, want)
		}
	}
	settle := func() {
		synctest.Wait()
		fzSettled(hs) // a Wait has no fast path: nothing is lazy
	}

	for r.step(100) {
		switch op := r.in.next(condOps); op {
		case condWait, condWaitBg:
			if len(hs) >= 24 {
				continue
			}
			h := &condHandle{}
			ctx := context.Background()
			if op == condWait {
				ctx, h.cancel = context.WithCancel(ctx)
				r.logf("w%d=Wait", len(hs))
			} else {
				r.logf("w%d=Wait(bg)", len(hs))
			}
			h.ch = c.Wait(ctx)
			h.fzCall.ch = pend[struct{}]{h.ch}
			hs = append(hs, h)
			m.queue = append(m.queue, h)
		case condWaitDone:
			r.logf("Wait(ended)")
			if _, ok, ready := recvNow(c.Wait(endedCtx())); !ready || ok {
				r.fail("Wait(ended): ready=%v ok=%v, want closed at once", ready, ok)
			}
		case condNotify:
			n := r.in.next(6) - 1
			r.logf("Notify(%d)", n)
			msg := panicText(func() { c.Notify(n) })
			if n < 0 {
				if !strings.HasPrefix(msg, "chans: ") {
					r.fail("Notify(%d): panic %q, want one starting with \"chans: \"", n, msg)
				}
				break
			}
			if msg != "" {
				r.fail("Notify(%d) panicked: %s", n, msg)
			}
			m.notify(n)
		case condNotifyAll:
			r.logf("NotifyAll")
			c.NotifyAll()
			m.notifyAll()
		case condEnd:
			h, _ := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			switch how := r.end(&h.fzCall, name(h)); how {
			case endRecv:
				_, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case ok && (h.state == callGranted || h.state == callFinal):
					h.state = callReceived
					m.received++
				case h.state == callFinal, ok:
					r.fail("%s in state %v: receive after the end ok=%v", name(h), h.state, ok)
				default: // taken back (or never had one): the model passes it on
					m.end(h)
				}
			default:
				m.end(h)
				if how == endCall {
					checkString()
					check()
				}
			}
		case condRecv:
			h, _ := fzPick(&r.in, hs, func(c *fzCall) bool { return c.state != callQueued })
			if h == nil {
				continue
			}
			r.logf("recv(%s)", name(h))
			settle()
			_, ok, ready := recvNow(h.ch)
			want := h.state == callGranted || h.state == callFinal
			if !ready || ok != want {
				r.fail("recv(%s) in state %v: ready=%v ok=%v", name(h), h.state, ready, ok)
			}
			if ok {
				h.state = callReceived
				m.received++
			}
		}
		if !r.endNext {
			settle()
			check() // before any call: the AfterFuncs alone did their part (W2)
			checkString()
		}
	}

	// The end: every ctx ends, one at a time, then NotifyAll wakes the
	// waiters that cannot leave; every notification sent is accounted for.
	settle() // the last step may have left its AfterFuncs to the next call
	check()
	checkString()
	for _, h := range hs {
		if canEnd(&h.fzCall) {
			r.logf("end(%s)", name(h))
			h.ended = true
			h.cancel()
			m.end(h)
			settle()
			check()
		}
	}
	r.logf("NotifyAll")
	c.NotifyAll()
	m.notifyAll()
	settle()
	check()
	for _, h := range hs {
		_, ok := <-h.ch
		if ok != (h.state == callFinal) { // nothing is queued or can be taken back now
			r.fail("at the end: %s in state %v received ok=%v", name(h), h.state, ok)
		}
		if ok {
			m.received++
		}
	}
	if m.received+m.lapsed != m.issued {
		r.fail("at the end: %d sent, %d received, %d lapsed", m.issued, m.received, m.lapsed)
	}
	if got := c.String(); got != "Condition(waiters=0)" {
		r.fail("at the end: String() = %s", got)
	}
}
