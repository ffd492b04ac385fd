package chans

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The hammer tests run hammerOps() operations (10^5, 10^4 with -short) on
// every primitive from several goroutines, each under a ctx that ends at a
// random point (see attempt), and hold the primitive to its conservation law
// (audit_test.go) between operations and exactly at quiescent points. Run
// them under -race; `go test -v -run Hammer ./chans` prints their figures.

const hammerWorkers = 8

func TestHammerLock(t *testing.T) {
	var l Lock
	g := &lockLedger{l: &l}
	f := hammer(t, "Lock", hammerWorkers, hammerOps(), g, func(t *testing.T, r *rand.Rand, f *figures) {
		var rel Release
		var ok bool
		if r.IntN(8) == 0 {
			f.ops.Add(1)
			rel, ok = l.TryAcquire()
			countTry(f, ok)
		} else {
			rel, ok = either(t, r, f, l.Acquire, l.AcquireWait, func() { l.Locked() })
		}
		if !ok {
			return
		}
		g.taken.Add(1)
		if n := g.holders.Add(1); n != 1 {
			t.Errorf("%d holders of a Lock", n)
		}
		if r.IntN(4) == 0 {
			runtime.Gosched()
		}
		g.holders.Add(-1)
		rel()
	})
	t.Logf("Lock: exact reclaims (grants made - grants received) = %d", g.reclaimed())
	if g.reclaimed() < f.reclaims.Load() {
		t.Errorf("Lock made %d grants that were not received, but %d were seen taken back", g.reclaimed(), f.reclaims.Load())
	}
}

func countTry(f *figures, ok bool) {
	if ok {
		f.grants.Add(1)
	} else {
		f.failed.Add(1)
	}
}

func TestHammerSemaphore(t *testing.T) {
	for _, bounded := range []bool{false, true} {
		name := fmt.Sprintf("Semaphore/bounded=%v", bounded)
		t.Run(name, func(t *testing.T) {
			const capacity, maxN = 4, 3
			s := NewSemaphore(capacity)
			if bounded {
				s = NewBoundedSemaphore(capacity)
			}
			g := newSemLedger(s, capacity, hammerWorkers*maxN)
			hammer(t, name, hammerWorkers, hammerOps(), g, func(t *testing.T, r *rand.Rand, f *figures) {
				n := r.IntN(maxN + 1) // 0 is legal: granted unless someone is queued
				var rel Release
				var ok bool
				switch r.IntN(16) {
				case 0, 1:
					f.ops.Add(1)
					rel, ok = s.TryAcquireN(n)
					countTry(f, ok)
				case 2:
					if !bounded && r.IntN(64) == 0 {
						f.ops.Add(1)
						g.release() // an unpaired permit: capacity grows by one
						return
					}
					fallthrough
				case 3:
					if r.IntN(4) == 0 {
						// A broadcast wait (W6) takes nothing, whatever it
						// races: the audit would see a permit gone.
						f.ops.Add(1)
						select {
						case <-s.Wait():
						default:
						}
						return
					}
					fallthrough
				default:
					rel, ok = either(t, r, f, func(ctx context.Context) <-chan Release { return s.AcquireN(ctx, n) },
						func(ctx context.Context) (Release, error) { return s.AcquireNWait(ctx, n) },
						func() { s.Value() })
				}
				if !ok {
					return
				}
				if held := g.held.Add(int64(n)); held > g.capHi.Load() {
					t.Errorf("callers hold %d permits, capacity %d", held, g.capHi.Load())
				}
				if r.IntN(4) == 0 {
					runtime.Gosched()
				}
				g.held.Add(-int64(n))
				rel()
			})
		})
	}
}

