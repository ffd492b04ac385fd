package selectx_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzGroup runs a sequence of Group calls that the input chooses, over the
// keys 0..3, and compares every returned value and error, and every value
// passed to Discard, with a plain model: a key is absent, registered, or
// registered and done with a value; a callback completes its own
// registration only, once; a timeout completes its key with 0 when its time
// comes; Wait and WaitAny take the first done key in argument order, fail
// with ErrUnknownKey naming the first key not registered, or with ctx.Err()
// first of all; Cancel, CancelAll and Close discard the results nobody will
// collect, timeouts excepted, and Close names the keys it dropped in
// registration order.
//
// A wait that the model says cannot return at once runs in its own
// goroutine, with a ctx that is cancelled by a later step or that times out,
// and is checked after every later step: it must still be blocked, or have
// returned exactly what the model says. Waits blocked at the same time have
// disjoint keys (a wait that would share a key with a blocked one is made
// with an already cancelled ctx instead), since two waits for one key race
// for it. Each case runs in a synctest bubble: synctest.Wait tells when the
// blocked waits, the timers and the waits they wake have all settled, and
// After and the timeouts run on the bubble's fake clock, so time is part of
// the model. Timers fire on whole seconds and wait timeouts on half seconds,
// and After moves a timer that would fire together with another by whole
// seconds, so no two events that one wait could see happen at the same
// instant. At the end the blocked waits are cancelled and the Group closed,
// and every value given to a callback must have come out exactly once: from
// a wait or through Discard.
//
// Input layout (read with fuzz_test.go's fuzzInput): up to 24 steps of three
// bytes each (op, a, b; missing bytes read as 0), op%10 being one of the g*
// constants below.
func FuzzGroup(f *testing.F) {
	// Complete a key, collect it, then it is unknown.
	f.Add([]byte{gCallback, 1, 0, gCall, 0, 0, gWait, 1, 2, gWait, 1, 2})
	// A callback called twice, and called after its key was registered
	// again: Discard gets both late values.
	f.Add([]byte{gCallback, 0, 0, gCall, 0, 0, gCall, 0, 0, gCancel, 0, 0, gCallback, 0, 0, gCall, 0, 0, gClose, 0, 0})
	// Two blocked waits, one woken by a callback, the other by Cancel.
	f.Add([]byte{gCallback, 0, 0, gCallback, 1, 0, gCallback, 2, 0, gWaitAny, 0 | 1<<2, 2 | 1<<2, gWait, 2, 2,
		gCall, 1, 0, gCancel, 2, 0, gCancelAll, 0, 0})
	// yieldpoints' timeout: WaitAny for the work and a timer; the timer
	// comes first, the work later.
	f.Add([]byte{gCallback, 0, 0, gAfter, 1, 1, gWaitAny, 0 | 1<<2, 2 | 1<<2, gSleep, 2, 0, gCall, 0, 0, gWait, 0, 2})
	// A wait times out at 1.5s; waits with done ctxs; Close reports the
	// keys left.
	f.Add([]byte{gCallback, 3, 0, gWait, 3, 3 | 1<<4, gSleep, 1, 0, gWait, 3, 0, gWait, 3, 1, gAfter, 2, 0, gSleep, 0, 0, gClose, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { groupCase(t, data) })
	})
}

// Group steps.
const (
	gCallback  = iota // Callback(a%4)
	gCall             // call callback a (mod the number made so far) with a new value
	gCancel           // Cancel(a%4)
	gCancelAll        // CancelAll()
	gClose            // Close()
	gWait             // Wait(ctx, a%4), ctx as b says (see wait)
	gWaitAny          // WaitAny(ctx, keys...): 1+(b>>2)%3 keys, two bits of a each
	gAfter            // After(a%4, 1+b%3 seconds)
	gSleep            // sleep 1+a%3 seconds
	gEndWait          // cancel the ctx of blocked wait a (mod the number blocked)
	gSteps
)

const (
	groupKeys  = 4
	groupSteps = 24
)

// gEntry is the model of one registration of a key.
type gEntry struct {
	seq   int
	timer bool // registered by After
	when  int  // a timer's moment, in half seconds
	done  bool
	v     int
}

// gCallbackFunc is a func returned by Callback and the registration it belongs to.
type gCallbackFunc struct {
	key int
	e   *gEntry
	f   func(int)
}

type gResult struct {
	k, v int
	err  error
}

