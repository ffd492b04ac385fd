package disttest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
)

// A Queue is what the queue conformance suite drives: an engine's queue of
// ints, with the methods of dist's queue contract (Q1–Q5).
type Queue[I dist.Item[int]] interface {
	Put(ctx context.Context, v int) <-chan error
	Get(ctx context.Context) <-chan I
	TryGet(ctx context.Context) (I, error)
	Len(ctx context.Context) (int, error)
	Join() <-chan struct{}
	Shutdown(ctx context.Context, immediate bool) error
}

// patience bounds every wait of the suite: far more than any engine on
// loopback needs, so that only a broken engine hits it.
const patience = 20 * time.Second

// A QueueFactory makes the queues the suite drives: each call returns a
// new, empty queue, used by one subtest only (register its cleanup with
// t.Cleanup).
type QueueFactory[I dist.Item[int]] struct {
	// Fresh returns an unbounded queue. It is required.
	Fresh func(t *testing.T) Queue[I]
	// Bounded returns a queue bounded at max items (max >= 1), counting
	// every item put and not yet done or dead, claimed ones included. It is
	// the optional capability of engines with bounded queues: left nil,
	// the bounded cases are skipped.
	Bounded func(t *testing.T, max int) BoundedQueue[I]
}

// RunQueue runs the queue conformance suite, and its bounded cases if f
// has the capability.
func RunQueue[I dist.Item[int]](t *testing.T, f QueueFactory[I]) {
	fresh := f.Fresh
	t.Run("OneOutcome", func(t *testing.T) { queueOneOutcome(t, fresh(t)) })
	t.Run("EndedCtxFails", func(t *testing.T) { queueEndedCtx(t, fresh(t)) })
	t.Run("CancelGivesBack", func(t *testing.T) { queueCancelGivesBack(t, fresh(t)) })
	t.Run("FIFO", func(t *testing.T) { queueFIFO(t, fresh(t)) })
	t.Run("TryNeverPasses", func(t *testing.T) { queueTryNeverPasses(t, fresh(t)) })
	t.Run("FailHandsOutAgain", func(t *testing.T) { queueFail(t, fresh(t)) })
	t.Run("Conservation", func(t *testing.T) { queueConservation(t, fresh(t)) })
	t.Run("Shutdown", func(t *testing.T) { queueShutdown(t, fresh(t)) })
	t.Run("ShutdownImmediate", func(t *testing.T) { queueShutdownImmediate(t, fresh(t)) })
	t.Run("Join", func(t *testing.T) { queueJoin(t, fresh(t)) })
	t.Run("Bounded", func(t *testing.T) {
		if f.Bounded == nil {
			t.Skip("the engine has no bounded queues")
		}
		runBounded(t, f.Bounded)
	})
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}

func put[I dist.Item[int]](t *testing.T, q Queue[I], vs ...int) {
	t.Helper()
	for _, v := range vs {
		if err := <-q.Put(bg(t), v); err != nil {
			t.Fatalf("Put(%d): %v", v, err)
		}
	}
}

func get[I dist.Item[int]](t *testing.T, q Queue[I]) I {
	t.Helper()
	it, ok := <-q.Get(bg(t))
	if !ok {
		t.Fatal("Get: closed without an item")
	}
	return it
}

func done[I dist.Item[int]](t *testing.T, it I) {
	t.Helper()
	if err := it.Done(bg(t)); err != nil {
		t.Fatalf("Done(%d): %v", it.Value(), err)
	}
}

func qlen[I dist.Item[int]](t *testing.T, q Queue[I]) int {
	t.Helper()
	n, err := q.Len(bg(t))
	if err != nil {
		t.Fatalf("Len: %v", err)
	}
	return n
}

func closedWithin(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(patience):
		t.Fatalf("%s not closed after %v", what, patience)
	}
}

// Q1: one item, then closed.
func queueOneOutcome[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 7)
	ch := q.Get(bg(t))
	it, ok := <-ch
	is.True(ok)
	is.Equal(it.Value(), 7)
	is.Equal(it.Attempt(), 1)
	_, ok = <-ch
	is.True(!ok) // closed after its one value
	done(t, it)
	is.Equal(qlen(t, q), 0)
}

