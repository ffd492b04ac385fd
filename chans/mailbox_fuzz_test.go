package chans

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// FuzzMailbox runs random sequences of operations on a Mailbox and on a
// model made of two plain slices (the stored messages in send order, the
// queued receivers in call order), and checks after every step that both
// agree: every message a receive yields, every receive's channel (fzCheck),
// Len and String. Receivers are selective, with accept functions from a
// small fixed set, so messages are refused, skipped and deferred.
//
// Receivers' contexts end in every way of ctxEnd. A message granted and not
// received goes back to its place by send order and is offered again to
// the queued receivers, oldest first (see Mailbox's doc and dispatch). At
// the end every context ends, everything is drained, and every message sent
// has been received exactly once or is still stored.
//
// Messages are unique: a key (0-7) that accept functions look at in the
// high bits, the send order in the low ones.
//
//	go test -run '^$' -fuzz '^FuzzMailbox$' -fuzztime 40000x ./chans
func FuzzMailbox(f *testing.F) {
	// FIFO: two messages, two receivers that find them at their call.
	f.Add([]byte{mboxSend, 1, mboxSend, 2, mboxReceive, mboxAny, mboxReceive, mboxAny,
		mboxRecv, 1, mboxRecv, 0, mboxCheck})
	// Selective wait: a queued odd receiver lets an even message be stored
	// and takes the odd one sent after it; TryReceive finds the even one.
	f.Add([]byte{mboxReceiveForever, mboxOdd, mboxSend, 2, mboxSend, 3, mboxCheck,
		mboxTryReceive, mboxEven, mboxRecv, 0, mboxCheck})
	// A message taken at the call (==1) and never received goes back to the
	// middle, not the end, once the next call (Len) sees the ctx ended.
	f.Add([]byte{mboxSend, 0, mboxSend, 1, mboxSend, 2, mboxReceive, mboxEq(1),
		mboxEnd, 0, byte(endCall), 0, mboxReceive, mboxAny, mboxReceive, mboxAny, mboxReceive, mboxAny,
		mboxRecv, 1, mboxRecv, 2, mboxRecv, 3})
	// A message granted to a queued receiver comes back when its AfterFunc
	// runs and goes to the next queued receiver that accepts it, skipping
	// one that refuses it.
	f.Add([]byte{mboxReceive, mboxAny, mboxReceiveForever, mboxEven, mboxReceiveForever, mboxAny,
		mboxSend, 3, mboxEnd, 0, byte(endAfterFunc), mboxRecv, 2, mboxRecv, 1, mboxSend, 4, mboxRecv, 1})
	// A queued receiver whose ctx ends with the next operation first: that
	// Send must skip it.
	f.Add([]byte{mboxReceive, mboxLt(5), mboxEnd, 0, byte(endNext), mboxSend, 1, mboxCheck})
	// W4: a ctx done at the call fails even though a message is stored.
	f.Add([]byte{mboxSend, 6, mboxReceiveDone, mboxAny, mboxRecv, 0, mboxCheck})
	// Two messages back in one sweep: one granted at its call with nobody
	// queued after (taken back lazily), one granted to a queued receiver;
	// both return to their places and TryReceive finds the older first.
	f.Add([]byte{mboxReceive, mboxEven, mboxSend, 2, mboxSend, 1, mboxReceive, mboxAny,
		mboxEnd, 1, byte(endNext), mboxEnd, 0, byte(endNext), mboxCheck, mboxTryReceive, mboxAny, mboxCheck})
	// Receives racing the take-back: a queued receiver's grant (yielding
	// first, so the take-back nearly always wins and the message goes on
	// to the next receiver), and a lazy grant, which the caller always wins.
	f.Add([]byte{mboxReceive, mboxAny, mboxReceiveForever, mboxAny, mboxSend, 1, mboxEnd, 0, byte(endRecv), 1,
		mboxSend, 2, mboxReceive, mboxAny, mboxEnd, 1, byte(endRecv), 0, mboxCheck})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzMailbox(t, ops)
		})
	})
}

// The operations of FuzzMailbox; each is followed by its argument bytes.
const (
	mboxSend           = iota // key: Send(a new message with that key)
	mboxReceive               // accept: Receive with a ctx that can end
	mboxReceiveForever        // accept: Receive with context.Background
	mboxReceiveDone           // accept: Receive with a ctx already done (W4)
	mboxTryReceive            // accept
	mboxEnd                   // handle (among those that can end), how (ctxEnd); for endCall, which: Len or String
	mboxRecv                  // handle: receive from its channel if that cannot block
	mboxCheck                 // String and Len
	mboxOps
)

// Accept bytes: kind is b%5, k is b/5%8.
const (
	mboxAny  = 0 // nil: any message
	mboxEven = 1
	mboxOdd  = 2
)

func mboxEq(k byte) byte { return 3 + 5*k }
func mboxLt(k byte) byte { return 4 + 5*k }

// mboxAccept is one of the fixed accept functions, on a message's key.
type mboxAccept struct{ kind, k int }