func TestHammerRWLock(t *testing.T) {
	for _, maxReaders := range []int{0, 2} {
		name := fmt.Sprintf("RWLock/maxReaders=%d", maxReaders)
		t.Run(name, func(t *testing.T) {
			l := NewRWLock(maxReaders)
			g := &rwLedger{l: l, transit: hammerWorkers}
			hammer(t, name, hammerWorkers, hammerOps(), g, func(t *testing.T, r *rand.Rand, f *figures) {
				write, try := r.IntN(3) == 0, r.IntN(8) == 0
				var rel Release
				var ok bool
				switch {
				case try && write:
					f.ops.Add(1)
					rel, ok = l.TryAcquireWrite()
					countTry(f, ok)
				case try:
					f.ops.Add(1)
					rel, ok = l.TryAcquireRead()
					countTry(f, ok)
				case write:
					rel, ok = either(t, r, f, l.AcquireWrite, l.AcquireWriteWait, func() { l.Readers() })
				default:
					rel, ok = either(t, r, f, l.AcquireRead, l.AcquireReadWait, func() { l.Locked() })
				}
				if !ok {
					return
				}
				if write {
					if w := g.writers.Add(1); w != 1 || g.readers.Load() != 0 {
						t.Errorf("writer inside with %d writers, %d readers", w, g.readers.Load())
					}
				} else {
					rd := g.readers.Add(1)
					if g.writers.Load() != 0 || (maxReaders > 0 && rd > int64(maxReaders)) {
						t.Errorf("reader inside with %d writers, %d readers (limit %d)", g.writers.Load(), rd, maxReaders)
					}
				}
				if r.IntN(4) == 0 {
					runtime.Gosched()
				}
				if write {
					g.writers.Add(-1)
				} else {
					g.readers.Add(-1)
				}
				rel()
			})
		})
	}
}

// TestHammerQueue runs producers and consumers on every kind of queue, and
// shuts the queue down while Puts and Gets are still under way (or just
// after the last Put): items put = received + queued + dropped, and only
// Shutdown(true) may drop.
func TestHammerQueue(t *testing.T) {
	type config struct {
		kind      int // index in queueKinds
		maxsize   int
		immediate bool
		early     bool // shut down halfway through the Puts
	}
	var configs []config
	for kind := range queueKinds {
		for _, maxsize := range []int{0, 2} {
			for _, immediate := range []bool{false, true} {
				configs = append(configs, config{kind, maxsize, immediate, (kind+maxsize)%2 == 0})
			}
		}
	}
	total := new(figures)
	var sumReceived, sumQueued, sumDropped int
	for _, c := range configs {
		name := fmt.Sprintf("Queue/%s/max=%d/immediate=%v/early=%v",
			queueKinds[c.kind].name, c.maxsize, c.immediate, c.early)
		t.Run(name, func(t *testing.T) {
			q := queueKinds[c.kind].new(c.maxsize)
			const producers, consumers = 4, 4
			// Each item costs a Put and (unless refused) a Get or two.
			perProducer := hammerOps() / len(configs) / producers
			g := newQueueLedger(q, producers*perProducer, consumers)
			f := new(figures)
			var putsDone atomic.Int64
			shutdownAt := int64(producers * perProducer)
			if c.early {
				shutdownAt /= 2
			}
			audited(t, name, g, f, func() {
				var pwg, cwg sync.WaitGroup
				var stop atomic.Bool
				for p := range producers {
					pwg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(p), 1))
						for i := range perProducer {
							id := p*perProducer + i
							switch err := attemptPut(t, r, f, q, id); {
							case err == nil:
								g.accepted[id].Store(1)
							case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, ErrShutdown):
								g.refused.Add(1)
							default:
								t.Errorf("Put: %v", err)
							}
							putsDone.Add(1)
						}
					})
				}
				for ci := range consumers {
					cwg.Go(func() {
						r := rand.New(rand.NewPCG(uint64(ci), 2))
						for !stop.Load() {
							var v int
							var ok bool
							if r.IntN(8) == 0 {
								f.ops.Add(1)
								var err error
								v, err = q.TryGet()
								ok = err == nil
								countTry(f, ok)
							} else {
								v, ok = either(t, r, f, q.Get, q.GetWait, func() { q.Len() })
							}
							if !ok {
								// Cancelled, or shut down and drained: TryGet
								// tells which (and may find an item).
								var err error
								if v, err = q.TryGet(); err == ErrShutdown {
									return
								}
								ok = err == nil
							}
							if ok {
								g.received[v].Add(1)
								q.TaskDone()
							}
						}
					})
				}
				for putsDone.Load() < shutdownAt {
					runtime.Gosched()
				}
				q.Shutdown(c.immediate) // races with the Puts and Gets under way
				pwg.Wait()
				stop.Store(true)
				cwg.Wait()
				if err := g.check(true); err != nil {
					t.Errorf("audit at rest: %v", err)
				}
			})
			received, queued, dropped, err := g.settle(c.immediate)
			if err != nil {
				t.Fatal(err)
			}
			sumReceived += received
			sumQueued += queued
			sumDropped += dropped
			t.Logf("%s: %v; put %d = received %d + queued %d + dropped %d, refused %d",
				name, f, producers*perProducer-int(g.refused.Load()), received, queued, dropped, g.refused.Load())
			total.add(f)
		})
	}
	t.Logf("Queue total: %v; received %d, queued at shutdown %d, dropped by Shutdown(true) %d",
		total, sumReceived, sumQueued, sumDropped)
}

