package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/matryer/is"
)

// seq yields 0..n-1.
func seq(n int) func(func(int) bool) {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// collector is a sink that records what it got.
type collector[T any] struct {
	mu  sync.Mutex
	got []T
}

func (c *collector[T]) sink(_ context.Context, v T) error {
	c.mu.Lock()
	c.got = append(c.got, v)
	c.mu.Unlock()
	return nil
}

func (c *collector[T]) items() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

func TestStageChain(t *testing.T) {
	is := is.New(t)
	p := NewPipeline(t.Context())
	nums, strs := NewQueue[int](4), NewQueue[string](4)
	Source(p, nums, seq(100))
	Stage(p, nums, strs, 3, func(_ context.Context, i int) (string, error) { return fmt.Sprint(i * 2), nil })
	var c collector[string]
	Sink(p, strs, 2, c.sink)
	is.NoErr(p.Run())
	got := c.items()
	slices.Sort(got)
	want := make([]string, 100)
	for i := range want {
		want[i] = fmt.Sprint(i * 2)
	}
	slices.Sort(want)
	is.Equal(got, want)
	is.Equal(p.Dropped(), 0)
	is.Equal(nums.Unfinished(), 0) // a TaskDone per item
	is.Equal(strs.Unfinished(), 0)
	_, err := nums.TryGet()
	is.Equal(err, ErrShutdown) // shut down when its producer finished
	is.True(p.Context().Err() != nil)
}

// OrderedStage puts results in input order, however the workers' times mix.
func TestStageOrdered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		p := NewPipeline(t.Context())
		in, out := NewQueue[int](0), NewQueue[int](3)
		Source(p, in, seq(200))
		OrderedStage(p, in, out, 5, func(_ context.Context, i int) (int, error) {
			time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
			return i, nil
		})
		var c collector[int]
		Sink(p, out, 1, c.sink)
		is.NoErr(p.Run())
		is.Equal(c.items(), slices.Collect(seq(200)))
	})
}

// Fan-in: two sources and a stage put into one queue, which is shut down
// only when the last of them has finished.
func TestStageFanIn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		p := NewPipeline(t.Context())
		a, merged := NewQueue[int](1), NewQueue[int](2)
		slow := make(chan struct{})
		Source(p, merged, seq(10))
		Source(p, a, func(yield func(int) bool) {
			<-slow
			for i := 100; i < 105; i++ {
				if !yield(i) {
					return
				}
			}
		})
		Stage(p, a, merged, 2, func(_ context.Context, i int) (int, error) { return i, nil })
		var c collector[int]
		Sink(p, merged, 1, c.sink)
		p.Start()
		synctest.Wait()
		is.Equal(len(c.items()), 10) // the first source is done...
		_, err := merged.TryGet()
		is.Equal(err, ErrEmpty) // ...but merged is not shut down
		close(slow)
		<-p.Wait()
		is.NoErr(p.Err())
		got := c.items()
		slices.Sort(got)
		is.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, 101, 102, 103, 104})
	})
}

// Backpressure: with the sink stuck, a stage takes no more than its output
// queue and its workers can hold.
func TestStageBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		p := NewPipeline(t.Context())
		in, out := NewQueue[int](0), NewQueue[int](2)
		for i := range 100 {
			is.NoErr(in.TryPut(i))
		}
		var calls atomic.Int32
		Stage(p, in, out, 1, func(_ context.Context, i int) (int, error) { calls.Add(1); return i, nil })
		stuck := make(chan struct{})
		Sink(p, out, 1, func(context.Context, int) error { <-stuck; return nil })
		p.Start()
		synctest.Wait()
		// 1 in the sink, 2 in out, 1 waiting for room in the worker.
		is.Equal(int(calls.Load()), 4)
		is.Equal(in.Len(), 96)
		is.Equal(out.Len(), 2)
		p.Stop(false)
		close(stuck)
		<-p.Wait()
		is.Equal(int(calls.Load()), 100)
		is.Equal(p.Dropped(), 0)
	})
}