// W4: a ctx that has ended fails the Get even when an item is ready, and
// the item stays.
func queueEndedCtx[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok := <-q.Get(ctx)
	is.True(!ok)
	is.True(errors.Is(<-q.Put(ctx, 2), context.Canceled))
	is.Equal(qlen(t, q), 1)
	it := get(t, q)
	is.Equal(it.Value(), 1)
	done(t, it)
}

// Q2: an item that reached a getter whose ctx then ended goes back, and the
// next Get gets it first, its attempt not counted.
func queueCancelGivesBack[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 1, 2)
	ctx, cancel := context.WithCancel(bg(t))
	ch := q.Get(ctx)
	eventually(t, "delivered to the getter's buffer", func() bool { return len(ch) == 1 })
	cancel()
	eventually(t, "taken back from the buffer", func() bool { return len(ch) == 0 })
	_, ok := <-ch
	is.True(!ok) // the item went back
	is.Equal(qlen(t, q), 2)
	it := get(t, q)
	is.Equal(it.Value(), 1) // first again
	is.Equal(it.Attempt(), 1)
	done(t, it)
	it = get(t, q)
	is.Equal(it.Value(), 2)
	done(t, it)
}

// Q3: oldest first.
func queueFIFO[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	const n = 30
	for i := range n {
		put(t, q, i)
	}
	for i := range n {
		it := get(t, q)
		is.Equal(it.Value(), i)
		done(t, it)
	}
}

// Q3: TryGet never takes an item a queued getter of the same process can
// have, and says ErrEmpty when nothing is ready.
func queueTryNeverPasses[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	_, err := q.TryGet(bg(t))
	is.True(errors.Is(err, dist.ErrEmpty))
	ch := q.Get(bg(t)) // queued first
	put(t, q, 5)
	_, err = q.TryGet(bg(t))
	is.True(errors.Is(err, dist.ErrEmpty)) // the item is the getter's
	it, ok := <-ch
	is.True(ok)
	is.Equal(it.Value(), 5)
	done(t, it)
	put(t, q, 6)
	it, err = q.TryGet(bg(t))
	is.NoErr(err)
	is.Equal(it.Value(), 6)
	done(t, it)
}

// Q4: Fail hands the item out again, first, with the attempt counted; Done
// on a settled item's stale copy is refused.
func queueFail[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 1, 2)
	it := get(t, q)
	is.Equal(it.Value(), 1)
	is.NoErr(it.Fail(bg(t), errors.New("boom")))
	again := get(t, q)
	is.Equal(again.Value(), 1)
	is.Equal(again.Attempt(), 2)
	done(t, again)
	it = get(t, q)
	is.Equal(it.Value(), 2)
	done(t, it)
}

// Conservation under random cancellation: every item put is done exactly
// once, whatever the getters' contexts do.
func queueConservation[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	n, getters := 300, 6
	if testing.Short() {
		n = 100
	}
	var mu sync.Mutex
	seen := make(map[int]int)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if err := <-q.Put(bg(t), i); err != nil {
				t.Errorf("Put(%d): %v", i, err)
			}
		}
	})
	remaining := make(chan struct{})
	var left sync.Once
	giveUp := time.AfterFunc(patience, func() {
		mu.Lock()
		t.Errorf("after %v, %d of %d items seen: items were lost", patience, len(seen), n)
		mu.Unlock()
		left.Do(func() { close(remaining) })
	})
	defer giveUp.Stop()
	for g := range getters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for {
				select {
				case <-remaining:
					return
				default:
				}
				it, ok := attemptGet(t, q, r)
				if !ok {
					continue
				}
				mu.Lock()
				seen[it.Value()]++
				all := len(seen) == n
				mu.Unlock()
				if err := it.Done(bg(t)); err != nil {
					t.Errorf("Done(%d): %v", it.Value(), err)
				}
				if all {
					left.Do(func() { close(remaining) })
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		is.Equal(seen[i], 1) // received and done exactly once
	}
	is.Equal(len(seen), n)
	is.Equal(qlen(t, q), 0)
	closedWithin(t, "Join after every item was done", q.Join())
}