// gWaiter is a Wait or WaitAny running in its own goroutine.
type gWaiter struct {
	desc   string
	keys   []int
	single bool // Wait, which reports no key
	when   int  // its ctx's deadline in half seconds; -1 if none
	cancel context.CancelFunc
	res    chan gResult
	want   gResult // the model's answer, once done
	done   bool    // the model says it has returned
}

type gKV struct{ k, v int }

type groupModel struct {
	t       *testing.T
	g       *selectx.Group[int, int]
	keys    [groupKeys]*gEntry
	seq     int
	now     int // half seconds since the start
	cbs     []gCallbackFunc
	blocked []*gWaiter // waits the model says are blocked
	decided []*gWaiter // waits the model says have returned, not yet checked
	nextV   int

	discarded []gKV // what Discard received
	wantDisc  []gKV // what the model says it should have received
	given     []int // values passed to callbacks
	returned  []int // values returned by waits, timeouts' zeros left out
	log       *fuzzLog
}

func groupCase(t *testing.T, data []byte) {
	in := &fuzzInput{data: data}
	m := &groupModel{t: t, log: &fuzzLog{t: t}, g: new(selectx.Group[int, int])}
	m.g.Discard = func(k, v int) { m.discarded = append(m.discarded, gKV{k, v}) }
	for i := 0; i < len(data) && i < 3*groupSteps; i += 3 {
		m.step(in.at(i)%gSteps, in.at(i+1), in.at(i+2))
		synctest.Wait() // the waits woken by the step, and the timers
		m.check()
	}

	// Cancel what still waits, then close: every value is out.
	m.log.logf("end: cancel the blocked waits")
	for _, w := range m.blocked {
		w.cancel()
		w.want = gResult{err: context.Canceled}
	}
	m.decided, m.blocked = append(m.decided, m.blocked...), nil
	synctest.Wait()
	m.check()
	m.closeGroup()
	m.check()
	var out []int
	out = append(out, m.returned...)
	for _, d := range m.discarded {
		out = append(out, d.v)
	}
	slices.Sort(out)
	slices.Sort(m.given)
	if !slices.Equal(out, m.given) {
		m.fail("values given to callbacks %v, values out (waits and Discard) %v", m.given, out)
	}
}

func (m *groupModel) fail(format string, args ...any) {
	m.t.Helper()
	m.log.fatalf(format, args...)
}

func (m *groupModel) step(op, a, b int) {
	g := m.g
	switch op {
	case gCallback:
		k := a % groupKeys
		m.logf("Callback(%d)", k)
		f, err := g.Callback(k)
		if m.keys[k] != nil {
			m.checkErr("Callback", err, keyReuse(k))
			if f != nil {
				m.fail("Callback returned a func with an error")
			}
			return
		}
		m.checkErr("Callback", err, nil)
		if f == nil {
			m.fail("Callback returned a nil func")
		}
		m.cbs = append(m.cbs, gCallbackFunc{k, m.register(k), f})

	case gCall:
		if len(m.cbs) == 0 {
			m.logf("call: no callback yet")
			return
		}
		c := m.cbs[a%len(m.cbs)]
		m.nextV++
		v := m.nextV
		m.logf("callback %d (key %d) called with %d", a%len(m.cbs), c.key, v)
		if m.keys[c.key] == c.e && !c.e.done {
			c.e.done, c.e.v = true, v
		} else {
			m.wantDisc = append(m.wantDisc, gKV{c.key, v})
		}
		m.given = append(m.given, v)
		c.f(v)
		m.settle()

	case gCancel:
		k := a % groupKeys
		m.logf("Cancel(%d)", k)
		err := g.Cancel(k)
		if m.keys[k] == nil {
			m.checkErr("Cancel", err, unknownKey(k))
			return
		}
		m.checkErr("Cancel", err, nil)
		m.drop(k)
		m.settle()

	case gCancelAll:
		m.logf("CancelAll()")
		g.CancelAll()
		m.dropAll()
		m.settle()

	case gClose:
		m.closeGroup()

	case gWait, gWaitAny:
		keys := []int{a % groupKeys}
		if op == gWaitAny {
			keys = keys[:0]
			for j := range 1 + (b>>2)%3 {
				keys = append(keys, (a>>(2*j))%groupKeys)
			}
		}
		m.wait(op == gWait, keys, b)

	case gAfter:
		k, d := a%groupKeys, 1+b%3
		// Move the timer off any other live timer's moment: two timers
		// firing together race to a WaitAny for both.
		for m.timerAt(m.now + 2*d) {
			d++
		}
		m.logf("After(%d, %ds)", k, d)
		err := g.After(k, time.Duration(d)*time.Second)
		if m.keys[k] != nil {
			m.checkErr("After", err, keyReuse(k))
			return
		}
		m.checkErr("After", err, nil)
		e := m.register(k)
		e.timer, e.when = true, m.now+2*d

	case gSleep:
		d := 1 + a%3
		m.logf("sleep %ds (now %gs)", d, float64(m.now)/2)
		time.Sleep(time.Duration(d) * time.Second)
		for range 2 * d {
			m.now++
			for _, w := range m.blocked {
				if w.when == m.now {
					w.want, w.done = gResult{err: context.DeadlineExceeded}, true
				}
			}
			m.moveDecided()
			for _, e := range m.keys {
				if e != nil && e.timer && !e.done && e.when == m.now {
					e.done = true
				}
			}
			m.settle()
		}

	case gEndWait:
		if len(m.blocked) == 0 {
			m.logf("end wait: none blocked")
			return
		}
		w := m.blocked[a%len(m.blocked)]
		m.logf("cancel the ctx of %s", w.desc)
		w.cancel()
		w.want, w.done = gResult{err: context.Canceled}, true
		m.moveDecided()
	}
}

