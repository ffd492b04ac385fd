package linearize

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
)

// Linearizability checks with porcupine: concurrent clients run Semaphore
// and Queue operations under random cancellation, every operation's call and
// return are stamped from one logical clock, and porcupine searches for a
// sequential order, consistent with real time, in which a plain model gives
// the same answers. An abandoned operation (ctx ended, nothing received) is
// modelled as having no effect: its grant, if one was made, was taken back.
//
// Which observations are checked depends on the history. Without getter
// cancellation a Queue must follow its order exactly, TryGet's ErrEmpty
// included: a FIFO queue is a queue, a LIFO queue a stack, and a priority
// queue a sorted multiset from which every Get takes the least item present
// at its linearization point. With it, a taken-back item is briefly absent
// and then returns to where the next Get finds it first (the front, the
// top, the heap), so a Get that overlaps the window can legally see the
// next item in order or nothing: the Get that abandoned the item has no
// effect in the model, so the model still holds that item where the next
// Get must take it while the real queue hands out the one behind it. The same window exists
// in all three orders, so those histories are checked against a bag (no
// item invented, lost or delivered twice) and emptiness is not checked.
// Likewise Value() is read only in Semaphore histories without
// cancellation.

// linClock orders calls and returns across goroutines.
var linClock atomic.Int64

type linHistory struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

// run stamps f's call and return and records it as client's operation.
func (h *linHistory) run(client int, in any, f func() any) any {
	call := linClock.Add(1)
	out := f()
	ret := linClock.Add(1)
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
	return out
}

// linCheck runs porcupine and fails t unless the history is linearizable.
func linCheck(t *testing.T, name string, m porcupine.Model, ops []porcupine.Operation) {
	t.Helper()
	res := porcupine.CheckOperationsTimeout(m, ops, 30*time.Second)
	if res != porcupine.Ok {
		t.Fatalf("%s: %d operations: porcupine says %s", name, len(ops), res)
	}
}

// linCtx returns a ctx that ends at a random point: never, at once, soon
// after the call, or from another goroutine.
// after runs between the call and the receive.
func linCtx(r *rand.Rand, cancelling bool) (ctx context.Context, after func(), cancel context.CancelFunc) {
	ctx, cancel = context.WithCancel(context.Background())
	after = func() {}
	if !cancelling {
		return ctx, after, cancel
	}
	switch r.IntN(5) {
	case 0:
		cancel()
	case 1:
		after = cancel
	case 2:
		after = func() { go cancel() }
	}
	return ctx, after, cancel
}

// ---- Semaphore

type semIn struct {
	op string // "acquire", "try", "release", "value"
	n  int
}

// semModel: the state is the number of free permits.
func semModel(capacity int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return capacity },
		Step: func(state, in, out any) (bool, any) {
			free, i := state.(int), in.(semIn)
			switch i.op {
			case "acquire", "try":
				if !out.(bool) {
					return true, free // abandoned or refused: no effect
				}
				return free >= i.n, free - i.n
			case "release":
				return free+i.n <= capacity, free + i.n
			case "value":
				return out.(int) == free, free
			}
			return false, free
		},
		DescribeOperation: func(in, out any) string { return fmt.Sprintf("%v -> %v", in, out) },
	}
}

func linSemaphoreHistory(seed uint64, capacity, clients, perClient int, cancelling bool) []porcupine.Operation {
	s := chans.NewSemaphore(capacity)
	h := new(linHistory)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(c)))
			for range perClient {
				n := 1 + r.IntN(capacity)
				var rel chans.Release
				switch r.IntN(6) {
				case 0:
					h.run(c, semIn{"try", n}, func() any {
						var ok bool
						rel, ok = s.TryAcquireN(n)
						return ok
					})
				case 1:
					if !cancelling {
						h.run(c, semIn{"value", 0}, func() any { return s.Value() })
						continue
					}
					fallthrough
				default:
					ctx, after, cancel := linCtx(r, cancelling)
					h.run(c, semIn{"acquire", n}, func() any {
						ch := s.AcquireN(ctx, n)
						after()
						var ok bool
						rel, ok = <-ch
						return ok
					})
					cancel()
				}
				if rel != nil {
					h.run(c, semIn{"release", n}, func() any { rel(); return nil })
				}
			}
		})
	}
	wg.Wait()
	return h.ops
}

