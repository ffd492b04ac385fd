package chans

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzCondition runs random sequences of Wait, Notify, NotifyAll, ends of
// contexts and receives on a Condition and on a plain model (a FIFO of the
// live waiters and three counters), and checks after every step that both
// agree: which waits are still queued (channel open and empty), which hold a
// notification in their buffer, which are closed and empty, String, the
// panic of Notify(-1), and conservation: every notification a Notify or
// NotifyAll sent was received, is still in a buffer, or lapsed (taken back
// from a waiter whose ctx ended, with nobody left waiting to pass it to), so
// none is received twice or made up.
//
// Contexts end in the four ways that matter (see ctxEnd*): with the
// AfterFunc run, with a public call first (W3), with the next operation's
// call first, and with a receive racing the AfterFunc.
//
//	go test -run '^$' -fuzz '^FuzzCondition$' -fuzztime 60000x ./chans
func FuzzCondition(f *testing.F) {
	// Notify(1) reaches w0, whose ctx then ends: the AfterFunc passes the
	// notification to w1, not to w2, and w0 reads closed.
	f.Add([]byte{cdWait, cdWait, cdWait, cdNotify, 2, cdCancel, 0, ctxEndAfterFunc, cdRecv, 1, cdRecv, 0})
	// The same, but String is the first to look (W3): the pass-on happens
	// within that call.
	f.Add([]byte{cdWait, cdWait, cdNotify, 2, cdCancel, 0, ctxEndCall, cdRecv, 1, cdRecv, 0})
	// A taken-back notification with nobody left to wait lapses: the
	// waiter that comes later is not woken by it.
	f.Add([]byte{cdWait, cdNotify, 2, cdCancel, 0, ctxEndAfterFunc, cdWait, cdRecv, 0})
	// Ended waiters do not count against n: w0 ends with nothing, the
	// next op's Notify(1) wakes w1 at once; then Notify(-1) panics.
	f.Add([]byte{cdWait, cdWait, cdWaitBg, cdCancel, 0, ctxEndNext, cdNotify, 2, cdNotify, 0, cdNotify, 5})
	// NotifyAll's notifications are final: w0's ctx ends, it still
	// receives; the later w2 gets nothing. W4 on an ended ctx.
	f.Add([]byte{cdWait, cdWaitBg, cdNotifyAll, cdWait, cdCancel, 0, ctxEndAfterFunc, cdRecv, 0, cdWaitDone, cdNotify, 1})
	// Receives racing the AfterFunc: w0 yields to it first (the take-back
	// nearly always wins and w2 is woken), w1 does not (its caller nearly
	// always wins and w3 stays queued); either way the caller or the next
	// waiter has the notification, never both. Then Notify(4) with fewer
	// waiters.
	f.Add([]byte{cdWait, cdWait, cdWait, cdNotify, 3, cdCancel, 0, ctxEndRecv, 1, cdWaitBg, cdCancel, 0, ctxEndRecv, 0, cdNotify, 5, cdNotifyAll})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzCondition(t, ops)
		})
	})
}

// Operations of FuzzCondition: one byte each (taken modulo cdOps), some
// followed by argument bytes.
const (
	cdWait      = iota // Wait with a ctx that can end
	cdWaitBg           // Wait(context.Background()): can never end
	cdWaitDone         // Wait with an ended ctx: closed at once (W4)
	cdNotify           // Notify(arg%6 - 1): -1 must panic, 0..4 wake
	cdNotifyAll        // NotifyAll
	cdCancel           // end a wait's ctx: arg picks it, the next arg says how (ctxEnd*)
	cdRecv             // receive: arg picks among the waits that are not queued
	cdOps
)

// How a ctx ends in FuzzCondition and FuzzLock (taken modulo 4).
const (
	ctxEndAfterFunc = iota // synctest.Wait: the AfterFunc runs before anyone looks
	ctxEndCall             // String first, before the AfterFunc can run (W3)
	ctxEndNext             // no wait: the next operation's call comes first
	ctxEndRecv             // the caller receives at once, racing the AfterFunc; an odd next arg yields to it first
)

// ctxEndName names a ctxEnd* value for a failing case's log.
func ctxEndName(how int) string {
	return [...]string{"afterfunc", "call", "next", "recv"}[how]
}