func mboxDecode(b int) mboxAccept { return mboxAccept{kind: b % 5, k: b / 5 % 8} }

func mboxKey(v int) int { return v >> 16 }

func (a mboxAccept) ok(v int) bool {
	switch key := mboxKey(v); a.kind {
	case 1:
		return key%2 == 0
	case 2:
		return key%2 == 1
	case 3:
		return key == a.k
	case 4:
		return key < a.k
	}
	return true
}

// fn is the accept function given to the mailbox: nil for "any".
func (a mboxAccept) fn() func(int) bool {
	if a.kind == 0 {
		return nil
	}
	return a.ok
}

func (a mboxAccept) String() string {
	return [...]string{"any", "even", "odd", fmt.Sprintf("==%d", a.k), fmt.Sprintf("<%d", a.k)}[a.kind]
}

// mboxHandle is one Receive and where the model says it stands.
type mboxHandle struct {
	fzCall
	accept mboxAccept
	ch     <-chan int
	msg    int // the message granted, in states granted and received
}

// mboxModel is a Mailbox as plain data.
type mboxModel struct {
	stored []int         // messages nobody has, in send order
	queue  []*mboxHandle // receivers waiting, oldest first
}

func mboxSeq(v int) int { return v & 0xffff }

// find returns the index of the oldest stored message a takes, or -1.
func (m *mboxModel) find(a mboxAccept) int {
	return slices.IndexFunc(m.stored, a.ok)
}

// offer gives v to the longest-waiting receiver that accepts it, if any.
func (m *mboxModel) offer(v int) bool {
	for i, h := range m.queue {
		if h.accept.ok(v) {
			m.queue = slices.Delete(m.queue, i, i+1)
			h.state, h.msg = callGranted, v
			return true
		}
	}
	return false
}

func (m *mboxModel) send(v int) {
	if !m.offer(v) {
		m.stored = append(m.stored, v)
	}
}

// end: a queued receiver leaves; a message granted and not received goes
// back to its place by send order, and from there to the oldest queued
// receiver that accepts it.
func (m *mboxModel) end(h *mboxHandle) {
	switch h.state {
	case callQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *mboxHandle) bool { return x == h })
		h.state, h.lagging = callClosed, true
	case callGranted:
		h.state, h.lagging = callClosed, true
		if !m.offer(h.msg) {
			i, _ := slices.BinarySearchFunc(m.stored, h.msg, func(x, v int) int { return mboxSeq(x) - mboxSeq(v) })
			m.stored = slices.Insert(m.stored, i, h.msg)
		}
	}
}

func (m *mboxModel) String() string {
	return fmt.Sprintf("Mailbox(len=%d, waiters=%d)", len(m.stored), len(m.queue))
}