// add adds g's counts to f.
func (f *figures) add(g *figures) {
	f.ops.Add(g.ops.Load())
	f.grants.Add(g.grants.Load())
	f.failed.Add(g.failed.Load())
	f.cancels.Add(g.cancels.Load())
	f.deadlines.Add(g.deadlines.Load())
	f.reclaims.Add(g.reclaims.Load())
	f.late.Add(g.late.Load())
	f.audits.Add(g.audits.Load())
}

// attemptPut is attempt for Queue.Put, whose channel always yields its
// answer: nil once accepted (final, whatever the ctx does later), or why not.
func attemptPut(t *testing.T, r *rand.Rand, f *figures, q *Queue[int], v int) error {
	f.ops.Add(1)
	if r.IntN(8) == 0 {
		err := q.TryPut(v)
		if err == ErrFull {
			err = context.Canceled // refused; the caller files it with the cancelled ones
		}
		countTry(f, err == nil)
		return err
	}
	point := cancelPoint(r.IntN(int(numCancelPoints)))
	var ctx context.Context
	var cancel context.CancelFunc
	if point == endDeadline {
		ctx, cancel = context.WithTimeout(context.Background(), time.Duration(r.IntN(20_000)))
	} else {
		ctx, cancel = context.WithCancel(context.Background())
	}
	defer cancel()
	if point == endBefore {
		cancel()
	}
	ch := q.Put(ctx, v)
	switch point {
	case endAfterCall, endAbandon, endThenCall:
		cancel()
		f.cancels.Add(1)
		if point == endThenCall {
			q.Len()
		}
	case endRacing:
		go cancel()
	}
	err, ok := <-ch
	switch {
	case !ok:
		t.Errorf("Put's channel closed without an answer")
	case point == endBefore && err != context.Canceled:
		t.Errorf("W4: Put with an ended ctx answered %v", err)
	case err != nil && errors.Is(err, context.DeadlineExceeded):
		f.deadlines.Add(1)
	}
	if _, more := <-ch; more {
		t.Errorf("Put's channel yielded two answers")
	}
	countTry(f, err == nil)
	return err
}

