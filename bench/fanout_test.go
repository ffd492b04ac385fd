package main

// BenchmarkFanout and BenchmarkPipeline set turnstile's TaskGroup and
// pipeline stages beside errgroup, sourcegraph/conc, destel/rill and plain
// channels, doing the same work the same way each library is meant to be
// used: conc's v0.3.0 ResultPool returns results in completion order, so
// its tasks write by index, as errgroup's do; rill is FromSlice, OrderedMap
// and ToSlice; chan is eight hand-written workers. Issue 13's targets are
// checked against them (targets.go); alone, compare them with
//
//	go test -run '^$' -bench 'Fanout|Pipeline' -count 6 > pipe.txt
//	go tool benchstat -table .name -col /impl pipe.txt

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/destel/rill"
	"github.com/sourcegraph/conc/pool"
	"github.com/turnstile-go/turnstile/chans"
	"golang.org/x/sync/errgroup"
)

const (
	fanTasks = 1000 // tasks per fan-out, items per pipeline run
	fanLimit = 8    // at most this many at once
)

// A workload is what one task does with its input: nothing (the pure cost
// of the machinery) or hashing a KiB (about a microsecond and a half, a
// stand-in for a small unit of real work).
type workload struct {
	name string
	f    func(int) uint64
}

var block = make([]byte, 1024)

var workloads = []workload{
	{"none", func(i int) uint64 { return uint64(i) }},
	{"sha256-1KiB", func(i int) uint64 {
		var b [1024]byte
		copy(b[:], block)
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		s := sha256.Sum256(b[:])
		return binary.LittleEndian.Uint64(s[:])
	}},
}

// fanOut runs fanTasks tasks, at most fanLimit at once, and returns their
// results in submission order; every impl does exactly this.
var fanOuts = []struct {
	impl string
	run  func(ctx context.Context, work func(int) uint64) ([]uint64, error)
}{
	{"chans", func(ctx context.Context, work func(int) uint64) ([]uint64, error) {
		g := chans.NewTaskGroup[uint64](ctx, fanLimit, chans.CancelOnFailure)
		defer g.Cancel()
		for i := range fanTasks {
			g.Go(func(context.Context) (uint64, error) { return work(i), nil })
		}
		return g.Collect(ctx)
	}},
	{"errgroup", func(ctx context.Context, work func(int) uint64) ([]uint64, error) {
		g, _ := errgroup.WithContext(ctx)
		g.SetLimit(fanLimit)
		out := make([]uint64, fanTasks)
		for i := range fanTasks {
			g.Go(func() error { out[i] = work(i); return nil })
		}
		return out, g.Wait()
	}},
	{"conc", func(ctx context.Context, work func(int) uint64) ([]uint64, error) {
		// conc v0.3.0's ResultPool returns results in completion order,
		// so the tasks write by index instead, as with errgroup.
		p := pool.New().WithContext(ctx).WithCancelOnError().WithMaxGoroutines(fanLimit)
		out := make([]uint64, fanTasks)
		for i := range fanTasks {
			p.Go(func(context.Context) error { out[i] = work(i); return nil })
		}
		return out, p.Wait()
	}},
	{"rill", func(ctx context.Context, work func(int) uint64) ([]uint64, error) {
		idx := make([]int, fanTasks)
		for i := range idx {
			idx[i] = i
		}
		return rill.ToSlice(rill.OrderedMap(rill.FromSlice(idx, nil), fanLimit, func(i int) (uint64, error) {
			return work(i), nil
		}))
	}},
	{"chan", func(ctx context.Context, work func(int) uint64) ([]uint64, error) {
		// The hand-written version: fanLimit workers take indexes from a
		// channel and write results by index.
		out := make([]uint64, fanTasks)
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range fanLimit {
			wg.Go(func() {
				for i := range jobs {
					out[i] = work(i)
				}
			})
		}
		for i := range fanTasks {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		return out, nil
	}},
}

func BenchmarkFanout(b *testing.B) {
	for _, w := range workloads {
		want := make([]uint64, fanTasks)
		for i := range want {
			want[i] = w.f(i)
		}
		for _, fo := range fanOuts {
			b.Run("work="+w.name+"/impl="+fo.impl, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					got, err := fo.run(b.Context(), w.f)
					if err != nil || len(got) != fanTasks || got[fanTasks-1] != want[fanTasks-1] || got[0] != want[0] {
						b.Fatalf("%s: wrong result (err %v)", fo.impl, err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fanTasks), "ns/task")
			})
		}
	}
}

// TestFanoutImplsAgree checks that every fan-out returns every result, in
// order, so the benchmark compares implementations of the same thing.
func TestFanoutImplsAgree(t *testing.T) {
	w := workloads[1]
	want := make([]uint64, fanTasks)
	for i := range want {
		want[i] = w.f(i)
	}
	for _, fo := range fanOuts {
		got, err := fo.run(t.Context(), w.f)
		if err != nil {
			t.Fatalf("%s: %v", fo.impl, err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: result %d is %d, want %d", fo.impl, i, got[i], want[i])
			}
		}
	}
}
