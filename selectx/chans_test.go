package selectx_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/chans"
	"github.com/turnstile-go/turnstile/selectx"
)

// These tests race many goroutines through selectx over the real chans
// primitives. Each call's ctx is cancelled at a random moment: before the
// call, by another goroutine while it runs, or not until it returns. No
// timing is involved; the scheduler supplies the interleavings.

const (
	racers = 32
	rounds = 200
)

// raceCtx returns a ctx that is cancelled at a random moment.
func raceCtx(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	switch rand.IntN(3) {
	case 0:
		cancel()
	case 1:
		go func() {
			runtime.Gosched()
			cancel()
		}()
	}
	return ctx, cancel
}

// waitAll waits for wg, and fails the test after a minute: a lost wake-up
// would otherwise hang until go test's own timeout, with no word on where.
func waitAll(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("racers still running after a minute (a lost wake-up?)")
	}
}

func TestRaceFirstOverLocks(t *testing.T) {
	is := is.New(t)
	var locks [3]chans.Lock
	var holders [3]atomic.Int32
	var wins atomic.Int64
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for range rounds {
				ctx, cancel := raceCtx(t.Context())
				i, release, err := selectx.First(ctx, locks[0].Acquire, locks[1].Acquire, locks[2].Acquire)
				cancel()
				if err != nil {
					if i != -1 || release != nil {
						t.Errorf("failed First returned %d and a Release", i)
					}
					continue
				}
				wins.Add(1)
				if n := holders[i].Add(1); n != 1 {
					t.Errorf("lock %d has %d holders", i, n)
				}
				runtime.Gosched()
				holders[i].Add(-1)
				release() // panics if First handed out a Release twice
			}
		})
	}
	waitAll(t, &wg)
	for i := range locks {
		is.True(!locks[i].Locked()) // a grant taken and not handed out would leave one locked
		_, ok := locks[i].TryAcquire()
		is.True(ok)
	}
	t.Logf("%d of %d calls won a lock", wins.Load(), racers*rounds)
}

func TestRaceFirstOverSemaphores(t *testing.T) {
	is := is.New(t)
	sems := []*chans.Semaphore{chans.NewSemaphore(2), chans.NewBoundedSemaphore(3), chans.NewSemaphore(1)}
	weight := []int32{1, 2, 1}
	var held [3]atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for range rounds {
				ctx, cancel := raceCtx(t.Context())
				i, release, err := selectx.First(ctx,
					sems[0].Acquire,
					func(ctx context.Context) <-chan chans.Release { return sems[1].AcquireN(ctx, 2) },
					sems[2].Acquire)
				cancel()
				if err != nil {
					continue
				}
				if n, limit := held[i].Add(weight[i]), []int32{2, 3, 1}[i]; n > limit {
					t.Errorf("semaphore %d: %d permits out of %d held", i, n, limit)
				}
				runtime.Gosched()
				held[i].Add(-weight[i])
				release()
			}
		})
	}
	waitAll(t, &wg)
	is.Equal(sems[0].Value(), 2)
	is.Equal(sems[1].Value(), 3)
	is.Equal(sems[2].Value(), 1)
}

// TestRaceFirstOverQueues checks that every item accepted by a queue is
// either received exactly once or still in a queue.
func TestRaceFirstOverQueues(t *testing.T) {
	is := is.New(t)
	qs := []*chans.Queue[int]{chans.NewQueue[int](0), chans.NewLifoQueue[int](4), chans.NewQueue[int](1)}
	var (
		mu       sync.Mutex
		seen     = make(map[int]int)
		accepted int
		getters  sync.WaitGroup
		producer sync.WaitGroup
	)
	stop, stopProducer := context.WithCancel(t.Context())
	producer.Go(func() {
		for v := 0; ; v++ {
			ctx, cancel := raceCtx(stop)
			err := <-qs[v%len(qs)].Put(ctx, v)
			cancel()
			switch {
			case err == nil:
				accepted++
			case stop.Err() != nil:
				return
			}
		}
	})
	for range racers {
		getters.Go(func() {
			for range rounds {
				ctx, cancel := raceCtx(t.Context())
				_, v, err := selectx.First(ctx, qs[0].Get, qs[1].Get, qs[2].Get)
				cancel()
				if err != nil {
					continue
				}
				mu.Lock()
				seen[v]++
				mu.Unlock()
			}
		})
	}
	waitAll(t, &getters)
	stopProducer()
	waitAll(t, &producer)
	received := len(seen)
	for _, q := range qs {
		for q.Len() > 0 {
			v, err := q.TryGet()
			is.NoErr(err)
			seen[v]++
		}
	}
	is.Equal(len(seen), accepted)
	for v, n := range seen {
		if n != 1 {
			t.Errorf("item %d seen %d times", v, n)
		}
	}
	t.Logf("%d items accepted, %d received through First", accepted, received)
}

// TestRaceSelectLockOrItem mixes types: each call takes either the lock or
// a queue item, never both, never neither when it reports a winner.
func TestRaceSelectLockOrItem(t *testing.T) {
	is := is.New(t)
	var lock chans.Lock
	q := chans.NewQueue[int](0)
	for v := range racers * rounds / 4 {
		is.NoErr(q.TryPut(v))
	}
	var holders atomic.Int32
	var got atomic.Int64
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for range rounds {
				ctx, cancel := raceCtx(t.Context())
				_, _ = selectx.Select(ctx,
					selectx.On(lock.Acquire, func(release chans.Release) {
						if holders.Add(1) != 1 {
							t.Error("two holders")
						}
						runtime.Gosched()
						holders.Add(-1)
						release()
					}),
					selectx.On(q.Get, func(int) { got.Add(1) }),
				)
				cancel()
			}
		})
	}
	waitAll(t, &wg)
	is.True(!lock.Locked())
	is.Equal(int(got.Load())+q.Len(), racers*rounds/4)
}

