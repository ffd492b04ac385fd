package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/matryer/is"
)

// gate is a task body that blocks until released, counting how many run at
// once, so tests can hold tasks in their slots and let them go in an order
// of their choosing.
type gate struct {
	mu       sync.Mutex
	running  int
	most     int
	started  atomic.Int32
	releases map[int]chan error
}

func newGate() *gate { return &gate{releases: map[int]chan error{}} }

func (g *gate) ch(i int) chan error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.releases[i]
	if !ok {
		c = make(chan error, 1)
		g.releases[i] = c
	}
	return c
}

// task returns the body of task i: it returns i, or the error it is
// released with, or ctx's cause if the group is cancelled first.
func (g *gate) task(i int) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		g.started.Add(1)
		g.mu.Lock()
		g.running++
		g.most = max(g.most, g.running)
		g.mu.Unlock()
		defer func() {
			g.mu.Lock()
			g.running--
			g.mu.Unlock()
		}()
		select {
		case err := <-g.ch(i):
			return i, err
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		}
	}
}

func (g *gate) release(i int, err error) { g.ch(i) <- err }

func TestTaskGroupLimitReachedNeverExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 3, CancelOnFailure)
		defer tg.Cancel()
		gt := newGate()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 10 {
				tg.Go(gt.task(i))
			}
		}()
		synctest.Wait()
		is.Equal(int(gt.started.Load()), 3) // Go blocks for the fourth
		is.Equal(tg.Len(), 3)
		for i := range 10 {
			gt.release(i, nil)
			synctest.Wait()
		}
		<-done
		<-tg.Wait()
		is.Equal(gt.most, 3)
		vs, err := tg.Collect(t.Context())
		is.NoErr(err)
		is.Equal(vs, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
		is.Equal(tg.sem.Value(), 3) // every slot back
	})
}

// A Start whose ctx ends before it got a slot takes nothing, runs nothing and
// is not recorded; the slot goes to the next start in line.
func TestTaskGroupStartCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		gt := newGate()
		first, ok := <-tg.Start(t.Context(), gt.task(0))
		is.True(ok)

		ctx, cancel := context.WithCancel(t.Context())
		abandoned := tg.Start(ctx, gt.task(1))
		next := tg.Start(t.Context(), gt.task(2))
		synctest.Wait()
		_, _, ready := recvNow(abandoned)
		is.True(!ready) // still waiting for the slot
		cancel()
		synctest.Wait()
		_, ok, ready = recvNow(abandoned)
		is.True(ready && !ok) // closed empty
		select {
		case <-tg.Wait():
			t.Fatal("idle while a start waits")
		default:
		}

		gt.release(0, nil)
		r2, ok := <-next
		is.True(ok)
		gt.release(2, nil)
		<-tg.Wait()
		is.Equal(int(gt.started.Load()), 2) // task 1 never ran
		is.Equal(tg.Len(), 2)
		v, err := first.TryGet()
		is.NoErr(err)
		is.Equal(v, 0)
		v, err = r2.TryGet()
		is.NoErr(err)
		is.Equal(v, 2)
		is.Equal(tg.sem.Value(), 1)
	})
}

// W4: a ctx ended at the call fails the start even with a slot free.
func TestTaskGroupStartPreferToFail(t *testing.T) {
	is := is.New(t)
	tg := NewTaskGroup[int](t.Context(), 2, CancelOnFailure)
	defer tg.Cancel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	_, ok := <-tg.Start(ctx, func(context.Context) (int, error) { ran = true; return 0, nil })
	is.True(!ok)
	r, err := tg.StartWait(ctx, func(context.Context) (int, error) { ran = true; return 0, nil })
	is.True(r == nil)
	is.True(errors.Is(err, context.Canceled))
	<-tg.Wait()
	is.True(!ran)
	is.Equal(tg.Len(), 0)
}

// A start received after its ctx ended tells the truth: once the slot was
// granted the task runs, and the channel holds its Result.
func TestTaskGroupStartFinalOnceGranted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		gt := newGate()
		<-tg.Start(t.Context(), gt.task(0))
		ctx, cancel := context.WithCancel(t.Context())
		ch := tg.Start(ctx, gt.task(1))
		gt.release(0, nil)
		synctest.Wait() // the slot went to the start, which started task 1
		cancel()
		r, ok := <-ch
		is.True(ok)
		gt.release(1, nil)
		<-r.Done()
		v, err := r.TryGet()
		is.NoErr(err)
		is.Equal(v, 1)
	})
}