func fuzzMailbox(t *testing.T, ops []byte) {
	var b Mailbox[int]
	m := &mboxModel{}
	var hs []*mboxHandle
	r := newFzRun(t, ops)
	var sent []int          // every message sent
	got := map[int]string{} // every message some caller took, and how

	take := func(v int, a mboxAccept, how string) {
		t.Helper()
		if prev, ok := got[v]; ok {
			r.fail("message %#x taken twice: by %s, then by %s", v, prev, how)
		}
		if !a.ok(v) {
			r.fail("%s took %#x, which accept %v refuses", how, v, a)
		}
		got[v] = how
	}
	// regsOut counts grants to receivers with an AfterFunc whose ctx ended
	// since the AfterFuncs last ran. Two such take-backs racing each other
	// may come back in either order, and a receiver accepting both would
	// get either, so an end waits before making a second one. A lazy grant
	// racing one of them decides nothing: every receiver still queued
	// refused its message already.
	regsOut := 0
	// settle lets every AfterFunc run and compares the channels with the
	// model before any call into the mailbox, so what a ctx ending does
	// without a call (close a queued receive, take a message back, hand it
	// to the next receiver) is checked as promptly as W2 promises; then it
	// calls Len, which takes the lazy grants back, and compares again.
	settle := func() {
		t.Helper()
		synctest.Wait()
		regsOut = 0
		fzSettled(hs)
		fzCheck(r, hs)
		if n := b.Len(); n != len(m.stored) {
			r.fail("Len = %d, model %d", n, len(m.stored))
		}
		fzLooked(hs)
		fzCheck(r, hs)
	}

	for r.step(200) {
		switch op := r.in.next(mboxOps); op {
		case mboxSend:
			v := r.in.next(8)<<16 | len(sent)
			sent = append(sent, v)
			r.logf("Send(%#x)", v)
			b.Send(v)
			m.send(v)
		case mboxReceive, mboxReceiveForever:
			h := &mboxHandle{accept: mboxDecode(r.in.byte())}
			ctx := context.Background()
			if op == mboxReceive {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			r.logf("h%d=Receive(%v, cancel=%t)", len(hs), h.accept, h.cancel != nil)
			h.ch = b.Receive(ctx, h.accept.fn())
			h.fzCall.ch = pend[int]{h.ch}
			if i := m.find(h.accept); i >= 0 {
				h.state, h.msg, h.lazy = callGranted, m.stored[i], h.cancel != nil
				m.stored = slices.Delete(m.stored, i, i+1)
			} else {
				m.queue = append(m.queue, h)
				fzQueuedBehind(hs) // a waiter behind them: now watched (waitq.watchLazy)
			}
			hs = append(hs, h)
		case mboxReceiveDone:
			h := &mboxHandle{accept: mboxDecode(r.in.byte()), fzCall: fzCall{state: callClosed}}
			r.logf("h%d=Receive(%v, done)", len(hs), h.accept)
			h.ch = b.Receive(endedCtx(), h.accept.fn())
			h.fzCall.ch = pend[int]{h.ch}
			hs = append(hs, h)
		case mboxTryReceive:
			a := mboxDecode(r.in.byte())
			r.logf("TryReceive(%v)", a)
			v, ok := b.TryReceive(a.fn())
			i := m.find(a)
			switch {
			case i < 0 && ok:
				r.fail("TryReceive(%v) = %#x, model has none", a, v)
			case i >= 0 && (!ok || v != m.stored[i]):
				r.fail("TryReceive(%v) = %#x, %v; model %#x", a, v, ok, m.stored[i])
			case ok:
				m.stored = slices.Delete(m.stored, i, i+1)
				take(v, a, "TryReceive")
			}
		case mboxEnd:
			h, k := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			if h.state == callGranted && !h.lazy {
				if regsOut > 0 {
					synctest.Wait()
					regsOut = 0
				}
				regsOut++
			}
			switch how := r.end(&h.fzCall, fmt.Sprintf("h%d", k)); how {
			case endRecv:
				v, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case ok && h.state == callGranted && v == h.msg:
					h.state = callReceived
					take(v, h.accept, fmt.Sprintf("h%d", k))
				case ok:
					r.fail("h%d in state %v: receive after the end yields %#x (model %#x)", k, h.state, v, h.msg)
				default:
					m.end(h)
				}
			case endCall:
				m.end(h)
				if r.in.next(2) == 0 {
					r.logf("Len")
					if n := b.Len(); n != len(m.stored) {
						r.fail("Len = %d, model %d", n, len(m.stored))
					}
				} else {
					r.logf("String")
					if s := b.String(); s != m.String() {
						r.fail("String = %s, model %s", s, m)
					}
				}
				fzLooked(hs)
			default:
				m.end(h)
			}
		case mboxRecv:
			h, k := fzPick(&r.in, hs, nil)
			if h == nil {
				continue
			}
			r.logf("recv(h%d)", k)
			settle() // takes back what an end left to the next call
			v, ok, ready := recvNow(h.ch)
			switch h.state {
			case callQueued:
				if ready {
					r.fail("h%d queued, but its channel yields %#x, %v", k, v, ok)
				}
			case callGranted:
				if !ready || !ok || v != h.msg {
					r.fail("h%d yields %#x, %v, %v; model %#x", k, v, ok, ready, h.msg)
				}
				h.state = callReceived
				take(v, h.accept, fmt.Sprintf("h%d", k))
			default:
				if !ready || ok {
					r.fail("h%d yields %#x, %v, %v; want closed", k, v, ok, ready)
				}
			}
		case mboxCheck:
			r.logf("check")
			if s := b.String(); s != m.String() {
				r.fail("String = %s, model %s", s, m)
			}
		}
		if !r.endNext {
			settle()
		}
	}

	// The end: every ctx ends, one at a time; what was granted and not
	// received comes back. What receivers that cannot give up hold is
	// received; the rest is drained in send order.
	r.logf("end")
	for _, h := range hs {
		if canEnd(&h.fzCall) {
			h.ended = true
			h.cancel()
			m.end(h)
			synctest.Wait()
		}
	}
	settle()
	for i, h := range hs {
		if h.state == callGranted {
			v := <-h.ch
			h.state = callReceived
			take(v, h.accept, fmt.Sprintf("h%d", i))
		}
	}
	for _, want := range m.stored {
		v, ok := b.TryReceive(nil)
		if !ok || v != want {
			r.fail("drain: TryReceive = %#x, %v; model %#x", v, ok, want)
		}
		take(v, mboxAccept{}, "the drain")
	}
	if v, ok := b.TryReceive(nil); ok {
		r.fail("drain: TryReceive found %#x, which the model does not have", v)
	}
	// Conservation: every message sent was taken exactly once (take
	// refuses a second time), and nothing else was taken.
	for _, v := range sent {
		if _, ok := got[v]; !ok {
			r.fail("message %#x was sent and is lost", v)
		}
	}
	if len(got) != len(sent) {
		r.fail("%d messages sent, %d taken", len(sent), len(got))
	}
	if s, want := b.String(), fmt.Sprintf("Mailbox(len=0, waiters=%d)", len(m.queue)); s != want {
		r.fail("at the end String = %s, want %s", s, want)
	}
}
