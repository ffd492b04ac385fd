package chans

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// The harness every fuzz target of package chans shares. A target runs the
// real primitive beside a plain model of it, one operation per step, the
// operations and their arguments read from the fuzzer's bytes (fzInput),
// and compares the two after every step. What the targets have in common
// lives here:
//
//   - the decoding: fzInput reads small numbers, fzPick chooses a call;
//   - how a ctx ends (ctxEnd): the four ways the package must handle, which
//     every target's "end" operation reads after the call it ends;
//   - where a call stands (callState), and fzCall, the part of a target's
//     handle that says it, with the check of its channel against it;
//   - the log of a run and its failure message (fzRun).
//
// To add a target: give its handle type an embedded fzCall (set ch to
// pend[T]{the channel}), read operations with r.in.next(numOps), end
// contexts with r.end, and at the end of each step (unless r.endNext says
// the next operation comes first) settle, check with fzCheck before any
// call (W2), call into the primitive, mark fzLooked and check again.

// fzInput reads the fuzzer's bytes as a stream of small numbers; past the
// end it reads zeros.
type fzInput struct {
	b []byte
	i int
}

func (in *fzInput) more() bool { return in.i < len(in.b) }

// next reads one byte, modulo n.
func (in *fzInput) next(n int) int { return in.byte() % n }

// byte reads one byte as it is.
func (in *fzInput) byte() int {
	if in.i >= len(in.b) {
		return 0
	}
	in.i++
	return int(in.b[in.i-1])
}

// fzPick returns one of the handles ok accepts (nil: any), chosen by the
// next byte, or the zero H, reading nothing, if there is none.
func fzPick[H fzHandle](in *fzInput, hs []H, ok func(*fzCall) bool) (H, int) {
	var c []int
	for i, h := range hs {
		if ok == nil || ok(h.call()) {
			c = append(c, i)
		}
	}
	if len(c) == 0 {
		var zero H
		return zero, -1
	}
	i := c[in.next(len(c))]
	return hs[i], i
}

// ctxEnd is how a ctx ends: the byte read after the call an "end"
// operation picks.
type ctxEnd uint8

const (
	endAfterFunc ctxEnd = iota // cancel; the AfterFunc runs (synctest.Wait) before anyone looks (W2)
	endCall                    // cancel, then a public call before the AfterFunc can run (W3)
	endNext                    // cancel, and the next operation's call is the first to see it
	endRecv                    // cancel, and the caller receives at once, racing the AfterFunc's take-back
	numCtxEnds
)

func (e ctxEnd) String() string {
	return [...]string{"afterfunc", "call", "next", "recv"}[e]
}

// fzRecvRacing is endRecv's receive, right after the cancel: for a queued
// waiter it waits for the AfterFunc to close the channel; for a granted one
// it races the take-back for the value. The receive nearly always wins
// unless it first yields to the AfterFunc, so the next input bit says
// whether it does (both sides of the race are fuzzed).
func fzRecvRacing[T any](in *fzInput, ch <-chan T) (T, bool) {
	if in.next(2) == 1 {
		runtime.Gosched()
	}
	v, ok := <-ch
	return v, ok
}

// callState is where the model says a call stands.
type callState uint8

const (
	callQueued   callState = iota // waiting: channel open and empty
	callGranted                   // a grant in the buffer, taken back if the ctx ends first
	callFinal                     // a value in the buffer for good (broadcasts, Put's answer, a ctx that cannot end)
	callHeld                      // a Release received (or a Try's) and not called
	callReleased                  // the Release called: a second call must panic
	callReceived                  // its value received: closed and empty
	callClosed                    // closed without a value
)

func (s callState) String() string {
	return [...]string{"queued", "granted", "final", "held", "released", "received", "closed"}[s]
}

// fzCall is the part of a fuzz target's handle every target has: one call,
// its ctx, and where it stands.
type fzCall struct {
	ch     pending            // the call's channel; nil when there is none (a Try)
	cancel context.CancelFunc // nil: its ctx cannot end
	ended  bool               // its ctx has ended
	state  callState
	// lazy: granted on the fast path with a ctx that can end and nobody
	// queued since, so no AfterFunc watches it (waitq.now): its caller
	// walking away is noticed at the next call into the primitive, not
	// before (W2 promises it only for the watched).
	lazy bool
	// lagging: ended since the primitive was last looked at, so its
	// channel may lag the model: a lazy grant still in the buffer, or a
	// queued waiter whose AfterFunc has not closed it yet.
	lagging bool
}