// TestRaceCompletedAndAll takes permits with Completed (breaking out after
// a random number) and All, and checks that all come back.
func TestRaceCompletedAndAll(t *testing.T) {
	is := is.New(t)
	sems := []*chans.Semaphore{chans.NewSemaphore(2), chans.NewSemaphore(2), chans.NewSemaphore(2)}
	ops := []selectx.Op[chans.Release]{sems[0].Acquire, sems[1].Acquire, sems[2].Acquire}
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for range rounds / 4 {
				ctx, cancel := raceCtx(t.Context())
				want := rand.IntN(4)
				n := 0
				for _, release := range selectx.Completed(ctx, ops...) {
					release()
					if n++; n == want {
						break
					}
				}
				cancel()

				// All holds what it received while it waits for the rest,
				// so racing Alls can deadlock (A holds sem 0 and waits for
				// sem 1, B the reverse): this ctx always ends.
				ctx, cancel = context.WithCancel(t.Context())
				go func() {
					runtime.Gosched()
					cancel()
				}()
				rs, err := selectx.All(ctx, ops...)
				cancel()
				taken := 0
				for _, r := range rs {
					if r != nil {
						taken++
						r()
					}
				}
				if err == nil && taken != len(ops) {
					t.Errorf("All succeeded with %d of %d", taken, len(ops))
				}
			}
		})
	}
	waitAll(t, &wg)
	for _, s := range sems {
		is.Equal(s.Value(), 2)
	}
}

// #13: when every op drops out, the error keeps each reason its primitive
// gives: a failed Result's error, a shut down Queue's ErrShutdown; errors.Is
// finds them and ErrClosed, and errors.As the op's index.
func TestFailuresKeepTheirCause(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	boom := errors.New("boom")
	var failed chans.Result[int]
	_ = failed.Fail(boom)
	q := chans.NewQueue[int](0)
	q.Shutdown(false)

	_, _, err := selectx.First(ctx, failed.Get, q.Get)
	is.True(errors.Is(err, boom))
	is.True(errors.Is(err, chans.ErrShutdown))
	is.True(errors.Is(err, selectx.ErrClosed))

	_, err = selectx.All(ctx, q.Get, failed.Get)
	var oe *selectx.OpError
	is.True(errors.As(err, &oe))
	is.True(oe.Index == 0 || oe.Index == 1) // the first to be seen closed
	is.True(errors.Is(err, selectx.ErrClosed))

	_, err = selectx.Select(ctx, selectx.On(failed.Get, nil))
	is.True(errors.Is(err, boom))

	var reasons []error
	for c, err := range selectx.CompletedErr(ctx, failed.Get, q.Get) {
		is.True(err != nil)
		is.True(errors.As(err, &oe))
		is.Equal(oe.Index, c.Index)
		reasons = append(reasons, err)
	}
	is.Equal(len(reasons), 2)

	// An op with no reason beyond closing is ErrClosed alone.
	closed := func(context.Context) <-chan int { c := make(chan int); close(c); return c }
	_, _, err = selectx.First(ctx, closed)
	is.Equal(err, selectx.ErrClosed)
}

// #13: Bind turns a method with one more argument into an Op; calling the Op
// costs nothing beyond the method's own work.
func TestBind(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	s := chans.NewSemaphore(3)
	i, r, err := selectx.First(ctx, selectx.Bind(s.AcquireN, 2), selectx.Bind(s.AcquireN, 1))
	is.NoErr(err)
	is.Equal(i, 0)
	is.Equal(s.Value(), 1)
	r()
	q := chans.NewQueue[string](1)
	_, answer, err := selectx.First(ctx, selectx.Bind(q.Put, "job"))
	is.NoErr(err)
	is.NoErr(answer)
	v, _ := q.TryGet()
	is.Equal(v, "job")

	ready := make(chan int, 1)
	f := func(_ context.Context, _ int) <-chan int { return ready }
	op := selectx.Bind(f, 7)
	is.Equal(testing.AllocsPerRun(100, func() { op(ctx) }), 0.0)
}

// goroutinesStarted returns a func that tells how many goroutines were
// started since: the runtime's count of goroutines created, from Go 1.26 on.
// Before it, the number alive stands in for it, which a goroutine of an
// earlier test that ends meanwhile moves too (so -shuffle could fail the
// test that way under load).
func goroutinesStarted() func() int {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	read := func() int {
		metrics.Read(s)
		if s[0].Value.Kind() == metrics.KindUint64 {
			return int(s[0].Value.Uint64())
		}
		return runtime.NumGoroutine()
	}
	before := read()
	return func() int { return read() - before }
}

// #12: First over four locks, three held, allocates a bounded, small number
// of objects and starts no goroutine: losers are not queued in the first pass.
func TestFirstOverHeldLocksStartsNoGoroutine(t *testing.T) {
	is := is.New(t)
	ctx := context.Background()
	locks := make([]*chans.Lock, 4)
	var ops []selectx.Op[chans.Release]
	for i := range locks {
		locks[i] = new(chans.Lock)
		ops = append(ops, locks[i].Acquire)
	}
	for i := range 3 {
		locks[i+1].TryAcquire()
	}
	started := goroutinesStarted()
	for range 100 {
		i, r, err := selectx.First(ctx, ops...)
		is.NoErr(err)
		is.Equal(i, 0)
		r()
	}
	is.Equal(started(), 0)
	for _, l := range locks[1:] {
		is.Equal(l.String(), "Lock(locked, waiters=0)")
	}
}
