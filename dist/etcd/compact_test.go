package etcd_test

import (
	"testing"
	"time"

	"github.com/matryer/is"
	"github.com/turnstile-go/turnstile/dist/etcd"
)

// A waiter's watch that resumes, after its connection was cut, from a
// revision the server has compacted meanwhile cannot replay what it
// missed; it takes a fresh snapshot instead, and since who holds depends
// only on the keys that exist, the waiter is granted from it.
func TestWatchResumedFromCompactedRevision(t *testing.T) {
	is := is.New(t)
	addr := startEtcd(t)
	p := newProxy(t, addr)
	ws := newSession(t, newClient(t, p.Addr()), etcd.WithTTL(5*time.Second))
	direct := sessions(t, addr, 2)
	ctx := bounded(t, 30*time.Second)

	h, err := etcd.NewLock(direct[0], "compact").AcquireWait(ctx)
	is.NoErr(err)
	wl := etcd.NewLock(ws, "compact")
	w := wl.Acquire(ctx)
	is.Equal(etcd.Resyncs(wl), 0)

	p.Cut()
	h.Release()
	is.NoErr(direct[0].Settle(ctx)) // the release landed
	c := etcd.NewLock(direct[1], "compact").Acquire(ctx)
	cli := direct[0].Client()
	resp, err := cli.Put(ctx, "unrelated", "moves the revision on")
	is.NoErr(err)
	_, err = cli.Compact(ctx, resp.Header.Revision)
	is.NoErr(err)
	p.Heal()

	g, ok := <-w
	is.True(ok)
	is.True(etcd.Resyncs(wl) >= 1) // granted from a fresh snapshot
	select {
	case <-c:
		t.Fatal("the later waiter was granted while the resumed one held")
	default:
	}
	g.Release()
	cg, ok := <-c
	is.True(ok)
	is.True(cg.Token() > g.Token())
	cg.Release()
	is.NoErr(ws.Err())
}
