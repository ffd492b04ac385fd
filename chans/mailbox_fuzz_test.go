package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzMailbox runs random sequences of operations on a Mailbox and on a
// model made of two plain slices (the stored messages in send order, the
// queued receivers in call order), and checks after every step that both
// agree: every message a receive yields, which receives hold a message in
// their buffer, which channels are closed, Len and String. Receivers are
// selective, with accept functions from a small fixed set, so messages are
// refused, skipped and deferred.
//
// Receivers' contexts end in three ways: with the AfterFunc run
// (synctest.Wait), with a public call first (sweep, W3), and bare, where
// whatever the next operation is must already see the receiver gone. A
// message granted and not received goes back to its place by send order and
// is offered again to the queued receivers, oldest first (see Mailbox's doc
// and dispatch). At the end every context ends, everything is drained, and
// every message sent has been received exactly once or is still stored.
//
// Messages are unique: a key (0-7) that accept functions look at in the
// high bits, the send order in the low ones.
//
//	go test -run '^$' -fuzz '^FuzzMailbox$' -fuzztime 60000x ./chans
func FuzzMailbox(f *testing.F) {
	// FIFO: two messages, two receivers that find them at their call.
	f.Add([]byte{mbfSend, 1, mbfSend, 2, mbfReceive, mbfAny, mbfReceive, mbfAny,
		mbfRecv, 1, mbfRecv, 0, mbfCheck})
	// Selective wait: a queued odd receiver lets an even message be stored
	// and takes the odd one sent after it; TryReceive finds the even one.
	f.Add([]byte{mbfReceiveForever, mbfOdd, mbfSend, 2, mbfSend, 3, mbfCheck,
		mbfTryReceive, mbfEven, mbfRecv, 0, mbfCheck})
	// A message taken at the call (==1) and never received goes back to the
	// middle, not the end, once the next call (Len) sees the ctx ended.
	f.Add([]byte{mbfSend, 0, mbfSend, 1, mbfSend, 2, mbfReceive, mbfEq(1),
		mbfCancelCall, 0, 0, mbfReceive, mbfAny, mbfReceive, mbfAny, mbfReceive, mbfAny,
		mbfRecv, 1, mbfRecv, 2, mbfRecv, 3})
	// A message granted to a queued receiver comes back when its AfterFunc
	// runs and goes to the next queued receiver that accepts it, skipping
	// one that refuses it.
	f.Add([]byte{mbfReceive, mbfAny, mbfReceiveForever, mbfEven, mbfReceiveForever, mbfAny,
		mbfSend, 3, mbfCancelWait, 0, mbfRecv, 2, mbfRecv, 1, mbfSend, 4, mbfRecv, 1})
	// Bare cancel of a queued receiver: the very next Send must skip it.
	f.Add([]byte{mbfReceive, mbfLt(5), mbfCancelBare, 0, mbfSend, 1, mbfCheck})
	// W4: a ctx already done fails even though a message is stored.
	f.Add([]byte{mbfSend, 6, mbfReceiveDone, mbfAny, mbfRecv, 0, mbfCheck})
	// Two messages back in one sweep: one granted at its call with nobody
	// queued after (taken back lazily), one granted to a queued receiver;
	// both return to their places and TryReceive finds the older first.
	f.Add([]byte{mbfReceive, mbfEven, mbfSend, 2, mbfSend, 1, mbfReceive, mbfAny,
		mbfCancelBare, 1, mbfCancelBare, 0, mbfCheck, mbfTryReceive, mbfAny, mbfCheck})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzMailbox(t, ops)
		})
	})
}

// The operations of FuzzMailbox; each is followed by its argument bytes.
const (
	mbfSend           = iota // key: Send(a new message with that key)
	mbfReceive               // accept: Receive with a ctx that can be cancelled
	mbfReceiveForever        // accept: Receive with context.Background
	mbfReceiveDone           // accept: Receive with a ctx already done (W4)
	mbfTryReceive            // accept
	mbfCancelWait            // handle: end its ctx, let the AfterFunc run
	mbfCancelCall            // handle, which: end its ctx, then call Len or String
	mbfCancelBare            // handle: end its ctx; the next operation is the next call
	mbfRecv                  // handle: receive from its channel if that cannot block
	mbfCheck                 // String and Len
	mbfOps
)

