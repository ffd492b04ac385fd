package selectx_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzSelect runs Select over cases of different types, on real chans
// primitives in a state the input chooses, and compares the outcome with a
// plain model. Select starts every case's op before it looks at any, so,
// unlike First, every ready loser really is handed its grant and must give
// it back:
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
// winner's grant is released, and each queue is drained: every item must
// come out exactly once, from the winner or the queue (conservation).
//
// A Result is not exclusive: a Set wakes all its cases at the same instant,
// and the winner is then any one of them, since reflect.Select picks among
// ready channels at random; the argument-order tie-break holds for ops ready
// at the call. Each case runs in a synctest bubble, as in FuzzFirst.
//
// Input layout (missing bytes read as 0): flags (bit 0: ctx done at the
// call), the case count (1 + b%6), two bytes per primitive slot (kind%5,
// amount), one byte per case ((b&7)%5: its slot, or 4 for a closed plain
// channel; bit 3: a nil then, for a Result or the closed channel only),
// then up to four event bytes used while Select blocks (b%4: 0 cancel ctx,
// 1 and 3 grow slot (b>>2)%4, 2 shut that slot down).
func FuzzSelect(f *testing.F) {
	// Seeds: [flags, cases, kind, amount ×4, slot per case, events].
	f.Add([]byte{0, 2, sSem, 2, sLock, 1, sFIFO, 2, sResult, 1, 0, 0, 1})                     // two permits: case 0 wins, case 1's permit goes back
	f.Add([]byte{0, 3, sLock, 0, sLIFO, 2, sFIFO, 1, sSem, 0, 0, 1, 1, 2})                    // held lock, then LIFO's top; case 2 also took its item
	f.Add([]byte{1, 2, sSem, 1, sLock, 1, sFIFO, 1, sResult, 1, 0, 1, 2})                     // ctx done at the call
	f.Add([]byte{0, 3, sResult, 2, sFIFO, 6, sSem, 0, sLock, 0, 0, 1, 4})                     // a failed Result, a shut drained queue, a closed channel: ErrClosed
	f.Add([]byte{0, 3, sSem, 0, sLock, 0, sFIFO, 0, sResult, 0, 0, 2, 0, 3, 1 | 2<<2})        // blocked; an item arrives: case 1 wins
	f.Add([]byte{0, 2, sSem, 0, sLock, 0, sFIFO, 0, sResult, 0, 2, 1, 3, 2 | 2<<2, 1 | 1<<2}) // blocked; the queue shuts (case 0 drops out), the lock is released: case 1 wins
	f.Add([]byte{0, 3, sSem, 0, sLock, 0, sFIFO, 0, sResult, 0, 3, 3 | 8, 1, 4, 1 | 3<<2})    // blocked; the Result is set: case 0 or 1
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { selectCase(t, data) })
	})
}

// Kinds of sprim.
const (
	sLock   = iota // chans.Lock, held (amount%2 == 0) or free
	sSem           // chans.Semaphore with amount%3 permits
	sFIFO          // FIFO queue with amount%3 items, shut down if amount&4
	sLIFO          // LIFO queue, likewise
	sResult        // chans.Result[string]: amount%3 = 0 unset, 1 set, 2 failed
	sKinds
)

// An op started on an sprim is granted at once, queued, or closed at once.
const (
	oGranted = iota
	oQueued
	oClosed
)

// sprim is one primitive for FuzzSelect or FuzzCompleted and the model of
// its state. The model is always updated before the primitive is called, so
// that a goroutine the call wakes reads it up to date.
type sprim struct {
	kind int
	slot int
	lock *chans.Lock
	held chans.Release // the lock's holder outside the ops
	sem  *chans.Semaphore
	qi   *chans.Queue[int]           // FuzzSelect's queues: items are ids
	qr   *chans.Queue[chans.Release] // FuzzCompleted's: items record their id in *got
	got  *int
	res  *chans.Result[string]

	n       int   // model: free permits; 1 for a free lock
	items   []int // model: queue items, in the order Gets take them
	shut    bool  // model: queue shut down, or Result failed
	set     bool  // model: Result set
	waiting []int // model: ops queued here, oldest first
	next    int   // next item id
}

var errFuzz = errors.New("fuzz: result failed")

