package selectx_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzCompleted ranges over Completed for ops on real chans primitives (a
// Lock, a Semaphore, FIFO and LIFO queues, closed channels) in a state the
// input chooses, with a loop body and outside events the input chooses, and
// compares every step with a plain model of the primitives and their
// waiters:
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
// model), then the test releases what it kept and drains the queues: every
// item ever put must have come out exactly once, yielded or drained
// (conservation). Each case runs in a synctest bubble, as in FuzzFirst: the
// main goroutine acts only when synctest.Wait says the loop is blocked or
// done.
//
// Input layout (missing bytes read as 0): flags (bit 0: ctx done at the
// call), the op count (1 + b%8: more than four take reflect.Select), two
// bytes per primitive slot (kind%4: sLock, sSem, sFIFO, sLIFO; amount as for
// FuzzSelect), one byte per op (b%5: its slot, or 4 for a closed channel),
// then a stream of bytes read one at a time by the body after each yield
// (bit 0: release a lock or permit now rather than at the end; (b>>1)%4: 0
// go on, 1 break, 2 cancel ctx, 3 grow slot (b>>3)%4) and by the main
// goroutine while the loop blocks (b%3: 0 grow, 1 shut down, 2 cancel ctx;
// slot (b/3)%4; a slot that cannot grow or shut down cancels ctx). The end
// of the input, or eight events, cancel ctx.
func FuzzCompleted(f *testing.F) {
	// Seeds: [flags, ops, kind, amount ×4, slot per op, actions and events].
	f.Add([]byte{0, 2, sSem, 1, sSem, 1, sSem, 1, sLock, 1, 0, 1, 2, 0, 0, 0})                        // three ready: yielded in argument order
	f.Add([]byte{0, 3, sFIFO, 2, sSem, 1, sLock, 1, sLock, 0, 0, 0, 1, 3, 1 << 1})                    // break after op 0: op 1's item and op 2's permit go back, op 3 (a held lock) is dropped
	f.Add([]byte{0, 2, sLock, 1, sSem, 0, sSem, 0, sSem, 0, 0, 0, 0, 1, 1, 1})                        // one lock, three ops: each release hands it to the next
	f.Add([]byte{0, 2, sSem, 0, sFIFO, 0, sSem, 0, sSem, 0, 0, 1, 4, 3, 0, 0, 0})                     // blocked; an item arrives, then a permit; the closed op is skipped
	f.Add([]byte{1, 2, sSem, 1, sSem, 1, sSem, 1, sLock, 1, 0, 1, 2})                                 // ctx done at the call: nothing yielded, nothing taken
	f.Add([]byte{0, 2, sLIFO, 0, sLock, 0, sSem, 0, sSem, 0, 0, 0, 1, 1, 3, 1})                       // blocked; the queue shuts (two ops drop out), the lock is released
	f.Add([]byte{0, 2, sSem, 2, sSem, 0, sSem, 0, sSem, 0, 0, 0, 0, 2 << 1})                          // the body cancels ctx: op 1's permit goes back
	f.Add([]byte{0, 5, sLIFO, 1, sFIFO, 0, sSem, 0, sLock, 0, 0, 1, 2, 3, 4, 1, 0, 3, 0, 9, 1, 3, 0}) // six ops (reflect.Select): items and the lock arrive
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { completedCase(t, data) })
	})
}

// States of an op in FuzzCompleted's model.
const (
	cQueued  = iota // waiting at its primitive
	cGranted        // holds a grant it has not yielded
	cClosed         // closed without a value
	cYielded
)

// kept is a lock's or semaphore's grant the body did not release.
type kept struct {
	slot int
	rel  chans.Release
}

type completedModel struct {
	data   []byte
	pos    int // next byte of the action stream
	prims  []*sprim
	slots  []int // -1: a closed channel
	state  []int
	ids    []int // the item each queue op was granted
	got    *int
	cancel context.CancelFunc

	kept  []kept
	taken [][]int // per slot: items yielded
	ended bool    // the body broke out or cancelled ctx, or the main goroutine cancelled it
	err   string  // the body's complaint
	log   []string
}