// Starts waiting for a slot get it in the order of their calls, whichever
// API made them.
func TestTaskGroupStartFIFO(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		var order []int
		var mu sync.Mutex
		body := func(i int) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
				return i, nil
			}
		}
		hold := make(chan struct{})
		<-tg.Start(t.Context(), func(context.Context) (int, error) { <-hold; return -1, nil })
		for i := range 6 {
			switch i % 3 {
			case 0:
				tg.Start(t.Context(), body(i))
			case 1:
				go tg.StartWait(t.Context(), body(i))
			case 2:
				go tg.Go(body(i))
			}
			synctest.Wait() // queued before the next call
		}
		close(hold)
		<-tg.Wait()
		is.Equal(order, []int{0, 1, 2, 3, 4, 5})
	})
}

// goid is the id of the calling goroutine, from its stack's first line
// ("goroutine 18 [running]:"), for tests that check where a task ran.
func goid() string {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	f := strings.Fields(string(b))
	return f[1]
}

// TestTaskGroupGoPassesSlotsOn: a task that ends while a Go waits for a slot
// runs that Go's task in its own goroutine, in submission order, and no
// goroutine outlives the work (synctest.Test fails if one does). A Start
// waiting at the head of the line is served first, as FIFO asks, in the
// goroutine Start made for it.
func TestTaskGroupGoPassesSlotsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		var mu sync.Mutex
		var order []int
		where := map[int]string{}
		body := func(i int) func(context.Context) (int, error) {
			return func(context.Context) (int, error) {
				mu.Lock()
				order = append(order, i)
				where[i] = goid()
				mu.Unlock()
				return i, nil
			}
		}
		hold := make(chan struct{})
		tg.Go(func(context.Context) (int, error) {
			<-hold
			return body(0)(nil)
		})
		for i := 1; i <= 4; i++ {
			if i == 3 {
				tg.Start(t.Context(), body(i)) // queues: a channel waiter, no job
			} else {
				go tg.Go(body(i))
			}
			synctest.Wait() // queued before the next call
		}
		close(hold)
		vs, err := tg.Collect(t.Context())
		is.NoErr(err)
		is.Equal(vs, []int{0, 1, 2, 3, 4})
		is.Equal(order, []int{0, 1, 2, 3, 4})
		is.Equal(where[1], where[0]) // passed on
		is.Equal(where[2], where[0])
		is.True(where[3] != where[0]) // the Start's own goroutine
		is.Equal(tg.sem.free(), int64(1))
	})
}

// TestTaskGroupGoexitWithGoWaiting: a task that calls runtime.Goexit ends
// its goroutine, so the slot cannot pass on in it: it goes back, and the Go
// waiting for it starts its task in a goroutine of its own.
func TestTaskGroupGoexitWithGoWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		hold := make(chan struct{})
		first := tg.Go(func(context.Context) (int, error) { <-hold; runtime.Goexit(); return 0, nil })
		rs := make(chan *Result[int], 1)
		go func() { rs <- tg.Go(func(context.Context) (int, error) { return 1, nil }) }()
		synctest.Wait()
		close(hold)
		second := <-rs
		<-tg.Wait()
		_, err := first.TryGet()
		is.True(errors.Is(err, ErrGoexit))
		v, err := second.TryGet()
		is.NoErr(err)
		is.Equal(v, 1)
		is.Equal(tg.sem.free(), int64(1))
	})
}

func TestTaskGroupCancelOnFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 2, CancelOnFailure)
		defer tg.Cancel()
		gt := newGate()
		boom := errors.New("boom")
		tg.Go(gt.task(0))
		tg.Go(gt.task(1))
		late := make(chan *Result[int])
		go func() { late <- tg.Go(gt.task(2)) }() // waits for a slot
		synctest.Wait()
		gt.release(1, boom)
		r2 := <-late
		<-tg.Wait()

		is.Equal(int(gt.started.Load()), 2) // no task starts after the failure
		_, err := r2.TryGet()
		is.True(errors.Is(err, ErrNotStarted))
		is.True(errors.Is(err, boom)) // the cause, through the not-started error
		is.Equal(context.Cause(tg.Context()), boom)

		err = tg.Err()
		is.True(errors.Is(err, boom))
		is.True(!errors.Is(err, ErrNotStarted)) // not a failure of the group
		// Task 0 saw the cancellation and returned its cause: a failure too,
		// after the first.
		is.Equal(err.Error(), "boom\nboom")
		is.Equal(tg.Len(), 3) // results stay aligned with submissions
		vs, _ := tg.Collect(t.Context())
		is.Equal(len(vs), 3)

		// A start after the failure runs nothing.
		_, ok := <-tg.Start(t.Context(), gt.task(3))
		is.True(!ok)
		_, err = tg.StartWait(t.Context(), gt.task(3))
		is.True(errors.Is(err, ErrNotStarted))
	})
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestTaskGroupKeepGoingKeepsEveryFailure(t *testing.T) {
	is := is.New(t)
	tg := NewTaskGroup[int](t.Context(), 3, KeepGoing)
	defer tg.Cancel()
	errA := errors.New("a")
	for i := range 20 {
		tg.Go(func(context.Context) (int, error) {
			switch i {
			case 5:
				return 0, errA
			case 9:
				return 0, &codeError{9}
			case 13:
				panic(fmt.Errorf("wrapped: %w", context.DeadlineExceeded))
			}
			return i * i, nil
		})
	}
	vs, err := tg.Collect(t.Context())
	is.True(errors.Is(err, errA))
	var ce *codeError
	is.True(errors.As(err, &ce))
	is.Equal(ce.code, 9)
	is.True(errors.Is(err, context.DeadlineExceeded)) // through the PanicError
	var pe *PanicError
	is.True(errors.As(err, &pe))
	is.True(strings.Contains(string(pe.Stack), "TestTaskGroupKeepGoingKeepsEveryFailure"))
	is.Equal(len(vs), 20)
	for i, v := range vs {
		if i != 5 && i != 9 && i != 13 {
			is.Equal(v, i*i)
		}
	}
	is.True(tg.Context().Err() == nil) // KeepGoing does not cancel
}