// newSprim makes the primitive of a slot. Queues hold ints, or with got
// non-nil Releases that write their id to *got.
func newSprim(slot, kind, amount int, got *int) *sprim {
	p := &sprim{kind: kind, slot: slot, got: got, next: 100 * (slot + 1)}
	switch kind {
	case sLock:
		p.lock = new(chans.Lock)
		p.n = amount % 2
		if p.n == 0 {
			p.held, _ = p.lock.TryAcquire()
		}
	case sSem:
		p.n = amount % 3
		p.sem = chans.NewSemaphore(p.n)
	case sFIFO, sLIFO:
		switch {
		case got != nil && kind == sFIFO:
			p.qr = chans.NewQueue[chans.Release](0)
		case got != nil:
			p.qr = chans.NewLifoQueue[chans.Release](0)
		case kind == sFIFO:
			p.qi = chans.NewQueue[int](0)
		default:
			p.qi = chans.NewLifoQueue[int](0)
		}
		for range amount % 3 {
			p.put(nil)
		}
		if amount&4 != 0 {
			p.shut = true
			p.shutdown()
		}
	case sResult:
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

func (p *sprim) queue() bool { return p.kind == sFIFO || p.kind == sLIFO }

// value is what a Result yields.
func (p *sprim) value() string { return fmt.Sprintf("r%d", p.slot) }

// start models an op started now with a live ctx by op i: it returns the
// outcome and, for a queue, the id of the item granted.
func (p *sprim) start(i int) (outcome, id int) {
	switch {
	case p.queue() && len(p.items) > 0:
		id, p.items = p.items[0], p.items[1:]
		return oGranted, id
	case p.queue() || p.kind == sResult:
		if p.shut {
			return oClosed, 0
		}
		if p.set {
			return oGranted, 0
		}
	case p.n > 0: // a lock or a semaphore; nobody waits while n > 0
		p.n--
		return oGranted, 0
	}
	p.waiting = append(p.waiting, i)
	return oQueued, 0
}

// put stores a new item or hands it to the oldest waiting op, for which it
// calls grant.
func (p *sprim) put(grant func(op, id int)) {
	id := p.next
	p.next++
	switch {
	case len(p.waiting) > 0:
		grant(p.waiting[0], id)
		p.waiting = p.waiting[1:]
	case p.kind == sLIFO:
		p.items = append([]int{id}, p.items...)
	default:
		p.items = append(p.items, id)
	}
	var err error
	if p.qr != nil {
		got := p.got
		err = p.qr.TryPut(func() { *got = id })
	} else {
		err = p.qi.TryPut(id)
	}
	if err != nil {
		panic(err)
	}
}

// unit gives a lock's or semaphore's unit to the oldest waiting op, or back
// to the primitive.
func (p *sprim) unit(grant func(op, id int)) {
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
func (p *sprim) grow(grant func(op, id int)) bool {
	switch p.kind {
	case sLock:
		if p.held == nil {
			return false
		}
		p.unit(grant)
		held := p.held
		p.held = nil
		held()
	case sSem:
		p.unit(grant)
		p.sem.Release()
	case sResult:
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
func (p *sprim) close(drop func(op int)) bool {
	if !(p.queue() || p.kind == sResult) || p.shut || p.set {
		return false
	}
	p.shut = true
	for _, i := range p.waiting {
		drop(i)
	}
	p.waiting = nil
	if p.kind == sResult {
		_ = p.res.Fail(errFuzz)
	} else {
		p.shutdown()
	}
	return true
}

func (p *sprim) shutdown() {
	if p.qr != nil {
		p.qr.Shutdown(false)
	} else {
		p.qi.Shutdown(false)
	}
}

// release gives back a lock's or semaphore's grant that the test received.
func (p *sprim) release(rel chans.Release, grant func(op, id int)) {
	p.unit(grant)
	rel()
}

// giveBack models the primitive taking back a grant its op never received,
// once every op has ended (nobody waits any more).
func (p *sprim) giveBack(id int) {
	p.waiting = nil
	switch {
	case p.queue():
		p.items = append([]int{id}, p.items...)
	case p.kind != sResult:
		p.n++
	}
}

// state is the primitive's state as the model counts it: a lock's free
// units, a semaphore's permits, a queue's length.
func (p *sprim) state() int {
	switch {
	case p.lock != nil:
		if p.lock.Locked() {
			return 0
		}
		return 1
	case p.sem != nil:
		return p.sem.Value()
	case p.qi != nil:
		return p.qi.Len()
	case p.qr != nil:
		return p.qr.Len()
	}
	return 0
}

func (p *sprim) modelState() int {
	if p.queue() {
		return len(p.items)
	}
	return p.n
}

// drain takes every item out of a queue and reports whether they are the
// model's, in any order: items several ops gave back come back in the order
// their take-backs ran.
func (p *sprim) drain() ([]int, bool) {
	var ids []int
	for {
		var err error
		if p.qr != nil {
			var rel chans.Release
			if rel, err = p.qr.TryGet(); err == nil {
				rel()
				ids = append(ids, *p.got)
			}
		} else {
			var id int
			if id, err = p.qi.TryGet(); err == nil {
				ids = append(ids, id)
			}
		}
		if err != nil {
			break
		}
	}
	want := slices.Clone(p.items)
	slices.Sort(want)
	slices.Sort(ids)
	return ids, slices.Equal(ids, want)
}

func states(prims []*sprim) []int {
	s := make([]int, len(prims))
	for i, p := range prims {
		s[i] = p.state()
	}
	return s
}

func modelStates(prims []*sprim) []int {
	s := make([]int, len(prims))
	for i, p := range prims {
		s[i] = p.modelState()
	}
	return s
}

// selectCall is one run of a case's then.
type selectCall struct {
	i      int
	v      any
	states []int // every primitive's state when then ran
}

func selectCase(t *testing.T, data []byte) {
	byteAt := bytesAt(data)
	flags := byteAt(0)
	ncases := 1 + byteAt(1)%6
	prims := make([]*sprim, 4)
	for s := range prims {
		prims[s] = newSprim(s, byteAt(2+2*s)%sKinds, byteAt(3+2*s), nil)
	}
	var calls []selectCall
	record := func(i int) func(v any) {
		return func(v any) { calls = append(calls, selectCall{i, v, states(prims)}) }
	}
	cases := make([]selectx.Case, ncases)
	slots := make([]int, ncases) // -1: a closed plain channel
	nilThen := make([]bool, ncases)
	for i := range cases {
		c := byteAt(10 + i)
		s := (c & 7) % 5
		if s == 4 {
			s = -1
		}
		slots[i] = s
		nilThen[i] = c&8 != 0 && (s < 0 || prims[s].kind == sResult)
		cases[i] = onSlot(prims, s, record(i), nilThen[i])
	}
	events := 10 + ncases
	desc := fmt.Sprintf("flags %#x, slots %v, kinds %v, nil thens %v", flags, slots,
		[]int{prims[0].kind, prims[1].kind, prims[2].kind, prims[3].kind}, nilThen)

	// The model of the start: every op, in argument order.
	type opModel struct {
		outcome, id int
	}
	ops := make([]opModel, ncases)
	wins := []int(nil) // the cases that may win; one unless a Result broadcasts
	granted := func(i, id int) { ops[i] = opModel{oGranted, id} }
	dropped := func(i int) { ops[i].outcome = oClosed }
	var wantErr error
	if flags&1 != 0 {
		wantErr = context.Canceled
	} else {
		for i, s := range slots {
			if s < 0 {
				ops[i].outcome = oClosed
				continue
			}
			ops[i].outcome, ops[i].id = prims[s].start(i)
		}
		for i, o := range ops {
			if o.outcome == oGranted {
				wins = []int{i}
				break
			}
		}
	}
	allClosed := func() bool {
		for _, o := range ops {
			if o.outcome != oClosed {
				return false
			}
		}
		return true
	}
	if wins == nil && wantErr == nil && allClosed() {
		wantErr = selectx.ErrClosed
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if flags&1 != 0 {
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
			t.Fatalf("%s: Select returned %d, %v with no case ready", desc, r.i, r.err)
		default:
		}
		ev := byteAt(events + e)
		s := (ev >> 2) % 4
		var grants []int
		grant := func(i, id int) { granted(i, id); grants = append(grants, i) }
		switch {
		case e < 4 && ev%4 == 2 && prims[s].close(dropped):
			desc += fmt.Sprintf("; slot %d closed", s)
			if allClosed() {
				wantErr = selectx.ErrClosed
			}
		case e < 4 && ev%2 == 1 && prims[s].grow(grant):
			desc += fmt.Sprintf("; slot %d grew", s)
			// Only this event's grants: a Result's cases all at once.
			wins = grants
		case e < 4 && ev%4 != 0:
			// Nothing to grow or close: no event.
		default:
			desc += "; ctx cancelled"
			wantErr = context.Canceled
			cancel()
		}
		synctest.Wait()
	}
	r := <-done
	synctest.Wait() // the losers' take-backs (W3 makes them visible anyway)
	if wantErr != nil {
		if r.i != -1 || !errors.Is(r.err, wantErr) {
			t.Fatalf("%s: Select returned %d, %v; model says -1, %v", desc, r.i, r.err, wantErr)
		}
		if len(calls) > 0 {
			t.Fatalf("%s: failed Select ran then of case %d", desc, calls[0].i)
		}
	} else {
		if r.err != nil || !slices.Contains(wins, r.i) {
			t.Fatalf("%s: Select returned %d, %v; model says one of %v", desc, r.i, r.err, wins)
		}
		w := r.i
		// Every other grant goes back; the winner's stays taken.
		for i, o := range ops {
			if i != w && o.outcome == oGranted && slots[i] >= 0 {
				prims[slots[i]].giveBack(o.id)
			}
		}
		switch {
		case nilThen[w] && len(calls) > 0:
			t.Fatalf("%s: case %d won, then of case %d ran", desc, w, calls[0].i)
		case nilThen[w]:
		case len(calls) != 1 || calls[0].i != w:
			t.Fatalf("%s: case %d won, thens run: %+v", desc, w, calls)
		default:
			if want := modelStates(prims); !slices.Equal(calls[0].states, want) {
				t.Fatalf("%s: case %d won; when its then ran, states were %v, model says %v (a loser's grant not back yet?)",
					desc, w, calls[0].states, want)
			}
			checkSelectValue(t, desc, prims[slots[w]], ops[w].id, calls[0].v)
		}
	}
	for _, p := range prims {
		p.waiting = nil
	}
	if got, want := states(prims), modelStates(prims); !slices.Equal(got, want) {
		t.Fatalf("%s: after Select, states %v, model %v", desc, got, want)
	}

	// Conservation: the winner's grant goes back, and every item is
	// somewhere exactly once.
	if wantErr == nil && !nilThen[r.i] {
		if p := prims[slots[r.i]]; p.lock != nil || p.sem != nil {
			p.release(calls[0].v.(chans.Release), nil)
		}
	}
	if got, want := states(prims), modelStates(prims); !slices.Equal(got, want) {
		t.Fatalf("%s: after the winner's release, states %v, model %v", desc, got, want)
	}
	for s, p := range prims {
		if p.queue() {
			if ids, ok := p.drain(); !ok {
				t.Fatalf("%s: slot %d held items %v, model %v", desc, s, ids, p.items)
			}
		}
	}
}

// onSlot makes the Select case for slot s (-1: a closed plain channel),
// whose then passes its value to record.
func onSlot(prims []*sprim, s int, record func(any), nilThen bool) selectx.Case {
	if s < 0 {
		c := make(chan struct{})
		close(c)
		if nilThen {
			return selectx.On(selectx.Chan[struct{}](c), nil)
		}
		return selectx.On(selectx.Chan[struct{}](c), func(v struct{}) { record(v) })
	}
	p := prims[s]
	switch p.kind {
	case sLock:
		return selectx.On(p.lock.Acquire, func(r chans.Release) { record(r) })
	case sSem:
		return selectx.On(p.sem.Acquire, func(r chans.Release) { record(r) })
	case sResult:
		if nilThen {
			return selectx.On(p.res.Get, nil)
		}
		return selectx.On(p.res.Get, func(v string) { record(v) })
	}
	return selectx.On(p.qi.Get, func(v int) { record(v) })
}

// checkSelectValue checks the value the winner's then got: a Release for a
// lock or semaphore, the model's item for a queue, the value for a Result.
func checkSelectValue(t *testing.T, desc string, p *sprim, id int, v any) {
	t.Helper()
	var ok bool
	switch p.kind {
	case sLock, sSem:
		r, isRel := v.(chans.Release)
		ok = isRel && r != nil
	case sResult:
		ok = v == p.value()
	default:
		ok = v == id
	}
	if !ok {
		t.Fatalf("%s: the winner's then got %#v; model says item %d / %q", desc, v, id, p.value())
	}
}