// recvRacing is ctxEndRecv's receive, right after the cancel: for a queued
// waiter it waits for the AfterFunc to close the channel; for a granted one
// it races the take-back for the value. The receive nearly always wins
// unless it first yields to the AfterFunc, so the input says whether it does.
func recvRacing[T any](o *fzOps, ch <-chan T) (T, bool) {
	if o.next(2) == 1 {
		runtime.Gosched()
	}
	v, ok := <-ch
	return v, ok
}

// cdHandle is one Wait and where the model says it stands.
type cdHandle struct {
	ch        <-chan struct{}
	cancel    context.CancelFunc // nil for a ctx that cannot end
	cancelled bool
	state     cdState
	// pending: ended while queued since the last synctest.Wait, so its
	// AfterFunc may not have closed the channel yet (only a call that finds
	// it at the head of the queue does it sooner).
	pending bool
}

type cdState uint8

const (
	cdQueued   cdState = iota
	cdNotified         // notification in the buffer; taken back if the ctx ends first
	cdFinal            // notification in the buffer for good (NotifyAll, or a ctx that cannot end)
	cdReceived         // received its notification; closed and empty
	cdClosed           // closed without a notification
)

// cdModel is a Condition as plain data.
type cdModel struct {
	queue    []*cdHandle // live queued waiters, oldest first
	issued   int         // notifications sent by Notify and NotifyAll
	received int         // notifications the callers received
	lapsed   int         // taken back with nobody waiting to pass them to
}

func (m *cdModel) wake(h *cdHandle) {
	h.state = cdNotified
	if h.cancel == nil {
		h.state = cdFinal // nothing can end, so nothing is taken back
	}
}

func (m *cdModel) notify(n int) {
	for ; n > 0 && len(m.queue) > 0; n-- {
		m.wake(m.queue[0])
		m.queue = m.queue[1:]
		m.issued++
	}
}

func (m *cdModel) notifyAll() {
	for _, h := range m.queue {
		h.state = cdFinal
		m.issued++
	}
	m.queue = nil
}

// cancel ends h's ctx: a queued waiter leaves; a notification h did not
// receive goes to the oldest live waiter, or lapses if nobody waits. It is
// not kept for a waiter that comes later.
func (m *cdModel) cancel(h *cdHandle) {
	h.cancelled = true
	switch h.state {
	case cdQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *cdHandle) bool { return x == h })
		h.state, h.pending = cdClosed, true
	case cdNotified:
		h.state = cdClosed
		if len(m.queue) == 0 {
			m.lapsed++
			return
		}
		m.wake(m.queue[0])
		m.queue = m.queue[1:]
	}
}

func (m *cdModel) String() string { return fmt.Sprintf("Condition(waiters=%d)", len(m.queue)) }

// cdPick returns one of the handles ok accepts, chosen by the next input
// byte, or nil (consuming nothing) if there is none.
func cdPick[H any](o *fzOps, hs []*H, ok func(*H) bool) *H {
	var c []*H
	for _, h := range hs {
		if ok(h) {
			c = append(c, h)
		}
	}
	if len(c) == 0 {
		return nil
	}
	return c[o.next(len(c))]
}

