package etcd_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/turnstile-go/turnstile/dist/etcd"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Benchmarks of the lock against etcd's own concurrency.Mutex, on one
// embedded server in this process (fsync off, as in the tests), each
// benchmark running both implementations on it: impl=turnstile and
// impl=concurrency. BENCHMARKS.md has the figures and the command; run the
// test binary several times with -test.count=1 so that the two sides
// interleave.

// A player is one session's side of a lock: lock blocks until held, unlock
// gives it back.
type player struct {
	lock   func(ctx context.Context) error
	unlock func(ctx context.Context) error
}

// turnstilePlayer plays with an etcd.Lock; unlock returns at once, as
// Release does, and the release lands in the background.
func turnstilePlayer(s *etcd.Session, name string) player {
	l := etcd.NewLock(s, name)
	var g atomicGrant
	return player{
		lock: func(ctx context.Context) error {
			gr, err := l.AcquireWait(ctx)
			g.set(gr)
			return err
		},
		unlock: func(context.Context) error { g.take().Release(); return nil },
	}
}

// concurrencyPlayer plays with a concurrency.Mutex on its own session.
func concurrencyPlayer(b *testing.B, addr, name string) player {
	s, err := concurrency.NewSession(newClient(b, addr))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	m := concurrency.NewMutex(s, name)
	return player{lock: m.Lock, unlock: m.Unlock}
}

// atomicGrant passes a player's grant from lock to unlock.
type atomicGrant struct {
	mu sync.Mutex
	g  interface{ Release() }
}

func (a *atomicGrant) set(g interface{ Release() }) { a.mu.Lock(); a.g = g; a.mu.Unlock() }
func (a *atomicGrant) take() interface{ Release() } {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.g
	a.g = nil
	return g
}

// BenchmarkUncontended measures one session taking and giving back a free
// lock: for turnstile the acquire, the release, and the wait until the
// release has landed on the server (Session.Settle), so that both sides do
// the same two round trips per operation.
func BenchmarkUncontended(b *testing.B) {
	addr := startEtcd(b)
	b.Run("impl=turnstile", func(b *testing.B) {
		s := newSession(b, newClient(b, addr))
		l := etcd.NewLock(s, "uncontended")
		ctx := context.Background()
		for b.Loop() {
			g, err := l.AcquireWait(ctx)
			if err != nil {
				b.Fatal(err)
			}
			g.Release()
			if err := s.Settle(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=concurrency", func(b *testing.B) {
		p := concurrencyPlayer(b, addr, "uncontended-c")
		ctx := context.Background()
		for b.Loop() {
			if err := p.lock(ctx); err != nil {
				b.Fatal(err)
			}
			if err := p.unlock(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkHandoff measures two sessions (two clients, as two processes)
// passing one lock back and forth: each takes it, gives it back, and asks
// again at once, so the other, already queued, is next. The handoff latency
// is the time from one side's release call to the other side holding; the
// benchmark reports its median and 99th percentile, and the grants per
// second the pair achieves.
func BenchmarkHandoff(b *testing.B) {
	addr := startEtcd(b)
	b.Run("impl=turnstile", func(b *testing.B) {
		ss := sessions(b, addr, 2)
		handoff(b, turnstilePlayer(ss[0], "handoff"), turnstilePlayer(ss[1], "handoff"))
	})
	b.Run("impl=concurrency", func(b *testing.B) {
		handoff(b, concurrencyPlayer(b, addr, "handoff-c"), concurrencyPlayer(b, addr, "handoff-c"))
	})
}

func handoff(b *testing.B, ps ...player) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var (
		mu        sync.Mutex
		lats      []time.Duration
		released  time.Time // when the last holder called unlock
		last      int       // who that was
		remaining atomic.Int64
	)
	remaining.Store(int64(b.N))
	// The first side takes the lock before the second asks, so that the
	// pair starts in step.
	if err := ps[0].lock(ctx); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 { // give back the lock taken to start in step
				mu.Lock()
				last, released = 0, time.Now()
				mu.Unlock()
				if err := p.unlock(ctx); err != nil {
					b.Error(err)
					return
				}
			}
			for remaining.Add(-1) >= 0 {
				if err := p.lock(ctx); err != nil {
					b.Error(err)
					return
				}
				now := time.Now()
				mu.Lock()
				if last != i {
					lats = append(lats, now.Sub(released))
				}
				last, released = i, time.Now()
				mu.Unlock()
				if err := p.unlock(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lats) == 0 {
		return
	}
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "grants/s")
	b.ReportMetric(float64(len(lats))/float64(b.N), "handoffs/op")
}
