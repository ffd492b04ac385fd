package selectx

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/turnstile-go/turnstile/internal/choice"
)

// A race is one call of First, All or Completed: its ops of one type, started
// under one choice (see internal/choice).
//
// An op that package chans serves registers a waiter with the choice, which
// lets the race do three things a plain select cannot: a wait that cannot be
// granted at once is not queued during the first pass (unarmed), a grant or a
// close to any of them wakes the race through one channel, so it need not
// block on each op's channel, and when the race ends the choice withdraws
// every loser in the race's own goroutine. An op that chans does not serve (a
// plain channel, a dist engine, any func) is foreign: it is started as usual
// and its channel joins the blocking select, and it learns that the race
// ended through its ctx, which the choice cancels.
type race[T any] struct {
	c       *choice.Ctx
	chs     []<-chan T      // the ops' channels; nil once an op delivered or closed
	ws      []choice.Waiter // the waiter serving op i; nil for a foreign op
	regs    [][2]int        // the waiters op i registered: indexes [regs[i][0], regs[i][1])
	covered int             // how many waiters the ops' own calls registered
	live    int             // ops not yet delivered or closed
	foreign int             // of which foreign
	closed  []error         // why ops closed without a value, in argument order
	ctx     choice.Ctx      // c points here: one allocation for the race and its choice
	chBuf   [small]<-chan T
	wBuf    [small]choice.Waiter
	rBuf    [small][2]int
}

// newRace prepares a race of n ops under a choice made from ctx.
func newRace[T any](ctx context.Context, n int) *race[T] {
	r := new(race[T])
	r.ctx.Init(ctx)
	r.c = &r.ctx
	if n <= small {
		r.chs, r.ws, r.regs = r.chBuf[:n], r.wBuf[:n], r.rBuf[:n]
	} else {
		r.chs, r.ws, r.regs = make([]<-chan T, n), make([]choice.Waiter, n), make([][2]int, n)
	}
	return r
}

// start runs op i under the choice and finds out whether chans serves it.
func (r *race[T]) start(i int, op Op[T]) {
	before := r.c.Len()
	ch := op(r.c)
	if ch == nil {
		// A nil channel would block forever without a word.
		panic(fmt.Sprintf("selectx: op %d returned a nil channel", i))
	}
	r.chs[i] = ch
	r.live++
	after := r.c.Len()
	r.regs[i] = [2]int{before, after}
	r.covered += after - before
	if after > before {
		r.ws[i] = r.c.Find(before, ch)
	}
	if r.ws[i] == nil {
		r.foreign++
	}
}

// arm queues the waiters op i registered, if chans left them unarmed in
// the first pass. All of them, not only the one that serves the op: an op
// that waits on a chans channel of its own making (a wrapper) would
// otherwise never be granted. And even for an op that has dropped out (its
// channel closed): its range may hold a waiter that a foreign op's goroutine
// registered while op i started, which armRest counts as covered and so
// leaves alone. Arming a waiter that is no longer unarmed does nothing.
func (r *race[T]) arm(i int) {
	if r.regs[i][1] > r.regs[i][0] {
		r.c.ArmRange(r.regs[i][0], r.regs[i][1])
	}
}

// armRest arms what a foreign goroutine registered with the choice while the
// first pass ran, once every op was armed without a winner.
func (r *race[T]) armRest() {
	if r.c.Len() > r.covered {
		r.c.ArmRange(0, -1)
	}
}

// end withdraws every loser: the race's last act.
func (r *race[T]) end() { r.c.End() }

// poll receives, without blocking, from the first ready channel among the
// first n, in argument order. It returns its index (-1 if none is ready),
// the value, and whether it was a value rather than a close; a closed op
// drops out, and its reason is kept for the error.
func (r *race[T]) poll(n int) (int, T, bool) {
	for i, c := range r.chs[:n] {
		if c == nil {
			continue
		}
		select {
		case v, ok := <-c:
			r.done(i, ok)
			return i, v, ok
		default:
		}
	}
	var zero T
	return -1, zero, false
}