func TestLinearizableSemaphore(t *testing.T) {
	rounds, per := 30, 100
	if testing.Short() {
		rounds, per = 4, 25
	}
	total := 0
	for _, cancelling := range []bool{false, true} {
		for round := range rounds {
			ops := linSemaphoreHistory(uint64(round), 2, 5, per, cancelling)
			linCheck(t, fmt.Sprintf("semaphore round %d cancelling=%v", round, cancelling), semModel(2), ops)
			total += len(ops)
		}
	}
	t.Logf("Semaphore: %d operations in %d histories, all linearizable", total, 2*rounds)
}

// ---- Queue

// linHash is FNV-1a over a state's items.
func linHash(state any) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range state.([]int) {
		h = (h ^ uint64(v)) * 1099511628211
	}
	return h
}

type queueIn struct {
	op string // "put", "tryput", "get", "tryget"
	v  int
}

type queueOut struct {
	v   int
	ok  bool
	err error // TryGet's
}

// queueFIFO: the state is the items, oldest first; every answer is checked.
func queueFIFO() porcupine.Model {
	return queueStrict(func(items []int, v int) []int { return append(slices.Clip(items), v) }, 0)
}

// queueLIFO: the state is the stack, bottom first; a Get takes the top.
// Tornado's rule (a Get on a full queue lets the oldest blocked putter in
// first, so it returns that putter's item) fits: that Put has not returned
// yet, so it may linearize just before the Get.
func queueLIFO() porcupine.Model {
	return queueStrict(func(items []int, v int) []int { return append(slices.Clip(items), v) }, -1)
}

// queuePriority: the state is the items sorted, least first; a Get takes the
// least. The items of a history are distinct, so "the least" is one item and
// the order among equal items (which a heap leaves open) never matters.
func queuePriority() porcupine.Model {
	return queueStrict(func(items []int, v int) []int {
		k, _ := slices.BinarySearch(items, v)
		return slices.Insert(slices.Clone(items), k, v)
	}, 0)
}

// queueStrict is a model in which put adds an item with push, which must not
// modify items in place, and every Get takes the item at index next of the
// state (-1: the last). Every answer is checked, emptiness included.
func queueStrict(push func(items []int, v int) []int, next int) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return []int(nil) },
		Step: func(state, in, out any) (bool, any) {
			items, i, o := state.([]int), in.(queueIn), out.(queueOut)
			switch i.op {
			case "put", "tryput":
				if !o.ok {
					return true, items
				}
				return true, push(items, i.v)
			case "get", "tryget":
				if !o.ok {
					return len(items) == 0, items // closed drained, or ErrEmpty
				}
				if len(items) == 0 {
					return false, items
				}
				k := next
				if k < 0 {
					k = len(items) - 1
				}
				return items[k] == o.v, slices.Delete(slices.Clone(items), k, k+1)
			}
			return false, items
		},
		Equal: func(a, b any) bool { return slices.Equal(a.([]int), b.([]int)) },
		Hash:  linHash,
	}
}

// queueBag: the state is the multiset of items; only what a getter receives
// is checked (it must have been put, and not received before).
func queueBag() porcupine.Model {
	return porcupine.Model{
		Init: func() any { return []int(nil) },
		Step: func(state, in, out any) (bool, any) {
			items, i, o := state.([]int), in.(queueIn), out.(queueOut)
			if !o.ok {
				return true, items // refused, abandoned or empty: no effect
			}
			switch i.op {
			case "put", "tryput":
				next := append(slices.Clone(items), i.v)
				slices.Sort(next)
				return true, next
			case "get", "tryget":
				k := slices.Index(items, o.v)
				if k < 0 {
					return false, items
				}
				return true, slices.Delete(slices.Clone(items), k, k+1)
			}
			return false, items
		},
		Equal: func(a, b any) bool { return slices.Equal(a.([]int), b.([]int)) },
		Hash:  linHash,
	}
}

