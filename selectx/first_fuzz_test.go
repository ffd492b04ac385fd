package selectx_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// FuzzFirst runs First over real chans primitives in a state the input
// chooses and compares the outcome with a plain model:
//
//   - ctx done at the call: ctx.Err(), nothing taken;
//   - else the earliest op, in argument order, whose primitive can grant at
//     once wins, and exactly its one grant is taken;
//   - else, if every op is closed (a shut-down drained queue, a closed
//     channel), ErrClosed;
//   - else First blocks, and the input decides what ends the wait: ctx is
//     cancelled (ctx.Err(), nothing taken), or one primitive gets one more
//     unit (a permit, an unlock, an item), and then the earliest op on that
//     primitive wins, since First started the ops in argument order and
//     each primitive serves its waiters in FIFO order.
//
// After First returns, every primitive's Value/Locked/Len is compared with
// the model, so a grant taken twice, lost or left with a loser shows up.
// Each case runs in a synctest bubble: synctest.Wait tells when First is
// blocked for good, and lets the take-backs of the losers (run from
// context.AfterFunc) finish before the state is read. It uses the real
// primitives rather than grant_test.go's pool: the ops of one First share
// one channel type, and pool's func() is not a chans.Release.
//
// Input layout (missing bytes read as 0): a flags byte (bit 0: ctx done at
// the call; bit 1: when blocked, add a unit instead of cancelling; bits 2+:
// which primitive gets it), the op count (1 + b%8: up to 4 ops take First's
// hand-written select, more take reflect.Select), two bytes per primitive
// slot (kind, initial amount), then one byte per op (b%5: the primitive slot
// it waits on, or 4 for a plain closed channel).
func FuzzFirst(f *testing.F) {
	// Seeds: [flags, ops, kind, amount ×4, slot per op].
	f.Add([]byte{0, 0, kSem, 1})                                                              // one semaphore with a permit
	f.Add([]byte{0, 1, kSem, 0, kFIFO, 2, 0, 0, 0, 0, 0, 1})                                  // empty semaphore, then a FIFO queue with items: the queue wins
	f.Add([]byte{1, 3, kSem, 2, kLock, 0, 0, 0, 0, 0, 0, 1, 4})                               // ctx done at the call
	f.Add([]byte{0, 1, kShut, 2, kSem, 1, 0, 0, 0, 0, 0, 1})                                  // a shut-down queue still drains: it wins
	f.Add([]byte{0, 7, kShut, 0, kLIFO, 2, kLock, 0, kSem, 0, 0, 4, 2, 1, 3, 0, 1, 2})        // 8 ops: closed ones, held lock, then LIFO's top item wins
	f.Add([]byte{0, 4, kShut, 0, kShut, 0, kShut, 0, kShut, 0, 0, 1, 2, 3, 4})                // all closed: ErrClosed
	f.Add([]byte{0, 5, kSem, 0, kLock, 0, kFIFO, 0, kLIFO, 0, 0, 1, 2, 3, 3, 4})              // 6 ops blocked (reflect), ctx cancelled
	f.Add([]byte{0, 2, kSem, 0, kLock, 0, kFIFO, 0, kLIFO, 0, 3, 1, 2})                       // 3 ops blocked (hand-written select), ctx cancelled
	f.Add([]byte{2 | 1<<2, 5, kSem, 0, kLock, 0, kFIFO, 0, kLIFO, 0, 4, 0, 1, 2, 3, 1})       // blocked; the lock is released: op 2 wins
	f.Add([]byte{2 | 3<<2, 2, kSem, 0, kLock, 0, kFIFO, 0, kLIFO, 0, 0, 3, 3})                // blocked; an item arrives on the LIFO queue: op 1 wins
	f.Add([]byte{2 | 1<<2, 7, kLock, 0, kSem, 0, kShut, 0, kFIFO, 0, 0, 4, 1, 2, 3, 1, 1, 0}) // 8 ops blocked; a permit arrives: op 2 wins
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { firstCase(t, data) })
	})
}

// Kinds of primitive slot.
const (
	kSem  = iota // chans.Semaphore with 0..2 permits
	kLock        // chans.Lock, held or not
	kFIFO        // chans.NewQueue with 0..2 items
	kLIFO        // chans.NewLifoQueue with 0..2 items
	kShut        // FIFO queue with 0..2 items, shut down (drains, then closed)
	kinds
)

// fuzzPrim is one primitive and the model of its state.
type fuzzPrim struct {
	kind  int
	sem   *chans.Semaphore
	lock  *chans.Lock
	held  chans.Release // the lock's holder outside First
	q     *chans.Queue[chans.Release]
	items []int // model: queue items, in the order Gets see them
	n     int   // model: free permits; 1 for an unlocked lock
	next  int   // next item id
	got   *int  // set to an item's id when that item is called
}

func newFuzzPrim(slot, kind, amount int, got *int) *fuzzPrim {
	p := &fuzzPrim{kind: kind, got: got, next: slot * 100}
	switch kind {
	case kSem:
		p.n = amount % 3
		p.sem = chans.NewSemaphore(p.n)
	case kLock:
		p.lock = new(chans.Lock)
		p.n = amount % 2
		if p.n == 0 {
			p.held, _ = p.lock.TryAcquire()
		}
	default:
		switch kind {
		case kLIFO:
			p.q = chans.NewLifoQueue[chans.Release](0)
		default:
			p.q = chans.NewQueue[chans.Release](0)
		}
		for range amount % 3 {
			p.put()
		}
		if kind == kShut {
			p.q.Shutdown(false)
		}
	}
	return p
}