// attemptGet makes one Get under a ctx that ends at a random moment.
func attemptGet[I dist.Item[int]](t *testing.T, q Queue[I], r *rand.Rand) (I, bool) {
	ctx, cancel := context.WithCancel(bg(t))
	defer cancel()
	switch r.IntN(6) {
	case 0: // ended at the call
		cancel()
		it, ok := <-q.Get(ctx)
		return it, ok
	case 1: // a deadline anywhere from before the claim to after it
		ctx, cancel2 := context.WithTimeout(ctx, time.Duration(r.IntN(3000))*time.Microsecond)
		defer cancel2()
		it, ok := <-q.Get(ctx)
		return it, ok
	case 2: // cancelled from another goroutine, racing the delivery
		ch := q.Get(ctx)
		go cancel()
		it, ok := <-ch
		return it, ok
	case 3: // abandoned in a select: poll once, then cancel and receive
		ch := q.Get(ctx)
		select {
		case it, ok := <-ch:
			return it, ok
		case <-time.After(time.Duration(r.IntN(2000)) * time.Microsecond):
		}
		cancel()
		it, ok := <-ch
		return it, ok
	case 4: // cancelled at a random moment, likely with the item on its
		// way or in the buffer; the receive comes after the take-back
		ch := q.Get(ctx)
		time.Sleep(time.Duration(r.IntN(3000)) * time.Microsecond)
		cancel()
		for deadline := time.Now().Add(Bound); len(ch) > 0; {
			if time.Now().After(deadline) {
				t.Errorf("an item sat in a cancelled Get's channel for %v: never taken back", Bound)
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
		it, ok := <-ch
		return it, ok
	default: // patient, but bounded so the last getters leave
		ctx, cancel2 := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel2()
		it, ok := <-q.Get(ctx)
		return it, ok
	}
}

// Q5: after Shutdown, puts fail, getters drain what is left, then get
// closed channels, and TryGet says ErrShutdown.
func queueShutdown[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 1, 2)
	waiting := q.Get(bg(t))
	it, ok := <-waiting
	is.True(ok)
	done(t, it)
	is.NoErr(q.Shutdown(bg(t), false))
	is.True(errors.Is(<-q.Put(bg(t), 3), dist.ErrShutdown))
	it = get(t, q) // drains
	is.Equal(it.Value(), 2)
	done(t, it)
	_, ok = <-q.Get(bg(t))
	is.True(!ok) // shut down and drained
	_, err := q.TryGet(bg(t))
	is.True(errors.Is(err, dist.ErrShutdown))
	is.NoErr(q.Shutdown(bg(t), false)) // again: harmless
	closedWithin(t, "Join after shutdown and drain", q.Join())
}

// Q5: Shutdown(immediate) drops the items left and wakes the getters; an
// item held can still be done.
func queueShutdownImmediate[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	put(t, q, 1, 2, 3)
	held := get(t, q)
	is.NoErr(q.Shutdown(bg(t), true))
	is.Equal(qlen(t, q), 0)
	_, ok := <-q.Get(bg(t))
	is.True(!ok)
	is.True(errors.Is(<-q.Put(bg(t), 4), dist.ErrShutdown))
	done(t, held)
	closedWithin(t, "Join after the held item was done", q.Join())
}

// Q5: Join is closed exactly when no item is left, ready or claimed.
func queueJoin[I dist.Item[int]](t *testing.T, q Queue[I]) {
	is := is.New(t)
	closedWithin(t, "Join of a fresh queue", q.Join())
	put(t, q, 1, 2)
	j := q.Join()
	a := get(t, q)
	b := get(t, q)
	done(t, a)
	select {
	case <-j:
		t.Fatal("Join closed with an item still claimed")
	default:
	}
	is.Equal(qlen(t, q), 0) // nothing ready, one claimed
	done(t, b)
	closedWithin(t, "Join after the last Done", j)
	is.Equal(a.Value()+b.Value(), 3)
}