// The first failure cancels the pipeline with it as the cause; a failure
// that happens meanwhile is reported too; items not taken stay queued.
func TestStageFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		is := is.New(t)
		p := NewPipeline(t.Context())
		in, out := NewQueue[int](0), NewQueue[int](0)
		for i := range 10 {
			is.NoErr(in.TryPut(i))
		}
		gate := make(chan struct{})
		errA, errB := errors.New("a"), errors.New("b")
		Stage(p, in, out, 2, func(ctx context.Context, i int) (int, error) {
			<-gate
			switch i {
			case 0:
				return 0, errA
			case 1:
				return 0, errB
			}
			return i, nil
		})
		p.Start()
		synctest.Wait() // both workers hold an item
		close(gate)
		<-p.Wait()
		err := p.Err()
		is.True(errors.Is(err, errA))
		is.True(errors.Is(err, errB))
		is.True(errors.Is(context.Cause(p.Context()), errA) || errors.Is(context.Cause(p.Context()), errB))
		is.Equal(p.Failed(), 2)
		is.Equal(in.Len(), 8) // not taken: still there
		is.Equal(p.Dropped(), 0)
		is.Equal(in.Unfinished(), 8)
	})
}

// Stop(false) drains stage by stage; Stop(true) drops what is left and
// counts it.
// TestStageStop: a stop drains or drops, and is no failure, whether the
// function in flight finishes its item or gives up on it with ctx.Err()
// (counted as dropped, not failed).
func TestStageStop(t *testing.T) {
	for _, c := range []struct{ immediate, givesUp bool }{{false, false}, {true, false}, {true, true}} {
		immediate := c.immediate
		t.Run(fmt.Sprintf("immediate=%v/givesUp=%v", c.immediate, c.givesUp), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				is := is.New(t)
				p := NewPipeline(t.Context())
				in, mid := NewQueue[int](0), NewQueue[int](0)
				for i := range 20 {
					is.NoErr(in.TryPut(i))
				}
				gate := make(chan struct{})
				Stage(p, in, mid, 1, func(ctx context.Context, i int) (int, error) {
					select {
					case <-gate:
					case <-ctx.Done():
						if c.givesUp {
							return 0, ctx.Err()
						}
					}
					return i, nil
				})
				var got collector[int]
				Sink(p, mid, 1, got.sink)
				p.Start()
				synctest.Wait()
				p.Stop(immediate)
				close(gate)
				<-p.Wait()
				is.NoErr(p.Err())
				is.Equal(p.Failed(), 0)
				if immediate {
					is.Equal(len(got.items()), 0)
					is.Equal(p.Dropped(), 20) // 19 in the queue, 1 in flight
					is.Equal(in.Len(), 0)
					is.Equal(in.Unfinished(), 0)
				} else {
					is.Equal(got.items(), slices.Collect(seq(20)))
					is.Equal(p.Dropped(), 0)
				}
				is.Equal(in.TryPut(99), ErrShutdown)
			})
		})
	}
}

func TestStageMisuse(t *testing.T) {
	p := NewPipeline(t.Context())
	q := NewQueue[int](0)
	f := func(_ context.Context, i int) (int, error) { return i, nil }
	isChansPanic(t, func() { Stage(p, q, q, 0, f) })
	isChansPanic(t, func() { Stage[int, int](p, q, q, 1, nil) })
	isChansPanic(t, func() { Stage(p, nil, q, 1, f) })
	isChansPanic(t, func() { Sink(p, q, 0, func(context.Context, int) error { return nil }) })
	isChansPanic(t, func() { Source[int](p, q, nil) })
	p.Start()
	isChansPanic(t, func() { Sink(p, q, 1, func(context.Context, int) error { return nil }) })
	isChansPanic(t, p.Start)
	<-p.Wait() // no parts: finished at once
}

