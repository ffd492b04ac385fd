package etcd_test

import (
	"errors"
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

const restartTTL = 5 * time.Second

// The server killed with SIGKILL and restarted from its data, with fsync
// on, as a machine's etcd after a crash. Keys and revisions are on disk, so
// every grant survives and tokens keep increasing; the new leader restores
// the leases with their full time to live. What the session sees depends on
// how long the server was away:
//   - back before the session's deadline: nothing is lost; the holder holds
//     on, the waiter waits on, and is granted when the holder releases;
//   - away past it: the session gives up at its deadline, its grants lost
//     and its waits closed, and its keys stay on the restarted server until
//     the lease expires there (or the session's revocation reaches it), after
//     which a new session is granted with a higher token.
func TestServerRestart(t *testing.T) {
	is := is.New(t)
	dir := t.TempDir()
	srv := startChildEtcd(t, dir)
	p := newProxy(t, srv.addr)
	ss := sessions(t, p.Addr(), 2, etcd.WithTTL(restartTTL))
	ctx := bounded(t, 60*time.Second)
	a, b := etcd.NewLock(ss[0], "restart"), etcd.NewLock(ss[1], "restart")

	// A short outage.
	ga, err := a.AcquireWait(ctx)
	is.NoErr(err)
	wb := b.Acquire(ctx)
	srv.kill(t)
	down := time.Now()
	srv = startChildEtcd(t, dir)
	p.SetTarget(srv.addr)
	t.Logf("server back after %v", time.Since(down).Round(time.Millisecond))
	is.NoErr(ss[0].Settle(ctx))
	locked, err := a.Locked(ctx) // answered by the restarted server
	is.NoErr(err)
	is.True(locked)
	select {
	case <-ga.Lost():
		t.Fatal("the holder's grant was lost over a short restart")
	case <-wb:
		t.Fatal("the waiter was granted while the holder held")
	default:
	}
	ga.Release()
	gb, ok := <-wb
	is.True(ok)
	is.True(gb.Token() > ga.Token())
	is.NoErr(ss[0].Err())
	is.NoErr(ss[1].Err())

	// A long outage: the holder's session gives up while the server is away.
	srv.kill(t)
	select {
	case <-gb.Lost():
	case <-time.After(2 * restartTTL):
		t.Fatal("the holder's grant was not lost with the server away past its deadline")
	}
	is.True(errors.Is(ss[1].Err(), dist.ErrSessionDone))
	srv = startChildEtcd(t, dir)
	p.SetTarget(srv.addr)
	up := time.Now()
	c := etcd.NewLock(newSession(t, newClient(t, p.Addr()), etcd.WithTTL(restartTTL)), "restart")
	gc, err := c.AcquireWait(ctx)
	is.NoErr(err)
	t.Logf("a new session granted %v after the restart", time.Since(up).Round(time.Millisecond))
	is.True(gc.Token() > gb.Token()) // revisions are durable
	gc.Release()
}