func (c *fzCall) call() *fzCall { return c }

// canEnd says whether an "end" operation may pick c.
func canEnd(c *fzCall) bool { return c.cancel != nil && !c.ended && c.ch != nil }

// fzHandle is a target's handle: anything that embeds fzCall.
type fzHandle interface{ call() *fzCall }

// problem compares c's channel with its state without taking anything out
// of a channel that is right, and says what is wrong, or "".
func (c *fzCall) problem() string {
	if c.ch == nil {
		return ""
	}
	switch c.state {
	case callQueued:
		if v, ok, ready := c.ch.poll(); ready {
			return fmt.Sprintf("is queued, but its channel yields %v, %v", v, ok)
		}
	case callGranted, callFinal:
		if !c.ch.buffered() && !c.lagging { // lagging: a queued Put's answer not sent yet
			return fmt.Sprintf("is %v, but its buffer is empty", c.state)
		}
	default:
		if c.lagging && c.lazy && c.ch.buffered() {
			return "" // abandoned on the fast path: taken back at the next call
		}
		if v, ok, ready := c.ch.poll(); ok || !ready && !c.lagging {
			return fmt.Sprintf("is %v and should be closed and empty: yields %v, ok=%v, ready=%v", c.state, v, ok, ready)
		}
	}
	return ""
}

// fzCheck fails the run at the first handle whose channel disagrees with
// the model.
func fzCheck[H fzHandle](r *fzRun, hs []H) {
	r.t.Helper()
	for i, h := range hs {
		if p := h.call().problem(); p != "" {
			r.fail("h%d %s", i, p)
		}
	}
}

// fzQueuedBehind is what a waiter queueing does to the lazy grants: each is
// watched from now on (waitq.watchLazy).
func fzQueuedBehind[H fzHandle](hs []H) {
	for _, h := range hs {
		c := h.call()
		c.lazy = c.lazy && c.state != callGranted
	}
}

// fzSettled marks what synctest.Wait settles: every AfterFunc has run, so
// only the lazy grants may still lag.
func fzSettled[H fzHandle](hs []H) {
	for _, h := range hs {
		c := h.call()
		c.lagging = c.lagging && c.lazy
	}
}

// fzLooked marks what a public call settles: it took back the lazy grants
// whose ctx ended. (A queued waiter whose AfterFunc has not run yet may
// still lag: a call sweeps only the dead waiters at the head of the queue.)
func fzLooked[H fzHandle](hs []H) {
	for _, h := range hs {
		c := h.call()
		if c.lagging && c.lazy {
			c.lagging, c.lazy = false, false
		}
	}
}

// fzRun is one run of a target: its input, and the log of the operations
// done, which a failure prints.
type fzRun struct {
	t   *testing.T
	in  fzInput
	log []string
	// endNext is set by an endNext ending: the step must leave the
	// primitive alone so the next operation's call is the first to see it.
	endNext bool
}

func newFzRun(t *testing.T, ops []byte) *fzRun { return &fzRun{t: t, in: fzInput{b: ops}} }

// step starts the next step, if there is input left and the run is not
// longer than limit steps.
func (r *fzRun) step(limit int) bool {
	r.endNext = false
	return r.in.more() && len(r.log) < limit
}

func (r *fzRun) logf(format string, args ...any) { r.log = append(r.log, fmt.Sprintf(format, args...)) }

func (r *fzRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("after %s: "+format, append([]any{strings.Join(r.log, "; ")}, args...)...)
}

// end ends h's ctx (logged as name) the way the next byte says, and
// returns that way for the target to finish: for endCall it makes a public
// call once its model has ended the call, for endRecv it receives with
// fzRecvRacing and lets its model follow whichever side won; endNext is
// noted for the step (the primitive must be left alone until the next
// operation). For every way but endRecv the model ends the call at once:
// it is the primitive that may lag, which the checks allow for.
func (r *fzRun) end(h *fzCall, name string) ctxEnd {
	how := ctxEnd(r.in.next(int(numCtxEnds)))
	r.logf("end(%s, %v)", name, how)
	h.ended = true
	h.cancel()
	r.endNext = how == endNext
	return how
}