// Accept bytes: kind is b%5, k is b/5%8.
const (
	mbfAny  = 0 // nil: any message
	mbfEven = 1
	mbfOdd  = 2
)

func mbfEq(k byte) byte { return 3 + 5*k }
func mbfLt(k byte) byte { return 4 + 5*k }

// mbfAccept is one of the fixed accept functions, on a message's key.
type mbfAccept struct{ kind, k int }

func mbfDecode(b int) mbfAccept { return mbfAccept{kind: b % 5, k: b / 5 % 8} }

func mbfKey(v int) int { return v >> 16 }

func (a mbfAccept) ok(v int) bool {
	switch key := mbfKey(v); a.kind {
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
func (a mbfAccept) fn() func(int) bool {
	if a.kind == 0 {
		return nil
	}
	return a.ok
}

func (a mbfAccept) String() string {
	return [...]string{"any", "even", "odd", fmt.Sprintf("==%d", a.k), fmt.Sprintf("<%d", a.k)}[a.kind]
}

type mbfState uint8

const (
	mbfQueued   mbfState = iota
	mbfGranted           // message in the buffer, not received
	mbfReceived          // the caller has its message
	mbfDone              // closed without a message
)

// mbfHandle is one Receive and where the model says it stands.
type mbfHandle struct {
	accept mbfAccept
	cancel context.CancelFunc // nil: a ctx that cannot end
	ch     <-chan int
	state  mbfState
	msg    int // the message granted, in states granted and received
	// lazy: granted at its call with a cancellable ctx, and nobody has
	// queued since, so no AfterFunc watches it (see waitq.now): only the
	// next call into the mailbox takes its message back (W2: "taken back
	// lazily"). Every other grant and queued receive is watched, and its
	// ctx ending acts at once, with no call (W2: "promptly").
	lazy bool
	// pending: cancelled while lazy; the model has taken its message back,
	// the mailbox will at its next call. Until then its channel is not
	// looked at: a receive would still get the message.
	pending bool
}

// mbfModel is a Mailbox as plain data.
type mbfModel struct {
	stored []int        // messages nobody has, in send order
	queue  []*mbfHandle // receivers waiting, oldest first
}

func mbfSeq(v int) int { return v & 0xffff }

// find returns the index of the oldest stored message a takes, or -1.
func (m *mbfModel) find(a mbfAccept) int {
	return slices.IndexFunc(m.stored, a.ok)
}

// offer gives v to the longest-waiting receiver that accepts it, if any.
func (m *mbfModel) offer(v int) bool {
	for i, h := range m.queue {
		if h.accept.ok(v) {
			m.queue = slices.Delete(m.queue, i, i+1)
			h.state, h.msg = mbfGranted, v
			return true
		}
	}
	return false
}

func (m *mbfModel) send(v int) {
	if !m.offer(v) {
		m.stored = append(m.stored, v)
	}
}

// cancel: a queued receiver leaves; a message granted and not received
// goes back to its place by send order, and from there to the oldest
// queued receiver that accepts it.
func (m *mbfModel) cancel(h *mbfHandle) {
	switch h.state {
	case mbfQueued:
		m.queue = slices.DeleteFunc(m.queue, func(x *mbfHandle) bool { return x == h })
		h.state = mbfDone
	case mbfGranted:
		h.state = mbfDone
		if !m.offer(h.msg) {
			i, _ := slices.BinarySearchFunc(m.stored, h.msg, func(x, v int) int { return mbfSeq(x) - mbfSeq(v) })
			m.stored = slices.Insert(m.stored, i, h.msg)
		}
	}
}

func (m *mbfModel) String() string {
	return fmt.Sprintf("Mailbox(len=%d, waiters=%d)", len(m.stored), len(m.queue))
}

func fuzzMailbox(t *testing.T, ops []byte) {
	var b Mailbox[int]
	m := &mbfModel{}
	var hs []*mbfHandle
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: "+format, append([]any{strings.Join(log, "; ")}, args...)...)
	}
	o := &fzOps{b: ops}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	var sent []int          // every message sent
	got := map[int]string{} // every message some caller took, and how

	take := func(v int, a mbfAccept, how string) {
		t.Helper()
		if prev, ok := got[v]; ok {
			fail("message %#x taken twice: by %s, then by %s", v, prev, how)
		}
		if !a.ok(v) {
			fail("%s took %#x, which accept %v refuses", how, v, a)
		}
		got[v] = how
	}
	// checkHandles compares every receive's channel with the model, without
	// taking anything: a queued receive's channel is open and empty, a
	// granted one holds its message, any other is closed and empty (W1).
	checkHandles := func() {
		t.Helper()
		for i, h := range hs {
			if h.pending {
				continue
			}
			switch h.state {
			case mbfQueued:
				if v, ok, ready := recvNow(h.ch); ready {
					fail("h%d queued, but its channel yields %#x, %v", i, v, ok)
				}
			case mbfGranted:
				if len(h.ch) != 1 {
					fail("h%d granted %#x, but its channel is empty", i, h.msg)
				}
			default:
				if v, ok, ready := recvNow(h.ch); !ready || ok {
					fail("h%d should be closed and empty: %#x, %v, %v", i, v, ok, ready)
				}
			}
		}
	}
	// regsOut counts grants to receivers with an AfterFunc whose ctx ended
	// since the AfterFuncs last ran. Two such take-backs racing each other
	// may come back in either order, and a receiver accepting both would
	// get either, so a cancel waits before making a second one. A lazy
	// grant racing one of them decides nothing: every receiver still queued
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
		checkHandles()
		if n := b.Len(); n != len(m.stored) {
			fail("Len = %d, model %d", n, len(m.stored))
		}
		for _, h := range hs {
			h.pending = false
		}
		checkHandles()
	}
	cancel := func(h *mbfHandle) {
		h.pending = h.pending || h.state == mbfGranted && h.lazy
		h.cancel()
		m.cancel(h)
	}
	pick := func() (int, *mbfHandle) {
		if len(hs) == 0 {
			return 0, nil
		}
		i := o.next(len(hs))
		return i, hs[i]
	}

	for o.more() && len(log) < 200 {
		bare := false
		switch op := o.next(mbfOps); op {
		case mbfSend:
			v := o.next(8)<<16 | len(sent)
			sent = append(sent, v)
			log = append(log, fmt.Sprintf("Send(%#x)", v))
			b.Send(v)
			m.send(v)
		case mbfReceive, mbfReceiveForever:
			h := &mbfHandle{accept: mbfDecode(o.next(256))}
			ctx := context.Background()
			if op == mbfReceive {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			log = append(log, fmt.Sprintf("h%d=Receive(%v, cancel=%t)", len(hs), h.accept, h.cancel != nil))
			h.ch = b.Receive(ctx, h.accept.fn())
			if i := m.find(h.accept); i >= 0 {
				h.state, h.msg, h.lazy = mbfGranted, m.stored[i], h.cancel != nil
				m.stored = slices.Delete(m.stored, i, i+1)
			} else {
				m.queue = append(m.queue, h)
				for _, g := range hs {
					g.lazy = false // a waiter behind them: now watched (waitq.watchLazy)
				}
			}
			hs = append(hs, h)
		case mbfReceiveDone:
			h := &mbfHandle{accept: mbfDecode(o.next(256)), state: mbfDone}
			log = append(log, fmt.Sprintf("h%d=Receive(%v, done)", len(hs), h.accept))
			h.ch = b.Receive(done, h.accept.fn())
			hs = append(hs, h)
		case mbfTryReceive:
			a := mbfDecode(o.next(256))
			log = append(log, fmt.Sprintf("TryReceive(%v)", a))
			v, ok := b.TryReceive(a.fn())
			i := m.find(a)
			switch {
			case i < 0 && ok:
				fail("TryReceive(%v) = %#x, model has none", a, v)
			case i >= 0 && (!ok || v != m.stored[i]):
				fail("TryReceive(%v) = %#x, %v; model %#x", a, v, ok, m.stored[i])
			case ok:
				m.stored = slices.Delete(m.stored, i, i+1)
				take(v, a, "TryReceive")
			}
		case mbfCancelWait, mbfCancelCall, mbfCancelBare:
			k, h := pick()
			which := 0
			if op == mbfCancelCall {
				which = o.next(2)
			}
			if h == nil || h.cancel == nil {
				continue
			}
			if h.state == mbfGranted && !h.lazy {
				if regsOut > 0 {
					synctest.Wait()
					regsOut = 0
				}
				regsOut++
			}
			log = append(log, fmt.Sprintf("cancel(h%d)", k))
			cancel(h)
			switch op {
			case mbfCancelWait:
				// Nothing more: settle lets the AfterFunc run and looks
				// at the channels before the next call.
			case mbfCancelCall:
				if which == 0 {
					log = append(log, "Len")
					if n := b.Len(); n != len(m.stored) {
						fail("Len = %d, model %d", n, len(m.stored))
					}
				} else {
					log = append(log, "String")
					if s := b.String(); s != m.String() {
						fail("String = %s, model %s", s, m)
					}
				}
			case mbfCancelBare:
				bare = true
			}
		case mbfRecv:
			k, h := pick()
			if h == nil {
				continue
			}
			log = append(log, fmt.Sprintf("recv(h%d)", k))
			settle() // takes back what a bare cancel left out
			v, ok, ready := recvNow(h.ch)
			switch h.state {
			case mbfQueued:
				if ready {
					fail("h%d queued, but its channel yields %#x, %v", k, v, ok)
				}
			case mbfGranted:
				if !ready || !ok || v != h.msg {
					fail("h%d yields %#x, %v, %v; model %#x", k, v, ok, ready, h.msg)
				}
				h.state = mbfReceived
				take(v, h.accept, fmt.Sprintf("h%d", k))
			default:
				if !ready || ok {
					fail("h%d yields %#x, %v, %v; want closed", k, v, ok, ready)
				}
			}
		case mbfCheck:
			log = append(log, "check")
			if s := b.String(); s != m.String() {
				fail("String = %s, model %s", s, m)
			}
		}
		if !bare {
			settle()
		}
	}

	// The end: every ctx ends, one at a time; what was granted and not
	// received comes back. What receivers that cannot give up hold is
	// received; the rest is drained in send order.
	log = append(log, "end")
	for _, h := range hs {
		if h.cancel != nil {
			cancel(h)
			synctest.Wait()
		}
	}
	settle()
	for i, h := range hs {
		if h.state == mbfGranted {
			v := <-h.ch
			h.state = mbfReceived
			take(v, h.accept, fmt.Sprintf("h%d", i))
		}
	}
	for _, want := range m.stored {
		v, ok := b.TryReceive(nil)
		if !ok || v != want {
			fail("drain: TryReceive = %#x, %v; model %#x", v, ok, want)
		}
		take(v, mbfAccept{}, "the drain")
	}
	if v, ok := b.TryReceive(nil); ok {
		fail("drain: TryReceive found %#x, which the model does not have", v)
	}
	// Conservation: every message sent was taken exactly once (take
	// refuses a second time), and nothing else was taken.
	for _, v := range sent {
		if _, ok := got[v]; !ok {
			fail("message %#x was sent and is lost", v)
		}
	}
	if len(got) != len(sent) {
		fail("%d messages sent, %d taken", len(sent), len(got))
	}
	if s, want := b.String(), fmt.Sprintf("Mailbox(len=0, waiters=%d)", len(m.queue)); s != want {
		fail("at the end String = %s, want %s", s, want)
	}
}
