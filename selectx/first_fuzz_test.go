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

// FuzzFirst runs First over real chans primitives in a state the input
// chooses and compares the outcome with the plain model of fuzz_test.go:
//
//   - ctx done at the call: ctx.Err(), nothing started, nothing taken;
//   - else First starts the ops in argument order and stops at the first
//     that is granted at once, which wins: ops after it are never started;
//   - else, if every op closed (a shut-down drained queue, a closed
//     channel), ErrClosed;
//   - else First blocks, and the input decides what ends the wait: ctx is
//     cancelled (ctx.Err(), nothing taken), or one primitive gets one more
//     unit (a permit, an unlock, an item), and then the earliest op queued
//     on it wins, since each primitive serves its waiters in FIFO order
//     (growing a primitive no op waits on changes nothing, and ctx is
//     cancelled).
//
// After First returns, every primitive's Locked, Value or Len must be the
// model's (a grant taken twice, lost or left with a loser shows up), the
// winner's value must be its grant (a queue item is the one the model says),
// and every queue item must come out exactly once (checkConservation). Each
// case runs in a synctest bubble: synctest.Wait tells when First is blocked
// for good, and lets the take-backs of the losers (run from
// context.AfterFunc) finish before the state is read.
//
// Input layout: the head of decodeOps with up to 8 ops (more than four take
// reflect.Select) over locks, semaphores and FIFO and LIFO queues; flags bit
// 1: when blocked, grow slot (flags>>2)%4 instead of cancelling.
func FuzzFirst(f *testing.F) {
	// Seeds: [flags, ops-1, kind, amount ×4, slot per op].
	f.Add([]byte{0, 0, fSem, 1})                                                                 // one semaphore with a permit
	f.Add([]byte{0, 1, fSem, 0, fFIFO, 2, 0, 0, 0, 0, 0, 1})                                     // empty semaphore, then a FIFO queue with items: the queue wins
	f.Add([]byte{1, 3, fSem, 2, fLock, 0, 0, 0, 0, 0, 0, 1, 4})                                  // ctx done at the call
	f.Add([]byte{0, 1, fFIFO, 2 | shut, fSem, 1, 0, 0, 0, 0, 0, 1})                              // a shut-down queue still drains: it wins
	f.Add([]byte{0, 7, fFIFO, shut, fLIFO, 2, fLock, 0, fSem, 0, 0, 4, 2, 1, 3, 0, 1, 2})        // 8 ops: closed ones, held lock, then LIFO's top item wins
	f.Add([]byte{0, 4, fFIFO, shut, fFIFO, shut, fFIFO, shut, fFIFO, shut, 0, 1, 2, 3, 4})       // all closed: ErrClosed
	f.Add([]byte{0, 5, fSem, 0, fLock, 0, fFIFO, 0, fLIFO, 0, 0, 1, 2, 3, 3, 4})                 // 6 ops blocked (reflect), ctx cancelled
	f.Add([]byte{0, 2, fSem, 0, fLock, 0, fFIFO, 0, fLIFO, 0, 3, 1, 2})                          // 3 ops blocked (hand-written select), ctx cancelled
	f.Add([]byte{2 | 1<<2, 5, fSem, 0, fLock, 0, fFIFO, 0, fLIFO, 0, 4, 0, 1, 2, 3, 1})          // blocked; the lock is released: op 2 wins
	f.Add([]byte{2 | 3<<2, 2, fSem, 0, fLock, 0, fFIFO, 0, fLIFO, 0, 0, 3, 3})                   // blocked; an item arrives on the LIFO queue: op 1 wins
	f.Add([]byte{2 | 1<<2, 7, fLock, 0, fSem, 0, fFIFO, shut, fFIFO, 0, 0, 4, 1, 2, 3, 1, 1, 0}) // 8 ops blocked; a permit arrives: op 2 wins
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { firstCase(t, data) })
	})
}

func firstCase(t *testing.T, data []byte) {
	c := decodeOps(data, 8, fResult) // no Result: First's ops share one type
	l := &fuzzLog{t: t}
	l.logf("%s", c.desc())
	ops := make([]selectx.Op[chans.Release], len(c.slots))
	for i := range ops {
		ops[i] = c.op(i)
	}

	// The model of the start.
	want := -1
	var wantErr error
	if c.flags&1 != 0 {
		wantErr = context.Canceled
	} else {
		for i := range c.slots {
			if c.start(i) == opGranted {
				want = i
				break
			}
		}
		if want < 0 && c.allClosed() {
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
		rel chans.Release
		err error
	}
	done := make(chan result, 1)
	go func() {
		i, rel, err := selectx.First(ctx, ops...)
		done <- result{i, rel, err}
	}()
	synctest.Wait()

	if want < 0 && wantErr == nil {
		// First must be blocked now.
		select {
		case r := <-done:
			l.fatalf("First returned %d, %v with no op ready", r.i, r.err)
		default:
		}
		if c.flags&2 != 0 {
			s := (c.flags >> 2) % 4
			if c.prims[s].grow(c.grant) {
				l.logf("slot %d grew", s)
				want = slices.Index(c.state, opGranted)
			}
		}
		if want < 0 {
			l.logf("ctx cancelled")
			wantErr = context.Canceled
			cancel()
		}
	}
	r := <-done
	synctest.Wait() // the losers' take-backs
	if r.i != want || !errors.Is(r.err, wantErr) {
		l.fatalf("First returned %d, %v; model says %d, %v", r.i, r.err, want, wantErr)
	}
	if want >= 0 {
		c.state[want] = opYielded
	}
	c.end()
	checkStates(l, c.prims, "after First")

	taken := make([][]int, len(c.prims))
	switch {
	case want < 0 && r.rel != nil:
		l.fatalf("failed First returned a value")
	case want < 0:
	case r.rel == nil:
		l.fatalf("the winner's value is nil")
	case c.prims[c.slots[want]].queue():
		p := c.prims[c.slots[want]]
		if id := p.itemID(r.rel); id != c.ids[want] {
			l.fatalf("First returned item %d, the model's is %d", id, c.ids[want])
		}
		taken[p.slot] = append(taken[p.slot], c.ids[want])
	default:
		// A permit or the lock goes back with its Release.
		c.prims[c.slots[want]].release(r.rel, nil)
		checkStates(l, c.prims, "after the winner's release")
	}
	checkConservation(l, c.prims, taken)
}