func completedCase(t *testing.T, data []byte) {
	byteAt := bytesAt(data)
	flags := byteAt(0)
	nops := 1 + byteAt(1)%8
	m := &completedModel{data: data, pos: 10 + nops, got: new(int), taken: make([][]int, 4)}
	for s := range 4 {
		m.prims = append(m.prims, newSprim(s, byteAt(2+2*s)%4, byteAt(3+2*s), m.got))
	}
	ops := make([]selectx.Op[chans.Release], nops)
	m.slots = make([]int, nops)
	m.state = make([]int, nops)
	m.ids = make([]int, nops)
	for i := range ops {
		s := byteAt(10+i) % 5
		if s == 4 {
			m.slots[i], m.state[i] = -1, cClosed
			ops[i] = closedRelease
			continue
		}
		m.slots[i] = s
		switch p := m.prims[s]; p.kind {
		case sLock:
			ops[i] = p.lock.Acquire
		case sSem:
			ops[i] = p.sem.Acquire
		default:
			ops[i] = p.qr.Get
		}
	}
	m.logf("flags %#x, slots %v, kinds %v", flags, m.slots,
		[]int{m.prims[0].kind, m.prims[1].kind, m.prims[2].kind, m.prims[3].kind})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	m.cancel = cancel
	if flags&1 != 0 {
		cancel()
		m.ended = true // nothing starts
	} else {
		for i, s := range m.slots {
			if s >= 0 {
				var o int
				o, m.ids[i] = m.prims[s].start(i)
				m.state[i] = []int{oGranted: cGranted, oQueued: cQueued, oClosed: cClosed}[o]
			}
		}
		m.logf("started: states %v", m.state)
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
			m.blocked(t, events)
			continue
		}
		break
	}
	if m.err != "" {
		m.fail(t, "%s", m.err)
	}
	if !m.ended {
		for i, st := range m.state {
			if st == cQueued || st == cGranted {
				m.fail(t, "the loop ended by itself with op %d still %s", i, []string{"queued", "granted"}[st])
			}
		}
	}

	// Every grant not yielded goes back; queued ops are gone.
	for i, st := range m.state {
		if st == cGranted {
			m.prims[m.slots[i]].giveBack(m.ids[i])
		}
	}
	for _, p := range m.prims {
		p.waiting = nil
	}
	synctest.Wait() // the take-backs (W3 makes them visible anyway)
	if got, want := states(m.prims), modelStates(m.prims); !slices.Equal(got, want) {
		m.fail(t, "after the loop, states %v, model %v", got, want)
	}

	// Conservation: what the body kept goes back; every item came out
	// exactly once.
	for _, k := range m.kept {
		m.prims[k.slot].release(k.rel, nil)
	}
	if got, want := states(m.prims), modelStates(m.prims); !slices.Equal(got, want) {
		m.fail(t, "after releasing the grants kept, states %v, model %v", got, want)
	}
	for s, p := range m.prims {
		if !p.queue() {
			continue
		}
		ids, ok := p.drain()
		if !ok {
			m.fail(t, "slot %d held items %v, model %v", s, ids, p.items)
		}
		all := append(ids, m.taken[s]...)
		slices.Sort(all)
		for k, id := range all {
			if id != 100*(s+1)+k {
				m.fail(t, "slot %d: items yielded %v and left %v; put were %d..%d, each once",
					s, m.taken[s], ids, 100*(s+1), p.next-1)
			}
		}
		if len(all) != p.next-100*(s+1) {
			m.fail(t, "slot %d: %d items came out, %d were put", s, len(all), p.next-100*(s+1))
		}
	}
}

// blocked runs while the loop is blocked: it checks that the model agrees,
// then plays the next event.
func (m *completedModel) blocked(t *testing.T, events int) {
	t.Helper()
	if m.err != "" {
		m.fail(t, "%s", m.err)
	}
	if m.ended {
		m.fail(t, "the loop goes on after it was ended")
	}
	if r := m.ready(); r >= 0 {
		m.fail(t, "the loop blocks while op %d holds a grant", r)
	}
	if !slices.Contains(m.state, cQueued) {
		m.fail(t, "the loop blocks with every op done: %v", m.state)
	}
	// Log first: the event wakes the loop, which logs too.
	e, ok := m.next()
	s := (e / 3) % 4
	if ok && events < 8 && e%3 < 2 {
		m.logf("%s slot %d", []string{"grow", "shut down"}[e%3], s)
		if e%3 == 0 && m.prims[s].grow(m.grant) || e%3 == 1 && m.prims[s].close(m.drop) {
			return
		}
	}
	m.logf("cancel ctx")
	m.ended = true
	m.cancel()
}

// body is the loop body: it checks the yield against the model and acts as
// the input says. It runs in the loop's goroutine, so it reports trouble in
// m.err rather than failing the test.
func (m *completedModel) body(i int, rel chans.Release) bool {
	want := m.ready()
	m.logf("yield op %d", i)
	switch {
	case i != want:
		m.err = fmt.Sprintf("op %d yielded; model says op %d", i, want)
		return false
	case rel == nil:
		m.err = fmt.Sprintf("op %d yielded a nil Release", i)
		return false
	}
	s := m.slots[i]
	p := m.prims[s]
	m.state[i] = cYielded
	if p.queue() {
		*m.got = -1
		rel()
		if *m.got != m.ids[i] {
			m.err = fmt.Sprintf("op %d yielded item %d; model says item %d", i, *m.got, m.ids[i])
			return false
		}
		m.taken[s] = append(m.taken[s], m.ids[i])
	}
	a, _ := m.next()
	if !p.queue() {
		if a&1 != 0 {
			m.logf("release slot %d", s)
			p.release(rel, m.grant)
		} else {
			m.kept = append(m.kept, kept{s, rel})
		}
	}
	switch (a >> 1) % 4 {
	case 1:
		m.logf("break")
		m.ended = true
		return false
	case 2:
		m.logf("cancel ctx")
		m.ended = true
		m.cancel()
	case 3:
		g := (a >> 3) % 4
		if m.prims[g].grow(m.grant) {
			m.logf("slot %d grew: states %v", g, m.state)
		}
	}
	return true
}

// next returns the next byte of the action stream, and false once the input
// is used up.
func (m *completedModel) next() (int, bool) {
	if m.pos >= len(m.data) {
		return 0, false
	}
	m.pos++
	return int(m.data[m.pos-1]), true
}

// ready is the op the model says the loop yields next: the earliest holding a
// grant, or -1.
func (m *completedModel) ready() int {
	return slices.Index(m.state, cGranted)
}

func (m *completedModel) grant(op, id int) { m.state[op], m.ids[op] = cGranted, id }
func (m *completedModel) drop(op int)      { m.state[op] = cClosed }

func (m *completedModel) logf(format string, args ...any) {
	m.log = append(m.log, fmt.Sprintf(format, args...))
}

func (m *completedModel) fail(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\nsteps:\n\t%s", fmt.Sprintf(format, args...), strings.Join(m.log, "\n\t"))
}
