package chans

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
)

// FuzzSignal runs random sequences of Next, Emit, ends of contexts (every
// ctxEnd) and receives on a Signal and on a model (the list of waiters
// registered and not yet served), and checks after every step who got
// what: a waiter gets the first value emitted after its call, if its ctx
// had not ended by then, and nothing otherwise; a value reached keeps, even
// if the ctx ends before the receive; every channel yields at most one
// value and is closed (fzCheck); String counts the waiters.
//
// Emitted values are numbered, so each tells which Emit it came from.
//
//	go test -run '^$' -fuzz '^FuzzSignal$' -fuzztime 40000x ./chans
func FuzzSignal(f *testing.F) {
	// Broadcast: two waiters, one Emit, both get it.
	f.Add([]byte{sigNext, sigNext, sigEmit, sigRecv, 0, sigRecv, 1, sigCheck})
	// Each waiter gets the first value after its call: the first Emit
	// reaches nobody and is lost, h0 gets the second, h1 (called after it)
	// the third.
	f.Add([]byte{sigEmit, sigNext, sigEmit, sigNextForever, sigEmit, sigRecv, 0, sigRecv, 1})
	// A waiter whose ctx ended just before the Emit (the next operation:
	// no AfterFunc run, no call between) gets nothing; the one behind it
	// gets the value.
	f.Add([]byte{sigNext, sigNext, sigEnd, 0, byte(endNext), sigEmit, sigRecv, 0, sigRecv, 1})
	// The same for a waiter in the middle of the line, and String right
	// after an end.
	f.Add([]byte{sigNext, sigNext, sigNextForever, sigEnd, 1, byte(endNext), sigCheck, sigEmit,
		sigEnd, 0, byte(endCall), sigCheck})
	// A value reached keeps: the ctx ends after the Emit, the receive still
	// yields it. W4: a ctx done at the call gets nothing.
	f.Add([]byte{sigNext, sigNextDone, sigEmit, sigEnd, 0, byte(endAfterFunc), sigRecv, 0, sigRecv, 1})
	// A receive right after the end: a waiter still queued reads closed,
	// one already reached reads its value.
	f.Add([]byte{sigNext, sigEnd, 0, byte(endRecv), 0, sigNext, sigEmit, sigEnd, 0, byte(endRecv), 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzSignal(t, ops)
		})
	})
}

// The operations of FuzzSignal; the end and the receive take a handle byte.
const (
	sigNext        = iota // Next with a ctx that can end
	sigNextForever        // Next with context.Background
	sigNextDone           // Next with a ctx already done (W4)
	sigEmit               // Emit the next number
	sigEnd                // handle (among those that can end), how (ctxEnd)
	sigRecv               // handle: receive from its channel if that cannot block
	sigCheck              // String
	sigOps
)

// sigHandle is one Next and where the model says it stands: callFinal once
// a value is in its buffer (values are shared, never taken back).
type sigHandle struct {
	fzCall
	ch <-chan int
	v  int // the value delivered
}

func fuzzSignal(t *testing.T, ops []byte) {
	var s Signal[int]
	var queue []*sigHandle // the model: waiters registered and not served, in call order
	var hs []*sigHandle
	r := newFzRun(t, ops)
	emitted := 0
	want := func() string { return fmt.Sprintf("Signal(waiters=%d)", len(queue)) }

	// check lets every AfterFunc run, then compares every channel with the
	// model before any call into the signal (a ctx ending closes a queued
	// waiter's channel at once, W2), without taking anything; then String.
	check := func() {
		t.Helper()
		synctest.Wait()
		fzSettled(hs)
		fzCheck(r, hs)
		if got := s.String(); got != want() {
			r.fail("String = %s, model %s", got, want())
		}
	}
	// end: a waiter still queued leaves with nothing; a value sent stays.
	end := func(h *sigHandle) {
		if h.state == callQueued {
			queue = slices.DeleteFunc(queue, func(x *sigHandle) bool { return x == h })
			h.state, h.lagging = callClosed, true
		}
	}
	emit := func() {
		emitted++
		s.Emit(emitted)
		for _, h := range queue {
			h.state, h.v = callFinal, emitted
		}
		queue = nil
	}

	for r.step(200) {
		switch op := r.in.next(sigOps); op {
		case sigNext, sigNextForever:
			h := &sigHandle{}
			ctx := context.Background()
			if op == sigNext {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			r.logf("h%d=Next(cancel=%t)", len(hs), h.cancel != nil)
			h.ch = s.Next(ctx)
			h.fzCall.ch = pend[int]{h.ch}
			hs = append(hs, h)
			queue = append(queue, h)
		case sigNextDone:
			r.logf("h%d=Next(done)", len(hs))
			ch := s.Next(endedCtx())
			hs = append(hs, &sigHandle{ch: ch, fzCall: fzCall{ch: pend[int]{ch}, state: callClosed}})
		case sigEmit:
			r.logf("Emit(%d)", emitted+1)
			emit()
		case sigEnd:
			h, k := fzPick(&r.in, hs, canEnd)
			if h == nil {
				continue
			}
			switch how := r.end(&h.fzCall, fmt.Sprintf("h%d", k)); how {
			case endRecv:
				v, ok := fzRecvRacing(&r.in, h.ch)
				switch {
				case h.state == callFinal && ok && v == h.v:
					h.state = callReceived
				case h.state != callFinal && !ok: // queued: closed by the AfterFunc; received or closed: nothing more
					end(h)
				default:
					r.fail("h%d in state %v: receive after the end yields %d, %v (model %d)", k, h.state, v, ok, h.v)
				}
			default:
				end(h)
				if how == endCall {
					if got := s.String(); got != want() {
						r.fail("String = %s, model %s", got, want())
					}
				}
			}
		case sigRecv:
			h, k := fzPick(&r.in, hs, nil)
			if h == nil {
				continue
			}
			r.logf("recv(h%d)", k)
			synctest.Wait() // let an ended waiter's AfterFunc close the channel
			fzSettled(hs)
			v, ok, ready := recvNow(h.ch)
			switch h.state {
			case callQueued:
				if ready {
					r.fail("h%d waits, but its channel yields %d, %v", k, v, ok)
				}
			case callFinal:
				if !ready || !ok || v != h.v {
					r.fail("h%d yields %d, %v, %v; model %d", k, v, ok, ready, h.v)
				}
				h.state = callReceived
			default:
				if !ready || ok {
					r.fail("h%d yields %d, %v, %v; want closed", k, v, ok, ready)
				}
			}
		case sigCheck:
			r.logf("check")
		}
		if !r.endNext {
			check()
		}
	}

	// The end: every ctx ends; a last Emit reaches exactly the waiters
	// that cannot give up; every value sent is received.
	r.logf("end")
	for _, h := range hs {
		if canEnd(&h.fzCall) {
			h.ended = true
			h.cancel()
			end(h)
		}
	}
	emit()
	check()
	for i, h := range hs {
		if h.state == callFinal {
			if v, ok := <-h.ch; !ok || v != h.v {
				r.fail("h%d yields %d, %v; model %d", i, v, ok, h.v)
			}
		}
	}
	if got := s.String(); got != "Signal(waiters=0)" {
		r.fail("at the end String = %s", got)
	}
}
