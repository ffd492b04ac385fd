package selectx_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// This file is the harness the fuzz targets share:
//
//   - fuzzInput reads an input as an endless stream of bytes;
//   - decodeOps decodes the head that FuzzFirst, FuzzSelect and
//     FuzzCompleted have in common: flags, the ops, and four primitive slots
//     they wait on, in a state the input chooses;
//   - fprim is the vocabulary of those primitives (a Lock, a Semaphore,
//     FIFO and LIFO queues that may be shut down, a Result), each a real
//     chans primitive beside a plain model of it, and opsCase tracks each
//     op in the model (granted, queued, closed, yielded);
//   - checkStates and checkConservation compare the primitives with the
//     model: Locked, Value and Len, and every queue item ever put out
//     exactly once;
//   - fuzzLog records the steps of a case, to print when it fails.
//
// FuzzGroup has a vocabulary of its own (Group calls) and shares the input
// and the log.

// fuzzInput reads a fuzz input: at(i) is byte i, or 0 past the end, so every
// input decodes to a whole case; next reads on from pos and reports false
// once the input is used up.
type fuzzInput struct {
	data []byte
	pos  int
}

func (in *fuzzInput) at(i int) int {
	if i < len(in.data) {
		return int(in.data[i])
	}
	return 0
}

func (in *fuzzInput) next() (int, bool) {
	if in.pos >= len(in.data) {
		return 0, false
	}
	in.pos++
	return int(in.data[in.pos-1]), true
}

// fuzzLog is the steps of one case, printed with a failure.
type fuzzLog struct {
	t     *testing.T
	steps []string
}

func (l *fuzzLog) logf(format string, args ...any) {
	l.steps = append(l.steps, fmt.Sprintf(format, args...))
}

// fatalf fails the case; call it from the test's goroutine only.
func (l *fuzzLog) fatalf(format string, args ...any) {
	l.t.Helper()
	l.t.Fatalf("%s\nsteps:\n\t%s", fmt.Sprintf(format, args...), strings.Join(l.steps, "\n\t"))
}

// Kinds of primitive slot.
const (
	fLock   = iota // chans.Lock, held if amount%2 == 0
	fSem           // chans.Semaphore with amount%3 permits
	fFIFO          // chans.NewQueue with (amount&3)%3 items, shut down (Shutdown(false)) if amount&shut
	fLIFO          // chans.NewLifoQueue, likewise
	fResult        // chans.Result[string]: amount%3 = 0 unset, 1 set, 2 failed (FuzzSelect only)
	fKinds

	shut = 4 // the amount bit that shuts a queue down: fFIFO, 2 | shut
)

// States of an op in the model.
const (
	opIdle    = iota // not started
	opGranted        // holds a grant it has not delivered
	opQueued         // waits at its primitive
	opClosed         // closed without a value
	opYielded        // delivered (FuzzCompleted)
)

// opsCase is the head of an input for FuzzFirst, FuzzSelect and
// FuzzCompleted, decoded, and the model of its ops. Layout (missing bytes
// read as 0):
//
//	byte 0     flags: bit 0, ctx done at the call; the other bits are the target's
//	byte 1     the op count, 1 + b%maxOps
//	bytes 2–9  four primitive slots of two bytes: kind (b%kinds: fLock...) and amount
//	bytes 10…  one per op: (b&7)%5 is the slot it waits on, 4 a plain closed
//	           channel; bit 3 is the target's
//
// The target's own bytes follow, read with in.next.
type opsCase struct {
	in    *fuzzInput
	flags int
	prims []*fprim
	slots []int  // per op: its slot, -1 for a closed channel
	bit3  []bool // per op
	state []int  // per op: opIdle...
	ids   []int  // per op on a queue: the item it was granted
	got   *int   // a queue item, a Release, sets it to its id when called
}

func decodeOps(data []byte, maxOps, kinds int) *opsCase {
	in := &fuzzInput{data: data}
	c := &opsCase{in: in, flags: in.at(0), got: new(int)}
	n := 1 + in.at(1)%maxOps
	for s := range 4 {
		c.prims = append(c.prims, newFprim(s, in.at(2+2*s)%kinds, in.at(3+2*s), c.got))
	}
	for i := range n {
		b := in.at(10 + i)
		s := (b & 7) % 5
		if s == 4 {
			s = -1
		}
		c.slots = append(c.slots, s)
		c.bit3 = append(c.bit3, b&8 != 0)
	}
	c.state = make([]int, n)
	c.ids = make([]int, n)
	in.pos = 10 + n
	return c
}

func (c *opsCase) desc() string {
	kinds := make([]string, len(c.prims))
	for s, p := range c.prims {
		kinds[s] = []string{"lock", "sem", "fifo", "lifo", "result"}[p.kind]
	}
	return fmt.Sprintf("flags %#x, slots %v, kinds %v", c.flags, c.slots, kinds)
}