// put stores a new item, which records its id in *p.got when called.
func (p *fuzzPrim) put() {
	id := p.next
	p.next++
	if err := p.q.TryPut(func() { *p.got = id }); err != nil {
		panic(err)
	}
	if p.kind == kLIFO {
		p.items = append([]int{id}, p.items...)
	} else {
		p.items = append(p.items, id)
	}
}

func (p *fuzzPrim) op() selectx.Op[chans.Release] {
	switch p.kind {
	case kSem:
		return p.sem.Acquire
	case kLock:
		return p.lock.Acquire
	}
	return p.q.Get
}

// ready reports whether the model says an op on p is granted at once.
func (p *fuzzPrim) ready() bool {
	if p.q != nil {
		return len(p.items) > 0
	}
	return p.n > 0
}

// closed reports whether an op on p closes without a value at once.
func (p *fuzzPrim) closed() bool { return p.kind == kShut && len(p.items) == 0 }

// grow gives p one more unit while First waits; false if it cannot.
func (p *fuzzPrim) grow() bool {
	switch p.kind {
	case kSem:
		p.sem.Release()
		p.n++
	case kLock:
		if p.held == nil {
			return false
		}
		p.held()
		p.held = nil
		p.n++
	case kShut:
		return false
	default:
		p.put()
	}
	return true
}

// taken updates the model for the grant First won on p and checks that the
// value is that grant: an item is the one at the front, a Release gives
// back what it took (checked by the state afterwards).
func (p *fuzzPrim) taken(t *testing.T, rel chans.Release) {
	t.Helper()
	if rel == nil {
		t.Fatal("winner's value is nil")
	}
	if p.q == nil {
		p.n--
		return
	}
	*p.got = -1
	rel()
	if *p.got != p.items[0] {
		t.Fatalf("Get returned item %d, model's next is %d (items %v)", *p.got, p.items[0], p.items)
	}
	p.items = p.items[1:]
}

// check compares p's state with the model.
func (p *fuzzPrim) check(t *testing.T, slot int) {
	t.Helper()
	var got, want int
	switch p.kind {
	case kSem:
		got, want = p.sem.Value(), p.n
	case kLock:
		got, want = 1, p.n
		if p.lock.Locked() {
			got = 0
		}
	default:
		got, want = p.q.Len(), len(p.items)
	}
	if got != want {
		t.Fatalf("slot %d (kind %d): state %d, model %d", slot, p.kind, got, want)
	}
}

// bytesAt reads a fuzz input as an endless stream: byte i, or 0 past its
// end, so every input decodes to a whole case. Shared by the fuzz targets.
func bytesAt(data []byte) func(i int) int {
	return func(i int) int {
		if i < len(data) {
			return int(data[i])
		}
		return 0
	}
}

func firstCase(t *testing.T, data []byte) {
	byteAt := bytesAt(data)
	flags := byteAt(0)
	nops := 1 + byteAt(1)%8
	got := new(int)
	var prims [4]*fuzzPrim
	for s := range prims {
		prims[s] = newFuzzPrim(s, byteAt(2+2*s)%kinds, byteAt(3+2*s), got)
	}
	ops := make([]selectx.Op[chans.Release], nops)
	slots := make([]int, nops) // -1: a plain closed channel
	for i := range ops {
		slots[i] = byteAt(10+i) % 5
		if slots[i] == 4 {
			slots[i] = -1
			ops[i] = closedRelease
			continue
		}
		ops[i] = prims[slots[i]].op()
	}
	desc := fmt.Sprintf("flags %#x, slots %v", flags, slots)

	// The model's answer for an immediate outcome.
	want, allClosed := -1, true
	for i, s := range slots {
		if s < 0 || prims[s].closed() {
			continue
		}
		allClosed = false
		if prims[s].ready() {
			want = i
			break
		}
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if flags&1 != 0 {
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

	var wantErr error
	switch {
	case flags&1 != 0:
		want, wantErr = -1, context.Canceled
	case want >= 0:
	case allClosed:
		wantErr = selectx.ErrClosed
	default:
		// First must be blocked now.
		select {
		case r := <-done:
			t.Fatalf("%s: First returned %d, %v with no op ready", desc, r.i, r.err)
		default:
		}
		wantErr = context.Canceled
		if flags&2 != 0 {
			s := (flags >> 2) % 4
			if first := indexOf(slots, s); first >= 0 && prims[s].grow() {
				want, wantErr = first, nil
			}
		}
		if wantErr != nil {
			cancel()
		}
	}
	r := <-done
	synctest.Wait() // the losers' take-backs
	if r.i != want || !errors.Is(r.err, wantErr) {
		t.Fatalf("%s: First returned %d, %v; model says %d, %v", desc, r.i, r.err, want, wantErr)
	}
	if want >= 0 {
		prims[slots[want]].taken(t, r.rel)
	} else if r.rel != nil {
		t.Fatalf("%s: failed First returned a value", desc)
	}
	for s, p := range prims {
		p.check(t, s)
	}
	// A semaphore permit or the lock won goes back with its Release.
	if want >= 0 && prims[slots[want]].q == nil {
		p := prims[slots[want]]
		r.rel()
		p.n++
		p.check(t, slots[want])
	}
}

func indexOf(slots []int, s int) int {
	for i, v := range slots {
		if v == s {
			return i
		}
	}
	return -1
}

func closedRelease(context.Context) <-chan chans.Release {
	c := make(chan chans.Release)
	close(c)
	return c
}