// TestHammerMailbox: senders that receive too, selectively or not, with
// random cancellation: every message is received exactly once or still
// stored, and no receive gets a message its accept refuses. Then one
// sender and one receiver that gives up at random: the receiver sees every
// message once and in order, whatever was taken back.
func TestHammerMailbox(t *testing.T) {
	b := new(Mailbox[int])
	g := &mailboxLedger{b: b}
	var next atomic.Int64
	got := make([]atomic.Int32, hammerOps()+1) // receipts per message
	hammer(t, "Mailbox", hammerWorkers, hammerOps(), g, func(t *testing.T, r *rand.Rand, f *figures) {
		// Send, then receive: there is always a message for a receive that
		// accepts any, so only selective receives may starve.
		g.sent.Add(1)
		b.Send(int(next.Add(1)))
		f.ops.Add(1)
		var m int
		var ok bool
		switch k := r.IntN(3); k {
		case 0:
			m, ok = either(t, r, f, func(ctx context.Context) <-chan int { return b.Receive(ctx, nil) },
				func(ctx context.Context) (int, error) { return b.ReceiveWait(ctx, nil) }, func() { b.Len() })
		default:
			j := r.IntN(k + 1)
			accept := func(m int) bool { return m%(k+1) == j }
			m, ok = mayStarve(t, r, f, func(ctx context.Context) <-chan int { return b.Receive(ctx, accept) }, func() { b.Len() })
			if ok && !accept(m) {
				t.Errorf("Receive got %d, which its accept refuses", m)
			}
		}
		if ok {
			got[m].Add(1)
			g.received.Add(1)
		}
	})
	// Drain: every message sent is received once, or still stored.
	seen := 0
	for {
		m, ok := b.TryReceive(nil)
		if !ok {
			break
		}
		got[m].Add(1)
		seen++
	}
	if int64(seen)+g.received.Load() != g.sent.Load() {
		t.Errorf("sent %d, received %d + drained %d", g.sent.Load(), g.received.Load(), seen)
	}
	for m := 1; m <= int(next.Load()); m++ {
		if n := got[m].Load(); n != 1 {
			t.Fatalf("message %d received %d times", m, n)
		}
	}

	// In order: one sender, one receiver that gives up at random (racing
	// the grant, or with a call first so the grant is taken back, W3).
	var ordered Mailbox[int]
	n := hammerOps() / 5
	var sender sync.WaitGroup
	sender.Go(func() {
		for i := range n {
			ordered.Send(i)
			if i%64 == 0 {
				runtime.Gosched()
			}
		}
	})
	r := rand.New(rand.NewPCG(1, 6))
	want, gaveUp := 0, 0
	for want < n {
		ctx, cancel := context.WithCancel(context.Background())
		ch := ordered.Receive(ctx, nil)
		switch r.IntN(4) {
		case 0:
			runtime.Gosched()
			cancel()
		case 1:
			cancel()
			ordered.Len()
		}
		v, ok := <-ch
		cancel()
		if !ok {
			gaveUp++
			continue
		}
		if v != want {
			t.Fatalf("in order: got %d, want %d", v, want)
		}
		want++
	}
	sender.Wait()
	if ordered.Len() != 0 {
		t.Errorf("in order: %d messages left", ordered.Len())
	}
	t.Logf("Mailbox in order: %d messages, %d receives given up", n, gaveUp)
}

// TestHammerCondition runs rounds in which cancelling waiters race Notify(k)
// with k live waiters that never cancel also queued: whatever the order, a
// notification taken back from a waiter whose ctx ended is passed on, so
// exactly k waiters are woken, never more (none twice) and never fewer (none
// lost).
func TestHammerCondition(t *testing.T) {
	var c Condition
	g := &condLedger{c: &c}
	f := new(figures)
	const steady, cancelling = 3, 5
	rounds := hammerOps() / (steady + cancelling + 1)
	audited(t, "Condition", g, f, func() {
		for round := range rounds {
			r := rand.New(rand.NewPCG(uint64(round), 3))
			ctx, endRound := context.WithCancel(context.Background())
			var woken atomic.Int64
			var wg, registered sync.WaitGroup
			registered.Add(cancelling)
			notified := make(chan struct{})
			for i := range cancelling {
				// Half the waiters reach their cancel point only after
				// Notify, so that notifications sit in their buffers when
				// their ctx ends and must be passed on.
				wait := func(ctx context.Context) <-chan struct{} {
					ch := c.Wait(ctx)
					registered.Done()
					if i%2 == 0 {
						<-notified
					}
					return ch
				}
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(round), uint64(i)))
					if _, ok := mayStarve(t, r, f, wait, func() { _ = c.String() }); ok {
						woken.Add(1)
					}
				})
			}
			// The cancelling waiters are queued first, so Notify reaches
			// them first and races their cancellation; the steady ones,
			// behind them, catch what comes back.
			registered.Wait()
			var steadyCh [steady]<-chan struct{}
			for i := range steadyCh {
				f.ops.Add(1)
				steadyCh[i] = c.Wait(ctx)
			}
			k := 1 + r.IntN(steady)
			f.ops.Add(1)
			if r.IntN(2) == 0 {
				runtime.Gosched()
			}
			c.Notify(k)
			close(notified)
			wg.Wait()
			// Every cancelling waiter has its outcome, so every notification
			// they gave back has been taken back, but maybe not yet passed
			// on: a waiter sees its channel closed empty as soon as the
			// take-back's receive is done, while the take-back still holds
			// the lock to pass the notification on. Reading the steady
			// channels right here once found one short (1 round in ~10^5).
			// Any call into the Condition waits that critical section out.
			_ = c.String()
			steadyWoken := 0
			for _, ch := range steadyCh {
				if len(ch) == 1 {
					woken.Add(1)
					steadyWoken++
					f.grants.Add(1)
				}
			}
			if woken.Load() != int64(k) {
				t.Fatalf("round %d: Notify(%d) woke %d waiters", round, k, woken.Load())
			}
			// The steady waiters not woken are still queued, and nobody
			// else is: String counts them.
			if got, want := c.String(), fmt.Sprintf("Condition(waiters=%d)", steady-steadyWoken); got != want {
				t.Fatalf("round %d: %s, want %s", round, got, want)
			}
			endRound()
			if err := g.check(true); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	})
	t.Logf("Condition: %v", f)
}