// op is the Op of op i for a lock, semaphore or queue slot.
func (c *opsCase) op(i int) selectx.Op[chans.Release] {
	if s := c.slots[i]; s >= 0 {
		return c.prims[s].op()
	}
	return closedRelease
}

// closedRelease is an op that never takes effect, as a Get on a shut-down,
// drained queue.
var closedRelease = selectx.Chan[chans.Release](func() chan chans.Release {
	c := make(chan chans.Release)
	close(c)
	return c
}())

// start models op i started now, with a live ctx, and returns its state.
func (c *opsCase) start(i int) int {
	if s := c.slots[i]; s < 0 {
		c.state[i] = opClosed
	} else {
		c.state[i], c.ids[i] = c.prims[s].start(i)
	}
	return c.state[i]
}

// grant and drop are the model's callbacks for an op granted, or closed, by
// a change of its primitive.
func (c *opsCase) grant(i, id int) { c.state[i], c.ids[i] = opGranted, id }
func (c *opsCase) drop(i int)      { c.state[i] = opClosed }

// allClosed reports whether every op has closed without a value.
func (c *opsCase) allClosed() bool {
	return !slices.ContainsFunc(c.state, func(st int) bool { return st != opClosed })
}

// end models the ops' ctx ending once the call has returned: the
// primitives take back every grant an op holds and did not deliver (W2),
// and forget the ops queued; those ops are closed, as their channels are.
func (c *opsCase) end() {
	for i, st := range c.state {
		switch {
		case st == opGranted && c.slots[i] >= 0:
			c.prims[c.slots[i]].giveBack(c.ids[i])
			fallthrough
		case st == opQueued:
			c.state[i] = opClosed
		}
	}
	for _, p := range c.prims {
		p.waiting = nil
	}
}

// fprim is one primitive and the model of its state. The model is always
// updated before the primitive is called, so that a goroutine the call
// wakes reads it up to date.
type fprim struct {
	kind int
	slot int
	lock *chans.Lock
	held chans.Release // the lock's holder outside the ops
	sem  *chans.Semaphore
	q    *chans.Queue[chans.Release] // items write their id to *got
	got  *int
	res  *chans.Result[string]

	n       int   // model: free permits; 1 for a free lock
	items   []int // model: queue items, in the order Gets take them
	shut    bool  // model: queue shut down, or Result failed
	set     bool  // model: Result set
	waiting []int // model: ops queued here, oldest first
	first   int   // the first item id
	next    int   // the next item id
}

var errFuzz = fmt.Errorf("fuzz: result failed")

func newFprim(slot, kind, amount int, got *int) *fprim {
	p := &fprim{kind: kind, slot: slot, got: got, first: 100 * (slot + 1)}
	p.next = p.first
	switch kind {
	case fLock:
		p.lock = new(chans.Lock)
		p.n = amount % 2
		if p.n == 0 {
			p.held, _ = p.lock.TryAcquire()
		}
	case fSem:
		p.n = amount % 3
		p.sem = chans.NewSemaphore(p.n)
	case fFIFO, fLIFO:
		p.q = chans.NewQueue[chans.Release](0)
		if kind == fLIFO {
			p.q = chans.NewLifoQueue[chans.Release](0)
		}
		for range (amount & 3) % 3 {
			p.put(nil)
		}
		if amount&shut != 0 {
			p.shut = true
			p.q.Shutdown(false)
		}
	case fResult:
		p.res = new(chans.Result[string])
		switch amount % 3 {
		case 1:
			p.set = true
			_ = p.res.Set(p.value())
		case 2:
			p.shut = true
			_ = p.res.Fail(errFuzz)
		}
	}
	return p
}

func (p *fprim) queue() bool { return p.q != nil }

// value is what a Result yields.
func (p *fprim) value() string { return fmt.Sprintf("r%d", p.slot) }

// op is the Op on a lock, semaphore or queue.
func (p *fprim) op() selectx.Op[chans.Release] {
	switch {
	case p.lock != nil:
		return p.lock.Acquire
	case p.sem != nil:
		return p.sem.Acquire
	}
	return p.q.Get
}

// start models an op started now with a live ctx by op i: it returns the
// op's state and, for a queue, the id of the item granted.
func (p *fprim) start(i int) (state, id int) {
	switch {
	case p.queue() && len(p.items) > 0:
		id, p.items = p.items[0], p.items[1:]
		return opGranted, id
	case p.queue() || p.kind == fResult:
		if p.shut {
			return opClosed, 0
		}
		if p.set {
			return opGranted, 0
		}
	case p.n > 0: // a lock or a semaphore; nobody waits while n > 0
		p.n--
		return opGranted, 0
	}
	p.waiting = append(p.waiting, i)
	return opQueued, 0
}

// put stores a new item or hands it to the oldest waiting op, for which it
// calls grant.
func (p *fprim) put(grant func(op, id int)) {
	id := p.next
	p.next++
	switch {
	case len(p.waiting) > 0:
		grant(p.waiting[0], id)
		p.waiting = p.waiting[1:]
	case p.kind == fLIFO:
		p.items = append([]int{id}, p.items...)
	default:
		p.items = append(p.items, id)
	}
	got := p.got
	if err := p.q.TryPut(func() { *got = id }); err != nil {
		panic(err)
	}
}

