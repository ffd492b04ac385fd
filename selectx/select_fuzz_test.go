package selectx_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzSelect runs Select over cases of different types, on real chans
// primitives in a state the input chooses, and compares the outcome with the
// plain model of fuzz_test.go. The model starts every case's op in argument
// order, and a loser that it says was granted gives its grant back, so its
// states are the same whether Select hands losers grants and takes them
// back (as it did when it started every op before looking at any) or stops
// starting once one is ready (as it does in two passes now):
//
//   - ctx done at the call: -1 and ctx.Err(), nothing started, no then run;
//   - else the earliest case, in argument order, whose primitive grants at
//     once wins; the primitives have given back every other case's grant
//     before its then runs, which sees Locked, Value and Len as if only the
//     winner had taken anything;
//   - else, if every case closes at once, -1 and ErrClosed;
//   - else Select blocks, and the input decides, event by event, what
//     happens: a primitive gets one more unit (the earliest case queued on it
//     wins, primitives serving their waiters in the order Select started
//     them), a queue is shut down or a Result fails (its cases drop out; if
//     none is left, ErrClosed), or ctx is cancelled (-1, ctx.Err()).
//
// The winner's then must run exactly once, with the grant the model says (a
// queue item is the one at the front), and no other then may run. After
// Select returns every primitive's state is compared with the model, the
// winner's grant is released, and every queue item must come out exactly
// once (checkConservation).
//
// A Result is not exclusive: a Set wakes all its cases at the same instant,
// and the winner is then any one of them, since reflect.Select picks among
// ready channels at random; the argument-order tie-break holds for ops ready
// at the call. Each case runs in a synctest bubble, as in FuzzFirst.
//
// Input layout: the head of decodeOps with up to 6 cases over all five kinds
// of primitive (bit 3 of a case's byte: a nil then, for a Result or the
// closed channel only), then up to four event bytes used while Select
// blocks (b%4: 0 cancel ctx, 1 and 3 grow slot (b>>2)%4, 2 shut that slot
// down; missing bytes cancel).
func FuzzSelect(f *testing.F) {
	// Seeds: [flags, cases-1, kind, amount ×4, slot per case, events].
	f.Add([]byte{0, 2, fSem, 2, fLock, 1, fFIFO, 2, fResult, 1, 0, 0, 1})                     // two permits: case 0 wins, case 1's permit goes back
	f.Add([]byte{0, 3, fLock, 0, fLIFO, 2, fFIFO, 1, fSem, 0, 0, 1, 1, 2})                    // held lock, then LIFO's top; case 2 also took its item
	f.Add([]byte{1, 2, fSem, 1, fLock, 1, fFIFO, 1, fResult, 1, 0, 1, 2})                     // ctx done at the call
	f.Add([]byte{0, 3, fResult, 2, fFIFO, shut, fSem, 0, fLock, 0, 0, 1, 4})                  // a failed Result, a shut drained queue, a closed channel: ErrClosed
	f.Add([]byte{0, 3, fSem, 0, fLock, 0, fFIFO, 0, fResult, 0, 0, 2, 0, 3, 1 | 2<<2})        // blocked; an item arrives: case 1 wins
	f.Add([]byte{0, 2, fSem, 0, fLock, 0, fFIFO, 0, fResult, 0, 2, 1, 3, 2 | 2<<2, 1 | 1<<2}) // blocked; the queue shuts (case 0 drops out), the lock is released: case 1 wins
	f.Add([]byte{0, 3, fSem, 0, fLock, 0, fFIFO, 0, fResult, 0, 3, 3 | 8, 1, 4, 1 | 3<<2})    // blocked; the Result is set: case 0 or 1
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { selectCase(t, data) })
	})
}

// selectCall is one run of a case's then.
type selectCall struct {
	i      int
	v      any
	states []int // every primitive's state when then ran
}