func (m *groupModel) logf(format string, args ...any) {
	m.log.logf("%gs: %s", float64(m.now)/2, fmt.Sprintf(format, args...))
}

// wait runs Wait or WaitAny for keys with the ctx that b%4 picks: 0 one
// already cancelled, 1 one already past its deadline, 2 context.Background
// if the model says the call returns at once, else a ctx that a later
// gEndWait or the end cancels, 3 a ctx that times out after 0.5, 1.5 or 2.5
// seconds (b>>4).
func (m *groupModel) wait(single bool, keys []int, b int) {
	name := "WaitAny"
	if single {
		name = "Wait"
	}
	desc := fmt.Sprintf("%s%v", name, keys)
	kind := b % 4
	want, ready := m.answer(keys)
	if !ready && (kind == 2 || kind == 3) && m.shares(keys) {
		kind = 0 // would race a blocked wait for a key: fail it at once
	}
	var ctx context.Context
	var cancel context.CancelFunc
	timeout := -1 // half seconds
	switch kind {
	case 0:
		ctx, cancel = context.WithCancel(context.Background())
		cancel()
		want, ready = gResult{err: context.Canceled}, true
		desc += " ctx cancelled"
	case 1:
		ctx, cancel = context.WithDeadline(context.Background(), time.Now())
		want, ready = gResult{err: context.DeadlineExceeded}, true
		desc += " ctx past its deadline"
	case 2:
		ctx, cancel = context.Background(), func() {}
		if !ready {
			ctx, cancel = context.WithCancel(context.Background())
		}
	case 3:
		timeout = 2*((b>>4)%3) + 1
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(timeout)*time.Second/2)
		desc += fmt.Sprintf(" timeout %gs", float64(timeout)/2)
	}
	if ready {
		defer cancel()
		m.logf("%s", desc)
		var got gResult
		if single {
			got.v, got.err = m.g.Wait(ctx, keys[0])
		} else {
			got.k, got.v, got.err = m.g.WaitAny(ctx, keys...)
		}
		if want.err == nil {
			m.take(want)
		}
		m.checkResult(desc, single, got, want)
		return
	}

	w := &gWaiter{desc: desc, keys: keys, single: single, when: -1, cancel: cancel, res: make(chan gResult, 1)}
	if timeout > 0 {
		w.when = m.now + timeout
		w.desc += fmt.Sprintf(" (until %gs)", float64(w.when)/2)
	}
	m.logf("%s blocks", w.desc)
	go func() {
		var r gResult
		if single {
			r.v, r.err = m.g.Wait(ctx, keys[0])
		} else {
			r.k, r.v, r.err = m.g.WaitAny(ctx, keys...)
		}
		w.res <- r
	}()
	m.blocked = append(m.blocked, w)
}

// answer is the model's result of a wait for keys now with a live ctx, and
// whether it returns at once.
func (m *groupModel) answer(keys []int) (gResult, bool) {
	for _, k := range keys {
		if m.keys[k] == nil {
			return gResult{err: unknownKey(k)}, true
		}
	}
	for _, k := range keys {
		if e := m.keys[k]; e.done {
			return gResult{k: k, v: e.v}, true
		}
	}
	return gResult{}, false
}