// unit gives a lock's or semaphore's unit to the oldest waiting op, or back
// to the primitive.
func (p *fprim) unit(grant func(op, id int)) {
	if len(p.waiting) > 0 {
		grant(p.waiting[0], 0)
		p.waiting = p.waiting[1:]
		return
	}
	p.n++
}

// grow gives p one more unit from outside: an unlock, a permit, an item, a
// Result's value. It calls grant for each waiting op that gets it, and
// reports false if p cannot grow.
func (p *fprim) grow(grant func(op, id int)) bool {
	switch p.kind {
	case fLock:
		if p.held == nil {
			return false
		}
		p.unit(grant)
		held := p.held
		p.held = nil
		held()
	case fSem:
		p.unit(grant)
		p.sem.Release()
	case fResult:
		if p.set || p.shut {
			return false
		}
		p.set = true
		for _, i := range p.waiting {
			grant(i, 0)
		}
		p.waiting = nil
		_ = p.res.Set(p.value())
	default:
		if p.shut {
			return false
		}
		p.put(grant)
	}
	return true
}

// close shuts a queue down (Shutdown(false): the items stay to be drained)
// or fails an unset Result. Waiting ops get closed channels, and close
// calls drop for each. It reports false if p cannot close.
func (p *fprim) close(drop func(op int)) bool {
	if !(p.queue() || p.kind == fResult) || p.shut || p.set {
		return false
	}
	p.shut = true
	for _, i := range p.waiting {
		drop(i)
	}
	p.waiting = nil
	if p.kind == fResult {
		_ = p.res.Fail(errFuzz)
	} else {
		p.q.Shutdown(false)
	}
	return true
}

// release gives back a lock's or semaphore's grant that the test received.
func (p *fprim) release(rel chans.Release, grant func(op, id int)) {
	p.unit(grant)
	rel()
}

// giveBack models the primitive taking back a grant its op never received,
// once every op has ended (nobody waits any more): an item goes back to the
// front.
func (p *fprim) giveBack(id int) {
	switch {
	case p.queue():
		p.items = append([]int{id}, p.items...)
	case p.kind != fResult:
		p.n++
	}
}

// state is the primitive's state as the model counts it: a lock's free
// units, a semaphore's permits, a queue's length.
func (p *fprim) state() int {
	switch {
	case p.lock != nil:
		if p.lock.Locked() {
			return 0
		}
		return 1
	case p.sem != nil:
		return p.sem.Value()
	case p.q != nil:
		return p.q.Len()
	}
	return 0
}

func (p *fprim) modelState() int {
	if p.queue() {
		return len(p.items)
	}
	return p.n
}

// itemID calls a queue item and returns the id it records.
func (p *fprim) itemID(rel chans.Release) int {
	*p.got = -1
	rel()
	return *p.got
}

// drain takes every item out of a queue and returns their ids.
func (p *fprim) drain() []int {
	var ids []int
	for {
		rel, err := p.q.TryGet()
		if err != nil {
			return ids
		}
		ids = append(ids, p.itemID(rel))
	}
}

func states(prims []*fprim) []int {
	s := make([]int, len(prims))
	for i, p := range prims {
		s[i] = p.state()
	}
	return s
}

func modelStates(prims []*fprim) []int {
	s := make([]int, len(prims))
	for i, p := range prims {
		s[i] = p.modelState()
	}
	return s
}

// checkStates compares every primitive's state with the model's.
func checkStates(l *fuzzLog, prims []*fprim, when string) {
	l.t.Helper()
	if got, want := states(prims), modelStates(prims); !slices.Equal(got, want) {
		l.fatalf("%s, states %v, model %v", when, got, want)
	}
}

// checkConservation drains every queue: it must hold the items the model
// says, in any order (items several ops gave back come back in the order
// their take-backs ran), and those with the items the ops delivered
// (taken, per slot) must be every item ever put, each once.
func checkConservation(l *fuzzLog, prims []*fprim, taken [][]int) {
	l.t.Helper()
	for s, p := range prims {
		if !p.queue() {
			continue
		}
		ids := p.drain()
		want := slices.Clone(p.items)
		slices.Sort(want)
		slices.Sort(ids)
		if !slices.Equal(ids, want) {
			l.fatalf("slot %d held items %v, model %v", s, ids, want)
		}
		all := append(ids, taken[s]...)
		slices.Sort(all)
		for k, id := range all {
			if id != p.first+k {
				l.fatalf("slot %d: items delivered %v and left %v; put were %d..%d, each once",
					s, taken[s], ids, p.first, p.next-1)
			}
		}
		if len(all) != p.next-p.first {
			l.fatalf("slot %d: %d items came out, %d were put", s, len(all), p.next-p.first)
		}
	}
}