func linQueueHistory(newQ func(maxsize int) *chans.Queue[int], seed uint64, maxsize, producers, consumers, perProducer int, cancelGets bool) []porcupine.Operation {
	q := newQ(maxsize)
	h := new(linHistory)
	var pwg, cwg sync.WaitGroup
	for p := range producers {
		pwg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(p)))
			// Distinct items in random order: put in increasing order, a
			// FIFO queue's answers would pass for a priority queue's.
			vals := r.Perm(perProducer)
			for i := range perProducer {
				v := p*perProducer + vals[i]
				if r.IntN(4) == 0 {
					h.run(p, queueIn{"tryput", v}, func() any { return queueOut{ok: q.TryPut(v) == nil} })
					continue
				}
				ctx, after, cancel := linCtx(r, true) // abandoned puts: no effect
				h.run(p, queueIn{"put", v}, func() any {
					ch := q.Put(ctx, v)
					after()
					return queueOut{ok: <-ch == nil}
				})
				cancel()
			}
		})
	}
	for c := range consumers {
		client := producers + c
		cwg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(client)))
			for {
				if r.IntN(4) == 0 {
					out := h.run(client, queueIn{"tryget", 0}, func() any {
						v, err := q.TryGet()
						return queueOut{v: v, ok: err == nil, err: err}
					}).(queueOut)
					if errors.Is(out.err, chans.ErrShutdown) {
						return
					}
					continue
				}
				ctx, after, cancel := linCtx(r, cancelGets)
				out := h.run(client, queueIn{"get", 0}, func() any {
					ch := q.Get(ctx)
					after()
					v, ok := <-ch
					return queueOut{v: v, ok: ok}
				}).(queueOut)
				ended := ctx.Err() != nil
				cancel()
				if !out.ok && !ended {
					return // shut down and drained
				}
			}
		})
	}
	pwg.Wait()
	q.Shutdown(false)
	cwg.Wait()
	return h.ops
}

func TestLinearizableQueue(t *testing.T) {
	linQueueRounds(t, "FIFO", chans.NewQueue[int], queueFIFO())
}

func TestLinearizableLifoQueue(t *testing.T) {
	linQueueRounds(t, "LIFO", chans.NewLifoQueue[int], queueLIFO())
}

func TestLinearizablePriorityQueue(t *testing.T) {
	newQ := func(maxsize int) *chans.Queue[int] {
		return chans.NewPriorityQueue(maxsize, func(a, b int) bool { return a < b })
	}
	linQueueRounds(t, "priority", newQ, queuePriority())
}

// linQueueRounds checks histories of queues made by newQ: against strict
// without getter cancellation, against a bag with it.
func linQueueRounds(t *testing.T, name string, newQ func(int) *chans.Queue[int], strict porcupine.Model) {
	rounds, per := 30, 15
	if testing.Short() {
		rounds, per = 4, 10
	}
	total := 0
	for round := range rounds {
		maxsize := round % 3 // unbounded, 1, 2
		ops := linQueueHistory(newQ, uint64(round), maxsize, 3, 3, per, false)
		linCheck(t, fmt.Sprintf("%s round %d maxsize %d", name, round, maxsize), strict, ops)
		total += len(ops)
		ops = linQueueHistory(newQ, uint64(round), maxsize, 3, 3, per, true)
		linCheck(t, fmt.Sprintf("%s bag round %d maxsize %d", name, round, maxsize), queueBag(), ops)
		total += len(ops)
	}
	t.Logf("%s Queue: %d operations in %d histories, all linearizable", name, total, 2*rounds)
}

// TestLinearizeTellsOrdersApart makes sure the strict queue models can fail
// on real histories, not only on the hand-made ones below: histories of a
// queue of one order, checked against the model of another, are rejected.
// Only unbounded and Cap 2 queues are used; at Cap 1 no two items ever
// coexist, and all three orders answer alike.
func TestLinearizeTellsOrdersApart(t *testing.T) {
	prio := func(maxsize int) *chans.Queue[int] {
		return chans.NewPriorityQueue(maxsize, func(a, b int) bool { return a < b })
	}
	rounds := 6
	if testing.Short() {
		rounds = 4
	}
	for _, c := range []struct {
		name  string
		newQ  func(int) *chans.Queue[int]
		model porcupine.Model
	}{
		{"FIFO as LIFO", chans.NewQueue[int], queueLIFO()},
		{"FIFO as priority", chans.NewQueue[int], queuePriority()},
		{"LIFO as FIFO", chans.NewLifoQueue[int], queueFIFO()},
		{"LIFO as priority", chans.NewLifoQueue[int], queuePriority()},
		{"priority as FIFO", prio, queueFIFO()},
		{"priority as LIFO", prio, queueLIFO()},
	} {
		rejected := 0
		for round := range rounds {
			ops := linQueueHistory(c.newQ, uint64(round), 2*(round%2), 3, 3, 8, false)
			if porcupine.CheckOperationsTimeout(c.model, ops, 2*time.Second) == porcupine.Illegal {
				rejected++
			}
		}
		t.Logf("%s: %d of %d histories rejected", c.name, rejected, rounds)
		if rejected == 0 {
			t.Errorf("%s: no history rejected", c.name)
		}
	}
}