func TestTaskGroupPanicAndGoexit(t *testing.T) {
	is := is.New(t)
	var tg TaskGroup[string] // the zero value works
	r1 := tg.Go(func(context.Context) (string, error) { panic("oops") })
	r2 := tg.Go(func(context.Context) (string, error) { runtime.Goexit(); return "", nil })
	<-tg.Wait()
	_, err := r1.TryGet()
	var pe *PanicError
	is.True(errors.As(err, &pe))
	is.Equal(pe.Value, "oops")
	_, err = r2.TryGet()
	is.Equal(err, ErrGoexit)
	is.True(errors.As(tg.Err(), &pe))
	is.True(errors.Is(tg.Err(), ErrGoexit))
}

// Results yields in submission order and Completed in completion order, both
// while the tasks still run.
func TestTaskGroupResultsAndCompletedOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 0, KeepGoing)
		defer tg.Cancel()
		gt := newGate()
		for i := range 4 {
			tg.Go(gt.task(i))
		}
		var inOrder, completed []int
		var wg sync.WaitGroup
		wg.Go(func() {
			for i, r := range tg.Results(t.Context()) {
				v, _ := r.TryGet()
				is.Equal(i, v)
				inOrder = append(inOrder, i)
			}
		})
		wg.Go(func() {
			for i, r := range tg.Completed(t.Context()) {
				is.True(r.Ready())
				completed = append(completed, i)
			}
		})
		for _, i := range []int{2, 0, 3, 1} {
			gt.release(i, nil)
			synctest.Wait()
		}
		wg.Wait()
		is.Equal(inOrder, []int{0, 1, 2, 3})
		is.Equal(completed, []int{2, 0, 3, 1})
	})
}

func TestTaskGroupIteratorsStopAtCtxAndBreak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 0, KeepGoing)
		defer tg.Cancel()
		gt := newGate()
		tg.Go(gt.task(0))
		tg.Go(gt.task(1))
		gt.release(1, nil)
		synctest.Wait()
		ctx, cancel := context.WithCancel(t.Context())
		n := 0
		go func() { synctest.Wait(); cancel() }()
		for range tg.Results(ctx) { // task 0 never finishes before cancel
			n++
		}
		is.Equal(n, 0)
		for range tg.Completed(t.Context()) {
			n++
			break
		}
		is.Equal(n, 1)
		gt.release(0, nil)
		<-tg.Wait()
	})
}

func TestTaskGroupWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		var zero TaskGroup[int]
		is.True(isClosed(zero.Wait())) // fresh: idle
		tg := NewTaskGroup[int](t.Context(), 1, KeepGoing)
		defer tg.Cancel()
		is.True(isClosed(tg.Wait()))
		gt := newGate()
		tg.Go(gt.task(0))
		w1, w2 := tg.Wait(), tg.Wait()
		is.True(w1 == w2) // shared
		is.True(!isClosed(w1))
		gt.release(0, nil)
		synctest.Wait()
		is.True(isClosed(w1))
		tg.Go(gt.task(1))
		is.True(!isClosed(tg.Wait())) // busy again: a fresh channel
		gt.release(1, nil)
		<-tg.Wait()
	})
}

