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

// A BoundedQueue is a Queue with a bound, as the bounded cases drive it: Put
// waits for room, TryPut says dist.ErrFull when there is none or a putter
// of the same process waits, and every item put and not yet done counts
// against the bound, claimed ones included (a claimed item can come back by
// Fail or a lost worker without a put, so a bound that let a claim free its
// room could not hold).
type BoundedQueue[I dist.Item[int]] interface {
	Queue[I]
	TryPut(ctx context.Context, v int) error
}

func runBounded[I dist.Item[int]](t *testing.T, fresh func(t *testing.T, max int) BoundedQueue[I]) {
	t.Run("Backpressure", func(t *testing.T) { boundBackpressure(t, fresh(t, 2)) })
	t.Run("TryPutFull", func(t *testing.T) { boundTryPut(t, fresh(t, 1)) })
	t.Run("CancelLeavesNoTrace", func(t *testing.T) { boundCancel(t, fresh(t, 1)) })
	t.Run("PuttersFIFO", func(t *testing.T) { boundPuttersFIFO(t, fresh(t, 1)) })
	t.Run("ShutdownWakesPutters", func(t *testing.T) { boundShutdown(t, fresh(t, 1)) })
	t.Run("Conservation", func(t *testing.T) { boundConservation(t, fresh(t, 3), 3) })
}

// unanswered checks that a put's channel yields nothing for Quiet.
func unanswered(t *testing.T, ch <-chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("%s: answered %v, want it still waiting for room", what, err)
	case <-time.After(Quiet):
	}
}

// answered receives a put's answer within patience.
func answered(t *testing.T, ch <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(patience):
		t.Fatalf("%s: no answer within %v", what, patience)
	}
	return nil
}

// A full queue makes Put wait, a claimed item keeps its room, and the Done
// of one lets the putter in.
func boundBackpressure[I dist.Item[int]](t *testing.T, q BoundedQueue[I]) {
	is := is.New(t)
	put(t, q, 1, 2)
	third := q.Put(bg(t), 3)
	unanswered(t, third, "Put on a full queue")
	a := get(t, q)
	is.Equal(a.Value(), 1)
	unanswered(t, third, "Put while a worker holds an item")
	is.True(qlen(t, q) <= 2)
	done(t, a)
	is.NoErr(answered(t, third, "Put after a Done"))
	for _, want := range []int{2, 3} {
		it := get(t, q)
		is.Equal(it.Value(), want)
		done(t, it)
	}
	closedWithin(t, "Join", q.Join())
}

// TryPut says ErrFull on a full queue and never passes a waiting putter,
// even once there is room for it. (An engine that lets the waiting putter in
// in the same step that frees its room has no such moment; a network engine
// has one, from the Done until the waiter's put lands.)
func boundTryPut[I dist.Item[int]](t *testing.T, q BoundedQueue[I]) {
	is := is.New(t)
	is.NoErr(q.TryPut(bg(t), 1))
	is.True(errors.Is(q.TryPut(bg(t), 2), dist.ErrFull))
	waiter := q.Put(bg(t), 3)
	unanswered(t, waiter, "Put on a full queue")
	done(t, get(t, q))
	// The room is the waiter's, whether it has taken it yet or not.
	is.True(errors.Is(q.TryPut(bg(t), 4), dist.ErrFull))
	is.NoErr(answered(t, waiter, "the waiting Put"))
	it := get(t, q)
	is.Equal(it.Value(), 3) // neither 2 nor 4 went in
	done(t, it)
	is.NoErr(q.TryPut(bg(t), 5))
	it = get(t, q)
	is.Equal(it.Value(), 5)
	done(t, it)
	is.Equal(qlen(t, q), 0)
}

// A putter whose ctx ends while it waits for room gets ctx.Err(), and its
// item is never seen; one whose ctx had ended gets it at once, even with
// room.
func boundCancel[I dist.Item[int]](t *testing.T, q BoundedQueue[I]) {
	is := is.New(t)
	put(t, q, 1)
	ctx, cancel := context.WithCancel(bg(t))
	gone := q.Put(ctx, 2)
	unanswered(t, gone, "Put on a full queue")
	cancel()
	is.True(errors.Is(answered(t, gone, "the cancelled Put"), context.Canceled))
	done(t, get(t, q))
	is.True(errors.Is(<-q.Put(ctx, 3), context.Canceled)) // room, but ended
	is.True(errors.Is(q.TryPut(ctx, 4), context.Canceled))
	_, err := q.TryGet(bg(t))
	is.True(errors.Is(err, dist.ErrEmpty)) // nothing of 2, 3 or 4
	is.Equal(qlen(t, q), 0)
	closedWithin(t, "Join", q.Join())
}

