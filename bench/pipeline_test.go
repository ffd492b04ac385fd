package main

import (
	"context"
	"sync"
	"testing"

	"github.com/destel/rill"
	"github.com/sourcegraph/conc/stream"
	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/errgroup"
)

// pipeBuffer is the bound of every queue or channel between two parts.
const pipeBuffer = 16

// A pipeline: a source yields 0..fanTasks-1, a stage of fanLimit workers
// applies the work, a single sink folds the results (by xor, so the order
// does not matter and every result counts). Every impl returns the fold.
var pipelines = []struct {
	impl string
	run  func(ctx context.Context, work func(int) uint64) (uint64, error)
}{
	{"chans", func(ctx context.Context, work func(int) uint64) (uint64, error) {
		p := chans.NewPipeline(ctx)
		in := chans.NewQueue[int](pipeBuffer)
		out := chans.NewQueue[uint64](pipeBuffer)
		chans.Source(p, in, func(yield func(int) bool) {
			for i := range fanTasks {
				if !yield(i) {
					return
				}
			}
		})
		chans.Stage(p, in, out, fanLimit, func(_ context.Context, i int) (uint64, error) { return work(i), nil })
		var acc uint64
		chans.Sink(p, out, 1, func(_ context.Context, v uint64) error { acc ^= v; return nil })
		err := p.Run()
		return acc, err
	}},
	{"errgroup", func(ctx context.Context, work func(int) uint64) (uint64, error) {
		// errgroup's own pipeline pattern: a group for the producer, the
		// workers and the closer, channels in between.
		g, ctx := errgroup.WithContext(ctx)
		in := make(chan int, pipeBuffer)
		out := make(chan uint64, pipeBuffer)
		g.Go(func() error {
			defer close(in)
			for i := range fanTasks {
				select {
				case in <- i:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
		workers, wctx := errgroup.WithContext(ctx)
		for range fanLimit {
			workers.Go(func() error {
				for i := range in {
					select {
					case out <- work(i):
					case <-wctx.Done():
						return wctx.Err()
					}
				}
				return nil
			})
		}
		g.Go(func() error { defer close(out); return workers.Wait() })
		var acc uint64
		for v := range out {
			acc ^= v
		}
		return acc, g.Wait()
	}},
	{"conc", func(ctx context.Context, work func(int) uint64) (uint64, error) {
		// conc's stream: tasks run in a pool of fanLimit, their callbacks
		// run one at a time, in order, which is the sink.
		s := stream.New().WithMaxGoroutines(fanLimit)
		var acc uint64
		for i := range fanTasks {
			s.Go(func() stream.Callback {
				v := work(i)
				return func() { acc ^= v }
			})
		}
		s.Wait()
		return acc, nil
	}},
	{"rill", func(ctx context.Context, work func(int) uint64) (uint64, error) {
		src := rill.Generate(func(send func(int), _ func(error)) {
			for i := range fanTasks {
				send(i)
			}
		})
		src = rill.Buffer(src, pipeBuffer)
		mapped := rill.Buffer(rill.Map(src, fanLimit, func(i int) (uint64, error) { return work(i), nil }), pipeBuffer)
		var acc uint64
		err := rill.ForEach(mapped, 1, func(v uint64) error { acc ^= v; return nil })
		return acc, err
	}},
	{"chan", func(ctx context.Context, work func(int) uint64) (uint64, error) {
		in := make(chan int, pipeBuffer)
		out := make(chan uint64, pipeBuffer)
		go func() {
			defer close(in)
			for i := range fanTasks {
				in <- i
			}
		}()
		var wg sync.WaitGroup
		for range fanLimit {
			wg.Go(func() {
				for i := range in {
					out <- work(i)
				}
			})
		}
		go func() { wg.Wait(); close(out) }()
		var acc uint64
		for v := range out {
			acc ^= v
		}
		return acc, nil
	}},
}

func BenchmarkPipeline(b *testing.B) {
	for _, w := range workloads {
		var want uint64
		for i := range fanTasks {
			want ^= w.f(i)
		}
		for _, pl := range pipelines {
			b.Run("work="+w.name+"/impl="+pl.impl, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if got, err := pl.run(b.Context(), w.f); err != nil || got != want {
						b.Fatalf("%s: got %d, %v; want %d", pl.impl, got, err, want)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanTasks), "ns/item")
			})
		}
	}
}

func TestPipelineImplsAgree(t *testing.T) {
	for _, w := range workloads {
		var want uint64
		for i := range fanTasks {
			want ^= w.f(i)
		}
		for _, pl := range pipelines {
			if got, err := pl.run(t.Context(), w.f); err != nil || got != want {
				t.Fatalf("%s/%s: got %d, %v; want %d", w.name, pl.impl, got, err, want)
			}
		}
	}
}