// GoSelf hands the task its own Result, race-free (run with -race): the task
// can give it to a helper that waits on it.
func TestTaskGroupGoSelf(t *testing.T) {
	is := is.New(t)
	tg := NewTaskGroup[int](t.Context(), 2, CancelOnFailure)
	defer tg.Cancel()
	seen := make(chan *Result[int], 1)
	var watcher *Result[int]
	r := tg.GoSelf(func(ctx context.Context, self *Result[int]) (int, error) {
		seen <- self
		watcher = tg.Go(func(ctx context.Context) (int, error) { <-self.Done(); return self.TryGet() })
		return 42, nil
	})
	is.True(<-seen == r)
	<-tg.Wait()
	v, err := watcher.TryGet()
	is.NoErr(err)
	is.Equal(v, 42)
}

func TestTaskGroupCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		tg := NewTaskGroup[int](t.Context(), 1, CancelOnFailure)
		gt := newGate()
		r0 := tg.Go(gt.task(0))
		pending := tg.Start(t.Context(), gt.task(1))
		synctest.Wait()
		tg.Cancel()
		_, ok := <-pending
		is.True(!ok)
		<-tg.Wait()
		_, err := r0.TryGet()
		is.True(errors.Is(err, context.Canceled))      // the task saw the cancel...
		is.True(errors.Is(tg.Err(), context.Canceled)) // ...and returned it: its failure
		r := tg.Go(gt.task(2))
		_, err = r.TryGet()
		is.True(errors.Is(err, ErrNotStarted))
		is.Equal(int(gt.started.Load()), 1)
	})
}

func TestTaskGroupMisuse(t *testing.T) {
	is := is.New(t)
	isChansPanic(t, func() { NewTaskGroup[int](t.Context(), -1, KeepGoing) })
	var tg TaskGroup[int]
	isChansPanic(t, func() { tg.Go(nil) })
	isChansPanic(t, func() { tg.GoSelf(nil) })
	isChansPanic(t, func() { tg.Start(t.Context(), nil) })
	isChansPanic(t, func() { tg.StartWait(t.Context(), nil) })
	is.Equal(tg.Len(), 0)
}

func TestTaskGroupString(t *testing.T) {
	is := is.New(t)
	tg := NewTaskGroup[int](t.Context(), 8, KeepGoing)
	defer tg.Cancel()
	tg.Go(func(context.Context) (int, error) { return 0, errors.New("x") })
	<-tg.Wait()
	is.Equal(tg.String(), "TaskGroup(tasks=1, active=0, failed=1, limit=8)")
	var zero TaskGroup[int]
	is.Equal(zero.String(), "TaskGroup(tasks=0, active=0, failed=0)")
}

// TestHammerTaskGroup starts tasks with every API from several goroutines,
// each start under a ctx that may end at any moment, and holds the group to
// its ledger: every task that ran was recorded exactly once and every
// recorded task ran (or, from Go, is an ErrNotStarted), never more than the
// limit ran at once, and at the end every slot is back.
func TestHammerTaskGroup(t *testing.T) {
	is := is.New(t)
	const limit = 3
	ops := hammerOps() / 10
	tg := NewTaskGroup[int](t.Context(), limit, KeepGoing)
	defer tg.Cancel()
	var running, most, ran, refused, startedOK atomic.Int64
	body := func(ctx context.Context) (int, error) {
		n := running.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		ran.Add(1)
		runtime.Gosched()
		running.Add(-1)
		return 1, nil
	}
	var wg sync.WaitGroup
	for w := range hammerWorkers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 13))
			for range ops / hammerWorkers {
				ctx, cancel := context.WithCancel(t.Context())
				if r.IntN(2) == 0 {
					cancel() // sometimes before the call
				}
				switch r.IntN(3) {
				case 0:
					ch := tg.Start(ctx, body)
					if r.IntN(2) == 0 {
						runtime.Gosched()
						cancel()
					}
					if _, ok := <-ch; ok {
						startedOK.Add(1)
					} else {
						refused.Add(1)
					}
				case 1:
					go func() { runtime.Gosched(); cancel() }()
					if _, err := tg.StartWait(ctx, body); err == nil {
						startedOK.Add(1)
					} else {
						refused.Add(1)
					}
				case 2:
					tg.Go(body)
					startedOK.Add(1)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	<-tg.Wait()
	is.NoErr(tg.Err())
	is.True(most.Load() <= limit)
	is.Equal(int64(tg.Len()), startedOK.Load()) // recorded once each
	is.Equal(ran.Load(), startedOK.Load())      // and each ran
	is.Equal(tg.sem.Value(), limit)
	t.Logf("%d tasks ran, %d starts refused by their ctx, at most %d at once", ran.Load(), refused.Load(), most.Load())
}