// TestHammerEvent: a channel obtained before a Set is closed by it, however
// other goroutines Set and Clear meanwhile.
func TestHammerEvent(t *testing.T) {
	var e Event
	f := new(figures)
	var wg sync.WaitGroup
	per := hammerOps() / hammerWorkers / 3
	for w := range hammerWorkers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 4))
			for range per {
				f.ops.Add(3)
				ch := e.Wait()
				if r.IntN(2) == 0 {
					e.Clear()
				}
				e.Set()
				select {
				case <-ch:
				default:
					t.Errorf("a Wait channel obtained before Set is still open after it")
					return
				}
				if r.IntN(2) == 0 {
					e.Clear()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("Event: %v", f)
}

// TestHammerResult: getters with random cancellation race one Set (or Fail):
// every getter that receives gets the value set, none after a Fail, and a
// getter whose ctx never ends always hears of the outcome.
func TestHammerResult(t *testing.T) {
	f := new(figures)
	const getters = 8
	rounds := hammerOps() / (getters + 1)
	for round := range rounds {
		var res Result[int]
		fail := round%5 == 0
		var wg sync.WaitGroup
		for i := range getters {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(round), uint64(i)))
				v, ok := either(t, r, f, res.Get, res.Wait, nil)
				if ok && (fail || v != round) {
					t.Errorf("round %d: Get yielded %d (fail=%v)", round, v, fail)
				}
			})
		}
		f.ops.Add(1)
		if fail {
			res.Fail(errors.New("failed"))
		} else {
			res.Set(round)
		}
		wg.Wait()
		if t.Failed() {
			break
		}
	}
	t.Logf("Result: %v", f)
}

// TestHammerSignal: each waiter gets at most one value, one emitted after
// its Next call began and no later than the first emission begun after the
// call returned, and never one not yet emitted.
func TestHammerSignal(t *testing.T) {
	var s Signal[int]
	f := new(figures)
	var started, finished atomic.Int64 // Emit calls begun, returned
	stop := make(chan struct{})
	var emitter sync.WaitGroup
	emitter.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			started.Store(int64(i) + 1)
			s.Emit(i)
			finished.Store(int64(i) + 1)
			f.ops.Add(1)
			runtime.Gosched()
		}
	})
	var wg sync.WaitGroup
	per := hammerOps() / hammerWorkers
	for w := range hammerWorkers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 5))
			for range per {
				before := finished.Load()
				var atCall int64 // emissions begun when Next returned: the one numbered atCall begins after the call
				next := func(ctx context.Context) <-chan int {
					ch := s.Next(ctx)
					atCall = started.Load()
					return ch
				}
				v, ok := attempt(t, r, f, next, nil)
				switch {
				case !ok:
				case int64(v) < before || int64(v) >= started.Load():
					t.Errorf("Next got %d; %d emissions had finished before it, %d begun after", v, before, started.Load())
				case int64(v) > atCall:
					// The first emission begun after the call reaches the
					// waiter if none did before: a later one never does.
					t.Errorf("Next got %d, but emission %d began after its call", v, atCall)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	emitter.Wait()
	t.Logf("Signal: %v", f)
}
