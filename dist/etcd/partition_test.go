package etcd_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// Faults of the network: a process cut off from the server by a loopback
// proxy that drops its traffic (a partition), or closes its connections.

const cutTTL = 2 * time.Second

// A holder cut off from the server cannot renew its lease. Its session
// gives up at its own deadline, which comes before the server can expire
// the lease, so its grant's Lost closes before the next waiter, reaching
// the server directly, is granted (D4); the tokens stay ordered (D5). When
// the partition heals, the old holder's Release changes nothing: the new
// holder keeps the lock.
func TestPartitionedHolderLosesFirst(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	p := newProxy(t, addr)
	cut := newSession(t, newClient(t, p.Addr()), etcd.WithTTL(cutTTL))
	direct := sessions(t, addr, 2, etcd.WithTTL(cutTTL))
	ctx := bounded(t, 30*time.Second)

	old, err := etcd.NewLock(cut, "partition").AcquireWait(ctx)
	is.NoErr(err)
	w := etcd.NewLock(direct[0], "partition").Acquire(ctx)
	p.Blackhole()
	cutAt := time.Now()

	g, ok := <-w
	is.True(ok)
	select {
	case <-old.Lost():
	default:
		t.Fatal("the next waiter was granted before the cut-off holder's Lost closed")
	}
	t.Logf("granted %v after the cut (TTL %v)", time.Since(cutAt).Round(time.Millisecond), cutTTL)
	is.True(g.Token() > old.Token())
	is.True(errors.Is(cut.Err(), dist.ErrSessionDone))
	<-cut.Done()

	p.Heal()
	old.Release() // stale: the session ended; nothing of the new holder goes
	third := etcd.NewLock(direct[1], "partition")
	tg, err := third.TryAcquire(ctx)
	if err == nil {
		tg.Release()
		t.Fatal("the lock was free while the new holder held it")
	}
	is.True(errors.Is(err, dist.ErrBusy))
	g.Release()
	tg, err = third.AcquireWait(ctx)
	is.NoErr(err)
	is.True(tg.Token() > g.Token())
	tg.Release()
}

// D2 over a dead network: a queued waiter whose ctx ends is closed at once,
// decided in its process without a round trip, while its connection drops
// everything; its key is withdrawn once the partition heals, so the lock
// goes to the next waiter and not to the one that left.
func TestCancelDecidedLocally(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	p := newProxy(t, addr)
	cut := newSession(t, newClient(t, p.Addr()), etcd.WithTTL(5*time.Second))
	direct := sessions(t, addr, 2)
	ctx := bounded(t, 30*time.Second)

	h, err := etcd.NewLock(direct[0], "local").AcquireWait(ctx)
	is.NoErr(err)
	wctx, cancel := context.WithCancel(ctx)
	w := etcd.NewLock(cut, "local").Acquire(wctx)
	next := etcd.NewLock(direct[1], "local").Acquire(ctx)
	p.Blackhole()
	cancel()
	select {
	case _, ok := <-w:
		is.True(!ok)
	case <-time.After(time.Second): // a round trip would never come back
		t.Fatal("the cancelled waiter's channel did not close while cut off")
	}
	p.Heal()
	h.Release()
	g, ok := <-next
	is.True(ok)
	g.Release()
	is.NoErr(cut.Err()) // the session lived through the short cut
}
