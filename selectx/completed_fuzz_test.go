package selectx_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzCompleted ranges over Completed for ops on real chans primitives (a
// Lock, a Semaphore, FIFO and LIFO queues, closed channels) in a state the
// input chooses, with a loop body and outside events the input chooses, and
// compares every step with the plain model of fuzz_test.go:
//
//   - Completed starts every op in argument order: an op is granted at once
//     (a permit, the lock, the item at the front), queued at its primitive,
//     or closed;
//   - each step yields the earliest op, in argument order, holding a grant,
//     with that grant; closed ops are never yielded;
//   - the body may release the lock or permit it got, which the primitive
//     hands to the oldest op queued on it; grow a primitive (the same); break
//     out; or cancel ctx, after which nothing more is yielded;
//   - when no op holds a grant the loop blocks, and the input decides what
//     happens: a primitive grows, a queue shuts down (its queued ops drop
//     out), or ctx is cancelled; the loop ends by itself once every op has
//     been yielded or closed.
//
// When the loop has ended, every grant that was handed to an op but not
// yielded must be back in its primitive (Locked, Value and Len agree with the
// model), then the test releases what it kept, and every queue item must
// have come out exactly once, yielded or drained (checkConservation). Each
// case runs in a synctest bubble, as in FuzzFirst: the main goroutine acts
// only when synctest.Wait says the loop is blocked or done.
//
// Input layout: the head of decodeOps with up to 8 ops (more than four take
// reflect.Select) over locks, semaphores and FIFO and LIFO queues, then a
// stream of bytes read one at a time by the body after each yield (bit 0:
// release a lock or permit now rather than at the end; (b>>1)%4: 0 go on, 1
// break, 2 cancel ctx, 3 grow slot (b>>3)%4) and by the main goroutine while
// the loop blocks (b%3: 0 grow, 1 shut down, 2 cancel ctx; slot (b/3)%4; a
// slot that cannot grow or shut down cancels ctx). The end of the input, or
// eight events, cancel ctx.
func FuzzCompleted(f *testing.F) {
	// Seeds: [flags, ops-1, kind, amount ×4, slot per op, actions and events].
	f.Add([]byte{0, 2, fSem, 1, fSem, 1, fSem, 1, fLock, 1, 0, 1, 2, 0, 0, 0})                        // three ready: yielded in argument order
	f.Add([]byte{0, 3, fFIFO, 2, fSem, 1, fLock, 1, fLock, 0, 0, 0, 1, 3, 1 << 1})                    // break after op 0: op 1's item and op 2's permit go back, op 3 (a held lock) is dropped
	f.Add([]byte{0, 2, fLock, 1, fSem, 0, fSem, 0, fSem, 0, 0, 0, 0, 1, 1, 1})                        // one lock, three ops: each release hands it to the next
	f.Add([]byte{0, 2, fSem, 0, fFIFO, 0, fSem, 0, fSem, 0, 0, 1, 4, 3, 0, 0, 0})                     // blocked; an item arrives, then a permit; the closed op is skipped
	f.Add([]byte{1, 2, fSem, 1, fSem, 1, fSem, 1, fLock, 1, 0, 1, 2})                                 // ctx done at the call: nothing yielded, nothing taken
	f.Add([]byte{0, 2, fLIFO, 0, fLock, 0, fSem, 0, fSem, 0, 0, 0, 1, 1, 3, 1})                       // blocked; the queue shuts (two ops drop out), the lock is released
	f.Add([]byte{0, 2, fSem, 2, fSem, 0, fSem, 0, fSem, 0, 0, 0, 0, 2 << 1})                          // the body cancels ctx: op 1's permit goes back
	f.Add([]byte{0, 5, fLIFO, 1, fFIFO, 0, fSem, 0, fLock, 0, 0, 1, 2, 3, 4, 1, 0, 3, 0, 9, 1, 3, 0}) // six ops (reflect.Select): items and the lock arrive
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { completedCase(t, data) })
	})
}

// kept is a lock's or semaphore's grant the body did not release.
type kept struct {
	slot int
	rel  chans.Release
}

type completedModel struct {
	*opsCase
	log    *fuzzLog
	cancel context.CancelFunc

	kept  []kept
	taken [][]int // per slot: items yielded
	ended bool    // the body broke out or cancelled ctx, or the main goroutine cancelled it
	err   string  // the body's complaint
}