// TestLinearizeRejectsBrokenHistories makes sure the checks can fail: each
// history below is one a broken primitive could produce.
func TestLinearizeRejectsBrokenHistories(t *testing.T) {
	is := is.New(t)
	op := func(client int, in, out any, call, ret int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
	}
	// Two holders of a one-permit semaphore at once.
	twoHolders := []porcupine.Operation{
		op(0, semIn{"acquire", 1}, true, 1, 2),
		op(1, semIn{"acquire", 1}, true, 3, 4),
		op(0, semIn{"release", 1}, nil, 5, 6),
	}
	is.Equal(porcupine.CheckOperationsTimeout(semModel(1), twoHolders, time.Second), porcupine.Illegal)
	// The same with a release in between is fine.
	ok := []porcupine.Operation{twoHolders[0], twoHolders[2], op(1, semIn{"acquire", 1}, true, 7, 8)}
	is.Equal(porcupine.CheckOperationsTimeout(semModel(1), ok, time.Second), porcupine.Ok)
	// A permit taken back from an abandoned acquire, then given back again
	// by a release that was never granted: over capacity.
	doubled := []porcupine.Operation{
		op(0, semIn{"acquire", 1}, false, 1, 2),
		op(0, semIn{"release", 1}, nil, 3, 4),
	}
	is.Equal(porcupine.CheckOperationsTimeout(semModel(1), doubled, time.Second), porcupine.Illegal)

	put := func(c, v int, call int64) porcupine.Operation {
		return op(c, queueIn{"put", v}, queueOut{ok: true}, call, call+1)
	}
	get := func(c, v int, call int64) porcupine.Operation {
		return op(c, queueIn{"get", 0}, queueOut{v: v, ok: true}, call, call+1)
	}
	// Out of order.
	reordered := []porcupine.Operation{put(0, 1, 1), put(0, 2, 3), get(1, 2, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queueFIFO(), reordered, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queueBag(), reordered, time.Second), porcupine.Ok) // a bag allows it
	// Delivered twice.
	twice := []porcupine.Operation{put(0, 1, 1), get(1, 1, 3), get(2, 1, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queueFIFO(), twice, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queueBag(), twice, time.Second), porcupine.Illegal)
	// An item from an abandoned put shows up.
	phantom := []porcupine.Operation{op(0, queueIn{"put", 9}, queueOut{}, 1, 2), get(1, 9, 3)}
	is.Equal(porcupine.CheckOperationsTimeout(queueBag(), phantom, time.Second), porcupine.Illegal)
	// Empty while an item is stored.
	empty := []porcupine.Operation{put(0, 1, 1), op(1, queueIn{"tryget", 0}, queueOut{err: chans.ErrEmpty}, 3, 4)}
	is.Equal(porcupine.CheckOperationsTimeout(queueFIFO(), empty, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queueLIFO(), empty, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queuePriority(), empty, time.Second), porcupine.Illegal)

	// LIFO: the older item first, as a FIFO queue (or a stack that lost
	// its top) would answer.
	is.Equal(porcupine.CheckOperationsTimeout(queueLIFO(), reordered, time.Second), porcupine.Ok) // 2 is the top
	bottomFirst := []porcupine.Operation{put(0, 1, 1), put(0, 2, 3), get(1, 1, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queueLIFO(), bottomFirst, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queueFIFO(), bottomFirst, time.Second), porcupine.Ok)
	// With the second put still running at the Get, either item is fine.
	overlap := []porcupine.Operation{put(0, 1, 1), op(0, queueIn{"put", 2}, queueOut{ok: true}, 3, 7), get(1, 1, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queueLIFO(), overlap, time.Second), porcupine.Ok)
	is.Equal(porcupine.CheckOperationsTimeout(queueLIFO(), twice, time.Second), porcupine.Illegal)

	// Priority: a Get passes over the least item present.
	notLeast := []porcupine.Operation{put(0, 2, 1), put(0, 1, 3), get(1, 2, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queuePriority(), notLeast, time.Second), porcupine.Illegal)
	is.Equal(porcupine.CheckOperationsTimeout(queueFIFO(), notLeast, time.Second), porcupine.Ok)
	least := []porcupine.Operation{put(0, 2, 1), put(0, 1, 3), get(1, 1, 5), get(1, 2, 7)}
	is.Equal(porcupine.CheckOperationsTimeout(queuePriority(), least, time.Second), porcupine.Ok)
	// Unless the least item's put was still running at the Get: then the
	// Get may have come first.
	racing := []porcupine.Operation{put(0, 2, 1), op(1, queueIn{"put", 1}, queueOut{ok: true}, 3, 8), get(2, 2, 5)}
	is.Equal(porcupine.CheckOperationsTimeout(queuePriority(), racing, time.Second), porcupine.Ok)
	is.Equal(porcupine.CheckOperationsTimeout(queuePriority(), twice, time.Second), porcupine.Illegal)
}