// TestHammerPipeline runs pipelines of three stages (ordered or not, fan-in
// of two feeders) while the test stops them at a random moment in a random
// way: graceful stop, immediate stop, a failure, or the parent context
// ending. Whatever happens, no item is lost: every item a queue accepted is
// delivered, still in a queue, dropped or failed, and an ordered pipeline
// delivers in order.
func TestHammerPipeline(t *testing.T) {
	runs := max(hammerOps()/500, 20)
	ways := []string{"graceful", "immediate", "failure", "parent"}
	tally := map[string]int{}
	for run := range runs {
		r := rand.New(rand.NewPCG(uint64(run), 99))
		way := ways[r.IntN(len(ways))]
		ordered := r.IntN(2) == 0
		tally[way]++
		t.Run("", func(t *testing.T) { hammerPipeline(t, r, way, ordered) })
		if t.Failed() {
			t.Fatalf("run %d: %s, ordered=%v", run, way, ordered)
		}
	}
	t.Logf("%d pipelines: %v", runs, tally)
}

func hammerPipeline(t *testing.T, r *rand.Rand, way string, ordered bool) {
	is := is.New(t)
	parent, cancelParent := context.WithCancel(t.Context())
	defer cancelParent()
	p := NewPipeline(parent)
	in := NewQueue[int](1 + r.IntN(4))
	mid := NewQueue[int](1 + r.IntN(4))
	out := NewQueue[int](1 + r.IntN(4))
	failAt := -1
	if way == "failure" {
		failAt = r.IntN(200)
	}
	step := func(_ context.Context, i int) (int, error) {
		if i == failAt {
			return 0, errors.New("planted")
		}
		if i%7 == 0 {
			runtime.Gosched()
		}
		return i, nil
	}
	if ordered {
		OrderedStage(p, in, mid, 1+r.IntN(4), step)
		OrderedStage(p, mid, out, 1+r.IntN(4), step)
	} else {
		Stage(p, in, mid, 1+r.IntN(4), step)
		Stage(p, mid, out, 1+r.IntN(4), step)
	}
	var c collector[int]
	Sink(p, out, 1, c.sink)
	p.Start()

	// Two feeders put 0..199 (the evens and the odds) into in, counting
	// what in accepted; the queue is the pipeline's input, fed from
	// outside.
	var feeders sync.WaitGroup
	var feedMu sync.Mutex // one put at a time, so the accepted order is known
	var accepted []int
	for f := range 2 {
		feeders.Go(func() {
			for i := f; i < 200; i += 2 {
				feedMu.Lock()
				err := <-in.Put(parent, i)
				if err == nil {
					accepted = append(accepted, i)
				}
				feedMu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	stopAt := r.IntN(400)
	for range stopAt {
		runtime.Gosched()
	}
	switch way {
	case "graceful":
		feeders.Wait()
		p.Stop(false)
	case "immediate":
		p.Stop(true)
	case "parent":
		cancelParent()
	case "failure":
		if failAt >= 0 {
			feeders.Wait()
			p.Stop(false) // the failure may come first, or not at all if not fed
		}
	}
	feeders.Wait()
	<-p.Wait()
	got := c.items()
	queued := in.Len() + mid.Len() + out.Len()
	is.Equal(len(accepted), len(got)+queued+p.Dropped()+p.Failed()) // nothing lost
	if way == "graceful" {
		is.Equal(queued+p.Dropped()+p.Failed(), 0)
	}
	if way == "immediate" {
		is.Equal(queued, 0)
	}
	if ordered {
		is.True(isSubsequence(got, accepted)) // delivered in the order accepted
	}
}

// isSubsequence reports whether sub appears in s in order.
func isSubsequence(sub, s []int) bool {
	i := 0
	for _, v := range s {
		if i < len(sub) && sub[i] == v {
			i++
		}
	}
	return i == len(sub)
}
