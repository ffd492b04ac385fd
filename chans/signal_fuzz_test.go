package chans

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

// FuzzSignal runs random sequences of Next, Emit and cancellations on a
// Signal and on a model (the list of waiters registered and not yet served),
// and checks after every step who got what: a waiter gets the first value
// emitted after its call, if its ctx had not ended by then, and nothing
// otherwise; a value reached keeps, even if the ctx ends before the receive;
// every channel yields at most one value and is closed; String counts the
// waiters. Contexts end with the AfterFunc run (synctest.Wait), with a call
// to String first, or bare, with the next operation (an Emit, say) as the
// first call to see it.
//
// Emitted values are numbered, so each tells which Emit it came from.
//
//	go test -run '^$' -fuzz '^FuzzSignal$' -fuzztime 60000x ./chans
func FuzzSignal(f *testing.F) {
	// Broadcast: two waiters, one Emit, both get it.
	f.Add([]byte{sgfNext, sgfNext, sgfEmit, sgfRecv, 0, sgfRecv, 1, sgfCheck})
	// Each waiter gets the first value after its call: the first Emit
	// reaches nobody and is lost, h0 gets the second, h1 (called after it)
	// the third.
	f.Add([]byte{sgfEmit, sgfNext, sgfEmit, sgfNextForever, sgfEmit, sgfRecv, 0, sgfRecv, 1})
	// A waiter whose ctx ended just before the Emit (bare: no AfterFunc run,
	// no call between) gets nothing; the one behind it gets the value.
	f.Add([]byte{sgfNext, sgfNext, sgfCancelBare, 0, sgfEmit, sgfRecv, 0, sgfRecv, 1})
	// The same for a waiter in the middle of the line, and String right
	// after a cancel.
	f.Add([]byte{sgfNext, sgfNext, sgfNextForever, sgfCancelBare, 1, sgfCheck, sgfEmit,
		sgfCancelCall, 0, sgfCheck})
	// A value reached keeps: the ctx ends after the Emit, the receive still
	// yields it. W4: a ctx done at the call gets nothing.
	f.Add([]byte{sgfNext, sgfNextDone, sgfEmit, sgfCancelWait, 0, sgfRecv, 0, sgfRecv, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) {
			fuzzSignal(t, ops)
		})
	})
}

// The operations of FuzzSignal; the cancels and the receive take a handle byte.
const (
	sgfNext        = iota // Next with a ctx that can be cancelled
	sgfNextForever        // Next with context.Background
	sgfNextDone           // Next with a ctx already done (W4)
	sgfEmit               // Emit the next number
	sgfCancelWait         // end a ctx, let the AfterFunc run
	sgfCancelCall         // end a ctx, then call String
	sgfCancelBare         // end a ctx; the next operation is the next call
	sgfRecv               // receive from a channel if that cannot block
	sgfCheck              // String
	sgfOps
)

type sgfState uint8

const (
	sgfQueued    sgfState = iota
	sgfDelivered          // a value in the buffer, not received
	sgfReceived           // the caller has its value
	sgfDone               // closed without a value
)

// sgfHandle is one Next and where the model says it stands.
type sgfHandle struct {
	cancel context.CancelFunc // nil: a ctx that cannot end
	ch     <-chan int
	state  sgfState
	v      int // the value delivered
}