// take removes the key of a successful wait's result.
func (m *groupModel) take(r gResult) {
	m.keys[r.k] = nil
	if r.v != 0 { // timeouts yield 0, callbacks never do
		m.returned = append(m.returned, r.v)
	}
}

// settle decides the blocked waits that the model's state now answers.
func (m *groupModel) settle() {
	for _, w := range m.blocked {
		if r, ok := m.answer(w.keys); ok {
			w.want, w.done = r, true
			if r.err == nil {
				m.take(r)
			}
		}
	}
	m.moveDecided()
}

// moveDecided moves the waits given an answer from blocked to decided.
func (m *groupModel) moveDecided() {
	m.blocked = slices.DeleteFunc(m.blocked, func(w *gWaiter) bool {
		if w.done {
			m.decided = append(m.decided, w)
			return true
		}
		return false
	})
}

// shares reports whether a blocked wait waits for one of keys.
func (m *groupModel) shares(keys []int) bool {
	for _, w := range m.blocked {
		for _, k := range keys {
			if slices.Contains(w.keys, k) {
				return true
			}
		}
	}
	return false
}

func (m *groupModel) timerAt(when int) bool {
	for _, e := range m.keys {
		if e != nil && e.timer && !e.done && e.when == when {
			return true
		}
	}
	return false
}

func (m *groupModel) register(k int) *gEntry {
	m.seq++
	e := &gEntry{seq: m.seq}
	m.keys[k] = e
	return e
}

// drop forgets key k as Cancel does: its callback's result, if any, is
// discarded.
func (m *groupModel) drop(k int) {
	e := m.keys[k]
	m.keys[k] = nil
	if e.done && !e.timer {
		m.wantDisc = append(m.wantDisc, gKV{k, e.v})
	}
}

// dropAll drops every key, in registration order, and returns them in that
// order.
func (m *groupModel) dropAll() []int {
	var keys []int
	for k, e := range m.keys {
		if e != nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b int) int { return m.keys[a].seq - m.keys[b].seq })
	for _, k := range keys {
		m.drop(k)
	}
	return keys
}

func (m *groupModel) closeGroup() {
	m.logf("Close()")
	err := m.g.Close()
	var want error
	if keys := m.dropAll(); len(keys) > 0 {
		want = fmt.Errorf("selectx: keys neither waited for nor cancelled: %v", keys)
	}
	m.checkErr("Close", err, want)
	m.settle()
}

// check compares the blocked and decided waits and Discard's values with
// the model, once everything has settled.
func (m *groupModel) check() {
	m.t.Helper()
	for _, w := range m.blocked {
		select {
		case r := <-w.res:
			m.fail("%s returned %+v; model says it is blocked", w.desc, r)
		default:
		}
	}
	for _, w := range m.decided {
		select {
		case r := <-w.res:
			m.checkResult(w.desc, w.single, r, w.want)
		default:
			m.fail("%s is blocked; model says it returned %+v", w.desc, w.want)
		}
		w.cancel()
	}
	m.decided = m.decided[:0]
	if !slices.Equal(m.discarded, m.wantDisc) {
		m.fail("Discard got %v, model says %v", m.discarded, m.wantDisc)
	}
}

func (m *groupModel) checkResult(desc string, single bool, got, want gResult) {
	m.t.Helper()
	if single {
		want.k = 0
	}
	if !sameErr(got.err, want.err) || got.k != want.k || got.v != want.v {
		m.fail("%s returned key %d, value %d, error %v; model says %d, %d, %v",
			desc, got.k, got.v, got.err, want.k, want.v, want.err)
	}
}

func (m *groupModel) checkErr(call string, got, want error) {
	m.t.Helper()
	if !sameErr(got, want) {
		m.fail("%s returned error %v; model says %v", call, got, want)
	}
}

// sameErr reports whether got is want: the same message, and errors.Is the
// sentinel that want wraps or is (Close's error wraps none).
func sameErr(got, want error) bool {
	if got == nil || want == nil {
		return got == want
	}
	s := errors.Unwrap(want)
	if s == nil && (want == context.Canceled || want == context.DeadlineExceeded) {
		s = want
	}
	return (s == nil || errors.Is(got, s)) && got.Error() == want.Error()
}

func unknownKey(k int) error { return fmt.Errorf("%w: %d", selectx.ErrUnknownKey, k) }
func keyReuse(k int) error   { return fmt.Errorf("%w: %d", selectx.ErrKeyReuse, k) }