func fuzzCondition(t *testing.T, ops []byte) {
	var c Condition
	m := &cdModel{}
	var hs []*cdHandle
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: "+format, append([]any{strings.Join(log, "; ")}, args...)...)
	}
	name := func(h *cdHandle) string { return fmt.Sprintf("w%d", slices.Index(hs, h)) }
	ended, cancel := context.WithCancel(context.Background())
	cancel()

	// check compares every wait's channel with the model, without taking
	// anything out of a channel that is right, and counts notifications.
	check := func() {
		t.Helper()
		buffered := 0
		for _, h := range hs {
			buffered += len(h.ch)
		}
		for _, h := range hs {
			switch h.state {
			case cdQueued:
				if _, ok, ready := recvNow(h.ch); ready {
					fail("%s is queued, but its channel yields (ok=%v)", name(h), ok)
				}
			case cdNotified, cdFinal:
				if len(h.ch) != 1 {
					fail("%s was notified, but its buffer is empty", name(h))
				}
			default:
				_, ok, ready := recvNow(h.ch)
				if ok || !ready && !h.pending {
					fail("%s should be closed and empty: ready=%v ok=%v", name(h), ready, ok)
				}
			}
		}
		if m.received+buffered+m.lapsed != m.issued {
			fail("%d notifications sent, but %d received + %d in buffers + %d lapsed",
				m.issued, m.received, buffered, m.lapsed)
		}
		if owed := condInside(&c, false, nil).owed; owed != 0 {
			fail("%d notifications still owed after a call returned", owed)
		}
	}
	checkString := func() {
		t.Helper()
		if got, want := c.String(), m.String(); got != want {
			fail("String() = %s, model %s", got, want)
		}
	}
	settle := func() {
		synctest.Wait()
		for _, h := range hs {
			h.pending = false
		}
	}

	o := &fzOps{b: ops}
	for o.more() && len(log) < 100 {
		wait := true // settle and check at the end of the step
		switch op := o.next(cdOps); op {
		case cdWait, cdWaitBg:
			if len(hs) >= 24 {
				continue
			}
			h := &cdHandle{}
			ctx := context.Background()
			if op == cdWait {
				ctx, h.cancel = context.WithCancel(ctx)
				log = append(log, fmt.Sprintf("w%d=Wait", len(hs)))
			} else {
				log = append(log, fmt.Sprintf("w%d=Wait(bg)", len(hs)))
			}
			h.ch = c.Wait(ctx)
			hs = append(hs, h)
			m.queue = append(m.queue, h)
		case cdWaitDone:
			log = append(log, "Wait(ended)")
			if _, ok, ready := recvNow(c.Wait(ended)); !ready || ok {
				fail("Wait(ended): ready=%v ok=%v, want closed at once", ready, ok)
			}
		case cdNotify:
			n := o.next(6) - 1
			log = append(log, fmt.Sprintf("Notify(%d)", n))
			msg := panicText(func() { c.Notify(n) })
			if n < 0 {
				if !strings.HasPrefix(msg, "chans: ") {
					fail("Notify(%d): panic %q, want one starting with \"chans: \"", n, msg)
				}
				break
			}
			if msg != "" {
				fail("Notify(%d) panicked: %s", n, msg)
			}
			m.notify(n)
		case cdNotifyAll:
			log = append(log, "NotifyAll")
			c.NotifyAll()
			m.notifyAll()
		case cdCancel:
			h := cdPick(o, hs, func(h *cdHandle) bool { return h.cancel != nil && !h.cancelled })
			if h == nil {
				continue
			}
			how := o.next(4)
			log = append(log, fmt.Sprintf("cancel(%s, %s)", name(h), ctxEndName(how)))
			h.cancel()
			if how == ctxEndRecv {
				_, ok := recvRacing(o, h.ch)
				switch {
				case h.state == cdNotified && ok, h.state == cdFinal && ok:
					h.state, h.cancelled = cdReceived, true
					m.received++
				case h.state == cdFinal, ok:
					fail("%s in state %d: receive after cancel ok=%v", name(h), h.state, ok)
				default: // taken back (or never had one): the model passes it on
					m.cancel(h)
				}
				break
			}
			m.cancel(h)
			switch how {
			case ctxEndCall:
				checkString()
				check()
			case ctxEndNext:
				wait = false
			}
		case cdRecv:
			h := cdPick(o, hs, func(h *cdHandle) bool { return h.state != cdQueued })
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("recv(%s)", name(h)))
			settle()
			_, ok, ready := recvNow(h.ch)
			want := h.state == cdNotified || h.state == cdFinal
			if !ready || ok != want {
				fail("recv(%s) in state %d: ready=%v ok=%v", name(h), h.state, ready, ok)
			}
			if ok {
				h.state = cdReceived
				m.received++
			}
		}
		if wait {
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
		if h.cancel != nil && !h.cancelled {
			log = append(log, fmt.Sprintf("end(%s)", name(h)))
			h.cancel()
			m.cancel(h)
			settle()
			check()
		}
	}
	log = append(log, "NotifyAll")
	c.NotifyAll()
	m.notifyAll()
	settle()
	check()
	for _, h := range hs {
		_, ok := <-h.ch
		if ok != (h.state == cdFinal) { // nothing is queued or can be taken back now
			fail("at the end: %s in state %d received ok=%v", name(h), h.state, ok)
		}
		if ok {
			m.received++
		}
	}
	if m.received+m.lapsed != m.issued {
		fail("at the end: %d sent, %d received, %d lapsed", m.issued, m.received, m.lapsed)
	}
	if got := c.String(); got != "Condition(waiters=0)" {
		fail("at the end: String() = %s", got)
	}
}