func fuzzSignal(t *testing.T, ops []byte) {
	var s Signal[int]
	var queue []*sgfHandle // the model: waiters registered and not served, in call order
	var hs []*sgfHandle
	var log []string
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("after %s: "+format, append([]any{strings.Join(log, "; ")}, args...)...)
	}
	o := &fzOps{b: ops}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	emitted := 0
	want := func() string { return fmt.Sprintf("Signal(waiters=%d)", len(queue)) }

	// check lets every AfterFunc run, then compares every channel with the
	// model before any call into the signal (a ctx ending closes a queued
	// waiter's channel at once, W2), without taking anything; then String.
	check := func() {
		t.Helper()
		synctest.Wait()
		for i, h := range hs {
			switch h.state {
			case sgfQueued:
				if v, ok, ready := recvNow(h.ch); ready {
					fail("h%d waits, but its channel yields %d, %v", i, v, ok)
				}
			case sgfDelivered:
				if len(h.ch) != 1 {
					fail("h%d was sent %d, but its channel is empty", i, h.v)
				}
			default:
				if v, ok, ready := recvNow(h.ch); !ready || ok {
					fail("h%d should be closed and empty: %d, %v, %v", i, v, ok, ready)
				}
			}
		}
		if got := s.String(); got != want() {
			fail("String = %s, model %s", got, want())
		}
	}
	// end: a waiter still queued leaves with nothing; a value sent stays.
	end := func(h *sgfHandle) {
		h.cancel()
		if h.state == sgfQueued {
			queue = slices.DeleteFunc(queue, func(x *sgfHandle) bool { return x == h })
			h.state = sgfDone
		}
	}

	for o.more() && len(log) < 200 {
		bare := false
		switch op := o.next(sgfOps); op {
		case sgfNext, sgfNextForever:
			h := &sgfHandle{}
			ctx := context.Background()
			if op == sgfNext {
				ctx, h.cancel = context.WithCancel(ctx)
			}
			log = append(log, fmt.Sprintf("h%d=Next(cancel=%t)", len(hs), h.cancel != nil))
			h.ch = s.Next(ctx)
			hs = append(hs, h)
			queue = append(queue, h)
		case sgfNextDone:
			log = append(log, fmt.Sprintf("h%d=Next(done)", len(hs)))
			hs = append(hs, &sgfHandle{ch: s.Next(done), state: sgfDone})
		case sgfEmit:
			emitted++
			log = append(log, fmt.Sprintf("Emit(%d)", emitted))
			s.Emit(emitted)
			for _, h := range queue {
				h.state, h.v = sgfDelivered, emitted
			}
			queue = nil
		case sgfCancelWait, sgfCancelCall, sgfCancelBare:
			if len(hs) == 0 {
				continue
			}
			k := o.next(len(hs))
			h := hs[k]
			if h.cancel == nil {
				continue
			}
			log = append(log, fmt.Sprintf("cancel(h%d)", k))
			end(h)
			switch op {
			case sgfCancelCall:
				if got := s.String(); got != want() {
					fail("String = %s, model %s", got, want())
				}
			case sgfCancelBare:
				bare = true
			}
		case sgfRecv:
			if len(hs) == 0 {
				continue
			}
			k := o.next(len(hs))
			h := hs[k]
			log = append(log, fmt.Sprintf("recv(h%d)", k))
			synctest.Wait() // let a bare cancel's AfterFunc close the channel
			v, ok, ready := recvNow(h.ch)
			switch h.state {
			case sgfQueued:
				if ready {
					fail("h%d waits, but its channel yields %d, %v", k, v, ok)
				}
			case sgfDelivered:
				if !ready || !ok || v != h.v {
					fail("h%d yields %d, %v, %v; model %d", k, v, ok, ready, h.v)
				}
				h.state = sgfReceived
			default:
				if !ready || ok {
					fail("h%d yields %d, %v, %v; want closed", k, v, ok, ready)
				}
			}
		case sgfCheck:
			log = append(log, "check")
		}
		if !bare {
			check()
		}
	}

	// The end: every ctx ends; a last Emit reaches exactly the waiters
	// that cannot give up; every value sent is received.
	log = append(log, "end")
	for _, h := range hs {
		if h.cancel != nil {
			end(h)
		}
	}
	emitted++
	s.Emit(emitted)
	for _, h := range queue {
		h.state, h.v = sgfDelivered, emitted
	}
	queue = nil
	check()
	for i, h := range hs {
		if h.state == sgfDelivered {
			if v, ok := <-h.ch; !ok || v != h.v {
				fail("h%d yields %d, %v; model %d", i, v, ok, h.v)
			}
		}
	}
	if got := s.String(); got != "Signal(waiters=0)" {
		fail("at the end String = %s", got)
	}
}