// done marks op i delivered or closed.
func (r *race[T]) done(i int, ok bool) {
	switch {
	case !ok:
		r.closed = append(r.closed, r.cause(i))
	case r.ws[i] != nil:
		r.ws[i].Received()
	}
	r.chs[i] = nil
	r.live--
	if r.ws[i] == nil {
		r.foreign--
	}
}

// cause is the error for op i closing without a value.
func (r *race[T]) cause(i int) error {
	var why error
	if w := r.ws[i]; w != nil {
		why = w.Cause()
	}
	return &OpError{Index: i, Err: why}
}

// next returns the next op to deliver or close: the first ready in argument
// order, else the first to become ready. It returns -1 when done is closed
// first.
func (r *race[T]) next(done <-chan struct{}) (int, T, bool) {
	for {
		if i, v, ok := r.poll(len(r.chs)); i >= 0 {
			return i, v, ok
		}
		i, v, ok, woken := r.block(done)
		if i >= 0 {
			r.done(i, ok)
			return i, v, ok
		}
		if !woken {
			var zero T
			return -1, zero, false
		}
	}
}

// block waits until a served op may be ready (woken), a foreign op's channel
// is (its index and value), or done is closed (neither).
func (r *race[T]) block(done <-chan struct{}) (i int, v T, ok, woken bool) {
	wake := r.c.Woken()
	if r.foreign == 0 {
		select {
		case <-wake:
			return -1, v, false, true
		case <-done:
			return -1, v, false, false
		}
	}
	var fc [small - 1]<-chan T
	var fi [small - 1]int
	n := 0
	for j, c := range r.chs {
		if c != nil && r.ws[j] == nil {
			if n == len(fc) {
				return r.blockReflect(done)
			}
			fc[n], fi[n] = c, j
			n++
		}
	}
	// Unused slots are nil channels, which a select never chooses.
	select {
	case v, ok = <-fc[0]:
		return fi[0], v, ok, false
	case v, ok = <-fc[1]:
		return fi[1], v, ok, false
	case v, ok = <-fc[2]:
		return fi[2], v, ok, false
	case <-wake:
		return -1, v, false, true
	case <-done:
		return -1, v, false, false
	}
}

// blockReflect is block for more foreign ops than the hand-written select
// has room for.
func (r *race[T]) blockReflect(done <-chan struct{}) (int, T, bool, bool) {
	var v T
	cases := make([]reflect.SelectCase, 0, r.foreign+2)
	idx := make([]int, 0, r.foreign)
	for j, c := range r.chs {
		if c != nil && r.ws[j] == nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
			idx = append(idx, j)
		}
	}
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.c.Woken())},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(done)})
	k, recv, ok := reflect.Select(cases)
	switch k {
	case len(idx):
		return -1, v, false, true
	case len(idx) + 1:
		return -1, v, false, false
	}
	if ok {
		reflect.ValueOf(&v).Elem().Set(recv)
	}
	return idx[k], v, ok, false
}

// failure is the error of a race whose ops all closed without a value: the
// reasons of those that have one, or ErrClosed.
func (r *race[T]) failure() error { return closedErr(r.closed) }

func closedErr(closed []error) error {
	var why []error
	for _, err := range closed {
		if e := err.(*OpError); e.Err != nil {
			why = append(why, e)
		}
	}
	switch len(why) {
	case 0:
		return ErrClosed
	case 1:
		return why[0]
	}
	return errors.Join(why...)
}

// An OpError says that op Index closed its channel without a value, and why,
// if its primitive knows (a failed Result's error, a shut down Queue's
// ErrShutdown). errors.Is finds both ErrClosed and the reason in it.
type OpError struct {
	Index int
	Err   error // nil if the op closed without a reason beyond the ctx
}

func (e *OpError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("selectx: op %d closed without a value", e.Index)
	}
	return fmt.Sprintf("selectx: op %d failed: %v", e.Index, e.Err)
}

// Unwrap returns ErrClosed and the reason.
func (e *OpError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrClosed}
	}
	return []error{ErrClosed, e.Err}
}

// checkCtx panics, before anything is started, if ctx is nil.
func checkCtx(fn string, ctx context.Context) {
	if ctx == nil {
		panic("selectx: " + fn + " with a nil Context")
	}
}