func completedCase(t *testing.T, data []byte) {
	m := &completedModel{opsCase: decodeOps(data, 8, fResult), log: &fuzzLog{t: t}, taken: make([][]int, 4)}
	ops := make([]selectx.Op[chans.Release], len(m.slots))
	for i := range ops {
		ops[i] = m.op(i)
	}
	m.log.logf("%s", m.desc())

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m.cancel = cancel
	if m.flags&1 != 0 {
		cancel()
		m.ended = true // nothing starts
	} else {
		for i := range m.slots {
			m.start(i)
		}
		m.log.logf("started: states %v", m.state)
	}

	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for i, rel := range selectx.Completed(ctx, ops...) {
			if !m.body(i, rel) {
				break
			}
		}
	}()
	for events := 0; ; events++ {
		synctest.Wait()
		select {
		case <-finished:
		default:
			m.blocked(events)
			continue
		}
		break
	}
	if m.err != "" {
		m.log.fatalf("%s", m.err)
	}
	if !m.ended {
		for i, st := range m.state {
			if st == opQueued || st == opGranted {
				m.log.fatalf("the loop ended by itself with op %d still %s", i, map[int]string{opQueued: "queued", opGranted: "granted"}[st])
			}
		}
	}

	// Every grant not yielded goes back; queued ops are gone.
	m.end()
	synctest.Wait() // the take-backs (W3 makes them visible anyway)
	checkStates(m.log, m.prims, "after the loop")

	// Conservation: what the body kept goes back; every item came out
	// exactly once.
	for _, k := range m.kept {
		m.prims[k.slot].release(k.rel, nil)
	}
	checkStates(m.log, m.prims, "after releasing the grants kept")
	checkConservation(m.log, m.prims, m.taken)
}

// blocked runs while the loop is blocked: it checks that the model agrees,
// then plays the next event.
func (m *completedModel) blocked(events int) {
	m.log.t.Helper()
	if m.err != "" {
		m.log.fatalf("%s", m.err)
	}
	if m.ended {
		m.log.fatalf("the loop goes on after it was ended")
	}
	if r := m.ready(); r >= 0 {
		m.log.fatalf("the loop blocks while op %d holds a grant", r)
	}
	if !slices.Contains(m.state, opQueued) {
		m.log.fatalf("the loop blocks with every op done: %v", m.state)
	}
	// Log first: the event wakes the loop, which logs too.
	e, ok := m.in.next()
	s := (e / 3) % 4
	if ok && events < 8 && e%3 < 2 {
		m.log.logf("%s slot %d", []string{"grow", "shut down"}[e%3], s)
		if e%3 == 0 && m.prims[s].grow(m.grant) || e%3 == 1 && m.prims[s].close(m.drop) {
			return
		}
	}
	m.log.logf("cancel ctx")
	m.ended = true
	m.cancel()
}

// body is the loop body: it checks the yield against the model and acts as
// the input says. It runs in the loop's goroutine, so it reports trouble in
// m.err rather than failing the test.
func (m *completedModel) body(i int, rel chans.Release) bool {
	want := m.ready()
	m.log.logf("yield op %d", i)
	switch {
	case m.ended:
		m.err = fmt.Sprintf("op %d yielded after the loop was ended", i)
		return false
	case i != want:
		m.err = fmt.Sprintf("op %d yielded; model says op %d", i, want)
		return false
	case rel == nil:
		m.err = fmt.Sprintf("op %d yielded a nil Release", i)
		return false
	}
	s := m.slots[i]
	p := m.prims[s]
	m.state[i] = opYielded
	if p.queue() {
		if id := p.itemID(rel); id != m.ids[i] {
			m.err = fmt.Sprintf("op %d yielded item %d; model says item %d", i, id, m.ids[i])
			return false
		}
		m.taken[s] = append(m.taken[s], m.ids[i])
	}
	a, _ := m.in.next()
	if !p.queue() {
		if a&1 != 0 {
			m.log.logf("release slot %d", s)
			p.release(rel, m.grant)
		} else {
			m.kept = append(m.kept, kept{s, rel})
		}
	}
	switch (a >> 1) % 4 {
	case 1:
		m.log.logf("break")
		m.ended = true
		return false
	case 2:
		m.log.logf("cancel ctx")
		m.ended = true
		m.cancel()
	case 3:
		g := (a >> 3) % 4
		if m.prims[g].grow(m.grant) {
			m.log.logf("slot %d grew: states %v", g, m.state)
		}
	}
	return true
}

// ready is the op the model says the loop yields next: the earliest holding a
// grant, or -1.
func (m *completedModel) ready() int { return slices.Index(m.state, opGranted) }