func selectCase(t *testing.T, data []byte) {
	c := decodeOps(data, 6, fKinds)
	l := &fuzzLog{t: t}
	var calls []selectCall
	record := func(i int) func(v any) {
		return func(v any) { calls = append(calls, selectCall{i, v, states(c.prims)}) }
	}
	cases := make([]selectx.Case, len(c.slots))
	nilThen := make([]bool, len(c.slots))
	for i, s := range c.slots {
		nilThen[i] = c.bit3[i] && (s < 0 || c.prims[s].kind == fResult)
		cases[i] = onSlot(c, i, record(i), nilThen[i])
	}
	l.logf("%s, nil thens %v", c.desc(), nilThen)

	// The model of the start: every op, in argument order.
	var wins []int // the cases that may win; one unless a Result broadcasts
	var wantErr error
	if c.flags&1 != 0 {
		wantErr = context.Canceled
	} else {
		for i := range c.slots {
			c.start(i)
		}
		if w := slices.Index(c.state, opGranted); w >= 0 {
			wins = []int{w}
		} else if c.allClosed() {
			wantErr = selectx.ErrClosed
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if c.flags&1 != 0 {
		cancel()
	}
	type result struct {
		i   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		i, err := selectx.Select(ctx, cases...)
		done <- result{i, err}
	}()
	synctest.Wait()

	// While the model says Select blocks, play the events.
	for e := 0; wins == nil && wantErr == nil; e++ {
		select {
		case r := <-done:
			l.fatalf("Select returned %d, %v with no case ready", r.i, r.err)
		default:
		}
		ev, _ := c.in.next()
		s := (ev >> 2) % 4
		var grants []int
		grant := func(i, id int) { c.grant(i, id); grants = append(grants, i) }
		switch {
		case e < 4 && ev%4 == 2 && c.prims[s].close(c.drop):
			l.logf("slot %d closed", s)
			if c.allClosed() {
				wantErr = selectx.ErrClosed
			}
		case e < 4 && ev%2 == 1 && c.prims[s].grow(grant):
			l.logf("slot %d grew", s)
			// Only this event's grants: a Result's cases all at once.
			wins = grants
		case e < 4 && ev%4 != 0:
			// Nothing to grow or close: no event.
		default:
			l.logf("ctx cancelled")
			wantErr = context.Canceled
			cancel()
		}
		synctest.Wait()
	}
	r := <-done
	synctest.Wait() // the losers' take-backs (W3 makes them visible anyway)
	if wantErr != nil {
		if r.i != -1 || !errors.Is(r.err, wantErr) {
			l.fatalf("Select returned %d, %v; model says -1, %v", r.i, r.err, wantErr)
		}
		if len(calls) > 0 {
			l.fatalf("failed Select ran then of case %d", calls[0].i)
		}
	} else {
		if r.err != nil || !slices.Contains(wins, r.i) {
			l.fatalf("Select returned %d, %v; model says one of %v", r.i, r.err, wins)
		}
		w := r.i
		// Every other grant goes back; the winner's stays taken.
		c.state[w] = opYielded
		c.end()
		switch {
		case nilThen[w] && len(calls) > 0:
			l.fatalf("case %d won, then of case %d ran", w, calls[0].i)
		case nilThen[w]:
		case len(calls) != 1 || calls[0].i != w:
			l.fatalf("case %d won, thens run: %+v", w, calls)
		default:
			if want := modelStates(c.prims); !slices.Equal(calls[0].states, want) {
				l.fatalf("case %d won; when its then ran, states were %v, model says %v (a loser's grant not back yet?)",
					w, calls[0].states, want)
			}
		}
	}
	c.end()
	checkStates(l, c.prims, "after Select")

	// The winner's grant: its value is checked, and a permit or the lock
	// goes back.
	taken := make([][]int, len(c.prims))
	if wantErr == nil && !nilThen[r.i] {
		w := r.i
		switch s := c.slots[w]; {
		case s < 0:
		case c.prims[s].kind == fResult:
			if calls[0].v != c.prims[s].value() {
				l.fatalf("case %d's then got %#v; model says %q", w, calls[0].v, c.prims[s].value())
			}
		default:
			rel, ok := calls[0].v.(chans.Release)
			if !ok || rel == nil {
				l.fatalf("case %d's then got %#v, not a Release", w, calls[0].v)
			}
			if p := c.prims[s]; p.queue() {
				if id := p.itemID(rel); id != c.ids[w] {
					l.fatalf("case %d's then got item %d; model says %d", w, id, c.ids[w])
				}
				taken[s] = append(taken[s], c.ids[w])
			} else {
				p.release(rel, nil)
			}
		}
	}
	checkStates(l, c.prims, "after the winner's release")
	checkConservation(l, c.prims, taken)
}

// onSlot makes the Select case for op i, whose then passes its value to
// record.
func onSlot(c *opsCase, i int, record func(any), nilThen bool) selectx.Case {
	s := c.slots[i]
	if s < 0 {
		if nilThen {
			return selectx.On(closedRelease, nil)
		}
		return selectx.On(closedRelease, func(v chans.Release) { record(v) })
	}
	p := c.prims[s]
	if p.kind == fResult {
		if nilThen {
			return selectx.On(p.res.Get, nil)
		}
		return selectx.On(p.res.Get, func(v string) { record(v) })
	}
	return selectx.On(p.op(), func(r chans.Release) { record(r) })
}