// Waiting putters of one process get in in the order of their calls.
func boundPuttersFIFO[I dist.Item[int]](t *testing.T, q BoundedQueue[I]) {
	is := is.New(t)
	put(t, q, 0)
	const n = 4
	var waiting []<-chan error
	for i := 1; i <= n; i++ {
		ch := q.Put(bg(t), i)
		unanswered(t, ch, "Put on a full queue")
		waiting = append(waiting, ch)
	}
	for i := 0; i <= n; i++ {
		it := get(t, q)
		is.Equal(it.Value(), i) // before waiting on any answer: fail fast
		if i > 0 {
			is.NoErr(answered(t, waiting[i-1], "a waiting Put"))
		}
		done(t, it)
	}
}

// Shutdown ends the wait of putters with ErrShutdown; what is in the queue
// is drained.
func boundShutdown[I dist.Item[int]](t *testing.T, q BoundedQueue[I]) {
	is := is.New(t)
	put(t, q, 1)
	waiter := q.Put(bg(t), 2)
	unanswered(t, waiter, "Put on a full queue")
	is.NoErr(q.Shutdown(bg(t), false))
	is.True(errors.Is(answered(t, waiter, "a waiting Put at Shutdown"), dist.ErrShutdown))
	is.True(errors.Is(q.TryPut(bg(t), 3), dist.ErrShutdown))
	it := get(t, q)
	is.Equal(it.Value(), 1)
	done(t, it)
	closedWithin(t, "Join after the drain", q.Join())
}

// Conservation under random cancellation of puts and gets: every item whose
// put answered nil is got exactly once, no item whose put failed (ctx.Err(),
// ErrFull) is ever got, and Len never exceeds the bound.
func boundConservation[I dist.Item[int]](t *testing.T, q BoundedQueue[I], max int) {
	is := is.New(t)
	n, producers := 120, 3
	if testing.Short() {
		n = 60
	}
	var mu sync.Mutex
	ok := make(map[int]bool)    // put answered nil
	maybe := make(map[int]bool) // an unknown outcome
	seen := make(map[int]int)
	var putting sync.WaitGroup
	for p := range producers {
		putting.Go(func() {
			r := rand.New(rand.NewPCG(uint64(p), 2))
			for i := range n {
				v := p*n + i
				err := attemptPut(t, q, r, v)
				mu.Lock()
				switch {
				case err == nil:
					ok[v] = true
				case errors.Is(err, dist.ErrOutcomeUnknown):
					maybe[v] = true
				case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, dist.ErrFull):
				default:
					t.Errorf("Put(%d): %v", v, err)
				}
				mu.Unlock()
			}
		})
	}
	produced := make(chan struct{})
	go func() { putting.Wait(); close(produced) }()

	// Getters take items until the producers are done and every item put
	// was seen, or patience runs out.
	deadline := time.Now().Add(patience)
	finished := func() bool {
		select {
		case <-produced:
		default:
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		for v := range ok {
			if seen[v] == 0 {
				return false
			}
		}
		return true
	}
	var getting sync.WaitGroup
	for g := range 3 {
		getting.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for !finished() {
				if time.Now().After(deadline) {
					t.Errorf("after %v, items put were not all seen", patience)
					return
				}
				if r.IntN(10) == 0 {
					if l := qlen(t, q); l > max {
						t.Errorf("Len %d above the bound %d", l, max)
					}
				}
				it, got := attemptGet(t, q, r)
				if !got {
					continue
				}
				// Slow enough that the producers meet the bound.
				time.Sleep(time.Duration(r.IntN(1000)) * time.Microsecond)
				mu.Lock()
				seen[it.Value()]++
				mu.Unlock()
				if err := it.Done(bg(t)); err != nil {
					t.Errorf("Done(%d): %v", it.Value(), err)
				}
			}
		})
	}
	getting.Wait()
	<-produced
	for v, k := range seen {
		if !ok[v] && !maybe[v] {
			t.Errorf("item %d got %d times, but its put failed", v, k)
		} else if k != 1 {
			t.Errorf("item %d got %d times, want once", v, k)
		}
	}
	is.True(len(ok) > 0)
	is.True(len(ok) < producers*n) // the cancellations did happen
	is.Equal(qlen(t, q), 0)
	closedWithin(t, "Join after every item was done", q.Join())
}

// attemptPut makes one put of v under a ctx that ends at a random moment:
// at the call, while it waits for room, or never; or a TryPut.
func attemptPut[I dist.Item[int]](t *testing.T, q BoundedQueue[I], r *rand.Rand, v int) error {
	ctx, cancel := context.WithCancel(bg(t))
	defer cancel()
	switch r.IntN(5) {
	case 0:
		cancel()
		return <-q.Put(ctx, v)
	case 1:
		ctx, cancel2 := context.WithTimeout(ctx, time.Duration(r.IntN(3000))*time.Microsecond)
		defer cancel2()
		return <-q.Put(ctx, v)
	case 2: // abandoned in a select, then stopped, then received
		ch := q.Put(ctx, v)
		select {
		case err := <-ch:
			return err
		case <-time.After(time.Duration(r.IntN(2000)) * time.Microsecond):
		}
		cancel()
		return <-ch
	case 3:
		return q.TryPut(ctx, v)
	default:
		return <-q.Put(ctx, v)
	}
}
